//! TLS mode: a self-signed certificate generated at start.

use opennebula::{Client, Error};
use opennebula_test_server::TestServer;

#[tokio::test]
async fn tls_works_with_the_certificate_as_root_ca_and_fails_without() {
    let server = TestServer::builder().tls(true).start().await.unwrap();
    assert!(server.url().starts_with("https://127.0.0.1:"));
    let pem = server
        .certificate_pem()
        .expect("TLS mode has a certificate");
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));

    // `client()` trusts the generated certificate.
    let version: String = server
        .client()
        .unwrap()
        .call_as("one.system.version", ())
        .await
        .unwrap();
    assert_eq!(version, "7.5.80");

    // So does a client given the PEM explicitly, by IP and by name.
    let localhost = server.url().replace("127.0.0.1", "localhost");
    for url in [server.url(), localhost] {
        let client = Client::builder()
            .endpoint(url)
            .session(server.session())
            .add_root_certificate_pem(pem.as_bytes().to_vec())
            .build()
            .unwrap();
        client.call("one.system.version", ()).await.unwrap();
    }

    // Without it the handshake fails: the certificate is not trusted.
    let untrusted = Client::new(server.url(), server.session()).unwrap();
    match untrusted.call("one.system.version", ()).await {
        Err(Error::OpenNebula(e)) => panic!("reached oned without trusting it: {e}"),
        Err(_) => {}
        Ok(v) => panic!("an untrusted certificate was accepted: {v:?}"),
    }

    // The lab path: verification disabled.
    let lab = Client::builder()
        .endpoint(server.url())
        .session(server.session())
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    lab.call("one.system.version", ()).await.unwrap();
    assert_eq!(server.received_calls().len(), 4);
}

#[tokio::test]
async fn plain_http_has_no_certificate() {
    let server = TestServer::start().await.unwrap();
    assert!(server.certificate_pem().is_none());
}
