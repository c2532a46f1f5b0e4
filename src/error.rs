//! The crate's error type.
//!
//! One [`Error`] with distinct, matchable cases, in the spirit of smithy-rs' `SdkError`: the
//! difference between "never sent", "timed out", "the server answered something unreadable"
//! and "OpenNebula said no" decides whether a non-idempotent call may be retried.
//! Nothing in here ever holds or prints the session secret.

use std::fmt;
use std::time::Duration;

use crate::xml::XmlError;

/// A `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// OpenNebula's `Request::ErrorCode`, the third value of a failed response.
///
/// Unknown codes are kept in [`ErrorCode::Other`] so that a newer OpenNebula never breaks
/// a `match`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// 0x0100: the session credentials were rejected.
    Authentication,
    /// 0x0200: the caller lacks permission for the operation (also: object locked).
    Authorization,
    /// 0x0400: the referenced object does not exist.
    NoExists,
    /// 0x0800: the operation is invalid in the object's current state.
    Action,
    /// 0x1000: bad or out-of-range call arguments (`RPC_API` in oned, `XML_RPC_API` in the docs).
    XmlRpcApi,
    /// 0x2000: unexpected server or database failure (also most name clashes).
    Internal,
    /// 0x4000: creating the new object failed.
    Allocate,
    /// 0x8000: an object lock blocks the operation.
    Locked,
    /// 0x10000: HA/federation log replication failed.
    Replication,
    /// A code this version of the crate does not know.
    Other(i32),
}

impl ErrorCode {
    /// Maps oned's numeric code.
    pub fn from_code(code: i32) -> Self {
        match code {
            0x0100 => ErrorCode::Authentication,
            0x0200 => ErrorCode::Authorization,
            0x0400 => ErrorCode::NoExists,
            0x0800 => ErrorCode::Action,
            0x1000 => ErrorCode::XmlRpcApi,
            0x2000 => ErrorCode::Internal,
            0x4000 => ErrorCode::Allocate,
            0x8000 => ErrorCode::Locked,
            0x10000 => ErrorCode::Replication,
            other => ErrorCode::Other(other),
        }
    }

    /// The numeric code as oned sends it.
    pub fn code(self) -> i32 {
        match self {
            ErrorCode::Authentication => 0x0100,
            ErrorCode::Authorization => 0x0200,
            ErrorCode::NoExists => 0x0400,
            ErrorCode::Action => 0x0800,
            ErrorCode::XmlRpcApi => 0x1000,
            ErrorCode::Internal => 0x2000,
            ErrorCode::Allocate => 0x4000,
            ErrorCode::Locked => 0x8000,
            ErrorCode::Replication => 0x10000,
            ErrorCode::Other(code) => code,
        }
    }

    /// The name used in OpenNebula's sources (`include/Request.h`).
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::Authentication => "AUTHENTICATION",
            ErrorCode::Authorization => "AUTHORIZATION",
            ErrorCode::NoExists => "NO_EXISTS",
            ErrorCode::Action => "ACTION",
            ErrorCode::XmlRpcApi => "RPC_API",
            ErrorCode::Internal => "INTERNAL",
            ErrorCode::Allocate => "ALLOCATE",
            ErrorCode::Locked => "LOCKED",
            ErrorCode::Replication => "REPLICATION",
            ErrorCode::Other(_) => "UNKNOWN",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (0x{:x})", self.name(), self.code())
    }
}

/// A failure reported by OpenNebula in its response array
/// (`[false, message, code, object id, replication index]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneError {
    /// The error class.
    pub code: ErrorCode,
    /// The server's message, e.g. `[one.vm.info] Error getting virtual machine [42].`
    pub message: String,
    /// The object the error refers to (oned's `resp_id`), when the server sent one (≥ 0).
    /// gRPC answers carry no object id.
    pub object_id: Option<i32>,
    /// The gRPC status the error came with, over gRPC (`None` over XML-RPC). oned folds
    /// several codes into one status, so [`code`](Self::code) is then the most likely of
    /// them: see [`GrpcCode::one_error_code`].
    pub grpc_code: Option<GrpcCode>,
}

impl fmt::Display for OneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OpenNebula error {}: {}", self.code, self.message)
    }
}

/// A gRPC status code (the `grpc-status` of an answer).
///
/// Unknown numbers are kept in [`GrpcCode::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GrpcCode {
    /// 0.
    Ok,
    /// 1.
    Cancelled,
    /// 2.
    Unknown,
    /// 3: oned's RPC_API (bad arguments).
    InvalidArgument,
    /// 4.
    DeadlineExceeded,
    /// 5: oned's NO_EXISTS.
    NotFound,
    /// 6: oned's ALLOCATE.
    AlreadyExists,
    /// 7: oned's AUTHORIZATION and LOCKED.
    PermissionDenied,
    /// 8: a message over a size limit (oned receives at most 4 MiB).
    ResourceExhausted,
    /// 9.
    FailedPrecondition,
    /// 10.
    Aborted,
    /// 11.
    OutOfRange,
    /// 12: an rpc the server does not have.
    Unimplemented,
    /// 13: oned's ACTION, INTERNAL and REPLICATION.
    Internal,
    /// 14.
    Unavailable,
    /// 15.
    DataLoss,
    /// 16: oned's AUTHENTICATION.
    Unauthenticated,
    /// Any other number.
    Other(i32),
}

impl GrpcCode {
    /// The code of a number.
    pub fn from_code(code: i32) -> Self {
        use GrpcCode::*;
        match code {
            0 => Ok,
            1 => Cancelled,
            2 => Unknown,
            3 => InvalidArgument,
            4 => DeadlineExceeded,
            5 => NotFound,
            6 => AlreadyExists,
            7 => PermissionDenied,
            8 => ResourceExhausted,
            9 => FailedPrecondition,
            10 => Aborted,
            11 => OutOfRange,
            12 => Unimplemented,
            13 => Internal,
            14 => Unavailable,
            15 => DataLoss,
            16 => Unauthenticated,
            other => Other(other),
        }
    }

    /// The number sent in `grpc-status`.
    pub fn code(self) -> i32 {
        use GrpcCode::*;
        match self {
            Ok => 0,
            Cancelled => 1,
            Unknown => 2,
            InvalidArgument => 3,
            DeadlineExceeded => 4,
            NotFound => 5,
            AlreadyExists => 6,
            PermissionDenied => 7,
            ResourceExhausted => 8,
            FailedPrecondition => 9,
            Aborted => 10,
            OutOfRange => 11,
            Unimplemented => 12,
            Internal => 13,
            Unavailable => 14,
            DataLoss => 15,
            Unauthenticated => 16,
            Other(code) => code,
        }
    }

    /// The status oned answers an OpenNebula error code with (`to_status_code` in oned's
    /// `src/rm/grpc/RequestGRPC.h`).
    pub fn from_one_error_code(code: ErrorCode) -> Self {
        match code {
            ErrorCode::Authentication => GrpcCode::Unauthenticated,
            ErrorCode::Authorization | ErrorCode::Locked => GrpcCode::PermissionDenied,
            ErrorCode::NoExists => GrpcCode::NotFound,
            ErrorCode::XmlRpcApi => GrpcCode::InvalidArgument,
            ErrorCode::Allocate => GrpcCode::AlreadyExists,
            _ => GrpcCode::Internal,
        }
    }

    /// The OpenNebula error code an answer of this status stands for, if oned produces it.
    ///
    /// The mapping is lossy where oned folds codes together: `PERMISSION_DENIED` is
    /// AUTHORIZATION or LOCKED (given as [`ErrorCode::Authorization`]; oned 7.5 reports a
    /// locked object as AUTHORIZATION anyway), and `INTERNAL` is ACTION, INTERNAL or
    /// REPLICATION (given as [`ErrorCode::Internal`]). The status itself stays in
    /// [`OneError::grpc_code`].
    pub fn one_error_code(self) -> Option<ErrorCode> {
        Some(match self {
            GrpcCode::Unauthenticated => ErrorCode::Authentication,
            GrpcCode::PermissionDenied => ErrorCode::Authorization,
            GrpcCode::NotFound => ErrorCode::NoExists,
            GrpcCode::InvalidArgument => ErrorCode::XmlRpcApi,
            GrpcCode::AlreadyExists => ErrorCode::Allocate,
            GrpcCode::Internal => ErrorCode::Internal,
            _ => return None,
        })
    }
}

impl fmt::Display for GrpcCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use GrpcCode::*;
        let name = match self {
            Ok => "OK",
            Cancelled => "CANCELLED",
            Unknown => "UNKNOWN",
            InvalidArgument => "INVALID_ARGUMENT",
            DeadlineExceeded => "DEADLINE_EXCEEDED",
            NotFound => "NOT_FOUND",
            AlreadyExists => "ALREADY_EXISTS",
            PermissionDenied => "PERMISSION_DENIED",
            ResourceExhausted => "RESOURCE_EXHAUSTED",
            FailedPrecondition => "FAILED_PRECONDITION",
            Aborted => "ABORTED",
            OutOfRange => "OUT_OF_RANGE",
            Unimplemented => "UNIMPLEMENTED",
            Internal => "INTERNAL",
            Unavailable => "UNAVAILABLE",
            DataLoss => "DATA_LOSS",
            Unauthenticated => "UNAUTHENTICATED",
            Other(code) => return write!(f, "gRPC status {code}"),
        };
        write!(f, "{name} ({})", self.code())
    }
}

/// Where a [`Error::Decode`] happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeStage {
    /// The XML-RPC `methodResponse` envelope.
    Envelope,
    /// The OpenNebula response array inside the envelope.
    ResponseArray,
    /// The XML document returned as the call's payload.
    Document,
    /// A value that had to be converted to a Rust type.
    Value,
}

impl fmt::Display for DecodeStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DecodeStage::Envelope => "XML-RPC response",
            DecodeStage::ResponseArray => "OpenNebula response array",
            DecodeStage::Document => "response document",
            DecodeStage::Value => "response value",
        })
    }
}

/// Everything that can go wrong talking to OpenNebula.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// OpenNebula processed the call and refused it.
    #[error("{0}")]
    OpenNebula(OneError),

    /// The XML-RPC layer refused the call (`<fault>`): wrong parameter types or count (-501),
    /// malformed call (-503), unknown method (-506).
    #[error("XML-RPC fault {code}: {message}")]
    Fault {
        /// The `faultCode`.
        code: i32,
        /// The `faultString`.
        message: String,
    },

    /// The server answered with a non-success HTTP status.
    #[error("HTTP status {status} from the XML-RPC endpoint{}", body_excerpt.as_deref().map(|b| format!(": {b}")).unwrap_or_default())]
    Http {
        /// The HTTP status code.
        status: u16,
        /// The first bytes of the body, for diagnosis.
        body_excerpt: Option<String>,
    },

    /// Could not connect to the endpoint: the request was never sent.
    #[error("cannot connect to the XML-RPC endpoint: {message}")]
    Connect {
        /// What the transport said.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    /// The call did not complete within the configured timeout. It may have been executed.
    #[error("the call timed out after {}", humanize(*timeout))]
    Timeout {
        /// The timeout that expired, if known.
        timeout: Option<Duration>,
    },

    /// The TLS handshake failed (untrusted certificate, hostname mismatch ...).
    #[error("TLS error talking to the XML-RPC endpoint: {message}")]
    Tls {
        /// What the TLS layer said.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    /// The request was sent but the exchange failed (connection reset, body cut short ...).
    /// The call may have been executed.
    #[error("transport error: {message}")]
    Transport {
        /// What the transport said.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    /// The response body exceeded the configured maximum size.
    #[error("response larger than the limit of {limit} bytes")]
    ResponseTooLarge {
        /// The configured limit in bytes.
        limit: u64,
    },

    /// The response could not be decoded.
    #[error("cannot decode the {stage}: {message}{}", position.map(|p| format!(" (at byte {p})")).unwrap_or_default())]
    Decode {
        /// Which layer failed.
        stage: DecodeStage,
        /// What was wrong.
        message: String,
        /// Byte offset in the layer's input, when known.
        position: Option<u64>,
    },

    /// A gRPC status that is not one of OpenNebula's errors: an rpc the server does not have
    /// (`UNIMPLEMENTED`), a message over a size limit (`RESOURCE_EXHAUSTED`), a server going
    /// away (`UNAVAILABLE`), a proxy's or gRPC library's own failure. OpenNebula's refusals
    /// over gRPC are [`Error::OpenNebula`], with the status in [`OneError::grpc_code`].
    #[error("gRPC status {code}{}", if message.is_empty() { String::new() } else { format!(": {message}") })]
    Grpc {
        /// The status code.
        code: GrpcCode,
        /// The status message (`grpc-message`).
        message: String,
    },

    /// The client could not be configured (bad endpoint URL, unreadable auth file, bad PEM ...).
    #[error("invalid client configuration: {0}")]
    Config(String),

    /// A parameter was rejected before anything was sent (e.g. a malformed ACL rule).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

fn humanize(timeout: Option<Duration>) -> String {
    match timeout {
        Some(t) => format!("{:.3}s", t.as_secs_f64()),
        None => "the configured limit".to_string(),
    }
}

impl Error {
    /// The OpenNebula error details, if OpenNebula refused the call.
    pub fn one_error(&self) -> Option<&OneError> {
        match self {
            Error::OpenNebula(e) => Some(e),
            _ => None,
        }
    }

    /// The OpenNebula error code, if OpenNebula refused the call.
    pub fn code(&self) -> Option<ErrorCode> {
        self.one_error().map(|e| e.code)
    }

    /// `true` if the call timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. })
    }

    /// `true` if the connection could not be established (the request was never sent).
    pub fn is_connect(&self) -> bool {
        matches!(self, Error::Connect { .. })
    }

    /// `true` if the request certainly never reached the server, so that even a
    /// non-idempotent call can be sent again.
    pub fn is_never_sent(&self) -> bool {
        matches!(
            self,
            Error::Connect { .. }
                | Error::Tls { .. }
                | Error::Config(_)
                | Error::InvalidArgument(_)
        )
    }

    /// The gRPC status code, for an error that came as a gRPC status.
    pub fn grpc_code(&self) -> Option<GrpcCode> {
        match self {
            Error::Grpc { code, .. } => Some(*code),
            Error::OpenNebula(e) => e.grpc_code,
            _ => None,
        }
    }

    /// The HTTP status, for [`Error::Http`].
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub(crate) fn decode(stage: DecodeStage, message: impl Into<String>) -> Self {
        Error::Decode {
            stage,
            message: message.into(),
            position: None,
        }
    }

    pub(crate) fn from_xml(stage: DecodeStage, err: XmlError) -> Self {
        Error::Decode {
            stage,
            message: err.message,
            position: Some(err.position),
        }
    }
}

impl From<OneError> for Error {
    fn from(e: OneError) -> Self {
        Error::OpenNebula(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_keep_unknown_values() {
        for code in [
            0x100, 0x200, 0x400, 0x800, 0x1000, 0x2000, 0x4000, 0x8000, 0x10000, 0x77,
        ] {
            assert_eq!(ErrorCode::from_code(code).code(), code);
        }
        assert_eq!(ErrorCode::from_code(0x77), ErrorCode::Other(0x77));
        assert_eq!(ErrorCode::NoExists.to_string(), "NO_EXISTS (0x400)");
    }

    #[test]
    fn grpc_codes_round_trip_and_map_like_oned() {
        for code in 0..=17 {
            assert_eq!(GrpcCode::from_code(code).code(), code);
        }
        for code in [
            ErrorCode::Authentication,
            ErrorCode::NoExists,
            ErrorCode::XmlRpcApi,
            ErrorCode::Allocate,
            ErrorCode::Internal,
            ErrorCode::Authorization,
        ] {
            assert_eq!(
                GrpcCode::from_one_error_code(code).one_error_code(),
                Some(code)
            );
        }
        // The lossy ones.
        assert_eq!(
            GrpcCode::from_one_error_code(ErrorCode::Locked).one_error_code(),
            Some(ErrorCode::Authorization)
        );
        assert_eq!(
            GrpcCode::from_one_error_code(ErrorCode::Action),
            GrpcCode::Internal
        );
        assert_eq!(GrpcCode::Unimplemented.one_error_code(), None);
        assert_eq!(GrpcCode::NotFound.to_string(), "NOT_FOUND (5)");
    }

    #[test]
    fn error_is_send_sync_and_small_enough_to_move_around() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<Error>();
    }
}
