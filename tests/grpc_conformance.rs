//! Our gRPC codec against real oned 7.5.80's recorded gRPC traffic
//! (`../shared/reference/oned-7.5.80/grpc-sample/`, 105 calls with their exact bytes):
//!
//! - for every call the method table knows, the request message we encode from the recorded
//!   field values is byte for byte the recorded request;
//! - every recorded answer decodes: ids as the recorded `oid`, documents through the typed
//!   API's return type of the method (`Vm` for `one.vm.info` ...);
//! - every recorded error status maps back to the OpenNebula error code oned had (read from
//!   its `EVENT API` message, `error-mapping.json`), where the mapping is not lossy.

#![cfg(feature = "conformance")]

use std::path::PathBuf;

use opennebula::api::{documents, method_by_path, GrpcReply, ProtoType};
use opennebula::grpc::{self, Answer};
use opennebula::{ErrorCode, GrpcCode, Value};
use serde_json::Value as Json;

fn sample_dir() -> PathBuf {
    let base = std::env::var_os("OPENNEBULA_REFERENCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/reference"))
        });
    base.join("oned-7.5.80/grpc-sample")
}

fn calls() -> Vec<Json> {
    let path = sample_dir().join("calls.jsonl");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (set OPENNEBULA_REFERENCE_DIR)", path.display()));
    text.lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn grpc_table() -> Vec<std::collections::BTreeMap<String, String>> {
    let path = sample_dir().join("../../grpc-api.tsv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split('\t').collect();
    lines
        .map(|l| {
            head.iter()
                .map(|h| h.to_string())
                .zip(l.split('\t').map(str::to_owned))
                .collect()
        })
        .collect()
}

/// The field name of `number` in the rpc at `path`, from the reference table.
fn field_name(
    table: &[std::collections::BTreeMap<String, String>],
    path: &str,
    number: u32,
) -> String {
    let row = table.iter().find(|r| r["grpc_path"] == path).unwrap();
    row["fields"]
        .split(';')
        .find(|f| f.split(':').nth(1) == Some(&number.to_string()))
        .and_then(|f| f.split(':').next())
        .unwrap()
        .to_string()
}

fn value_of(json: Option<&Json>, ty: ProtoType) -> Value {
    let json = json.cloned().unwrap_or(Json::Null);
    match ty {
        ProtoType::Bool => Value::Bool(json.as_bool().unwrap_or(false)),
        ProtoType::String => Value::String(json.as_str().unwrap_or_default().to_owned()),
        ProtoType::RepeatedInt32 => Value::Array(
            json.as_array()
                .map(|a| {
                    a.iter()
                        .map(|v| Value::Int(v.as_i64().unwrap() as i32))
                        .collect()
                })
                .unwrap_or_default(),
        ),
        _ => {
            // int64 fields are JSON strings.
            let n = json
                .as_i64()
                .or_else(|| json.as_str().and_then(|s| s.parse().ok()))
                .unwrap_or(0);
            match i32::try_from(n) {
                Ok(i) => Value::Int(i),
                Err(_) => Value::I8(n),
            }
        }
    }
}

#[test]
fn our_request_bytes_are_the_recorded_ones() {
    let table = grpc_table();
    let mut checked = 0;
    let mut problems = Vec::new();
    for call in calls() {
        let path = call["path"].as_str().unwrap();
        let Some(info) = method_by_path(path) else {
            continue; // the unknown-method probe
        };
        let fields = &call["request_all_fields"];
        let params: Vec<Value> = info
            .params
            .iter()
            .map(|p| match p.proto {
                Some(f) => value_of(fields.get(field_name(&table, path, f.number)), f.ty),
                None => Value::String(String::new()),
            })
            .collect();
        let session = fields["session_id"].as_str().unwrap_or_default();
        let ours = grpc::encode_request(info, session, &params).unwrap();
        let recorded =
            std::fs::read(sample_dir().join(call["request_bin"].as_str().unwrap())).unwrap();
        if ours != recorded {
            problems.push(format!(
                "call {} {path}: {ours:02x?} vs {recorded:02x?}",
                call["seq"]
            ));
        }
        checked += 1;
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(checked >= 100, "only {checked} calls checked");
}

#[test]
fn every_recorded_answer_decodes_into_the_typed_return() {
    let mut documents_checked = 0;
    let mut problems = Vec::new();
    for call in calls().iter().filter(|c| c["ok"] == Json::Bool(true)) {
        let path = call["path"].as_str().unwrap();
        let info = method_by_path(path).unwrap();
        let reply = info.grpc.unwrap().reply;
        let bytes =
            std::fs::read(sample_dir().join(call["response_bin"].as_str().unwrap())).unwrap();
        match (reply, grpc::decode_reply(reply, &bytes).unwrap()) {
            (GrpcReply::Id, Answer::Id(id)) => {
                let expected = call["response"]["oid"].as_i64().unwrap_or(0);
                if i64::from(id) != expected {
                    problems.push(format!("{path}: oid {id} vs {expected}"));
                }
            }
            (GrpcReply::Xml, Answer::Xml(xml)) => {
                let xml = std::str::from_utf8(xml).unwrap();
                assert_eq!(xml, call["response"]["xml"].as_str().unwrap(), "{path}");
                match documents::check_document(info.name, xml) {
                    Some(Ok(())) => documents_checked += 1,
                    Some(Err(e)) => problems.push(format!("{path} ({}): {e}", info.name)),
                    None => assert!(info.returns == "string", "{}: {}", info.name, info.returns),
                }
            }
            (reply, answer) => problems.push(format!("{path}: {reply:?} answered {answer:?}")),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        documents_checked >= 30,
        "only {documents_checked} documents"
    );
}

#[test]
fn recorded_statuses_map_back_to_the_error_codes_oned_had() {
    let text = std::fs::read_to_string(sample_dir().join("error-mapping.json")).unwrap();
    let mapping: Json = serde_json::from_str(&text).unwrap();
    let entries = mapping.as_array().expect("a list of failed calls");
    let mut checked = 0;
    for entry in entries {
        let status = entry["grpc_status_number"].as_i64().unwrap() as i32;
        let details = entry["details"].as_str().unwrap();
        let err = grpc::status_error(GrpcCode::from_code(status), details.to_owned());
        let one = err.one_error().unwrap_or_else(|| panic!("{entry}: {err}"));
        assert_eq!(one.message, details);
        assert_eq!(one.grpc_code, Some(GrpcCode::from_code(status)));
        // Calls without an EVENT API message (info calls, authentication) give no code.
        let Some(code) = entry["one_error_code"].as_i64() else {
            continue;
        };
        let expected = match ErrorCode::from_code(code as i32) {
            // The lossy part of oned's mapping: ACTION and REPLICATION come back as
            // INTERNAL, LOCKED as AUTHORIZATION.
            ErrorCode::Action | ErrorCode::Replication => ErrorCode::Internal,
            ErrorCode::Locked => ErrorCode::Authorization,
            other => other,
        };
        assert_eq!(one.code, expected, "{entry}");
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} errors checked");
}
