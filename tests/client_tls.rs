//! TLS: verification on by default, the explicit lab switch, a private root CA, and host names.

mod support;

use std::time::Duration;

use opennebula::{Client, Error};
use support::{one_success, FakeServer, Reply};

fn builder(url: &str) -> opennebula::ClientBuilder {
    Client::builder()
        .endpoint(url)
        .session("oneadmin:onepass")
        .timeout(Duration::from_secs(5))
}

#[tokio::test]
async fn self_signed_certificate_is_refused_by_default() {
    let (server, _) = FakeServer::start_tls(
        vec![Reply::xml(one_success("<i4>1</i4>"))],
        &["localhost"],
        "localhost",
    )
    .await;
    let err = builder(&server.url)
        .build()
        .unwrap()
        .call("vm.info", (1,))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    assert!(err.is_never_sent());
    assert!(
        server.requests().is_empty(),
        "nothing may be sent before the server is trusted"
    );
}

#[tokio::test]
async fn danger_accept_invalid_certs_connects_to_a_lab_server() {
    let (server, _) = FakeServer::start_tls(
        vec![Reply::xml(one_success("<i4>1</i4>"))],
        &["localhost"],
        "localhost",
    )
    .await;
    let one = builder(&server.url)
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    assert_eq!(one.call_as::<i32>("vm.info", (1,)).await.unwrap(), 1);
}

#[tokio::test]
async fn the_certificate_as_root_ca_connects_with_verification_on() {
    let (server, pem) = FakeServer::start_tls(
        vec![Reply::xml(one_success("<i4>2</i4>"))],
        &["localhost"],
        "localhost",
    )
    .await;
    let one = builder(&server.url)
        .add_root_certificate_pem(pem)
        .build()
        .unwrap();
    assert_eq!(one.call_as::<i32>("vm.info", (1,)).await.unwrap(), 2);
}

#[tokio::test]
async fn host_name_mismatch_is_refused_even_with_a_trusted_ca() {
    // The certificate names only "localhost"; the client connects to 127.0.0.1.
    let (server, pem) = FakeServer::start_tls(
        vec![Reply::xml(one_success("<i4>3</i4>"))],
        &["localhost"],
        "127.0.0.1",
    )
    .await;
    let err = builder(&server.url)
        .add_root_certificate_pem(pem)
        .build()
        .unwrap()
        .call("vm.info", (1,))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    assert!(server.requests().is_empty());
}
