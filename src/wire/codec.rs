//! Encoding `methodCall` and decoding `methodResponse` documents.
//!
//! Sans-IO (as kube-core builds requests without a transport): bytes in, values out, so every
//! case is unit-tested on plain bytes. The response decoder runs on the hot path of every call;
//! it reads the envelope with the pull reader of [`crate::xml`] and unescapes the one large
//! `<string>` (the escaped XML document OpenNebula returns) in a single `memchr`-driven pass.

use std::borrow::Cow;
use std::fmt::Write as _;

use base64::Engine as _;
use indexmap::IndexMap;

use super::Value;
use crate::xml::{escape_into, Element, Node, XmlError, XmlReader};

/// A decoded `methodResponse`.
#[derive(Debug, Clone, PartialEq)]
pub enum MethodResponse {
    /// `<params>`: the returned values (XML-RPC returns exactly one, OpenNebula an array).
    Params(Vec<Value>),
    /// `<fault>`.
    Fault {
        /// `faultCode`.
        code: i32,
        /// `faultString`.
        message: String,
    },
}

/// Encodes an XML-RPC `methodCall`, exactly as sent on the wire.
///
/// ```
/// use opennebula::wire::{encode_method_call, Value};
/// let body = encode_method_call("one.vm.info", &[Value::from("oneadmin:onepass"), Value::Int(3)]);
/// assert!(body.contains("<methodName>one.vm.info</methodName>"));
/// assert!(body.contains("<param><value><int>3</int></value></param>"));
/// ```
pub fn encode_method_call(method: &str, params: &[Value]) -> String {
    let mut out = String::with_capacity(128 + params.len() * 48);
    encode_method_call_into(&mut out, method, params);
    out
}

/// Appends the `methodCall` of [`encode_method_call`] to `out`. With enough capacity reserved
/// the buffer never reallocates, so a secret parameter (the session) is never copied into
/// memory that is freed without being wiped; the client relies on this.
pub fn encode_method_call_into(out: &mut String, method: &str, params: &[Value]) {
    out.push_str("<?xml version=\"1.0\"?>\n<methodCall>\n<methodName>");
    escape_into(out, method);
    out.push_str("</methodName>\n<params>\n");
    for param in params {
        out.push_str("<param>");
        encode_value(out, param);
        out.push_str("</param>\n");
    }
    out.push_str("</params>\n</methodCall>\n");
}

/// Encodes a successful `methodResponse` carrying `value`, in XML-RPC's plain layout (the
/// test server writes xmlrpc-c's exact byte layout itself, see `server::rpc`).
pub fn encode_response(value: &Value) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<methodResponse>\r\n<params>\r\n<param>",
    );
    encode_value(&mut out, value);
    out.push_str("</param>\r\n</params>\r\n</methodResponse>\r\n");
    out
}

/// Encodes a `<fault>` `methodResponse`, in XML-RPC's plain layout.
pub fn encode_fault(code: i32, message: &str) -> String {
    let mut out = String::with_capacity(256);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<methodResponse>\r\n<fault>\r\n");
    let mut members = IndexMap::new();
    members.insert("faultCode".to_string(), Value::Int(code));
    members.insert(
        "faultString".to_string(),
        Value::String(message.to_string()),
    );
    encode_value(&mut out, &Value::Struct(members));
    out.push_str("\r\n</fault>\r\n</methodResponse>\r\n");
    out
}

/// Appends `<value>...</value>` for `value` to `out`.
pub fn encode_value(out: &mut String, value: &Value) {
    out.push_str("<value>");
    match value {
        Value::Int(i) => {
            let _ = write!(out, "<int>{i}</int>");
        }
        Value::I8(i) => {
            let _ = write!(out, "<i8>{i}</i8>");
        }
        Value::Bool(b) => {
            out.push_str(if *b {
                "<boolean>1</boolean>"
            } else {
                "<boolean>0</boolean>"
            });
        }
        Value::String(s) => {
            out.push_str("<string>");
            escape_into(out, s);
            out.push_str("</string>");
        }
        Value::Double(d) => {
            let _ = write!(out, "<double>{d}</double>");
        }
        Value::DateTime(s) => {
            out.push_str("<dateTime.iso8601>");
            escape_into(out, s);
            out.push_str("</dateTime.iso8601>");
        }
        Value::Base64(bytes) => {
            out.push_str("<base64>");
            out.push_str(&base64::engine::general_purpose::STANDARD.encode(bytes));
            out.push_str("</base64>");
        }
        Value::Array(items) => {
            out.push_str("<array><data>");
            for item in items {
                encode_value(out, item);
            }
            out.push_str("</data></array>");
        }
        Value::Struct(members) => {
            out.push_str("<struct>");
            for (name, member) in members {
                out.push_str("<member><name>");
                escape_into(out, name);
                out.push_str("</name>");
                encode_value(out, member);
                out.push_str("</member>");
            }
            out.push_str("</struct>");
        }
        Value::Nil => out.push_str("<nil/>"),
    }
    out.push_str("</value>");
}

/// Decodes a `methodResponse` document.
pub fn decode_response(bytes: &[u8]) -> Result<MethodResponse, XmlError> {
    let mut reader = XmlReader::new(bytes);
    let root = reader.root()?;
    if root.name() != b"methodResponse" {
        return Err(reader.error(format!(
            "expected <methodResponse>, found <{}>",
            root.name_str()
        )));
    }
    let mut response = None;
    while let Some(child) = reader.next_child(&root)? {
        if response.is_some() {
            return Err(reader.error("more than one element in <methodResponse>"));
        }
        response = Some(match child.name() {
            b"params" => {
                let mut params = Vec::with_capacity(1);
                while let Some(param) = reader.next_child(&child)? {
                    if param.name() != b"param" {
                        return Err(unexpected(&reader, &param, "<param>"));
                    }
                    params.push(read_single_value(&mut reader, &param)?);
                }
                MethodResponse::Params(params)
            }
            b"fault" => {
                let value = read_single_value(&mut reader, &child)?;
                fault_from_value(&reader, value)?
            }
            _ => return Err(unexpected(&reader, &child, "<params> or <fault>")),
        });
    }
    reader.finish()?;
    response.ok_or_else(|| reader.error("empty <methodResponse>"))
}

/// Decodes a `methodCall` document into the method name and parameters (used by the test
/// server).
pub fn decode_method_call(bytes: &[u8]) -> Result<(String, Vec<Value>), XmlError> {
    let mut reader = XmlReader::new(bytes);
    let root = reader.root()?;
    if root.name() != b"methodCall" {
        return Err(reader.error(format!(
            "expected <methodCall>, found <{}>",
            root.name_str()
        )));
    }
    let mut method = None;
    let mut params = Vec::new();
    while let Some(child) = reader.next_child(&root)? {
        match child.name() {
            b"methodName" => method = Some(reader.read_text(&child)?.trim().to_string()),
            b"params" => {
                while let Some(param) = reader.next_child(&child)? {
                    if param.name() != b"param" {
                        return Err(unexpected(&reader, &param, "<param>"));
                    }
                    params.push(read_single_value(&mut reader, &param)?);
                }
            }
            _ => return Err(unexpected(&reader, &child, "<methodName> or <params>")),
        }
    }
    reader.finish()?;
    let method = method.ok_or_else(|| reader.error("<methodCall> without <methodName>"))?;
    Ok((method, params))
}

fn unexpected(reader: &XmlReader<'_>, found: &Element<'_>, expected: &str) -> XmlError {
    reader.error(format!("expected {expected}, found <{}>", found.name_str()))
}

fn fault_from_value(reader: &XmlReader<'_>, value: Value) -> Result<MethodResponse, XmlError> {
    let Value::Struct(mut members) = value else {
        return Err(reader.error("<fault> does not hold a struct"));
    };
    let code = match members.shift_remove("faultCode") {
        Some(Value::Int(code)) => code,
        Some(Value::I8(code)) => code as i32,
        _ => return Err(reader.error("<fault> without an int faultCode")),
    };
    let message = match members.shift_remove("faultString") {
        Some(Value::String(s)) => s,
        Some(other) => other.to_string(),
        None => String::new(),
    };
    Ok(MethodResponse::Fault { code, message })
}

/// Reads the one `<value>` inside `parent` (a `<param>` or `<fault>`) and consumes `parent`.
fn read_single_value(reader: &mut XmlReader<'_>, parent: &Element<'_>) -> Result<Value, XmlError> {
    let mut value = None;
    while let Some(child) = reader.next_child(parent)? {
        if child.name() != b"value" || value.is_some() {
            return Err(unexpected(reader, &child, "a single <value>"));
        }
        value = Some(read_value(reader, &child)?);
    }
    value.ok_or_else(|| reader.error(format!("<{}> without a <value>", parent.name_str())))
}

/// Reads a `<value>` element (already entered) into a [`Value`].
pub(crate) fn read_value(
    reader: &mut XmlReader<'_>,
    value: &Element<'_>,
) -> Result<Value, XmlError> {
    let mut text: Cow<'_, str> = Cow::Borrowed("");
    let mut typed = None;
    while let Some(node) = reader.next_node(value)? {
        match node {
            Node::Text(piece) => {
                if text.is_empty() {
                    text = piece;
                } else {
                    text.to_mut().push_str(&piece);
                }
            }
            Node::Element(element) => {
                if typed.is_some() {
                    return Err(reader.error("more than one type inside <value>"));
                }
                typed = Some(read_typed(reader, &element)?);
            }
        }
    }
    match typed {
        Some(v) => {
            if !text.trim().is_empty() {
                return Err(reader.error("text beside a typed <value>"));
            }
            Ok(v)
        }
        // An untyped <value>text</value> is a string (XML-RPC spec; oned agrees).
        None => Ok(Value::String(text.into_owned())),
    }
}

fn read_typed(reader: &mut XmlReader<'_>, element: &Element<'_>) -> Result<Value, XmlError> {
    Ok(match element.name() {
        b"int" | b"i4" => {
            let text = reader.read_text(element)?;
            Value::Int(
                text.trim()
                    .parse()
                    .map_err(|_| reader.error(format!("invalid int {:?}", truncate(&text))))?,
            )
        }
        b"i8" => {
            let text = reader.read_text(element)?;
            Value::I8(
                text.trim()
                    .parse()
                    .map_err(|_| reader.error(format!("invalid i8 {:?}", truncate(&text))))?,
            )
        }
        b"boolean" => {
            let text = reader.read_text(element)?;
            Value::Bool(match text.trim() {
                "1" | "true" => true,
                "0" | "false" => false,
                other => return Err(reader.error(format!("invalid boolean {:?}", truncate(other)))),
            })
        }
        b"string" => Value::String(reader.read_text(element)?.into_owned()),
        b"double" => {
            let text = reader.read_text(element)?;
            Value::Double(
                text.trim()
                    .parse()
                    .map_err(|_| reader.error(format!("invalid double {:?}", truncate(&text))))?,
            )
        }
        b"dateTime.iso8601" => Value::DateTime(reader.read_text(element)?.trim().to_string()),
        b"base64" => {
            let text = reader.read_text(element)?;
            let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
            Value::Base64(
                base64::engine::general_purpose::STANDARD
                    .decode(compact.as_bytes())
                    .map_err(|e| reader.error(format!("invalid base64: {e}")))?,
            )
        }
        b"nil" => {
            reader.skip(element)?;
            Value::Nil
        }
        b"array" => {
            let mut items = Vec::new();
            let mut seen_data = false;
            while let Some(data) = reader.next_child(element)? {
                if data.name() != b"data" || seen_data {
                    return Err(unexpected(reader, &data, "a single <data>"));
                }
                seen_data = true;
                while let Some(item) = reader.next_child(&data)? {
                    if item.name() != b"value" {
                        return Err(unexpected(reader, &item, "<value>"));
                    }
                    items.push(read_value(reader, &item)?);
                }
            }
            Value::Array(items)
        }
        b"struct" => {
            let mut members = IndexMap::new();
            while let Some(member) = reader.next_child(element)? {
                if member.name() != b"member" {
                    return Err(unexpected(reader, &member, "<member>"));
                }
                let mut name = None;
                let mut value = None;
                while let Some(part) = reader.next_child(&member)? {
                    match part.name() {
                        b"name" if name.is_none() => {
                            name = Some(reader.read_text(&part)?.into_owned())
                        }
                        b"value" if value.is_none() => value = Some(read_value(reader, &part)?),
                        _ => return Err(unexpected(reader, &part, "<name> then <value>")),
                    }
                }
                match (name, value) {
                    (Some(n), Some(v)) => {
                        members.insert(n, v);
                    }
                    _ => return Err(reader.error("<member> needs a <name> and a <value>")),
                }
            }
            Value::Struct(members)
        }
        other => {
            return Err(reader.error(format!(
                "unknown XML-RPC type <{}>",
                String::from_utf8_lossy(other)
            )))
        }
    })
}

fn truncate(text: &str) -> &str {
    match text.char_indices().nth(40) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_oned_success_and_failure_arrays() {
        let ok = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<methodResponse>\r\n<params>\r\n<param><value><array><data>\r\n<value><boolean>1</boolean></value>\r\n<value><string>&lt;GROUP&gt;&lt;ID&gt;100&lt;/ID&gt;&lt;/GROUP&gt;</string></value>\r\n<value><i4>0</i4></value>\r\n</data></array></value></param>\r\n</params>\r\n</methodResponse>\r\n";
        let MethodResponse::Params(params) = decode_response(ok).unwrap() else {
            panic!("expected params")
        };
        assert_eq!(
            params,
            vec![Value::Array(vec![
                Value::Bool(true),
                Value::String("<GROUP><ID>100</ID></GROUP>".into()),
                Value::Int(0)
            ])]
        );
    }

    #[test]
    fn decodes_faults() {
        let fault = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<methodResponse>\r\n<fault>\r\n<value><struct>\r\n<member><name>faultCode</name>\r\n<value><i4>-506</i4></value></member>\r\n<member><name>faultString</name>\r\n<value><string>Requested method 'one.nope' not defined</string></value></member>\r\n</struct></value>\r\n</fault>\r\n</methodResponse>\r\n";
        assert_eq!(
            decode_response(fault).unwrap(),
            MethodResponse::Fault {
                code: -506,
                message: "Requested method 'one.nope' not defined".into()
            }
        );
    }

    #[test]
    fn untyped_value_is_a_string_and_encoding_round_trips() {
        let call = b"<methodCall><methodName>one.vm.info</methodName><params><param><value>user:pass</value></param><param><value><int>4</int></value></param></params></methodCall>";
        let (method, params) = decode_method_call(call).unwrap();
        assert_eq!(method, "one.vm.info");
        assert_eq!(
            params,
            vec![Value::String("user:pass".into()), Value::Int(4)]
        );
        let encoded = encode_method_call(&method, &params);
        assert_eq!(
            decode_method_call(encoded.as_bytes()).unwrap(),
            (method, params)
        );
    }

    #[test]
    fn malformed_responses_are_errors_not_panics() {
        for bad in [
            &b""[..],
            b"<html>oops</html>",
            b"<methodResponse><params><param><value><int>x</int></value></param></params></methodResponse>",
            b"<methodResponse><params><param><value><array><data><value><string>cut",
            b"<methodResponse></methodResponse>",
            b"<methodResponse><params><param><value><foo/></value></param></params></methodResponse>",
            b"<methodResponse><fault><value><int>1</int></value></fault></methodResponse>",
        ] {
            assert!(decode_response(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
