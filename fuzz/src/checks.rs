//! The properties the fuzz targets check on every input. Shared with the main
//! crate's `tests/fuzz_regressions.rs`, which replays the inputs that once failed.

use opennebula::template::{Template, Value, WireForm};
use opennebula::xml::{FromXml, ToXml};

/// Reads a template string the way oned does: XML when it starts with `<`.
fn read_wire(wire: &str, form: WireForm) -> Template {
    match form {
        WireForm::AttributeVector => Template::parse(wire)
            .unwrap_or_else(|e| panic!("attribute-vector form does not parse: {e}\n{wire:?}")),
        WireForm::Xml => Template::from_xml(wire)
            .unwrap_or_else(|e| panic!("XML form does not parse: {e}\n{wire:?}")),
    }
}

fn has_empty_vector(t: &Template) -> bool {
    t.iter().any(|(_, v)| match v {
        Value::Vector(v) => v.is_empty(),
        Value::Nested(n) => has_empty_vector(n),
        Value::Single(_) => false,
    })
}

/// Whatever a template is, what we send for it reads back as the same template, and its XML
/// and JSON forms are stable.
fn check_template(t: &Template) {
    if let Ok(form) = t.wire_form() {
        let wire = t.to_wire_string().expect("wire_form said it can be sent");
        assert_eq!(wire.starts_with('<'), form == WireForm::Xml);
        assert_eq!(
            &read_wire(&wire, form),
            t,
            "wire form changed the template: {wire:?}"
        );
    }
    if let Ok(text) = t.to_attribute_vector() {
        assert_eq!(&read_wire(&text, WireForm::AttributeVector), t);
    }
    let xml = t.to_xml();
    let from_xml = Template::from_xml(&xml).expect("our XML reads back");
    if !has_empty_vector(t) {
        // An empty vector is `<A></A>` in XML, which reads back as an empty single value.
        assert_eq!(from_xml.to_xml(), xml, "XML not stable");
    }
    let json = serde_json::to_string(t).expect("JSON");
    let from_json: Template = serde_json::from_str(&json).expect("JSON reads back");
    assert_eq!(&from_json, t, "JSON round trip: {json}");
}

/// `template_text`: any text is parsed without panic or hang; what parses survives every form.
pub fn check_text(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Template::parse(text) {
        Ok(t) => check_template(&t),
        Err(e) => {
            assert!(e.line() >= 1 && e.column() >= 1);
            let _ = e.to_string();
        }
    }
}

/// `template_xml`: any bytes are read without panic or hang; what reads survives every form,
/// and writing it is stable.
pub fn check_xml(data: &[u8]) {
    if let Ok(t) = Template::from_xml_bytes(data) {
        check_template(&t);
        let once = Template::from_xml(&t.to_xml()).expect("our XML reads back");
        assert_eq!(Template::from_xml(&once.to_xml()).unwrap(), once);
    }
}

// ---------------------------------------------------------------------------------------
// XML-RPC codec (`xmlrpc_response`)

use opennebula::wire::{self, MethodResponse, Value as WireValue};

/// Whether `value` holds a NaN double anywhere (NaN is never equal to itself, so the round
/// trip is only compared for values without one).
fn has_nan(value: &WireValue) -> bool {
    match value {
        WireValue::Double(d) => d.is_nan(),
        WireValue::Array(items) => items.iter().any(has_nan),
        WireValue::Struct(members) => members.values().any(has_nan),
        _ => false,
    }
}

/// Encodes `value` as a successful response and decodes it again: the same value comes back.
fn check_value_round_trip(value: &WireValue) {
    let encoded = wire::encode_response(value);
    let decoded = wire::decode_response(encoded.as_bytes())
        .unwrap_or_else(|e| panic!("our encoding does not decode: {e}\n{encoded}"));
    if !has_nan(value) {
        assert_eq!(
            decoded,
            MethodResponse::Params(vec![value.clone()]),
            "value changed through encode/decode:\n{encoded}"
        );
    }
}

/// `xmlrpc_response`: any bytes go through the response and method-call decoders without
/// panic or hang; whatever decodes is encoded and decoded again to the same value.
pub fn check_xmlrpc(data: &[u8]) {
    match wire::decode_response(data) {
        Ok(MethodResponse::Params(params)) => {
            for value in &params {
                check_value_round_trip(value);
            }
        }
        Ok(MethodResponse::Fault { code, message }) => {
            let encoded = wire::encode_fault(code, &message);
            assert_eq!(
                wire::decode_response(encoded.as_bytes()).expect("our fault decodes"),
                MethodResponse::Fault { code, message },
                "fault changed through encode/decode:\n{encoded}"
            );
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    match wire::decode_one_response(data) {
        Ok(payload) => {
            // What the test server sends for that payload reads back as the same payload.
            let array = WireValue::Array(vec![
                WireValue::Bool(true),
                payload.clone(),
                WireValue::Int(0),
            ]);
            let encoded = wire::encode_response(&array);
            let again = wire::decode_one_response(encoded.as_bytes())
                .unwrap_or_else(|e| panic!("our response does not decode: {e}\n{encoded}"));
            if !has_nan(&payload) {
                assert_eq!(again, payload, "payload changed:\n{encoded}");
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    match wire::decode_method_call(data) {
        Ok((method, params)) => {
            let encoded = wire::encode_method_call(&method, &params);
            let (method2, params2) = wire::decode_method_call(encoded.as_bytes())
                .unwrap_or_else(|e| panic!("our call does not decode: {e}\n{encoded}"));
            assert_eq!(method2, method, "method name changed:\n{encoded}");
            if !params.iter().any(has_nan) {
                assert_eq!(params2, params, "params changed:\n{encoded}");
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

// ---------------------------------------------------------------------------------------
// Typed documents (`document`)

use opennebula::models::{Document, VmPool};

/// Equal, or equal but for NaN numbers (which never equal themselves): their `Debug` forms
/// then match.
fn same<T: PartialEq + std::fmt::Debug>(a: &T, b: &T) -> bool {
    a == b || format!("{a:?}") == format!("{b:?}")
}

/// `document`: any bytes go through `Document` and `VmPool` without panic or hang; whatever
/// decodes is written by `to_xml` and that XML decodes to an equal document.
pub fn check_document(data: &[u8]) {
    match Document::from_xml_bytes(data) {
        Ok(document) => {
            let xml = document.to_xml();
            let again = Document::from_xml(&xml)
                .unwrap_or_else(|e| panic!("our XML does not decode: {e}\n{xml}"));
            assert!(
                same(&again, &document),
                "document changed through to_xml:\n{xml}\nbefore: {document:?}\nafter:  {again:?}"
            );
            let _ = document.summary();
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    if let Ok(pool) = VmPool::from_xml_bytes(data) {
        let xml = pool.to_xml();
        let again = VmPool::from_xml(&xml)
            .unwrap_or_else(|e| panic!("our VM_POOL XML does not decode: {e}\n{xml}"));
        assert!(
            same(&again, &pool),
            "VM_POOL changed through to_xml:\n{xml}\nbefore: {pool:?}\nafter:  {again:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// ACL rules (`acl_rule`)

use opennebula::api::acl::AclRule;

/// Checks one parsed rule: its text form parses back to it, and its numeric form reads back
/// to it.
fn check_acl(rule: &AclRule) {
    let text = rule.to_string();
    let reparsed: AclRule = text
        .parse()
        .unwrap_or_else(|e| panic!("printed rule {text:?} does not parse: {e}"));
    assert_eq!(&reparsed, rule, "text form changed the rule: {text:?}");
    assert_eq!(reparsed.to_string(), text, "printing is not stable");
    let [user, resource, rights, zone] = rule.to_hex();
    let from_hex = AclRule::from_hex(&user, &resource, &rights, &zone)
        .unwrap_or_else(|e| panic!("hex form {:?} does not read: {e}", rule.to_hex()));
    assert_eq!(&from_hex, rule, "hex form changed the rule");
}

/// `acl_rule`: any text goes through the rule parser (and, split on `,`, through the hex
/// reader) without panic; what parses survives text → rule → text and rule → hex → rule.
pub fn check_acl_rule(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match text.parse::<AclRule>() {
        Ok(rule) => check_acl(&rule),
        Err(e) => {
            let _ = e.to_string();
        }
    }
    // The hex reader takes what ACL_POOL prints: four numbers.
    let mut parts = text.splitn(4, ',');
    if let (Some(user), Some(resource), Some(rights)) = (parts.next(), parts.next(), parts.next()) {
        let zone = parts.next().unwrap_or("");
        match AclRule::from_hex(user, resource, rights, zone) {
            Ok(rule) => check_acl(&rule),
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
}
