//! A parser for OpenNebula's template syntax.
//!
//! Hand-written on purpose (no parser crate): the point is to accept exactly what oned's flex
//! lexer (`src/parsers/template_parser.l`) and bison grammar (`template_syntax.y`) accept and
//! to produce the same values, quirks included, so that parsing our own attribute-vector output
//! proves what oned will read. The lexer facts it follows:
//!
//! * Names are `[A-Za-z0-9_]+`, upper-cased. Between tokens, blanks, newlines and `#` comments
//!   (to the end of the line) are skipped; a carriage return is ignored there.
//! * After `NAME =` (blanks allowed around `=`), a newline means an empty value. Otherwise flex
//!   picks the **longest** of: `[` (a vector), a line holding `]]>` (which oned refuses), a
//!   quoted string `"…"` whose inner quotes are all preceded by a backslash, or an unquoted run
//!   of characters other than blanks, newline, `=`, `#`, `,`, `[` and `]`. A tie goes to that
//!   order.
//! * The only unescaping, on both quoted and unquoted values, turns `\"` into `"`.
//! * A vector is `[ KEY = value, KEY = value ]` (newlines allowed around `,`, `[` and `]`),
//!   or `[]`; a vector value cannot be empty or a vector; a repeated key keeps its first value
//!   (oned stores vectors in a `std::map`).
//!
//! Consequences worth knowing: a `"` that never closes is taken literally (`A="abc` gives
//! `"abc`, as oned does), and with Windows line ends a quoted value keeps its quotes
//! (`A="x"\r` gives `"x"\r`: the unquoted reading is one character longer), so send
//! templates with `\n` line ends. `NAME =` at the very end of the input is an error, as in oned.
//!
//! Two deliberate differences: a stray character between tokens (say `;`) is an error here,
//! where flex's default rule echoes it to oned's standard output and skips it; and a comment
//! on the last line needs no final newline.

use std::fmt;

use super::value::VectorBuilder;
use super::TemplateBuilder;
use super::{upper, Template, Value, Vector};

/// A template text could not be parsed. `Display` gives the problem with its line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    line: usize,
    column: usize,
    kind: ParseErrorKind,
}

impl ParseError {
    /// 1-based line of the problem.
    pub fn line(&self) -> usize {
        self.line
    }

    /// 1-based column (in characters) of the problem.
    pub fn column(&self) -> usize {
        self.column
    }

    /// What went wrong.
    pub fn kind(&self) -> &ParseErrorKind {
        &self.kind
    }
}

/// The kinds of [`ParseError`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// An attribute name (`[A-Za-z0-9_]+`) was expected; `found` is what came instead.
    ExpectedName {
        /// The character found, `None` at the end of the input.
        found: Option<char>,
    },
    /// `=` was expected after an attribute name.
    ExpectedEquals {
        /// The character found, `None` at the end of the input.
        found: Option<char>,
    },
    /// A value was expected after `=`.
    ExpectedValue {
        /// The character found, `None` at the end of the input.
        found: Option<char>,
    },
    /// `,` or `]` was expected inside a vector attribute.
    ExpectedCommaOrBracket {
        /// The character found, `None` at the end of the input.
        found: Option<char>,
    },
    /// A vector attribute inside a vector attribute, which OpenNebula's syntax has not.
    NestedVector,
    /// `]]>` on the line where a value starts: oned refuses it (its lexer reserves it).
    CdataEnd,
}

fn describe(found: &Option<char>) -> String {
    match found {
        None => "the end of the template".to_owned(),
        Some('\n') => "a line break".to_owned(),
        Some(c) => format!("{c:?}"),
    }
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseErrorKind::ExpectedName { found } => {
                write!(f, "expected an attribute name, found {}", describe(found))
            }
            ParseErrorKind::ExpectedEquals { found } => {
                write!(
                    f,
                    "expected '=' after the attribute name, found {}",
                    describe(found)
                )
            }
            ParseErrorKind::ExpectedValue { found } => {
                write!(f, "expected a value after '=', found {}", describe(found))
            }
            ParseErrorKind::ExpectedCommaOrBracket { found } => write!(
                f,
                "expected ',' or ']' in the vector attribute, found {}",
                describe(found)
            ),
            ParseErrorKind::NestedVector => {
                f.write_str("a vector attribute cannot contain another vector")
            }
            ParseErrorKind::CdataEnd => {
                f.write_str("OpenNebula refuses \"]]>\" on the line where a value starts")
            }
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at line {}, column {}",
            self.kind, self.line, self.column
        )
    }
}

impl std::error::Error for ParseError {}

/// A template text that does not parse is an invalid argument: nothing was sent.
impl From<ParseError> for crate::Error {
    fn from(error: ParseError) -> Self {
        crate::Error::InvalidArgument(format!("template: {error}"))
    }
}

pub(super) fn parse(text: &str) -> Result<Template, ParseError> {
    Parser {
        text,
        pos: 0,
        next_newline: None,
        next_cdata_end: None,
    }
    .template()
}

/// Characters that end an unquoted value (flex `[^=#[:blank:]\n,\[\]]`).
#[inline]
pub(super) fn ends_unquoted(b: u8) -> bool {
    matches!(b, b'=' | b'#' | b' ' | b'\t' | b'\n' | b',' | b'[' | b']')
}

#[inline]
pub(super) fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// oned's unescaping: every `\"` becomes `"`, nothing else changes.
fn unescape(raw: &str) -> String {
    raw.replace("\\\"", "\"")
}

/// What the lexer matched at a value position.
enum ValueToken {
    OpenBracket { len: usize },
    Cdata,
    Quoted { len: usize },
    Unquoted { len: usize },
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
    // The next `\n` and `]]>` at or after some earlier position (the input length when there is
    // none). The position only moves forward, so each is searched for once per occurrence and
    // a long line of many values stays linear.
    next_newline: Option<usize>,
    next_cdata_end: Option<usize>,
}

/// The cached next occurrence at or after `pos`, searching again only once it is behind.
fn next_occurrence(
    cache: &mut Option<usize>,
    hay: &[u8],
    pos: usize,
    find: impl Fn(&[u8]) -> Option<usize>,
) -> usize {
    match *cache {
        Some(at) if at >= pos => at,
        _ => {
            let at = find(&hay[pos..]).map_or(hay.len(), |i| pos + i);
            *cache = Some(at);
            at
        }
    }
}

impl<'a> Parser<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.pos).copied()
    }

    fn char_at(&self, pos: usize) -> Option<char> {
        self.text.get(pos..).and_then(|s| s.chars().next())
    }

    fn error_at(&self, pos: usize, kind: ParseErrorKind) -> ParseError {
        let before = &self.text[..pos];
        let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        ParseError { line, column, kind }
    }

    /// Skips blanks, newlines, ignored carriage returns and comments.
    fn skip_layout(&mut self) {
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\n' | b'\r' => self.pos += 1,
                b'#' => {
                    self.pos = memchr::memchr(b'\n', &self.bytes()[self.pos..])
                        .map_or(self.text.len(), |i| self.pos + i + 1);
                }
                _ => break,
            }
        }
    }

    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn template(mut self) -> Result<Template, ParseError> {
        let mut template = TemplateBuilder::default();
        loop {
            self.skip_layout();
            if self.pos >= self.text.len() {
                return Ok(template.finish());
            }
            let name = self.name()?;
            self.equals()?;
            let value = match self.peek() {
                // `NAME =` then a newline: oned's EQUAL_EMPTY, an empty value.
                Some(b'\n') => {
                    self.pos += 1;
                    Value::Single(String::new())
                }
                _ => self.value(false)?,
            };
            template.push(&name, value);
        }
    }

    fn name(&mut self) -> Result<String, ParseError> {
        let start = self.pos;
        while self.peek().is_some_and(is_name_byte) {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.error_at(
                start,
                ParseErrorKind::ExpectedName {
                    found: self.char_at(start),
                },
            ));
        }
        Ok(upper(&self.text[start..self.pos]).into_owned())
    }

    fn equals(&mut self) -> Result<(), ParseError> {
        self.skip_blanks();
        if self.peek() != Some(b'=') {
            return Err(self.error_at(
                self.pos,
                ParseErrorKind::ExpectedEquals {
                    found: self.char_at(self.pos),
                },
            ));
        }
        self.pos += 1;
        self.skip_blanks();
        Ok(())
    }

    /// The longest-match choice of oned's lexer at a value position.
    fn value_token(&mut self) -> Option<ValueToken> {
        let bytes = self.bytes();
        let newline = next_occurrence(&mut self.next_newline, bytes, self.pos, |h| {
            memchr::memchr(b'\n', h)
        });
        let cdata_end = next_occurrence(&mut self.next_cdata_end, bytes, self.pos, |h| {
            memchr::memmem::find(h, b"]]>")
        });
        let rest = &bytes[self.pos..];
        let mut best: Option<(usize, ValueToken)> = None;
        let mut consider = |len: usize, token: ValueToken| {
            // Earlier rules win ties, so only a strictly longer match replaces.
            if len > 0 && best.as_ref().is_none_or(|(l, _)| len > *l) {
                best = Some((len, token));
            }
        };
        if rest.first() == Some(&b'[') {
            let len = 1 + rest[1..]
                .iter()
                .take_while(|b| matches!(b, b' ' | b'\t' | b'\n'))
                .count();
            consider(len, ValueToken::OpenBracket { len });
        }
        // `.*]]>.*`: the rest of the line, when `]]>` lies within it.
        if cdata_end + 3 <= newline {
            consider(newline - self.pos, ValueToken::Cdata);
        }
        if rest.first() == Some(&b'"') {
            if let Some(close) = quoted_end(rest) {
                consider(close + 1, ValueToken::Quoted { len: close + 1 });
            }
        }
        let unquoted = rest.iter().take_while(|&&b| !ends_unquoted(b)).count();
        consider(unquoted, ValueToken::Unquoted { len: unquoted });
        best.map(|(_, token)| token)
    }

    fn value(&mut self, in_vector: bool) -> Result<Value, ParseError> {
        let start = self.pos;
        match self.value_token() {
            None => Err(self.error_at(
                start,
                ParseErrorKind::ExpectedValue {
                    found: self.char_at(start),
                },
            )),
            Some(ValueToken::Cdata) => {
                let at = self.next_cdata_end.unwrap_or(start);
                Err(self.error_at(at, ParseErrorKind::CdataEnd))
            }
            Some(ValueToken::OpenBracket { len }) => {
                if in_vector {
                    return Err(self.error_at(start, ParseErrorKind::NestedVector));
                }
                self.pos += len;
                self.vector_body().map(Value::Vector)
            }
            Some(ValueToken::Quoted { len }) => {
                self.pos += len;
                Ok(Value::Single(unescape(
                    &self.text[start + 1..start + len - 1],
                )))
            }
            Some(ValueToken::Unquoted { len }) => {
                self.pos += len;
                Ok(Value::Single(unescape(&self.text[start..start + len])))
            }
        }
    }

    fn vector_body(&mut self) -> Result<Vector, ParseError> {
        let mut vector = VectorBuilder::default();
        self.skip_layout();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(vector.finish());
        }
        loop {
            self.skip_layout();
            let name = self.name()?;
            self.equals()?;
            let value = match self.value(true)? {
                Value::Single(s) => s,
                _ => unreachable!("value(true) only returns single values"),
            };
            vector.insert_first(&name, &value);
            self.skip_layout();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(vector.finish());
                }
                _ => {
                    return Err(self.error_at(
                        self.pos,
                        ParseErrorKind::ExpectedCommaOrBracket {
                            found: self.char_at(self.pos),
                        },
                    ))
                }
            }
        }
    }
}

/// For `rest` starting with `"`: the index of the closing quote flex picks (the furthest `"`
/// such that every `"` before it is preceded by a backslash), if any.
fn quoted_end(rest: &[u8]) -> Option<usize> {
    let mut last = None;
    let mut i = 1;
    while i < rest.len() {
        match rest[i] {
            b'\\' if rest.get(i + 1) == Some(&b'"') => {
                last = Some(i + 1);
                i += 2;
            }
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    fn single(t: &Template, name: &str) -> String {
        t.get(name).unwrap().to_owned()
    }

    #[test]
    fn parses_the_documented_syntax() {
        let t = parse(
            "# a comment\nNAME = \"vm 1\"\nmemory=1024\n  CPU = 0.5 # trailing comment\n\
             DISK = [ IMAGE_ID = \"1\",\n  size = 10 ]\nDISK=[IMAGE_ID=2]\nEMPTY =\nEV=[]\n\
             MULTI=\"line 1\nline 2\"\nQ=\"say \\\"hi\\\"\"\nBS=\"a\\\\b\"\nA=\"1\" B=\"2\"",
        )
        .unwrap();
        assert_eq!(single(&t, "NAME"), "vm 1");
        assert_eq!(single(&t, "MEMORY"), "1024");
        assert_eq!(single(&t, "CPU"), "0.5");
        let disks: Vec<_> = t.vectors("DISK").collect();
        assert_eq!(disks.len(), 2);
        assert_eq!(disks[0].get("SIZE"), Some("10"));
        assert_eq!(disks[1].get("IMAGE_ID"), Some("2"));
        assert_eq!(single(&t, "EMPTY"), "");
        assert!(t.vector("EV").unwrap().is_empty());
        assert_eq!(single(&t, "MULTI"), "line 1\nline 2");
        assert_eq!(single(&t, "Q"), "say \"hi\"");
        assert_eq!(
            single(&t, "BS"),
            "a\\\\b",
            "oned keeps other backslashes as they are"
        );
        assert_eq!(single(&t, "A"), "1");
        assert_eq!(single(&t, "B"), "2");
    }

    #[test]
    fn follows_flex_longest_match_quirks() {
        // A trailing backslash: the only closing candidate is the last quote.
        assert_eq!(single(&parse("A=\"x\\\"").unwrap(), "A"), "x\\");
        // Unquoted longer than quoted wins.
        assert_eq!(single(&parse("A=\"ab\"cd").unwrap(), "A"), "\"ab\"cd");
        // The first quoted value swallows the next one when it ends with a backslash.
        let t = parse("A=\"x\\\"\nB=\"\n").unwrap();
        assert_eq!(single(&t, "A"), "x\"\nB=");
        assert!(parse("A=\"x\\\"\nB=\"y\"").is_err());
        // A repeated key in a vector keeps its first value.
        let t = parse("V=[A=1,a=2]").unwrap();
        assert_eq!(t.vector("V").unwrap().get("A"), Some("1"));
        // A carriage return is part of an unquoted value and ignored between tokens; after a
        // quoted value it makes the unquoted reading longer, so the quotes stay (as in oned).
        let t = parse("A=x\r\n\rB=\"y\"\r\nC=\"z\"\n").unwrap();
        assert_eq!(single(&t, "A"), "x\r");
        assert_eq!(single(&t, "B"), "\"y\"\r");
        assert_eq!(single(&t, "C"), "z");
    }

    #[test]
    fn errors_carry_line_and_column() {
        let err = parse("A=1\nB 2").unwrap_err();
        assert_eq!((err.line(), err.column()), (2, 3));
        assert_eq!(
            err.to_string(),
            "expected '=' after the attribute name, found '2' at line 2, column 3"
        );

        let err = parse("A=1\n  é=2").unwrap_err();
        assert_eq!((err.line(), err.column()), (2, 3));
        assert!(matches!(
            err.kind(),
            ParseErrorKind::ExpectedName { found: Some('é') }
        ));

        let err = parse("D=[A=1\nB=2]").unwrap_err();
        assert!(matches!(
            err.kind(),
            ParseErrorKind::ExpectedCommaOrBracket { found: Some('B') }
        ));
        assert_eq!((err.line(), err.column()), (2, 1));

        let err = parse("D=[A=[B=1]]").unwrap_err();
        assert_eq!(err.kind(), &ParseErrorKind::NestedVector);

        // oned's own examples (tour 302 and 303): both are syntax errors at the end.
        let err = parse("NAME=\"broken\nCPU=").unwrap_err();
        assert_eq!(err.kind(), &ParseErrorKind::ExpectedValue { found: None });
        assert_eq!((err.line(), err.column()), (2, 5));
        let err = parse("DISK=[IMAGE_ID=\"0\"").unwrap_err();
        assert_eq!(
            err.kind(),
            &ParseErrorKind::ExpectedCommaOrBracket { found: None }
        );
        // An unterminated quote is a literal character (tour 329: accepted by the parser).
        assert_eq!(single(&parse("MEMORY=\"").unwrap(), "MEMORY"), "\"");

        let err = parse("A=\"x]]>\"").unwrap_err();
        assert_eq!(err.kind(), &ParseErrorKind::CdataEnd);
        assert_eq!(err.column(), 5);

        let err = parse("D=[A=1,]").unwrap_err();
        assert!(matches!(
            err.kind(),
            ParseErrorKind::ExpectedName { found: Some(']') }
        ));

        let err = parse("D=[A=\n]").unwrap_err();
        assert!(matches!(
            err.kind(),
            ParseErrorKind::ExpectedValue { found: Some('\n') }
        ));

        let err = parse("A=1,B=2").unwrap_err();
        assert!(matches!(
            err.kind(),
            ParseErrorKind::ExpectedName { found: Some(',') }
        ));
    }

    #[test]
    fn a_long_line_of_values_parses_in_linear_time() {
        // Quadratic scanning would take minutes here.
        let text = "A=1 B=\"x\" ".repeat(200_000);
        let t = parse(&text).unwrap();
        assert_eq!(t.get_all("A").len(), 200_000);
        let err = parse(&(text + "C=]]>")).unwrap_err();
        assert_eq!(err.kind(), &ParseErrorKind::CdataEnd);
        assert_eq!((err.line(), err.column()), (1, 2_000_003));
    }

    #[test]
    fn a_multi_line_value_may_hold_the_cdata_end_after_its_first_line() {
        let t = parse("A=\"x\n]]>\"").unwrap();
        assert_eq!(single(&t, "A"), "x\n]]>");
    }
}
