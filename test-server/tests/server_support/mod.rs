//! Helpers shared by the test-server tests.
#![allow(dead_code)]

use opennebula::{Error, ErrorCode, Value};

/// The text of the first `<name>` element of an XML document (CDATA or plain).
pub fn field(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&format!("</{name}>"))?;
    let raw = &xml[start..end];
    let text = raw
        .strip_prefix("<![CDATA[")
        .and_then(|r| r.strip_suffix("]]>"))
        .unwrap_or(raw);
    Some(text.to_string())
}

/// Every `<ID>` directly under the pool's object elements, in document order.
pub fn pool_ids(xml: &str, object: &str) -> Vec<i32> {
    let open = format!("<{object}><ID>");
    xml.match_indices(&open)
        .filter_map(|(at, _)| {
            let rest = &xml[at + open.len()..];
            rest[..rest.find('<')?].parse().ok()
        })
        .collect()
}

pub fn doc(value: Value) -> String {
    match value {
        Value::String(s) => s,
        other => panic!("expected a document, got {other:?}"),
    }
}

pub fn int(value: Value) -> i32 {
    match value {
        Value::Int(i) => i,
        other => panic!("expected an int, got {other:?}"),
    }
}

/// Asserts an OpenNebula failure with `code` and exactly `message`.
pub fn assert_one_error(result: Result<Value, Error>, code: ErrorCode, message: &str) {
    match result {
        Err(err) => {
            let one = err
                .one_error()
                .unwrap_or_else(|| panic!("expected an OpenNebula error, got {err:?}"));
            assert_eq!(one.code, code, "{}", one.message);
            assert_eq!(one.message, message);
        }
        Ok(value) => panic!("expected {code:?} {message:?}, got success {value:?}"),
    }
}
