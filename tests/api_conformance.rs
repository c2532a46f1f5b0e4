//! The typed API against the reference facts in `../shared/reference` (feature `conformance`;
//! the directory can be moved with `OPENNEBULA_REFERENCE_DIR`):
//!
//! - every method of `xmlrpc-api.tsv` has a typed wrapper whose parameters (count and XML-RPC
//!   types), return type and idempotency match, and the table has no method oned lacks;
//! - optional parameters and their defaults match `xmlrpc-params.tsv`;
//! - every successful request recorded from oned 7.5.80 fits the table;
//! - the request builders rebuild recorded requests value for value.
//!
//! The runtime table ([`opennebula::api::METHODS`]) is generated from the same source as the
//! wrappers, and a unit test in the crate checks each request builder against it.
#![cfg(feature = "conformance")]

use std::collections::BTreeMap;
use std::path::PathBuf;

use opennebula::api::acl::AclRule;
use opennebula::api::{method_info, request, Permissions, PoolFilter, VmAction, METHODS};
use opennebula::wire::{decode_method_call, Value};

fn reference_dir() -> PathBuf {
    std::env::var_os("OPENNEBULA_REFERENCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/reference"))
        })
}

/// Rows of a tab-separated file with a header, as maps.
fn tsv(name: &str) -> Vec<BTreeMap<String, String>> {
    let path = reference_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("a header").split('\t').collect();
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            header
                .iter()
                .zip(l.split('\t').chain(std::iter::repeat("")))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

#[test]
fn every_reference_method_has_a_typed_wrapper_with_its_signature() {
    let rows = tsv("xmlrpc-api.tsv");
    assert_eq!(rows.len(), 307);
    let mut problems = Vec::new();
    for row in &rows {
        let name = &row["method"];
        let Some(info) = method_info(name) else {
            problems.push(format!("{name}: no typed wrapper"));
            continue;
        };
        let reference: Vec<(&str, &str)> = row["params"]
            .split(',')
            .filter(|p| !p.is_empty())
            .map(|p| p.split_once(':').expect("name:type"))
            .collect();
        if reference.len() != info.params.len() {
            problems.push(format!(
                "{name}: {} parameters, the reference has {}",
                info.params.len(),
                reference.len()
            ));
            continue;
        }
        for (i, ((ref_name, ref_type), ours)) in reference.iter().zip(info.params).enumerate() {
            if *ref_type != ours.wire.as_str() {
                problems.push(format!(
                    "{name}: parameter {} ({ref_name}) is {} here, {ref_type} in the reference",
                    i + 1,
                    ours.wire.as_str()
                ));
            }
        }
        if row["returns"] != info.returns {
            problems.push(format!(
                "{name}: returns {} here, {} in the reference",
                info.returns, row["returns"]
            ));
        }
        if (row["idempotent"] == "yes") != info.idempotent {
            problems.push(format!("{name}: idempotency differs"));
        }
        if row["since"] != info.since {
            problems.push(format!(
                "{name}: since {} here, {}",
                info.since, row["since"]
            ));
        }
        if (row["source"] == "server") != info.server_only {
            problems.push(format!("{name}: server-only flag differs"));
        }
    }
    for info in METHODS {
        if !rows.iter().any(|r| r["method"] == info.name) {
            problems.push(format!("{}: not a method of the reference", info.name));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn optional_parameters_and_defaults_match_the_server() {
    let mut problems = Vec::new();
    for row in tsv("xmlrpc-params.tsv") {
        // `ret` rows describe the result; `(docs_only)` positions are documented but never
        // read by oned (the table follows the server).
        if row["position"] == "ret" || row["name"] == "(docs_only)" {
            continue;
        }
        let name = &row["method"];
        let position: usize = row["position"].parse().expect("a position");
        let info = method_info(name).expect("checked by the signature test");
        let Some(ours) = info.params.get(position - 1) else {
            problems.push(format!("{name}: no parameter {position}"));
            continue;
        };
        match (row["required"].as_str(), ours.default) {
            ("yes", None) => {}
            ("yes", Some(d)) => problems.push(format!(
                "{name}: {} is required, we default it to {d}",
                ours.name
            )),
            (_, None) => problems.push(format!(
                "{name}: {} is optional (server default {}), we require it",
                ours.name, row["default"]
            )),
            (_, Some(d)) => {
                // Enum defaults are checked by their numbers below; literals must be equal.
                let literal = !d.contains("::");
                let d = if d == "&[]" { "[]" } else { d };
                let reference = row["default"].as_str();
                if literal && d != reference {
                    problems.push(format!(
                        "{name}: {} defaults to {d}, the server to {reference}",
                        ours.name
                    ));
                }
                if matches!(d, "UpdateType::Replace" | "MigrationType::Save") && reference != "0" {
                    problems.push(format!(
                        "{name}: {} defaults to {d}, the server to {reference}",
                        ours.name
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// (seq, method, file stem) of the recorded successful calls.
fn recorded_successes() -> Vec<(String, PathBuf)> {
    let tour = reference_dir().join("oned-7.5.80/tour");
    let mut files: BTreeMap<String, PathBuf> = BTreeMap::new();
    for entry in std::fs::read_dir(&tour).expect("the tour directory") {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if let Some(stem) = name.strip_suffix(".request.xml") {
            files.insert(
                stem.split('-')
                    .next()
                    .unwrap()
                    .trim_start_matches('0')
                    .to_string(),
                path,
            );
        }
    }
    tsv("oned-7.5.80/tour/index.tsv")
        .into_iter()
        .filter(|r| r["success"] == "true" && r["method"].starts_with("one."))
        .filter_map(|r| {
            files
                .get(&r["seq"])
                .map(|p| (r["method"].clone(), p.clone()))
        })
        .collect()
}

#[test]
fn every_recorded_successful_request_fits_the_table() {
    let recorded = recorded_successes();
    assert!(
        recorded.len() > 300,
        "only {} recorded calls found",
        recorded.len()
    );
    let mut problems = Vec::new();
    for (method, path) in &recorded {
        let bytes = std::fs::read(path).unwrap();
        let (name, params) = decode_method_call(&bytes).expect("a recorded methodCall");
        assert_eq!(&name, method);
        let info = method_info(&name).unwrap_or_else(|| panic!("{name}: not in the table"));
        // oned ignores extra trailing parameters (call 670 checks it), so only the required
        // count is a lower bound.
        let given = &params[1..];
        if given.len() < info.required_params() {
            problems.push(format!(
                "{}: {} parameters sent, the table requires {}",
                path.display(),
                given.len(),
                info.required_params()
            ));
            continue;
        }
        for (value, param) in given.iter().zip(info.params) {
            if !param.wire.matches(value) {
                problems.push(format!(
                    "{}: {} sent as {}, the table says {}",
                    path.display(),
                    param.name,
                    value.type_name(),
                    param.wire.as_str()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn recorded(seq: u32) -> (String, Vec<Value>) {
    let tour = reference_dir().join("oned-7.5.80/tour");
    let prefix = format!("{seq:03}-");
    let path = std::fs::read_dir(&tour)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with(&prefix) && name.ends_with(".request.xml")
        })
        .unwrap_or_else(|| panic!("no recorded request {seq}"));
    let (name, mut params) = decode_method_call(&std::fs::read(path).unwrap()).unwrap();
    params.remove(0); // the session
    (name, params)
}

#[test]
fn request_builders_rebuild_recorded_requests() {
    let same = |seq: u32, r: opennebula::api::Request| {
        let (name, params) = recorded(seq);
        assert_eq!(
            (r.method(), r.params()),
            (name.as_str(), params.as_slice()),
            "call {seq}"
        );
    };
    let rule: AclRule = "#2 VM+TEMPLATE/* USE+MANAGE #0".parse().unwrap();
    let [u, r, ri, z] = rule.to_hex();
    same(81, request::acl::add_rule(&u, &r, &ri, &z).returning());
    same(
        220,
        request::imagepool::info(PoolFilter::All, -1, -1).returning(),
    );
    same(223, request::imagepool::info(-2, 1, 2).returning());
    same(
        314,
        request::template::chmod(
            0,
            Permissions {
                owner: opennebula::api::PermissionSet {
                    use_: Some(true),
                    manage: Some(true),
                    admin: Some(false),
                },
                group: opennebula::api::PermissionSet::from_octal_digit(4),
                other: opennebula::api::PermissionSet::from_octal_digit(0),
            },
            false,
        )
        .returning(),
    );
    same(
        325,
        request::template::instantiate(
            0,
            "tour-vm-0",
            false,
            "MEMORY=\"96\"\nCONTEXT=[EXTRA=\"from-instantiate\"]",
            false,
        )
        .returning(),
    );
    same(336, request::vm::action(VmAction::Release, 4).returning());
    same(
        200,
        request::image::chtype(1, opennebula::api::ImageType::Os).returning(),
    );
}

#[test]
fn every_recorded_successful_response_has_the_table_return_type() {
    use opennebula::api::RawDocument;
    use opennebula::xml::FromXml;
    let mut problems = Vec::new();
    for (method, request_path) in recorded_successes() {
        let path = PathBuf::from(
            request_path
                .to_string_lossy()
                .replace(".request.xml", ".response.xml"),
        );
        let payload = opennebula::wire::decode_one_response(&std::fs::read(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let info = method_info(&method).unwrap();
        let ok = match (info.returns, &payload) {
            ("int", Value::Int(_)) | ("i8", Value::I8(_)) | ("string", Value::String(_)) => true,
            (xml, Value::String(text)) if xml.starts_with("xml:") => {
                // The typed return of the wrapper must decode what oned sent.
                match opennebula::api::documents::check_document(&method, text) {
                    Some(Ok(())) => {}
                    Some(Err(e)) => problems.push(format!("{}: typed decode: {e}", path.display())),
                    None => problems.push(format!("{}: no typed decoder", path.display())),
                }
                match RawDocument::from_xml(text) {
                    Ok(doc) => doc.root_name() == &xml[4..],
                    Err(e) => {
                        problems.push(format!("{}: {e}", path.display()));
                        continue;
                    }
                }
            }
            _ => false,
        };
        if !ok {
            problems.push(format!(
                "{}: returned {} ({}), the table says {}",
                path.display(),
                payload.type_name(),
                payload.to_string().chars().take(40).collect::<String>(),
                info.returns
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_state_and_type_constant_has_a_typed_enum() {
    use opennebula::api::CONSTANT_TABLES;
    let mut groups: BTreeMap<(String, String), Vec<(i64, String)>> = BTreeMap::new();
    for row in tsv("states.tsv") {
        // ACL bits are flags, encoded by `api::acl` (checked by its tests).
        if row["resource"] == "ACL" {
            continue;
        }
        groups
            .entry((row["resource"].clone(), row["field"].clone()))
            .or_default()
            .push((
                row["value"].parse().unwrap(),
                row["name"].to_ascii_uppercase(),
            ));
    }
    let mut problems = Vec::new();
    for ((resource, field), mut values) in groups {
        values.sort();
        // The two API filters that also take IDs/states are hand-written types.
        if field.starts_with("pool info filter") {
            use opennebula::api::PoolFilter;
            for (v, name) in &values {
                let filter = PoolFilter::from(*v as i32);
                assert!(
                    !matches!(filter, PoolFilter::User(_) | PoolFilter::Other(_)),
                    "{name}"
                );
                assert_eq!(i64::from(filter.raw()), *v);
            }
            continue;
        }
        if field.starts_with("one.vmpool.info") {
            use opennebula::api::VmStateFilter;
            assert_eq!(VmStateFilter::from(-2), VmStateFilter::Any);
            assert_eq!(VmStateFilter::from(-1), VmStateFilter::NotDone);
            assert_eq!(
                values,
                [(-2, "ALL_VM".to_string()), (-1, "NOT_DONE".to_string())]
            );
            continue;
        }
        let found = CONSTANT_TABLES.iter().find(|(_, rows)| {
            let mut ours: Vec<(i64, String)> = rows
                .iter()
                .map(|(v, n)| (*v, n.to_ascii_uppercase()))
                .collect();
            ours.sort();
            ours == values
        });
        if found.is_none() {
            problems.push(format!(
                "{resource} {field}: no enum with exactly these values"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    let actions: Vec<String> = tsv("vm-actions.tsv")
        .into_iter()
        .map(|r| r["action"].clone())
        .collect();
    let ours: Vec<String> = opennebula::api::VmAction::ALL
        .iter()
        .map(|a| a.to_string())
        .collect();
    assert_eq!(ours, actions);
}

#[test]
fn acl_rules_decode_and_print_as_oned_prints_them() {
    use opennebula::xml::FromXml;
    let mut checked = 0;
    for (method, request_path) in recorded_successes() {
        if method != "one.acl.info" {
            continue;
        }
        let path = request_path
            .to_string_lossy()
            .replace(".request.xml", ".response.xml");
        let payload =
            opennebula::wire::decode_one_response(&std::fs::read(&path).unwrap()).unwrap();
        let pool = opennebula::models::AclPool::from_xml(payload.as_str().unwrap()).unwrap();
        for acl in &pool.acl {
            let rule = acl.rule().unwrap_or_else(|e| panic!("{path}: {e}"));
            assert_eq!(rule.to_string(), acl.string, "{path}");
            let reparsed: AclRule = acl.string.parse().unwrap();
            assert_eq!(reparsed, rule);
            let [u, r, ri, z] = rule.to_hex();
            assert_eq!(
                [u, r, ri, z],
                [&acl.user, &acl.resource, &acl.rights, &acl.zone].map(|s| s.to_string())
            );
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} recorded ACL rules");
}

/// The gRPC facts of the method table (path, field numbers and protobuf types, answer
/// message) are those of oned's gRPC API (`grpc-api.tsv`), for every rpc.
#[test]
fn the_grpc_facts_of_the_table_match_the_reference() {
    use opennebula::api::{GrpcReply, ProtoType};
    let rows = tsv("grpc-api.tsv");
    assert_eq!(rows.len(), METHODS.len());
    let mut problems = Vec::new();
    for row in &rows {
        let name = &row["xmlrpc_method"];
        let info = method_info(name).unwrap_or_else(|| panic!("{name}: not in the table"));
        let grpc = info.grpc.unwrap_or_else(|| panic!("{name}: no gRPC facts"));
        if grpc.path != row["grpc_path"] {
            problems.push(format!(
                "{name}: path {} vs {}",
                grpc.path, row["grpc_path"]
            ));
        }
        let reply = match row["response"].as_str() {
            "one.ResponseID" => GrpcReply::Id,
            "one.ResponseXML" => GrpcReply::Xml,
            "one.zone.ResponseReplicateFedLog" => GrpcReply::SuccessIndex,
            _ => GrpcReply::SuccessTerm,
        };
        if grpc.reply != reply {
            problems.push(format!(
                "{name}: reply {:?} vs {}",
                grpc.reply, row["response"]
            ));
        }
        let ours: Vec<String> = info
            .params
            .iter()
            .filter_map(|p| p.proto.map(|f| (p.name, f)))
            .map(|(_, f)| {
                let ty = match f.ty {
                    ProtoType::Int32 => "int32",
                    ProtoType::Sint32 => "sint32",
                    ProtoType::Int64 => "int64",
                    ProtoType::Uint32 => "uint32",
                    ProtoType::Uint64 => "uint64",
                    ProtoType::Bool => "bool",
                    ProtoType::String => "string",
                    ProtoType::RepeatedInt32 => "repeated int32",
                };
                format!("{}:{ty}", f.number)
            })
            .collect();
        let theirs: Vec<String> = row["fields"]
            .split(';')
            .skip(1) // session_id:1:string
            .map(|f| {
                let mut parts = f.splitn(3, ':');
                let (_, number, ty) = (parts.next(), parts.next().unwrap(), parts.next().unwrap());
                format!("{number}:{ty}")
            })
            .collect();
        if ours != theirs {
            problems.push(format!("{name}: fields {ours:?} vs {theirs:?}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
