//! What the client logs: the method, timing and size of calls, one warning for plain HTTP to a
//! remote host and for disabled certificate checks — and never the session secret.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use opennebula::Client;
use support::{one_failure, one_success, FakeServer, Reply};

const PASSWORD: &str = "super-secret-pass-42";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

fn capture() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    (captured, tracing::subscriber::set_default(subscriber))
}

#[tokio::test]
async fn calls_are_logged_without_the_session() {
    let (logs, _guard) = capture();
    let server = FakeServer::start(vec![
        Reply::xml(one_success("<i4>1</i4>")),
        Reply::xml(one_failure("[one.vm.info] not found", 0x400, 3)),
    ])
    .await;
    let one = Client::new(&server.url, format!("oneadmin:{PASSWORD}")).unwrap();
    one.call("vm.info", (1,)).await.unwrap();
    one.call("vm.info", (3,)).await.unwrap_err();
    let text = logs.text();
    assert!(text.contains("one.vm.info"), "{text}");
    assert!(text.contains("elapsed_ms"), "{text}");
    assert!(!text.contains(PASSWORD), "{text}");
}

#[test]
fn plain_http_to_a_remote_host_warns_once_per_client_and_loopback_does_not() {
    let (logs, _guard) = capture();
    Client::new("http://127.0.0.1:2633/RPC2", format!("oneadmin:{PASSWORD}")).unwrap();
    Client::new("http://localhost:2633/RPC2", format!("oneadmin:{PASSWORD}")).unwrap();
    assert!(!logs.text().contains("plain HTTP"), "{}", logs.text());
    Client::new(
        "http://one.example.com:2633/RPC2",
        format!("oneadmin:{PASSWORD}"),
    )
    .unwrap();
    let text = logs.text();
    assert_eq!(text.matches("plain HTTP").count(), 1, "{text}");
    assert!(!text.contains(PASSWORD), "{text}");
}

#[test]
fn disabling_certificate_checks_warns() {
    let (logs, _guard) = capture();
    Client::builder()
        .endpoint("https://one.example.com:2633/RPC2")
        .session(format!("oneadmin:{PASSWORD}"))
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let text = logs.text();
    assert_eq!(
        text.matches("verification is disabled").count(),
        1,
        "{text}"
    );
    assert!(!text.contains(PASSWORD), "{text}");
}
