//! A template that cannot be sent exactly is refused before anything is sent: the typed
//! wrappers, the request builders and the dynamic `call` by name all give
//! `Error::InvalidArgument` naming the attribute, and the scripted server sees no request.
//! (Issue #13: the client used to send a sentinel template oned was certain to refuse.)

mod support;

use opennebula::api::{request, UpdateType};
use opennebula::template::Template;
use opennebula::{template, Client, Error};
use support::{one_success, FakeServer, Reply};

fn client(url: &str) -> Client {
    Client::new(url, "oneadmin:onepass").unwrap()
}

/// Templates no wire form carries exactly, with the attribute the error must name.
fn unsendable() -> Vec<(Template, &'static str)> {
    let mut empty_name = Template::new();
    empty_name.push("", "1");
    let mut empty_vector_key = Template::new();
    let mut nic = opennebula::template::Vector::new();
    nic.set("", "x");
    empty_vector_key.push("NIC", nic);
    vec![
        (template! { NOTES = "nul \u{0} inside" }, "NOTES"),
        (template! { NOTES = "bell \u{7}" }, "NOTES"),
        (template! { NOTES = "ok", DESC = "\u{FFFF}" }, "DESC"),
        (
            template! { NIC = [IP = "1", NAME = "\u{1B}[31m"] },
            "NIC/NAME",
        ),
        (template! { A = "x]]>", B = "" }, "A"),
        (empty_name, ""),
        (empty_vector_key, "NIC/"),
    ]
}

fn assert_names(err: &Error, attribute: &str) {
    match err {
        Error::InvalidArgument(message) => assert!(
            message.contains(&format!("{attribute:?}")),
            "the error must name {attribute:?}: {message}"
        ),
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
}

#[tokio::test]
async fn the_typed_wrappers_send_nothing() {
    let server = FakeServer::start(vec![Reply::xml(one_success("<i4>7</i4>"))]).await;
    let one = client(&server.url);
    for (t, attribute) in unsendable() {
        let err = one
            .vm()
            .update_full(7, &t, UpdateType::Merge)
            .await
            .unwrap_err();
        assert_names(&err, attribute);
        assert!(err.to_string().contains("one.vm.update"), "{err}");
        assert!(err.to_string().contains("parameter `template`"), "{err}");
        assert!(err.is_never_sent());
        let err = one
            .template()
            .allocate(Template::rooted("TEMPLATE", t.clone()))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    }
    assert!(
        server.requests().is_empty(),
        "a refused template reached the server"
    );

    // A sendable template goes through the same wrapper (the server is really there).
    let id = one
        .vm()
        .update_full(7, &template! { NOTES = "fine" }, UpdateType::Merge)
        .await
        .unwrap();
    assert_eq!(id, 7);
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn the_request_builders_carry_the_refusal() {
    for (t, attribute) in unsendable() {
        let r = request::host::update(0, &t, UpdateType::Replace);
        assert_names(&r.check().unwrap_err(), attribute);
    }
    assert!(
        request::host::update(0, &template! { A = 1 }, UpdateType::Replace)
            .check()
            .is_ok()
    );
}

#[tokio::test]
async fn a_template_passed_to_call_by_name_sends_nothing() {
    let server = FakeServer::start(vec![Reply::xml(one_success("<i4>3</i4>"))]).await;
    let one = client(&server.url);
    for (t, attribute) in unsendable() {
        let err = one.call("vm.update", (3, &t, 1)).await.unwrap_err();
        assert_names(&err, attribute);
        let err = one
            .call_as::<i32>("one.vm.update", (3, t.clone(), 1))
            .await
            .unwrap_err();
        assert_names(&err, attribute);
        let err = one
            .call("vm.update", (3, Template::rooted("TEMPLATE", t), 1))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    }
    // Raw text XML cannot carry is refused too, naming the parameter.
    let err = one.call("vm.rename", (3, "a\u{1}b")).await.unwrap_err();
    assert!(err.to_string().contains("parameter 2"), "{err}");
    assert!(
        server.requests().is_empty(),
        "a refused template reached the server"
    );

    // The same call with a sendable template is sent, in the attribute-vector form.
    let id: i32 = one
        .call_as("vm.update", (3, &template! { NOTES = "x" }, 1))
        .await
        .unwrap();
    assert_eq!(id, 3);
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let body = String::from_utf8_lossy(&requests[0]);
    assert!(body.contains("<string>NOTES=\"x\"\n</string>"), "{body}");
}

#[cfg(feature = "blocking")]
#[test]
fn the_blocking_client_sends_nothing_either() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(FakeServer::start(vec![Reply::xml(one_success(
        "<i4>3</i4>",
    ))]));
    let one = opennebula::blocking::Client::new(&server.url, "oneadmin:onepass").unwrap();
    for (t, attribute) in unsendable() {
        assert_names(
            &one.vm().update_full(3, &t, UpdateType::Merge).unwrap_err(),
            attribute,
        );
        assert_names(&one.call("vm.update", (3, &t, 1)).unwrap_err(), attribute);
    }
    assert!(server.requests().is_empty());
}
