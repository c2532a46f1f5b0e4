//! Streaming decode of pool responses: items handed out while the HTTP body is still arriving.
//!
//! A `one.vmpool.info` answer for a large cloud is hundreds of megabytes: one XML-RPC
//! `<string>` holding the whole escaped `<VM_POOL>` document. [`PoolDecoder`] is a sans-IO,
//! incremental decoder for such responses: feed it the body chunk by chunk
//! ([`PoolDecoder::feed`]) and take the decoded items out ([`PoolDecoder::next_item`]) as soon
//! as each one is complete. Memory stays bounded by the largest single item plus one chunk,
//! whatever the size of the pool.
//!
//! How it works, in one pass over each chunk:
//!
//! 1. The envelope head (`<methodResponse>` ... up to the `<string>` of element 1) is buffered
//!    and checked: it must be a well-formed success array (`<boolean>1</boolean>` first).
//!    Anything else (a failure array, a `<fault>`, a non-string payload) is buffered whole and
//!    decoded at the end by the ordinary codec, so a failed call yields the OpenNebula error.
//! 2. The `<string>` payload is unescaped on the fly (entity references cut by a chunk
//!    boundary are carried over) into a small buffer.
//! 3. A scanner cuts that unescaped document into the root's child elements, counting depth on
//!    start/end tags and skipping CDATA sections, comments and processing instructions (a
//!    `<` inside CDATA is text, not a tag). Each complete child is decoded with its
//!    [`FromXml`] impl and queued; its bytes are then dropped.
//! 4. After `</string>`, the envelope tail is buffered and, at [`PoolDecoder::finish`], the
//!    head and tail are decoded together by the ordinary codec, so the response array is
//!    checked exactly as a non-streaming call would check it.
//!
//! This is written by hand rather than on a streaming XML crate because it is the hot path of
//! the largest responses and because it must work on the *escaped* payload chunk by chunk
//! (OpenNebula-specific shape), which no general reader offers.
//!
//! The transports are [`Client::stream_pool`](crate::Client::stream_pool) (a `Stream`) and
//! the blocking twin `blocking::Client::stream_pool` (an `Iterator`).

use std::collections::VecDeque;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Stream;

use crate::error::{DecodeStage, Error, Result};
use crate::wire::{self, IntoParams, MethodResponse, Value};
use crate::xml::{FromXml, DEFAULT_MAX_DEPTH};
use crate::Client;

impl Client {
    /// Calls a pool method (`vmpool.info`, `hostpool.info` ...) and streams the pool's items
    /// (`T` is the item type, e.g. the VM model), decoding each one while the HTTP body is
    /// still arriving. Memory stays bounded by one item plus one network chunk, so a pool of
    /// 50,000 VMs (a 234 MB response) is processed in a few megabytes.
    ///
    /// Items come in document order. A failed call (OpenNebula's failure array, a fault, an
    /// HTTP error) yields exactly one `Err` and ends the stream; so does a response that is
    /// cut short or malformed, possibly after some items. An item that fails to decode yields
    /// an `Err` in its place and the stream goes on. The client's timeout bounds the whole
    /// exchange, including the time the caller takes to consume the stream.
    ///
    /// ```no_run
    /// # async fn run(one: opennebula::Client) -> opennebula::Result<()> {
    /// use futures_util::StreamExt;
    /// use opennebula::models::VmSummary;
    ///
    /// let mut vms = one.stream_pool::<VmSummary>("vmpool.info", (-2, -1, -1, -1));
    /// while let Some(vm) = vms.next().await {
    ///     let vm = vm?;
    ///     println!("{} {}", vm.id, vm.name);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn stream_pool<T>(&self, method: &str, params: impl IntoParams) -> PoolStream<T>
    where
        T: FromXml + Send + 'static,
    {
        let start = match params.into_params() {
            Ok(params) => Step::Start {
                client: self.clone(),
                request: crate::rpc::Request::by_name(method, params),
            },
            Err(err) => Step::Refused(err),
        };
        let stream = futures_util::stream::unfold(start, |mut step| async move {
            loop {
                match step {
                    Step::Start { client, request } => match client.send_streaming(request).await {
                        Ok(body) => {
                            let decoder = PoolDecoder::for_body(body.form());
                            step = Step::Body {
                                body: Box::new(body),
                                decoder,
                            }
                        }
                        Err(err) => return Some((Err(err), Step::Done)),
                    },
                    Step::Body {
                        mut body,
                        mut decoder,
                    } => {
                        if let Some(item) = decoder.next_item() {
                            return Some((item, Step::Body { body, decoder }));
                        }
                        if decoder.is_done() {
                            return None;
                        }
                        match body.chunk().await {
                            Ok(Some(chunk)) => decoder.feed(&chunk),
                            Ok(None) => decoder.finish(),
                            Err(err) => return Some((Err(err), Step::Done)),
                        }
                        step = Step::Body { body, decoder };
                    }
                    Step::Refused(err) => return Some((Err(err), Step::Done)),
                    Step::Done => return None,
                }
            }
        });
        PoolStream {
            inner: Box::pin(stream),
        }
    }
}

enum Step<T> {
    Start {
        client: Client,
        request: crate::rpc::Request,
    },
    Body {
        body: Box<crate::client::StreamingBody>,
        decoder: PoolDecoder<T>,
    },
    /// The parameters could not be converted: nothing is sent.
    Refused(Error),
    Done,
}

/// The items of a pool, decoded while the response arrives: returned by
/// [`Client::stream_pool`]. A [`Stream`] of `Result<T>`.
#[must_use = "streams do nothing unless polled"]
pub struct PoolStream<T> {
    inner: Pin<Box<dyn Stream<Item = Result<T>> + Send>>,
}

impl<T> std::fmt::Debug for PoolStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolStream").finish_non_exhaustive()
    }
}

impl<T> Stream for PoolStream<T> {
    type Item = Result<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

/// The blocking twin of [`PoolStream`]: an [`Iterator`] over the items of a pool, returned
/// by `blocking::Client::stream_pool`. Decoding runs on the blocking client's runtime
/// thread, at most [`PoolIter::BUFFER`] items ahead of the caller; dropping the iterator
/// early stops the download.
#[cfg(feature = "blocking")]
#[derive(Debug)]
pub struct PoolIter<T> {
    items: tokio::sync::mpsc::Receiver<Result<T>>,
}

#[cfg(feature = "blocking")]
impl<T: FromXml + Send + 'static> PoolIter<T> {
    /// How many decoded items may wait for the caller.
    pub const BUFFER: usize = 64;

    /// Starts streaming on a runtime (through `spawn`, which runs a future there).
    pub(crate) fn start(
        stream: PoolStream<T>,
        spawn: impl FnOnce(Pin<Box<dyn std::future::Future<Output = ()> + Send>>) -> Result<()>,
    ) -> Self {
        use futures_util::StreamExt;
        let (sender, items) = tokio::sync::mpsc::channel(Self::BUFFER);
        let failed = sender.clone();
        let mut stream = stream;
        let job = Box::pin(async move {
            while let Some(item) = stream.next().await {
                if sender.send(item).await.is_err() {
                    return; // the iterator was dropped
                }
            }
        });
        if let Err(err) = spawn(job) {
            let _ = failed.try_send(Err(err));
        }
        PoolIter { items }
    }
}

#[cfg(feature = "blocking")]
impl<T> Iterator for PoolIter<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Self::Item> {
        self.items.blocking_recv()
    }
}

/// How much envelope may precede the payload `<string>` before the response is treated as
/// not streamable (and buffered whole). oned's head is about 120 bytes.
const MAX_HEAD: usize = 64 * 1024;

/// Default limit on the size of one pool item (one `<VM>` element, unescaped). A VM is a few
/// kilobytes; the limit only stops a hostile or broken server from growing the buffer forever.
pub const DEFAULT_MAX_ITEM_SIZE: usize = 64 * 1024 * 1024;

/// What closes the envelope head for the validity check in [`PoolDecoder`]: appended to the
/// head (which ends with `<string>`) it must give a well-formed success response.
const SYNTHETIC_CLOSE: &[u8] =
    b"</string></value></data></array></value></param></params></methodResponse>";

/// Incremental decoder of an XML-RPC pool response into its items. See the
/// [module docs](self).
///
/// ```
/// use opennebula::stream::PoolDecoder;
/// use opennebula::xml::{Element, FromXml, XmlError, XmlReader};
///
/// struct Id(String);
/// impl FromXml for Id {
///     fn read_xml(r: &mut XmlReader<'_>, start: &Element<'_>) -> Result<Self, XmlError> {
///         let mut id = String::new();
///         while let Some(child) = r.next_child(start)? {
///             if child.name() == b"ID" { id = r.read_text(&child)?.into_owned() } else { r.skip(&child)? }
///         }
///         Ok(Id(id))
///     }
/// }
///
/// let body = "<methodResponse><params><param><value><array><data>\
///     <value><boolean>1</boolean></value>\
///     <value><string>&lt;VM_POOL&gt;&lt;VM&gt;&lt;ID&gt;1&lt;/ID&gt;&lt;/VM&gt;\
///     &lt;VM&gt;&lt;ID&gt;2&lt;/ID&gt;&lt;/VM&gt;&lt;/VM_POOL&gt;</string></value>\
///     <value><i4>0</i4></value></data></array></value></param></params></methodResponse>";
/// let mut decoder = PoolDecoder::<Id>::new();
/// let mut ids = Vec::new();
/// for chunk in body.as_bytes().chunks(7) {
///     decoder.feed(chunk);
///     while let Some(vm) = decoder.next_item() {
///         ids.push(vm?.0);
///     }
/// }
/// decoder.finish();
/// while let Some(vm) = decoder.next_item() {
///     ids.push(vm?.0);
/// }
/// assert_eq!(ids, ["1", "2"]);
/// # Ok::<(), opennebula::Error>(())
/// ```
pub struct PoolDecoder<T> {
    state: State,
    /// Envelope bytes up to and including the payload's `<string>` tag.
    head: Vec<u8>,
    /// Escaped payload bytes not yet unescaped (an entity cut by a chunk boundary).
    carry: Vec<u8>,
    /// Envelope bytes from `</string>` on.
    tail: Vec<u8>,
    cutter: Cutter,
    ready: VecDeque<Result<T>>,
    /// Bytes fed so far, for error positions.
    fed: u64,
    _item: PhantomData<fn() -> T>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Collecting the envelope head.
    Head,
    /// Not a streamable success response: everything is kept in `head` and decoded at the end.
    Buffered,
    /// Inside the `<string>` payload.
    Payload,
    /// After `</string>`.
    Tail,
    /// A plain XML document (gRPC's `xml` field), no envelope and nothing escaped.
    Plain,
    /// Finished or failed: nothing more is decoded.
    Done,
}

impl<T> std::fmt::Debug for PoolDecoder<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolDecoder")
            .field("state", &self.state)
            .field("fed", &self.fed)
            .field("buffered", &self.cutter.doc.len())
            .field("ready", &self.ready.len())
            .finish()
    }
}

impl<T: FromXml> Default for PoolDecoder<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: FromXml> PoolDecoder<T> {
    /// A decoder for one response body.
    pub fn new() -> Self {
        PoolDecoder {
            state: State::Head,
            head: Vec::with_capacity(256),
            carry: Vec::new(),
            tail: Vec::new(),
            cutter: Cutter::new(DEFAULT_MAX_ITEM_SIZE),
            ready: VecDeque::new(),
            fed: 0,
            _item: PhantomData,
        }
    }

    /// A decoder for a plain XML pool document, as gRPC's `ResponseXML.xml` carries it: the
    /// same items, cut from the document as it arrives, without an XML-RPC envelope or
    /// escaping around it.
    ///
    /// ```
    /// # use opennebula::stream::PoolDecoder;
    /// # use opennebula::api::RawElement;
    /// let mut decoder = PoolDecoder::<RawElement>::plain();
    /// for chunk in "<VM_POOL><VM><ID>1</ID></VM><VM><ID>2</ID></VM></VM_POOL>".as_bytes().chunks(5) {
    ///     decoder.feed(chunk);
    /// }
    /// decoder.finish();
    /// let ids: Vec<String> = std::iter::from_fn(|| decoder.next_item())
    ///     .map(|vm| vm.unwrap().text_at("ID").unwrap().to_owned())
    ///     .collect();
    /// assert_eq!(ids, ["1", "2"]);
    /// ```
    pub fn plain() -> Self {
        PoolDecoder {
            state: State::Plain,
            ..Self::new()
        }
    }

    /// A decoder for a body of the given form.
    pub(crate) fn for_body(form: crate::client::BodyForm) -> Self {
        match form {
            crate::client::BodyForm::Envelope => Self::new(),
            #[cfg(feature = "grpc")]
            crate::client::BodyForm::Document => Self::plain(),
        }
    }

    /// Sets the largest accepted item (unescaped bytes of one child element); default
    /// [`DEFAULT_MAX_ITEM_SIZE`].
    pub fn with_max_item_size(mut self, bytes: usize) -> Self {
        self.cutter.max_item = bytes;
        self
    }

    /// Feeds the next chunk of the response body. Decoded items (or an error) become
    /// available from [`next_item`](Self::next_item). After an error, further input is
    /// ignored.
    pub fn feed(&mut self, chunk: &[u8]) {
        if let Err(err) = self.feed_inner(chunk) {
            self.fail(err);
        }
        self.fed += chunk.len() as u64;
    }

    /// Signals the end of the body: checks the envelope tail (or decodes a buffered
    /// non-streamable response, e.g. OpenNebula's failure array) and queues the remaining
    /// items or the error.
    pub fn finish(&mut self) {
        if let Err(err) = self.finish_inner() {
            self.fail(err);
        }
        self.state = State::Done;
    }

    /// The next decoded item, if one is ready.
    pub fn next_item(&mut self) -> Option<Result<T>> {
        self.ready.pop_front()
    }

    /// `true` once [`finish`](Self::finish) was called or an error occurred: no more items
    /// will be produced beyond those already queued.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Number of decoded items waiting in [`next_item`](Self::next_item).
    pub fn ready_len(&self) -> usize {
        self.ready.len()
    }

    fn fail(&mut self, err: Error) {
        self.ready.push_back(Err(err));
        self.state = State::Done;
        self.cutter.doc = Vec::new();
        self.head = Vec::new();
        self.tail = Vec::new();
    }

    fn feed_inner(&mut self, chunk: &[u8]) -> Result<()> {
        match self.state {
            State::Done => Ok(()),
            State::Plain => {
                self.cutter.doc.extend_from_slice(chunk);
                self.cut_items()
            }
            State::Buffered => {
                self.head.extend_from_slice(chunk);
                Ok(())
            }
            State::Tail => {
                self.tail.extend_from_slice(chunk);
                if self.tail.len() > MAX_HEAD {
                    return Err(Error::decode(
                        DecodeStage::Envelope,
                        "too much data after the payload string",
                    ));
                }
                Ok(())
            }
            State::Head => {
                let searched_from = self.head.len().saturating_sub(b"<string>".len() - 1);
                self.head.extend_from_slice(chunk);
                let Some(at) = memchr::memmem::find(&self.head[searched_from..], b"<string>")
                else {
                    if self.head.len() > MAX_HEAD {
                        self.state = State::Buffered;
                    }
                    return Ok(());
                };
                let payload_start = searched_from + at + b"<string>".len();
                if !head_is_success(&self.head[..payload_start]) {
                    self.state = State::Buffered;
                    return Ok(());
                }
                let rest = self.head.split_off(payload_start);
                self.state = State::Payload;
                self.feed_payload(&rest)
            }
            State::Payload => self.feed_payload(chunk),
        }
    }

    fn feed_payload(&mut self, mut chunk: &[u8]) -> Result<()> {
        if !self.carry.is_empty() {
            // An entity reference was cut by the previous chunk boundary: complete it with
            // the first bytes of this chunk (an entity is at most 13 bytes), without copying
            // the whole chunk.
            let kept = self.carry.len();
            let borrowed = chunk.len().min(16);
            self.carry.extend_from_slice(&chunk[..borrowed]);
            let carry = std::mem::take(&mut self.carry);
            match unescape_some(&carry, &mut self.cutter.doc).map_err(|m| self.error(m))? {
                Unescaped::NeedMore(used) if used < kept => {
                    // Still incomplete: this chunk was too short.
                    self.carry = carry[used..].to_vec();
                    return Ok(());
                }
                Unescaped::NeedMore(used) => chunk = &chunk[(used - kept).min(chunk.len())..],
                Unescaped::Ended(at) => {
                    self.cut_items()?;
                    self.state = State::Tail;
                    self.tail = chunk[at.saturating_sub(kept)..].to_vec();
                    return Ok(());
                }
            }
        }
        let outcome = unescape_some(chunk, &mut self.cutter.doc).map_err(|m| self.error(m))?;
        self.cut_items()?;
        match outcome {
            Unescaped::NeedMore(used) => self.carry.extend_from_slice(&chunk[used..]),
            Unescaped::Ended(at) => {
                self.state = State::Tail;
                self.tail = chunk[at..].to_vec();
            }
        }
        Ok(())
    }

    fn cut_items(&mut self) -> Result<()> {
        while let Some(range) = self.cutter.next_item().map_err(|m| self.error(m))? {
            let item = T::from_xml_bytes(&self.cutter.doc[range])
                .map_err(|e| Error::from_xml(DecodeStage::Document, e));
            self.ready.push_back(item);
        }
        self.cutter.compact();
        Ok(())
    }

    fn finish_inner(&mut self) -> Result<()> {
        match self.state {
            State::Done => Ok(()),
            State::Plain => self.cutter.check_complete().map_err(|m| self.error(m)),
            State::Head | State::Buffered => {
                // Not a streamable success response: decode it the ordinary way, so failures
                // and faults become the usual errors, and an unusual but valid success (the
                // payload in CDATA, say) is still cut into items.
                let payload = wire::decode_one_response(&self.head)?;
                let Value::String(document) = payload else {
                    return Err(Error::decode(
                        DecodeStage::Value,
                        format!(
                            "expected an XML document in a string, found XML-RPC {}",
                            payload.type_name()
                        ),
                    ));
                };
                self.head = Vec::new();
                self.cutter.doc = document.into_bytes();
                self.cut_items()?;
                self.cutter.check_complete().map_err(|m| self.error(m))
            }
            State::Payload => Err(Error::decode(
                DecodeStage::Envelope,
                "response ended inside the payload string",
            )),
            State::Tail => {
                let mut envelope = std::mem::take(&mut self.head);
                envelope.extend_from_slice(&self.tail);
                wire::decode_one_response(&envelope)?;
                self.cutter.check_complete().map_err(|m| self.error(m))
            }
        }
    }

    fn error(&self, message: String) -> Error {
        Error::Decode {
            stage: DecodeStage::Document,
            message,
            position: Some(self.fed),
        }
    }
}

/// Whether `head` (the envelope up to and including the first `<string>`) starts a well-formed
/// success response whose element 1 is that string.
fn head_is_success(head: &[u8]) -> bool {
    let mut probe = Vec::with_capacity(head.len() + SYNTHETIC_CLOSE.len());
    probe.extend_from_slice(head);
    probe.extend_from_slice(SYNTHETIC_CLOSE);
    match wire::decode_response(&probe) {
        Ok(MethodResponse::Params(params)) => matches!(
            params.as_slice(),
            [Value::Array(items)] if matches!(items.as_slice(), [Value::Bool(true), Value::String(s)] if s.is_empty())
        ),
        _ => false,
    }
}

/// Result of [`unescape_some`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unescaped {
    /// All input up to this offset was unescaped; the rest is an incomplete entity reference.
    NeedMore(usize),
    /// A raw `<` (the payload's end tag) starts at this offset.
    Ended(usize),
}

/// Unescapes XML character data from `input` into `out` until a raw `<` or the end of input.
/// An entity reference cut off by the end of `input` is left unconsumed.
fn unescape_some(input: &[u8], out: &mut Vec<u8>) -> Result<Unescaped, String> {
    let mut last = 0;
    while let Some(found) = memchr::memchr2(b'&', b'<', &input[last..]) {
        let at = last + found;
        out.extend_from_slice(&input[last..at]);
        if input[at] == b'<' {
            return Ok(Unescaped::Ended(at));
        }
        let window = &input[at + 1..input.len().min(at + 14)];
        let Some(semi) = memchr::memchr(b';', window) else {
            if window.len() < 13 {
                return Ok(Unescaped::NeedMore(at));
            }
            return Err("unterminated entity reference in the payload".into());
        };
        push_entity(&window[..semi], out)?;
        last = at + 1 + semi + 1;
    }
    out.extend_from_slice(&input[last..]);
    Ok(Unescaped::NeedMore(input.len()))
}

#[inline]
fn push_entity(name: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    let c = match name {
        b"lt" => b'<',
        b"gt" => b'>',
        b"amp" => b'&',
        b"quot" => b'"',
        b"apos" => b'\'',
        _ => {
            let code = match name {
                [b'#', b'x' | b'X', hex @ ..] => std::str::from_utf8(hex)
                    .ok()
                    .and_then(|h| u32::from_str_radix(h, 16).ok()),
                [b'#', dec @ ..] => std::str::from_utf8(dec).ok().and_then(|d| d.parse().ok()),
                _ => None,
            };
            let c = code.and_then(char::from_u32).ok_or_else(|| {
                format!(
                    "unknown entity reference &{}; in the payload",
                    String::from_utf8_lossy(name)
                )
            })?;
            let mut utf8 = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
            return Ok(());
        }
    };
    out.push(c);
    Ok(())
}

/// Cuts an unescaped pool document, as it grows, into its root's child elements.
#[derive(Debug)]
struct Cutter {
    /// Unescaped document bytes not yet handed out.
    doc: Vec<u8>,
    /// Scanning position in `doc`.
    pos: usize,
    /// Start of the item being scanned, if inside one.
    item_start: Option<usize>,
    /// Element depth: 0 before the root, 1 inside the root, 2+ inside an item.
    depth: usize,
    root: RootState,
    max_item: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RootState {
    Before,
    Inside,
    After,
}

/// A markup construct found at a `<` by [`Cutter::markup`].
enum Markup {
    /// Not enough bytes yet to see its end.
    Incomplete,
    /// Comment, processing instruction, CDATA or XML declaration ending at this offset.
    Skip(usize),
    /// `<name ...>` ending at this offset (`empty` for `<name/>`).
    Start { end: usize, empty: bool },
    /// `</name>` ending at this offset.
    End(usize),
}

impl Cutter {
    fn new(max_item: usize) -> Self {
        Cutter {
            doc: Vec::new(),
            pos: 0,
            item_start: None,
            depth: 0,
            root: RootState::Before,
            max_item,
        }
    }

    /// The byte range of the next complete item, if one is complete in `doc`.
    fn next_item(&mut self) -> Result<Option<std::ops::Range<usize>>, String> {
        loop {
            let Some(found) = memchr::memchr(b'<', &self.doc[self.pos..]) else {
                self.check_text(self.doc.len())?;
                self.pos = self.doc.len();
                return self.check_size().map(|()| None);
            };
            let lt = self.pos + found;
            self.check_text(lt)?;
            self.pos = lt;
            match self.markup(lt)? {
                Markup::Incomplete => return self.check_size().map(|()| None),
                Markup::Skip(end) => self.pos = end,
                Markup::Start { end, empty } => {
                    self.pos = end;
                    match self.root {
                        RootState::Before => {
                            self.root = if empty {
                                RootState::After
                            } else {
                                RootState::Inside
                            };
                            self.depth = usize::from(!empty);
                        }
                        RootState::After => {
                            return Err("more than one root element in the payload".into())
                        }
                        RootState::Inside => {
                            if self.depth == 1 {
                                self.item_start = Some(lt);
                                if empty {
                                    self.item_start = None;
                                    return Ok(Some(lt..end));
                                }
                            }
                            if !empty {
                                self.depth += 1;
                                if self.depth > DEFAULT_MAX_DEPTH {
                                    return Err(format!(
                                        "elements nested deeper than the limit of {DEFAULT_MAX_DEPTH}"
                                    ));
                                }
                            }
                        }
                    }
                }
                Markup::End(end) => {
                    self.pos = end;
                    if self.root != RootState::Inside {
                        return Err("unexpected end tag in the payload".into());
                    }
                    self.depth -= 1;
                    if self.depth == 0 {
                        self.root = RootState::After;
                    } else if self.depth == 1 {
                        let start = self.item_start.take().unwrap_or(lt);
                        return Ok(Some(start..end));
                    }
                }
            }
        }
    }

    /// Text outside items must be whitespace (the pool document has none other).
    fn check_text(&self, until: usize) -> Result<(), String> {
        if self.item_start.is_some() {
            return Ok(());
        }
        if self.doc[self.pos..until]
            .iter()
            .all(|b| b.is_ascii_whitespace())
        {
            Ok(())
        } else {
            Err("unexpected text outside the pool's items".into())
        }
    }

    fn check_size(&self) -> Result<(), String> {
        let start = self.item_start.unwrap_or(self.pos);
        if self.doc.len() - start > self.max_item {
            return Err(format!(
                "one item of the pool exceeds the limit of {} bytes",
                self.max_item
            ));
        }
        Ok(())
    }

    /// Classifies the markup at `lt` (a `<`).
    fn markup(&self, lt: usize) -> Result<Markup, String> {
        let rest = &self.doc[lt..];
        let find = |needle: &[u8], from: usize| {
            memchr::memmem::find(&rest[from..], needle).map(|i| lt + from + i + needle.len())
        };
        let Some(&next) = rest.get(1) else {
            return Ok(Markup::Incomplete);
        };
        let found = match next {
            b'?' => find(b"?>", 2).map(Markup::Skip),
            b'!' => {
                if rest.len() < 9 {
                    if !b"<![CDATA[".starts_with(rest)
                        && !b"<!--".starts_with(&rest[..rest.len().min(4)])
                    {
                        return Err("DOCTYPE or unknown declaration in the payload".into());
                    }
                    return Ok(Markup::Incomplete);
                }
                if rest.starts_with(b"<!--") {
                    find(b"-->", 4).map(Markup::Skip)
                } else if rest.starts_with(b"<![CDATA[") {
                    if self.item_start.is_none() {
                        return Err("CDATA section outside the pool's items".into());
                    }
                    find_cdata_end(&rest[9..]).map(|i| Markup::Skip(lt + 9 + i + 3))
                } else {
                    return Err("DOCTYPE or unknown declaration in the payload".into());
                }
            }
            b'/' => memchr::memchr(b'>', rest).map(|i| Markup::End(lt + i + 1)),
            _ => tag_end(rest).map(|i| Markup::Start {
                end: lt + i + 1,
                empty: rest[i - 1] == b'/',
            }),
        };
        Ok(found.unwrap_or(Markup::Incomplete))
    }

    /// Drops the bytes of items already handed out when they make up most of the buffer.
    fn compact(&mut self) {
        let keep_from = self.item_start.unwrap_or(self.pos);
        if keep_from > 0 && keep_from >= self.doc.len() / 2 {
            self.doc.drain(..keep_from);
            self.pos -= keep_from;
            if let Some(start) = &mut self.item_start {
                *start -= keep_from;
            }
        }
    }

    /// At the end of the payload: the root element must be complete.
    fn check_complete(&mut self) -> Result<(), String> {
        if self.next_item()?.is_some() {
            return Err("internal: item left undecoded".into());
        }
        match self.root {
            RootState::After => Ok(()),
            RootState::Before => Err("the payload holds no XML document".into()),
            RootState::Inside => Err("the payload document is truncated".into()),
        }
    }
}

/// Offset of the `]]>` ending a CDATA section in `content`. Sections are short and rarely
/// hold a `]`: a memchr loop beats building a substring searcher for each one.
fn find_cdata_end(content: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = memchr::memchr(b']', &content[from..]) {
        let at = from + i;
        if content[at..].starts_with(b"]]>") {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Offset of the `>` closing the start tag at the beginning of `tag`, skipping quoted
/// attribute values (where `>` is allowed).
fn tag_end(tag: &[u8]) -> Option<usize> {
    let mut i = 1;
    loop {
        let found = memchr::memchr3(b'>', b'"', b'\'', &tag[i..])?;
        let at = i + found;
        match tag[at] {
            b'>' => return Some(at),
            quote => {
                let close = memchr::memchr(quote, &tag[at + 1..])?;
                i = at + 1 + close + 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{Element, XmlError, XmlReader};

    /// A test item: its element name and every leaf text, in order.
    #[derive(Debug, Clone, PartialEq)]
    struct Item {
        name: String,
        leaves: Vec<String>,
    }

    impl FromXml for Item {
        fn read_xml(reader: &mut XmlReader<'_>, start: &Element<'_>) -> Result<Self, XmlError> {
            fn walk(
                reader: &mut XmlReader<'_>,
                el: &Element<'_>,
                out: &mut Vec<String>,
            ) -> Result<(), XmlError> {
                let mut text = String::new();
                while let Some(node) = reader.next_node(el)? {
                    match node {
                        crate::xml::Node::Text(t) => text.push_str(&t),
                        crate::xml::Node::Element(child) => walk(reader, &child, out)?,
                    }
                }
                if !text.trim().is_empty() {
                    out.push(text);
                }
                Ok(())
            }
            let mut leaves = Vec::new();
            walk(reader, start, &mut leaves)?;
            Ok(Item {
                name: start.name_str().into_owned(),
                leaves,
            })
        }
    }

    fn envelope(document: &str) -> String {
        let mut escaped = String::new();
        crate::xml::escape_into(&mut escaped, document);
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<methodResponse>\r\n<params>\r\n<param><value><array><data>\r\n\
             <value><boolean>1</boolean></value>\r\n<value><string>{escaped}</string></value>\r\n\
             <value><i4>0</i4></value>\r\n</data></array></value></param>\r\n</params>\r\n</methodResponse>\r\n"
        )
    }

    const FAILURE: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<methodResponse>\r\n<params>\r\n<param><value><array><data>\r\n\
        <value><boolean>0</boolean></value>\r\n<value><string>[one.vmpool.info] User couldn't be authenticated, aborting call.</string></value>\r\n\
        <value><i4>256</i4></value>\r\n<value><i4>-1</i4></value>\r\n<value><i8>-1</i8></value>\r\n</data></array></value></param>\r\n</params>\r\n</methodResponse>\r\n";

    fn decode_chunks(body: &[u8], chunk_sizes: &mut dyn FnMut() -> usize) -> Vec<Result<Item>> {
        let mut decoder = PoolDecoder::<Item>::new();
        let mut out = Vec::new();
        let mut rest = body;
        while !rest.is_empty() {
            let n = chunk_sizes().clamp(1, rest.len());
            decoder.feed(&rest[..n]);
            rest = &rest[n..];
            while let Some(item) = decoder.next_item() {
                out.push(item);
            }
        }
        decoder.finish();
        while let Some(item) = decoder.next_item() {
            out.push(item);
        }
        out
    }

    fn ok_items(results: Vec<Result<Item>>) -> Vec<Item> {
        results
            .into_iter()
            .collect::<Result<Vec<_>>>()
            .expect("no error")
    }

    const POOL: &str = "<?xml version=\"1.0\"?>\n<VM_POOL><VM><ID>0</ID><NAME><![CDATA[a<b>&c]]></NAME>\
        <TEMPLATE><X><![CDATA[</VM>]]></X><!-- </VM> --><Y>1 &amp; 2 &#233; &lt;/VM&gt;</Y><E/></TEMPLATE></VM>\
        <VM><ID>1</ID><P attr=\"a>b\">q</P></VM><VM/>\n</VM_POOL>";

    fn expected() -> Vec<Item> {
        vec![
            Item {
                name: "VM".into(),
                leaves: vec![
                    "0".into(),
                    "a<b>&c".into(),
                    "</VM>".into(),
                    "1 & 2 é </VM>".into(),
                ],
            },
            Item {
                name: "VM".into(),
                leaves: vec!["1".into(), "q".into()],
            },
            Item {
                name: "VM".into(),
                leaves: vec![],
            },
        ]
    }

    #[test]
    fn every_split_point_gives_the_same_items() {
        let body = envelope(POOL);
        let body = body.as_bytes();
        for split in 0..=body.len() {
            let mut decoder = PoolDecoder::<Item>::new();
            decoder.feed(&body[..split]);
            decoder.feed(&body[split..]);
            decoder.finish();
            let mut got = Vec::new();
            while let Some(item) = decoder.next_item() {
                got.push(item.unwrap_or_else(|e| panic!("split {split}: {e}")));
            }
            assert_eq!(got, expected(), "split at {split}");
        }
    }

    #[test]
    fn byte_by_byte_and_irregular_chunks() {
        let body = envelope(POOL);
        assert_eq!(
            ok_items(decode_chunks(body.as_bytes(), &mut || 1)),
            expected()
        );
        let mut sizes = [3usize, 1, 7, 2, 13, 5].into_iter().cycle();
        assert_eq!(
            ok_items(decode_chunks(body.as_bytes(), &mut || sizes
                .next()
                .unwrap())),
            expected()
        );
    }

    #[test]
    fn items_come_out_before_the_body_ends() {
        let body = envelope(POOL);
        let cut = body.find("&lt;VM/&gt;").unwrap();
        let mut decoder = PoolDecoder::<Item>::new();
        decoder.feed(&body.as_bytes()[..cut]);
        assert_eq!(
            decoder.ready_len(),
            2,
            "two VMs complete before the third arrives"
        );
    }

    #[test]
    fn failure_array_yields_the_opennebula_error() {
        for chunk in [1, 5, 4096] {
            let results = decode_chunks(FAILURE.as_bytes(), &mut || chunk);
            assert_eq!(results.len(), 1);
            let err = results.into_iter().next().unwrap().unwrap_err();
            let one = err.one_error().expect("an OpenNebula error");
            assert_eq!(one.code, crate::ErrorCode::Authentication);
            assert!(one.message.contains("authenticated"));
        }
    }

    #[test]
    fn fault_yields_the_fault() {
        let fault = crate::wire::encode_fault(-506, "Requested method 'one.nope' not defined");
        let results = decode_chunks(fault.as_bytes(), &mut || 3);
        assert!(matches!(
            results.as_slice(),
            [Err(Error::Fault { code: -506, .. })]
        ));
    }

    #[test]
    fn empty_pools() {
        for doc in ["<VM_POOL/>", "<VM_POOL></VM_POOL>", "<VM_POOL>\n</VM_POOL>"] {
            let results = decode_chunks(envelope(doc).as_bytes(), &mut || 2);
            assert!(results.is_empty(), "{doc}: {results:?}");
        }
    }

    #[test]
    fn unusual_but_valid_envelope_is_decoded_buffered() {
        // Payload as an untyped value in CDATA: not the streamable shape, still correct.
        let body = format!(
            "<methodResponse><params><param><value><array><data><value><boolean>1</boolean></value>\
             <value><![CDATA[{POOL}]]></value><value><i4>0</i4></value></data></array></value></param></params></methodResponse>"
        );
        let body = body
            .replace("<![CDATA[a<b>&c]]>", "x")
            .replace("<![CDATA[</VM>]]>", "y");
        let items = ok_items(decode_chunks(body.as_bytes(), &mut || 11));
        assert_eq!(items.len(), 3);
    }

    #[test]
    fn truncated_input_is_an_error_at_every_length() {
        let body = envelope(POOL);
        let body = body.as_bytes();
        for len in 0..body.len() - 2 {
            let results = decode_chunks(&body[..len], &mut || 4);
            assert!(
                results.last().is_some_and(|r| r.is_err()),
                "truncated at {len} must end with an error: {results:?}"
            );
        }
    }

    #[test]
    fn hostile_payloads_are_errors_not_panics() {
        let deep = format!(
            "<VM_POOL>{}{}</VM_POOL>",
            "<a>".repeat(300),
            "</a>".repeat(300)
        );
        for doc in [
            "<!DOCTYPE x [<!ENTITY a \"b\">]><VM_POOL/>",
            "<VM_POOL><VM></X></VM_POOL>",
            "<VM_POOL>text<VM/></VM_POOL>",
            "<VM_POOL/><VM_POOL/>",
            "<VM_POOL></VM_POOL></VM>",
            "<VM_POOL><![CDATA[x]]></VM_POOL>",
            deep.as_str(),
            "<VM_POOL><VM><ID>1</ID></VM>",
            "",
        ] {
            let results = decode_chunks(envelope(doc).as_bytes(), &mut || 3);
            assert!(
                results.last().is_some_and(|r| r.is_err()),
                "{doc}: {results:?}"
            );
        }
        // Broken entity in the escaped payload.
        let body = envelope("<VM_POOL><VM/></VM_POOL>").replace("&lt;VM/", "&bogus;VM/");
        assert!(decode_chunks(body.as_bytes(), &mut || 3)
            .last()
            .is_some_and(|r| r.is_err()));
        // Success flag but a broken tail.
        let body = envelope("<VM_POOL/>").replace("<i4>0</i4>", "<i4>0</i5>");
        assert!(decode_chunks(body.as_bytes(), &mut || 3)
            .last()
            .is_some_and(|r| r.is_err()));
    }

    #[test]
    fn oversized_item_is_refused() {
        let doc = format!("<VM_POOL><VM>{}</VM></VM_POOL>", "x".repeat(5000));
        let mut decoder = PoolDecoder::<Item>::new().with_max_item_size(1000);
        for chunk in envelope(&doc).as_bytes().chunks(100) {
            decoder.feed(chunk);
        }
        decoder.finish();
        let err = decoder.next_item().unwrap().unwrap_err();
        assert!(err.to_string().contains("exceeds"), "{err}");
        assert!(decoder.next_item().is_none());
    }

    #[test]
    fn an_item_that_fails_to_decode_does_not_stop_the_others() {
        let doc = "<VM_POOL><VM><A>&#xZZ;</A></VM><VM><ID>2</ID></VM></VM_POOL>";
        // The inner bad entity survives escaping as "&amp;#xZZ;" and fails only in that item.
        let results = decode_chunks(envelope(doc).as_bytes(), &mut || 9);
        assert_eq!(results.len(), 2);
        assert!(results[0].is_err());
        assert_eq!(results[1].as_ref().unwrap().leaves, vec!["2".to_string()]);
    }
}
