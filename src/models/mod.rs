//! Typed OpenNebula documents, generated at build time from the XSD files in `schemas/`.
//!
//! Every resource and pool the API returns has a type here (`Vm`, `VmPool`, `Host`,
//! `Image`, `User`, ...). Each one:
//!
//! - decodes with [`FromXml`](crate::xml::FromXml), **tolerantly**: unknown elements are
//!   skipped at every level, elements are accepted in any order, missing elements become
//!   `None` (optional) or a documented default (required: 0 for numbers, empty for text),
//!   empty or non-numeric numbers likewise, and the OpenNebula namespace may be present or
//!   absent. Only malformed XML is an error ([`XmlError`](crate::xml::XmlError), with the
//!   byte position). OpenNebula adds elements in every release and its real output has
//!   lagged behind its XSDs, so a strict decoder would break on real servers;
//! - encodes with [`ToXml`](crate::xml::ToXml) exactly as oned prints it (schema order, no
//!   whitespace), so parse → serialize → parse is the identity;
//! - implements `Debug`, `Clone`, `PartialEq`, `Default` and `serde::Serialize` (JSON keys
//!   are the XML names, as `onevm show --json` prints them).
//!
//! `TEMPLATE`-like dictionaries (`xs:anyType`) are [`Template`](crate::template::Template)s.
//! Elements whose content the schema leaves open (`xs:any`) stay reachable: a `Template`
//! when that is all they hold, raw XML in `unknown_xml` beside typed fields otherwise.
//!
//! [`Document`] decodes any document by its root element, like PyONE's
//! `bindings.parseString`.
//!
//! Regenerating against the schemas of another OpenNebula version: set
//! `OPENNEBULA_XSD_DIR=/path/to/xsd` when building. The generated code is never committed
//! or edited; hand-written extensions live in this module, beside it.

pub mod decode;

/// The generated code: `include!`d from `OUT_DIR`, with only lint allowances added.
#[allow(
    missing_docs,
    unused_imports,
    clippy::all,
    clippy::pedantic,
    non_camel_case_types
)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/models.rs"));
}

pub use generated::*;

/// Types generated from the test fixture in `src/models/fixture/`.
#[cfg(test)]
#[allow(missing_docs, unused_imports, dead_code, clippy::all, clippy::pedantic)]
mod fixture {
    include!(concat!(env!("OUT_DIR"), "/fixture_models.rs"));
}

#[cfg(test)]
mod tests;

/// The generator's naming rules, compiled here too so that their unit tests run with
/// `cargo test` (build-script code is never tested by cargo).
#[cfg(test)]
#[path = "../codegen/naming.rs"]
#[allow(dead_code)]
mod codegen_naming;

/// Types generated from the official OpenNebula XSD set (conformance tests only).
#[cfg(feature = "conformance")]
#[doc(hidden)]
#[allow(
    missing_docs,
    unused_imports,
    clippy::all,
    clippy::pedantic,
    non_camel_case_types
)]
pub mod official {
    include!(concat!(env!("OUT_DIR"), "/official_models.rs"));

    impl Document {
        /// See [`crate::models::Document::summary`].
        pub fn summary(&self) -> String {
            super::summary_line(self.root_name(), self.id(), self.name(), self.entry_count())
        }
    }
}

impl Document {
    /// A one-line human summary: root element, ID, name and entry count when present, e.g.
    /// `VM id=3 name="web"` or `VM_POOL entries=10000`.
    pub fn summary(&self) -> String {
        summary_line(self.root_name(), self.id(), self.name(), self.entry_count())
    }
}

fn summary_line(root: &str, id: Option<i64>, name: Option<&str>, entries: Option<usize>) -> String {
    let mut line = root.to_string();
    if let Some(id) = id {
        line.push_str(&format!(" id={id}"));
    }
    if let Some(name) = name {
        line.push_str(&format!(" name={name:?}"));
    }
    if let Some(entries) = entries {
        line.push_str(&format!(" entries={entries}"));
    }
    line
}
