//! A small indenting text writer for generated Rust source: output is tidy without a formatter
//! dependency, and deterministic.

use std::fmt::Write as _;

/// Accumulates lines of Rust source with the current indentation.
#[derive(Debug, Default)]
pub struct CodeWriter {
    out: String,
    indent: usize,
}

impl CodeWriter {
    /// Writes one line at the current indentation (an empty `line` writes a blank line).
    pub fn line(&mut self, line: impl AsRef<str>) {
        let line = line.as_ref();
        if !line.is_empty() {
            for _ in 0..self.indent {
                self.out.push_str("    ");
            }
            self.out.push_str(line);
        }
        self.out.push('\n');
    }

    /// Writes `line` (normally ending in `{`) and indents what follows.
    pub fn open(&mut self, line: impl AsRef<str>) {
        self.line(line);
        self.indent += 1;
    }

    /// Dedents and writes `line` (normally `}`).
    pub fn close(&mut self, line: impl AsRef<str>) {
        self.indent = self.indent.saturating_sub(1);
        self.line(line);
    }

    /// Writes `///` doc lines for `text` (one per source line, trimmed; nothing if empty).
    pub fn doc(&mut self, text: &str) {
        for l in text.lines() {
            let l = l.trim();
            if l.is_empty() {
                self.line("///");
            } else {
                let mut s = String::from("/// ");
                let _ = write!(s, "{l}");
                self.line(s);
            }
        }
    }

    /// The source written so far.
    pub fn finish(self) -> String {
        self.out
    }
}
