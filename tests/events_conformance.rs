//! The bus codec against the 130 event messages a real oned 7.5.80 published
//! (`../shared/reference/oned-7.5.80/grpc-sample/events.jsonl`): every message decodes into a
//! typed event that agrees with its key, and the codec writes every key, document and
//! payload back byte for byte.

#![cfg(all(feature = "conformance", feature = "events"))]

use std::path::PathBuf;

use opennebula::events::message::{self, ApiMessage, Key, ObjectKind, StateMessage};
use opennebula::events::{Event, ObjectDocument, ObjectState};

struct Recorded {
    seq: u64,
    key: String,
    payload: String,
    xml: String,
}

fn reference_dir() -> PathBuf {
    match std::env::var_os("OPENNEBULA_REFERENCE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/reference")),
    }
}

fn recorded() -> Vec<Recorded> {
    let path = reference_dir().join("oned-7.5.80/grpc-sample/events.jsonl");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (set OPENNEBULA_REFERENCE_DIR)", path.display()));
    let events: Vec<Recorded> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            assert_eq!(v["nframes"], 2, "{line}");
            Recorded {
                seq: v["seq"].as_u64().unwrap(),
                key: v["key"].as_str().unwrap().to_string(),
                payload: v["payload_b64"].as_str().unwrap().to_string(),
                xml: v["payload_xml"].as_str().unwrap().to_string(),
            }
        })
        .collect();
    assert_eq!(events.len(), 130);
    events
}

#[test]
fn every_recorded_message_decodes_into_a_typed_event_that_agrees_with_its_key() {
    let (mut api, mut state) = (0, 0);
    for event in recorded() {
        let decoded = Event::decode(event.key.as_bytes(), event.payload.as_bytes())
            .unwrap_or_else(|e| panic!("#{} {:?}: {e}", event.seq, event.key));
        match (Key::parse(&event.key).unwrap(), decoded) {
            (Key::Api { method, success }, Event::Api(call)) => {
                api += 1;
                assert_eq!(call.method, method);
                assert_eq!(call.success, success);
                assert_eq!(
                    call.input(1),
                    Some(message::MASKED),
                    "the session is masked"
                );
                assert_eq!(call.output(1), Some(if success { "true" } else { "false" }));
                assert!(message::publishes_api_message(&method), "{method}");
                if let Some(extra) = call.extra_document() {
                    extra.unwrap_or_else(|e| panic!("#{} EXTRA: {e}", event.seq));
                }
                if success {
                    assert!(call.returned().is_some(), "#{}", event.seq);
                } else {
                    assert!(call
                        .error_message()
                        .unwrap()
                        .starts_with(&format!("[{method}]")));
                    assert!(call.error_code().is_some(), "#{}", event.seq);
                }
            }
            (
                Key::Object {
                    object,
                    id,
                    state: name,
                    lcm_state,
                }
                | Key::State {
                    object,
                    id,
                    state: name,
                    lcm_state,
                },
                Event::State(change),
            ) => {
                state += 1;
                assert_eq!(change.object, object);
                assert_eq!(change.id, id);
                assert_eq!(change.key, event.key);
                let document_id = match &change.document {
                    ObjectDocument::Vm(vm) => vm.id,
                    ObjectDocument::Host(host) => host.id,
                    ObjectDocument::Image(image) => image.id,
                    ObjectDocument::Network(network) => network.id,
                    other => panic!("unexpected document {other:?}"),
                };
                assert_eq!(document_id, i64::from(id));
                let state_name = match change.state {
                    ObjectState::Vm(s) => message::vm_state_name(s),
                    ObjectState::Host(s) => message::host_state_name(s),
                    ObjectState::Image(s) => message::image_state_name(s),
                    ObjectState::Network(s) => message::network_state_name(s),
                    other => panic!("unexpected state {other:?}"),
                };
                assert_eq!(state_name, name, "#{}", event.seq);
                match object {
                    ObjectKind::Vm => {
                        assert_eq!(
                            message::lcm_state_name(change.lcm_state.unwrap()),
                            lcm_state
                        );
                        assert!(change.vm().is_some());
                    }
                    _ => {
                        assert!(change.lcm_state.is_none());
                        assert_eq!(lcm_state, "");
                    }
                }
                if object == ObjectKind::Host {
                    let host = change.host().unwrap();
                    assert_eq!(change.remote_host.as_deref(), Some(host.name.as_str()));
                }
            }
            (key, other) => panic!("#{} {key:?} decoded as {other:?}", event.seq),
        }
    }
    assert_eq!((api, state), (66, 64));
}

#[test]
fn the_codec_writes_every_recorded_message_back_byte_for_byte() {
    let events = recorded();
    for event in &events {
        assert_eq!(Key::parse(&event.key).unwrap().to_string(), event.key);
        assert_eq!(
            message::decode_payload(event.payload.as_bytes()).unwrap(),
            event.xml
        );
        assert_eq!(message::encode_payload(&event.xml), event.payload);
        if event.key.starts_with("EVENT API ") {
            let call = ApiMessage::parse(&event.xml).unwrap();
            assert_eq!(call.to_xml(), event.xml, "#{}", event.seq);
            let frames = call.frames();
            assert_eq!(
                (frames.key.as_str(), frames.payload.as_str()),
                (event.key.as_str(), event.payload.as_str())
            );
        } else {
            let change = StateMessage::parse(&event.xml).unwrap();
            assert_eq!(change.to_xml(), event.xml, "#{}", event.seq);
        }
    }
    // A state change is published under its per-object key, then its per-state key, with
    // the same payload: exactly the frames the codec makes for it.
    let mut i = 0;
    while i < events.len() {
        if events[i].key.starts_with("EVENT API ") {
            i += 1;
            continue;
        }
        let frames = StateMessage::parse(&events[i].xml).unwrap().frames();
        for (offset, expected) in frames.iter().enumerate() {
            let got = &events[i + offset];
            assert_eq!(
                (&got.key, &got.payload),
                (&expected.key, &expected.payload),
                "#{}",
                got.seq
            );
        }
        i += frames.len();
    }
}

#[test]
fn transient_states_of_the_tour_are_all_in_the_recording() {
    // The life of VM 0 as the bus told it: every step, including those a poll every few
    // seconds misses (BOOT lasts one driver action).
    let steps: Vec<String> = recorded()
        .into_iter()
        .filter(|e| e.key.starts_with("EVENT VM 0/"))
        .map(|e| {
            let Ok(Event::State(change)) = Event::decode(e.key.as_bytes(), e.payload.as_bytes())
            else {
                panic!("{}", e.key)
            };
            change.to_string()
        })
        .collect();
    assert_eq!(
        steps,
        [
            "VM 0 PENDING/LCM_INIT",
            "VM 0 ACTIVE/LCM_INIT",
            "VM 0 ACTIVE/PROLOG",
            "VM 0 ACTIVE/BOOT",
            "VM 0 ACTIVE/RUNNING",
            "VM 0 ACTIVE/SHUTDOWN_POWEROFF",
            "VM 0 POWEROFF/LCM_INIT",
            "VM 0 ACTIVE/BOOT_POWEROFF",
            "VM 0 ACTIVE/RUNNING",
            "VM 0 ACTIVE/SHUTDOWN",
            "VM 0 ACTIVE/EPILOG",
            "VM 0 DONE/LCM_INIT",
        ]
    );
}
