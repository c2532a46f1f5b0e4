//! Conformance of the generated models with the reference data in `../shared/reference`
//! (`OPENNEBULA_REFERENCE_DIR` overrides it): the official XSD roots, and every document
//! body that a real oned 7.5.80 returned in the recorded tour.
//!
//! Also the proof that the official XSD set generates code that compiles and parses: with
//! this feature, build.rs generates `opennebula::models::official` from it.
#![cfg(feature = "conformance")]

use std::collections::BTreeSet;
use std::path::PathBuf;

use opennebula::models::{self, official};

fn reference_dir() -> PathBuf {
    std::env::var_os("OPENNEBULA_REFERENCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/reference"))
        })
}

/// The global elements (document roots) declared by the official XSD files.
fn official_roots() -> BTreeSet<String> {
    use quick_xml::events::Event;
    let dir = reference_dir().join("opennebula-xsd");
    let mut roots = BTreeSet::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xsd"))
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let mut reader = quick_xml::Reader::from_str(&text);
        let mut depth = 0usize;
        loop {
            match reader.read_event().unwrap() {
                Event::Start(e) => {
                    if depth == 1 && e.local_name().as_ref() == b"element" {
                        roots.insert(name_attribute(&e));
                    }
                    depth += 1;
                }
                Event::Empty(e) if depth == 1 && e.local_name().as_ref() == b"element" => {
                    roots.insert(name_attribute(&e));
                }
                Event::End(_) => depth -= 1,
                Event::Eof => break,
                _ => {}
            }
        }
    }
    assert!(
        roots.len() > 40,
        "found only {} roots in {}",
        roots.len(),
        dir.display()
    );
    roots
}

fn name_attribute(e: &quick_xml::events::BytesStart<'_>) -> String {
    let attr = e
        .try_get_attribute("name")
        .unwrap()
        .expect("a global xs:element has a name");
    String::from_utf8(attr.value.into_owned()).unwrap()
}

/// Every tour response whose payload is an XML document: (file name, document).
fn tour_documents() -> Vec<(String, String)> {
    let dir = reference_dir().join("oned-7.5.80/tour");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".response.xml"))
        .collect();
    files.sort();
    let documents: Vec<_> = files
        .iter()
        .filter_map(|path| {
            let response = std::fs::read_to_string(path).unwrap();
            let body = document_payload(&response)?;
            Some((
                path.file_name().unwrap().to_string_lossy().into_owned(),
                body,
            ))
        })
        .collect();
    assert!(
        documents.len() > 150,
        "found only {} documents in {}",
        documents.len(),
        dir.display()
    );
    documents
}

/// The document inside a successful response: the `<string>` of the second array value,
/// unescaped with quick-xml. `None` for IDs, errors and faults.
fn document_payload(response: &str) -> Option<String> {
    let data = &response[response.find("<data>")?..];
    let rest = &data[data.find("</value>")? + "</value>".len()..];
    let start = rest.find("<value><string>")? + "<value><string>".len();
    let escaped = &rest[start..start + rest[start..].find("</string>")?];
    let text = quick_xml::escape::unescape(escaped).ok()?.into_owned();
    text.starts_with('<').then_some(text)
}

#[test]
fn official_set_generates_every_root() {
    let generated: BTreeSet<String> = official::Document::ROOTS
        .iter()
        .map(|r| r.to_string())
        .collect();
    let missing: Vec<_> = official_roots().difference(&generated).cloned().collect();
    assert!(
        missing.is_empty(),
        "official roots without a generated type: {missing:?}"
    );
}

#[test]
#[cfg_attr(
    not(opennebula_root = "VM"),
    ignore = "schemas/ generates no types yet"
)]
fn every_official_root_has_one_of_our_types() {
    let generated: BTreeSet<String> = models::Document::ROOTS
        .iter()
        .map(|r| r.to_string())
        .collect();
    let missing: Vec<_> = official_roots().difference(&generated).cloned().collect();
    assert!(
        missing.is_empty(),
        "official roots our schemas do not describe: {missing:?}"
    );
}

#[test]
#[cfg_attr(
    not(opennebula_root = "VM"),
    ignore = "schemas/ generates no types yet"
)]
fn every_tour_document_decodes_with_our_types() {
    let mut failures = Vec::new();
    let documents = tour_documents();
    for (file, xml) in &documents {
        match models::Document::from_xml(xml) {
            Ok(models::Document::Unknown { root, .. }) => {
                failures.push(format!("{file}: no type for <{root}>"))
            }
            Ok(document) => {
                let again = models::Document::from_xml(&document.to_xml());
                if again.as_ref() != Ok(&document) {
                    failures.push(format!(
                        "{file}: parse → serialize → parse changed the document"
                    ));
                }
            }
            Err(e) => failures.push(format!("{file}: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} documents failed:\n{}",
        failures.len(),
        documents.len(),
        failures.join("\n")
    );
}

/// The official set's types decode every tour document with an official root, and re-encode
/// it losslessly. Roots the official set does not declare (`HOOKLOG`, `DEFAULT_USER_QUOTAS`,
/// `SQL_COMMAND` ...) come back as `Unknown`, not as errors.
#[test]
fn official_types_decode_the_tour() {
    let roots = official_roots();
    let mut failures = Vec::new();
    let mut typed = 0;
    let documents = tour_documents();
    for (file, xml) in &documents {
        match official::Document::from_xml(xml) {
            Ok(official::Document::Unknown { root, .. }) if roots.contains(&root) => {
                failures.push(format!("{file}: official root <{root}> not dispatched"));
            }
            Ok(official::Document::Unknown { .. }) => {}
            Ok(document) => {
                typed += 1;
                let again = official::Document::from_xml(&document.to_xml());
                if again.as_ref() != Ok(&document) {
                    failures.push(format!(
                        "{file}: parse → serialize → parse changed the document"
                    ));
                }
            }
            Err(e) => failures.push(format!("{file}: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        typed >= 180,
        "only {typed} of {} documents were typed",
        documents.len()
    );
}

/// A VM from the tour, read through the official types: values land in typed fields.
#[test]
fn official_types_give_typed_values() {
    let (_, xml) = tour_documents()
        .into_iter()
        .find(|(file, xml)| file.contains("one.vm.info") && xml.starts_with("<VM>"))
        .expect("a one.vm.info response in the tour");
    let official::Document::Vm(vm) = official::Document::from_xml(&xml).unwrap() else {
        panic!("not dispatched to Vm");
    };
    assert!(xml.contains(&format!("<ID>{}</ID>", vm.id)));
    assert!(xml.contains(&format!("<NAME>{}</NAME>", vm.name)));
    assert!(
        (1..=11).contains(&vm.state) || vm.state == 0,
        "state {}",
        vm.state
    );
    assert_eq!(vm.permissions.owner_u, 1);
}
