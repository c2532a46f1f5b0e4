//! The XML-RPC transport: `methodCall`s POSTed over HTTP(S) with reqwest (native-tls).
//!
//! It encodes a [`Request`] (session first) into a body that is wiped when dropped, and runs
//! the one HTTP exchange both call paths share ([`XmlRpc::respond`]): the buffered one reads
//! the whole body within the size limit, the streaming one hands the response to
//! [`crate::stream`]'s decoder as it arrives.

use std::time::Duration;

use super::transport::{secret_bytes, Call, TlsSettings};
use crate::error::{Error, Result};
use crate::rpc::Request;
use crate::wire::{self, Value};

/// Settings the XML-RPC transport is built from.
pub(crate) struct XmlRpcSettings {
    pub endpoint: reqwest::Url,
    pub timeout: Option<Duration>,
    pub connect_timeout: Duration,
    pub user_agent: String,
    pub tls: TlsSettings,
    pub http_client: Option<reqwest::Client>,
}

/// XML-RPC over HTTP: one endpoint URL and a connection-pooling reqwest client.
pub(crate) struct XmlRpc {
    http: reqwest::Client,
    endpoint: reqwest::Url,
    timeout: Option<Duration>,
}

impl XmlRpc {
    pub(crate) fn new(settings: XmlRpcSettings) -> Result<Self> {
        let http = match settings.http_client {
            Some(client) => client,
            None => {
                let mut builder = reqwest::Client::builder()
                    .tls_backend_native()
                    .connect_timeout(settings.connect_timeout)
                    .user_agent(settings.user_agent)
                    .pool_idle_timeout(Duration::from_secs(30))
                    // Every call body carries the session: following a 307/308 would send it
                    // wherever `Location` points. oned never redirects; a redirect is an
                    // `Error::Http` with its status. (It also spares each call reqwest's
                    // redirect layer.)
                    .redirect(reqwest::redirect::Policy::none());
                if let Some(timeout) = settings.timeout {
                    builder = builder.timeout(timeout);
                }
                for pem in &settings.tls.root_certificates {
                    let cert = reqwest::Certificate::from_pem(pem).map_err(|e| {
                        Error::Config(format!("invalid root certificate PEM: {}", error_chain(&e)))
                    })?;
                    builder = builder.add_root_certificate(cert);
                }
                if settings.tls.accept_invalid_certs {
                    builder = builder.danger_accept_invalid_certs(true);
                }
                builder.build().map_err(|e| {
                    Error::Config(format!("cannot build the HTTP client: {}", error_chain(&e)))
                })?
            }
        };
        Ok(XmlRpc {
            http,
            endpoint: settings.endpoint,
            timeout: settings.timeout,
        })
    }

    pub(crate) fn endpoint(&self) -> &str {
        self.endpoint.as_str()
    }

    /// The `methodCall` of `request` with `session` as first parameter, in a buffer that is
    /// wiped when its last reference (ours, a retry's, or the HTTP stack's) is dropped.
    ///
    /// The buffer is reserved once for the worst case (every byte of the session escaped to
    /// five), so it never reallocates with the session in it: no unwiped copy is left in freed
    /// memory by this crate. Copies made further down (hyper's write buffer when it flattens
    /// a small body, the TLS library's record buffers) are outside our reach.
    pub(crate) fn encode<R>(&self, request: Request<R>, session: &str) -> Result<Call> {
        let method = request.method().to_owned();
        let idempotent = request.idempotent();
        let params = request.into_params();
        check_xml_text(&method, &params)?;
        Ok(Call {
            body: session_call_body(&method, params, session),
            method: method.into(),
            idempotent,
            #[cfg(feature = "grpc")]
            grpc: None,
        })
    }

    /// The one HTTP exchange: POSTs `body` and returns the response once its headers are in.
    /// A non-2xx status is [`Error::Http`] (with the first bytes of the body); a declared
    /// length above `limit` is [`Error::ResponseTooLarge`].
    pub(crate) async fn respond(
        &self,
        body: bytes::Bytes,
        limit: u64,
    ) -> Result<reqwest::Response> {
        let mut response = self
            .http
            .post(self.endpoint.clone())
            .header(reqwest::header::CONTENT_TYPE, "text/xml")
            .body(body)
            .send()
            .await
            .map_err(|e| self.transport_error(e))?;
        let status = response.status();
        if !status.is_success() {
            let mut bytes = Vec::new();
            while bytes.len() < 4096 {
                match response.chunk().await {
                    Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
                    _ => break,
                }
            }
            return Err(Error::Http {
                status: status.as_u16(),
                body_excerpt: excerpt(&bytes),
            });
        }
        if response
            .content_length()
            .is_some_and(|length| length > limit)
        {
            return Err(Error::ResponseTooLarge { limit });
        }
        Ok(response)
    }

    /// The exchange with the whole body read (within `limit`).
    pub(crate) async fn exchange(&self, body: bytes::Bytes, limit: u64) -> Result<Vec<u8>> {
        let mut response = self.respond(body, limit).await?;
        let mut bytes = Vec::with_capacity(
            response
                .content_length()
                .map_or(8192, |l| l.min(limit) as usize),
        );
        while let Some(chunk) = self.chunk(&mut response).await? {
            if bytes.len() as u64 + chunk.len() as u64 > limit {
                return Err(Error::ResponseTooLarge { limit });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }

    /// The next chunk of a response body.
    pub(crate) async fn chunk(
        &self,
        response: &mut reqwest::Response,
    ) -> Result<Option<bytes::Bytes>> {
        response.chunk().await.map_err(|e| self.transport_error(e))
    }

    fn transport_error(&self, err: reqwest::Error) -> Error {
        if err.is_timeout() {
            return Error::Timeout {
                timeout: self.timeout,
            };
        }
        let connect = err.is_connect();
        exchange_error(err, connect)
    }
}

/// An exchange that failed below the protocol: TLS (refused certificate, handshake), could
/// not connect (both never sent), or broke after sending.
pub(crate) fn exchange_error(
    err: impl std::error::Error + Send + Sync + 'static,
    connect: bool,
) -> Error {
    let message = error_chain(&err);
    let source: Option<Box<dyn std::error::Error + Send + Sync>> = Some(Box::new(err));
    let err = source
        .as_deref()
        .map(|e| e as &(dyn std::error::Error + 'static));
    if err.is_some_and(|e| is_tls_error(e, &message)) {
        return Error::Tls { message, source };
    }
    if connect {
        return Error::Connect { message, source };
    }
    Error::Transport { message, source }
}

/// The `methodCall` of `method` with `session` as its first parameter, wiped on drop (see
/// [`XmlRpc::encode`]).
pub(crate) fn session_call_body(method: &str, params: Vec<Value>, session: &str) -> bytes::Bytes {
    let mut all = Vec::with_capacity(params.len() + 1);
    all.push(Value::String(String::new()));
    all.extend(params);
    let without_session = wire::encode_method_call(method, &all).len();
    let capacity = without_session + session.len() * 6 + 16;
    all[0] = Value::String(session.to_owned());
    let mut out = String::with_capacity(capacity);
    wire::encode_method_call_into(&mut out, method, &all);
    debug_assert!(out.capacity() == capacity, "the call body reallocated");
    if let Some(Value::String(s)) = all.first_mut() {
        zeroize::Zeroize::zeroize(s);
    }
    secret_bytes(out)
}

/// Refuses string parameters XML 1.0 cannot carry (a NUL or another C0 control character
/// other than tab, line feed and carriage return, or U+FFFE / U+FFFF): the `methodCall`
/// would not be well-formed, and xmlrpc-c answers with a fault that does not say which
/// parameter. Nothing is sent.
fn check_xml_text(method: &str, params: &[Value]) -> Result<()> {
    fn check(method: &str, position: usize, value: &Value) -> Result<()> {
        match value {
            Value::String(s) => match crate::template::xml_forbidden_char(s) {
                Some(c) => Err(Error::InvalidArgument(format!(
                    "{method}: parameter {position} holds the character U+{:04X}, which XML 1.0 \
                     (and so XML-RPC) cannot carry",
                    u32::from(c)
                ))),
                None => Ok(()),
            },
            Value::Array(items) => items.iter().try_for_each(|v| check(method, position, v)),
            Value::Struct(members) => members
                .values()
                .try_for_each(|v| check(method, position, v)),
            _ => Ok(()),
        }
    }
    params
        .iter()
        .enumerate()
        .try_for_each(|(i, v)| check(method, i + 1, v))
}

/// The messages of an error and its sources, joined: reqwest's top-level message alone
/// ("error sending request") says nothing about why.
pub(crate) fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

pub(crate) fn is_tls_error(err: &(dyn std::error::Error + 'static), message: &str) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(cause) = source {
        if cause.downcast_ref::<native_tls::Error>().is_some() {
            return true;
        }
        source = cause.source();
    }
    let lower = message.to_ascii_lowercase();
    ["certificate", "ssl", "tls", "handshake"]
        .iter()
        .any(|needle| lower.contains(needle))
}

pub(crate) fn excerpt(bytes: &[u8]) -> Option<String> {
    if bytes.is_empty() {
        return None;
    }
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]);
    Some(
        text.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect::<String>()
            .trim()
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_call_body_is_sized_once_even_for_a_session_full_of_escapes() {
        // Every byte of this session expands when escaped: the reserved capacity must still
        // hold the whole call, or the buffer would reallocate and free a copy of the session.
        let session = "<&>\r".repeat(64);
        let params = vec![Value::from("<&>".repeat(100)), Value::Int(7)];
        let body = session_call_body("one.vm.update", params.clone(), &session);
        let text = std::str::from_utf8(&body).unwrap();
        let mut expected = vec![Value::from(session.as_str())];
        expected.extend(params);
        assert_eq!(text, wire::encode_method_call("one.vm.update", &expected));
    }

    #[test]
    fn text_xml_cannot_carry_is_refused_naming_the_parameter() {
        let params = vec![Value::Int(1), Value::from("a\u{1}b")];
        let err = check_xml_text("one.vm.rename", &params).unwrap_err();
        assert!(err.to_string().contains("parameter 2"), "{err}");
        assert!(err.to_string().contains("U+0001"), "{err}");
        assert!(check_xml_text("one.vm.rename", &[Value::from("tab\tnl\ncr\r é")]).is_ok());
        let nested = vec![Value::Array(vec![Value::from("\u{FFFF}")])];
        assert!(check_xml_text("one.x.y", &nested).is_err());
    }
}
