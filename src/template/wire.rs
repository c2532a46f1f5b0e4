//! Sending templates to oned: the attribute-vector and XML forms, and [`TemplateArg`].
//!
//! The escaping rules and the choice between the forms are described in the
//! [module docs](super#the-wire-forms-and-their-escaping).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::BuildHasher;

use indexmap::IndexMap;

use super::parse::{ends_unquoted, is_name_byte};
use super::{write_template_body, Template, Value};
use crate::xml::XmlWriter;

/// The two template syntaxes oned reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WireForm {
    /// OpenNebula's own syntax: `NAME="value"` lines and `DISK=[ IMAGE_ID="1" ]` vectors.
    AttributeVector,
    /// `<TEMPLATE><NAME>value</NAME>...</TEMPLATE>`.
    Xml,
}

/// A template that no wire form can carry exactly, so sending it would change it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    attribute: String,
    reason: String,
}

impl WireError {
    fn new(attribute: &str, reason: impl Into<String>) -> Self {
        WireError {
            attribute: attribute.to_owned(),
            reason: reason.into(),
        }
    }

    /// The name of the attribute that cannot be sent.
    pub fn attribute(&self) -> &str {
        &self.attribute
    }

    /// Why, for humans.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "template attribute {:?} cannot be sent to OpenNebula exactly: {}",
            self.attribute, self.reason
        )
    }
}

impl std::error::Error for WireError {}

/// A template that cannot be sent is an invalid argument: nothing was sent.
impl From<WireError> for crate::Error {
    fn from(error: WireError) -> Self {
        crate::Error::InvalidArgument(error.to_string())
    }
}

/// `[A-Za-z0-9_]+`: a name oned's template lexer reads.
pub(crate) fn is_attribute_vector_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(is_name_byte)
}

/// XML 1.0 `NameStartChar`, without `:` (names here are local names).
pub(crate) fn is_xml_name_start(c: char) -> bool {
    matches!(c,
        'A'..='Z' | '_' | 'a'..='z' | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}'
        | '\u{F8}'..='\u{2FF}' | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}'
        | '\u{200C}'..='\u{200D}' | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}'
        | '\u{3001}'..='\u{D7FF}' | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}'
        | '\u{10000}'..='\u{EFFFF}')
}

/// XML 1.0 `NameChar`, without `:`.
pub(crate) fn is_xml_name_char(c: char) -> bool {
    is_xml_name_start(c)
        || matches!(c,
            '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// A valid XML 1.0 element name without a namespace prefix.
pub(crate) fn is_xml_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(is_xml_name_start) && chars.all(is_xml_name_char)
}

/// The first character of `text` that XML 1.0 cannot carry at all (not even as a character
/// reference): NUL and the C0 controls other than tab, line feed and carriage return, and the
/// non-characters U+FFFE and U+FFFF. (Surrogates cannot occur in a `str`.)
pub(crate) fn xml_forbidden_char(text: &str) -> Option<char> {
    // Fast scan on bytes: every forbidden character starts with a byte below 0x20 or 0xEF.
    if !text.bytes().any(|b| b < 0x20 || b == 0xEF) {
        return None;
    }
    text.chars().find(|&c| {
        matches!(c, '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}')
    })
}

/// Why a value holding such a character cannot be sent in either form.
const FORBIDDEN_CHAR: &str = "the value holds a control character (or U+FFFE/U+FFFF) that XML 1.0 \
     cannot carry: not in an XML template, and not in the XML-RPC call that carries the \
     attribute-vector string either";

/// Why `value` cannot be written exactly in the attribute-vector syntax, if it cannot.
fn attribute_vector_value_problem(value: &str) -> Option<&'static str> {
    if value.contains('\0') {
        return Some("oned reads the attribute-vector string only up to a NUL character");
    }
    if xml_forbidden_char(value).is_some() {
        return Some(FORBIDDEN_CHAR);
    }
    if value.contains("]]>") {
        return Some("oned's template lexer refuses \"]]>\" in a value");
    }
    if value.ends_with('\\') && !is_unquotable(value) {
        return Some(
            "a value ending with a backslash can only be written unquoted, and this one \
             holds a blank, quote, newline or one of = # , [ ]",
        );
    }
    None
}

/// A value that can be written without quotes and reads back identically.
fn is_unquotable(value: &str) -> bool {
    !value.is_empty() && !value.bytes().any(|b| ends_unquoted(b) || b == b'"')
}

fn attribute_vector_problem(template: &Template) -> Option<WireError> {
    for (name, value) in template.iter() {
        if !is_attribute_vector_name(name) {
            return Some(WireError::new(
                name,
                "attribute-vector names are letters, digits and '_'",
            ));
        }
        match value {
            Value::Single(s) => {
                if let Some(problem) = attribute_vector_value_problem(s) {
                    return Some(WireError::new(name, problem));
                }
            }
            Value::Vector(v) => {
                for (key, s) in v.iter() {
                    if !is_attribute_vector_name(key) {
                        return Some(WireError::new(
                            &format!("{name}/{key}"),
                            "attribute-vector names are letters, digits and '_'",
                        ));
                    }
                    if let Some(problem) = attribute_vector_value_problem(s) {
                        return Some(WireError::new(&format!("{name}/{key}"), problem));
                    }
                }
            }
            Value::Nested(_) => {
                return Some(WireError::new(
                    name,
                    "a value nested deeper than a vector attribute has no place in OpenNebula's \
                     templates (oned drops it in either form)",
                ))
            }
        }
    }
    None
}

fn xml_value_problem(value: &str) -> Option<&'static str> {
    if value.is_empty() {
        return Some("oned's XML template reader drops empty elements");
    }
    if value.contains('\0') {
        return Some("XML cannot carry a NUL character");
    }
    if xml_forbidden_char(value).is_some() {
        return Some(FORBIDDEN_CHAR);
    }
    None
}

pub(crate) fn xml_problem(template: &Template) -> Option<WireError> {
    for (name, value) in template.iter() {
        if !is_xml_name(name) {
            return Some(WireError::new(name, "not a valid XML element name"));
        }
        match value {
            Value::Single(s) => {
                if let Some(problem) = xml_value_problem(s) {
                    return Some(WireError::new(name, problem));
                }
            }
            Value::Vector(v) => {
                if v.is_empty() {
                    return Some(WireError::new(
                        name,
                        "oned's XML template reader drops an empty vector attribute",
                    ));
                }
                for (key, s) in v.iter() {
                    if !is_xml_name(key) {
                        return Some(WireError::new(
                            &format!("{name}/{key}"),
                            "not a valid XML element name",
                        ));
                    }
                    if let Some(problem) = xml_value_problem(s) {
                        return Some(WireError::new(&format!("{name}/{key}"), problem));
                    }
                }
            }
            Value::Nested(_) => {
                return Some(WireError::new(
                    name,
                    "a value nested deeper than a vector attribute has no place in OpenNebula's \
                     templates (oned drops it in either form)",
                ))
            }
        }
    }
    None
}

fn push_attribute_vector_value(out: &mut String, value: &str) {
    if value.ends_with('\\') {
        // Checked by `attribute_vector_value_problem`: no character needs quoting.
        out.push_str(value);
        return;
    }
    out.push('"');
    let mut last = 0;
    for (i, _) in value.match_indices('"') {
        out.push_str(&value[last..i]);
        out.push_str("\\\"");
        last = i + 1;
    }
    out.push_str(&value[last..]);
    out.push('"');
}

fn write_attribute_vector(template: &Template) -> String {
    let mut out = String::new();
    for (name, value) in template.iter() {
        out.push_str(name);
        out.push('=');
        match value {
            Value::Single(s) => push_attribute_vector_value(&mut out, s),
            Value::Vector(v) if v.is_empty() => out.push_str("[]"),
            Value::Vector(v) => {
                out.push('[');
                for (i, (key, s)) in v.iter().enumerate() {
                    out.push_str(if i == 0 { "\n  " } else { ",\n  " });
                    out.push_str(key);
                    out.push('=');
                    push_attribute_vector_value(&mut out, s);
                }
                out.push_str(" ]");
            }
            Value::Nested(_) => unreachable!("checked by attribute_vector_problem"),
        }
        out.push('\n');
    }
    out
}

fn write_xml_root(root: &str, template: &Template) -> String {
    let mut writer = XmlWriter::new();
    writer.start(root);
    write_template_body(template, &mut writer);
    writer.end(root);
    writer.into_string()
}

impl Template {
    /// The attribute-vector form (`NAME="value"` lines, `DISK=[ ... ]` vectors), or why this
    /// template cannot be written exactly in it. Parsing the result with
    /// [`Template::parse`] (or by oned) gives back exactly `self`.
    ///
    /// ```
    /// use opennebula::template;
    ///
    /// let t = template! { NAME = "say \"hi\"", DISK = [IMAGE_ID = 1, SIZE = 2] };
    /// assert_eq!(
    ///     t.to_attribute_vector().unwrap(),
    ///     "NAME=\"say \\\"hi\\\"\"\nDISK=[\n  IMAGE_ID=\"1\",\n  SIZE=\"2\" ]\n"
    /// );
    /// ```
    pub fn to_attribute_vector(&self) -> Result<String, WireError> {
        match attribute_vector_problem(self) {
            Some(problem) => Err(problem),
            None => Ok(write_attribute_vector(self)),
        }
    }

    /// The form [`to_wire_string`](Self::to_wire_string) would use, or why none is exact.
    pub fn wire_form(&self) -> Result<WireForm, WireError> {
        let Some(av_problem) = attribute_vector_problem(self) else {
            return Ok(WireForm::AttributeVector);
        };
        match xml_problem(self) {
            None => Ok(WireForm::Xml),
            Some(xml_problem) => Err(WireError::new(
                &av_problem.attribute,
                format!(
                    "{}; and the XML form cannot be used either: {:?}: {}",
                    av_problem.reason, xml_problem.attribute, xml_problem.reason
                ),
            )),
        }
    }

    /// The string to send to oned for this template: the attribute-vector form when it is
    /// exact, else `<TEMPLATE>…</TEMPLATE>` XML when that is exact, else an error. See the
    /// [module docs](super#the-wire-forms-and-their-escaping) for the rules.
    ///
    /// ```
    /// use opennebula::template;
    ///
    /// // `]]>` cannot appear in oned's attribute-vector syntax: XML, escaped, is used.
    /// let t = template! { NOTES = "a]]>b <c> & d" };
    /// assert_eq!(
    ///     t.to_wire_string().unwrap(),
    ///     "<TEMPLATE><NOTES>a]]&gt;b &lt;c&gt; &amp; d</NOTES></TEMPLATE>"
    /// );
    /// ```
    pub fn to_wire_string(&self) -> Result<String, WireError> {
        match self.wire_form()? {
            WireForm::AttributeVector => Ok(write_attribute_vector(self)),
            WireForm::Xml => Ok(write_xml_root("TEMPLATE", self)),
        }
    }
}

/// A template wrapped in a root element, sent as XML of that root: PyONE's "dictionary with a
/// root dictionary" form, e.g. `{'TEMPLATE': {'NAME': 'abc'}}`.
///
/// ```
/// use opennebula::template;
/// use opennebula::template::{Template, TemplateArg};
///
/// let rooted = Template::rooted("TEMPLATE", template! { NAME = "abc", NIC = [IP = "10.0.0.1"] });
/// assert_eq!(
///     rooted.into_template_string().unwrap(),
///     "<TEMPLATE><NAME>abc</NAME><NIC><IP>10.0.0.1</IP></NIC></TEMPLATE>"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootedTemplate {
    root: String,
    template: Template,
}

impl RootedTemplate {
    /// Wraps `template` in the root element `root`.
    pub fn new(root: impl Into<String>, template: Template) -> Self {
        RootedTemplate {
            root: root.into(),
            template,
        }
    }

    /// The root element name.
    pub fn root(&self) -> &str {
        &self.root
    }

    /// The template inside the root.
    pub fn template(&self) -> &Template {
        &self.template
    }

    /// The template inside the root, mutably.
    pub fn template_mut(&mut self) -> &mut Template {
        &mut self.template
    }

    /// The root name and the template.
    pub fn into_parts(self) -> (String, Template) {
        (self.root, self.template)
    }

    /// The XML to send, or why the template cannot be sent exactly as XML (an invalid root or
    /// attribute name, an empty value, a NUL character, a nested value).
    pub fn to_wire_string(&self) -> Result<String, WireError> {
        if !is_xml_name(&self.root) {
            return Err(WireError::new(&self.root, "not a valid XML element name"));
        }
        if let Some(problem) = xml_problem(&self.template) {
            return Err(problem);
        }
        Ok(write_xml_root(&self.root, &self.template))
    }
}

/// A parameter of an API method that takes a template.
///
/// The three PyONE behaviours, each explicit:
///
/// * a [`Template`] (or a flat `IndexMap`/`BTreeMap`/`HashMap` of names to values) is sent in
///   the attribute-vector syntax, `KEY="value"` lines, falling back to XML when only XML is
///   exact ([`Template::to_wire_string`]);
/// * a [`RootedTemplate`] ([`Template::rooted`]) is sent as XML of its root;
/// * a `&str` or `String` is sent untouched.
///
/// Escaping guarantees that no value can add, remove or change another attribute. A template
/// that no form can carry exactly (an attribute with an empty or invalid name, a value with a
/// NUL or another character XML 1.0 forbids, see [`WireError`]) is an error: the typed call
/// taking it is refused with [`Error::InvalidArgument`](crate::Error::InvalidArgument),
/// naming the attribute and why, before anything is sent.
///
/// ```
/// use opennebula::template;
/// use opennebula::template::TemplateArg;
///
/// assert_eq!(template! { A = 1 }.into_template_string().unwrap(), "A=\"1\"\n");
/// let err = template! { A = "bell \u{7}" }.into_template_string().unwrap_err();
/// assert_eq!(err.attribute(), "A");
/// ```
pub trait TemplateArg {
    /// The string sent to oned, or why the template cannot be sent exactly.
    fn into_template_string(self) -> Result<String, WireError>;
}

impl TemplateArg for &Template {
    fn into_template_string(self) -> Result<String, WireError> {
        self.to_wire_string()
    }
}

impl TemplateArg for Template {
    fn into_template_string(self) -> Result<String, WireError> {
        self.to_wire_string()
    }
}

impl TemplateArg for &RootedTemplate {
    fn into_template_string(self) -> Result<String, WireError> {
        self.to_wire_string()
    }
}

impl TemplateArg for RootedTemplate {
    fn into_template_string(self) -> Result<String, WireError> {
        self.to_wire_string()
    }
}

/// Sent untouched: the caller wrote OpenNebula's syntax (or XML) already.
impl TemplateArg for &str {
    fn into_template_string(self) -> Result<String, WireError> {
        Ok(self.to_owned())
    }
}

/// Sent untouched.
impl TemplateArg for String {
    fn into_template_string(self) -> Result<String, WireError> {
        Ok(self)
    }
}

/// Sent untouched.
impl TemplateArg for &String {
    fn into_template_string(self) -> Result<String, WireError> {
        Ok(self.clone())
    }
}

/// A flat map, sent like the [`Template`] it makes (insertion order kept).
impl<K: AsRef<str>, V: Into<Value>, S> TemplateArg for IndexMap<K, V, S> {
    fn into_template_string(self) -> Result<String, WireError> {
        self.into_iter()
            .collect::<Template>()
            .into_template_string()
    }
}

/// A flat map, sent like the [`Template`] it makes (names in the map's order).
impl<K: AsRef<str>, V: Into<Value>> TemplateArg for BTreeMap<K, V> {
    fn into_template_string(self) -> Result<String, WireError> {
        self.into_iter()
            .collect::<Template>()
            .into_template_string()
    }
}

/// A flat map, sent like the [`Template`] it makes (in the map's arbitrary order; use an
/// `IndexMap` or `BTreeMap` for a stable one).
impl<K: AsRef<str>, V: Into<Value>, S: BuildHasher> TemplateArg for HashMap<K, V, S> {
    fn into_template_string(self) -> Result<String, WireError> {
        self.into_iter()
            .collect::<Template>()
            .into_template_string()
    }
}

/// A borrowed flat map of strings.
impl<K: AsRef<str>, V: AsRef<str>, S> TemplateArg for &IndexMap<K, V, S> {
    fn into_template_string(self) -> Result<String, WireError> {
        self.iter()
            .map(|(k, v)| (k.as_ref(), v.as_ref()))
            .collect::<Template>()
            .into_template_string()
    }
}

/// A borrowed flat map of strings.
impl<K: AsRef<str>, V: AsRef<str>> TemplateArg for &BTreeMap<K, V> {
    fn into_template_string(self) -> Result<String, WireError> {
        self.iter()
            .map(|(k, v)| (k.as_ref(), v.as_ref()))
            .collect::<Template>()
            .into_template_string()
    }
}

/// A borrowed flat map of strings.
impl<K: AsRef<str>, V: AsRef<str>, S: BuildHasher> TemplateArg for &HashMap<K, V, S> {
    fn into_template_string(self) -> Result<String, WireError> {
        self.iter()
            .map(|(k, v)| (k.as_ref(), v.as_ref()))
            .collect::<Template>()
            .into_template_string()
    }
}

macro_rules! template_param {
    ($($t:ty),*) => {$(
        /// A template passed to [`Client::call`](crate::Client::call) by name: sent in the
        /// form [`TemplateArg`] gives it; one that no form carries exactly refuses the call.
        impl crate::wire::IntoParam for $t {
            fn into_param(self) -> crate::Result<crate::wire::Value> {
                Ok(crate::wire::Value::String(self.into_template_string()?))
            }
        }
    )*};
}
template_param!(Template, &Template, RootedTemplate, &RootedTemplate);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template;

    #[test]
    fn trailing_backslash_goes_unquoted_or_as_xml() {
        let t = template! { PATH = "C:\\dir\\" };
        assert_eq!(t.to_wire_string().unwrap(), "PATH=C:\\dir\\\n");
        assert_eq!(Template::parse(&t.to_wire_string().unwrap()).unwrap(), t);

        let t = template! { PATH = "my dir\\" };
        assert_eq!(t.wire_form().unwrap(), WireForm::Xml);
        assert_eq!(
            t.to_wire_string().unwrap(),
            "<TEMPLATE><PATH>my dir\\</PATH></TEMPLATE>"
        );
    }

    #[test]
    fn unsendable_templates_are_errors_naming_the_attribute() {
        let t = template! { A = "x]]>", B = "" };
        let err = t.to_wire_string().unwrap_err();
        assert_eq!(err.attribute(), "A");
        assert!(err.reason().contains("\"B\""), "{err}");
        assert_eq!(t.into_template_string().unwrap_err(), err);
        for bad in ["\0", "a\u{1}b", "\u{B}", "\u{1F}", "\u{FFFE}", "x\u{FFFF}"] {
            let t = template! { NOTES = bad };
            let err = (&t).into_template_string().unwrap_err();
            assert_eq!(err.attribute(), "NOTES", "{bad:?}");
            let rooted = Template::rooted("TEMPLATE", t).into_template_string();
            assert!(rooted.is_err(), "{bad:?}");
        }
        let mut empty_name = Template::new();
        empty_name.push("", "1");
        assert_eq!(
            empty_name.into_template_string().unwrap_err().attribute(),
            ""
        );
        // Tab, newline, carriage return and the rest of Unicode are carried.
        let fine = template! { NOTES = "a\tb\nc\rd é \u{FFFD}" };
        assert_eq!(
            Template::parse(&fine.clone().into_template_string().unwrap()).unwrap(),
            fine
        );
    }

    #[test]
    fn maps_and_strings_take_their_pyone_forms() {
        let mut map = IndexMap::new();
        map.insert("labels", "HD");
        map.insert("NOTES", "x");
        assert_eq!(
            (&map).into_template_string().unwrap(),
            "LABELS=\"HD\"\nNOTES=\"x\"\n"
        );
        assert_eq!(
            map.into_template_string().unwrap(),
            "LABELS=\"HD\"\nNOTES=\"x\"\n"
        );
        let hash: HashMap<String, String> = [("A".to_owned(), "1".to_owned())].into();
        assert_eq!((&hash).into_template_string().unwrap(), "A=\"1\"\n");
        assert_eq!("A = 1".into_template_string().unwrap(), "A = 1");
        let raw = String::from("<TEMPLATE/>");
        assert_eq!((&raw).into_template_string().unwrap(), "<TEMPLATE/>");
        assert_eq!(raw.into_template_string().unwrap(), "<TEMPLATE/>");
    }

    #[test]
    fn rooted_templates_refuse_what_xml_would_drop() {
        let err = Template::rooted("TEMPLATE", template! { A = "" })
            .to_wire_string()
            .unwrap_err();
        assert!(err.reason().contains("empty"));
        let err = Template::rooted("BAD ROOT", template! { A = 1 })
            .to_wire_string()
            .unwrap_err();
        assert_eq!(err.attribute(), "BAD ROOT");
    }

    #[test]
    fn empty_template_is_an_empty_attribute_vector() {
        assert_eq!(Template::new().into_template_string().unwrap(), "");
    }
}
