//! The gRPC transport (feature `grpc`): oned's gRPC API (OpenNebula 7.2+, port 2634) over
//! tonic's HTTP/2 channel.
//!
//! tonic provides the connection (HTTP/2, reconnects, connect timeout, one connection
//! multiplexing every call); the messages are [`crate::grpc`]'s, encoded from the method
//! table. The exchange is written here on the channel directly (request headers, the
//! answer's frames, its status) rather than through tonic's codec layer, so that one path
//! serves both the buffered calls and `stream_pool`, which must hand out the `xml` field
//! while its frames arrive; tonic would buffer the whole message first.
//!
//! TLS: oned itself speaks plain HTTP/2; an `https://` endpoint is a TLS-terminating proxy in
//! front of it, reached with native-tls (ALPN `h2`) under the same switches as XML-RPC.

use std::time::Duration;

use bytes::{Buf, Bytes};
use http_body_util::BodyExt;

use super::transport::{secret_bytes, Call, TlsSettings};
use crate::error::{DecodeStage, Error, GrpcCode, Result};
use crate::grpc::{self, XmlFieldDecoder};
use crate::rpc::{GrpcReply, Request};

/// Settings the gRPC transport is built from.
pub(crate) struct GrpcSettings {
    pub endpoint: String,
    pub timeout: Option<Duration>,
    pub connect_timeout: Duration,
    pub user_agent: String,
    pub tls: TlsSettings,
}

/// What a call encoded for gRPC needs besides its body.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GrpcCall {
    pub path: &'static str,
    pub reply: GrpcReply,
}

type Connector = hyper_tls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>;

/// gRPC over one HTTP/2 channel.
pub(crate) struct Grpc {
    /// Made on first use: tonic's channel starts a task, which needs the runtime the calls run
    /// on (the blocking client builds its async client before its runtime thread exists).
    channel: std::sync::OnceLock<tonic::transport::Channel>,
    tonic_endpoint: tonic::transport::Endpoint,
    connector: Connector,
    endpoint: String,
    timeout: Option<Duration>,
}

impl Grpc {
    pub(crate) fn new(settings: GrpcSettings) -> Result<Self> {
        let uri: http::Uri = settings.endpoint.parse().map_err(|e| {
            Error::Config(format!(
                "invalid gRPC endpoint {:?}: {e}",
                settings.endpoint
            ))
        })?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.authority().is_none() {
            return Err(Error::Config(format!(
                "the gRPC endpoint must be http://host:port or https://host:port, not {:?}",
                settings.endpoint
            )));
        }
        let mut tls = native_tls::TlsConnector::builder();
        tls.request_alpns(&["h2"]);
        for pem in &settings.tls.root_certificates {
            let cert = native_tls::Certificate::from_pem(pem).map_err(|e| {
                Error::Config(format!(
                    "invalid root certificate PEM: {}",
                    super::xmlrpc::error_chain(&e)
                ))
            })?;
            tls.add_root_certificate(cert);
        }
        if settings.tls.accept_invalid_certs {
            tls.danger_accept_invalid_certs(true);
        }
        let tls = tls
            .build()
            .map_err(|e| Error::Config(format!("cannot build the TLS connector: {e}")))?;
        let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        let connector =
            hyper_tls::HttpsConnector::from((http, tokio_native_tls::TlsConnector::from(tls)));
        let endpoint = tonic::transport::Endpoint::from(uri)
            .connect_timeout(settings.connect_timeout)
            .user_agent(settings.user_agent)
            .map_err(|e| Error::Config(format!("invalid user agent: {e}")))?
            .tcp_nodelay(true);
        Ok(Grpc {
            channel: std::sync::OnceLock::new(),
            tonic_endpoint: endpoint,
            connector,
            endpoint: settings.endpoint,
            timeout: settings.timeout,
        })
    }

    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The request body (gRPC prefix and message, session as field 1), wiped on drop.
    pub(crate) fn encode<R>(&self, request: Request<R>, session: &str) -> Result<Call> {
        let Some(info) = request.info() else {
            return Err(Error::InvalidArgument(format!(
                "{}: the method table does not know this method, so it has no gRPC rpc",
                request.method()
            )));
        };
        let Some(rpc) = info.grpc else {
            return Err(Error::InvalidArgument(format!(
                "{} has no gRPC rpc (not in oned's gRPC API)",
                info.name
            )));
        };
        let body = grpc::encode_request_body(info, session, request.params())?;
        Ok(Call {
            method: request.method().to_owned().into(),
            idempotent: request.idempotent(),
            body: secret_bytes(body),
            grpc: Some(GrpcCall {
                path: rpc.path,
                reply: rpc.reply,
            }),
        })
    }

    /// Sends `call` and returns the answer once its headers are in: an answer that is only a
    /// status (oned's errors) is that status's error.
    pub(crate) async fn respond(&self, call: &Call) -> Result<Answer> {
        let rpc = call
            .grpc
            .ok_or_else(|| Error::Config("internal: a call not encoded for gRPC".into()))?;
        let mut request = http::Request::builder()
            .method(http::Method::POST)
            .uri(rpc.path)
            .header(http::header::CONTENT_TYPE, "application/grpc")
            .header(http::header::TE, "trailers");
        if let Some(timeout) = self.timeout {
            // The deadline, for the server (gRPC's `grpc-timeout`, in milliseconds).
            request = request.header(
                "grpc-timeout",
                format!("{}m", timeout.as_millis().clamp(1, 99_999_999)),
            );
        }
        let request = request
            .body(tonic::body::Body::new(http_body_util::Full::new(
                call.body.clone(),
            )))
            .map_err(|e| Error::Config(format!("cannot build the gRPC request: {e}")))?;
        let mut channel = self
            .channel
            .get_or_init(|| {
                self.tonic_endpoint
                    .connect_with_connector_lazy(self.connector.clone())
            })
            .clone();
        std::future::poll_fn(|cx| tower_service::Service::poll_ready(&mut channel, cx))
            .await
            .map_err(|e| transport_error(e, self.timeout))?;
        let response = tower_service::Service::call(&mut channel, request)
            .await
            .map_err(|e| transport_error(e, self.timeout))?;
        let (parts, body) = response.into_parts();
        if parts.status != http::StatusCode::OK {
            return Err(Error::Http {
                status: parts.status.as_u16(),
                body_excerpt: Some(format!(
                    "not a gRPC answer (HTTP status {} from {})",
                    parts.status, self.endpoint
                )),
            });
        }
        let content_type = parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !content_type.starts_with("application/grpc") {
            return Err(Error::Http {
                status: 200,
                body_excerpt: Some(format!("not a gRPC answer (content-type {content_type:?})")),
            });
        }
        if let Some(status) = status_of(&parts.headers) {
            // Trailers-only: the status came with the headers.
            status?;
            return Ok(Answer { body, ended: true });
        }
        Ok(Answer { body, ended: false })
    }

    /// The exchange with the whole answer read (within `limit` bytes): the message, without
    /// its prefix.
    pub(crate) async fn exchange(&self, call: &Call, limit: u64) -> Result<Vec<u8>> {
        let mut answer = self.respond(call).await?;
        let mut body = Vec::new();
        while let Some(data) = answer.data().await? {
            if body.len() as u64 + data.len() as u64 > limit.saturating_add(5) {
                return Err(Error::ResponseTooLarge { limit });
            }
            body.extend_from_slice(&data);
        }
        unframe(body)
    }

    /// The answer as a stream of the bytes of its `xml` field.
    pub(crate) async fn open(&self, call: &Call) -> Result<XmlBody> {
        Ok(XmlBody {
            answer: self.respond(call).await?,
            decoder: XmlFieldDecoder::new(),
        })
    }
}

/// An answer being received.
pub(crate) struct Answer {
    body: tonic::body::Body,
    ended: bool,
}

impl Answer {
    /// The next data of the answer body; at its end, its status is checked (an error status
    /// is its error, a missing one a transport error).
    async fn data(&mut self) -> Result<Option<Bytes>> {
        if self.ended {
            return Ok(None);
        }
        loop {
            match self.body.frame().await {
                None => {
                    self.ended = true;
                    return Err(Error::Transport {
                        message: "the gRPC answer ended without a status (connection reset?)"
                            .into(),
                        source: None,
                    });
                }
                Some(Err(status)) => {
                    self.ended = true;
                    return Err(body_error(status));
                }
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(mut data) => {
                        if data.has_remaining() {
                            return Ok(Some(data.copy_to_bytes(data.remaining())));
                        }
                    }
                    Err(frame) => {
                        self.ended = true;
                        let trailers = frame.into_trailers().unwrap_or_default();
                        return match status_of(&trailers) {
                            Some(status) => status.map(|()| None),
                            None => Err(Error::Transport {
                                message: "the gRPC answer's trailers carry no grpc-status".into(),
                                source: None,
                            }),
                        };
                    }
                },
            }
        }
    }
}

/// A streamed answer: the bytes of its `xml` field as they arrive.
pub(crate) struct XmlBody {
    answer: Answer,
    decoder: XmlFieldDecoder,
}

impl XmlBody {
    /// The next bytes of the document, `None` at its end (after the status said OK).
    pub(crate) async fn chunk(&mut self) -> Result<Option<Bytes>> {
        loop {
            match self.answer.data().await? {
                Some(data) => {
                    let mut xml = Vec::new();
                    self.decoder.feed(&data, &mut xml)?;
                    if !xml.is_empty() {
                        return Ok(Some(Bytes::from(xml)));
                    }
                }
                None => {
                    self.decoder.finish()?;
                    return Ok(None);
                }
            }
        }
    }
}

/// The message of a unary answer body (one prefixed message, uncompressed).
fn unframe(mut body: Vec<u8>) -> Result<Vec<u8>> {
    if body.len() < 5 {
        return Err(Error::decode(
            DecodeStage::Envelope,
            "the gRPC answer holds no message",
        ));
    }
    if body[0] != 0 {
        return Err(Error::decode(
            DecodeStage::Envelope,
            "a compressed gRPC message (none was asked for)",
        ));
    }
    let len = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
    if body.len() - 5 != len {
        return Err(Error::decode(
            DecodeStage::Envelope,
            format!(
                "the gRPC answer holds {} bytes after its prefix, the prefix says {len}",
                body.len() - 5
            ),
        ));
    }
    body.drain(..5);
    Ok(body)
}

/// The status in `headers` (`grpc-status`, `grpc-message`), if there is one: `Ok(())` for
/// OK, else its error.
fn status_of(headers: &http::HeaderMap) -> Option<Result<()>> {
    let code = headers.get("grpc-status")?;
    let code = std::str::from_utf8(code.as_bytes())
        .ok()
        .and_then(|c| c.trim().parse::<i32>().ok())
        .map_or(GrpcCode::Unknown, GrpcCode::from_code);
    if code == GrpcCode::Ok {
        return Some(Ok(()));
    }
    let message = headers
        .get("grpc-message")
        .map(|m| percent_decode(m.as_bytes()))
        .unwrap_or_default();
    Some(Err(grpc::status_error(code, message)))
}

/// gRPC's percent-encoding of `grpc-message` (RFC 3986 `%XX`, UTF-8).
fn percent_decode(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An error while the body was being received (a reset stream, a dropped connection).
fn body_error(status: tonic::Status) -> Error {
    let message = status.message().to_owned();
    Error::Transport {
        message: if message.is_empty() {
            format!("the gRPC answer was cut: {status}")
        } else {
            format!("the gRPC answer was cut: {message}")
        },
        source: Some(Box::new(status)),
    }
}

/// A failure of the channel: could not connect (never sent), TLS, or the exchange broke.
fn transport_error(err: tonic::transport::Error, timeout: Option<Duration>) -> Error {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
    let mut connect = false;
    while let Some(cause) = source {
        if cause.downcast_ref::<tonic::ConnectError>().is_some() {
            connect = true;
        }
        if cause.downcast_ref::<tonic::TimeoutExpired>().is_some() {
            // tonic's channel applies the request's `grpc-timeout` too.
            return Error::Timeout { timeout };
        }
        source = cause.source();
    }
    super::xmlrpc::exchange_error(err, connect)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_read_from_headers() {
        let mut headers = http::HeaderMap::new();
        assert!(status_of(&headers).is_none());
        headers.insert("grpc-status", "0".parse().unwrap());
        assert!(matches!(status_of(&headers), Some(Ok(()))));
        headers.insert("grpc-status", "5".parse().unwrap());
        headers.insert(
            "grpc-message",
            "[one.vm.info] Error getting virtual machine %5B42%5D. caf%C3%A9 100%"
                .parse()
                .unwrap(),
        );
        let err = status_of(&headers).unwrap().unwrap_err();
        let one = err.one_error().unwrap();
        assert_eq!(
            one.message,
            "[one.vm.info] Error getting virtual machine [42]. café 100%"
        );
        assert_eq!(one.grpc_code, Some(GrpcCode::NotFound));
        headers.insert("grpc-status", "garbage".parse().unwrap());
        assert!(matches!(
            status_of(&headers),
            Some(Err(Error::Grpc {
                code: GrpcCode::Unknown,
                ..
            }))
        ));
    }

    #[test]
    fn unary_bodies_hold_exactly_one_message() {
        assert_eq!(unframe(grpc::frame(b"abc")).unwrap(), b"abc");
        assert!(unframe(vec![0, 0, 0]).is_err());
        assert!(unframe(vec![1, 0, 0, 0, 0]).is_err());
        let mut two = grpc::frame(b"a");
        two.extend(grpc::frame(b"b"));
        assert!(unframe(two).is_err());
    }
}
