//! Property tests: any XML-RPC value survives encode → decode, whatever its strings hold.

use indexmap::IndexMap;
use opennebula::wire::{
    decode_method_call, decode_response, encode_method_call, encode_response, MethodResponse, Value,
};
use proptest::prelude::*;

/// Strings from the whole Unicode range, weighted towards the characters that break XML
/// codecs: markup, entities, CDATA terminators, quotes, whitespace and C0 controls.
fn hostile_string() -> impl Strategy<Value = String> {
    let special = prop_oneof![
        Just("<".to_string()),
        Just("&".to_string()),
        Just(">".to_string()),
        Just("]]>".to_string()),
        Just("<![CDATA[".to_string()),
        Just("\"".to_string()),
        Just("'".to_string()),
        Just("&amp;".to_string()),
        Just("\r\n".to_string()),
        Just("\t".to_string()),
        Just("\u{1}".to_string()),
        Just("\u{1f}".to_string()),
        Just("é€😀".to_string()),
        Just(" ".to_string()),
    ];
    prop::collection::vec(
        prop_oneof![special, any::<char>().prop_map(String::from)],
        0..12,
    )
    .prop_map(|parts| parts.concat())
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<i32>().prop_map(Value::Int),
        any::<i64>().prop_map(Value::I8),
        any::<bool>().prop_map(Value::Bool),
        hostile_string().prop_map(Value::String),
        any::<f64>()
            .prop_filter("NaN is not equal to itself", |d| !d.is_nan())
            .prop_map(Value::Double),
        "[0-9]{8}T[0-9]{2}:[0-9]{2}:[0-9]{2}".prop_map(Value::DateTime),
        prop::collection::vec(any::<u8>(), 0..40).prop_map(Value::Base64),
        Just(Value::Nil),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((hostile_string(), inner), 0..6)
                .prop_map(|members| Value::Struct(members.into_iter().collect::<IndexMap<_, _>>())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn response_values_round_trip(v in value()) {
        let xml = encode_response(&v);
        let decoded = decode_response(xml.as_bytes()).map_err(|e| TestCaseError::fail(format!("{e}\n{xml}")))?;
        prop_assert_eq!(decoded, MethodResponse::Params(vec![v]));
    }

    #[test]
    fn call_parameters_round_trip(method in "[a-z]{1,8}\\.[a-z]{1,8}", params in prop::collection::vec(value(), 0..5)) {
        let xml = encode_method_call(&method, &params);
        let decoded = decode_method_call(xml.as_bytes()).map_err(|e| TestCaseError::fail(format!("{e}\n{xml}")))?;
        prop_assert_eq!(decoded, (method, params));
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_response(&bytes);
        let _ = decode_method_call(&bytes);
    }
}
