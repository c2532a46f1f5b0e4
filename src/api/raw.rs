//! [`RawDocument`]: any OpenNebula XML document as a small element tree, for roots without a
//! generated model (`SQL_COMMAND`) and for reading a document whatever its type.

use std::fmt;

use crate::xml::{Element, FromXml, Node, XmlError, XmlReader};

/// One element of a [`RawDocument`]: its name, its text (concatenated, unescaped) and its
/// child elements in document order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RawElement {
    /// Element name (local name, as written).
    pub name: String,
    /// Character data directly inside the element.
    pub text: String,
    /// Child elements in document order.
    pub children: Vec<RawElement>,
}

impl RawElement {
    /// The first descendant at `path` (`"TEMPLATE/VMTEMPLATE64"`, names separated by `/`).
    pub fn get(&self, path: &str) -> Option<&RawElement> {
        let mut current = self;
        for name in path.split('/').filter(|s| !s.is_empty()) {
            current = current.children.iter().find(|c| c.name == name)?;
        }
        Some(current)
    }

    /// The text of the first descendant at `path`.
    pub fn text_at(&self, path: &str) -> Option<&str> {
        self.get(path).map(|e| e.text.as_str())
    }

    /// The text at `path` parsed as an integer (`None` if missing or not a number).
    pub fn int_at(&self, path: &str) -> Option<i64> {
        self.text_at(path)?.trim().parse().ok()
    }

    /// The direct children named `name`.
    pub fn children_named<'s>(
        &'s self,
        name: &'s str,
    ) -> impl Iterator<Item = &'s RawElement> + 's {
        self.children.iter().filter(move |c| c.name == name)
    }

    fn read(reader: &mut XmlReader<'_>, start: &Element<'_>) -> Result<RawElement, XmlError> {
        let mut element = RawElement {
            name: start.name_str().into_owned(),
            ..RawElement::default()
        };
        while let Some(node) = reader.next_node(start)? {
            match node {
                Node::Text(text) => element.text.push_str(&text),
                Node::Element(child) => element.children.push(RawElement::read(reader, &child)?),
            }
        }
        if !element.children.is_empty() && element.text.trim().is_empty() {
            element.text.clear();
        }
        Ok(element)
    }
}

/// Any OpenNebula XML document, kept as a tree of [`RawElement`]s.
///
/// The escape hatch beside the generated models (as `kube`'s `DynamicObject` is beside typed
/// objects): what [`Client::call_any_document`](crate::Client::call_any_document) returns for a
/// root it does not know, and the return type of methods whose document has no schema.
///
/// ```
/// use opennebula::api::RawDocument;
/// use opennebula::xml::FromXml;
/// let doc = RawDocument::from_xml("<VM><ID>7</ID><TEMPLATE><CPU>1</CPU></TEMPLATE></VM>").unwrap();
/// assert_eq!(doc.root_name(), "VM");
/// assert_eq!(doc.int_at("ID"), Some(7));
/// assert_eq!(doc.text_at("TEMPLATE/CPU"), Some("1"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RawDocument {
    root: RawElement,
}

impl RawDocument {
    /// The root element's name (`VM`, `VM_POOL`, `SQL_COMMAND`...).
    pub fn root_name(&self) -> &str {
        &self.root.name
    }

    /// The root element.
    pub fn root(&self) -> &RawElement {
        &self.root
    }

    /// See [`RawElement::get`] (paths are relative to the root).
    pub fn get(&self, path: &str) -> Option<&RawElement> {
        self.root.get(path)
    }

    /// See [`RawElement::text_at`].
    pub fn text_at(&self, path: &str) -> Option<&str> {
        self.root.text_at(path)
    }

    /// See [`RawElement::int_at`].
    pub fn int_at(&self, path: &str) -> Option<i64> {
        self.root.int_at(path)
    }
}

impl FromXml for RawDocument {
    fn read_xml(reader: &mut XmlReader<'_>, start: &Element<'_>) -> Result<Self, XmlError> {
        Ok(RawDocument {
            root: RawElement::read(reader, start)?,
        })
    }
}

impl FromXml for RawElement {
    fn read_xml(reader: &mut XmlReader<'_>, start: &Element<'_>) -> Result<Self, XmlError> {
        RawElement::read(reader, start)
    }
}

impl fmt::Display for RawElement {
    /// Writes the element back as XML (text escaped).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}>", self.name)?;
        f.write_str(&crate::xml::escape(&self.text))?;
        for child in &self.children {
            write!(f, "{child}")?;
        }
        write!(f, "</{}>", self.name)
    }
}

impl fmt::Display for RawDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.root.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nested_elements_and_text() {
        let doc = RawDocument::from_xml(
            "<VM_POOL><VM><ID>3</ID><NAME>a &amp; b</NAME></VM><VM><ID>2</ID></VM></VM_POOL>",
        )
        .unwrap();
        assert_eq!(doc.root().children_named("VM").count(), 2);
        assert_eq!(doc.text_at("VM/NAME"), Some("a & b"));
        assert_eq!(doc.int_at("VM/ID"), Some(3));
        assert_eq!(doc.text_at("VM/MISSING"), None);
        assert_eq!(
            doc.to_string(),
            "<VM_POOL><VM><ID>3</ID><NAME>a &amp; b</NAME></VM><VM><ID>2</ID></VM></VM_POOL>"
        );
        assert!(RawDocument::from_xml("<VM><ID>").is_err());
    }
}
