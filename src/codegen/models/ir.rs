//! The generator's own model of the documents: what the emitter needs, nothing of XSD's
//! generality. Built from xsd-parser's `MetaTypes` by [`super::load`].

use std::collections::BTreeMap;

/// Where a type was declared: a named XSD type, or a global element.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Origin {
    /// `<xs:complexType name="…">` / `<xs:simpleType name="…">` (names are global per namespace).
    Named(String),
    /// `<xs:element name="…">` at the top of the file `file` (its stem, e.g. `vm_pool`).
    Global {
        /// File stem of the schema declaring the element.
        file: String,
        /// Element name.
        element: String,
    },
}

/// Identifies a type definition: its origin plus, for anonymous types nested inside it, the
/// path of element names from the origin down to the type.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    /// The named type or global element the type lives in.
    pub origin: Origin,
    /// Element names from `origin` down to this anonymous type; empty for the origin itself.
    pub path: Vec<String>,
}

impl Key {
    /// The key of the anonymous type of child element `element` of this type.
    pub fn child(&self, element: &str) -> Key {
        let mut path = self.path.clone();
        path.push(element.to_string());
        Key {
            origin: self.origin.clone(),
            path,
        }
    }
}

/// A field or alias type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ty {
    /// xs:integer and friends → `i64`.
    Int,
    /// xs:decimal, xs:float, xs:double → `f64`.
    Float,
    /// Everything else textual (strings, enumerations, dates, booleans) → `String`.
    Text,
    /// xs:anyType, or content that is only `xs:any` → the crate's template dictionary.
    Template,
    /// Another definition (struct or alias).
    Ref(Key),
}

/// How many times an element may occur.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Card {
    /// Exactly once: plain field, defaulted when missing.
    Required,
    /// At most once: `Option<T>`.
    Optional,
    /// More than once: `Vec<T>`.
    Many,
}

/// One child element of a struct.
#[derive(Debug, Clone)]
pub struct FieldDef {
    /// The element name, matched byte for byte.
    pub xml_name: String,
    /// The element's type.
    pub ty: Ty,
    /// Its cardinality.
    pub card: Card,
    /// The element's XSD type name as written (`xs:integer`, `LOCK`, …) for the docs.
    pub xsd_type: String,
    /// `xs:documentation` of the element.
    pub docs: Vec<String>,
}

/// A complex type with element content.
#[derive(Debug, Clone)]
pub struct StructDef {
    /// The element name this type was first declared for (or the type name).
    pub xml_name: String,
    /// `xs:documentation`.
    pub docs: Vec<String>,
    /// Child elements in schema order.
    pub fields: Vec<FieldDef>,
    /// The content model has an `xs:any` beside named elements: unmatched children are kept
    /// as raw XML instead of being skipped.
    pub keeps_unknown: bool,
    /// Schema file stem, for the docs.
    pub file: String,
}

/// A definition: a struct, or another name for a type (a global element whose type is named,
/// a simple type restricting a builtin, …).
#[derive(Debug, Clone)]
pub enum Def {
    /// Generates a struct.
    Struct(StructDef),
    /// Resolves to another type.
    Alias(Ty),
}

/// A global element: a document root.
#[derive(Debug, Clone)]
pub struct GlobalDef {
    /// File stem of its schema.
    pub file: String,
    /// Element name.
    pub element: String,
    /// `xs:documentation`.
    pub docs: Vec<String>,
}

/// Everything read from one XSD directory.
#[derive(Debug, Default)]
pub struct Model {
    /// All definitions.
    pub defs: BTreeMap<Key, Def>,
    /// Global elements, in file order.
    pub globals: Vec<GlobalDef>,
    /// The files read (for `rerun-if-changed`).
    pub files: Vec<std::path::PathBuf>,
}
