//! Replays the inputs the fuzz targets once failed on (and a few hand-picked ones), with the
//! same checks as the targets (`fuzz/src/checks.rs`), on stable, in the normal `cargo test`.
//!
//! Inputs live in `tests/fuzz-regressions/<target>/`; a new crash artifact is kept by copying
//! it there once fixed.

#[path = "../fuzz/src/checks.rs"]
mod checks;

use std::fs;
use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-regressions")
        .join(target);
    let mut count = 0;
    for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let data = fs::read(&path).unwrap();
        eprintln!("replaying {}", path.display());
        check(&data);
        count += 1;
    }
    count
}

#[test]
fn template_text_regressions() {
    assert!(replay("template_text", checks::check_text) > 0);
}

#[test]
fn template_xml_regressions() {
    assert!(replay("template_xml", checks::check_xml) > 0);
}

#[test]
fn xmlrpc_response_regressions() {
    assert!(replay("xmlrpc_response", checks::check_xmlrpc) > 0);
}

#[test]
fn document_regressions() {
    assert!(replay("document", checks::check_document) > 0);
}

#[test]
fn acl_rule_regressions() {
    assert!(replay("acl_rule", checks::check_acl_rule) > 0);
}

/// The hand-picked inputs are valid, so replaying them exercises the round-trip half of the
/// checks, not only the error paths.
#[test]
fn hand_picked_inputs_reach_the_round_trips() {
    let read = |target: &str, name: &str| {
        fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fuzz-regressions")
                .join(target)
                .join(name),
        )
        .unwrap()
    };
    let every_type = read("xmlrpc_response", "hand-picked-every-type");
    assert!(opennebula::wire::decode_one_response(&every_type).is_ok());
    let call = read("xmlrpc_response", "hand-picked-method-call");
    let (method, params) = opennebula::wire::decode_method_call(&call).unwrap();
    assert_eq!((method.as_str(), params.len()), ("one.vm.info", 2));
    for name in ["hand-picked-vm-tolerant", "hand-picked-unknown-root"] {
        let data = read("document", name);
        assert!(opennebula::models::Document::from_xml_bytes(&data).is_ok());
    }
    let text = String::from_utf8(read("acl_rule", "hand-picked-mixed-case")).unwrap();
    assert!(text.parse::<opennebula::api::acl::AclRule>().is_ok());
    let hex = String::from_utf8(read("acl_rule", "hand-picked-hex-no-zone")).unwrap();
    let parts: Vec<&str> = hex.split(',').collect();
    assert!(
        opennebula::api::acl::AclRule::from_hex(parts[0], parts[1], parts[2], parts[3]).is_ok()
    );
}
