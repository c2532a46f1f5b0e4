//! PyONE's connection to a test platform with a self-signed certificate:
//!
//! ```python
//! one = pyone.OneServer("http://one:2633/RPC2", session="oneadmin:onepass",
//!                       context=ssl._create_unverified_context())
//! ```
//!
//! Here the test server serves HTTPS with a certificate generated at start, and the client
//! skips verification with `danger_accept_invalid_certs(true)`. For anything but a lab, trust
//! the certificate instead (`add_root_certificate_pem`), as the second client does.
//!
//! With `ONE_XMLRPC` set, the example connects there without verification.
//!
//! ```text
//! cargo run --example pyone_connect_tls
//! ```

use opennebula::{Client, ClientBuilder};
use opennebula_test_server::TestServer;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // ONE_XMLRPC and ONE_AUTH when set, else a test server serving HTTPS.
    let server = match std::env::var("ONE_XMLRPC") {
        Ok(url) if !url.trim().is_empty() => None,
        _ => {
            let server = TestServer::builder().tls(true).start().await?;
            println!(
                "Started an in-process OpenNebula test server at {}",
                server.url()
            );
            Some(server)
        }
    };

    // context=ssl._create_unverified_context()
    let one = builder(server.as_ref())?
        .danger_accept_invalid_certs(true)
        .build()?;
    println!(
        "Unverified TLS: OpenNebula {}",
        one.system().version().await?
    );

    if let Some(server) = &server {
        // The safe way for a lab: trust its certificate.
        let pem = server
            .certificate_pem()
            .expect("TLS mode has a certificate");
        let trusted = builder(Some(server))?
            .add_root_certificate_pem(pem.into_bytes())
            .build()?;
        println!(
            "Trusted certificate: OpenNebula {}",
            trusted.system().version().await?
        );

        // Without either, the self-signed certificate is refused.
        let strict = builder(Some(server))?.build()?;
        match strict.system().version().await {
            Err(err) => println!("Default client refuses the self-signed certificate: {err}"),
            Ok(_) => return Err("a self-signed certificate was accepted by default".into()),
        }
    }
    Ok(())
}

/// A client builder for the test server's endpoint and session, or from the environment.
fn builder(server: Option<&TestServer>) -> opennebula::Result<ClientBuilder> {
    match server {
        Some(server) => Ok(Client::builder()
            .endpoint(server.url())
            .session(server.session())),
        None => ClientBuilder::from_env(),
    }
}
