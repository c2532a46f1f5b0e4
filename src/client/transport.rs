//! The seam under the client: a [`Transport`] carries an encoded [`Call`] and brings back a
//! [`Reply`] (or a streaming [`Body`]).
//!
//! Everything protocol-free sits above it, once, in [`Client`](super::Client): the request
//! check, the session, the retry policy, the timeout, the in-flight cap, logging, moving the
//! exchange onto a worker thread, the blocking client, `stream_pool` and the pages helpers.
//! A transport only encodes (sans-IO, from what the [`Request`] says), exchanges bytes, and
//! decodes into the [`Returns`] type the request names. It never asks the API layer
//! anything.
//!
//! A new transport is a new variant here and a module beside this one implementing the same
//! four operations: `encode`, `exchange`, `open` (streaming) and the `Reply`/`Body`
//! decoding.

use std::borrow::Cow;

use crate::error::Result;
use crate::rpc::{Request, Returns};

#[cfg(feature = "grpc")]
use super::grpc::{Grpc, GrpcCall, XmlBody};
use super::xmlrpc::XmlRpc;

/// TLS switches shared by every transport.
#[derive(Debug, Clone, Default)]
pub(crate) struct TlsSettings {
    /// Accept any certificate (labs only).
    pub accept_invalid_certs: bool,
    /// Extra trusted root CAs (PEM).
    pub root_certificates: Vec<Vec<u8>>,
}

/// The protocol a client speaks.
pub(crate) enum Transport {
    /// XML-RPC over HTTP(S) (oned's port 2633).
    XmlRpc(XmlRpc),
    /// gRPC over HTTP/2 (oned's port 2634).
    #[cfg(feature = "grpc")]
    Grpc(Box<Grpc>),
}

/// One request encoded for the wire, session included: what a retry resends.
#[derive(Clone)]
pub(crate) struct Call {
    /// Full method name (logs, errors).
    pub method: Cow<'static, str>,
    /// Whether a retry may resend it after a failure that may have reached the server.
    pub idempotent: bool,
    /// The request body, wiped when its last reference is dropped.
    pub body: bytes::Bytes,
    /// The rpc's path and answer message, for a call encoded for gRPC.
    #[cfg(feature = "grpc")]
    pub grpc: Option<GrpcCall>,
}

/// A transport's whole answer to one call, not yet decoded.
pub(crate) enum Reply {
    /// The `methodResponse` bytes.
    XmlRpc(Vec<u8>),
    /// A gRPC answer message (without its prefix), of the kind `reply`.
    #[cfg(feature = "grpc")]
    Grpc {
        method: std::borrow::Cow<'static, str>,
        reply: crate::rpc::GrpcReply,
        message: Vec<u8>,
    },
}

impl Reply {
    /// Decodes the answer into what the call returns.
    pub(crate) fn decode<R: Returns>(self) -> Result<R> {
        match self {
            Reply::XmlRpc(bytes) => crate::wire::decode_response_as::<R>(&bytes),
            #[cfg(feature = "grpc")]
            Reply::Grpc {
                method,
                reply,
                message,
            } => {
                let answer = crate::grpc::decode_reply(reply, &message)?;
                if let (crate::rpc::ReturnKind::Document, crate::grpc::Answer::Xml(xml)) =
                    (R::KIND, &answer)
                {
                    // The document is plain XML: decoded straight into the model.
                    let mut reader = crate::xml::XmlReader::new(xml);
                    return R::read_document(&mut reader).map_err(|e| {
                        crate::Error::from_xml(crate::error::DecodeStage::Document, e)
                    });
                }
                R::from_value(answer.into_value(&method, reply)?)
            }
        }
    }

    /// Size of the answer, for logs.
    pub(crate) fn len(&self) -> usize {
        match self {
            Reply::XmlRpc(bytes) => bytes.len(),
            #[cfg(feature = "grpc")]
            Reply::Grpc { message, .. } => message.len(),
        }
    }
}

/// A response body being received, for the streaming decoders of [`crate::stream`].
pub(crate) enum Body {
    /// The HTTP body of a `methodResponse` (escaped document inside an envelope).
    XmlRpc(reqwest::Response),
    /// The `xml` field of a gRPC answer, as it arrives.
    #[cfg(feature = "grpc")]
    Grpc(XmlBody),
}

/// What a streaming body carries, so that the pool decoder reads it in the right form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyForm {
    /// An XML-RPC `methodResponse` whose payload string holds the escaped document.
    Envelope,
    /// The plain XML document itself.
    #[cfg(feature = "grpc")]
    Document,
}

impl Transport {
    /// The endpoint URL.
    pub(crate) fn endpoint(&self) -> &str {
        match self {
            Transport::XmlRpc(t) => t.endpoint(),
            #[cfg(feature = "grpc")]
            Transport::Grpc(t) => t.endpoint(),
        }
    }

    /// The protocol's name, for logs.
    pub(crate) fn protocol(&self) -> &'static str {
        match self {
            Transport::XmlRpc(_) => "xml-rpc",
            #[cfg(feature = "grpc")]
            Transport::Grpc(_) => "grpc",
        }
    }

    /// Encodes `request` with `session` (sans-IO). Refuses, before anything is sent, what the
    /// protocol cannot carry.
    pub(crate) fn encode<R>(&self, request: Request<R>, session: &str) -> Result<Call> {
        match self {
            Transport::XmlRpc(t) => t.encode(request, session),
            #[cfg(feature = "grpc")]
            Transport::Grpc(t) => t.encode(request, session),
        }
    }

    /// Sends `call` and reads the whole answer (within `limit` bytes).
    pub(crate) async fn exchange(&self, call: &Call, limit: u64) -> Result<Reply> {
        match self {
            Transport::XmlRpc(t) => t
                .exchange(call.body.clone(), limit)
                .await
                .map(Reply::XmlRpc),
            #[cfg(feature = "grpc")]
            Transport::Grpc(t) => {
                let message = t.exchange(call, limit).await?;
                let reply = call.grpc.map_or(crate::rpc::GrpcReply::Xml, |g| g.reply);
                Ok(Reply::Grpc {
                    method: call.method.clone(),
                    reply,
                    message,
                })
            }
        }
    }

    /// Sends `call` and returns its body as soon as the answer started.
    pub(crate) async fn open(&self, call: &Call, limit: u64) -> Result<Body> {
        match self {
            Transport::XmlRpc(t) => t.respond(call.body.clone(), limit).await.map(Body::XmlRpc),
            #[cfg(feature = "grpc")]
            Transport::Grpc(t) => {
                let _ = limit; // enforced on the document bytes by the streaming body
                t.open(call).await.map(Body::Grpc)
            }
        }
    }

    /// The next piece of a streaming body, `None` at its end.
    pub(crate) async fn chunk(&self, body: &mut Body) -> Result<Option<bytes::Bytes>> {
        match (self, body) {
            (Transport::XmlRpc(t), Body::XmlRpc(response)) => t.chunk(response).await,
            #[cfg(feature = "grpc")]
            (_, Body::Grpc(body)) => body.chunk().await,
            #[cfg(feature = "grpc")]
            (_, Body::XmlRpc(_)) => Err(crate::Error::Config(
                "internal: an XML-RPC body on another transport".into(),
            )),
        }
    }
}

impl Body {
    pub(crate) fn form(&self) -> BodyForm {
        match self {
            Body::XmlRpc(_) => BodyForm::Envelope,
            #[cfg(feature = "grpc")]
            Body::Grpc(_) => BodyForm::Document,
        }
    }
}

/// `text` as request bytes that are zeroed when the last reference is dropped: the buffer is
/// owned by a [`zeroize::Zeroizing`], and [`bytes::Bytes`] clones (for retries, and inside
/// reqwest/hyper) share it instead of copying.
pub(crate) fn secret_bytes(text: impl Into<Vec<u8>>) -> bytes::Bytes {
    bytes::Bytes::from_owner(zeroize::Zeroizing::new(text.into()))
}
