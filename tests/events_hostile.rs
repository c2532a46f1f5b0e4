//! Whatever a publisher sends, decoding is an event or a typed error: never a panic.

#![cfg(feature = "events")]

use opennebula::events::message::{
    encode_payload, ApiMessage, Key, ObjectKind, RetryMessage, StateMessage,
};
use opennebula::events::Event;
use proptest::prelude::*;

/// Keys close to real ones, so that the parsers go deep.
fn keyish() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "(EVENT |EVENT STATE |EVENT API |RETRY)[A-Z/ 0-9.a-z-]{0,24}",
        "EVENT (VM|HOST|IMAGE|NET) -?[0-9]{0,12}/[A-Z_]{0,8}/[A-Z_]{0,8} ?",
        "EVENT STATE (VM|HOST|NET)/[A-Z_]{0,8}/[A-Z_]{0,8}/-?[0-9]{0,12} ?",
    ]
}

/// Documents close to real ones: a real message cut and spliced with noise.
fn documentish() -> impl Strategy<Value = String> {
    let api = ApiMessage::from_xmlrpc(
        "one.vm.update",
        &["s".into(), 3.into(), "A=\"<b>&\"".into()],
        opennebula::events::message::ApiOutcome::Success(&3.into()),
        "<VM><ID>3</ID></VM>",
    )
    .to_xml();
    let state = StateMessage::new(
        ObjectKind::Vm,
        3,
        "ACTIVE",
        "<VM><ID>3</ID><STATE>3</STATE><LCM_STATE>3</LCM_STATE><TEMPLATE><A><![CDATA[x]]></A></TEMPLATE></VM>",
    )
    .with_lcm_state("RUNNING")
    .to_xml();
    (
        prop_oneof![Just(api), Just(state)],
        any::<usize>(),
        any::<usize>(),
        ".{0,12}",
    )
        .prop_map(|(doc, a, b, noise): (String, usize, usize, String)| {
            let cut = |i: usize| {
                let mut i = i % (doc.len() + 1);
                while !doc.is_char_boundary(i) {
                    i -= 1;
                }
                i
            };
            let (a, b) = (cut(a).min(cut(b)), cut(a).max(cut(b)));
            format!("{}{noise}{}", &doc[..a], &doc[b..])
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_frames_decode_to_an_event_or_an_error(key in keyish(), payload in any::<Vec<u8>>()) {
        let _ = Event::decode(key.as_bytes(), &payload);
        let _ = Key::parse(&key);
        let _ = RetryMessage::parse_payload(&payload);
    }

    #[test]
    fn damaged_documents_are_errors_or_events(key in keyish(), xml in documentish()) {
        let _ = ApiMessage::parse(&xml);
        let _ = StateMessage::parse(&xml);
        let payload = encode_payload(&xml);
        let _ = Event::decode(key.as_bytes(), payload.as_bytes());
        for real in ["EVENT API one.vm.update 1", "EVENT VM 3/ACTIVE/RUNNING ", "EVENT SERVICE 1 ", "RETRY"] {
            let _ = Event::decode(real.as_bytes(), payload.as_bytes());
        }
    }
}
