//! Templates against the recorded traffic of a real oned 7.5.80 (`../shared/reference`).
//!
//! Needs the reference data: run with `--features conformance` (path overridable with
//! `OPENNEBULA_REFERENCE_DIR`).
#![cfg(feature = "conformance")]

use std::fs;
use std::path::PathBuf;

use opennebula::template::{Template, Value, WireForm};
use opennebula::xml::{Element, FromXml, Node, ToXml, XmlReader};

fn tour_dir() -> PathBuf {
    let base = std::env::var_os("OPENNEBULA_REFERENCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/reference"))
        });
    base.join("oned-7.5.80/tour")
}

fn tour_files(suffix: &str) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = fs::read_dir(tour_dir())
        .expect("tour directory (set OPENNEBULA_REFERENCE_DIR)")
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, fs::read(&p).unwrap())
        })
        .collect();
    files.sort();
    files
}

fn find_file(prefix: &str, suffix: &str) -> Vec<u8> {
    tour_files(suffix)
        .into_iter()
        .find(|(name, _)| name.starts_with(prefix))
        .unwrap_or_else(|| panic!("no tour file {prefix}*{suffix}"))
        .1
}

/// The text of every `<string>` of an XML-RPC body, in order.
fn rpc_strings(body: &[u8]) -> Vec<String> {
    try_rpc_strings(body).expect("well-formed XML-RPC body")
}

/// `None` for the deliberately malformed bodies of the tour.
fn try_rpc_strings(body: &[u8]) -> Option<Vec<String>> {
    fn walk(r: &mut XmlReader<'_>, el: &Element<'_>, out: &mut Vec<String>) -> Option<()> {
        while let Some(node) = r.next_node(el).ok()? {
            if let Node::Element(child) = node {
                if child.name() == b"string" {
                    out.push(r.read_text(&child).ok()?.into_owned());
                } else {
                    walk(r, &child, out)?;
                }
            }
        }
        Some(())
    }
    let mut r = XmlReader::new(body);
    let root = r.root().ok()?;
    let mut out = Vec::new();
    walk(&mut r, &root, &mut out)?;
    Some(out)
}

/// A template element found in a document: its name, what `Template` read, and its leaves
/// listed independently.
type Found = (String, Template, Vec<(String, String)>);

/// Every TEMPLATE / USER_TEMPLATE (read by `Template`) with the flat list of its leaves
/// (`PATH/TO/LEAF`, text) read independently, straight from the document.
fn templates_in(document: &str) -> Vec<Found> {
    fn leaves(
        r: &mut XmlReader<'_>,
        el: &Element<'_>,
        path: &str,
        out: &mut Vec<(String, String)>,
    ) {
        let mut text = String::new();
        let mut had_children = false;
        while let Some(node) = r.next_node(el).unwrap() {
            match node {
                Node::Text(t) => text.push_str(&t),
                Node::Element(child) => {
                    had_children = true;
                    let p = format!("{path}/{}", child.name_str());
                    leaves(r, &child, &p, out);
                }
            }
        }
        if !had_children {
            out.push((path.to_owned(), text));
        }
    }
    fn walk(doc: &str, r: &mut XmlReader<'_>, el: &Element<'_>, out: &mut Vec<Found>) {
        while let Some(node) = r.next_node(el).unwrap() {
            if let Node::Element(child) = node {
                let name = child.name_str().into_owned();
                if name == "TEMPLATE" || name == "USER_TEMPLATE" {
                    let start = r.position() as usize;
                    let template = Template::read_xml(r, &child).unwrap();
                    // Read the same element a second time, independently.
                    let mut again = XmlReader::new(doc.as_bytes());
                    let mut list = Vec::new();
                    let again_root = again.root().unwrap();
                    find_and_list(&mut again, &again_root, start, &mut list);
                    out.push((name, template, list));
                } else {
                    walk(doc, r, &child, out);
                }
            }
        }
    }
    /// Finds the element that ends its start tag at byte `start` and lists its leaves.
    fn find_and_list(
        r: &mut XmlReader<'_>,
        el: &Element<'_>,
        start: usize,
        out: &mut Vec<(String, String)>,
    ) -> bool {
        while let Some(node) = r.next_node(el).unwrap() {
            if let Node::Element(child) = node {
                if r.position() as usize == start {
                    while let Some(attr) = r.next_child(&child).unwrap() {
                        let p = attr.name_str().into_owned();
                        leaves(r, &attr, &p, out);
                    }
                    return true;
                }
                if find_and_list(r, &child, start, out) {
                    return true;
                }
            }
        }
        false
    }
    let mut r = XmlReader::new(document.as_bytes());
    let root = r.root().unwrap();
    let mut out = Vec::new();
    walk(document, &mut r, &root, &mut out);
    out
}

/// The leaves of a `Template`, in its order, named like `templates_in` names them.
fn template_leaves(t: &Template, prefix: &str, out: &mut Vec<(String, String)>) {
    for (name, value) in t.iter() {
        let path = if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}/{name}")
        };
        match value {
            Value::Single(s) => out.push((path, s.clone())),
            Value::Vector(v) => {
                for (k, s) in v.iter() {
                    out.push((format!("{path}/{k}"), s.to_owned()));
                }
            }
            Value::Nested(n) => template_leaves(n, &path, out),
        }
    }
}

#[test]
fn every_recorded_template_is_read_losslessly_and_sent_back_exactly() {
    let mut templates = 0;
    let mut values = 0;
    let mut xml_form = 0;
    for (file, body) in tour_files(".response.xml") {
        for document in rpc_strings(&body) {
            if !document.starts_with('<') {
                continue;
            }
            for (element, template, original_leaves) in templates_in(&document) {
                templates += 1;
                values += template.iter().count();
                let mut leaves = Vec::new();
                template_leaves(&template, "", &mut leaves);
                assert_eq!(leaves, original_leaves, "{file} {element}: leaves differ");
                assert!(
                    template.iter().all(|(_, v)| !matches!(v, Value::Nested(_))),
                    "{file}: oned never nests deeper than a vector"
                );

                let xml = template.to_xml();
                assert_eq!(
                    Template::from_xml(&xml).unwrap(),
                    template,
                    "{file}: XML round trip"
                );

                let json = serde_json::to_string(&template).unwrap();
                let from_json: Template = serde_json::from_str(&json).unwrap();
                assert_eq!(from_json, template, "{file}: JSON round trip");

                // Reading a template from a response and sending it back keeps every attribute.
                let wire = template
                    .to_wire_string()
                    .unwrap_or_else(|e| panic!("{file}: {e}"));
                let sent = match template.wire_form().unwrap() {
                    WireForm::AttributeVector => Template::parse(&wire).unwrap(),
                    WireForm::Xml => {
                        xml_form += 1;
                        Template::from_xml(&wire).unwrap()
                    }
                };
                assert_eq!(sent, template, "{file}: wire round trip");
            }
        }
    }
    assert!(templates > 400, "only {templates} templates found");
    eprintln!("{templates} templates, {values} values, {xml_form} sent as XML");
}

#[test]
fn every_template_string_oned_accepted_parses() {
    let mut parsed = 0;
    for (file, body) in tour_files(".request.xml") {
        let response = find_file(&file[..4], ".response.xml");
        let accepted = String::from_utf8_lossy(&response).contains("<boolean>1</boolean>");
        let Some(strings) = try_rpc_strings(&body) else {
            continue;
        };
        for param in strings.iter().skip(1) {
            let looks_like_template = param.contains('=')
                && param
                    .bytes()
                    .next()
                    .is_some_and(|b| b.is_ascii_alphabetic());
            // one.system.sql takes SQL, not a template.
            if !looks_like_template || !accepted || file.contains("one.system.sql") {
                continue;
            }
            let t = Template::parse(param).unwrap_or_else(|e| panic!("{file}: {e}\n{param}"));
            parsed += 1;
            // And our own attribute-vector form of it says the same.
            assert_eq!(
                Template::parse(&t.to_attribute_vector().unwrap()).unwrap(),
                t
            );
        }
    }
    assert!(parsed > 50, "only {parsed} template parameters found");
    eprintln!("{parsed} template parameters parsed");
}

#[test]
fn oned_parse_errors_are_ours_too() {
    for prefix in ["302-", "303-"] {
        let strings = rpc_strings(&find_file(prefix, ".request.xml"));
        let err = Template::parse(&strings[1]).unwrap_err();
        assert!(err.line() >= 1 && err.column() >= 1, "{err}");
    }
}

/// The attributes of `sent` appear with the same values in the template oned returns later.
fn assert_applied(request: &str, response: &str, element: &str) {
    let strings = rpc_strings(&find_file(request, ".request.xml"));
    let sent = Template::parse(strings[1..].iter().find(|s| s.contains('=')).unwrap()).unwrap();
    let response_strings = rpc_strings(&find_file(response, ".response.xml"));
    let (_, stored, _) = templates_in(&response_strings[0])
        .into_iter()
        .find(|(name, _, _)| name == element)
        .unwrap();
    // oned moves NAME out of the template, into the object's own NAME.
    for (name, values) in sent.entries().filter(|(name, _)| *name != "NAME") {
        assert_eq!(
            stored.get_all(name),
            values,
            "{request} → {response}: {name}"
        );
    }
}

#[test]
fn what_we_parse_is_what_oned_stored() {
    assert_applied("300-", "304-", "TEMPLATE"); // template.allocate → template.info
    assert_applied("146-", "147-", "TEMPLATE"); // host.update replace → host.info
    assert_applied("308-", "309-", "TEMPLATE"); // template.update merge → template.info
}

#[test]
fn host_template_reads_like_pyone() {
    let strings = rpc_strings(&find_file("143-", ".response.xml"));
    let (_, host_template, _) = templates_in(&strings[0]).into_iter().next().unwrap();
    assert_eq!(&host_template["ARCH"], "x86_64");
    assert_eq!(host_template.get("HYPERVISOR"), Some("dummy"));
}
