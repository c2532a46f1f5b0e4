//! The XML-RPC wire codec: values, `methodCall` encoding, `methodResponse` decoding, and the
//! interpretation of OpenNebula's response array.
//!
//! Everything here is sans-IO: it turns bytes into values and values into bytes, so the
//! transport ([`crate::client`]) and the test server share it.

mod codec;
mod value;

pub use codec::{
    decode_method_call, decode_response, encode_fault, encode_method_call, encode_response,
    encode_value, MethodResponse,
};
pub use value::{IntoParams, NotByte, Value, ValueTypeError};

use crate::error::{DecodeStage, Error, ErrorCode, OneError};

/// Interprets a decoded `methodResponse` as OpenNebula's response array and returns the
/// payload (element 1) of a successful call.
///
/// - success: `[boolean 1, payload, i4 0]`
/// - failure: `[boolean 0, message, i4 code, i4 object id, i8 replication index]`
/// - a `<fault>` becomes [`Error::Fault`].
pub fn one_payload(response: MethodResponse) -> Result<Value, Error> {
    let params = match response {
        MethodResponse::Fault { code, message } => return Err(Error::Fault { code, message }),
        MethodResponse::Params(params) => params,
    };
    let mut params = params.into_iter();
    let array = match (params.next(), params.next()) {
        (Some(Value::Array(items)), None) => items,
        (Some(other), None) => {
            return Err(Error::decode(
                DecodeStage::ResponseArray,
                format!("expected an array, found XML-RPC {}", other.type_name()),
            ))
        }
        _ => {
            return Err(Error::decode(
                DecodeStage::ResponseArray,
                "expected exactly one returned value",
            ))
        }
    };
    let mut items = array.into_iter();
    let success = match items.next() {
        Some(Value::Bool(b)) => b,
        Some(other) => {
            return Err(Error::decode(
                DecodeStage::ResponseArray,
                format!(
                    "element 0 must be a boolean, found XML-RPC {}",
                    other.type_name()
                ),
            ))
        }
        None => {
            return Err(Error::decode(
                DecodeStage::ResponseArray,
                "empty response array",
            ))
        }
    };
    let payload = items.next().ok_or_else(|| {
        Error::decode(
            DecodeStage::ResponseArray,
            "response array has no element 1",
        )
    })?;
    if success {
        return Ok(payload);
    }
    let message = match payload {
        Value::String(s) => s,
        other => other.to_string(),
    };
    let code = match items.next() {
        Some(Value::Int(code)) => code,
        Some(Value::I8(code)) => i32::try_from(code).unwrap_or(i32::MAX),
        _ => {
            return Err(Error::decode(
                DecodeStage::ResponseArray,
                format!("failure without an error code: {message}"),
            ))
        }
    };
    let object_id = match items.next() {
        Some(Value::Int(id)) if id >= 0 => Some(id),
        _ => None,
    };
    Err(Error::OpenNebula(OneError {
        code: ErrorCode::from_code(code),
        message,
        object_id,
    }))
}

/// Decodes response bytes all the way to OpenNebula's payload.
pub fn decode_one_response(bytes: &[u8]) -> Result<Value, Error> {
    let response = decode_response(bytes).map_err(|e| Error::from_xml(DecodeStage::Envelope, e))?;
    one_payload(response)
}

/// Converts a payload to the Rust type a typed call returns.
pub fn payload_into<T>(payload: Value) -> Result<T, Error>
where
    T: TryFrom<Value, Error = ValueTypeError>,
{
    T::try_from(payload).map_err(|e| Error::decode(DecodeStage::Value, e.to_string()))
}

/// Parses an XML document payload (a `<string>` holding XML) into `T`.
pub fn payload_document<T: crate::xml::FromXml>(payload: Value) -> Result<T, Error> {
    match payload {
        Value::String(xml) => {
            T::from_xml_bytes(xml.as_bytes()).map_err(|e| Error::from_xml(DecodeStage::Document, e))
        }
        other => Err(Error::decode(
            DecodeStage::Value,
            format!(
                "expected an XML document in a string, found XML-RPC {}",
                other.type_name()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn array(items: Vec<Value>) -> MethodResponse {
        MethodResponse::Params(vec![Value::Array(items)])
    }

    #[test]
    fn maps_every_documented_error_code() {
        for (code, expected) in [
            (0x100, ErrorCode::Authentication),
            (0x200, ErrorCode::Authorization),
            (0x400, ErrorCode::NoExists),
            (0x800, ErrorCode::Action),
            (0x1000, ErrorCode::XmlRpcApi),
            (0x2000, ErrorCode::Internal),
            (0x4000, ErrorCode::Allocate),
            (0x8000, ErrorCode::Locked),
            (0x10000, ErrorCode::Replication),
        ] {
            let err = one_payload(array(vec![
                false.into(),
                "[one.vm.info] boom".into(),
                Value::Int(code),
                Value::Int(42),
                Value::I8(-1),
            ]))
            .unwrap_err();
            let one = err.one_error().expect("an OpenNebula error");
            assert_eq!(one.code, expected);
            assert_eq!(one.message, "[one.vm.info] boom");
            assert_eq!(one.object_id, Some(42));
        }
    }

    #[test]
    fn success_returns_the_payload_and_bad_shapes_are_decode_errors() {
        assert_eq!(
            one_payload(array(vec![true.into(), Value::Int(5), Value::Int(0)])).unwrap(),
            Value::Int(5)
        );
        for bad in [
            array(vec![]),
            array(vec![Value::Int(1), Value::Int(2)]),
            array(vec![true.into()]),
            array(vec![false.into(), "no code".into()]),
            MethodResponse::Params(vec![Value::Int(1)]),
            MethodResponse::Params(vec![]),
        ] {
            assert!(matches!(
                one_payload(bad),
                Err(Error::Decode {
                    stage: DecodeStage::ResponseArray,
                    ..
                })
            ));
        }
    }
}
