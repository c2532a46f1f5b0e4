//! A handler's failure: oned's error code, its message and the object it is about.

use opennebula::wire::Value;
use opennebula::ErrorCode;

use super::Kind;

/// A handler failure: code, message (without the `[method]` prefix) and object id.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Failure {
    pub(crate) code: ErrorCode,
    pub(crate) message: String,
    /// The object the failure is about (oned's response carries it for NO_EXISTS), else -1.
    pub(crate) id: i32,
}

/// What a handler returns: the payload of a successful call, or oned's refusal.
pub(crate) type Handled = Result<Value, Failure>;

pub(crate) fn fail(code: ErrorCode, message: impl Into<String>) -> Failure {
    fail_id(code, message, -1)
}

pub(crate) fn fail_id(code: ErrorCode, message: impl Into<String>, id: i32) -> Failure {
    Failure {
        code,
        message: message.into(),
        id,
    }
}

/// oned's answer for an object that does not exist (`PoolSQL::get` failing in
/// `Request::get_info` / `basic_authorization`, src/rm/Request.cc).
pub(crate) fn no_exists(kind: Kind, id: i32) -> Failure {
    fail_id(
        ErrorCode::NoExists,
        format!("Error getting {} [{id}].", kind.display()),
        id,
    )
}
