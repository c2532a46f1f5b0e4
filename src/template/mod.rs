//! OpenNebula template dictionaries: TEMPLATE, USER_TEMPLATE, and every API parameter that
//! takes a template.
//!
//! In OpenNebula almost everything a user configures lives in a template: `NAME = "vm1"`,
//! `MEMORY = "1024"`, `DISK = [ IMAGE_ID = "1" ]`, `DISK = [ IMAGE_ID = "2" ]`. A [`Template`]
//! models that structure exactly: an ordered map from an attribute name to **one or more**
//! [`Value`]s, each either a single string or a [`Vector`] attribute. Reading does not depend
//! on how many values there are, so a lone `SNAPSHOT` and two `SNAPSHOT`s are read the same
//! way ([`Template::vectors`]), and two `DISK`s are no problem.
//!
//! Names are case-insensitive on the way in and upper-case on the way out, as OpenNebula
//! treats them.
//!
//! # Reading: PyONE's `host.TEMPLATE['ARCH']`
//!
//! Responses carry templates as XML; the generated models read them into a [`Template`]
//! (here the XML is parsed directly, as a model would):
//!
//! ```
//! use opennebula::template::Template;
//! use opennebula::xml::FromXml;
//!
//! let host_template = Template::from_xml(
//!     "<TEMPLATE><ARCH><![CDATA[x86_64]]></ARCH><CPUSPEED>2400</CPUSPEED>\
//!      <PCI><ADDRESS>0000:00:02:0</ADDRESS><CLASS>0300</CLASS></PCI>\
//!      <PCI><ADDRESS>0000:00:1f:3</ADDRESS><CLASS>0403</CLASS></PCI></TEMPLATE>",
//! )?;
//!
//! // PyONE: arch = host.TEMPLATE['ARCH']
//! assert_eq!(host_template.get("ARCH"), Some("x86_64"));
//! assert_eq!(&host_template["ARCH"], "x86_64"); // indexing sugar, panics when missing
//! assert_eq!(host_template.get("arch"), Some("x86_64")); // names are case-insensitive
//!
//! // Repeated vector attributes, whatever their count:
//! let classes: Vec<&str> = host_template.vectors("PCI").filter_map(|pci| pci.get("CLASS")).collect();
//! assert_eq!(classes, ["0300", "0403"]);
//! assert_eq!(host_template.vector("PCI").and_then(|pci| pci.get("ADDRESS")), Some("0000:00:02:0"));
//! # Ok::<(), opennebula::xml::XmlError>(())
//! ```
//!
//! # Changing and sending back: PyONE's `host.update(0, host.TEMPLATE, 1)`
//!
//! The API methods that take a template accept anything implementing [`TemplateArg`] (the
//! typed API namespaces build on this module; the example shows the template side). A
//! [`Template`] is sent in OpenNebula's attribute-vector syntax (`KEY="value"` lines), escaped
//! so that no value can add, remove or change another attribute:
//!
//! ```
//! use opennebula::template::{Template, TemplateArg};
//! use opennebula::xml::FromXml;
//!
//! let mut template = Template::from_xml("<TEMPLATE><ARCH>x86_64</ARCH></TEMPLATE>")?;
//! // PyONE: host.TEMPLATE['NOTES'] = "Just updated"
//! template.set("NOTES", "Just updated");
//! // PyONE: one.host.update(0, host.TEMPLATE, 1). The API method takes `&template` (or the
//! // template itself) as a `TemplateArg`; this is the string that reaches oned:
//! let wire = (&template).into_template_string()?;
//! assert_eq!(wire, "ARCH=\"x86_64\"\nNOTES=\"Just updated\"\n");
//! // Reading it back gives exactly the same attributes:
//! assert_eq!(wire.parse::<Template>()?, template);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! PyONE's `one.host.update(0, {"LABELS": "HD"}, 1)` works with a flat map too (an
//! `IndexMap`, `BTreeMap` or `HashMap` of strings), or with the [`template!`](crate::template!)
//! macro:
//!
//! ```
//! use std::collections::BTreeMap;
//! use opennebula::template;
//! use opennebula::template::TemplateArg;
//!
//! let labels = BTreeMap::from([("LABELS", "HD")]);
//! assert_eq!(labels.into_template_string().unwrap(), "LABELS=\"HD\"\n");
//! assert_eq!(template! { LABELS = "HD" }.into_template_string().unwrap(), "LABELS=\"HD\"\n");
//! ```
//!
//! # A template with a root element: PyONE's `vm.update` with `{'TEMPLATE': {...}}`
//!
//! PyONE sends a dictionary with a single root dictionary as XML of that root. Here that is
//! explicit: [`Template::rooted`] makes a [`RootedTemplate`], which is always sent as XML
//! (escaped text, never CDATA, so `]]>` in a value is harmless). oned's XML reader drops empty
//! elements, so a rooted template with an empty value is refused rather than sent changed
//! (see [`TemplateArg`]):
//!
//! ```
//! use opennebula::template;
//! use opennebula::template::{Template, TemplateArg};
//!
//! let update = Template::rooted("TEMPLATE", template! {
//!     NAME = "abc",
//!     MEMORY = 1024,
//!     ATT1 = "value1",
//! });
//! assert_eq!(
//!     update.into_template_string().unwrap(),
//!     "<TEMPLATE><NAME>abc</NAME><MEMORY>1024</MEMORY><ATT1>value1</ATT1></TEMPLATE>"
//! );
//! ```
//!
//! # A raw string: PyONE's `template.allocate('''NAME="test100" ... DISK=[...] ...''')`
//!
//! A `&str` or `String` is sent untouched: it is already in OpenNebula's syntax. Parsing it
//! first ([`str::parse`]) checks it and gives access to its attributes; two `DISK`s are no
//! problem for a [`Template`], so the raw form is never *needed* for them:
//!
//! ```
//! use opennebula::template::{Template, TemplateArg};
//!
//! let raw = r#"NAME="test100"
//!    MEMORY="1024"
//!    DISK=[ IMAGE_ID= "1" ]
//!    DISK=[ IMAGE_ID= "2" ]
//!    CPU="1"
//!    VCPU="2"
//! "#;
//! assert_eq!(raw.into_template_string().unwrap(), raw); // sent exactly as written
//!
//! let parsed: Template = raw.parse()?;
//! let image_ids: Vec<&str> = parsed.vectors("DISK").filter_map(|d| d.get("IMAGE_ID")).collect();
//! assert_eq!(image_ids, ["1", "2"]);
//!
//! // The same template built in code:
//! let built = opennebula::template! {
//!     NAME = "test100", MEMORY = 1024,
//!     DISK = [IMAGE_ID = 1], DISK = [IMAGE_ID = 2],
//!     CPU = 1, VCPU = 2,
//! };
//! assert_eq!(built, parsed);
//! # Ok::<(), opennebula::template::ParseError>(())
//! ```
//!
//! # The wire forms and their escaping
//!
//! oned reads a template parameter as XML when its first byte is `<`, and in its
//! attribute-vector syntax otherwise. The facts below come from oned's lexer
//! (`src/parsers/template_parser.l`) and parser (`template_syntax.y`):
//!
//! * A quoted value may contain anything but a bare `"`; oned's only unescaping turns `\"` into
//!   `"`. Other backslashes are literal, so `\\` stays two backslashes. Writing every `"` of a
//!   value as `\"` is therefore exact, with one exception: a value that **ends with a
//!   backslash** would turn the closing quote into `\"`. Such a value is written unquoted
//!   when it has no blank, `"`, `=`, `#`, `,`, `[`, `]` or newline (`PATH=C:\dir\`), and the
//!   whole template goes as XML otherwise.
//! * oned rejects a value when `]]>` appears on the line where it starts; a template with `]]>`
//!   in a value goes as XML.
//! * oned reads the string up to the first NUL byte, so a template with a NUL in a value goes as
//!   XML (where libxml2 refuses the NUL: the call fails instead of silently cutting the template).
//! * Attribute-vector names are `[A-Za-z0-9_]+`; other names need the XML form.
//! * oned's XML reader drops empty elements (`<NOTES/>`) and attributes nested deeper than a
//!   vector, so empty values are only sent in the attribute-vector form, and nested values only
//!   as XML.
//!
//! [`Template::to_wire_string`] chooses: the attribute-vector form whenever it is exact, else
//! the XML form whenever that is exact, else an error ([`WireError`]) naming the attribute.
//! Through [`TemplateArg`] (which cannot fail) that error becomes a template oned is certain to
//! reject as a whole, so a call never applies a template that differs from the one given.
//!
//! Send templates with `\n` line ends: after a quoted value, oned's lexer reads `"x"\r` as the
//! unquoted value `"x"\r` (a longer match), quotes included. [`Template::parse`] does the same,
//! so parsing a raw string first shows what oned will store.
//!
//! XML text is escaped (`<`, `&`, `>` and carriage returns), never wrapped in CDATA. Control
//! characters other than tab, line feed and carriage return cannot travel in XML-RPC at all
//! (XML 1.0 has no way to carry them): oned refuses a request holding one.
//!
//! # Reading XML
//!
//! Every element of a TEMPLATE/USER_TEMPLATE becomes an attribute, in document order: a leaf
//! becomes a single value (CDATA and entities resolved, empty elements give `""`), an element
//! whose children are all leaves with distinct names becomes a [`Vector`], and anything else
//! (grandchildren, or a repeated child name) becomes a [`Value::Nested`] sub-template, so
//! nothing is lost. Two notes: values of one name are kept together, in order (oned's
//! templates are sorted multimaps, so it never interleaves names); text mixed with child
//! elements (which oned never writes) is dropped. An element name that is not a valid XML name
//! (which oned never writes either) makes reading fail with an [`XmlError`].
//!
//! # JSON
//!
//! With serde, a template is a natural JSON object: a single value is a string, a vector is an
//! object, and a name with several values is an array:
//! `{"NAME":"vm1","DISK":[{"IMAGE_ID":"1"},{"IMAGE_ID":"2"}]}`. Deserializing accepts the same
//! shape (numbers and booleans become strings).

mod names;
mod parse;
mod serde_impl;
mod value;
mod wire;

use std::borrow::Cow;
use std::fmt;

use crate::xml::{Element, FromXml, Node, ToXml, XmlError, XmlReader, XmlWriter};

pub use parse::{ParseError, ParseErrorKind};
pub(crate) use value::VectorBuilder;
pub use value::{ToTemplateString, Value, Vector, VectorIter};
pub(crate) use wire::xml_forbidden_char;
pub use wire::{RootedTemplate, TemplateArg, WireError, WireForm};

/// An ordered OpenNebula template: each upper-case attribute name maps to one or more
/// [`Value`]s. See the [module docs](self) for reading, writing and sending templates.
///
/// Equality compares the values of each name in order; the order of distinct names (and of
/// the keys of a vector) does not matter, as for oned, which keeps both sorted.
#[derive(Clone, Default)]
pub struct Template {
    // A plain list, not a hash map: templates are small (a VM's TEMPLATE has about ten
    // names), and pools hold hundreds of thousands of them, so a scan beats hashing and
    // costs no table.
    attributes: Vec<Attr>,
    // Only past `INDEX_FROM` names: where each name is, so that large templates (and hostile
    // input) stay linear to build and fast to read. Always in step with `attributes`.
    index: Option<Box<Index>>,
}

/// Name → position in `Template::attributes`.
type Index = std::collections::HashMap<Box<str>, usize>;

/// One attribute name with all its values, in order.
#[derive(Clone)]
struct Attr {
    name: Name,
    values: Vec<Value>,
}

/// An attribute name: well-known names (see `names`) are shared, not copied.
type Name = Cow<'static, str>;

/// The stored form of an upper-case attribute name.
fn stored_name(name: &str) -> Name {
    match names::lookup(name) {
        Some(id) => Cow::Borrowed(names::name(id)),
        None => Cow::Owned(name.to_owned()),
    }
}

/// Upper-cases `name` (ASCII only, as oned's `toupper`), borrowing when it already is.
pub(crate) fn upper(name: &str) -> Cow<'_, str> {
    if name.bytes().any(|b| b.is_ascii_lowercase()) {
        Cow::Owned(name.to_ascii_uppercase())
    } else {
        Cow::Borrowed(name)
    }
}

impl Template {
    /// An empty template.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses OpenNebula's template syntax (`KEY = "value"` lines, vectors, comments). The
    /// same as `text.parse::<Template>()`.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        parse::parse(text)
    }

    /// Wraps `template` in a root element (usually `"TEMPLATE"`), so that it is sent as XML of
    /// that root: PyONE's "dictionary with a root" form.
    pub fn rooted(root: impl Into<String>, template: Template) -> RootedTemplate {
        RootedTemplate::new(root, template)
    }

    /// The first single value of `name`: PyONE's `TEMPLATE['ARCH']`. `None` when `name` is
    /// missing or only has vector values.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_all(name).iter().find_map(Value::as_str)
    }

    /// The first single value of `name` parsed as `T`: `None` when missing, `Some(Err(_))`
    /// when it does not parse.
    ///
    /// ```
    /// let t = opennebula::template! { MEMORY = 1024, CPU = "0.5" };
    /// assert_eq!(t.get_parsed::<u64>("MEMORY"), Some(Ok(1024)));
    /// assert_eq!(t.get_parsed::<f64>("CPU"), Some(Ok(0.5)));
    /// assert!(t.get_parsed::<u64>("CPU").unwrap().is_err());
    /// assert_eq!(t.get_parsed::<u64>("VCPU"), None);
    /// ```
    pub fn get_parsed<T: std::str::FromStr>(&self, name: &str) -> Option<Result<T, T::Err>> {
        self.get(name).map(str::parse)
    }

    /// Every value of `name`, in order (an empty slice when missing).
    pub fn get_all(&self, name: &str) -> &[Value] {
        match self.position(upper(name).as_ref()) {
            Some(i) => &self.attributes[i].values,
            None => &[],
        }
    }

    /// Where the already upper-case `name` is.
    fn position(&self, name: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(name).copied(),
            None => self.attributes.iter().position(|a| &*a.name == name),
        }
    }

    /// Appends the values of a name that is not there yet.
    fn push_new(&mut self, name: Name, values: Vec<Value>) {
        if let Some(index) = &mut self.index {
            index.insert(Box::from(&*name), self.attributes.len());
        }
        self.attributes.push(Attr { name, values });
        if self.index.is_none() && self.attributes.len() > INDEX_FROM {
            self.reindex();
        }
    }

    /// Appends values under an already upper-case name.
    fn push_values(&mut self, name: &str, values: impl IntoIterator<Item = Value>) {
        match self.position(name) {
            Some(i) => self.attributes[i].values.extend(values),
            None => self.push_new(stored_name(name), values.into_iter().collect()),
        }
    }

    /// Rebuilds the index after positions changed (or drops it for a small template).
    fn reindex(&mut self) {
        self.index = (self.attributes.len() > INDEX_FROM).then(|| {
            Box::new(
                self.attributes
                    .iter()
                    .enumerate()
                    .map(|(i, attr)| (Box::from(&*attr.name), i))
                    .collect(),
            )
        });
    }

    /// Every single (string) value of `name`, in order.
    pub fn strings<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> + 'a {
        self.get_all(name).iter().filter_map(Value::as_str)
    }

    /// The first vector value of `name`, e.g. the first `NIC`.
    pub fn vector(&self, name: &str) -> Option<&Vector> {
        self.get_all(name).iter().find_map(Value::as_vector)
    }

    /// Every vector value of `name`, e.g. every `DISK`, whether there is one or many.
    pub fn vectors<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a Vector> + 'a {
        self.get_all(name).iter().filter_map(Value::as_vector)
    }

    /// The first vector value of `name`, mutably (to insert into or change a vector).
    pub fn vector_mut(&mut self, name: &str) -> Option<&mut Vector> {
        self.get_all_mut(name)?
            .iter_mut()
            .find_map(Value::as_vector_mut)
    }

    /// Every vector value of `name`, mutably.
    pub fn vectors_mut<'a>(&'a mut self, name: &str) -> impl Iterator<Item = &'a mut Vector> + 'a {
        self.get_all_mut(name)
            .into_iter()
            .flat_map(|values| values.iter_mut().filter_map(Value::as_vector_mut))
    }

    /// The first nested sub-template of `name` (see [`Value::Nested`]).
    pub fn nested(&self, name: &str) -> Option<&Template> {
        self.get_all(name).iter().find_map(Value::as_nested)
    }

    /// Every value of `name`, mutably; `None` when missing.
    pub fn get_all_mut(&mut self, name: &str) -> Option<&mut Vec<Value>> {
        let i = self.position(upper(name).as_ref())?;
        Some(&mut self.attributes[i].values)
    }

    /// `true` when `name` has at least one value.
    pub fn contains(&self, name: &str) -> bool {
        self.position(upper(name).as_ref()).is_some()
    }

    /// Sets `name` to the single `value`, replacing every earlier value of `name` (the
    /// attribute keeps its position) or appending it.
    ///
    /// `value` may be a string, a number, a `bool` (`YES`/`NO`), a [`Vector`] or a [`Value`].
    pub fn set(&mut self, name: &str, value: impl Into<Value>) -> &mut Self {
        let name = upper(name);
        match self.position(&name) {
            Some(i) => {
                let values = &mut self.attributes[i].values;
                values.clear();
                values.push(value.into());
            }
            None => self.push_new(stored_name(&name), vec![value.into()]),
        }
        self
    }

    /// Sets `name` to the vector `vector` (same as [`set`](Self::set) with a [`Vector`]).
    pub fn set_vector(&mut self, name: &str, vector: impl Into<Vector>) -> &mut Self {
        self.set(name, Value::Vector(vector.into()))
    }

    /// Appends one more value to `name`, keeping the earlier ones: a second `DISK`.
    pub fn push(&mut self, name: &str, value: impl Into<Value>) -> &mut Self {
        self.push_values(&upper(name), [value.into()]);
        self
    }

    /// Builder form of [`push`](Self::push).
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.push(name, value);
        self
    }

    /// Appends every attribute of `other` after the attributes of `self`.
    pub fn append(&mut self, other: Template) -> &mut Self {
        for attr in other.attributes {
            match self.position(&attr.name) {
                Some(i) => self.attributes[i].values.extend(attr.values),
                None => self.push_new(attr.name, attr.values),
            }
        }
        self
    }

    /// Removes every value of `name`, returning them (empty when missing). The other
    /// attributes keep their order.
    pub fn remove(&mut self, name: &str) -> Vec<Value> {
        match self.position(upper(name).as_ref()) {
            Some(i) => {
                let removed = self.attributes.remove(i).values;
                if self.index.is_some() {
                    self.reindex();
                }
                removed
            }
            None => Vec::new(),
        }
    }

    /// Keeps only the values for which `keep(name, value)` is `true`.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &Value) -> bool) {
        self.attributes.retain_mut(|attr| {
            let name = &attr.name;
            attr.values.retain(|value| keep(name, value));
            !attr.values.is_empty()
        });
        if self.index.is_some() {
            self.reindex();
        }
    }

    /// Every `(NAME, value)` pair in order; a name with several values appears several times.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> + '_ {
        self.attributes
            .iter()
            .flat_map(|attr| attr.values.iter().map(move |v| (&*attr.name, v)))
    }

    /// The attribute names in order, each once.
    pub fn names(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.attributes.iter().map(|attr| &*attr.name)
    }

    /// Each name with all its values, in order.
    pub fn entries(&self) -> impl ExactSizeIterator<Item = (&str, &[Value])> + '_ {
        self.attributes
            .iter()
            .map(|attr| (&*attr.name, attr.values.as_slice()))
    }

    /// Number of distinct attribute names.
    pub fn len(&self) -> usize {
        self.attributes.len()
    }

    /// `true` when the template has no attribute.
    pub fn is_empty(&self) -> bool {
        self.attributes.is_empty()
    }

    /// A [`Value`] for an element's children: a [`Vector`] when every child is a single value
    /// with a distinct name, the sub-template itself otherwise.
    fn into_element_value(self) -> Value {
        let flat = self
            .attributes
            .iter()
            .all(|attr| attr.values.len() == 1 && attr.values[0].is_single());
        if !flat {
            return Value::Nested(self);
        }
        let mut vector = VectorBuilder::with_capacity(self.attributes.len());
        for attr in &self.attributes {
            if let Some(Value::Single(s)) = attr.values.first() {
                vector.push_unique(&attr.name, s);
            }
        }
        Value::Vector(vector.finish())
    }
}

/// Equality compares the values of each name in order; the order of the names does not
/// matter (oned keeps them sorted).
impl PartialEq for Template {
    fn eq(&self, other: &Self) -> bool {
        if self.len() != other.len() {
            return false;
        }
        if self.len() <= INDEX_FROM {
            return self.entries().all(|(name, values)| {
                other
                    .position(name)
                    .is_some_and(|i| other.attributes[i].values == values)
            });
        }
        let others: std::collections::HashMap<&str, &[Value]> = other.entries().collect();
        self.entries()
            .all(|(name, values)| others.get(name).is_some_and(|o| *o == values))
    }
}

impl Eq for Template {}

impl fmt::Debug for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.entries()).finish()
    }
}

/// Above this many names, a [`Template`] looks names up in a hash index.
const INDEX_FROM: usize = 32;

/// Builds a [`Template`] from many `(NAME, value)` pairs (XML, text syntax, JSON): values of
/// a repeated name join the earlier ones, in order, and the value lists are trimmed at the
/// end (a name given several values grew its list by doubling; a pool holds hundreds of
/// thousands of these lists).
#[derive(Default)]
pub(crate) struct TemplateBuilder(Template);

impl TemplateBuilder {
    fn with_capacity(names: usize) -> Self {
        TemplateBuilder(Template {
            attributes: Vec::with_capacity(names),
            index: None,
        })
    }

    /// Appends a value under a name that is already upper-case.
    pub(crate) fn push(&mut self, name: &str, value: Value) {
        self.0.push_values(name, [value]);
    }

    pub(crate) fn finish(mut self) -> Template {
        for attr in &mut self.0.attributes {
            if attr.values.len() < attr.values.capacity() {
                attr.values.shrink_to_fit();
            }
        }
        self.0
    }
}

/// `template["ARCH"]`: the first single value of `ARCH`, mirroring PyONE's
/// `host.TEMPLATE['ARCH']`. Panics when there is none, like indexing a `HashMap`; use
/// [`Template::get`] when it may be missing.
impl std::ops::Index<&str> for Template {
    type Output = str;

    fn index(&self, name: &str) -> &str {
        match self.get(name) {
            Some(v) => v,
            None => panic!("template has no single attribute named {name:?}"),
        }
    }
}

impl std::str::FromStr for Template {
    type Err = ParseError;

    fn from_str(text: &str) -> Result<Self, ParseError> {
        parse::parse(text)
    }
}

impl<K: AsRef<str>, V: Into<Value>> FromIterator<(K, V)> for Template {
    /// Pushes each pair in order: a repeated name gets several values.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut template = Template::new();
        for (k, v) in iter {
            template.push(k.as_ref(), v);
        }
        template
    }
}

impl<K: AsRef<str>, V: Into<Value>> Extend<(K, V)> for Template {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.push(k.as_ref(), v);
        }
    }
}

impl fmt::Display for Template {
    /// The wire form ([`Template::to_wire_string`]): attribute-vector syntax when exact, XML
    /// otherwise; for a template neither can carry, the error.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_wire_string() {
            Ok(s) => f.write_str(&s),
            Err(e) => write!(f, "<unsendable template: {e}>"),
        }
    }
}

/// Appends the upper-cased name of `element` to `arena`, refused unless it is a valid XML
/// name: oned never writes another, and keeping one would make the element impossible to
/// write back as is. Returns where it is in the arena and its well-known id, if any (looked
/// up once here, used by the vector and template builders).
fn push_element_name(
    reader: &XmlReader<'_>,
    element: &Element<'_>,
    arena: &mut String,
) -> Result<PendingName, XmlError> {
    let name = element.local_name();
    let raw = name.as_bytes();
    let start = arena.len();
    // The common case, oned's names: ASCII letters, digits and `_`, already upper-case.
    let mut ascii_name = raw
        .first()
        .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_');
    let mut lower = false;
    for &b in raw {
        ascii_name &= b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.');
        lower |= b.is_ascii_lowercase();
    }
    if ascii_name && !lower {
        // A well-known name needs no copy: it is read back from the names table.
        if let Some(id) = names::lookup(name) {
            return Ok(PendingName {
                span: (start, start),
                known: Some(id),
            });
        }
        arena.push_str(name);
    } else if ascii_name {
        arena.extend(name.chars().map(|c| c.to_ascii_uppercase()));
    } else if wire::is_xml_name(name) {
        arena.push_str(&upper(name));
    } else {
        return Err(reader.error(format!(
            "template element name {name:?} is not a valid XML name"
        )));
    }
    let known = names::lookup(&arena[start..]);
    if known.is_some() {
        arena.truncate(start);
    }
    Ok(PendingName {
        span: (start, arena.len()),
        known,
    })
}

// Decoding templates is on the hot path of every pool: a 10,000-VM pool holds about 600,000
// template values. So a template is read into one scratch area, reused from template to
// template: element names and leaf texts go into one string arena, children wait in one
// list, and only the final values are allocated, each at its exact size (a leaf's text
// becomes one `String`, a vector attribute two allocations whatever its size).

/// The scratch area of a template being read.
#[derive(Default)]
struct Scratch {
    /// Names and leaf texts, back to back.
    arena: String,
    /// Children read but not yet turned into values.
    pending: Vec<Pending>,
}

/// The upper-case name of a pending child.
#[derive(Clone, Copy)]
struct PendingName {
    /// Where it is in the arena (empty, unused, for a well-known name).
    span: (usize, usize),
    /// Its id among the well-known names (`names::lookup`), if it is one.
    known: Option<u16>,
}

/// A child element read but not yet turned into a value.
struct Pending {
    name: PendingName,
    read: Read,
}

/// What reading an element gave.
enum Read {
    /// A leaf: its text, in the arena.
    Leaf(usize, usize),
    /// An element with children.
    Value(Value),
}

impl Scratch {
    fn str(&self, (start, end): (usize, usize)) -> &str {
        &self.arena[start..end]
    }

    fn name(&self, name: PendingName) -> &str {
        match name.known {
            Some(id) => names::name(id),
            None => self.str(name.span),
        }
    }

    /// Reads the content of `child`, whose name was just pushed: a leaf's text goes into the
    /// arena, anything else is read by [`read_element`].
    #[inline]
    fn read_child(
        &mut self,
        reader: &mut XmlReader<'_>,
        child: &Element<'_>,
    ) -> Result<Read, XmlError> {
        match reader.try_leaf_text(child)? {
            Some(text) => {
                let start = self.arena.len();
                self.arena.push_str(&text);
                Ok(Read::Leaf(start, self.arena.len()))
            }
            None => read_element(reader, child, self),
        }
    }

    /// Whether two pending names are the same: well-known names compare by id.
    fn same_name(&self, a: PendingName, b: PendingName) -> bool {
        match (a.known, b.known) {
            (Some(a), Some(b)) => a == b,
            (None, None) => self.name(a) == self.name(b),
            _ => false,
        }
    }

    fn value_of(&self, read: Read) -> Value {
        match read {
            Read::Leaf(start, end) => Value::Single(self.arena[start..end].to_owned()),
            Read::Value(value) => value,
        }
    }

    /// `true` when the names of the children pending from `base` on never decrease, as oned
    /// writes them (its templates are sorted maps): then equal names are adjacent, and
    /// strictly increasing names are all distinct, without a search per name.
    fn sorted_from(&self, base: usize, strictly: bool) -> bool {
        self.pending[base..].windows(2).all(|pair| {
            let (a, b) = (self.name(pair[0].name), self.name(pair[1].name));
            if strictly {
                a < b
            } else {
                a <= b
            }
        })
    }

    /// The children pending from `base` on as a template.
    fn template_from(&mut self, base: usize) -> Template {
        if self.sorted_from(base, false) {
            return self.sorted_template_from(base);
        }
        let pending = std::mem::take(&mut self.pending);
        let mut builder = TemplateBuilder::with_capacity(pending.len() - base);
        let mut pending = pending;
        for child in pending.drain(base..) {
            let value = self.value_of(child.read);
            builder.push(self.name(child.name), value);
        }
        self.pending = pending;
        builder.finish()
    }

    /// [`template_from`](Self::template_from) for children in sorted order (oned's): each
    /// run of one name is one attribute, its values in a list of exactly that size.
    fn sorted_template_from(&mut self, base: usize) -> Template {
        let mut pending = std::mem::take(&mut self.pending);
        let children = &pending[base..];
        let mut names = 0;
        for (i, child) in children.iter().enumerate() {
            if i == 0 || !self.same_name(children[i - 1].name, child.name) {
                names += 1;
            }
        }
        let mut attributes: Vec<Attr> = Vec::with_capacity(names);
        let mut i = base;
        while i < pending.len() {
            let name = pending[i].name;
            let mut end = i + 1;
            while end < pending.len() && self.same_name(name, pending[end].name) {
                end += 1;
            }
            let mut values = Vec::with_capacity(end - i);
            for child in &mut pending[i..end] {
                let read = std::mem::replace(&mut child.read, Read::Leaf(0, 0));
                values.push(self.value_of(read));
            }
            let stored = match name.known {
                Some(id) => Cow::Borrowed(names::name(id)),
                None => Cow::Owned(self.name(name).to_owned()),
            };
            attributes.push(Attr {
                name: stored,
                values,
            });
            i = end;
        }
        pending.truncate(base);
        self.pending = pending;
        let mut template = Template {
            attributes,
            index: None,
        };
        template.reindex();
        template
    }

    /// `true` when the children pending from `base` on are leaves with distinct names.
    fn flat_from(&self, base: usize) -> bool {
        let children = &self.pending[base..];
        if !children.iter().all(|c| matches!(c.read, Read::Leaf(..))) {
            return false;
        }
        if self.sorted_from(base, true) {
            return true;
        }
        if children.len() <= INDEX_FROM {
            return children.iter().enumerate().all(|(i, child)| {
                children[..i]
                    .iter()
                    .all(|seen| !self.same_name(seen.name, child.name))
            });
        }
        let mut seen = std::collections::HashSet::with_capacity(children.len());
        children
            .iter()
            .all(|child| seen.insert(self.name(child.name)))
    }
}

thread_local! {
    /// The scratch area, kept between templates so that reading one allocates only its values.
    static SCRATCH: std::cell::Cell<Scratch> = std::cell::Cell::new(Scratch::default());
}

/// A scratch area larger than this (a huge template) is freed rather than kept.
const SCRATCH_KEEP: usize = 1 << 20;

fn read_element(
    reader: &mut XmlReader<'_>,
    element: &Element<'_>,
    scratch: &mut Scratch,
) -> Result<Read, XmlError> {
    let base = scratch.pending.len();
    let text_start = scratch.arena.len();
    while let Some(node) = reader.next_node(element)? {
        match node {
            // Text mixed with child elements (which oned never writes) ends up unused in the
            // arena and is dropped with the children.
            Node::Text(piece) => scratch.arena.push_str(&piece),
            Node::Element(child) => {
                let name = push_element_name(reader, &child, &mut scratch.arena)?;
                let read = scratch.read_child(reader, &child)?;
                scratch.pending.push(Pending { name, read });
            }
        }
    }
    if scratch.pending.len() == base {
        return Ok(Read::Leaf(text_start, scratch.arena.len()));
    }
    let value = if scratch.flat_from(base) {
        let children = &scratch.pending[base..];
        // The vector's exact text size: its values, and its names that are not well-known.
        let text: usize = children
            .iter()
            .map(|child| {
                let value = match child.read {
                    Read::Leaf(start, end) => end - start,
                    Read::Value(_) => 0,
                };
                let (start, end) = child.name.span;
                value
                    + if child.name.known.is_some() {
                        0
                    } else {
                        end - start
                    }
            })
            .sum();
        let mut vector = VectorBuilder::with_exact_capacity(children.len(), text);
        for child in children {
            if let Read::Leaf(start, end) = child.read {
                vector.push_unique_known(
                    scratch.name(child.name),
                    child.name.known,
                    &scratch.arena[start..end],
                );
            }
        }
        scratch.pending.truncate(base);
        Value::Vector(vector.finish())
    } else {
        Value::Nested(scratch.template_from(base))
    };
    // The children's names and texts are no longer needed.
    scratch.arena.truncate(text_start);
    Ok(Read::Value(value))
}

impl FromXml for Template {
    fn read_xml(reader: &mut XmlReader<'_>, start: &Element<'_>) -> Result<Self, XmlError> {
        let mut scratch = SCRATCH.with(|cell| cell.take());
        scratch.arena.clear();
        scratch.pending.clear();
        let mut run = || -> Result<Template, XmlError> {
            while let Some(child) = reader.next_child(start)? {
                let name = push_element_name(reader, &child, &mut scratch.arena)?;
                let read = scratch.read_child(reader, &child)?;
                scratch.pending.push(Pending { name, read });
            }
            Ok(scratch.template_from(0))
        };
        let template = run();
        if scratch.arena.capacity() <= SCRATCH_KEEP
            && scratch.pending.capacity() <= SCRATCH_KEEP / 64
        {
            SCRATCH.with(|cell| cell.set(scratch));
        }
        template
    }
}

/// Writes `name` as an XML element name. Names read from XML or the text syntax are always
/// valid; a name set in code that is not (say `"MY NAME"`) has each offending character
/// replaced by `_` here, so it can never inject markup. (The wire path refuses such names
/// instead, see [`WireError`].)
pub(crate) fn xml_name(name: &str) -> Cow<'_, str> {
    if wire::is_xml_name(name) {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len() + 1);
    for (i, c) in name.chars().enumerate() {
        if i == 0 && !wire::is_xml_name_start(c) && wire::is_xml_name_char(c) {
            out.push('_');
        }
        out.push(if wire::is_xml_name_char(c) { c } else { '_' });
    }
    if out.is_empty() {
        out.push('_');
    }
    Cow::Owned(out)
}

pub(crate) fn write_template_body(template: &Template, writer: &mut XmlWriter) {
    for (name, value) in template.iter() {
        let name = xml_name(name);
        match value {
            Value::Single(s) => writer.text_element(&name, s),
            Value::Vector(v) => {
                writer.start(&name);
                for (k, s) in v.iter() {
                    writer.text_element(&xml_name(k), s);
                }
                writer.end(&name);
            }
            Value::Nested(t) => {
                writer.start(&name);
                write_template_body(t, writer);
                writer.end(&name);
            }
        }
    }
}

impl ToXml for Template {
    fn write_xml(&self, writer: &mut XmlWriter, name: &str) {
        writer.start(name);
        write_template_body(self, writer);
        writer.end(name);
    }

    fn root_name(&self) -> &'static str {
        "TEMPLATE"
    }
}

/// Builds a [`Template`] literal.
///
/// Each entry is `NAME = value` (a string, number or `bool`, or any expression converting
/// into a [`Value`]) or `NAME = [ KEY = value, ... ]` for a vector attribute. A repeated name
/// adds another value, as in OpenNebula's syntax.
///
/// ```
/// use opennebula::template;
///
/// let vm = template! {
///     NAME = "vm1",
///     MEMORY = 1024,
///     DISK = [IMAGE_ID = 1],
///     DISK = [IMAGE_ID = 2, SIZE = 10240],
///     CONTEXT = [NETWORK = true, SSH_PUBLIC_KEY = "$USER[SSH_PUBLIC_KEY]"],
/// };
/// assert_eq!(vm.get("MEMORY"), Some("1024"));
/// assert_eq!(vm.vectors("DISK").count(), 2);
/// assert_eq!(vm.vector("CONTEXT").unwrap().get("NETWORK"), Some("YES"));
/// ```
#[macro_export]
macro_rules! template {
    () => { $crate::template::Template::new() };
    ($($body:tt)+) => {{
        let mut template = $crate::template::Template::new();
        $crate::__template_entries!(template; $($body)+);
        template
    }};
}

#[doc(hidden)]
#[macro_export]
macro_rules! __template_entries {
    ($t:ident;) => {};
    ($t:ident; $name:ident = [ $($key:ident = $value:expr),* $(,)? ] $(, $($rest:tt)*)?) => {
        $t.push(
            stringify!($name),
            $crate::template::Value::Vector({
                #[allow(unused_mut)]
                let mut vector = $crate::template::Vector::new();
                $( vector.set(stringify!($key), $value); )*
                vector
            }),
        );
        $crate::__template_entries!($t; $($($rest)*)?);
    };
    ($t:ident; $name:ident = $value:expr $(, $($rest:tt)*)?) => {
        $t.push(stringify!($name), $value);
        $crate::__template_entries!($t; $($($rest)*)?);
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_reading_keeps_vectors_nested_and_empty_values() {
        let xml = "<TEMPLATE><a>1</a><DISK><IMAGE_ID>1</IMAGE_ID><X/></DISK><E/>\
                   <DEEP><B><C>1</C></B></DEEP><REP><R>1</R><R>2</R></REP>\
                   <A>2</A></TEMPLATE>";
        let t = Template::from_xml(xml).unwrap();
        assert_eq!(t.strings("A").collect::<Vec<_>>(), ["1", "2"]);
        let disk = t.vector("disk").unwrap();
        assert_eq!(disk.get("image_id"), Some("1"));
        assert_eq!(disk.get("X"), Some(""));
        assert_eq!(t.get("E"), Some(""));
        let deep = t.nested("DEEP").unwrap();
        assert_eq!(deep.vector("B").unwrap().get("C"), Some("1"));
        let rep = t.nested("REP").unwrap();
        assert_eq!(rep.strings("R").collect::<Vec<_>>(), ["1", "2"]);
        let again = Template::from_xml(&t.to_xml()).unwrap();
        assert_eq!(again, t);
    }

    #[test]
    fn sorted_and_unsorted_xml_read_the_same() {
        // oned's order (sorted names, repeated names adjacent) takes the run-by-run path; any
        // other order the general one. Both must give the same values, in document order.
        let sorted = "<TEMPLATE><CONTEXT><DISK_ID>3</DISK_ID><ETH0_IP>10.0.0.1</ETH0_IP>\
                      <NETWORK>YES</NETWORK></CONTEXT><CPU>1</CPU><DISK><SIZE>1</SIZE></DISK>\
                      <DISK><SIZE>2</SIZE></DISK><MY_OWN>x</MY_OWN><MY_OWN>y</MY_OWN>\
                      <NIC><IP>a</IP></NIC></TEMPLATE>";
        let shuffled =
            "<TEMPLATE><NIC><IP>a</IP></NIC><DISK><SIZE>1</SIZE></DISK><my_own>x</my_own>\
                        <CPU>1</CPU><CONTEXT><NETWORK>YES</NETWORK><eth0_ip>10.0.0.1</eth0_ip>\
                        <DISK_ID>3</DISK_ID></CONTEXT><DISK><SIZE>2</SIZE></DISK>\
                        <MY_OWN>y</MY_OWN></TEMPLATE>";
        let a = Template::from_xml(sorted).unwrap();
        let b = Template::from_xml(shuffled).unwrap();
        assert_eq!(a, b);
        assert_eq!(
            a.names().collect::<Vec<_>>(),
            ["CONTEXT", "CPU", "DISK", "MY_OWN", "NIC"]
        );
        assert_eq!(a.strings("MY_OWN").collect::<Vec<_>>(), ["x", "y"]);
        let sizes: Vec<_> = a.vectors("DISK").map(|d| d.get("SIZE").unwrap()).collect();
        assert_eq!(sizes, ["1", "2"]);
        assert_eq!(
            b.vector("CONTEXT").unwrap().get("ETH0_IP"),
            Some("10.0.0.1")
        );
        // A repeated leaf name inside an unsorted element makes it a nested template.
        let t = Template::from_xml("<T><V><B>1</B><A>2</A><B>3</B></V></T>").unwrap();
        assert_eq!(
            t.nested("V").unwrap().strings("B").collect::<Vec<_>>(),
            ["1", "3"]
        );
    }

    #[test]
    fn writing_replaces_appends_and_removes_in_place() {
        let mut t = crate::template! { A = 1, B = 2, C = 3 };
        t.set("b", "two");
        t.push("A", "one more");
        assert_eq!(t.names().collect::<Vec<_>>(), ["A", "B", "C"]);
        assert_eq!(t.get_all("A").len(), 2);
        assert_eq!(t.remove("B"), vec![Value::from("two")]);
        assert_eq!(t.names().collect::<Vec<_>>(), ["A", "C"]);
        assert!(t.remove("missing").is_empty());
        t.set_vector("NIC", [("IP", "10.0.0.1")]);
        t.vector_mut("nic").unwrap().set("mac", "02:00");
        assert_eq!(t.vector("NIC").unwrap().get("MAC"), Some("02:00"));
        for disk in t.vectors_mut("NIC") {
            disk.remove("IP");
        }
        assert_eq!(t.vector("NIC").unwrap().len(), 1);
    }

    #[test]
    fn macro_takes_expressions_and_trailing_commas() {
        let name = String::from("vm");
        let size = 10;
        let t = crate::template! {
            NAME = format!("{name}-1"),
            PRIORITY = -1,
            disk = [image_id = size * 2, READONLY = false,],
            EMPTY = [],
        };
        assert_eq!(t.get("NAME"), Some("vm-1"));
        assert_eq!(t.get("PRIORITY"), Some("-1"));
        assert_eq!(t.vector("DISK").unwrap().get("IMAGE_ID"), Some("20"));
        assert_eq!(t.vector("DISK").unwrap().get("READONLY"), Some("NO"));
        assert!(t.vector("EMPTY").unwrap().is_empty());
        assert_eq!(crate::template! {}, Template::new());
    }

    #[test]
    fn invalid_names_never_inject_markup_in_xml() {
        let mut t = Template::new();
        t.set("A><B", "x").set("", "y").set("1X", "z");
        let xml = t.to_xml();
        assert_eq!(
            xml,
            "<TEMPLATE><A__B>x</A__B><_>y</_><_1X>z</_1X></TEMPLATE>"
        );
    }

    #[test]
    fn invalid_element_names_are_refused_and_unicode_names_kept() {
        let err = Template::from_xml_bytes(b"<T><A\x1f>1</A\x1f></T>").unwrap_err();
        assert!(err.message.contains("not a valid XML name"), "{err}");
        assert!(Template::from_xml_bytes(b"<T><V><\xff>1</\xff></V></T>").is_err());
        let t = Template::from_xml("<T><\u{c9}t\u{e9}>1</\u{c9}t\u{e9}></T>").unwrap();
        assert_eq!(t.get("\u{c9}T\u{e9}"), Some("1"));
        assert_eq!(
            t.to_xml(),
            "<TEMPLATE><\u{c9}T\u{e9}>1</\u{c9}T\u{e9}></TEMPLATE>"
        );
    }

    #[test]
    #[should_panic(expected = "no single attribute named \"MISSING\"")]
    fn index_panics_on_missing_names() {
        let _ = &Template::new()["MISSING"];
    }
}

#[cfg(test)]
mod compact_tests {
    use super::*;

    /// Past `INDEX_FROM` names the builders switch to a hash index: the results must be the
    /// same as with the scan (first value wins in the text syntax, values of a repeated name
    /// join in order, a repeated child name makes a nested value).
    #[test]
    fn large_templates_and_vectors_build_like_small_ones() {
        let n = 6 * INDEX_FROM;
        let mut xml = String::from("<TEMPLATE><V>");
        for i in 0..n {
            xml.push_str(&format!("<k{i}>{i}</k{i}>"));
        }
        xml.push_str("</V><R>");
        for i in 0..n {
            xml.push_str(&format!("<k{i}>{i}</k{i}>"));
        }
        xml.push_str("<K0>again</K0></R>");
        for i in 0..n {
            xml.push_str(&format!(
                "<A{}>{i}</A{}>",
                i % (2 * INDEX_FROM),
                i % (2 * INDEX_FROM)
            ));
        }
        xml.push_str("</TEMPLATE>");
        let t = Template::from_xml(&xml).unwrap();
        let v = t.vector("V").unwrap();
        assert_eq!(v.len(), n);
        assert_eq!(v.get(&format!("K{}", n - 1)), Some(&*(n - 1).to_string()));
        let r = t.nested("R").unwrap();
        assert_eq!(r.strings("K0").collect::<Vec<_>>(), ["0", "again"]);
        assert_eq!(
            t.strings("A1").collect::<Vec<_>>().len(),
            n / (2 * INDEX_FROM)
        );
        assert_eq!(t.len(), 2 + 2 * INDEX_FROM);
        assert_eq!(Template::from_xml(&t.to_xml()).unwrap(), t);

        let text: String = (0..n)
            .map(|i| format!("K{} = \"{i}\"\n", i % (2 * INDEX_FROM)))
            .chain(std::iter::once(format!(
                "V = [ {} ]\n",
                (0..n)
                    .map(|i| format!("E{} = \"{i}\"", i % (2 * INDEX_FROM)))
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
            .collect();
        let parsed: Template = text.parse().unwrap();
        assert_eq!(parsed.get_all("K3").len(), n / (2 * INDEX_FROM));
        let v = parsed.vector("V").unwrap();
        assert_eq!(v.len(), 2 * INDEX_FROM);
        assert_eq!(
            v.get("E3"),
            Some("3"),
            "the first value of a repeated key wins"
        );
    }

    /// Pools hold hundreds of thousands of these: keep them small (a regression here is a
    /// regression of the decode memory target of issue #7).
    #[test]
    fn values_stay_compact() {
        assert_eq!(std::mem::size_of::<Template>(), 32);
        assert_eq!(std::mem::size_of::<Vector>(), 32);
        assert!(std::mem::size_of::<Value>() <= 40);
        let mut t = Template::from_xml(
            "<TEMPLATE><DISK><DISK_ID>0</DISK_ID><SIZE>10</SIZE><MY_KEY>x</MY_KEY></DISK>\
             <NIC><NIC_ID>0</NIC_ID></NIC><NIC><NIC_ID>1</NIC_ID></NIC></TEMPLATE>",
        )
        .unwrap();
        // Well-known names take no text in a vector: only the values and `MY_KEY` do.
        assert_eq!(
            t.vector("DISK").unwrap().stored_text_len(),
            "010MY_KEYx".len()
        );
        // A name with several values keeps no spare room.
        assert_eq!(t.get_all_mut("NIC").unwrap().capacity(), 2);
    }

    /// Past `INDEX_FROM` names a template keeps a hash index: every change must keep it in
    /// step with the list.
    #[test]
    fn the_index_of_large_templates_follows_every_change() {
        let n = 4 * INDEX_FROM;
        let mut t: Template = (0..n).map(|i| (format!("a{i}"), i)).collect();
        assert!(t.index.is_some());
        t.push("A3", "again").set("a5", "five");
        assert_eq!(t.strings("a3").collect::<Vec<_>>(), ["3", "again"]);
        assert_eq!(t.remove("A0"), vec![Value::from(0)]);
        assert_eq!(t.get("A1"), Some("1"));
        assert_eq!(t.get(&format!("A{}", n - 1)), Some(&*(n - 1).to_string()));
        t.retain(|name, _| name.len() == 2); // keeps A1..A9 (A0 is gone)
        assert_eq!(t.names().collect::<Vec<_>>().len(), 9);
        assert!(t.index.is_none(), "small again: no index");
        assert_eq!(t.get("A9"), Some("9"));
        let mut big: Template = (0..n).map(|i| (format!("B{i}"), i)).collect();
        big.append(t.clone());
        assert_eq!(big.get("A5"), Some("five"));
        assert_eq!(big.get(&format!("B{}", n - 1)), Some(&*(n - 1).to_string()));
        let mut small = t.clone();
        small.append(big.clone());
        assert_eq!(small.len(), big.len());
        assert_eq!(
            small.strings("A3").collect::<Vec<_>>(),
            ["3", "again", "3", "again"]
        );
    }

    #[test]
    fn vectors_mix_well_known_and_other_names() {
        let mut v = Vector::new();
        v.set("disk_id", 0)
            .set("MY_OWN", "x")
            .set("", "empty name")
            .set("SIZE", "");
        assert_eq!(
            v.iter().collect::<Vec<_>>(),
            [
                ("DISK_ID", "0"),
                ("MY_OWN", "x"),
                ("", "empty name"),
                ("SIZE", "")
            ]
        );
        v.set("MY_OWN", "y");
        assert_eq!(v.remove("disk_id").as_deref(), Some("0"));
        assert_eq!(
            v.iter().rev().collect::<Vec<_>>(),
            [("SIZE", ""), ("", "empty name"), ("MY_OWN", "y")]
        );
        let same: Vector = [("size", ""), ("my_own", "y"), ("", "empty name")].into();
        assert_eq!(v, same, "entry order does not matter");
        assert_ne!(v, Vector::from([("SIZE", "1")]));
        assert_eq!(
            format!("{v:?}"),
            r#"{"MY_OWN": "y", "": "empty name", "SIZE": ""}"#
        );
    }
}
