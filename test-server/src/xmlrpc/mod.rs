//! The XML-RPC adapter of the test server: xmlrpc-c's framing and faults, parameter type
//! checks against the method table (`opennebula::api::METHODS`), the `system.*` introspection
//! methods xmlrpc-c adds, `system.multicall`, and the hand-off to the protocol-free
//! [`core`](crate::core). [`http`] serves it over HTTP (and TLS).
//!
//! Responses are written by hand rather than with [`opennebula::wire::encode_response`] because
//! oned's xmlrpc-c has its own byte layout (CRLF line ends, `<i4>`, a line per array item)
//! and the server's job is to copy it exactly.

pub(crate) mod http;

use std::fmt::Write as _;

use opennebula::api::{MethodInfo, WireType, TABLE_ORDER};
use opennebula::wire::{decode_method_call, Value};

use crate::core::{unescape as unescape_markup, Core, DocumentForm, Payload, Refusal};

/// The answer to one call, before encoding.
#[derive(Debug, Clone, PartialEq)]
enum Reply {
    /// `[true, payload, 0]`
    Ok(Value),
    /// `[false, message, code, object id, -1]`
    Err { code: i32, message: String, id: i32 },
    /// A bare value (the `system.*` introspection methods).
    Raw(Value),
    /// An xmlrpc-c `<fault>`.
    Fault(i32, String),
    /// `[true, document, 0]` of an `info` call: the response up to and with the document,
    /// escaped as `<string>` text (see [`DocumentForm::Escaped`]).
    Document(String),
}

impl From<Result<Payload, Refusal>> for Reply {
    fn from(outcome: Result<Payload, Refusal>) -> Reply {
        match outcome {
            Ok(Payload::Value(value)) => Reply::Ok(value),
            Ok(Payload::Escaped(response)) => Reply::Document(response),
            Err(refusal) => Reply::Err {
                code: refusal.code.code(),
                message: refusal.message,
                id: refusal.object_id,
            },
        }
    }
}

/// The fault codes of xmlrpc-c.
const FAULT_TYPE: i32 = -501;
const FAULT_PARSE: i32 = -503;
const FAULT_NO_SUCH_METHOD: i32 = -506;

/// The `system.*` methods xmlrpc-c registers itself, in its `system.listMethods` order.
const SYSTEM_METHODS: &[&str] = &[
    "system.listMethods",
    "system.methodExist",
    "system.methodHelp",
    "system.methodSignature",
    "system.multicall",
    "system.shutdown",
    "system.capabilities",
    "system.getCapabilities",
];

/// Handles one HTTP request body and returns the response body.
pub(crate) fn handle_body(core: &Core, body: &[u8]) -> String {
    if let Some(message) = bad_boolean(body) {
        return encode_fault(FAULT_PARSE, &message);
    }
    let (method, params) = match decode_method_call(body) {
        Ok(call) => call,
        Err(error) => {
            let detail = if body.trim_ascii_start().starts_with(b"<") {
                let problem = if error.to_string().contains("end of") {
                    "no element found".to_string()
                } else {
                    error.to_string()
                };
                format!("Invalid XML \"content\".  Problem with token at '...': {problem}")
            } else {
                "syntax error".to_string()
            };
            return encode_fault(
                FAULT_PARSE,
                &format!("Call XML not a proper XML-RPC call.  Call is not valid XML.  {detail}"),
            );
        }
    };
    core.log_call(&method);
    match call(core, &method, &params, Some(DOCUMENT_HEAD)) {
        Reply::Fault(code, message) => encode_fault(code, &message),
        Reply::Document(mut response) => {
            response.push_str(DOCUMENT_TAIL);
            response
        }
        reply => encode_response(&reply_value(reply)),
    }
}

/// A successful document reply up to the document, which follows escaped as `<string>`
/// text: the state writes documents straight after this (see
/// [`Oned::call_writing_documents`](super::state::Oned::call_writing_documents)).
const DOCUMENT_HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<methodResponse>\r\n\
     <params>\r\n<param><value><array><data>\r\n<value><boolean>1</boolean></value>\r\n\
     <value><string>";

/// What follows the document in a successful document reply.
const DOCUMENT_TAIL: &str = "</string></value>\r\n<value><i4>0</i4></value>\r\n\
     </data></array></value></param>\r\n</params>\r\n</methodResponse>\r\n";

/// xmlrpc-c refuses `<boolean>` content other than `0` or `1` before anything else.
fn bad_boolean(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let mut rest = text;
    while let Some(start) = rest.find("<boolean>") {
        let after = &rest[start + "<boolean>".len()..];
        let end = after.find("</boolean>")?;
        let content = after[..end].trim();
        if content != "0" && content != "1" {
            return Some(format!(
                "Call XML not a proper XML-RPC call.  <boolean> XML element content must be \
                 either '0' or '1' according to XML-RPC.  This one has '{content}'"
            ));
        }
        rest = &after[end..];
    }
    None
}

/// The response array of a non-fault reply.
fn reply_value(reply: Reply) -> Value {
    match reply {
        Reply::Ok(payload) => Value::Array(vec![Value::Bool(true), payload, Value::Int(0)]),
        Reply::Err { code, message, id } => Value::Array(vec![
            Value::Bool(false),
            Value::String(message),
            Value::Int(code),
            Value::Int(id),
            Value::I8(-1),
        ]),
        Reply::Raw(value) => value,
        Reply::Fault(code, message) => fault_struct(code, &message),
        Reply::Document(response) => {
            let document = response.strip_prefix(DOCUMENT_HEAD).unwrap_or(&response);
            Value::Array(vec![
                Value::Bool(true),
                Value::String(unescape_markup(document)),
                Value::Int(0),
            ])
        }
    }
}

fn fault_struct(code: i32, message: &str) -> Value {
    let mut members = indexmap::IndexMap::new();
    members.insert("faultCode".to_string(), Value::Int(code));
    members.insert(
        "faultString".to_string(),
        Value::String(message.to_string()),
    );
    Value::Struct(members)
}

/// Runs one call (also used for each call of a `system.multicall`). With `document_head`,
/// an `info` document comes back as [`Reply::Document`], written after it.
fn call(core: &Core, method: &str, params: &[Value], document_head: Option<&str>) -> Reply {
    if method == "system.multicall" {
        return multicall(core, params);
    }
    if let Some(reply) = system_method(method, params) {
        return reply;
    }
    let Some((info, handler)) = crate::dispatch::method(method) else {
        return no_such_method(method);
    };
    let mut daemon = core.daemon();
    // oned authenticates first (an int in the session slot is a failed login, not a fault),
    // then reads its parameters.
    let session = match params.first() {
        Some(Value::String(session)) => session.as_str(),
        Some(_) => "",
        None => return Reply::Fault(FAULT_TYPE, "Not enough parameters".into()),
    };
    let caller = match daemon.authenticate(method, session) {
        Ok(caller) => caller,
        Err(refusal) => return Reply::from(Err(refusal)),
    };
    if let Some(fault) = check_params(info, &params[1..]) {
        return fault;
    }
    let form = match document_head {
        Some(prefix) => DocumentForm::Escaped { prefix },
        None => DocumentForm::Plain,
    };
    Reply::from(daemon.run(caller, info, handler, &params[1..], form))
}

/// The `system.*` methods xmlrpc-c answers itself.
fn system_method(method: &str, params: &[Value]) -> Option<Reply> {
    let known =
        |name: &str| SYSTEM_METHODS.contains(&name) || crate::dispatch::method(name).is_some();
    Some(match method {
        "system.listMethods" => {
            let names = SYSTEM_METHODS
                .iter()
                .chain(TABLE_ORDER)
                .copied()
                .map(Value::from)
                .collect();
            Reply::Raw(Value::Array(names))
        }
        "system.methodExist" => {
            let Some(Value::String(name)) = params.first() else {
                return Some(type_fault(params.first(), "string"));
            };
            Reply::Raw(Value::Bool(known(name)))
        }
        "system.methodHelp" => {
            let Some(Value::String(name)) = params.first() else {
                return Some(type_fault(params.first(), "string"));
            };
            if !known(name) {
                return Some(no_such_method(name));
            }
            Reply::Raw(Value::from("No help is available for this method."))
        }
        "system.methodSignature" => {
            let Some(Value::String(name)) = params.first() else {
                return Some(type_fault(params.first(), "string"));
            };
            let Some((info, _)) = crate::dispatch::method(name) else {
                return Some(no_such_method(name));
            };
            let mut types = vec![Value::from("array"), Value::from("string")];
            types.extend(info.params.iter().map(|p| Value::from(type_name(p.wire))));
            Reply::Raw(Value::Array(vec![Value::Array(types)]))
        }
        "system.capabilities" | "system.getCapabilities" => {
            let mut members = indexmap::IndexMap::new();
            members.insert("facility".to_string(), Value::from("xmlrpc"));
            members.insert("version_major".to_string(), Value::Int(1));
            members.insert("version_minor".to_string(), Value::Int(0));
            Reply::Raw(Value::Struct(members))
        }
        "system.shutdown" => Reply::Fault(-500, "Shutdown is disabled on this server".into()),
        _ => return None,
    })
}

fn multicall(core: &Core, params: &[Value]) -> Reply {
    let Some(Value::Array(calls)) = params.first() else {
        return type_fault(params.first(), "array");
    };
    let mut results = Vec::with_capacity(calls.len());
    for entry in calls {
        let (name, inner) = match entry {
            Value::Struct(members) => match (members.get("methodName"), members.get("params")) {
                (Some(Value::String(name)), Some(Value::Array(inner))) => {
                    (name.as_str(), inner.as_slice())
                }
                _ => {
                    results.push(fault_struct(
                        FAULT_TYPE,
                        "system.multicall expected a struct with methodName and params",
                    ));
                    continue;
                }
            },
            _ => {
                results.push(fault_struct(
                    FAULT_TYPE,
                    "system.multicall expected a struct",
                ));
                continue;
            }
        };
        if name == "system.multicall" {
            results.push(fault_struct(-509, "Recursive system.multicall forbidden"));
            continue;
        }
        core.log_call(name);
        match call(core, name, inner, None) {
            Reply::Fault(code, message) => results.push(fault_struct(code, &message)),
            reply => results.push(Value::Array(vec![reply_value(reply)])),
        }
    }
    Reply::Raw(Value::Array(results))
}

fn no_such_method(method: &str) -> Reply {
    Reply::Fault(
        FAULT_NO_SUCH_METHOD,
        format!("Method '{method}' not defined"),
    )
}

/// The type name `system.methodSignature` gives a parameter.
fn type_name(wire: WireType) -> &'static str {
    match wire {
        WireType::Int => "int",
        WireType::Bool => "boolean",
        WireType::I8 => "i8",
        WireType::Array => "array",
        WireType::String => "string",
    }
}

fn type_fault(_found: Option<&Value>, expected: &str) -> Reply {
    match _found {
        None => Reply::Fault(FAULT_TYPE, "Not enough parameters".into()),
        Some(_) => Reply::Fault(
            FAULT_TYPE,
            format!("Parameter that is supposed to be {expected} is not"),
        ),
    }
}

/// Checks the parameters after the session against the method table, in order, as
/// xmlrpc-c's typed getters do: the first missing required parameter or wrong type wins.
/// Extra trailing parameters are ignored; so is the type of a parameter oned never reads
/// (the `unused` first parameter of the two `allocatedb` calls).
fn check_params(method: &MethodInfo, params: &[Value]) -> Option<Reply> {
    for (index, param) in method.params.iter().enumerate() {
        let found = params.get(index);
        let ok = match found {
            None if param.default.is_some() => return None,
            None => return Some(type_fault(None, "")),
            Some(_) if param.name == "unused" => true,
            Some(value) => param.wire.matches(value),
        };
        if !ok {
            let expected = match param.wire {
                WireType::Int => "integer",
                WireType::Bool => "boolean",
                WireType::I8 => "64-bit integer",
                WireType::Array => "array",
                WireType::String => "string",
            };
            return Some(type_fault(found, expected));
        }
    }
    None
}

/// Encodes a successful `methodResponse` the way xmlrpc-c lays it out.
pub(crate) fn encode_response(value: &Value) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<methodResponse>\r\n<params>\r\n<param>",
    );
    encode_value(&mut out, value);
    out.push_str("</param>\r\n</params>\r\n</methodResponse>\r\n");
    out
}

/// Encodes a `<fault>` response the way xmlrpc-c lays it out.
pub(crate) fn encode_fault(code: i32, message: &str) -> String {
    let mut out = String::with_capacity(256);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<methodResponse>\r\n<fault>\r\n");
    encode_value(&mut out, &fault_struct(code, message));
    out.push_str("\r\n</fault>\r\n</methodResponse>\r\n");
    out
}

fn encode_value(out: &mut String, value: &Value) {
    match value {
        Value::Int(i) => {
            let _ = write!(out, "<value><i4>{i}</i4></value>");
        }
        Value::I8(i) => {
            let _ = write!(out, "<value><i8>{i}</i8></value>");
        }
        Value::Bool(b) => {
            let _ = write!(out, "<value><boolean>{}</boolean></value>", u8::from(*b));
        }
        Value::String(s) => {
            out.push_str("<value><string>");
            escape(out, s);
            out.push_str("</string></value>");
        }
        Value::Double(d) => {
            let _ = write!(out, "<value><double>{d:.6}</double></value>");
        }
        Value::DateTime(s) => {
            out.push_str("<value><dateTime.iso8601>");
            escape(out, s);
            out.push_str("</dateTime.iso8601></value>");
        }
        Value::Base64(bytes) => {
            use base64::Engine as _;
            out.push_str("<value><base64>\r\n");
            out.push_str(&base64::engine::general_purpose::STANDARD.encode(bytes));
            out.push_str("\r\n</base64></value>");
        }
        Value::Array(items) => {
            out.push_str("<value><array><data>\r\n");
            for item in items {
                encode_value(out, item);
                out.push_str("\r\n");
            }
            out.push_str("</data></array></value>");
        }
        Value::Struct(members) => {
            out.push_str("<value><struct>\r\n");
            for (name, member) in members {
                out.push_str("<member><name>");
                escape(out, name);
                out.push_str("</name>\r\n");
                encode_value(out, member);
                out.push_str("</member>\r\n");
            }
            out.push_str("</struct></value>");
        }
        Value::Nil => out.push_str("<value><nil/></value>"),
    }
}

/// xmlrpc-c escapes only `<`, `>`, `&` and CR inside `<string>`.
fn escape(out: &mut String, text: &str) {
    out.reserve(text.len());
    opennebula::xml::escape_markup(out, text);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_as_xmlrpc_c_does() {
        let mut out = String::from("x");
        escape(&mut out, "a<b>&c\r\n\u{e9}]]>");
        assert_eq!(out, "xa&lt;b&gt;&amp;c&#13;\n\u{e9}]]&gt;");
        let mut out = String::new();
        escape(&mut out, "");
        escape(&mut out, "plain");
        assert_eq!(out, "plain");
    }

    #[test]
    fn signature_checks_follow_xmlrpc_c() {
        // one.vm.info: id (int), decrypt (bool, optional).
        let info = opennebula::api::method_info("one.vm.info").unwrap();
        assert!(check_params(info, &[Value::Int(1)]).is_none());
        assert!(check_params(info, &[Value::Int(1), Value::Bool(true), "x".into()]).is_none());
        for (params, message) in [
            (vec![], "Not enough parameters"),
            (
                vec![Value::I8(0)],
                "Parameter that is supposed to be integer is not",
            ),
            (
                vec![Value::from("7")],
                "Parameter that is supposed to be integer is not",
            ),
            (
                vec![Value::Int(0), Value::Int(1)],
                "Parameter that is supposed to be boolean is not",
            ),
        ] {
            match check_params(info, &params) {
                Some(Reply::Fault(-501, m)) => assert_eq!(m, message),
                other => panic!("{params:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn responses_use_xmlrpc_c_layout() {
        let body = encode_response(&Value::Array(vec![
            Value::Bool(true),
            Value::from("a<b>'\"&"),
            Value::Int(0),
        ]));
        assert_eq!(
            body,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<methodResponse>\r\n<params>\r\n\
             <param><value><array><data>\r\n<value><boolean>1</boolean></value>\r\n\
             <value><string>a&lt;b&gt;'\"&amp;</string></value>\r\n<value><i4>0</i4></value>\r\n\
             </data></array></value></param>\r\n</params>\r\n</methodResponse>\r\n"
        );
        let fault = encode_fault(-506, "Method 'x' not defined");
        assert!(fault.contains(
            "<fault>\r\n<value><struct>\r\n<member><name>faultCode</name>\r\n\
             <value><i4>-506</i4></value></member>\r\n"
        ));
    }

    #[test]
    fn document_replies_are_laid_out_as_the_generic_encoder_does() {
        let document = "<VM><NAME>a&lt;b&gt;&amp;\r\n]]&gt;&#1;\u{e9}</NAME></VM>";
        let mut response = String::from(DOCUMENT_HEAD);
        opennebula::xml::escape_markup(&mut response, document);
        let multicall_value = reply_value(Reply::Document(response.clone()));
        response.push_str(DOCUMENT_TAIL);
        let value = Value::Array(vec![Value::Bool(true), document.into(), Value::Int(0)]);
        assert_eq!(response, encode_response(&value));
        assert_eq!(multicall_value, value);
        assert_eq!(unescape_markup(&response), {
            let mut plain = response.replace("&lt;", "<").replace("&gt;", ">");
            plain = plain.replace("&#13;", "\r").replace("&amp;", "&");
            plain
        });
    }

    /// `info` documents written escaped straight into the response are byte for byte the
    /// escaped documents of the plain path, hostile template text included.
    #[test]
    fn info_responses_equal_the_escaped_plain_documents() {
        let mut oned = crate::oned::Oned::bootstrap("pw");
        oned.set_clock(1_795_000_000);
        crate::seed::seed(&mut oned, 2, 3);
        let shared = Core::new(oned);
        let session = Value::from("oneadmin:pw");
        let hostile = "a<b>&c ]]> <![CDATA[x]]> &lt; \r\n\t\u{1}\u{e9}";
        for (method, id) in [("one.vm.update", 1), ("one.host.update", 0)] {
            let text = format!("HOSTILE = \"{hostile}\"\nV = [ X = \"{hostile}\" ]");
            let body = opennebula::wire::encode_method_call(
                method,
                &[session.clone(), Value::Int(id), text.into(), Value::Int(1)],
            );
            assert!(handle_body(&shared, body.as_bytes()).contains("<boolean>1</boolean>"));
        }
        let calls: &[(&str, Vec<Value>)] = &[
            ("one.vm.info", vec![Value::Int(0)]),
            ("one.vm.info", vec![Value::Int(1), Value::Bool(true)]),
            ("one.host.info", vec![Value::Int(0)]),
            ("one.host.info", vec![Value::Int(1)]),
            ("one.user.info", vec![Value::Int(-1)]),
            ("one.group.info", vec![Value::Int(0)]),
            ("one.datastore.info", vec![Value::Int(1)]),
            ("one.vm.info", vec![Value::Int(99)]),
            (
                "one.vmpool.info",
                vec![Value::Int(-2), Value::Int(-1), Value::Int(-1)],
            ),
        ];
        let mut documents = 0;
        for (method, params) in calls {
            let mut all = vec![session.clone()];
            all.extend(params.iter().cloned());
            let plain = || match call(&shared, method, &all, None) {
                Reply::Fault(code, message) => encode_fault(code, &message),
                reply => encode_response(&reply_value(reply)),
            };
            let (before, after) = (plain(), {
                let body = opennebula::wire::encode_method_call(method, &all);
                handle_body(&shared, body.as_bytes())
            });
            assert_eq!(after, before, "{method} {params:?}");
            assert_eq!(
                plain(),
                before,
                "{method}: the comparison needs a stable document"
            );
            if after.starts_with(DOCUMENT_HEAD) {
                documents += 1;
            }
            if method.starts_with("one.vm.info") && params[0] == Value::Int(1) {
                assert!(after.contains("&amp;lt;b&amp;gt;&amp;amp;c ]]&amp;gt;"));
                assert!(after.contains("&amp;#13;\n\t&amp;#1;\u{e9}"));
            }
        }
        assert_eq!(documents, 7);
    }

    #[test]
    fn booleans_other_than_0_or_1_are_malformed_calls() {
        assert!(bad_boolean(b"<value><boolean>true</boolean></value>").is_some());
        assert!(bad_boolean(b"<value><boolean>1</boolean></value>").is_none());
    }
}
