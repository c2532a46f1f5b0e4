//! A tiny XML builder for the server's documents, writing the way oned does: numbers and
//! names as text, template values in CDATA sections.
//!
//! The documents are assembled in one place per object type (see `state::docs`); when the
//! generated model types land, those functions are the only ones to switch over.

use std::fmt::Display;

/// An XML document being written.
#[derive(Default)]
pub(crate) struct Doc {
    pub(crate) out: String,
}

impl Doc {
    pub(crate) fn new() -> Doc {
        Doc {
            out: String::with_capacity(1024),
        }
    }

    pub(crate) fn open(&mut self, name: &str) -> &mut Self {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        self
    }

    pub(crate) fn close(&mut self, name: &str) -> &mut Self {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
        self
    }

    /// `<NAME/>`
    pub(crate) fn empty(&mut self, name: &str) -> &mut Self {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push_str("/>");
        self
    }

    /// `<NAME>value</NAME>` with the value escaped.
    pub(crate) fn text(&mut self, name: &str, value: impl Display) -> &mut Self {
        self.open(name);
        let value = value.to_string();
        escape_into(&mut self.out, &value);
        self.close(name)
    }

    /// `<NAME><![CDATA[value]]></NAME>`
    pub(crate) fn cdata(&mut self, name: &str, value: &str) -> &mut Self {
        self.open(name);
        cdata_into(&mut self.out, value);
        self.close(name)
    }

    /// Appends a complete fragment.
    pub(crate) fn raw(&mut self, fragment: &str) -> &mut Self {
        self.out.push_str(fragment);
        self
    }

    pub(crate) fn finish(self) -> String {
        self.out
    }
}

pub(crate) fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c => out.push(c),
        }
    }
}

/// A CDATA section; a `]]>` inside the value is split across two sections.
pub(crate) fn cdata_into(out: &mut String, value: &str) {
    out.push_str("<![CDATA[");
    out.push_str(&value.replace("]]>", "]]]]><![CDATA[>"));
    out.push_str("]]>");
}
