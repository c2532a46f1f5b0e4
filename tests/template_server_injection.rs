//! Hostile template values sent to the test server through every wire form come back as the
//! same single attribute: no value can add, remove or change another attribute.
//!
//! The test server parses template parameters the way oned does (attribute-vector syntax, or
//! XML when the text starts with `<`), so this checks our escaping end to end, not only
//! against our own parser (see `template_injection.rs` for that).

use std::collections::BTreeSet;

use opennebula::template;
use opennebula::template::Template;
use opennebula_test_server::TestServer;

const HOSTILE: &[&str] = &[
    "abc\"\nMEMORY=\"999999",
    "abc\\\"\nMEMORY=\"999999",
    "\"",
    "C:\\dir\\",
    "\\\\\"",
    "x\" ]\nDISK=[IMAGE_ID=\"0",
    "], NIC=[NETWORK=\"evil\"",
    "a,b=c",
    "#not a comment",
    "line\nbreaks\nand\ttabs",
    "</NOTES><MEMORY>999999</MEMORY><NOTES>",
    "<![CDATA[x]]><MEMORY>1</MEMORY>",
    "]]>",
    "a]]>b\n]]>",
    "&amp; &lt; &#x41; &",
    "¡Hola! 日本語 😀",
    "=",
    "[",
];

fn victim(hostile: &str) -> Template {
    template! {
        NOTES = hostile,
        NIC = [NETWORK = "safe", DESCRIPTION = hostile, IP = "10.0.0.1"],
        MEMORY = 512,
    }
}

#[tokio::test]
async fn hostile_values_survive_every_wire_form_through_the_server() {
    let server = TestServer::start().await.unwrap();
    let one = server.client().unwrap();
    let host = one
        .host()
        .allocate("victim-host", "dummy", "dummy", -1)
        .await
        .unwrap();
    let before: BTreeSet<String> = one
        .host()
        .info(host)
        .await
        .unwrap()
        .template
        .names()
        .map(String::from)
        .collect();

    for hostile in HOSTILE {
        let sent = victim(hostile);
        let forms: Vec<(&str, Result<i32, opennebula::Error>)> = vec![
            ("automatic", one.host().update(host, &sent).await),
            (
                "rooted XML",
                one.host()
                    .update(host, Template::rooted("TEMPLATE", sent.clone()))
                    .await,
            ),
        ];
        for (form, result) in forms {
            match sent.to_wire_string() {
                Ok(_) => {
                    result.unwrap_or_else(|e| panic!("{form} {hostile:?}: {e}"));
                }
                Err(_) => {
                    // Refused as a whole by design: the call must fail, nothing applied.
                    assert!(result.is_err(), "{form} {hostile:?} should be refused");
                    continue;
                }
            }
            let got = one.host().info(host).await.unwrap().template;
            let context = format!("{form} form, value {hostile:?}, got {got:?}");
            assert_eq!(
                got.strings("NOTES").collect::<Vec<_>>(),
                [*hostile],
                "{context}"
            );
            assert_eq!(got.get_all("NIC").len(), 1, "{context}");
            let nic = got.vector("NIC").unwrap();
            assert_eq!(nic.get("DESCRIPTION"), Some(*hostile), "{context}");
            assert_eq!(nic.get("NETWORK"), Some("safe"), "{context}");
            assert_eq!(nic.get("IP"), Some("10.0.0.1"), "{context}");
            assert_eq!(nic.len(), 3, "{context}");
            assert_eq!(
                got.strings("MEMORY").collect::<Vec<_>>(),
                ["512"],
                "{context}"
            );
            for name in got.names() {
                assert!(
                    ["NOTES", "NIC", "MEMORY"].contains(&name) || before.contains(name),
                    "injected attribute {name}: {context}"
                );
            }
        }
    }
}
