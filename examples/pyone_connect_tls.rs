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

use opennebula::server::TestServer;
use opennebula::Client;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (endpoint, session, server) = match std::env::var("ONE_XMLRPC") {
        Ok(url) if !url.trim().is_empty() => {
            let from_env = Client::from_env()?;
            let session =
                std::fs::read_to_string(std::env::var("ONE_AUTH").unwrap_or_else(|_| {
                    format!(
                        "{}/.one/one_auth",
                        std::env::var("HOME").unwrap_or_default()
                    )
                }))?;
            (
                from_env.endpoint().to_string(),
                session.trim().to_string(),
                None,
            )
        }
        _ => {
            let server = TestServer::builder().tls(true).start().await?;
            println!(
                "Started an in-process OpenNebula test server at {}",
                server.url()
            );
            (server.url(), server.session(), Some(server))
        }
    };

    // context=ssl._create_unverified_context()
    let one = Client::builder()
        .endpoint(&endpoint)
        .session(session.as_str())
        .danger_accept_invalid_certs(true)
        .build()?;
    println!(
        "Unverified TLS: OpenNebula {}",
        one.system().version().await?
    );

    // The safe way for a lab: trust its certificate.
    if let Some(server) = &server {
        let pem = server
            .certificate_pem()
            .expect("TLS mode has a certificate");
        let trusted = Client::builder()
            .endpoint(&endpoint)
            .session(session.as_str())
            .add_root_certificate_pem(pem.into_bytes())
            .build()?;
        println!(
            "Trusted certificate: OpenNebula {}",
            trusted.system().version().await?
        );

        // Without either, the self-signed certificate is refused.
        let strict = Client::new(&endpoint, session.as_str())?;
        match strict.system().version().await {
            Err(err) => println!("Default client refuses the self-signed certificate: {err}"),
            Ok(_) => return Err("a self-signed certificate was accepted by default".into()),
        }
    }
    Ok(())
}
