//! The HTTP side: an axum router on `/RPC2`, served connection by connection with hyper so
//! the same loop serves plain TCP and TLS streams and stops when the server is dropped.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_native_tls::TlsAcceptor;

use crate::core::Core;
use crate::{Error, Result};

/// Generates a self-signed certificate for `localhost` and `127.0.0.1` and the TLS acceptor
/// serving it. Returns the acceptor and the certificate PEM.
pub(crate) fn tls_acceptor() -> Result<(TlsAcceptor, String)> {
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let certified = rcgen::generate_simple_self_signed(names)
        .map_err(|e| Error::Tls(format!("cannot generate the certificate: {e}")))?;
    let cert_pem = certified.cert.pem();
    let key_pem = certified.signing_key.serialize_pem();
    let identity = native_tls::Identity::from_pkcs8(cert_pem.as_bytes(), key_pem.as_bytes())
        .map_err(|e| Error::Tls(format!("cannot load the identity: {e}")))?;
    let acceptor = native_tls::TlsAcceptor::new(identity)
        .map_err(|e| Error::Tls(format!("cannot build the acceptor: {e}")))?;
    Ok((TlsAcceptor::from(acceptor), cert_pem))
}

fn router(shared: Arc<Core>, keep_alive: bool) -> Router {
    let route = if keep_alive {
        post(handle_rpc_keep_alive)
    } else {
        post(handle_rpc)
    };
    Router::new().route("/RPC2", route).with_state(shared)
}

async fn handle_rpc(State(shared): State<Arc<Core>>, body: Bytes) -> Response {
    let answer = super::handle_body(&shared, &body);
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/xml"),
            // oned (xmlrpc-c's Abyss) closes the connection after every response.
            (header::CONNECTION, "close"),
        ],
        answer,
    )
        .into_response()
}

/// [`handle_rpc`] for a server built with `keep_alive(true)`: the connection stays open.
async fn handle_rpc_keep_alive(State(shared): State<Arc<Core>>, body: Bytes) -> Response {
    let answer = super::handle_body(&shared, &body);
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/xml")], answer).into_response()
}

/// Accepts connections until `shutdown` fires (or its sender is dropped). Without
/// `keep_alive`, every connection is closed after its first response, as oned does.
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shared: Arc<Core>,
    keep_alive: bool,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    let service = TowerToHyperService::new(router(shared, keep_alive));
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _peer)) = accepted else {
            // Transient accept errors (EMFILE, a reset before accept): keep serving.
            tokio::task::yield_now().await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.keep_alive(keep_alive);
            match tls {
                None => {
                    let _ = builder
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                }
                Some(acceptor) => {
                    // A failed handshake (client refusing our certificate) just ends the
                    // connection, as it would with oned behind a TLS proxy.
                    if let Ok(stream) = acceptor.accept(stream).await {
                        let _ = builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    }
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    use crate::TestServer;

    const CALL: &str = "<?xml version=\"1.0\"?><methodCall><methodName>one.system.version\
                        </methodName><params><param><value>oneadmin:onepass</value></param>\
                        </params></methodCall>";

    fn request(addr: &str) -> String {
        format!(
            "POST /RPC2 HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/xml\r\n\
             Content-Length: {}\r\n\r\n{CALL}",
            CALL.len()
        )
    }

    /// Reads one response (headers, then `Content-Length` bytes); returns it lower-cased.
    async fn response(stream: &mut TcpStream) -> String {
        let mut buffer = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let text = String::from_utf8_lossy(&buffer).to_ascii_lowercase();
            if let Some(end) = text.find("\r\n\r\n") {
                let length: usize = text[..end]
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .expect("a content-length");
                if buffer.len() >= end + 4 + length {
                    return text;
                }
            }
            let n = stream.read(&mut chunk).await.expect("read");
            assert!(n > 0, "connection closed before a whole response");
            buffer.extend_from_slice(&chunk[..n]);
        }
    }

    #[tokio::test]
    async fn connections_close_after_each_response_unless_kept_alive() {
        let server = TestServer::builder().start().await.unwrap();
        let addr = server
            .url()
            .trim_start_matches("http://")
            .replace("/RPC2", "");
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        stream.write_all(request(&addr).as_bytes()).await.unwrap();
        let first = response(&mut stream).await;
        assert!(first.contains("connection: close"), "{first}");
        assert!(first.contains("<boolean>1</boolean>"), "{first}");
        // As oned does: the server closes, so the next read sees the end of the stream.
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());

        let server = TestServer::builder()
            .keep_alive(true)
            .start()
            .await
            .unwrap();
        let addr = server
            .url()
            .trim_start_matches("http://")
            .replace("/RPC2", "");
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        for _ in 0..3 {
            stream.write_all(request(&addr).as_bytes()).await.unwrap();
            let answer = response(&mut stream).await;
            assert!(!answer.contains("connection: close"), "{answer}");
            assert!(answer.contains("<boolean>1</boolean>"), "{answer}");
        }
    }
}
