//! The XML-RPC wire codec: values, `methodCall` encoding, `methodResponse` decoding, and the
//! interpretation of OpenNebula's response array.
//!
//! Everything here is sans-IO: it turns bytes into values and values into bytes, so the
//! transport ([`crate::client`]) and the test server share it.

mod codec;
mod value;

pub use codec::{
    decode_method_call, decode_response, encode_fault, encode_method_call, encode_method_call_into,
    encode_response, encode_value, MethodResponse,
};
pub use value::{IntoParam, IntoParams, NotByte, Value, ValueTypeError};

use crate::error::{DecodeStage, Error, ErrorCode, OneError};
use crate::rpc::{ReturnKind, Returns};

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
        grpc_code: None,
    }))
}

/// Decodes response bytes all the way to OpenNebula's payload.
pub fn decode_one_response(bytes: &[u8]) -> Result<Value, Error> {
    let response = decode_response(bytes).map_err(|e| Error::from_xml(DecodeStage::Envelope, e))?;
    one_payload(response)
}

/// Decodes response bytes whose payload is an XML document (a `<string>` holding XML, as every
/// `info` call returns) straight into `T`: the fast path of
/// [`Client::call_document`](crate::Client::call_document).
///
/// OpenNebula's failure array and XML-RPC faults become the usual errors.
///
/// The payload is never materialised as a `String`: the envelope is checked with the payload
/// cut out of it, then `T` is read from the escaped payload in place
/// ([`XmlReader::new_escaped`](crate::xml::XmlReader::new_escaped)), so memory holds the
/// response and the decoded value only, and the document is read in a single pass. Anything
/// unusual (a failure array, a fault, a payload in CDATA or with unusual escaping, a
/// malformed document) takes the ordinary path, [`decode_one_response`] then
/// [`payload_document`], which gives the precise answer or error.
pub fn decode_document_response<T: crate::xml::FromXml + Send + 'static>(
    bytes: &[u8],
) -> Result<T, Error> {
    decode_response_as::<T>(bytes)
}

/// Decodes response bytes into what the call returns ([`Returns`]): a document type takes the
/// fast path of [`decode_document_response`], any other type is converted from the payload
/// value ([`decode_one_response`]).
pub fn decode_response_as<R: Returns>(bytes: &[u8]) -> Result<R, Error> {
    if R::KIND == ReturnKind::Document {
        if let Some(payload) = escaped_document_payload(bytes) {
            let mut reader = crate::xml::XmlReader::new_escaped(payload);
            if let Ok(value) = R::read_document(&mut reader) {
                return Ok(value);
            }
        }
    }
    R::from_value(decode_one_response(bytes)?)
}

/// The escaped payload of a successful OpenNebula response whose element 1 is a plain
/// `<string>`, located without decoding it: the first `<string>` up to the next `<` (which
/// must be `</string>`), confirmed by decoding the envelope with that payload cut out, which
/// must be exactly a success array with an empty string as element 1.
fn escaped_document_payload(bytes: &[u8]) -> Option<&[u8]> {
    const OPEN: &[u8] = b"<string>";
    let start = memchr::memmem::find(bytes, OPEN)? + OPEN.len();
    let len = memchr::memchr(b'<', &bytes[start..])?;
    let end = start + len;
    if !bytes[end..].starts_with(b"</string>") {
        return None;
    }
    let mut hollow = Vec::with_capacity(bytes.len() - len);
    hollow.extend_from_slice(&bytes[..start]);
    hollow.extend_from_slice(&bytes[end..]);
    match decode_response(&hollow).ok()? {
        MethodResponse::Params(params) => match params.as_slice() {
            [Value::Array(items)] if matches!(items.as_slice(), [Value::Bool(true), Value::String(s), ..] if s.is_empty()) => {
                Some(&bytes[start..end])
            }
            _ => None,
        },
        MethodResponse::Fault { .. } => None,
    }
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

    /// Test document type: every leaf's text, in order.
    #[derive(Debug, PartialEq)]
    struct Leaves(Vec<String>);

    impl crate::xml::FromXml for Leaves {
        fn read_xml(
            reader: &mut crate::xml::XmlReader<'_>,
            start: &crate::xml::Element<'_>,
        ) -> Result<Self, crate::xml::XmlError> {
            let mut leaves = Vec::new();
            while let Some(child) = reader.next_child(start)? {
                leaves.push(reader.read_text(&child)?.into_owned());
            }
            Ok(Leaves(leaves))
        }
    }

    fn response(payload_xml: &str) -> String {
        encode_response(&Value::Array(vec![
            true.into(),
            payload_xml.into(),
            Value::Int(0),
        ]))
    }

    #[test]
    fn document_fast_path_matches_the_ordinary_path() {
        for doc in [
            "<VM><ID>1</ID><NAME><![CDATA[a <&> b]]></NAME><X>1 &amp; 2</X></VM>",
            "<?xml version=\"1.0\"?><VM><ID>2</ID></VM>",
            "<VM/>",
        ] {
            let body = response(doc);
            assert!(escaped_document_payload(body.as_bytes()).is_some(), "{doc}");
            let fast: Leaves = decode_document_response(body.as_bytes()).unwrap();
            let slow: Leaves =
                payload_document(decode_one_response(body.as_bytes()).unwrap()).unwrap();
            assert_eq!(fast, slow, "{doc}");
        }
    }

    #[test]
    fn document_fast_path_falls_back_for_anything_unusual() {
        // Markup escaped as numeric references: the fast reader refuses, the fallback reads it.
        let body = response("<VM><ID>3</ID></VM>").replace("&lt;ID&gt;3", "&#60;ID&#62;3");
        let leaves: Leaves = decode_document_response(body.as_bytes()).unwrap();
        assert_eq!(leaves, Leaves(vec!["3".into()]));
        // A failure array keeps its message and code.
        let failure = encode_response(&Value::Array(vec![
            false.into(),
            "[one.vm.info] Error getting virtual machine [42].".into(),
            Value::Int(0x400),
            Value::Int(42),
            Value::I8(-1),
        ]));
        let err = decode_document_response::<Leaves>(failure.as_bytes()).unwrap_err();
        assert_eq!(err.one_error().map(|e| e.code), Some(ErrorCode::NoExists));
        // A malformed document is an error from the ordinary path.
        let broken = response("<VM><ID>3</ID>");
        assert!(decode_document_response::<Leaves>(broken.as_bytes()).is_err());
        // A string that is not element 1 is never taken for the payload.
        let fault = encode_fault(-501, "<VM>");
        assert!(matches!(
            decode_document_response::<Leaves>(fault.as_bytes()),
            Err(Error::Fault { code: -501, .. })
        ));
    }

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
