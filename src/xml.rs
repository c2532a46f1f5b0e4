//! The small XML layer shared by the generated models, the templates and the wire codec.
//!
//! OpenNebula documents are plain element trees: no attributes, no mixed content, text in
//! leaves (often wrapped in CDATA). [`XmlReader`] is a thin pull reader over `quick-xml` tuned
//! for exactly that shape, and [`XmlWriter`] writes it back. Both are hand-written rather than
//! serde-driven because they sit on the hot path of every pool decode (see the performance
//! notes in the README): element names are matched as byte slices, text is borrowed from the
//! input whenever it needs no unescaping, and nothing builds a DOM.
//!
//! Hostile input is bounded: a document may not nest deeper than [`XmlReader::max_depth`],
//! and a `<!DOCTYPE>` (the only way to declare entities, hence entity-expansion bombs) is
//! refused outright.

use std::borrow::Cow;
use std::fmt;

use quick_xml::events::{BytesStart, Event};

/// Default maximum element nesting accepted by [`XmlReader`]. OpenNebula documents nest about
/// ten levels deep; the limit only exists to stop hostile input.
pub const DEFAULT_MAX_DEPTH: usize = 128;

/// An XML document could not be read. Carries the byte offset where reading stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlError {
    /// What went wrong, for humans.
    pub message: String,
    /// Byte offset in the input where the problem was detected.
    pub position: u64,
}

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.message, self.position)
    }
}

impl std::error::Error for XmlError {}

/// Types that can be read from an OpenNebula XML element.
///
/// Implemented by every generated model type and by [`Template`](crate::template::Template).
pub trait FromXml: Sized {
    /// Reads `Self` from the element `start`, which the reader has just returned from
    /// [`XmlReader::root`] or [`XmlReader::next_child`]. Implementations must consume the
    /// element up to and including its end tag.
    fn read_xml(reader: &mut XmlReader<'_>, start: &Element<'_>) -> Result<Self, XmlError>;

    /// Parses a whole document whose root element is `Self`.
    fn from_xml(input: &str) -> Result<Self, XmlError> {
        Self::from_xml_bytes(input.as_bytes())
    }

    /// Parses a whole document (UTF-8 bytes) whose root element is `Self`.
    fn from_xml_bytes(input: &[u8]) -> Result<Self, XmlError> {
        let mut reader = XmlReader::new(input);
        let root = reader.root()?;
        let value = Self::read_xml(&mut reader, &root)?;
        reader.finish()?;
        Ok(value)
    }
}

/// Types that can be written as OpenNebula XML.
pub trait ToXml {
    /// Writes `self` as an element named `name`.
    fn write_xml(&self, writer: &mut XmlWriter, name: &str);

    /// The element name used when `self` is a document root.
    fn root_name(&self) -> &'static str;

    /// Serializes `self` as a whole document, exactly as oned prints it (no XML declaration,
    /// no namespace, no whitespace between elements).
    fn to_xml(&self) -> String {
        let mut writer = XmlWriter::new();
        self.write_xml(&mut writer, self.root_name());
        writer.into_string()
    }
}

/// An element start tag returned by [`XmlReader`].
#[derive(Debug, Clone, Copy)]
pub struct Element<'a> {
    /// The local name (any namespace prefix cut once, when the tag is read).
    name: &'a str,
    empty: bool,
}

impl<'a> Element<'a> {
    /// An element named `qname` (prefix included), which the caller has checked is UTF-8.
    #[inline]
    fn new(qname: &'a str, empty: bool) -> Self {
        // Names are short: a byte loop beats a memchr call.
        let name = match qname.bytes().position(|b| b == b':') {
            Some(i) => &qname[i + 1..],
            None => qname,
        };
        Element { name, empty }
    }

    /// The element's local name (any namespace prefix removed), as raw bytes.
    #[inline]
    pub fn name(&self) -> &[u8] {
        self.name.as_bytes()
    }

    /// The element's local name as text. Names are checked to be UTF-8 when the tag is read,
    /// so this always borrows.
    pub fn name_str(&self) -> Cow<'_, str> {
        Cow::Borrowed(self.name)
    }

    /// The element's local name as text, borrowed from the input.
    #[inline]
    pub fn local_name(&self) -> &'a str {
        self.name
    }

    /// `true` for `<A/>`: the element has no content and no end tag.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.empty
    }
}

/// One piece of element content returned by [`XmlReader::next_node`].
#[derive(Debug, Clone)]
pub enum Node<'a> {
    /// A child element (consume it before asking for the next node).
    Element(Element<'a>),
    /// A run of character data, unescaped.
    Text(Cow<'a, str>),
}

/// One token of a document, as both lexers (quick-xml for plain documents, [`EscapedLexer`]
/// for escaped ones) hand it to [`XmlReader`]. Small on purpose: a token is produced per
/// tag and per text run, which makes this the innermost loop of every decode, and the escaped
/// lexer produces its tokens directly instead of building quick-xml events for them.
enum Tok<'a> {
    /// A start tag (`empty` for `<A/>`), not yet entered.
    Start(Element<'a>),
    /// An end tag (already matched against its start tag by the lexer).
    End,
    /// Text or CDATA, unescaped and checked to be UTF-8 (escaped lexer).
    Text(Cow<'a, str>),
    /// Text or CDATA bytes, without entity references, not yet checked to be UTF-8
    /// (quick-xml, which reports entity references as [`Tok::Ref`]).
    Bytes(Cow<'a, [u8]>),
    /// An entity reference `&name;`, unresolved (quick-xml).
    Ref(Cow<'a, [u8]>),
    /// A comment or processing instruction.
    Skip,
    /// An XML declaration.
    Decl,
    /// The end of the input.
    Eof,
}

/// A pull reader over an OpenNebula XML document. See the [module docs](self).
pub struct XmlReader<'a> {
    reader: quick_xml::Reader<&'a [u8]>,
    input: &'a [u8],
    depth: usize,
    max_depth: usize,
    /// Bytes consumed by the fast text path behind quick-xml's back (see `read_text`).
    skipped: u64,
    /// Set when reading an escaped document (see [`XmlReader::new_escaped`]): then this
    /// lexer replaces quick-xml.
    escaped: Option<Box<EscapedLexer<'a>>>,
}

impl fmt::Debug for XmlReader<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XmlReader")
            .field("position", &self.position())
            .field("depth", &self.depth)
            .finish()
    }
}

impl<'a> XmlReader<'a> {
    /// A reader over `input` with the default depth limit.
    pub fn new(input: &'a [u8]) -> Self {
        let mut reader = quick_xml::Reader::from_reader(input);
        let config = reader.config_mut();
        config.trim_text(false);
        config.check_end_names = true;
        config.expand_empty_elements = false;
        XmlReader {
            reader,
            input,
            depth: 0,
            max_depth: DEFAULT_MAX_DEPTH,
            skipped: 0,
            escaped: None,
        }
    }

    /// A reader over an XML document that is itself escaped as XML character data: the
    /// content of an XML-RPC `<string>` as it comes over the wire (`&lt;VM&gt;&lt;ID&gt;1...`).
    ///
    /// Reading the escaped form directly saves materialising the unescaped document (as big
    /// as two thirds of a pool response) and a whole pass over it: markup is recognised as
    /// `&lt;`...`&gt;`, and text is unescaped twice over only where it holds entities, so
    /// most leaves are still borrowed from the input. Positions in errors are offsets in the
    /// escaped input.
    ///
    /// Only the canonical escaping is understood (`&lt;`, `&gt;`, `&amp;`, `&quot;`, `&apos;`
    /// and numeric references for other characters). A document escaped otherwise (markup
    /// characters as numeric references, say) is reported as an error; callers that can,
    /// such as [`crate::wire::decode_document_response`], then fall back to unescaping first.
    /// The input must be UTF-8 throughout (it is checked once, up front): reading stops with
    /// an error at the first byte that is not.
    pub fn new_escaped(input: &'a [u8]) -> Self {
        let mut reader = XmlReader::new(&[]);
        reader.input = input;
        // One validation of the whole input, instead of one per name and text run: every
        // piece the lexer cuts out of it is then a `&str` already. Past an invalid byte the
        // lexer sees the end of its input and reports the error there.
        let (text, invalid_at) = match std::str::from_utf8(input) {
            Ok(text) => (text, None),
            Err(e) => {
                let valid = e.valid_up_to();
                (
                    std::str::from_utf8(&input[..valid]).unwrap_or_default(),
                    Some(valid),
                )
            }
        };
        reader.escaped = Some(Box::new(EscapedLexer {
            input: text,
            pos: 0,
            open: Vec::with_capacity(16),
            invalid_at,
        }));
        reader
    }

    /// `true` for a reader made by [`new_escaped`](Self::new_escaped): [`input`](Self::input)
    /// and positions then refer to the escaped text.
    pub fn is_escaped(&self) -> bool {
        self.escaped.is_some()
    }

    /// The XML between two positions of this reader (as given by
    /// [`position`](Self::position)), unescaped if the reader reads an escaped document.
    /// `None` if the range is not within the input.
    pub fn xml_between(&self, from: u64, to: u64) -> Option<Cow<'a, str>> {
        let from = usize::try_from(from).ok()?;
        let to = usize::try_from(to).ok()?;
        let raw = self.input.get(from..to)?;
        let raw = String::from_utf8_lossy(raw);
        if self.escaped.is_none() {
            return Some(raw);
        }
        match raw {
            Cow::Borrowed(text) => unescape(text).ok(),
            Cow::Owned(text) => unescape(&text).ok().map(|t| Cow::Owned(t.into_owned())),
        }
    }

    /// Sets the maximum element nesting depth (default [`DEFAULT_MAX_DEPTH`]).
    pub fn with_max_depth(mut self, max_depth: usize) -> Self {
        self.max_depth = max_depth;
        self
    }

    /// The maximum element nesting depth this reader accepts.
    pub fn max_depth(&self) -> usize {
        self.max_depth
    }

    /// Current byte offset in the input.
    pub fn position(&self) -> u64 {
        match &self.escaped {
            Some(lexer) => lexer.pos as u64,
            None => self.reader.buffer_position() + self.skipped,
        }
    }

    /// The whole input this reader was created over.
    pub fn input(&self) -> &'a [u8] {
        self.input
    }

    /// Builds an [`XmlError`] at the current position.
    pub fn error(&self, message: impl Into<String>) -> XmlError {
        XmlError {
            message: message.into(),
            position: self.position(),
        }
    }

    fn quick_error(&self, err: quick_xml::Error) -> XmlError {
        XmlError {
            message: format!("malformed XML: {err}"),
            position: self.reader.error_position() + self.skipped,
        }
    }

    #[inline(always)]
    fn next_tok(&mut self) -> Result<Tok<'a>, XmlError> {
        match &mut self.escaped {
            Some(lexer) => lexer.next().map_err(|(position, message)| XmlError {
                message,
                position: position as u64,
            }),
            None => self.next_plain(),
        }
    }

    /// The next token of a plain document, from quick-xml.
    fn next_plain(&mut self) -> Result<Tok<'a>, XmlError> {
        match self.reader.read_event() {
            Ok(Event::Start(start)) => self.plain_element(&start, false),
            Ok(Event::Empty(start)) => self.plain_element(&start, true),
            Ok(Event::End(_)) => Ok(Tok::End),
            Ok(Event::Text(text)) => Ok(Tok::Bytes(text.into_inner())),
            Ok(Event::CData(text)) => Ok(Tok::Bytes(text.into_inner())),
            Ok(Event::GeneralRef(reference)) => Ok(Tok::Ref(reference.into_inner())),
            Ok(Event::Comment(_) | Event::PI(_)) => Ok(Tok::Skip),
            Ok(Event::Decl(_)) => Ok(Tok::Decl),
            Ok(Event::DocType(_)) => Err(self.error("DOCTYPE declarations are not accepted")),
            Ok(Event::Eof) => Ok(Tok::Eof),
            Err(err) => Err(self.quick_error(err)),
        }
    }

    /// The element of a quick-xml start tag, with its name borrowed from the input (quick-xml's
    /// event only lends it) and checked to be UTF-8.
    fn plain_element(&self, start: &BytesStart<'_>, empty: bool) -> Result<Tok<'a>, XmlError> {
        let qname = start.name().into_inner();
        // quick-xml reading a slice hands out subslices of it: find which one by address (a
        // BOM it skipped, say, makes positions unreliable for this).
        let input = self.input;
        let from = (qname.as_ptr() as usize).wrapping_sub(input.as_ptr() as usize);
        let name = from
            .checked_add(qname.len())
            .and_then(|to| input.get(from..to))
            .filter(|name| std::ptr::eq(name.as_ptr(), qname.as_ptr()))
            .ok_or_else(|| self.error("element name not found in the input"))?;
        let name =
            std::str::from_utf8(name).map_err(|_| self.error("element name is not valid UTF-8"))?;
        Ok(Tok::Start(Element::new(name, empty)))
    }

    #[inline]
    fn enter(&mut self, element: Element<'a>) -> Result<Element<'a>, XmlError> {
        if !element.empty {
            if self.depth >= self.max_depth {
                return Err(self.error(format!(
                    "elements nested deeper than the limit of {}",
                    self.max_depth
                )));
            }
            self.depth += 1;
        }
        Ok(element)
    }

    /// Reads up to the document's root element and returns it. Skips the XML declaration,
    /// comments, processing instructions and whitespace.
    pub fn root(&mut self) -> Result<Element<'a>, XmlError> {
        loop {
            match self.next_tok()? {
                Tok::Start(element) => return self.enter(element),
                Tok::Decl | Tok::Skip => {}
                Tok::Bytes(text) if text.iter().all(u8::is_ascii_whitespace) => {}
                Tok::Text(text) if text.bytes().all(|b| b.is_ascii_whitespace()) => {}
                Tok::Eof => return Err(self.error("document has no root element")),
                _ => return Err(self.error("unexpected content before the root element")),
            }
        }
    }

    /// After the root element has been read: checks that only whitespace, comments and
    /// processing instructions follow.
    pub fn finish(&mut self) -> Result<(), XmlError> {
        loop {
            match self.next_tok()? {
                Tok::Eof => return Ok(()),
                Tok::Skip => {}
                Tok::Bytes(text) if text.iter().all(u8::is_ascii_whitespace) => {}
                Tok::Text(text) if text.bytes().all(|b| b.is_ascii_whitespace()) => {}
                _ => return Err(self.error("unexpected content after the root element")),
            }
        }
    }

    /// The next child element of `parent`, or `None` once `parent`'s end tag has been read.
    ///
    /// Text, comments and processing instructions between children are skipped. Each child
    /// returned must be consumed (by [`read_text`](Self::read_text), [`skip`](Self::skip),
    /// a [`FromXml`] implementation, or by calling `next_child` on it until `None`) before the
    /// next call for `parent`.
    #[inline]
    pub fn next_child(&mut self, parent: &Element<'_>) -> Result<Option<Element<'a>>, XmlError> {
        if parent.empty {
            return Ok(None);
        }
        if let Some(lexer) = self.escaped.as_deref_mut() {
            // The escaped lexer's result is matched as it comes: passing it through
            // `next_tok`'s `map_err` and `?` made the CPU reload the token with wider moves
            // than the stores that wrote it, which stalled on every tag (a fifth of reading
            // a host document).
            loop {
                match lexer.next() {
                    Ok(Tok::Start(element)) => return self.enter(element).map(Some),
                    Ok(Tok::End) => {
                        self.depth -= 1;
                        return Ok(None);
                    }
                    Ok(Tok::Eof) => return Err(self.error("unexpected end of document")),
                    // Text between children; this lexer gives no other tokens.
                    Ok(_) => {}
                    Err((position, message)) => {
                        return Err(XmlError {
                            message,
                            position: position as u64,
                        })
                    }
                }
            }
        }
        loop {
            match self.next_tok()? {
                Tok::Start(element) => return self.enter(element).map(Some),
                Tok::End => {
                    self.depth -= 1;
                    return Ok(None);
                }
                Tok::Text(_) | Tok::Bytes(_) | Tok::Ref(_) | Tok::Skip => {}
                Tok::Eof => return Err(self.error("unexpected end of document")),
                Tok::Decl => return Err(self.error("unexpected declaration inside an element")),
            }
        }
    }

    /// The next piece of `parent`'s content: a child element, or a run of text (text, CDATA
    /// and entity references are returned piece by piece, unescaped). `None` once `parent`'s
    /// end tag has been read. Comments and processing instructions are skipped.
    ///
    /// This is the mixed-content counterpart of [`next_child`](Self::next_child), for readers
    /// (such as templates) that must tell `<A>text</A>` from `<A><B>..</B></A>`.
    #[inline]
    pub fn next_node(&mut self, parent: &Element<'_>) -> Result<Option<Node<'a>>, XmlError> {
        if parent.empty {
            return Ok(None);
        }
        loop {
            match self.next_tok()? {
                Tok::Start(element) => return self.enter(element).map(|e| Some(Node::Element(e))),
                Tok::End => {
                    self.depth -= 1;
                    return Ok(None);
                }
                Tok::Text(text) => return Ok(Some(Node::Text(text))),
                Tok::Bytes(bytes) => return self.utf8(bytes).map(|t| Some(Node::Text(t))),
                Tok::Ref(reference) => {
                    let c = self.resolve_reference(&reference)?;
                    return Ok(Some(Node::Text(Cow::Owned(c.to_string()))));
                }
                Tok::Skip => {}
                Tok::Eof => return Err(self.error("unexpected end of document")),
                Tok::Decl => return Err(self.error("unexpected declaration inside an element")),
            }
        }
    }

    /// Reads the text content of `element` (text and CDATA sections, entities resolved) and
    /// consumes its end tag. Child elements inside it are skipped. Borrows from the input
    /// when the content is a single piece that needs no unescaping.
    pub fn read_text(&mut self, element: &Element<'_>) -> Result<Cow<'a, str>, XmlError> {
        if element.empty {
            return Ok(Cow::Borrowed(""));
        }
        // The common leaf, `<A>text</A>`, in one step.
        if let Some(text) = self.try_leaf_text(element)? {
            return Ok(text);
        }
        let mut text: Cow<'a, str> = Cow::Borrowed("");
        loop {
            match self.next_tok()? {
                Tok::Text(piece) => append(&mut text, piece),
                Tok::Bytes(piece) => {
                    let piece = self.utf8(piece)?;
                    append(&mut text, piece);
                }
                Tok::Ref(reference) => {
                    let resolved = self.resolve_reference(&reference)?;
                    text.to_mut().push(resolved);
                }
                Tok::End => {
                    self.depth -= 1;
                    return Ok(text);
                }
                Tok::Start(child) => {
                    let child = self.enter(child)?;
                    self.skip(&child)?;
                }
                Tok::Skip => {}
                Tok::Eof => return Err(self.error("unexpected end of document")),
                Tok::Decl => return Err(self.error("unexpected declaration inside an element")),
            }
        }
    }

    /// The text of `element` (just returned by [`next_node`](Self::next_node) or
    /// [`next_child`](Self::next_child)) with its end tag consumed, when its content is a
    /// single run of text (or nothing), as in nearly every leaf; `None`, having consumed
    /// nothing, for any other content. Lets a reader that must tell leaves from elements with
    /// children (templates) read a leaf in one step.
    #[inline]
    pub(crate) fn try_leaf_text(
        &mut self,
        element: &Element<'_>,
    ) -> Result<Option<Cow<'a, str>>, XmlError> {
        if element.empty {
            return Ok(Some(Cow::Borrowed("")));
        }
        let Some(lexer) = &mut self.escaped else {
            return self.read_plain_text();
        };
        match lexer.leaf_text() {
            Ok(Some(text)) => {
                self.depth -= 1;
                Ok(Some(text))
            }
            Ok(None) => Ok(None),
            Err((position, message)) => Err(XmlError {
                message,
                position: position as u64,
            }),
        }
    }

    /// Fast path of [`read_text`](Self::read_text) for the common case: the content is plain
    /// text (entities allowed, no CDATA, comments or children) directly followed by the end
    /// tag. quick-xml reports every entity reference as its own event, which makes a 30 MB
    /// escaped document (OpenNebula's pool responses) cost millions of events; here the text
    /// is unescaped in one memchr-driven pass instead, and borrowed when it has no entities.
    /// Returns `None` (having consumed nothing) when the content is not of that shape.
    fn read_plain_text(&mut self) -> Result<Option<Cow<'a, str>>, XmlError> {
        let rest: &'a [u8] = self.reader.get_ref();
        let Some(end) = memchr::memchr(b'<', rest) else {
            return Ok(None);
        };
        if rest.get(end + 1) != Some(&b'/') {
            return Ok(None);
        }
        let start = self.position();
        let raw = std::str::from_utf8(&rest[..end]).map_err(|e| XmlError {
            message: "text is not valid UTF-8".into(),
            position: start + e.valid_up_to() as u64,
        })?;
        let text = unescape(raw).map_err(|(offset, message)| XmlError {
            message,
            position: start + offset as u64,
        })?;
        *self.reader.get_mut() = &rest[end..];
        self.skipped += end as u64;
        match self.next_tok()? {
            Tok::End => {
                self.depth -= 1;
                Ok(Some(text))
            }
            _ => Err(self.error("expected an end tag after text")),
        }
    }

    /// Skips `element` and everything inside it, up to and including its end tag.
    pub fn skip(&mut self, element: &Element<'_>) -> Result<(), XmlError> {
        if element.empty {
            return Ok(());
        }
        let target = self.depth - 1;
        loop {
            match self.next_tok()? {
                Tok::Start(child) => {
                    self.enter(child)?;
                }
                Tok::End => {
                    self.depth -= 1;
                    if self.depth == target {
                        return Ok(());
                    }
                }
                Tok::Eof => return Err(self.error("unexpected end of document")),
                _ => {}
            }
        }
    }

    fn utf8(&self, bytes: Cow<'a, [u8]>) -> Result<Cow<'a, str>, XmlError> {
        match bytes {
            Cow::Borrowed(b) => std::str::from_utf8(b)
                .map(Cow::Borrowed)
                .map_err(|_| self.error("text is not valid UTF-8")),
            Cow::Owned(b) => String::from_utf8(b)
                .map(Cow::Owned)
                .map_err(|_| self.error("text is not valid UTF-8")),
        }
    }

    fn resolve_reference(&self, reference: &[u8]) -> Result<char, XmlError> {
        let resolved = match reference {
            b"lt" => Some('<'),
            b"gt" => Some('>'),
            b"amp" => Some('&'),
            b"quot" => Some('"'),
            b"apos" => Some('\''),
            [b'#', b'x', hex @ ..] => std::str::from_utf8(hex)
                .ok()
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .and_then(char::from_u32),
            [b'#', dec @ ..] => std::str::from_utf8(dec)
                .ok()
                .and_then(|d| d.parse::<u32>().ok())
                .and_then(char::from_u32),
            _ => None,
        };
        resolved.ok_or_else(|| {
            self.error(format!(
                "unknown entity reference &{};",
                String::from_utf8_lossy(reference)
            ))
        })
    }
}

/// The tokenizer behind [`XmlReader::new_escaped`]: reads an XML document from its escaped
/// form (the content of an XML-RPC `<string>`) and produces the tokens quick-xml would
/// produce for the unescaped document, with text and CDATA already fully unescaped.
///
/// Hand-written because it is the hot path of every document and pool decode (one pass over
/// the escaped bytes instead of an unescape pass plus a tokenizer pass) and because no XML
/// crate reads a document through a layer of escaping.
struct EscapedLexer<'a> {
    /// The input up to its first byte that is not UTF-8 (all of it, normally).
    input: &'a str,
    pos: usize,
    /// Open elements: (start, length) of each name in `input`, to check end tags.
    open: Vec<(usize, usize)>,
    /// Where the input stops being UTF-8, if it does: reaching the end of `input` is then
    /// that error, not the end of the document.
    invalid_at: Option<usize>,
}

type LexResult<T> = Result<T, (usize, String)>;

impl<'a> EscapedLexer<'a> {
    #[inline(always)]
    fn next(&mut self) -> LexResult<Tok<'a>> {
        loop {
            let bytes = self.input.as_bytes();
            let at = self.pos;
            if at >= bytes.len() {
                return self.eof();
            }
            if !bytes[at..].starts_with(b"&lt;") {
                return self.text().map(Tok::Text);
            }
            let m = at + 4;
            match bytes.get(m) {
                Some(b'/') => {
                    self.end_tag(at)?;
                    return Ok(Tok::End);
                }
                Some(b'!') => {
                    let after = &bytes[m..];
                    if after.starts_with(b"![CDATA[") {
                        let from = m + 8;
                        let Some(len) = find_cdata_end(&bytes[from..]) else {
                            return Err(self.cut_or(at, "unterminated CDATA section"));
                        };
                        let content = unescape_once(&self.input[from..from + len], from)?;
                        self.pos = from + len + 6;
                        return Ok(Tok::Text(content));
                    }
                    if after.starts_with(b"!--") {
                        let Some(len) = memchr::memmem::find(&bytes[m + 3..], b"--&gt;") else {
                            return Err(self.cut_or(at, "unterminated comment"));
                        };
                        self.pos = m + 3 + len + 6;
                        continue;
                    }
                    if after.starts_with(b"!DOCTYPE") {
                        return Err((at, "DOCTYPE declarations are not accepted".into()));
                    }
                    return Err((at, "unknown markup declaration".into()));
                }
                Some(b'?') => {
                    let Some(len) = memchr::memmem::find(&bytes[m + 1..], b"?&gt;") else {
                        return Err(self.cut_or(at, "unterminated processing instruction"));
                    };
                    self.pos = m + 1 + len + 5;
                    continue;
                }
                Some(_) => return self.start_tag(at).map(Tok::Start),
                None => return Err(self.cut_or(at, "unexpected end of document in markup")),
            }
        }
    }

    /// The end of the input: the end of the document, or the UTF-8 error that cut it short.
    fn eof(&self) -> LexResult<Tok<'a>> {
        match self.invalid_at {
            Some(at) => Err((at, "text is not valid UTF-8".into())),
            None => Ok(Tok::Eof),
        }
    }

    /// The error for a construct the input ends inside: the UTF-8 error when the input was
    /// cut there, else `message` at `at`.
    fn cut_or(&self, at: usize, message: &str) -> (usize, String) {
        match self.invalid_at {
            Some(cut) => (cut, "text is not valid UTF-8".into()),
            None => (at, message.into()),
        }
    }

    /// The start tag at `at` (its `&lt;`), which is not an end tag or declaration.
    // Always inlined: returned through memory, the element was written as two words and
    // read back as one wider move, a store-forwarding stall on every start tag.
    #[inline(always)]
    fn start_tag(&mut self, at: usize) -> LexResult<Element<'a>> {
        let m = at + 4;
        let bytes = self.input.as_bytes();
        // One pass over the name, the usual whole tag (`&lt;NAME&gt;`): where it ends, where
        // its prefix ends. Anything else after the name (`/`, attributes) takes the general
        // path below.
        let mut i = m;
        let mut colon = None;
        while let Some(&b) = bytes.get(i) {
            match b {
                b'&' | b'/' => break,
                b':' if colon.is_none() => colon = Some(i),
                b if b.is_ascii_whitespace() => break,
                _ => {}
            }
            i += 1;
        }
        if i > m && bytes[i..].starts_with(b"&gt;") {
            self.open.push((m, i - m));
            self.pos = i + 4;
            let name = match colon {
                Some(c) => &self.input[c + 1..i],
                None => &self.input[m..i],
            };
            return Ok(Element { name, empty: false });
        }
        let (content, end) = self.tag_content(m)?;
        let (content, empty) = match content.strip_suffix('/') {
            Some(c) => (c, true),
            None => (content, false),
        };
        let name_len = content
            .bytes()
            .position(|b| b.is_ascii_whitespace())
            .unwrap_or(content.len());
        if name_len == 0 {
            return Err((at, "element without a name".into()));
        }
        if !empty {
            self.open.push((m, name_len));
        }
        self.pos = end;
        Ok(Element::new(&content[..name_len], empty))
    }

    /// The end tag at `at` (its `&lt;/`), checked against the innermost open element.
    #[inline]
    fn end_tag(&mut self, at: usize) -> LexResult<()> {
        let bytes = self.input.as_bytes();
        if let Some(&(start, len)) = self.open.last() {
            // The usual end tag, `&lt;/NAME&gt;` with the open element's name, in one compare.
            let from = at + 5;
            if bytes.get(from..from + len) == Some(&bytes[start..start + len])
                && bytes[from + len..].starts_with(b"&gt;")
            {
                self.open.pop();
                self.pos = from + len + 4;
                return Ok(());
            }
        }
        let (name, end) = self.tag_content(at + 5)?;
        let name = name.trim_end_matches(|c: char| c.is_ascii_whitespace());
        match self.open.pop() {
            Some((start, len))
                if self.input.as_bytes().get(start..start + len) == Some(name.as_bytes()) => {}
            _ => {
                return Err((
                    at,
                    format!("end tag </{name}> does not match the open element"),
                ))
            }
        }
        self.pos = end;
        Ok(())
    }

    /// The content of a tag starting at `from` (just after `&lt;` or `&lt;/`) up to its
    /// `&gt;`, and the offset after that `&gt;`. Tags hold no entity references in
    /// OpenNebula documents; one that does (an attribute value with `&quot;`, say) is refused.
    #[inline]
    fn tag_content(&self, from: usize) -> LexResult<(&'a str, usize)> {
        let bytes = self.input.as_bytes();
        // Tags are a name of a few bytes: a plain loop beats a memchr call.
        let Some(amp) = bytes[from..].iter().position(|&b| b == b'&') else {
            return Err(self.cut_or(from, "unexpected end of document in a tag"));
        };
        let amp = from + amp;
        if !bytes[amp..].starts_with(b"&gt;") {
            return Err((amp, "unsupported escaping inside a tag".into()));
        }
        Ok((&self.input[from..amp], amp + 4))
    }

    /// A run of character data up to the next markup (`&lt;`) or the end of input.
    #[inline]
    fn text(&mut self) -> LexResult<Cow<'a, str>> {
        let bytes = self.input.as_bytes();
        let from = self.pos;
        let mut scan = from;
        let mut has_entities = false;
        let end = loop {
            match find_amp(&bytes[scan..]) {
                None => break bytes.len(),
                Some(i) => {
                    let amp = scan + i;
                    if bytes[amp..].starts_with(b"&lt;") {
                        break amp;
                    }
                    has_entities = true;
                    scan = amp + 1;
                }
            }
        };
        self.pos = end;
        let raw = &self.input[from..end];
        if has_entities {
            unescape_twice(raw, from).map(Cow::Owned)
        } else {
            Ok(Cow::Borrowed(raw))
        }
    }

    /// [`XmlReader::read_text`] of an element whose start tag was just read, when its content
    /// is a single run of text (or nothing) directly followed by its end tag, as in nearly
    /// every leaf: the text, with the end tag consumed. `None`, having consumed nothing, for
    /// any other content.
    #[inline(always)]
    fn leaf_text(&mut self) -> LexResult<Option<Cow<'a, str>>> {
        let bytes = self.input.as_bytes();
        let from = self.pos;
        // The text ends at the first `&` that is not an entity of the text: `&lt;`.
        let mut scan = from;
        let mut has_entities = false;
        let end = loop {
            match find_amp(&bytes[scan..]) {
                None => return Ok(None),
                Some(i) => {
                    let amp = scan + i;
                    if bytes[amp..].starts_with(b"&lt;") {
                        break amp;
                    }
                    has_entities = true;
                    scan = amp + 1;
                }
            }
        };
        if bytes.get(end + 4) != Some(&b'/') {
            return Ok(None);
        }
        let raw = &self.input[from..end];
        let text = if has_entities {
            Cow::Owned(unescape_twice(raw, from)?)
        } else {
            Cow::Borrowed(raw)
        };
        self.pos = end;
        self.end_tag(end)?;
        Ok(Some(text))
    }
}

/// Offset of the first `&` in `bytes`. Most leaves are a few bytes of text: those are
/// scanned in place, longer ones with memchr.
#[inline]
fn find_amp(bytes: &[u8]) -> Option<usize> {
    const SHORT: usize = 16;
    match bytes.iter().take(SHORT).position(|&b| b == b'&') {
        Some(i) => Some(i),
        None if bytes.len() <= SHORT => None,
        None => memchr::memchr(b'&', &bytes[SHORT..]).map(|i| i + SHORT),
    }
}

/// Offset of the escaped CDATA terminator `]]&gt;` in `raw`. CDATA sections are short and
/// rarely hold a `]`: a memchr loop beats building a substring searcher for each one.
#[inline]
fn find_cdata_end(raw: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = memchr::memchr(b']', &raw[from..]) {
        let at = from + i;
        if raw[at..].starts_with(b"]]&gt;") {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Reads the entity reference starting at `raw[at]` (an `&`): the character and the offset
/// after its `;`.
fn entity_at(raw: &[u8], at: usize, base: usize) -> LexResult<(char, usize)> {
    entity_named(raw, at + 1, at, base)
}

/// The entity whose name starts at `raw[from]` (`lt;`, `#233;` ...): the character and the
/// offset after its `;`. Errors are reported at `raw[report_at]`.
fn entity_named(
    raw: &[u8],
    from: usize,
    report_at: usize,
    base: usize,
) -> LexResult<(char, usize)> {
    let window = &raw[from..raw.len().min(from + 12)];
    let Some(semi) = memchr::memchr(b';', window) else {
        return Err((base + report_at, "unterminated entity reference".into()));
    };
    let name = &window[..semi];
    let c = match name {
        b"lt" => Some('<'),
        b"gt" => Some('>'),
        b"amp" => Some('&'),
        b"quot" => Some('"'),
        b"apos" => Some('\''),
        [b'#', b'x' | b'X', hex @ ..] => std::str::from_utf8(hex)
            .ok()
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .and_then(char::from_u32),
        [b'#', dec @ ..] => std::str::from_utf8(dec)
            .ok()
            .and_then(|d| d.parse().ok())
            .and_then(char::from_u32),
        _ => None,
    };
    c.map(|c| (c, from + semi + 1)).ok_or_else(|| {
        (
            base + report_at,
            format!(
                "unknown entity reference &{};",
                String::from_utf8_lossy(name)
            ),
        )
    })
}

/// One level of unescaping (CDATA content inside an escaped document).
fn unescape_once(raw: &str, base: usize) -> LexResult<Cow<'_, str>> {
    let bytes = raw.as_bytes();
    let Some(first) = memchr::memchr(b'&', bytes) else {
        return Ok(Cow::Borrowed(raw));
    };
    let mut out = String::with_capacity(raw.len());
    let mut last = 0;
    let mut amp = first;
    loop {
        // Cut at ASCII bytes (`&`, after `;`) only: always character boundaries.
        out.push_str(&raw[last..amp]);
        let (c, next) = entity_at(bytes, amp, base)?;
        if c == '>' && out.ends_with("]]") && &bytes[amp..amp + 4] != b"&gt;" {
            // `]]&#62;` would end the section in the unescaped document.
            return Err((base + amp, "unsupported escaping in a CDATA section".into()));
        }
        out.push(c);
        last = next;
        match memchr::memchr(b'&', &bytes[last..]) {
            Some(i) => amp = last + i,
            None => break,
        }
    }
    out.push_str(&raw[last..]);
    Ok(Cow::Owned(out))
}

/// Two levels of unescaping (character data of an escaped document): `&gt;` is `>`, and
/// `&amp;NAME;` is the inner document's entity reference `&NAME;`.
fn unescape_twice(raw: &str, base: usize) -> LexResult<String> {
    let bytes = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    let mut last = 0;
    while let Some(i) = memchr::memchr(b'&', &bytes[last..]) {
        let amp = last + i;
        // Cut at ASCII bytes (`&`, after `;`) only: always character boundaries.
        out.push_str(&raw[last..amp]);
        let (c, next) = entity_at(bytes, amp, base)?;
        let c = match c {
            '&' if &bytes[amp..next] == b"&amp;" => {
                let (inner, after) = inner_entity(bytes, next, base)?;
                last = after;
                out.push(inner);
                continue;
            }
            '<' | '&' => {
                return Err((base + amp, "unsupported escaping in text".into()));
            }
            c => c,
        };
        out.push(c);
        last = next;
    }
    out.push_str(&raw[last..]);
    Ok(out)
}

/// The inner document's entity reference whose name starts at `raw[from]` (after an escaped
/// `&amp;`), written once more escaped: `lt;`, `#233;`, ... The name itself holds no `&`.
fn inner_entity(raw: &[u8], from: usize, base: usize) -> LexResult<(char, usize)> {
    entity_named(raw, from, from, base)
}

#[inline]
fn append<'a>(text: &mut Cow<'a, str>, piece: Cow<'a, str>) {
    if text.is_empty() {
        *text = piece;
    } else {
        text.to_mut().push_str(&piece);
    }
}

/// Resolves the predefined and numeric entity references of XML character data in one pass.
/// Borrows `raw` when it contains no `&`. On error returns the byte offset and a message.
pub fn unescape(raw: &str) -> Result<Cow<'_, str>, (usize, String)> {
    let bytes = raw.as_bytes();
    let Some(first) = memchr::memchr(b'&', bytes) else {
        return Ok(Cow::Borrowed(raw));
    };
    let mut out = String::with_capacity(raw.len());
    let mut last = 0;
    let mut amp = first;
    loop {
        out.push_str(&raw[last..amp]);
        let semi = memchr::memchr(b';', &bytes[amp..])
            .filter(|&n| n <= 12)
            .ok_or_else(|| (amp, "unterminated entity reference".to_string()))?;
        let name = &raw[amp + 1..amp + semi];
        let resolved = match name {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => name
                .strip_prefix("#x")
                .map(|hex| u32::from_str_radix(hex, 16))
                .or_else(|| name.strip_prefix('#').map(str::parse::<u32>))
                .and_then(Result::ok)
                .and_then(char::from_u32),
        };
        match resolved {
            Some(c) => out.push(c),
            None => return Err((amp, format!("unknown entity reference &{name};"))),
        }
        last = amp + semi + 1;
        match memchr::memchr(b'&', &bytes[last..]) {
            Some(n) => amp = last + n,
            None => break,
        }
    }
    out.push_str(&raw[last..]);
    Ok(Cow::Owned(out))
}

/// Writes OpenNebula-shaped XML into a `String`.
///
/// Text is escaped (`<`, `>`, `&`; quotes need no escaping outside attributes), never wrapped
/// in CDATA, so no value can end a section early or inject markup. Characters XML 1.0 cannot
/// carry at all (most C0 controls) are written as numeric character references, which
/// `quick-xml` and xmlrpc-c read back.
///
/// A writer made with [`XmlWriter::escaped`] writes the same document already escaped once
/// more as element text ([`escape_markup`]), the form an XML-RPC `<string>` carries a
/// document in: markup `<` becomes `&lt;`, text `<` becomes `&amp;lt;`, in one pass.
#[derive(Debug, Default, Clone)]
pub struct XmlWriter {
    out: String,
    escaped: bool,
}

impl XmlWriter {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty writer with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        XmlWriter {
            out: String::with_capacity(capacity),
            escaped: false,
        }
    }

    /// A writer that appends to `out` the document escaped as element text: what
    /// [`escape_markup`] makes of the plain writer's output, byte for byte. A server puts a
    /// document in its XML-RPC response this way without writing it twice.
    pub fn escaped(out: String) -> Self {
        XmlWriter { out, escaped: true }
    }

    /// Writes `<name>`.
    #[inline]
    pub fn start(&mut self, name: &str) {
        if self.escaped {
            self.out.push_str("&lt;");
            escape_markup(&mut self.out, name);
            self.out.push_str("&gt;");
            return;
        }
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
    }

    /// Writes `</name>`.
    #[inline]
    pub fn end(&mut self, name: &str) {
        if self.escaped {
            self.out.push_str("&lt;/");
            escape_markup(&mut self.out, name);
            self.out.push_str("&gt;");
            return;
        }
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    /// Writes `<name>text</name>` with `text` escaped.
    #[inline]
    pub fn text_element(&mut self, name: &str, text: &str) {
        self.start(name);
        self.text(text);
        self.end(name);
    }

    /// Writes escaped text.
    #[inline]
    pub fn text(&mut self, text: &str) {
        if self.escaped {
            escape_twice_into(&mut self.out, text);
        } else {
            escape_into(&mut self.out, text);
        }
    }

    /// Writes `raw` untouched (escaped as element text by an [`escaped`](Self::escaped)
    /// writer). The caller guarantees it is well-formed XML.
    pub fn raw(&mut self, raw: &str) {
        if self.escaped {
            escape_markup(&mut self.out, raw);
        } else {
            self.out.push_str(raw);
        }
    }

    /// The XML written so far.
    pub fn as_str(&self) -> &str {
        &self.out
    }

    /// Consumes the writer, returning the XML.
    pub fn into_string(self) -> String {
        self.out
    }
}

/// Escapes `text` as element text the way xmlrpc-c escapes a `<string>` (and oned's
/// documents travel in one): `<`, `>`, `&` and CR only, appended to `out`.
///
/// Every tag name and number of an [`XmlWriter::escaped`] writer comes through here, so text
/// with nothing to replace (nearly all of it) is recognised a word at a time and copied
/// whole; otherwise the runs between the replaced bytes are copied.
#[inline]
pub fn escape_markup(out: &mut String, text: &str) {
    escape_with(out, text, false, markup_entity);
}

/// The bytes [`escape_markup`] replaces: each with its entity, and the entity escaped once
/// more (its `&` as `&amp;`) for [`escape_twice_into`].
const MARKUP_ENTITIES: [(u8, &str, &str); 4] = [
    (b'<', "&lt;", "&amp;lt;"),
    (b'>', "&gt;", "&amp;gt;"),
    (b'&', "&amp;", "&amp;amp;"),
    (b'\r', "&#13;", "&amp;#13;"),
];

/// The replacement of `byte` in [`escape_markup`].
#[inline(always)]
fn markup_entity(byte: u8) -> Option<&'static str> {
    MARKUP_ENTITIES
        .iter()
        .find(|entry| entry.0 == byte)
        .map(|entry| entry.1)
}

/// [`escape_into`] followed by [`escape_markup`], in one pass: text of an
/// [`XmlWriter::escaped`] writer.
#[inline]
fn escape_twice_into(out: &mut String, text: &str) {
    escape_with(out, text, true, twice_entity);
}

/// The replacement of `byte` in [`escape_twice_into`]: [`escape_into`]'s, its `&` escaped.
#[inline(always)]
fn twice_entity(byte: u8) -> Option<&'static str> {
    match byte {
        b'\t' | b'\n' => None,
        // A C0 control other than CR: a numeric reference (the number and `;` follow, see
        // `escape_blocks`).
        0..=0x1f if byte != b'\r' => Some("&amp;#"),
        _ => MARKUP_ENTITIES
            .iter()
            .find(|entry| entry.0 == byte)
            .map(|entry| entry.2),
    }
}

/// Appends `text` to `out`, escaped by `entity` (see [`escape_blocks`]): copied whole when
/// [`skip_plain`] finds nothing to replace, the usual case.
#[inline(always)]
fn escape_with(
    out: &mut String,
    text: &str,
    controls: bool,
    entity: impl Fn(u8) -> Option<&'static str>,
) {
    let plain = skip_plain(text.as_bytes(), 0, controls);
    if plain == text.len() {
        out.push_str(text);
    } else {
        escape_blocks(out, text, plain, controls, entity);
    }
}

/// Appends `text` to `out` with each byte from `from` on for which `entity` gives a
/// replacement replaced; with `controls`, a C0 control other than CR, tab and line feed is
/// followed by its decimal number and `;` (a numeric reference). Blocks that [`skip_plain`]
/// finds plain are not looked at byte by byte; text is copied in runs.
#[inline(always)]
fn escape_blocks(
    out: &mut String,
    text: &str,
    mut i: usize,
    controls: bool,
    entity: impl Fn(u8) -> Option<&'static str>,
) {
    let bytes = text.as_bytes();
    let mut run = 0;
    while i < bytes.len() {
        let end = (i + 8).min(bytes.len());
        while i < end {
            let byte = bytes[i];
            if let Some(replacement) = entity(byte) {
                // Only ASCII bytes are replaced, so both slices end on character boundaries.
                out.push_str(&text[run..i]);
                out.push_str(replacement);
                if controls && byte < 0x20 && byte != b'\r' {
                    out.push_str(&byte.to_string());
                    out.push(';');
                }
                run = i + 1;
            }
            i += 1;
        }
        i = skip_plain(bytes, i, controls);
    }
    out.push_str(&text[run..]);
}

/// From `from`, the start of the first block of 8 bytes (or fewer, at the end) of `bytes`
/// that may hold a byte [`escape_markup`] replaces (`<`, `>`, `&`, CR) or, with `controls`,
/// any C0 control; `bytes.len()` when there is none. Word-at-a-time tests (SWAR), exact for
/// "none"; a block it stops at is scanned byte by byte by the caller.
#[inline(always)]
fn skip_plain(bytes: &[u8], mut from: usize, controls: bool) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Some byte of `v` is zero (the classic test: no false "none").
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH != 0;
    let special = |x: u64| {
        zero(x ^ (ONES * u64::from(b'<')))
            || zero(x ^ (ONES * u64::from(b'>')))
            || zero(x ^ (ONES * u64::from(b'&')))
            || if controls {
                // Some byte below 0x20 (the same borrow test, shifted).
                x.wrapping_sub(ONES * 0x20) & !x & HIGH != 0
            } else {
                zero(x ^ (ONES * u64::from(b'\r')))
            }
    };
    let word = |block: &[u8]| {
        let mut word = [0u8; 8];
        word.copy_from_slice(block);
        u64::from_le_bytes(word)
    };
    while let Some(block) = bytes.get(from..from + 8) {
        if special(word(block)) {
            return from;
        }
        from += 8;
    }
    let len = bytes.len();
    let plain = if from == len {
        true
    } else if len >= 8 {
        // The last eight bytes: those before `from` are known plain.
        !special(word(&bytes[len - 8..]))
    } else {
        // Short text (a tag name, a number): byte by byte.
        !bytes[from..].iter().any(|&b| {
            b <= b'>' && (matches!(b, b'<' | b'>' | b'&' | b'\r') || (controls && b < 0x20))
        })
    };
    if plain {
        len
    } else {
        from
    }
}

/// Escapes `text` for use as XML character data and appends it to `out`.
pub fn escape_into(out: &mut String, text: &str) {
    let bytes = text.as_bytes();
    let mut last = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let replacement: Option<&str> = match b {
            b'<' => Some("&lt;"),
            b'>' => Some("&gt;"),
            b'&' => Some("&amp;"),
            b'\r' => Some("&#13;"),
            b'\t' | b'\n' => None,
            0..=0x1f => None,
            _ => continue,
        };
        out.push_str(&text[last..i]);
        match replacement {
            Some(r) => out.push_str(r),
            None if b == b'\t' || b == b'\n' => out.push(b as char),
            None => {
                // C0 controls are not XML 1.0 characters; numeric references keep them
                // lossless for readers that accept them (quick-xml does).
                out.push_str("&#");
                out.push_str(&b.to_string());
                out.push(';');
            }
        }
        last = i + 1;
    }
    out.push_str(&text[last..]);
}

/// Escapes `text` for XML character data.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text
        .bytes()
        .any(|b| matches!(b, b'<' | b'>' | b'&' | b'\r') || (b < 0x20 && b != b'\t' && b != b'\n'))
    {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    escape_into(&mut out, text);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nested_text_cdata_and_entities() {
        let doc = b"<?xml version=\"1.0\"?><VM><ID>7</ID><NAME><![CDATA[a<b]]></NAME><X>1 &amp; 2</X><E/></VM>";
        let mut r = XmlReader::new(doc);
        let root = r.root().unwrap();
        assert_eq!(root.name(), b"VM");
        let mut seen = Vec::new();
        while let Some(child) = r.next_child(&root).unwrap() {
            let name = child.name_str().into_owned();
            let text = r.read_text(&child).unwrap().into_owned();
            seen.push((name, text));
        }
        r.finish().unwrap();
        assert_eq!(
            seen,
            vec![
                ("ID".into(), "7".into()),
                ("NAME".into(), "a<b".into()),
                ("X".into(), "1 & 2".into()),
                ("E".into(), "".into())
            ]
        );
    }

    #[test]
    fn skips_unknown_subtrees_and_strips_namespace_prefixes() {
        let doc = b"<one:VM xmlns:one=\"http://opennebula.org/XMLSchema\"><NEW><A><B>1</B></A></NEW><ID>3</ID></one:VM>";
        let mut r = XmlReader::new(doc);
        let root = r.root().unwrap();
        assert_eq!(root.name(), b"VM");
        let unknown = r.next_child(&root).unwrap().unwrap();
        r.skip(&unknown).unwrap();
        let id = r.next_child(&root).unwrap().unwrap();
        assert_eq!(r.read_text(&id).unwrap(), "3");
        assert!(r.next_child(&root).unwrap().is_none());
    }

    #[test]
    fn refuses_doctype_and_deep_nesting() {
        let bomb = b"<!DOCTYPE x [<!ENTITY a \"aaaa\">]><x>&a;</x>";
        let err = XmlReader::new(bomb).root().unwrap_err();
        assert!(err.message.contains("DOCTYPE"), "{err}");

        let deep = "<a>".repeat(10) + &"</a>".repeat(10);
        let mut r = XmlReader::new(deep.as_bytes()).with_max_depth(5);
        let root = r.root().unwrap();
        let err = r.skip(&root).unwrap_err();
        assert!(err.message.contains("nested deeper"), "{err}");
    }

    #[test]
    fn truncated_document_is_an_error_with_position() {
        let mut r = XmlReader::new(b"<VM><ID>1</ID><NAME>x");
        let root = r.root().unwrap();
        let id = r.next_child(&root).unwrap().unwrap();
        r.read_text(&id).unwrap();
        let name = r.next_child(&root).unwrap().unwrap();
        let err = r.read_text(&name).unwrap_err();
        assert!(err.position > 0);
    }

    /// Everything a reader sees in a document, as text, for comparing readers.
    fn walk_all(reader: &mut XmlReader<'_>) -> Result<Vec<String>, XmlError> {
        fn walk(
            reader: &mut XmlReader<'_>,
            el: &Element<'_>,
            out: &mut Vec<String>,
        ) -> Result<(), XmlError> {
            out.push(format!("\u{0}<{}>", el.name_str()));
            while let Some(node) = reader.next_node(el)? {
                match node {
                    Node::Text(t) => out.push(t.into_owned()),
                    Node::Element(child) => walk(reader, &child, out)?,
                }
            }
            out.push("\u{0}</>".into());
            Ok(())
        }
        let mut out = Vec::new();
        let root = reader.root()?;
        walk(reader, &root, &mut out)?;
        reader.finish()?;
        // Adjacent text pieces are split differently by the two readers: join them.
        let mut joined: Vec<String> = Vec::new();
        for piece in out {
            let is_text = !piece.starts_with('\u{0}');
            match joined.last_mut() {
                Some(last) if is_text && !last.starts_with('\u{0}') => last.push_str(&piece),
                _ => joined.push(piece),
            }
        }
        Ok(joined)
    }

    fn escaped(doc: &str) -> String {
        let mut out = String::new();
        escape_into(&mut out, doc);
        out
    }

    #[test]
    fn escaped_reader_sees_what_the_plain_reader_sees() {
        let docs = [
            "<VM_POOL><VM><ID>0</ID><NAME><![CDATA[a<b>&c]] ]]></NAME><T><X><![CDATA[</VM>]]></X>\
             <!-- c --><Y>1 &amp; 2 &#233; &lt;/VM&gt; &quot;q&quot; &#x41;</Y><E/><E2 /></T></VM></VM_POOL>",
            "<?xml version=\"1.0\"?>\n<R>\n  <A>  spaced  </A>\n</R>\n",
            "<R><A>\u{e9}t\u{e9} \u{1F600}</A><B><![CDATA[]]></B><C></C></R>",
            "<one:R xmlns:one=\"http://opennebula.org/XMLSchema\"><one:A>x</one:A></one:R>",
            "<R/>",
            // Text runs around the 16-byte in-place scan of `find_amp`.
            "<R><A>more than sixteen bytes &amp; an entity</A><B>exactly_16_bytes</B>\
             <C>fifteen__bytes&lt;</C><D>sixteen___bytes&lt;</D><p:E>x</p:E></R>",
        ];
        for doc in docs {
            let plain = walk_all(&mut XmlReader::new(doc.as_bytes())).unwrap();
            let escaped = escaped(doc);
            let mut reader = XmlReader::new_escaped(escaped.as_bytes());
            assert!(reader.is_escaped());
            assert_eq!(walk_all(&mut reader).unwrap(), plain, "{doc}");
        }
    }

    #[test]
    fn escaped_reader_read_text_and_xml_between() {
        let doc = "<VM><ID>7</ID><NAME><![CDATA[web & db]]></NAME><X>a &lt; b</X><RAW><K>1</K></RAW></VM>";
        let escaped = escaped(doc);
        let mut r = XmlReader::new_escaped(escaped.as_bytes());
        let root = r.root().unwrap();
        let mut seen = Vec::new();
        while let Some(child) = r.next_child(&root).unwrap() {
            if child.name() == b"RAW" {
                let before = r.position();
                r.skip(&child).unwrap();
                // `before` is after the start tag: the raw content is the inner XML.
                seen.push(r.xml_between(before, r.position()).unwrap().into_owned());
            } else {
                seen.push(r.read_text(&child).unwrap().into_owned());
            }
        }
        r.finish().unwrap();
        assert_eq!(seen, ["7", "web & db", "a < b", "<K>1</K></RAW>"]);
    }

    #[test]
    fn escaped_reader_refuses_what_it_cannot_read_faithfully() {
        for bad in [
            // Markup characters as numeric references.
            "&#60;R&gt;&lt;/R&gt;",
            "&lt;R&gt;a &#38;lt; b&lt;/R&gt;",
            // Entity inside a tag, mismatched and unterminated constructs.
            "&lt;R a=&quot;x&quot;&gt;&lt;/R&gt;",
            "&lt;R&gt;&lt;/S&gt;",
            "&lt;R&gt;&lt;![CDATA[x&lt;/R&gt;",
            "&lt;R&gt;&lt;!-- x&lt;/R&gt;",
            "&lt;!DOCTYPE x&gt;&lt;R/&gt;",
            "&lt;R&gt;&amp;bogus;&lt;/R&gt;",
            "&lt;R&gt;x",
            "&lt;R",
            "&lt;&gt;&lt;/&gt;",
        ] {
            let mut r = XmlReader::new_escaped(bad.as_bytes());
            let result = r.root().and_then(|root| {
                r.skip(&root)?;
                r.finish()
            });
            assert!(result.is_err(), "{bad}");
        }
    }

    #[test]
    fn escaped_writer_writes_the_escaped_plain_document() {
        let hostile = [
            "",
            "plain",
            "a<b>&c]]>\"'\r\n\t\u{1}\u{1f}\u{0}é",
            "<![CDATA[x]]>&amp;&#13;",
            "\r\r<<>>&&",
        ];
        let write = |w: &mut XmlWriter| {
            w.start("DOC");
            for (i, text) in hostile.iter().enumerate() {
                w.text_element("T", text);
                w.start("R");
                w.raw(&format!("<X>{i}</X>"));
                w.raw(text);
                w.end("R");
                w.text(text);
                // Names are the caller's business, but both modes must still agree.
                w.start(text);
                w.end(text);
            }
            w.end("DOC");
        };
        let mut plain = XmlWriter::new();
        write(&mut plain);
        let mut expected = String::from("prefix<");
        escape_markup(&mut expected, plain.as_str());
        let mut escaped = XmlWriter::escaped(String::from("prefix<"));
        write(&mut escaped);
        assert_eq!(escaped.into_string(), expected);
        assert!(expected.contains("&amp;lt;b&amp;gt;&amp;amp;c]]&amp;gt;"));
        assert!(expected.contains("&amp;#13;\n\t&amp;#1;&amp;#31;&amp;#0;é"));
        let mut out = String::new();
        escape_markup(&mut out, "a<b>&c\r\n\u{e9}]]>");
        assert_eq!(out, "a&lt;b&gt;&amp;c&#13;\n\u{e9}]]&gt;");
    }

    /// The word-at-a-time scans agree with a byte-by-byte escape wherever the special
    /// characters fall relative to the 8-byte blocks.
    #[test]
    fn block_scans_escape_like_a_byte_loop() {
        let naive_markup = |text: &str| -> String {
            text.chars()
                .map(|c| match c {
                    '<' => "&lt;".to_string(),
                    '>' => "&gt;".to_string(),
                    '&' => "&amp;".to_string(),
                    '\r' => "&#13;".to_string(),
                    c => c.to_string(),
                })
                .collect()
        };
        let base = "abcdefghijklmnopqrstuvwxyz0123456789";
        for special in [
            "<", ">", "&", "\r", "\u{1}", "\u{1f}", "\t", "\n", "\u{e9}", "\u{7f}", " ",
        ] {
            for at in 0..=base.len() {
                for len in [at, (at + 9).min(base.len()), base.len()] {
                    let text = format!("{}{special}{}{special}", &base[..at], &base[at..len]);
                    let mut markup = String::new();
                    escape_markup(&mut markup, &text);
                    assert_eq!(markup, naive_markup(&text), "{text:?}");
                    let mut twice = String::new();
                    escape_twice_into(&mut twice, &text);
                    let mut once = String::new();
                    escape_into(&mut once, &text);
                    assert_eq!(twice, naive_markup(&once), "{text:?}");
                }
            }
        }
    }

    #[test]
    fn escaped_reader_reports_invalid_utf8_where_it_is() {
        // In a leaf's text, in a name, and in a comment: all refused at the bad byte.
        for (bad, at) in [
            (&b"&lt;R&gt;&lt;A&gt;ok\xff&lt;/A&gt;&lt;/R&gt;"[..], 20),
            (&b"&lt;R&gt;&lt;A\xc3&gt;x&lt;/A\xc3&gt;&lt;/R&gt;"[..], 14),
            (&b"&lt;R&gt;&lt;!-- \xe9 --&gt;&lt;/R&gt;"[..], 17),
        ] {
            let mut r = XmlReader::new_escaped(bad);
            let err = r
                .root()
                .and_then(|root| {
                    while let Some(child) = r.next_child(&root)? {
                        r.read_text(&child)?;
                    }
                    r.finish()
                })
                .unwrap_err();
            assert_eq!(err.position, at, "{err}");
            assert!(err.message.contains("UTF-8"), "{err}");
        }
    }

    #[test]
    fn escaped_leaf_fast_path_checks_end_tags_and_entities() {
        let doc = "&lt;R&gt;&lt;A&gt;1 &amp;amp; 2 &amp;lt; &amp;#233;&lt;/A&gt;&lt;B&gt;x&lt;/C&gt;&lt;/R&gt;";
        let mut r = XmlReader::new_escaped(doc.as_bytes());
        let root = r.root().unwrap();
        let a = r.next_child(&root).unwrap().unwrap();
        assert_eq!(r.read_text(&a).unwrap(), "1 & 2 < \u{e9}");
        let b = r.next_child(&root).unwrap().unwrap();
        let err = r.read_text(&b).unwrap_err();
        assert!(err.message.contains("does not match"), "{err}");
    }

    #[test]
    fn plain_reader_borrows_names_after_a_bom_and_prolog() {
        let doc = "\u{feff}<?xml version=\"1.0\"?>\n<!-- c -->\n<p:R><A>1</A><B/><C >2</C></p:R>\n";
        let mut r = XmlReader::new(doc.as_bytes());
        let root = r.root().unwrap();
        assert_eq!(root.local_name(), "R");
        let mut seen = Vec::new();
        while let Some(child) = r.next_child(&root).unwrap() {
            seen.push((
                child.local_name(),
                r.read_text(&child).unwrap().into_owned(),
            ));
        }
        r.finish().unwrap();
        assert_eq!(
            seen,
            [("A", "1".into()), ("B", String::new()), ("C", "2".into())]
        );
    }

    #[test]
    fn escaping_round_trips_hostile_text() {
        let hostile = "a<b>&c]]>\"'\r\n\t\u{1}é";
        let mut w = XmlWriter::new();
        w.text_element("T", hostile);
        let xml = w.into_string();
        let mut r = XmlReader::new(xml.as_bytes());
        let root = r.root().unwrap();
        assert_eq!(r.read_text(&root).unwrap(), hostile);
    }
}
