//! Every document type the test server emits validates against the official OpenNebula XSDs.
//!
//! The server is driven through the whole recorded oned tour (every object type, VM life
//! cycles, hooks, quotas, monitoring, accounting...), then through the extended pool calls
//! and a server with seeded hosts and VMs. Every XML document it answered is validated with
//! `xmllint --noout --schema <official xsd>` after adding
//! `xmlns="http://opennebula.org/XMLSchema"` to the root element, as OpenNebula's own schema
//! test does (oned itself emits no namespace). The schema is chosen by the root element (and
//! the method for the `*_extended` pool schemas).

#![cfg(feature = "conformance")]

#[path = "support_conformance/mod.rs"]
mod support_conformance;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use opennebula::wire::{decode_response, MethodResponse, Value};
use opennebula_test_server::TestServer;
use support_conformance::{load_tour, reference_dir, replay_tour, target_path};

/// Roots oned emits that have no global element in the official schemas (HOOKLOG is nested
/// in HOOK, the default quotas in USER/GROUP, SQL_COMMAND has no schema at all).
const NO_STANDALONE_SCHEMA: &[&str] = &[
    "HOOKLOG",
    "DEFAULT_USER_QUOTAS",
    "DEFAULT_GROUP_QUOTAS",
    "SQL_COMMAND",
];

/// Schema files that describe no API response (messages to hooks and drivers) or that are
/// chosen by method rather than by root element.
const NOT_BY_ROOT: &[&str] = &[
    "index.xsd",
    "shared.xsd",
    "hook_message_api.xsd",
    "hook_message_retry.xsd",
    "hook_message_state.xsd",
    "vm_pool_extended.xsd",
    "vnet_pool_extended.xsd",
];

/// Invalid documents the test server is known to emit, as (schema file, first xmllint error
/// without line number and namespace, where and why). They are reported, not failed; an
/// entry that no document matches any more fails the test, so this list can only shrink.
const KNOWN_INVALID: &[(&str, &str, &str)] = &[
    (
        "backupjob.xsd",
        "Element 'INCREMENT_MODE': This element is not expected. Expected is one of ( KEEP_LAST, MODE, RESET, SCHED_ACTION ).",
        "tour 642: oned 7.5.80's own document for the same call is invalid too (the XSD lags oned)",
    ),
    (
        "backupjob_pool.xsd",
        "Element 'INCREMENT_MODE': This element is not expected. Expected is one of ( KEEP_LAST, MODE, RESET, SCHED_ACTION ).",
        "tour 650: oned 7.5.80's own document for the same call is invalid too (the XSD lags oned)",
    ),
    (
        "hook.xsd",
        "Element 'TIMEOUT': This element is not expected. Expected is one of ( RESOURCE, STATE ).",
        "tour 131: oned 7.5.80's own document for the same call is invalid too (the XSD lags oned)",
    ),
    (
        "hook_pool.xsd",
        "Element 'TIMEOUT': This element is not expected. Expected is one of ( RESOURCE, STATE ).",
        "tour 129, 693: oned 7.5.80's own document for the same call is invalid too (the XSD lags oned)",
    ),
    (
        "monitoring_data.xsd",
        "Element 'ID': This element is not expected.",
        "tour 157, 159, 160, 537: oned 7.5.80's own document for the same call is invalid too (the XSD lags oned)",
    ),
    (
        "security_group.xsd",
        "Element 'RANGE': This element is not expected. Expected is ( RULE_TYPE ).",
        "tour 286, 289: oned 7.5.80's own document for the same call is invalid too (the XSD lags oned)",
    ),
    (
        "security_group_pool.xsd",
        "Element 'RANGE': This element is not expected. Expected is ( RULE_TYPE ).",
        "tour 297: oned 7.5.80's own document for the same call is invalid too (the XSD lags oned)",
    ),
    (
        "vm.xsd",
        "Element 'VMID': This element is not expected. Expected is one of ( PCI, QEMU_GA_EXEC, RAW, SECURITY_GROUP_RULE, SNAPSHOT, SPICE_OPTIONS, SUBMIT_ON_HOLD, TEMPLATE_ID, TM_MAD_SYSTEM ).",
        "tour 370: oned 7.5.80's own document for the same call is invalid too (the XSD lags oned)",
    ),
    (
        "vm.xsd",
        "Element 'VMID': This element is not expected. Expected is one of ( TEMPLATE_ID, TM_MAD_SYSTEM ).",
        "tour 335, 495: oned 7.5.80's own document for the same call is invalid too (the XSD lags oned)",
    ),
    (
        "zone.xsd",
        "Element 'DESCRIPTION': This element is not expected. Expected is ( ENDPOINT ).",
        "tour 540, 546: oned 7.5.80's own document for the same call is invalid too (the XSD lags oned)",
    ),
    (
        "zone.xsd",
        "Element 'ENDPOINT_GRPC': This element is not expected.",
        "tour 005, 006: oned 7.5.80's own document for the same call is invalid too (the XSD lags oned)",
    ),
    (
        "zone_pool.xsd",
        "Element 'ENDPOINT_GRPC': This element is not expected.",
        "tour 004: oned 7.5.80's own document for the same call is invalid too (the XSD lags oned)",
    ),
];

/// An xmllint error line without its line number and with the OpenNebula namespace removed:
/// "line 1: element VCPU: Schemas validity error : Element '{ns}VCPU': ..." ->
/// "Element 'VCPU': ...".
fn first_error_key(error: &str) -> String {
    let text = match error.find("Schemas validity error : ") {
        Some(at) => &error[at + "Schemas validity error : ".len()..],
        None => error,
    };
    text.replace("{http://opennebula.org/XMLSchema}", "")
}

/// One document the server emitted.
struct Emitted {
    origin: String,
    method: String,
    root: String,
    xml: String,
    /// For a tour call, oned's own document for the same call (to tell, when the server's
    /// document is invalid, whether oned's is invalid too: the XSDs lag behind oned).
    oned_xml: Option<String>,
}

fn xsd_dir() -> PathBuf {
    reference_dir().join("opennebula-xsd")
}

/// Root element name -> schema file, read from the official schema set (the first global
/// element each file declares).
fn schemas_by_root() -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    let entries = std::fs::read_dir(xsd_dir())
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", xsd_dir().display()));
    for entry in entries {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        if !file.ends_with(".xsd") || NOT_BY_ROOT.contains(&file.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let Some(at) = text.find("<xs:element name=\"") else {
            continue;
        };
        let rest = &text[at + "<xs:element name=\"".len()..];
        let name = &rest[..rest.find('"').unwrap()];
        let previous = map.insert(name.to_string(), file.clone());
        assert!(
            previous.is_none(),
            "{name} declared by {file} and {previous:?}"
        );
    }
    map
}

/// The schema of a document: by root element, except the VM pool, whose short form
/// (vmpool.info) and full form (vmpool.infoextended, vmpool.infoset with extended=true) share
/// the root. For a tour call the form is the one oned answered (its VMs carry PERMISSIONS
/// only in the full form); otherwise the method decides.
fn schema_for(doc: &Emitted, by_root: &BTreeMap<String, String>) -> Option<String> {
    if doc.root == "VM_POOL" {
        let extended = match &doc.oned_xml {
            Some(oned) if root_name(oned) == "VM_POOL" && oned.contains("<VM>") => {
                oned.contains("<PERMISSIONS>")
            }
            _ => doc.method.ends_with("infoextended"),
        };
        return Some(
            if extended {
                "vm_pool_extended.xsd"
            } else {
                "vm_pool.xsd"
            }
            .into(),
        );
    }
    if doc.root == "VNET_POOL" && doc.method.ends_with("infoextended") {
        return Some("vnet_pool_extended.xsd".into());
    }
    by_root.get(&doc.root).cloned()
}

/// The XML document in a successful OpenNebula response, if any.
fn document_of(body: &[u8]) -> Option<String> {
    let MethodResponse::Params(params) = decode_response(body).ok()? else {
        return None;
    };
    let items = params.first()?.as_array()?;
    if !items.first()?.as_bool()? {
        return None;
    }
    match items.get(1)? {
        Value::String(s) if s.trim_start().starts_with('<') => Some(s.clone()),
        _ => None,
    }
}

fn root_name(xml: &str) -> String {
    let start = xml.find('<').expect("a root element") + 1;
    let rest = &xml[start..];
    let end = rest
        .find(|c: char| c == '>' || c == '/' || c.is_whitespace())
        .unwrap_or(rest.len());
    rest[..end].to_string()
}

/// `<VM>...` -> `<VM xmlns="http://opennebula.org/XMLSchema">...`.
fn with_namespace(xml: &str, root: &str) -> String {
    let at = xml.find(&format!("<{root}")).expect("root tag") + 1 + root.len();
    format!(
        "{} xmlns=\"http://opennebula.org/XMLSchema\"{}",
        &xml[..at],
        &xml[at..]
    )
}

fn require_xmllint() {
    match Command::new("xmllint").arg("--version").output() {
        Ok(out) if out.status.success() || !out.stderr.is_empty() => {}
        Ok(out) => panic!("xmllint --version failed: {out:?}"),
        Err(e) => panic!(
            "xmllint is required for the XSD conformance test and was not found ({e}); \
             install Debian's libxml2-utils: apt-get install -y libxml2-utils"
        ),
    }
}

async fn call(client: &opennebula::Client, method: &str, params: Vec<Value>) -> Option<String> {
    let response = client.call_raw(method, &params).await.ok()?;
    let body = match response {
        MethodResponse::Params(params) => params,
        MethodResponse::Fault { .. } => return None,
    };
    let items = body.first()?.as_array()?;
    if !items.first()?.as_bool()? {
        return None;
    }
    match items.get(1)? {
        Value::String(s) if s.starts_with('<') => Some(s.clone()),
        _ => None,
    }
}

/// Drives the servers and collects every document they emitted.
async fn collect_documents() -> Vec<Emitted> {
    let mut emitted = Vec::new();

    // 1. The whole tour on a fresh server.
    let tour = load_tour();
    let server = TestServer::start().await.expect("start the test server");
    let replies = replay_tour(&server.url(), &tour).await;
    for (call, reply) in tour.iter().zip(&replies) {
        if let Ok(body) = &reply.body {
            if let Some(xml) = document_of(body) {
                emitted.push(Emitted {
                    origin: format!("tour {:03} {} {}", call.seq, call.method, call.label),
                    method: call.method.clone(),
                    root: root_name(&xml),
                    xml,
                    oned_xml: document_of(&call.response),
                });
            }
        }
    }

    // 2. After the tour: every pool in every filter, and the extended pools.
    let client = server.client().expect("client");
    let all = || vec![Value::Int(-2), Value::Int(-1), Value::Int(-1)];
    let mut extra: Vec<(String, Vec<Value>)> = vec![
        ("one.vmpool.infoextended".into(), {
            let mut p = all();
            p.push(Value::Int(-2));
            p
        }),
        ("one.vmpool.info".into(), {
            let mut p = all();
            p.push(Value::Int(-2));
            p
        }),
        (
            "one.vmpool.monitoring".into(),
            vec![Value::Int(-2), Value::Int(0)],
        ),
        (
            "one.vmpool.accounting".into(),
            vec![Value::Int(-2), Value::Int(-1), Value::Int(-1)],
        ),
        (
            "one.vmpool.showback".into(),
            vec![
                Value::Int(-2),
                Value::Int(-1),
                Value::Int(-1),
                Value::Int(-1),
                Value::Int(-1),
            ],
        ),
    ];
    for pool in [
        "imagepool",
        "templatepool",
        "vnpool",
        "vntemplatepool",
        "secgrouppool",
        "vrouterpool",
        "vmgrouppool",
        "marketapppool",
        "backupjobpool",
    ] {
        extra.push((format!("one.{pool}.info"), all()));
    }
    for pool in [
        "hostpool",
        "clusterpool",
        "datastorepool",
        "userpool",
        "grouppool",
        "zonepool",
        "vdcpool",
        "marketpool",
        "hookpool",
        "acl",
    ] {
        extra.push((format!("one.{pool}.info"), vec![]));
    }
    for (method, params) in extra {
        if let Some(xml) = call(&client, &method, params).await {
            emitted.push(Emitted {
                origin: format!("after tour: {method}"),
                method: method.clone(),
                root: root_name(&xml),
                xml,
                oned_xml: None,
            });
        }
    }

    // 3. A server with seeded hosts and VMs (the benchmark setup).
    let seeded = TestServer::builder()
        .seed_hosts(3)
        .seed_vms(4)
        .start()
        .await
        .expect("start a seeded server");
    let client = seeded.client().expect("client");
    let mut seeded_calls: Vec<(String, Vec<Value>)> = vec![
        ("one.hostpool.info".into(), vec![]),
        (
            "one.vmpool.info".into(),
            vec![
                Value::Int(-2),
                Value::Int(-1),
                Value::Int(-1),
                Value::Int(-2),
            ],
        ),
        (
            "one.vmpool.infoextended".into(),
            vec![
                Value::Int(-2),
                Value::Int(-1),
                Value::Int(-1),
                Value::Int(-2),
            ],
        ),
    ];
    for id in 0..3 {
        seeded_calls.push(("one.host.info".into(), vec![Value::Int(id)]));
    }
    for id in 0..4 {
        seeded_calls.push(("one.vm.info".into(), vec![Value::Int(id)]));
    }
    for (method, params) in seeded_calls {
        if let Some(xml) = call(&client, &method, params).await {
            emitted.push(Emitted {
                origin: format!("seeded server: {method}"),
                root: root_name(&xml),
                method,
                xml,
                oned_xml: None,
            });
        }
    }
    emitted
}

/// Validates `files` against `schema` in one xmllint run; returns the failures (file ->
/// first error lines).
fn validate(schema: &Path, files: &[PathBuf]) -> BTreeMap<PathBuf, Vec<String>> {
    let output = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(schema)
        .args(files)
        .output()
        .expect("run xmllint");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let mut failures: BTreeMap<PathBuf, Vec<String>> = BTreeMap::new();
    for file in files {
        let name = file.to_string_lossy();
        let validated = stderr
            .lines()
            .any(|l| l == format!("{name} validates").as_str());
        if !validated {
            let errors: Vec<String> = stderr
                .lines()
                .filter(|l| l.starts_with(name.as_ref()) && !l.ends_with("fails to validate"))
                .take(5)
                .map(|l| format!("line {}", l[name.len()..].trim_start_matches(':')))
                .collect();
            failures.insert(file.clone(), errors);
        }
    }
    assert!(
        output.status.success() || !failures.is_empty(),
        "xmllint failed without naming a document: {stderr}"
    );
    failures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_emitted_document_validates_against_the_official_xsd() {
    require_xmllint();
    let by_root = schemas_by_root();
    let emitted = collect_documents().await;
    assert!(
        emitted.len() > 100,
        "the server emitted only {} documents",
        emitted.len()
    );

    let dir = target_path("conformance-xsd");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut by_schema: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    let mut origin_of: BTreeMap<PathBuf, (String, String)> = BTreeMap::new();
    // server document -> oned's document for the same tour call (validated alongside).
    let mut oned_of: BTreeMap<PathBuf, PathBuf> = BTreeMap::new();
    let mut unschematised: BTreeSet<String> = BTreeSet::new();
    let mut unknown = Vec::new();
    for (i, doc) in emitted.iter().enumerate() {
        let Some(schema) = schema_for(doc, &by_root) else {
            if NO_STANDALONE_SCHEMA.contains(&doc.root.as_str()) {
                unschematised.insert(doc.root.clone());
            } else {
                unknown.push(format!("{} <{}>", doc.origin, doc.root));
            }
            continue;
        };
        let path = dir.join(format!("{i:04}-{}.xml", doc.root));
        std::fs::write(&path, with_namespace(&doc.xml, &doc.root)).unwrap();
        origin_of.insert(path.clone(), (doc.origin.clone(), schema.clone()));
        if let Some(oned) = &doc.oned_xml {
            let oned_root = root_name(oned);
            if oned_root == doc.root {
                let oned_path = dir.join(format!("{i:04}-{}.oned.xml", doc.root));
                std::fs::write(&oned_path, with_namespace(oned, &oned_root)).unwrap();
                oned_of.insert(path.clone(), oned_path.clone());
                by_schema.entry(schema.clone()).or_default().push(oned_path);
            }
        }
        by_schema.entry(schema).or_default().push(path);
    }
    assert!(
        unknown.is_empty(),
        "documents with a root no official schema declares: {unknown:#?}"
    );

    let mut failed: BTreeMap<PathBuf, Vec<String>> = BTreeMap::new();
    for (schema, files) in &by_schema {
        failed.extend(validate(&xsd_dir().join(schema), files));
    }
    let mut failures = Vec::new();
    let mut known_hits: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let (mut oned_checked, mut oned_invalid) = (0, 0);
    for (file, (origin, schema)) in &origin_of {
        let entry = counts.entry(schema.clone()).or_default();
        entry.1 += 1;
        let oned_failure = oned_of.get(file).map(|oned| {
            oned_checked += 1;
            let f = failed.get(oned);
            oned_invalid += usize::from(f.is_some());
            f
        });
        let Some(errors) = failed.get(file) else {
            entry.0 += 1;
            continue;
        };
        let oned_note = match oned_failure {
            Some(Some(oned_errors)) => format!(
                "\n      (oned's own document for this call is invalid too: {})",
                oned_errors.first().map_or("", String::as_str)
            ),
            Some(None) => "\n      (oned's document for this call validates)".to_string(),
            None => String::new(),
        };
        let first = errors.first().map(|e| first_error_key(e));
        if let Some((known_schema, known_error, _)) = KNOWN_INVALID
            .iter()
            .find(|(s, e, _)| *s == schema.as_str() && first.as_deref() == Some(*e))
        {
            *known_hits.entry((known_schema, known_error)).or_default() += 1;
            continue;
        }
        failures.push(format!(
            "{origin} -> {} against {schema}:\n      {}{oned_note}",
            file.display(),
            errors.join("\n      ")
        ));
    }

    println!(
        "XSD validation of {} documents (files in {}):",
        origin_of.len(),
        dir.display()
    );
    for (schema, (ok, total)) in &counts {
        println!("  {schema}: {ok}/{total} valid");
    }
    println!("  no standalone schema (not validated): {unschematised:?}");
    println!(
        "  for comparison, oned's documents of the same tour calls: {}/{oned_checked} valid",
        oned_checked - oned_invalid
    );

    // Every schema-backed document type oned answered in the tour must be emitted too.
    let emitted_schemas: BTreeSet<&String> = counts.keys().collect();
    let missing: Vec<&String> = by_root
        .values()
        .filter(|schema| !emitted_schemas.contains(schema))
        .filter(|schema| {
            !matches!(
                schema.as_str(),
                "api_info.xsd" | "requirements.xsd" | "scheduler_driver_action.xsd" | "plan.xsd"
            )
        })
        .collect();
    println!("  schemas never exercised: {missing:?}");

    let known_total: usize = known_hits.values().sum();
    println!(
        "  total: {} of {} documents valid, {known_total} known invalid, {} newly invalid",
        origin_of.len() - known_total - failures.len(),
        origin_of.len(),
        failures.len()
    );
    let mut stale = Vec::new();
    for (schema, error, why) in KNOWN_INVALID {
        match known_hits.get(&(*schema, *error)) {
            Some(n) => {
                println!("  known invalid ({n} documents) against {schema}: {error}\n      {why}")
            }
            None => stale.push(format!("{schema}: {error}")),
        }
    }
    assert!(
        stale.is_empty(),
        "KNOWN_INVALID entries no document hits any more (remove them): {stale:?}"
    );
    assert!(
        failures.is_empty(),
        "{} of {} documents do not validate:\n  {}",
        failures.len(),
        origin_of.len(),
        failures.join("\n  ")
    );
    assert!(
        missing.is_empty(),
        "the server never emitted a document for these schemas: {missing:?}"
    );
}
