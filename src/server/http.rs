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

use super::{rpc, Shared};
use crate::error::{Error, Result};

/// Generates a self-signed certificate for `localhost` and `127.0.0.1` and the TLS acceptor
/// serving it. Returns the acceptor and the certificate PEM.
pub(super) fn tls_acceptor() -> Result<(TlsAcceptor, String)> {
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let certified = rcgen::generate_simple_self_signed(names)
        .map_err(|e| Error::Config(format!("cannot generate the TLS certificate: {e}")))?;
    let cert_pem = certified.cert.pem();
    let key_pem = certified.signing_key.serialize_pem();
    let identity = native_tls::Identity::from_pkcs8(cert_pem.as_bytes(), key_pem.as_bytes())
        .map_err(|e| Error::Config(format!("cannot load the TLS identity: {e}")))?;
    let acceptor = native_tls::TlsAcceptor::new(identity)
        .map_err(|e| Error::Config(format!("cannot build the TLS acceptor: {e}")))?;
    Ok((TlsAcceptor::from(acceptor), cert_pem))
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/RPC2", post(handle_rpc))
        .with_state(shared)
}

async fn handle_rpc(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let answer = rpc::handle_body(&shared, &body);
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

/// Accepts connections until `shutdown` fires (or its sender is dropped).
pub(super) async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    let service = TowerToHyperService::new(router(shared));
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
            let builder = hyper::server::conn::http1::Builder::new();
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
