//! OpenNebula template text (`NAME = "value"`, `DISK = [ IMAGE_ID = "0" ]`) as oned keeps it:
//! attribute names upper-cased, attributes ordered by name (a multimap), vector members
//! ordered by name.
//!
//! Why the server has its own parser next to [`opennebula::template`](mod@opennebula::template): a client gets oned's parse
//! failures verbatim (`Parse error: syntax error, unexpected '<', expecting VARIABLE at line
//! 0, columns 0:1`), with bison's token names and oned's column rules, which the client-side
//! parser's errors (made for people) do not carry; and oned's storage is a sorted multimap
//! whose merge replaces attributes by name. Documents are built from the crate's
//! [`Template`](opennebula::template::Template) through [`Tmpl::to_template`].

use std::collections::BTreeMap;

/// One attribute value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Attr {
    Single(String),
    Vector(BTreeMap<String, String>),
}

/// A parsed template.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Tmpl {
    attrs: BTreeMap<String, Vec<Attr>>,
}

impl Tmpl {
    /// Parses template text; the error is oned's message after `Parse error: `.
    pub(crate) fn parse(text: &str) -> Result<Tmpl, String> {
        // oned reads a template parameter as XML when it starts with `<` (PyONE sends a
        // dictionary with one root that way): the root's children are the attributes.
        if text.trim_start().starts_with('<') {
            return Self::from_xml(text.trim_start());
        }
        Parser {
            chars: text.chars().collect(),
            pos: 0,
            line: 0,
        }
        .template()
    }

    /// Reads an XML template (`<TEMPLATE><NAME>..</NAME><DISK><IMAGE_ID>..</IMAGE_ID></DISK></TEMPLATE>`).
    /// Like oned, empty elements and anything nested deeper than a vector are dropped.
    fn from_xml(text: &str) -> Result<Tmpl, String> {
        use opennebula::template::{Template, Value};
        use opennebula::xml::FromXml;
        let parsed = Template::from_xml(text).map_err(|e| e.to_string())?;
        let mut tmpl = Tmpl::default();
        for (name, value) in parsed.iter() {
            match value {
                Value::Single(s) if !s.is_empty() => tmpl.push(name, Attr::Single(s.clone())),
                Value::Vector(v) => tmpl.push(
                    name,
                    Attr::Vector(
                        v.iter()
                            .filter(|(_, s)| !s.is_empty())
                            .map(|(k, s)| (k.to_string(), s.to_string()))
                            .collect(),
                    ),
                ),
                _ => {}
            }
        }
        Ok(tmpl)
    }

    /// The first single value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.attrs.get(name)?.iter().find_map(|a| match a {
            Attr::Single(s) => Some(s.as_str()),
            Attr::Vector(_) => None,
        })
    }

    /// All vector values of `name`.
    pub(crate) fn vectors(&self, name: &str) -> Vec<&BTreeMap<String, String>> {
        self.attrs
            .get(name)
            .map(|values| {
                values
                    .iter()
                    .filter_map(|a| match a {
                        Attr::Vector(v) => Some(v),
                        Attr::Single(_) => None,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Mutable vector values of `name`.
    pub(crate) fn vectors_mut(&mut self, name: &str) -> Vec<&mut BTreeMap<String, String>> {
        self.attrs
            .get_mut(name)
            .map(|values| {
                values
                    .iter_mut()
                    .filter_map(|a| match a {
                        Attr::Vector(v) => Some(v),
                        Attr::Single(_) => None,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The attribute names, in order.
    pub(crate) fn names(&self) -> Vec<String> {
        self.attrs.keys().cloned().collect()
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        self.attrs.contains_key(name)
    }

    /// Replaces every value of `name` by one single value.
    pub(crate) fn set(&mut self, name: &str, value: impl Into<String>) {
        self.attrs
            .insert(name.to_string(), vec![Attr::Single(value.into())]);
    }

    /// Sets `name` only when it is absent.
    pub(crate) fn set_default(&mut self, name: &str, value: impl Into<String>) {
        if !self.has(name) {
            self.set(name, value);
        }
    }

    /// Appends a value of `name`.
    pub(crate) fn push(&mut self, name: &str, value: Attr) {
        self.attrs.entry(name.to_string()).or_default().push(value);
    }

    pub(crate) fn remove(&mut self, name: &str) -> Vec<Attr> {
        self.attrs.remove(name).unwrap_or_default()
    }

    /// `update` in merge mode: every attribute named in `other` replaces the attribute of
    /// that name.
    pub(crate) fn merge(&mut self, other: Tmpl) {
        for (name, values) in other.attrs {
            self.attrs.insert(name, values);
        }
    }

    /// The template as the crate's [`Template`](opennebula::template::Template), in oned's order
    /// (attributes and vector members sorted by name), for documents built from the generated
    /// model types.
    pub(crate) fn to_template(&self) -> opennebula::template::Template {
        self.to_template_without(&[])
    }

    /// [`to_template`](Self::to_template) without the attributes named in `skip` (cheaper
    /// than cloning the template to remove them first).
    pub(crate) fn to_template_without(&self, skip: &[&str]) -> opennebula::template::Template {
        use opennebula::template::{Template, Value};
        let mut template = Template::new();
        for (name, values) in &self.attrs {
            if skip.contains(&name.as_str()) {
                continue;
            }
            for value in values {
                match value {
                    Attr::Single(s) => {
                        template.push(name, Value::Single(s.clone()));
                    }
                    Attr::Vector(members) => {
                        template.push(name, Value::Vector(vector_of(members)));
                    }
                }
            }
        }
        template
    }
}

/// A vector's members as a [`Vector`](opennebula::template::Vector).
fn vector_of(members: &BTreeMap<String, String>) -> opennebula::template::Vector {
    members.iter().map(|(key, s)| (key, s.as_str())).collect()
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    line: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_blank(&mut self, newlines: bool) {
        while let Some(c) = self.peek() {
            if c == '#' {
                while let Some(c) = self.peek() {
                    if c == '\n' {
                        break;
                    }
                    self.pos += 1;
                }
            } else if c == ' ' || c == '\t' || c == '\r' || (newlines && c == '\n') {
                if c == '\n' {
                    self.line += 1;
                }
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    fn error(&self, unexpected: &str, expecting: &str) -> String {
        self.error_at(unexpected, expecting, self.pos, self.pos + 1)
    }

    /// oned's parser reports the columns of a token (its location as flex tracked it).
    fn error_at(&self, unexpected: &str, expecting: &str, first: usize, last: usize) -> String {
        format!(
            "syntax error, unexpected {unexpected}, expecting {expecting} at line {}, columns {first}:{last}",
            self.line,
        )
    }

    fn name(&mut self) -> String {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.' {
                self.pos += 1;
            } else {
                break;
            }
        }
        self.chars[start..self.pos]
            .iter()
            .collect::<String>()
            .to_ascii_uppercase()
    }

    fn template(mut self) -> Result<Tmpl, String> {
        let mut tmpl = Tmpl::default();
        loop {
            self.skip_blank(true);
            let Some(c) = self.peek() else { break };
            if !(c.is_ascii_alphanumeric() || c == '_') {
                return Err(self.error(&format!("'{c}'"), "VARIABLE"));
            }
            let name = self.name();
            self.skip_blank(false);
            if self.peek() != Some('=') {
                let found = self.peek().map_or("$end".to_string(), |c| format!("'{c}'"));
                return Err(self.error(&found, "EQUAL"));
            }
            self.pos += 1;
            self.skip_blank(false);
            match self.peek() {
                Some('[') => {
                    self.pos += 1;
                    let vector = self.vector()?;
                    tmpl.push(&name, Attr::Vector(vector));
                }
                Some('"') => {
                    let value = self.quoted("OBRACKET or CCDATA or STRING")?;
                    tmpl.push(&name, Attr::Single(value));
                }
                None | Some('\n') => {
                    return Err(self.error("$end", "OBRACKET or CCDATA or STRING"));
                }
                Some(_) => {
                    let value = self.bare();
                    tmpl.push(&name, Attr::Single(value));
                }
            }
        }
        Ok(tmpl)
    }

    fn quoted(&mut self, expecting: &str) -> Result<String, String> {
        self.pos += 1;
        let mut value = String::new();
        loop {
            match self.peek() {
                None => return Err(self.error("$end", expecting)),
                Some('\\') if self.chars.get(self.pos + 1) == Some(&'"') => {
                    value.push('"');
                    self.pos += 2;
                }
                Some('"') => {
                    self.pos += 1;
                    return Ok(value);
                }
                Some(c) => {
                    if c == '\n' {
                        self.line += 1;
                    }
                    value.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn bare(&mut self) -> String {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c == '\n' || c == ',' || c == ']' || c == '#' {
                break;
            }
            self.pos += 1;
        }
        self.chars[start..self.pos]
            .iter()
            .collect::<String>()
            .trim()
            .to_string()
    }

    fn vector(&mut self) -> Result<BTreeMap<String, String>, String> {
        let mut members = BTreeMap::new();
        // Where the last value began: an input ending after it is reported at that value,
        // the last token the lexer read (`DISK=[IMAGE_ID="0"` -> columns 16:19).
        let mut last_value: Option<usize> = None;
        loop {
            self.skip_blank(true);
            match self.peek() {
                None => {
                    return Err(match last_value {
                        Some(start) => {
                            self.error_at("$end", "COMMA or CBRACKET", start + 1, self.pos + 1)
                        }
                        None => self.error("$end", "COMMA or CBRACKET"),
                    })
                }
                Some(']') => {
                    self.pos += 1;
                    return Ok(members);
                }
                Some(',') => {
                    self.pos += 1;
                    continue;
                }
                Some(_) => {}
            }
            let name = self.name();
            if name.is_empty() {
                let c = self.peek().unwrap_or(' ');
                return Err(self.error(&format!("'{c}'"), "VARIABLE"));
            }
            self.skip_blank(true);
            if self.peek() != Some('=') {
                let found = self.peek().map_or("$end".to_string(), |c| format!("'{c}'"));
                return Err(self.error(&found, "EQUAL"));
            }
            self.pos += 1;
            self.skip_blank(true);
            last_value = Some(self.pos);
            let value = match self.peek() {
                Some('"') => self.quoted("COMMA or CBRACKET")?,
                None => return Err(self.error("$end", "STRING")),
                Some(_) => self.bare(),
            };
            members.insert(name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_singles_vectors_comments_and_escapes() {
        let t = Tmpl::parse(
            "NAME = \"vm \\\"one\\\"\"\n# comment\ncpu=0.5\nDISK = [ IMAGE_ID = \"0\",\n size=10 ]\nDISK=[IMAGE_ID=\"1\"]",
        )
        .unwrap();
        assert_eq!(t.get("NAME"), Some("vm \"one\""));
        assert_eq!(t.get("CPU"), Some("0.5"));
        let disks = t.vectors("DISK");
        assert_eq!(disks.len(), 2);
        assert_eq!(disks[0]["SIZE"], "10");
        assert_eq!(disks[1]["IMAGE_ID"], "1");
    }

    #[test]
    fn conversion_skips_names_and_keeps_lower_case_members() {
        use opennebula::template::{Template, Value, Vector};
        let mut t =
            Tmpl::parse("NAME=n\nDISK=[SIZE=1,IMAGE_ID=\"0\"]\nSCHED_ACTION=[ID=0]").unwrap();
        // A member set in code with a lower-case name takes the general (deduplicating) path.
        t.push(
            "NIC",
            Attr::Vector(BTreeMap::from([
                ("ip".to_string(), "a".to_string()),
                ("IP".to_string(), "b".to_string()),
            ])),
        );
        let mut expected = Template::new();
        expected.push(
            "DISK",
            Value::Vector(Vector::from([("IMAGE_ID", "0"), ("SIZE", "1")])),
        );
        expected.push("NAME", "n");
        expected.push(
            "NIC",
            Value::Vector([("IP", "b"), ("ip", "a")].into_iter().collect()),
        );
        assert_eq!(t.to_template_without(&["SCHED_ACTION"]), expected);
        let full = t.to_template();
        assert_eq!(full.vectors("SCHED_ACTION").count(), 1);
        assert_eq!(full.len(), 4);
        let disk = full.vectors("DISK").next().unwrap();
        assert_eq!(
            disk.iter().collect::<Vec<_>>(),
            [("IMAGE_ID", "0"), ("SIZE", "1")]
        );
    }

    #[test]
    fn an_unterminated_vector_is_reported_at_its_last_value() {
        let error = Tmpl::parse("DISK=[IMAGE_ID=\"0\"").unwrap_err();
        assert_eq!(
            error,
            "syntax error, unexpected $end, expecting COMMA or CBRACKET at line 0, columns 16:19"
        );
    }

    #[test]
    fn refuses_unterminated_strings_and_vectors() {
        assert!(Tmpl::parse("NAME=\"broken\nCPU=").is_err());
        assert!(Tmpl::parse("DISK=[IMAGE_ID=\"0\"").is_err());
        assert!(Tmpl::parse("CPU=").is_err());
    }

    #[test]
    fn converts_to_the_crate_template_in_oned_order() {
        let t =
            Tmpl::parse("B=\"2\"\nDISK=[Y=\"1\",X=\"a\"]\nA=\"x\"\nDISK=[IMAGE_ID=\"3\"]").unwrap();
        let template = t.to_template();
        assert_eq!(template.names().collect::<Vec<_>>(), ["A", "B", "DISK"]);
        let disks: Vec<_> = template.vectors("DISK").collect();
        assert_eq!(disks.len(), 2);
        assert_eq!(disks[0].names().collect::<Vec<_>>(), ["X", "Y"]);
        assert_eq!(disks[1].get("IMAGE_ID"), Some("3"));
        assert_eq!(template.get("B"), Some("2"));
    }
}
