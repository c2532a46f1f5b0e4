//! The sans-IO gRPC codec of OpenNebula's API (7.2+, oned's port 2634): request and answer
//! messages, gRPC framing, and status mapping, driven by the method table.
//!
//! oned's messages are flat (scalars, strings, one `repeated int32`), so they are encoded and
//! decoded here by hand from each method's row of [`METHODS`](crate::api::METHODS) (field
//! numbers and protobuf types, see [`ProtoField`](crate::rpc::ProtoField)) instead of from generated message types:
//! one table-driven encoder serves all 307 rpcs, nothing needs `protoc` or 307 generated
//! structs, and the `xml` field of a large answer can be decoded while its bytes arrive
//! ([`XmlFieldDecoder`]), which a whole-message decoder cannot do.
//!
//! The client's gRPC transport (feature `grpc`) uses this module; a gRPC server (the test
//! server's endpoint) uses the other direction: [`decode_request`], [`encode_reply`],
//! [`status_for`], and [`method_by_path`](crate::api::method_by_path).
//!
//! ```
//! use opennebula::api::{method_info, request};
//! use opennebula::grpc;
//!
//! let info = method_info("vm.info").unwrap();
//! let message = grpc::encode_request(info, "oneadmin:pw", request::vm::info(42, true).params())?;
//! assert_eq!(message, b"\x0a\x0boneadmin:pw\x10\x2a\x18\x01");
//! let (session, params) = grpc::decode_request(info, &message)?;
//! assert_eq!((session.as_str(), params), ("oneadmin:pw", vec![42.into(), true.into()]));
//! # Ok::<(), opennebula::Error>(())
//! ```

use crate::error::{DecodeStage, Error, ErrorCode, GrpcCode, OneError, Result};
use crate::rpc::{GrpcReply, MethodInfo, ProtoType};
use crate::wire::Value;

/// Protobuf wire types.
const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

fn put_tag(out: &mut Vec<u8>, number: u32, wire_type: u8) {
    put_varint(out, (u64::from(number) << 3) | u64::from(wire_type));
}

fn put_bytes(out: &mut Vec<u8>, number: u32, bytes: &[u8]) {
    put_tag(out, number, LEN);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// The number in `value` for a numeric field, or `None` if it is not a number.
fn number(value: &Value) -> Option<i64> {
    match value {
        Value::Int(i) => Some(i64::from(*i)),
        Value::I8(i) => Some(*i),
        _ => None,
    }
}

fn mismatch(method: &MethodInfo, name: &str, ty: ProtoType, value: &Value) -> Error {
    Error::InvalidArgument(format!(
        "{}: parameter `{name}` goes in a gRPC {ty:?} field; a {} does not fit",
        method.name,
        match value {
            Value::Int(_) | Value::I8(_) => format!("number out of range ({value})"),
            other => format!("XML-RPC {}", other.type_name()),
        }
    ))
}

/// Encodes the request message of `method` (without gRPC's 5-byte prefix): the session as
/// field 1, then `params` in wire order (the typed builders' parameters, or a call's by name),
/// the table's default for each trailing parameter not given (proto3 has no "absent"), and
/// fields at their protobuf default left out, as protobuf's own serializers do.
///
/// Refuses, as [`Error::InvalidArgument`] (nothing sent), a method without a gRPC rpc, more
/// parameters than the rpc has, a missing required one, and a value of the wrong type.
/// `uint32`/`uint64` fields take the two's complement of a negative number, as oned's C++
/// does with an XML-RPC `int`.
pub fn encode_request(method: &MethodInfo, session: &str, params: &[Value]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(message_len_hint(session, params));
    encode_request_into(&mut out, method, session, params)?;
    Ok(out)
}

fn message_len_hint(session: &str, params: &[Value]) -> usize {
    let params: usize = params
        .iter()
        .map(|p| match p {
            Value::String(s) => s.len() + 6,
            Value::Array(items) => items.len() * 5 + 6,
            _ => 11,
        })
        .sum();
    session.len() + 6 + params
}

/// [`encode_request`], appending to `out`.
pub fn encode_request_into(
    out: &mut Vec<u8>,
    method: &MethodInfo,
    session: &str,
    params: &[Value],
) -> Result<()> {
    if method.grpc.is_none() {
        return Err(Error::InvalidArgument(format!(
            "{} has no gRPC rpc (not in oned's gRPC API)",
            method.name
        )));
    }
    if params.len() > method.params.len() {
        return Err(Error::InvalidArgument(format!(
            "{}: {} parameters given, the rpc takes {}",
            method.name,
            params.len(),
            method.params.len()
        )));
    }
    if !session.is_empty() {
        put_bytes(out, 1, session.as_bytes());
    }
    for (i, param) in method.params.iter().enumerate() {
        let value = match params.get(i).or(param.default_value.as_ref()) {
            Some(value) => value,
            None => {
                return Err(Error::InvalidArgument(format!(
                    "{}: the required parameter `{}` is missing",
                    method.name, param.name
                )))
            }
        };
        let Some(field) = param.proto else {
            continue; // not in the gRPC message (allocatedb's unused string)
        };
        let fail = || mismatch(method, param.name, field.ty, value);
        let n = field.number;
        match field.ty {
            ProtoType::Int32 => {
                let v = number(value).ok_or_else(fail)?;
                let v = i32::try_from(v).map_err(|_| fail())?;
                if v != 0 {
                    put_tag(out, n, VARINT);
                    put_varint(out, i64::from(v) as u64);
                }
            }
            ProtoType::Sint32 => {
                let v = number(value).ok_or_else(fail)?;
                let v = i32::try_from(v).map_err(|_| fail())?;
                if v != 0 {
                    put_tag(out, n, VARINT);
                    put_varint(out, u64::from(((v << 1) ^ (v >> 31)) as u32));
                }
            }
            ProtoType::Int64 | ProtoType::Uint64 => {
                let v = number(value).ok_or_else(fail)?;
                if v != 0 {
                    put_tag(out, n, VARINT);
                    put_varint(out, v as u64);
                }
            }
            ProtoType::Uint32 => {
                let v = number(value).ok_or_else(fail)?;
                let v = u32::try_from(v)
                    .or_else(|_| i32::try_from(v).map(|v| v as u32))
                    .map_err(|_| fail())?;
                if v != 0 {
                    put_tag(out, n, VARINT);
                    put_varint(out, u64::from(v));
                }
            }
            ProtoType::Bool => {
                let Value::Bool(b) = value else {
                    return Err(fail());
                };
                if *b {
                    put_tag(out, n, VARINT);
                    out.push(1);
                }
            }
            ProtoType::String => {
                let Value::String(s) = value else {
                    return Err(fail());
                };
                if !s.is_empty() {
                    put_bytes(out, n, s.as_bytes());
                }
            }
            ProtoType::RepeatedInt32 => {
                let Value::Array(items) = value else {
                    return Err(fail());
                };
                let mut packed = Vec::with_capacity(items.len() * 5);
                for item in items {
                    let v = number(item)
                        .and_then(|v| i32::try_from(v).ok())
                        .ok_or_else(|| mismatch(method, param.name, field.ty, item))?;
                    put_varint(&mut packed, i64::from(v) as u64);
                }
                if !packed.is_empty() {
                    put_bytes(out, n, &packed);
                }
            }
        }
    }
    Ok(())
}

/// One field read from a protobuf message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed(u64),
}

/// Reads the fields of a protobuf message.
struct FieldReader<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> FieldReader<'a> {
    fn new(input: &'a [u8]) -> Self {
        FieldReader { input, pos: 0 }
    }

    fn error(&self, what: &str) -> Error {
        Error::Decode {
            stage: DecodeStage::Envelope,
            message: format!("malformed protobuf message: {what}"),
            position: Some(self.pos as u64),
        }
    }

    fn varint(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(&b) = self.input.get(self.pos) else {
                return Err(self.error("truncated varint"));
            };
            self.pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(self.error("varint longer than ten bytes"))
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(len)
            .filter(|&end| end <= self.input.len())
            .ok_or_else(|| self.error("field runs past the end"))?;
        let bytes = &self.input[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn next(&mut self) -> Result<Option<(u32, Field<'a>)>> {
        if self.pos == self.input.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let number = u32::try_from(key >> 3).map_err(|_| self.error("field number"))?;
        if number == 0 {
            return Err(self.error("field number 0"));
        }
        let field = match (key & 7) as u8 {
            VARINT => Field::Varint(self.varint()?),
            LEN => {
                let len = usize::try_from(self.varint()?).map_err(|_| self.error("length"))?;
                Field::Bytes(self.take(len)?)
            }
            FIXED64 => Field::Fixed(u64::from_le_bytes(
                self.take(8)?.try_into().unwrap_or_default(),
            )),
            FIXED32 => Field::Fixed(u64::from(u32::from_le_bytes(
                self.take(4)?.try_into().unwrap_or_default(),
            ))),
            _ => return Err(self.error("unsupported wire type (groups)")),
        };
        Ok(Some((number, field)))
    }
}

fn utf8(bytes: &[u8], what: &str) -> Result<String> {
    String::from_utf8(bytes.to_vec())
        .map_err(|_| Error::decode(DecodeStage::Envelope, format!("{what} is not UTF-8")))
}

/// Decodes a request message of `method` into the session and the parameters in wire order
/// (what an XML-RPC call of the same method carries: every parameter, fields left out at their
/// protobuf default, a parameter not in the gRPC message at its table default or empty).
/// For a gRPC server.
pub fn decode_request(method: &MethodInfo, message: &[u8]) -> Result<(String, Vec<Value>)> {
    let mut session = String::new();
    let mut params: Vec<Value> = method
        .params
        .iter()
        .map(|p| match (p.proto, &p.default_value) {
            (None, Some(default)) => default.clone(),
            (None, None) => Value::String(String::new()),
            (Some(field), _) => match field.ty {
                ProtoType::Int32 | ProtoType::Sint32 | ProtoType::Uint32 => Value::Int(0),
                ProtoType::Int64 | ProtoType::Uint64 => match p.wire {
                    crate::rpc::WireType::I8 => Value::I8(0),
                    _ => Value::Int(0),
                },
                ProtoType::Bool => Value::Bool(false),
                ProtoType::String => Value::String(String::new()),
                ProtoType::RepeatedInt32 => Value::Array(Vec::new()),
            },
        })
        .collect();
    let mut reader = FieldReader::new(message);
    while let Some((number, field)) = reader.next()? {
        if number == 1 {
            if let Field::Bytes(b) = field {
                session = utf8(b, "the session")?;
            }
            continue;
        }
        let Some((i, param)) = method
            .params
            .iter()
            .enumerate()
            .find(|(_, p)| p.proto.is_some_and(|f| f.number == number))
        else {
            continue; // unknown fields are skipped, as protobuf does
        };
        let ty = param.proto.map(|f| f.ty).unwrap_or(ProtoType::String);
        let wrong = || {
            Error::decode(
                DecodeStage::Envelope,
                format!("field {number} of {} has the wrong wire type", method.name),
            )
        };
        params[i] = match (ty, field) {
            (ProtoType::Int32, Field::Varint(v)) => Value::Int(v as i32),
            (ProtoType::Sint32, Field::Varint(v)) => {
                let v = v as u32;
                Value::Int(((v >> 1) as i32) ^ -((v & 1) as i32))
            }
            (ProtoType::Uint32, Field::Varint(v)) => Value::Int(v as u32 as i32),
            (ProtoType::Int64 | ProtoType::Uint64, Field::Varint(v)) => match param.wire {
                crate::rpc::WireType::I8 => Value::I8(v as i64),
                // vmpool.accounting: int64 over gRPC, truncated to int by oned.
                _ => Value::Int(v as i64 as i32),
            },
            (ProtoType::Bool, Field::Varint(v)) => Value::Bool(v != 0),
            (ProtoType::String, Field::Bytes(b)) => Value::String(utf8(b, "a string field")?),
            (ProtoType::RepeatedInt32, Field::Bytes(packed)) => {
                let mut items = match std::mem::replace(&mut params[i], Value::Nil) {
                    Value::Array(items) => items,
                    _ => Vec::new(),
                };
                let mut inner = FieldReader::new(packed);
                while inner.pos < packed.len() {
                    items.push(Value::Int(inner.varint()? as i32));
                }
                Value::Array(items)
            }
            (ProtoType::RepeatedInt32, Field::Varint(v)) => {
                let mut items = match std::mem::replace(&mut params[i], Value::Nil) {
                    Value::Array(items) => items,
                    _ => Vec::new(),
                };
                items.push(Value::Int(v as i32));
                Value::Array(items)
            }
            _ => return Err(wrong()),
        };
    }
    Ok((session, params))
}

/// The answer of an rpc, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer<'a> {
    /// `ResponseID.oid`.
    Id(i32),
    /// `ResponseXML.xml`: the document (or string), plain XML.
    Xml(&'a [u8]),
    /// A raft answer: `success` and the term (`uint32`) or index (`uint64`).
    Raft {
        /// The call succeeded.
        success: bool,
        /// The term or log index.
        value: u64,
    },
}

impl Answer<'_> {
    /// The payload as the XML-RPC call of the same method returns it: the id as
    /// [`Value::Int`], the xml as [`Value::String`], a raft term as `Int` and an index as
    /// [`Value::I8`]. A raft answer with `success = false` is an OpenNebula error.
    pub fn into_value(self, method: &str, reply: GrpcReply) -> Result<Value> {
        Ok(match self {
            Answer::Id(id) => Value::Int(id),
            Answer::Xml(xml) => Value::String(utf8(xml, "the xml field")?),
            Answer::Raft {
                success: false,
                value,
            } => {
                return Err(Error::OpenNebula(OneError {
                    code: ErrorCode::Internal,
                    message: format!("[{method}] refused (success = false, {value})"),
                    object_id: i32::try_from(value).ok(),
                    grpc_code: Some(GrpcCode::Ok),
                }))
            }
            Answer::Raft { value, .. } if reply == GrpcReply::SuccessIndex => {
                Value::I8(value as i64)
            }
            Answer::Raft { value, .. } => Value::Int(value as u32 as i32),
        })
    }
}

/// Decodes an answer message of the kind `reply`.
pub fn decode_reply(reply: GrpcReply, message: &[u8]) -> Result<Answer<'_>> {
    let mut reader = FieldReader::new(message);
    let mut answer = match reply {
        GrpcReply::Id => Answer::Id(0),
        GrpcReply::Xml => Answer::Xml(b""),
        GrpcReply::SuccessTerm | GrpcReply::SuccessIndex => Answer::Raft {
            success: false,
            value: 0,
        },
    };
    while let Some((number, field)) = reader.next()? {
        match (&mut answer, number, field) {
            (Answer::Id(id), 1, Field::Varint(v)) => *id = v as i32,
            (Answer::Xml(xml), 1, Field::Bytes(b)) => *xml = b,
            (Answer::Raft { success, .. }, 1, Field::Varint(v)) => *success = v != 0,
            (Answer::Raft { value, .. }, 2, Field::Varint(v)) => *value = v,
            (_, 1, _) => {
                return Err(Error::decode(
                    DecodeStage::Envelope,
                    "the answer's field 1 has the wrong wire type",
                ))
            }
            _ => {}
        }
    }
    Ok(answer)
}

/// Encodes an answer message (for a gRPC server): `ResponseID` from an `Int`,
/// `ResponseXML` from a `String`, a raft answer from an `Int` (term) or `I8` (index) with
/// `success = true`.
pub fn encode_reply(reply: GrpcReply, value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    match (reply, value) {
        (GrpcReply::Xml, Value::String(s)) => {
            if !s.is_empty() {
                put_bytes(&mut out, 1, s.as_bytes());
            }
        }
        (GrpcReply::Xml, other) => put_bytes(&mut out, 1, other.to_string().as_bytes()),
        (GrpcReply::Id, v) => {
            let id = number(v).unwrap_or_default() as i32;
            if id != 0 {
                put_tag(&mut out, 1, VARINT);
                put_varint(&mut out, i64::from(id) as u64);
            }
        }
        (GrpcReply::SuccessTerm | GrpcReply::SuccessIndex, v) => {
            put_tag(&mut out, 1, VARINT);
            out.push(1);
            let n = number(v).unwrap_or_default();
            let n = if reply == GrpcReply::SuccessTerm {
                u64::from(n as u32)
            } else {
                n as u64
            };
            if n != 0 {
                put_tag(&mut out, 2, VARINT);
                put_varint(&mut out, n);
            }
        }
    }
    out
}

/// gRPC's 5-byte message prefix (uncompressed) for a message of `len` bytes.
pub fn frame_prefix(len: usize) -> [u8; 5] {
    let len = u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes();
    [0, len[0], len[1], len[2], len[3]]
}

/// `message` with its gRPC prefix: a request or answer body.
pub fn frame(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 5);
    out.extend_from_slice(&frame_prefix(message.len()));
    out.extend_from_slice(message);
    out
}

/// The request body (prefix and message) of `method` with `session`, in a buffer reserved
/// once so that it never reallocates with the session in it (the caller wipes it).
pub fn encode_request_body(
    method: &MethodInfo,
    session: &str,
    params: &[Value],
) -> Result<Vec<u8>> {
    // The message without the session first (no secret in it), then the body in one buffer.
    let mut rest = Vec::with_capacity(message_len_hint("", params));
    encode_request_into(&mut rest, method, "", params)?;
    let session_len = if session.is_empty() {
        0
    } else {
        1 + varint_len(session.len() as u64) + session.len()
    };
    let len = session_len + rest.len();
    let mut out = Vec::with_capacity(5 + len);
    out.extend_from_slice(&frame_prefix(len));
    if !session.is_empty() {
        put_bytes(&mut out, 1, session.as_bytes());
    }
    out.extend_from_slice(&rest);
    debug_assert_eq!(out.len(), out.capacity(), "the request body reallocated");
    Ok(out)
}

/// The error an answer's status stands for (`grpc-status` other than 0, with its
/// `grpc-message`).
///
/// oned answers OpenNebula's refusals with a status and `[one.x.y] text` (the same text as
/// the XML-RPC error string): those become [`Error::OpenNebula`] with the code
/// [`GrpcCode::one_error_code`] gives (lossy where oned folds codes: see there) and the
/// status kept in [`OneError::grpc_code`]. `DEADLINE_EXCEEDED` is [`Error::Timeout`]; any
/// other status (`UNIMPLEMENTED`, `RESOURCE_EXHAUSTED`, `UNAVAILABLE`, a status without
/// oned's prefix) is [`Error::Grpc`].
pub fn status_error(code: GrpcCode, message: String) -> Error {
    if code == GrpcCode::DeadlineExceeded {
        return Error::Timeout { timeout: None };
    }
    match code.one_error_code() {
        Some(one) if message.starts_with('[') && message.contains("] ") => {
            Error::OpenNebula(OneError {
                code: one,
                message,
                object_id: None,
                grpc_code: Some(code),
            })
        }
        _ => Error::Grpc { code, message },
    }
}

/// The status and message a gRPC server answers an OpenNebula error with, as oned does: the
/// code mapped by [`GrpcCode::from_one_error_code`], the message as is (oned's messages
/// already start with `[one.x.y]`).
pub fn status_for(error: &OneError) -> (GrpcCode, &str) {
    (GrpcCode::from_one_error_code(error.code), &error.message)
}

/// Reads a field's key and, for a length-delimited field, its length (the length of the
/// value to skip for the others): (number, wire type, value length after the header).
fn field_header(reader: &mut FieldReader<'_>) -> Result<(u64, u8, u64)> {
    let key = reader.varint()?;
    let wire_type = (key & 7) as u8;
    let len = match wire_type {
        LEN => reader.varint()?,
        VARINT => {
            reader.varint()?;
            0
        }
        FIXED64 => 8,
        FIXED32 => 4,
        _ => {
            return Err(Error::decode(
                DecodeStage::Envelope,
                "unsupported protobuf wire type in the answer",
            ))
        }
    };
    Ok((key >> 3, wire_type, len))
}

/// Incremental reader of a gRPC answer body (prefixed messages) whose one message is a
/// `ResponseXML`: hands out the bytes of its `xml` field as they arrive, so that a pool of
/// any size is decoded in constant memory. Other fields are skipped.
#[derive(Debug, Default)]
pub struct XmlFieldDecoder {
    state: XmlState,
    /// Bytes of a header (frame prefix, field key and length) cut by a chunk boundary.
    pending: Vec<u8>,
    /// Bytes left in the current message.
    message_left: u64,
    /// Bytes left in the current field (xml or skipped).
    field_left: u64,
    messages: u32,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum XmlState {
    /// Before a frame prefix.
    #[default]
    Prefix,
    /// Before a field key inside a message.
    Key,
    /// Inside the xml field.
    Xml,
    /// Inside a field being skipped.
    Skip,
}

impl XmlFieldDecoder {
    /// A decoder for one answer body.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next chunk of the body; appends the xml bytes it holds to `out`.
    pub fn feed(&mut self, mut chunk: &[u8], out: &mut Vec<u8>) -> Result<()> {
        while !chunk.is_empty() {
            match self.state {
                XmlState::Prefix => {
                    let need = 5 - self.pending.len();
                    let take = need.min(chunk.len());
                    self.pending.extend_from_slice(&chunk[..take]);
                    chunk = &chunk[take..];
                    if self.pending.len() < 5 {
                        return Ok(());
                    }
                    if self.pending[0] != 0 {
                        return Err(Error::decode(
                            DecodeStage::Envelope,
                            "a compressed gRPC message (none was asked for)",
                        ));
                    }
                    let len = u32::from_be_bytes([
                        self.pending[1],
                        self.pending[2],
                        self.pending[3],
                        self.pending[4],
                    ]);
                    self.pending.clear();
                    self.messages += 1;
                    if self.messages > 1 {
                        return Err(Error::decode(
                            DecodeStage::Envelope,
                            "more than one message in a unary answer",
                        ));
                    }
                    self.message_left = u64::from(len);
                    self.state = XmlState::Key;
                }
                XmlState::Key => {
                    if self.message_left == 0 {
                        self.state = XmlState::Prefix;
                        continue;
                    }
                    // A key and a length: at most 20 bytes, from `pending` and `chunk`.
                    let before = self.pending.len();
                    let available = (self.message_left as usize).saturating_sub(before);
                    let take = (20 - before).min(chunk.len()).min(available);
                    self.pending.extend_from_slice(&chunk[..take]);
                    let mut reader = FieldReader::new(&self.pending);
                    let parsed = field_header(&mut reader);
                    let (number, wire_type, len) = match parsed {
                        Ok(parsed) => parsed,
                        Err(_)
                            if take == chunk.len()
                                && (self.pending.len() as u64) < self.message_left
                                && self.pending.len() < 20 =>
                        {
                            // The header is cut by the chunk boundary: wait for more.
                            return Ok(());
                        }
                        Err(err) => return Err(err),
                    };
                    let header = reader.pos;
                    let used = header - before;
                    self.pending.clear();
                    chunk = &chunk[used..];
                    self.message_left = self
                        .message_left
                        .checked_sub(header as u64 + len)
                        .ok_or_else(|| {
                            Error::decode(DecodeStage::Envelope, "a field runs past its message")
                        })?;
                    self.field_left = len;
                    self.state = if number == 1 && wire_type == LEN {
                        XmlState::Xml
                    } else {
                        XmlState::Skip
                    };
                }
                XmlState::Xml | XmlState::Skip => {
                    let take = (self.field_left.min(chunk.len() as u64)) as usize;
                    if self.state == XmlState::Xml {
                        out.extend_from_slice(&chunk[..take]);
                    }
                    chunk = &chunk[take..];
                    self.field_left -= take as u64;
                    if self.field_left == 0 {
                        self.state = XmlState::Key;
                    }
                }
            }
        }
        Ok(())
    }

    /// At the end of the body: the message must be complete.
    pub fn finish(&self) -> Result<()> {
        if self.messages == 0 {
            return Err(Error::decode(
                DecodeStage::Envelope,
                "the answer holds no message",
            ));
        }
        let complete = self.pending.is_empty()
            && self.message_left == 0
            && matches!(self.state, XmlState::Key | XmlState::Prefix);
        if complete {
            Ok(())
        } else {
            Err(Error::decode(
                DecodeStage::Envelope,
                "the answer message is truncated",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{method_info, request, Permissions};

    #[test]
    fn varints_and_zigzag_match_protobuf() {
        let mut out = Vec::new();
        put_varint(&mut out, 300);
        assert_eq!(out, [0xac, 0x02]);
        for v in [0u64, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            assert_eq!(out.len(), varint_len(v), "{v}");
            assert_eq!(FieldReader::new(&out).varint().unwrap(), v);
        }
        // sint32 -1 is 1, -2 is 3; int32 -1 is ten bytes.
        let chown = method_info("vm.chown").unwrap();
        let m = encode_request(chown, "", request::vm::chown(5, -1, -2).params()).unwrap();
        assert_eq!(m, [0x10, 5, 0x18, 1, 0x20, 3]);
        let lock = method_info("vm.deploy").unwrap();
        let m = encode_request(lock, "", &[Value::Int(-1), Value::Int(1)]).unwrap();
        assert_eq!(
            &m[..11],
            &[0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]
        );
    }

    #[test]
    fn requests_round_trip_through_the_server_side_decoder() {
        for (request, info) in [
            (
                request::vm::chmod(7, Permissions::from_octal(0o640).unwrap()).returning::<Value>(),
                "vm.chmod",
            ),
            (
                request::user::allocate("bob", "pw", "core", [100, 101]).returning(),
                "user.allocate",
            ),
            (
                request::vmpool::accounting(-2, 0, 2_000_000_000).returning(),
                "vmpool.accounting",
            ),
            (
                request::zone::fed_replicate(5_000_000_000, 3, "sql").returning(),
                "zone.fedreplicate",
            ),
            (
                request::marketapp::allocate_db("ignored", "<X/>").returning(),
                "marketapp.allocatedb",
            ),
        ] {
            let info = method_info(info).unwrap();
            let message = encode_request(info, "u:p", request.params()).unwrap();
            let (session, params) = decode_request(info, &message).unwrap();
            assert_eq!(session, "u:p");
            let mut expected = request.params().to_vec();
            if info.name.ends_with("allocatedb") {
                expected[0] = Value::String(String::new());
            }
            assert_eq!(params, expected, "{}", info.name);
        }
    }

    #[test]
    fn missing_trailing_parameters_take_the_table_default() {
        let deploy = method_info("vm.deploy").unwrap();
        let short = encode_request(deploy, "", &[Value::Int(1), Value::Int(2)]).unwrap();
        // ds_id = -1 is sent (sint32 1); enforce = false and template = "" are proto defaults.
        assert_eq!(short, [0x10, 1, 0x18, 2, 0x28, 1]);
        let err = encode_request(deploy, "", &[Value::Int(1)]).unwrap_err();
        assert!(err.to_string().contains("host_id"), "{err}");
        let err = encode_request(deploy, "", &[Value::from("x"), Value::Int(1)]).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)));
        let too_many = vec![Value::Int(0); 6];
        assert!(encode_request(deploy, "", &too_many).is_err());
    }

    #[test]
    fn the_body_holds_the_session_once_without_reallocating() {
        let info = method_info("vm.info").unwrap();
        let body = encode_request_body(info, "oneadmin:pw", &[Value::Int(42)]).unwrap();
        assert_eq!(
            body,
            frame(&encode_request(info, "oneadmin:pw", &[Value::Int(42)]).unwrap())
        );
    }

    #[test]
    fn answers_decode_and_encode() {
        assert_eq!(decode_reply(GrpcReply::Id, &[]).unwrap(), Answer::Id(0));
        assert_eq!(
            decode_reply(GrpcReply::Id, &[8, 42]).unwrap(),
            Answer::Id(42)
        );
        let xml = encode_reply(GrpcReply::Xml, &Value::from("<VM/>"));
        assert_eq!(
            decode_reply(GrpcReply::Xml, &xml).unwrap(),
            Answer::Xml(b"<VM/>")
        );
        let term = encode_reply(GrpcReply::SuccessTerm, &Value::Int(4));
        assert_eq!(
            decode_reply(GrpcReply::SuccessTerm, &term)
                .unwrap()
                .into_value("one.zone.replicate", GrpcReply::SuccessTerm)
                .unwrap(),
            Value::Int(4)
        );
        // Unknown fields are skipped; broken messages are errors, not panics.
        assert_eq!(
            decode_reply(GrpcReply::Id, &[0x10, 1, 8, 7, 0x1a, 1, b'x']).unwrap(),
            Answer::Id(7)
        );
        for broken in [&[8][..], &[0x0a, 5, b'a'], &[0x0a], &[0xff; 11], &[0x0b]] {
            assert!(decode_reply(GrpcReply::Xml, broken).is_err(), "{broken:?}");
        }
    }

    #[test]
    fn statuses_map_back_to_opennebula_errors() {
        let err = status_error(
            GrpcCode::NotFound,
            "[one.vm.info] Error getting virtual machine [42].".into(),
        );
        let one = err.one_error().unwrap();
        assert_eq!(one.code, ErrorCode::NoExists);
        assert_eq!(one.grpc_code, Some(GrpcCode::NotFound));
        assert_eq!(err.grpc_code(), Some(GrpcCode::NotFound));
        assert!(matches!(
            status_error(GrpcCode::Internal, String::new()),
            Error::Grpc {
                code: GrpcCode::Internal,
                ..
            }
        ));
        assert!(matches!(
            status_error(
                GrpcCode::Unimplemented,
                "/one.x.Y/Z: Method not implemented".into()
            ),
            Error::Grpc {
                code: GrpcCode::Unimplemented,
                ..
            }
        ));
        assert!(status_error(GrpcCode::DeadlineExceeded, String::new()).is_timeout());
    }

    fn xml_answer(xml: &str) -> Vec<u8> {
        frame(&encode_reply(GrpcReply::Xml, &Value::from(xml)))
    }

    #[test]
    fn the_xml_field_comes_out_whatever_the_chunking() {
        let doc = "<VM_POOL>".to_string() + &"<VM><ID>1</ID></VM>".repeat(20) + "</VM_POOL>";
        // An unknown field before and after the xml is skipped.
        let mut message = vec![0x10, 0x05];
        put_bytes(&mut message, 1, doc.as_bytes());
        put_bytes(&mut message, 3, b"ignored");
        let body = frame(&message);
        for size in [1, 2, 3, 5, 7, 64, body.len()] {
            let mut decoder = XmlFieldDecoder::new();
            let mut out = Vec::new();
            for chunk in body.chunks(size) {
                decoder.feed(chunk, &mut out).unwrap();
            }
            decoder.finish().unwrap();
            assert_eq!(out, doc.as_bytes(), "chunks of {size}");
        }
        let body = xml_answer(&doc);
        for cut in 0..body.len() {
            let mut decoder = XmlFieldDecoder::new();
            let mut out = Vec::new();
            let fed = decoder.feed(&body[..cut], &mut out);
            assert!(
                fed.is_err() || decoder.finish().is_err(),
                "truncated at {cut}"
            );
        }
    }
}
