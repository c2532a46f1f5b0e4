//! The properties the template fuzz targets check on every input. Shared with the main
//! crate's `tests/template_fuzz_regressions.rs`, which replays the inputs that once failed.

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
