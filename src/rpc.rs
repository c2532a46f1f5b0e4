//! One OpenNebula call as a value, independent of the protocol that carries it.
//!
//! This is the seam between the typed API and the transports (the sans-IO core, in the spirit
//! of kube-core's request builders):
//!
//! - [`crate::api`] *builds* [`Request`]s: the generated builders of [`crate::api::request`]
//!   (and [`Client::call`](crate::Client::call) by name, through the method table) fill in the
//!   method, its parameters, whether it is safe to retry, the method's row of the table
//!   ([`MethodInfo`]: wire types, defaults, gRPC facts) and the type the call returns
//!   ([`Returns`]).
//! - The client *sends* them ([`Client::send`](crate::Client::send)): it adds the session,
//!   applies the timeout, the in-flight cap, the retry policy and logging once, and hands the
//!   encoded call to its transport (XML-RPC over HTTP, or gRPC). A transport reads everything
//!   it needs from the request; it never looks anything up in the API layer.
//!
//! ```
//! use opennebula::api::request;
//! use opennebula::rpc::ReturnKind;
//!
//! let r = request::vm::info(42, false);
//! assert_eq!(r.method(), "one.vm.info");
//! assert!(r.idempotent());
//! assert_eq!(r.returns(), ReturnKind::Document);
//! assert_eq!(r.info().unwrap().params.len(), 2);
//! ```

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use crate::error::{DecodeStage, Error, Result};
use crate::wire::{Value, ValueTypeError};
use crate::xml::{FromXml, XmlError, XmlReader};

/// One call ready to send: the method, its parameters (without the session, which the client
/// adds), whether it may be retried, the method's row of the method table, and the type `R`
/// the call returns.
///
/// Built by the generated builders of [`crate::api::request`] (`request::vm::info(42, false)`
/// is a `Request<Vm>`) or by name with [`Request::by_name`]; sent with
/// [`Client::send`](crate::Client::send).
///
/// A parameter that could not be converted (a number outside 32 bits, a template that no
/// wire form carries exactly) makes the request invalid: [`check`](Self::check) and the
/// client refuse it with [`Error::InvalidArgument`] before anything is sent.
pub struct Request<R = Value> {
    method: Cow<'static, str>,
    params: Vec<Value>,
    idempotent: bool,
    info: Option<&'static MethodInfo>,
    /// Parameters were built by the typed builders: their wire types are checked.
    typed: bool,
    problem: Option<String>,
    returns: PhantomData<fn() -> R>,
}

impl<R> Clone for Request<R> {
    fn clone(&self) -> Self {
        Request {
            method: self.method.clone(),
            params: self.params.clone(),
            idempotent: self.idempotent,
            info: self.info,
            typed: self.typed,
            problem: self.problem.clone(),
            returns: PhantomData,
        }
    }
}

impl<R> PartialEq for Request<R> {
    fn eq(&self, other: &Self) -> bool {
        self.method == other.method
            && self.params == other.params
            && self.idempotent == other.idempotent
            && self.problem == other.problem
    }
}

impl<R> fmt::Debug for Request<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("params", &self.params)
            .field("idempotent", &self.idempotent)
            .field("returns", &std::any::type_name::<R>())
            .field("problem", &self.problem)
            .finish()
    }
}

impl<R> Request<R> {
    /// A request for the method described by `info` (a row of
    /// [`METHODS`](crate::api::METHODS)), with its parameters in wire order. Idempotency comes
    /// from the table.
    pub fn new(info: &'static MethodInfo, params: Vec<Value>) -> Self {
        Request {
            method: Cow::Borrowed(info.name),
            params,
            idempotent: info.idempotent,
            info: Some(info),
            typed: true,
            problem: None,
            returns: PhantomData,
        }
    }

    /// A request for the method described by `info` with parameters given by the caller
    /// (a call by name): sent as given, their types are not checked against the table (the
    /// server answers a mismatch with a fault, as it would to any client).
    pub fn untyped(info: &'static MethodInfo, params: Vec<Value>) -> Self {
        Request {
            typed: false,
            ..Request::new(info, params)
        }
    }

    /// A request for a method the table does not describe, sent as given (`method` with its
    /// `one.` prefix, if it has one). `idempotent` says whether it may be retried after a
    /// failure that may have reached the server.
    pub fn unlisted(
        method: impl Into<Cow<'static, str>>,
        params: Vec<Value>,
        idempotent: bool,
    ) -> Self {
        Request {
            method: method.into(),
            params,
            idempotent,
            info: None,
            typed: false,
            problem: None,
            returns: PhantomData,
        }
    }

    /// The same call, expecting another return type (e.g. a [`RawDocument`](crate::api::RawDocument)
    /// instead of the model).
    pub fn returning<T>(self) -> Request<T> {
        Request {
            method: self.method,
            params: self.params,
            idempotent: self.idempotent,
            info: self.info,
            typed: self.typed,
            problem: self.problem,
            returns: PhantomData,
        }
    }

    /// Marks the request invalid: it will be refused with [`Error::InvalidArgument`] carrying
    /// `why`, before anything is sent. The first problem recorded is kept.
    pub fn refuse(mut self, why: impl Into<String>) -> Self {
        if self.problem.is_none() {
            self.problem = Some(why.into());
        }
        self
    }

    /// The full method name: `one.vm.info`.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The parameters in wire order, without the session. Trailing optional parameters a
    /// short form leaves at their server default are not in the list (XML-RPC omits them;
    /// gRPC, which has no "absent", sends the table's default).
    pub fn params(&self) -> &[Value] {
        &self.params
    }

    /// The parameters, taken out of the request.
    pub fn into_params(self) -> Vec<Value> {
        self.params
    }

    /// Whether the method only reads, so that sending it twice is harmless (the retry policy
    /// retries such calls after failures that may have reached the server).
    pub fn idempotent(&self) -> bool {
        self.idempotent
    }

    /// The method's row of the method table, if the table knows the method.
    pub fn info(&self) -> Option<&'static MethodInfo> {
        self.info
    }

    /// What the call returns.
    pub fn returns(&self) -> ReturnKind
    where
        R: Returns,
    {
        R::KIND
    }

    /// Drops the parameters after the first `len` (short forms leave trailing parameters at
    /// their server default).
    pub(crate) fn truncate_params(mut self, len: usize) -> Self {
        self.params.truncate(len);
        self
    }

    /// Checks the request before anything is sent: no parameter failed to convert, and, for
    /// a request of the typed builders, each parameter has the XML-RPC type oned expects
    /// (xmlrpc-c refuses an `<i8>` where an `<int>` is expected, and its fault does not say
    /// which parameter) and an array of IDs holds only `<int>`s. A request built by name
    /// ([`untyped`](Self::untyped), [`unlisted`](Self::unlisted)) is checked for conversion
    /// problems only. The client calls this for every request.
    ///
    /// ```
    /// use opennebula::api::request;
    /// assert!(request::vm::info(7_i64, false).check().is_ok());
    /// let err = request::vm::info(5_000_000_000_i64, false).check().unwrap_err();
    /// assert!(matches!(err, opennebula::Error::InvalidArgument(_)));
    /// ```
    pub fn check(&self) -> Result<()> {
        if let Some(problem) = &self.problem {
            return Err(Error::InvalidArgument(format!(
                "{}: {problem}",
                self.method
            )));
        }
        let Some(info) = self.info.filter(|_| self.typed) else {
            return Ok(());
        };
        for (value, param) in self.params.iter().zip(info.params) {
            let fits = param.wire.matches(value)
                && match value {
                    Value::Array(items) => items.iter().all(|v| matches!(v, Value::Int(_))),
                    _ => true,
                };
            if !fits {
                let shown = match value {
                    Value::I8(n) => n.to_string(),
                    Value::Array(_) => "an array with a number outside 32 bits".to_string(),
                    other => other.type_name().to_string(),
                };
                return Err(Error::InvalidArgument(format!(
                    "{}: parameter `{}` must be an XML-RPC {} (OpenNebula's 32-bit integer for IDs and numbers); got {shown}",
                    self.method,
                    param.name,
                    param.wire.as_str(),
                )));
            }
        }
        Ok(())
    }
}

/// What a call returns, as the transport must read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReturnKind {
    /// An object ID (`i32`; gRPC's `ResponseID`).
    Id,
    /// A 64-bit integer (a replication log index).
    Int64,
    /// A string (gRPC carries it in `ResponseXML.xml`).
    String,
    /// A boolean.
    Bool,
    /// An XML document, decoded into a type (gRPC's `ResponseXML`).
    Document,
    /// Whatever the method returns, as a [`Value`].
    Value,
}

/// A type a call can return: how to build it from what the transport received.
///
/// Implemented for [`Value`] (anything), `i32`, `i64`, `String`, `bool`, `()` and
/// `Vec<Value>`, and for every document type ([`FromXml`]: the [models](crate::models),
/// [`RawDocument`](crate::api::RawDocument), your own).
pub trait Returns: Sized + Send + 'static {
    /// What the call returns.
    const KIND: ReturnKind;

    /// Builds the result from the call's payload (XML-RPC's element 1 of the response array;
    /// over gRPC, `ResponseID.oid` as [`Value::Int`] and `ResponseXML.xml` as
    /// [`Value::String`]).
    fn from_value(value: Value) -> Result<Self>;

    /// Reads the result from a document in `reader` (plain XML, or the escaped payload of an
    /// XML-RPC response read in place): the fast path of document calls. Types that are not
    /// documents refuse.
    fn read_document(reader: &mut XmlReader<'_>) -> std::result::Result<Self, XmlError> {
        Err(reader.error(format!(
            "a {} is not read from a document",
            std::any::type_name::<Self>()
        )))
    }
}

impl<T: FromXml + Send + 'static> Returns for T {
    const KIND: ReturnKind = ReturnKind::Document;

    fn from_value(value: Value) -> Result<Self> {
        crate::wire::payload_document(value)
    }

    fn read_document(reader: &mut XmlReader<'_>) -> std::result::Result<Self, XmlError> {
        let root = reader.root()?;
        let value = T::read_xml(reader, &root)?;
        reader.finish()?;
        Ok(value)
    }
}

fn converted<T: TryFrom<Value, Error = ValueTypeError>>(value: Value) -> Result<T> {
    T::try_from(value).map_err(|e| Error::decode(DecodeStage::Value, e.to_string()))
}

macro_rules! value_returns {
    ($($t:ty => $kind:ident),* $(,)?) => {$(
        impl Returns for $t {
            const KIND: ReturnKind = ReturnKind::$kind;

            fn from_value(value: Value) -> Result<Self> {
                converted(value)
            }
        }
    )*};
}
value_returns! {
    i32 => Id,
    i64 => Int64,
    String => String,
    bool => Bool,
    () => Value,
    Vec<Value> => Value,
}

impl Returns for Value {
    const KIND: ReturnKind = ReturnKind::Value;

    fn from_value(value: Value) -> Result<Self> {
        Ok(value)
    }
}

/// The XML-RPC type of a parameter on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WireType {
    /// `<int>` (32-bit).
    Int,
    /// `<boolean>`.
    Bool,
    /// `<string>`.
    String,
    /// `<i8>` (64-bit).
    I8,
    /// `<array>`.
    Array,
}

impl WireType {
    /// The name used by OpenNebula's method tables (`int`, `bool`, `string`, `i8`, `array`).
    pub fn as_str(self) -> &'static str {
        match self {
            WireType::Int => "int",
            WireType::Bool => "bool",
            WireType::String => "string",
            WireType::I8 => "i8",
            WireType::Array => "array",
        }
    }

    /// Whether `value` has this type.
    pub fn matches(self, value: &Value) -> bool {
        matches!(
            (self, value),
            (WireType::Int, Value::Int(_))
                | (WireType::Bool, Value::Bool(_))
                | (WireType::String, Value::String(_))
                | (WireType::I8, Value::I8(_))
                | (WireType::Array, Value::Array(_))
        )
    }
}

/// One wire parameter of a method.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamInfo {
    /// Parameter name.
    pub name: &'static str,
    /// XML-RPC type.
    pub wire: WireType,
    /// The table type the wrapper takes (`int`, `template`, `PoolFilter`, `Permissions`...).
    pub rust_type: &'static str,
    /// Server default of an optional trailing parameter (as a Rust expression).
    pub default: Option<&'static str>,
    /// The same default as the value oned reads when the parameter is not sent (what a
    /// transport without optional parameters, such as gRPC, sends in its place, and what a
    /// server uses).
    pub default_value: Option<Value>,
    /// Where the parameter goes in the gRPC request message (`None`: not sent over gRPC).
    pub proto: Option<ProtoField>,
}

/// The protobuf type of a field of a gRPC request message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProtoType {
    /// `int32` (varint, negative numbers sign-extended to ten bytes).
    Int32,
    /// `sint32` (zigzag varint).
    Sint32,
    /// `int64`.
    Int64,
    /// `uint32`.
    Uint32,
    /// `uint64`.
    Uint64,
    /// `bool`.
    Bool,
    /// `string` (UTF-8, length-delimited).
    String,
    /// `repeated int32` (packed).
    RepeatedInt32,
}

/// Where a parameter goes in a gRPC request message (the session is field 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProtoField {
    /// Field number.
    pub number: u32,
    /// Protobuf type.
    pub ty: ProtoType,
}

/// The message a gRPC rpc answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrpcReply {
    /// `one.ResponseID { int32 oid = 1 }`.
    Id,
    /// `one.ResponseXML { string xml = 1 }`: a document, or a string.
    Xml,
    /// `{ bool success = 1; uint32 term = 2 }` (raft log replication and votes).
    SuccessTerm,
    /// `{ bool success = 1; uint64 index = 2 }` (federation log replication).
    SuccessIndex,
}

/// A method's gRPC rpc (OpenNebula 7.2+).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GrpcMethod {
    /// HTTP/2 path: `/one.vm.VirtualMachineService/Info`.
    pub path: &'static str,
    /// The answer message.
    pub reply: GrpcReply,
}

/// The runtime description of one OpenNebula method (see
/// [`api::method_info`](crate::api::method_info)).
#[derive(Debug, Clone, PartialEq)]
pub struct MethodInfo {
    /// Full name: `one.vm.info`.
    pub name: &'static str,
    /// Object, i.e. the handle accessor: `vm`.
    pub namespace: &'static str,
    /// Name of the wrapper taking every parameter: `info_full`.
    pub rust_name: &'static str,
    /// Wire parameters after the session (a `Permissions` argument is nine of them).
    pub params: &'static [ParamInfo],
    /// `int`, `i8`, `string` or `xml:ROOT`.
    pub returns: &'static str,
    /// Read-only, so safe to retry after a timeout.
    pub idempotent: bool,
    /// First OpenNebula release with this method name.
    pub since: &'static str,
    /// Registered by oned but absent from the reference documentation.
    pub server_only: bool,
    /// Discrepancies between documentation and server, and similar facts.
    pub notes: &'static [&'static str],
    /// The gRPC rpc carrying the same call.
    pub grpc: Option<GrpcMethod>,
}

impl MethodInfo {
    /// Number of required parameters (those without a default).
    pub fn required_params(&self) -> usize {
        self.params.iter().filter(|p| p.default.is_none()).count()
    }
}
