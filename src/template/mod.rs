//! OpenNebula template dictionaries (TEMPLATE, USER_TEMPLATE, and template parameters).
//!
//! PLACEHOLDER: the template issue replaces this module with the full type (text parser,
//! attribute-vector writer, serde, macro). The shape below is the contract the generated
//! models rely on: `Template: FromXml + ToXml + Serialize + Clone + PartialEq + Debug + Default`.

use indexmap::IndexMap;
use serde::Serialize;

use crate::xml::{Element, FromXml, Node, ToXml, XmlError, XmlReader, XmlWriter};

/// A template attribute value: a single string or a vector attribute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum TemplateValue {
    /// `NAME = "value"`
    Single(String),
    /// `DISK = [ IMAGE_ID = "1" ]`
    Vector(IndexMap<String, String>),
}

/// An ordered OpenNebula template: each attribute name maps to one or more values.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Template {
    attributes: IndexMap<String, Vec<TemplateValue>>,
}

impl FromXml for Template {
    fn read_xml(reader: &mut XmlReader<'_>, start: &Element<'_>) -> Result<Self, XmlError> {
        let mut template = Template::default();
        while let Some(child) = reader.next_child(start)? {
            let name = child.name_str().to_ascii_uppercase();
            let mut vector: Option<IndexMap<String, String>> = None;
            let mut text = String::new();
            while let Some(node) = reader.next_node(&child)? {
                match node {
                    Node::Text(t) => text.push_str(&t),
                    Node::Element(grandchild) => {
                        let key = grandchild.name_str().to_ascii_uppercase();
                        let value = reader.read_text(&grandchild)?.into_owned();
                        vector.get_or_insert_with(IndexMap::new).insert(key, value);
                    }
                }
            }
            let value = match vector {
                Some(v) => TemplateValue::Vector(v),
                None => TemplateValue::Single(text),
            };
            template.attributes.entry(name).or_default().push(value);
        }
        Ok(template)
    }
}

impl ToXml for Template {
    fn write_xml(&self, writer: &mut XmlWriter, name: &str) {
        writer.start(name);
        for (key, values) in &self.attributes {
            for value in values {
                match value {
                    TemplateValue::Single(s) => writer.text_element(key, s),
                    TemplateValue::Vector(v) => {
                        writer.start(key);
                        for (k, s) in v {
                            writer.text_element(k, s);
                        }
                        writer.end(key);
                    }
                }
            }
        }
        writer.end(name);
    }

    fn root_name(&self) -> &'static str {
        "TEMPLATE"
    }
}
