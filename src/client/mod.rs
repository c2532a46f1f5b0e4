//! The asynchronous client: configuration, transport and the `call` path.
//!
//! Every call goes through one path: [`Client::call_raw`] encodes the `methodCall`, POSTs it
//! (bounded by the client's timeout, response-size limit and in-flight cap), and decodes the
//! `methodResponse`; [`Client::call`] adds the `one.` prefix and the session and interprets
//! OpenNebula's response array; the typed namespaces of [`crate::api`] sit on top of
//! [`Client::call_as`] and [`Client::call_document`].

#[cfg(feature = "grpc")]
mod grpc;
mod retry;
mod session;
mod transport;
mod xmlrpc;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

pub use retry::RetryPolicy;
pub use session::Session;

use crate::error::{DecodeStage, Error, Result};
use crate::rpc::{Request, Returns};
use crate::wire::{self, IntoParams, MethodResponse, Value, ValueTypeError};
use crate::xml::FromXml;

pub(crate) use transport::BodyForm;
use transport::{secret_bytes, Body, Call, Reply, TlsSettings, Transport};
use xmlrpc::{XmlRpc, XmlRpcSettings};

/// OpenNebula's default XML-RPC endpoint, used when `ONE_XMLRPC` is not set.
pub const DEFAULT_ENDPOINT: &str = "http://localhost:2633/RPC2";

/// Default request timeout: long enough for a pool of tens of thousands of VMs over a slow
/// link, short enough that a dead front-end never hangs a caller forever.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// Default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// oned's default gRPC endpoint (`GRPC_PORT = 2634`), used by [`ClientBuilder::from_env`] when
/// `ONEAPI_PROTOCOL=grpc` and `ONE_GRPC` is not set.
pub const DEFAULT_GRPC_ENDPOINT: &str = "http://localhost:2634";

/// Default maximum response body size (1 GiB): about 200,000 VMs in a `vmpool.info` over
/// XML-RPC, 300,000 over gRPC (no escaping). It is also the gRPC receive limit: unlike gRPC's
/// usual 4 MiB, which stops PyONE's and goca's `vmpool.info` at about 1,300 VMs.
pub const DEFAULT_MAX_RESPONSE_SIZE: u64 = 1 << 30;

/// A client for one OpenNebula front-end, with one session.
///
/// Cheap to clone (an `Arc` inside) and safe to share across tasks; connections are pooled
/// and kept alive where the server allows it (oned itself closes every connection).
///
/// On tokio's multi-thread runtime, a call awaited outside any task (in `block_on`, which is
/// where `#[tokio::main]` runs `main`) runs its HTTP exchange in a task on a worker thread, so
/// that hyper's connection task and the exchange do not wake each other across threads; the
/// exchange is aborted if the call is dropped. A sequential program does fewer wake-ups still
/// on a current-thread runtime (`#[tokio::main(flavor = "current_thread")]`).
///
/// ```no_run
/// # async fn run() -> opennebula::Result<()> {
/// let one = opennebula::Client::new("http://one:2633/RPC2", "oneadmin:onepass")?;
/// let version = one.call("system.version", ()).await?;
/// println!("OpenNebula {version}");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Transport,
    session: Session,
    timeout: Option<Duration>,
    max_response_size: u64,
    in_flight: Option<Arc<Semaphore>>,
    retry: Option<RetryPolicy>,
    events_endpoint: Option<String>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.inner.transport.endpoint())
            .field("protocol", &self.inner.transport.protocol())
            .field("session", &self.inner.session)
            .field("timeout", &self.inner.timeout)
            .field("max_response_size", &self.inner.max_response_size)
            .finish()
    }
}

impl Client {
    /// A client for `endpoint` (e.g. `http://one:2633/RPC2`) with `session` (`user:password`),
    /// default timeouts and TLS verification on.
    pub fn new(endpoint: impl AsRef<str>, session: impl Into<Session>) -> Result<Self> {
        Client::builder()
            .endpoint(endpoint.as_ref())
            .session(session)
            .build()
    }

    /// A builder to configure timeouts, TLS and limits.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured the way OpenNebula's own tools are: endpoint from `ONE_XMLRPC`
    /// (default [`DEFAULT_ENDPOINT`]), session from the file named by `ONE_AUTH` (default
    /// `~/.one/one_auth`), holding `user:password`.
    pub fn from_env() -> Result<Self> {
        ClientBuilder::from_env()?.build()
    }

    /// The endpoint URL the client sends its calls to.
    pub fn endpoint(&self) -> &str {
        self.inner.transport.endpoint()
    }

    /// oned's event bus endpoint (`tcp://one:2101`), when configured: the waits of
    /// [`api::helpers`](crate::api::helpers) listen there (feature `events`) instead of polling.
    pub fn events_endpoint(&self) -> Option<&str> {
        self.inner.events_endpoint.as_deref()
    }

    /// The user name of the session.
    pub fn session_user(&self) -> &str {
        self.inner.session.user()
    }

    /// Sends `request` and returns what its method returns: the path every call takes (the
    /// typed namespaces, [`call`](Self::call) by name, [`call_document`](Self::call_document)).
    ///
    /// The request is checked first ([`Request::check`]: nothing is sent for an invalid
    /// one); the session is added; the client's timeout, in-flight cap, retry policy (for
    /// requests that say they are [idempotent](Request::idempotent), or that never left) and
    /// logging apply.
    ///
    /// ```no_run
    /// # async fn run(one: opennebula::Client) -> opennebula::Result<()> {
    /// use opennebula::api::request;
    /// let vm = one.send(request::vm::info(42, false)).await?; // a `models::Vm`
    /// println!("{}", vm.name);
    /// # Ok(()) }
    /// ```
    pub async fn send<R: Returns>(&self, request: Request<R>) -> Result<R> {
        self.exchange(request).await?.decode::<R>()
    }

    /// Sends `request` (checked, encoded with the session, under the retry policy) and
    /// returns the transport's answer undecoded: decoding is left to the caller (the blocking
    /// client decodes on the calling thread).
    pub(crate) async fn exchange<R>(&self, request: Request<R>) -> Result<Reply> {
        let call = self.encode(request)?;
        self.with_retries(&call, || self.exchange_logged(&call))
            .await
    }

    /// `request` checked ([`Request::check`]) and encoded with the session by the transport.
    fn encode<R>(&self, request: Request<R>) -> Result<Call> {
        request.check()?;
        self.inner
            .transport
            .encode(request, self.inner.session.expose_secret())
    }

    /// Calls an OpenNebula method by name and returns its payload (element 1 of the response
    /// array).
    ///
    /// `method` may be given with or without the `one.` prefix (`"vm.info"` and
    /// `"one.vm.info"` are the same call); the session is added as the first parameter.
    /// The method table describes the call when it knows the method
    /// ([`Request::by_name`]), so it is checked and retried like the typed wrappers' calls.
    /// OpenNebula's failures become [`Error::OpenNebula`], XML-RPC faults [`Error::Fault`].
    pub async fn call(&self, method: &str, params: impl IntoParams) -> Result<Value> {
        self.send(Request::by_name(method, params.into_params()?))
            .await
    }

    /// Like [`call`](Self::call), converting the payload to `T` (`i32`, `i64`, `String`,
    /// `bool`, `()`, `Vec<Value>` ...).
    pub async fn call_as<T>(&self, method: &str, params: impl IntoParams) -> Result<T>
    where
        T: TryFrom<Value, Error = ValueTypeError>,
    {
        wire::payload_into(self.call(method, params).await?)
    }

    /// Like [`call`](Self::call), parsing the payload (an XML document) into `T`, e.g. one of
    /// the [`models`](crate::models).
    pub async fn call_document<T: FromXml + Send + 'static>(
        &self,
        method: &str,
        params: impl IntoParams,
    ) -> Result<T> {
        self.send(Request::<T>::by_name(method, params.into_params()?))
            .await
    }

    /// Sends a `methodCall` exactly as given: no prefix, no session. For XML-RPC
    /// introspection (`system.listMethods`) and anything unusual. A client speaking another
    /// protocol refuses it ([`Error::Config`]).
    pub async fn call_raw(&self, method: &str, params: &[Value]) -> Result<MethodResponse> {
        if !matches!(self.inner.transport, Transport::XmlRpc(_)) {
            return Err(Error::Config(format!(
                "call_raw sends XML-RPC methodCalls; this client speaks {}",
                self.inner.transport.protocol()
            )));
        }
        let call = Call {
            method: method.to_owned().into(),
            idempotent: crate::api::is_idempotent(method),
            // Wiped like a session call's body: a raw call may carry credentials too.
            body: secret_bytes(wire::encode_method_call(method, params)),
            #[cfg(feature = "grpc")]
            grpc: None,
        };
        match self
            .with_retries(&call, || self.exchange_logged(&call))
            .await?
        {
            Reply::XmlRpc(bytes) => {
                wire::decode_response(&bytes).map_err(|e| Error::from_xml(DecodeStage::Envelope, e))
            }
            #[allow(unreachable_patterns)]
            _ => unreachable!("an XML-RPC transport answers with XML-RPC"),
        }
    }

    /// Runs `attempt` until it succeeds, fails for good, or the retry policy (if any) gives
    /// up on `call`, pausing between attempts as the policy says.
    async fn with_retries<T, F, Fut>(&self, call: &Call, mut attempt: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let mut attempts = 0;
        loop {
            let result = attempt().await;
            match (&result, &self.inner.retry) {
                (Err(err), Some(policy)) if policy.should_retry(call.idempotent, err, attempts) => {
                    let pause = policy.backoff(attempts);
                    tracing::info!(
                        target: "opennebula",
                        method = %call.method,
                        protocol = self.inner.transport.protocol(),
                        attempt = attempts + 1,
                        pause_ms = pause.as_millis() as u64,
                        error = %err,
                        "retrying call"
                    );
                    tokio::time::sleep(pause).await;
                    attempts += 1;
                }
                _ => return result,
            }
        }
    }

    /// [`exchange_once`](Self::exchange_once), logging the call's time and size (never its
    /// body).
    async fn exchange_logged(&self, call: &Call) -> Result<Reply> {
        let started = Instant::now();
        let reply = self.exchange_once(call).await;
        let elapsed = started.elapsed();
        match &reply {
            Ok(reply) => tracing::debug!(
                target: "opennebula",
                method = %call.method,
                protocol = self.inner.transport.protocol(),
                elapsed_ms = elapsed.as_secs_f64() * 1e3,
                response_bytes = reply.len(),
                "call"
            ),
            Err(err) => tracing::debug!(
                target: "opennebula",
                method = %call.method,
                protocol = self.inner.transport.protocol(),
                elapsed_ms = elapsed.as_secs_f64() * 1e3,
                error = %err,
                "call failed"
            ),
        }
        reply
    }

    /// Sends `call` and reads its whole answer (bounded by the timeout, the size limit and
    /// the in-flight cap).
    ///
    /// On tokio's multi-thread runtime, a call made outside any task (the future given to
    /// `block_on`, which is where `#[tokio::main]` runs `main`) is moved onto a worker thread
    /// for the exchange: hyper drives each connection in a task of its own, which runs on a
    /// worker, and every step of the exchange (request written, headers read, each body chunk,
    /// connection closed) would otherwise wake the caller's thread from the worker's, about 11
    /// context switches per call. On the worker, the connection task and the exchange wake
    /// each other on the same thread, and the caller is woken once, with the whole body.
    /// Inside a task, or on a current-thread runtime, the exchange runs in place.
    async fn exchange_once(&self, call: &Call) -> Result<Reply> {
        if !runs_outside_worker() {
            return self.exchange_here(call).await;
        }
        let client = self.clone();
        let call = call.clone();
        let task = tokio::spawn(tracing::Instrument::instrument(
            async move { client.exchange_here(&call).await },
            tracing::Span::current(),
        ));
        // Dropping the call (a caller's own timeout, `select!`) cancels the exchange too.
        let mut task = AbortOnDrop(task);
        match (&mut task.0).await {
            Ok(result) => result,
            Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            Err(_) => Err(Error::Config(
                "the exchange was cancelled: the tokio runtime is shutting down".into(),
            )),
        }
    }

    async fn exchange_here(&self, call: &Call) -> Result<Reply> {
        let exchange = async {
            let _permit = self.permit().await?;
            self.inner
                .transport
                .exchange(call, self.inner.max_response_size)
                .await
        };
        match self.inner.timeout {
            // The transport may apply the same timeout; this one also bounds the wait for an
            // in-flight permit and the body, whatever a custom reqwest::Client does.
            Some(timeout) => {
                tokio::time::timeout(timeout, exchange)
                    .await
                    .unwrap_or(Err(Error::Timeout {
                        timeout: Some(timeout),
                    }))
            }
            None => exchange.await,
        }
    }

    /// A place among the calls in flight, if the client caps them.
    async fn permit(&self) -> Result<Option<tokio::sync::OwnedSemaphorePermit>> {
        match &self.inner.in_flight {
            Some(semaphore) => semaphore
                .clone()
                .acquire_owned()
                .await
                .map(Some)
                .map_err(|_| Error::Config("client is shutting down".into())),
            None => Ok(None),
        }
    }

    /// Sends `request` and returns its body as soon as the answer started, for the streaming
    /// decoders of [`crate::stream`]. The in-flight permit travels with the body, and the
    /// client's timeout bounds the whole exchange, body included.
    pub(crate) async fn send_streaming<R>(&self, request: Request<R>) -> Result<StreamingBody> {
        let call = self.encode(request)?;
        let deadline = self
            .inner
            .timeout
            .map(|timeout| tokio::time::Instant::now() + timeout);
        let opening = async {
            let permit = self.permit().await?;
            let body = self
                .inner
                .transport
                .open(&call, self.inner.max_response_size)
                .await?;
            Ok((permit, body))
        };
        let (permit, body) = self.before(deadline, opening).await?;
        Ok(StreamingBody {
            client: self.clone(),
            body,
            received: 0,
            deadline,
            _permit: permit,
        })
    }

    /// `future`, or [`Error::Timeout`] once `deadline` passed.
    async fn before<T>(
        &self,
        deadline: Option<tokio::time::Instant>,
        future: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        match deadline {
            Some(deadline) => tokio::time::timeout_at(deadline, future)
                .await
                .unwrap_or(Err(Error::Timeout {
                    timeout: self.inner.timeout,
                })),
            None => future.await,
        }
    }
}

/// A response body being received, for [`Client::send_streaming`].
pub(crate) struct StreamingBody {
    client: Client,
    body: Body,
    received: u64,
    deadline: Option<tokio::time::Instant>,
    _permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl StreamingBody {
    /// The next chunk of the body, `None` at its end. Enforces the client's response-size
    /// limit and timeout.
    pub(crate) async fn chunk(&mut self) -> Result<Option<bytes::Bytes>> {
        let client = &self.client;
        let chunk = client
            .before(self.deadline, client.inner.transport.chunk(&mut self.body))
            .await?;
        if let Some(chunk) = &chunk {
            self.received += chunk.len() as u64;
            let limit = client.inner.max_response_size;
            if self.received > limit {
                return Err(Error::ResponseTooLarge { limit });
            }
        }
        Ok(chunk)
    }

    /// What the chunks carry.
    pub(crate) fn form(&self) -> BodyForm {
        self.body.form()
    }
}

/// Configures a [`Client`], in the style of `reqwest::ClientBuilder`.
///
/// ```no_run
/// use std::time::Duration;
/// let one = opennebula::Client::builder()
///     .endpoint("https://one.example.com:2633/RPC2")
///     .session("oneadmin:onepass")
///     .timeout(Duration::from_secs(30))
///     .connect_timeout(Duration::from_secs(5))
///     .build()?;
/// # Ok::<(), opennebula::Error>(())
/// ```
#[derive(Default)]
pub struct ClientBuilder {
    endpoint: Option<String>,
    session: Option<Session>,
    timeout: Option<Option<Duration>>,
    connect_timeout: Option<Duration>,
    accept_invalid_certs: bool,
    root_certificates: Vec<Vec<u8>>,
    user_agent: Option<String>,
    http_client: Option<reqwest::Client>,
    max_response_size: Option<u64>,
    max_in_flight: Option<usize>,
    retry: Option<RetryPolicy>,
    grpc: Option<String>,
    events_endpoint: Option<String>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("endpoint", &self.endpoint)
            .field("session", &self.session)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("accept_invalid_certs", &self.accept_invalid_certs)
            .field("root_certificates", &self.root_certificates.len())
            .field("max_response_size", &self.max_response_size)
            .field("max_in_flight", &self.max_in_flight)
            .field("retry", &self.retry)
            .field("grpc", &self.grpc)
            .field("events_endpoint", &self.events_endpoint)
            .finish()
    }
}

impl ClientBuilder {
    /// A builder preset from the environment, as OpenNebula's CLI reads it: `ONE_XMLRPC` for
    /// the endpoint and the file named by `ONE_AUTH` (default `~/.one/one_auth`) for the
    /// session, and `ONE_ZMQ`, when set, for the [events endpoint](Self::events_endpoint);
    /// with `ONEAPI_PROTOCOL=grpc`, gRPC to `ONE_GRPC` (`host:port` or a URL, default
    /// [`DEFAULT_GRPC_ENDPOINT`]; needs the `grpc` feature). Further settings can still be
    /// applied before [`build`](Self::build).
    pub fn from_env() -> Result<Self> {
        let builder = Self::from_env_xmlrpc()?;
        let protocol = std::env::var("ONEAPI_PROTOCOL").unwrap_or_default();
        match protocol.trim().to_ascii_lowercase().as_str() {
            "" | "xmlrpc" | "xml-rpc" => Ok(builder),
            "grpc" => {
                let target = std::env::var("ONE_GRPC")
                    .ok()
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty());
                let url = match target {
                    Some(t) if t.contains("://") => t,
                    Some(host_port) => format!("http://{host_port}"),
                    None => DEFAULT_GRPC_ENDPOINT.to_owned(),
                };
                Ok(builder.grpc(url))
            }
            other => Err(Error::Config(format!(
                "ONEAPI_PROTOCOL={other:?}: expected xmlrpc or grpc"
            ))),
        }
    }

    fn from_env_xmlrpc() -> Result<Self> {
        let endpoint = std::env::var("ONE_XMLRPC")
            .ok()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
        let auth_path = match std::env::var_os("ONE_AUTH").filter(|s| !s.is_empty()) {
            Some(path) => PathBuf::from(path),
            None => {
                let home = std::env::var_os("HOME").ok_or_else(|| {
                    Error::Config("neither ONE_AUTH nor HOME is set: cannot find one_auth".into())
                })?;
                PathBuf::from(home).join(".one").join("one_auth")
            }
        };
        let contents =
            zeroize::Zeroizing::new(std::fs::read_to_string(&auth_path).map_err(|e| {
                Error::Config(format!(
                    "cannot read the auth file {}: {e}",
                    auth_path.display()
                ))
            })?);
        let session = contents.lines().next().unwrap_or_default().trim();
        if !session.contains(':') {
            return Err(Error::Config(format!(
                "the auth file {} does not hold user:password",
                auth_path.display()
            )));
        }
        let events_endpoint = std::env::var("ONE_ZMQ")
            .ok()
            .filter(|s| !s.trim().is_empty());
        Ok(ClientBuilder {
            events_endpoint,
            ..ClientBuilder::default().endpoint(endpoint).session(session)
        })
    }

    /// Speaks gRPC (OpenNebula 7.2+) to `endpoint`, e.g. `http://one:2634` (oned's
    /// `GRPC_PORT`), instead of XML-RPC. Every call, typed or by name, `call_document`,
    /// `stream_pool`, the pages helpers, retries, the in-flight cap and the blocking client
    /// work the same. oned speaks plain HTTP/2; an `https://` endpoint is a TLS-terminating
    /// proxy in front of it, checked with the same TLS switches as XML-RPC
    /// ([`danger_accept_invalid_certs`](Self::danger_accept_invalid_certs),
    /// [`add_root_certificate_pem`](Self::add_root_certificate_pem)). The receive limit is
    /// [`max_response_size`](Self::max_response_size). [`Client::call_raw`] (XML-RPC
    /// `methodCall`s) is refused, and [`http_client`](Self::http_client) does not apply.
    ///
    /// Errors: oned answers its refusals with a gRPC status and `[one.x.y] text`; they come
    /// back as [`Error::OpenNebula`] with the message kept and the status in
    /// [`OneError::grpc_code`](crate::OneError::grpc_code). The code is lossy where oned folds
    /// codes into one status (LOCKED into AUTHORIZATION, ACTION and REPLICATION into
    /// INTERNAL) and no object id is sent: see [`GrpcCode::one_error_code`](crate::GrpcCode::one_error_code).
    /// Other statuses are [`Error::Grpc`].
    ///
    /// Needs the `grpc` feature: without it, [`build`](Self::build) refuses.
    ///
    /// ```no_run
    /// let one = opennebula::Client::builder()
    ///     .grpc("http://one:2634")
    ///     .session("oneadmin:onepass")
    ///     .build()?;
    /// # Ok::<(), opennebula::Error>(())
    /// ```
    pub fn grpc(mut self, endpoint: impl Into<String>) -> Self {
        self.grpc = Some(endpoint.into());
        self
    }

    /// The XML-RPC endpoint, e.g. `http://one:2633/RPC2`.
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// The session: `user:password`, or `user:token` for a login token.
    pub fn session(mut self, session: impl Into<Session>) -> Self {
        self.session = Some(session.into());
        self
    }

    /// Total time allowed for one call, from sending to the last byte of the response
    /// (default [`DEFAULT_TIMEOUT`]). Applies to this client only.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(Some(timeout));
        self
    }

    /// Removes the call timeout. A dead front-end can then hang a call forever: prefer a
    /// long [`timeout`](Self::timeout).
    pub fn no_timeout(mut self) -> Self {
        self.timeout = Some(None);
        self
    }

    /// Time allowed to establish a connection (default [`DEFAULT_CONNECT_TIMEOUT`]).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Accepts any server certificate, valid or not, for any host name.
    ///
    /// # Warning
    ///
    /// This turns TLS into plain encryption without authentication: anyone on the path can
    /// impersonate the front-end and read the session. Use it only for labs with self-signed
    /// certificates; prefer [`add_root_certificate_pem`](Self::add_root_certificate_pem).
    /// A client built with it logs a warning.
    pub fn danger_accept_invalid_certs(mut self, accept: bool) -> Self {
        self.accept_invalid_certs = accept;
        self
    }

    /// Trusts an extra root CA (PEM), for front-ends with certificates from a private CA.
    pub fn add_root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificates.push(pem.into());
        self
    }

    /// The `User-Agent` header (default `opennebula-rs/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// Uses a preconfigured `reqwest::Client` (proxies, client certificates ...). The TLS,
    /// connect-timeout and user-agent settings of this builder are then not applied; the call
    /// timeout, size limit and in-flight cap still are. Build it with
    /// `.redirect(reqwest::redirect::Policy::none())` as this builder does: reqwest follows
    /// redirects by default, and a 307/308 resends the call body, session included, to the
    /// redirect's target.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Maximum size of a response body (default [`DEFAULT_MAX_RESPONSE_SIZE`]), enforced while
    /// the body streams in, before it is buffered.
    pub fn max_response_size(mut self, bytes: u64) -> Self {
        self.max_response_size = Some(bytes);
        self
    }

    /// Maximum number of calls in flight at once from this client (and its clones); further
    /// calls wait their turn. oned serialises much of its work: a cap protects it.
    pub fn max_in_flight(mut self, calls: usize) -> Self {
        self.max_in_flight = Some(calls.max(1));
        self
    }

    /// Retries failed calls where it is safe (see [`RetryPolicy`]): transient failures of
    /// read-only methods, and any method whose request never left. Off by default.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// oned's event bus (`tcp://one:2101`, what `ONE_ZMQ` names): with feature `events`, the
    /// waits of [`api::helpers`](crate::api::helpers) subscribe there and wake on the state
    /// change instead of polling (they still poll when it cannot be reached).
    pub fn events_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.events_endpoint = Some(endpoint.into());
        self
    }

    /// Builds the client. Never panics: bad settings are [`Error::Config`].
    pub fn build(self) -> Result<Client> {
        let endpoint_text = self
            .grpc
            .as_deref()
            .or(self.endpoint.as_deref())
            .unwrap_or(DEFAULT_ENDPOINT);
        let endpoint = reqwest::Url::parse(endpoint_text)
            .map_err(|e| Error::Config(format!("invalid endpoint URL {endpoint_text:?}: {e}")))?;
        if !matches!(endpoint.scheme(), "http" | "https") {
            return Err(Error::Config(format!(
                "endpoint scheme must be http or https, not {:?}",
                endpoint.scheme()
            )));
        }
        let session = self
            .session
            .ok_or_else(|| Error::Config("no session (user:password) given".into()))?;
        let timeout = self.timeout.unwrap_or(Some(DEFAULT_TIMEOUT));

        let tls = TlsSettings {
            accept_invalid_certs: self.accept_invalid_certs,
            root_certificates: self.root_certificates,
        };
        if tls.accept_invalid_certs {
            tracing::warn!(
                target: "opennebula",
                endpoint = %endpoint,
                "TLS certificate verification is disabled for this client: \
                 the front-end's identity is not checked"
            );
        }
        if endpoint.scheme() == "http" && !is_loopback(&endpoint) {
            tracing::warn!(
                target: "opennebula",
                endpoint = %endpoint,
                "sending OpenNebula credentials over plain HTTP to a remote host: \
                 anyone on the path can read them; use https"
            );
        }

        let connect_timeout = self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        let user_agent = self
            .user_agent
            .unwrap_or_else(|| format!("opennebula-rs/{}", env!("CARGO_PKG_VERSION")));
        let transport = match self.grpc {
            #[cfg(feature = "grpc")]
            Some(grpc_endpoint) => {
                Transport::Grpc(Box::new(grpc::Grpc::new(grpc::GrpcSettings {
                    endpoint: grpc_endpoint,
                    timeout,
                    connect_timeout,
                    user_agent,
                    tls,
                })?))
            }
            #[cfg(not(feature = "grpc"))]
            Some(_) => {
                return Err(Error::Config(
                    "gRPC was asked for, but opennebula was built without its `grpc` feature"
                        .into(),
                ))
            }
            None => Transport::XmlRpc(XmlRpc::new(XmlRpcSettings {
                endpoint,
                timeout,
                connect_timeout,
                user_agent,
                tls,
                http_client: self.http_client,
            })?),
        };

        Ok(Client {
            inner: Arc::new(Inner {
                transport,
                session,
                timeout,
                max_response_size: self.max_response_size.unwrap_or(DEFAULT_MAX_RESPONSE_SIZE),
                in_flight: self.max_in_flight.map(|n| Arc::new(Semaphore::new(n))),
                retry: self.retry,
                events_endpoint: self.events_endpoint,
            }),
        })
    }
}

/// Whether the current code runs on a multi-thread tokio runtime but outside any of its tasks
/// (in `block_on`, e.g. `#[tokio::main]`'s `main`), where an HTTP exchange is better moved
/// onto a worker thread (see [`Client::post`]).
fn runs_outside_worker() -> bool {
    tokio::task::try_id().is_none()
        && tokio::runtime::Handle::try_current().is_ok_and(|handle| {
            handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread
        })
}

/// A spawned task that is aborted when the future waiting for it is dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_password() {
        let client = Client::new("http://localhost:2633/RPC2", "oneadmin:s3cr3t-pw").unwrap();
        let shown = format!("{client:?} {:?}", Client::builder().session("u:s3cr3t-pw"));
        assert!(!shown.contains("s3cr3t-pw"), "{shown}");
        assert!(shown.contains("oneadmin"));
    }

    #[test]
    fn bad_configuration_is_an_error_not_a_panic() {
        assert!(matches!(
            Client::new("not a url", "a:b"),
            Err(Error::Config(_))
        ));
        assert!(matches!(
            Client::new("ftp://x/RPC2", "a:b"),
            Err(Error::Config(_))
        ));
        assert!(matches!(
            Client::builder().endpoint("http://x/RPC2").build(),
            Err(Error::Config(_))
        ));
        assert!(matches!(
            Client::builder()
                .session("a:b")
                .add_root_certificate_pem(b"garbage".to_vec())
                .build(),
            Err(Error::Config(_))
        ));
    }

    /// Reads one HTTP request (headers and a `methodCall` body) from `stream`.
    async fn read_request(stream: &mut tokio::net::TcpStream) {
        use tokio::io::AsyncReadExt;
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while !seen.windows(13).any(|w| w == b"</methodCall>") {
            let n = stream.read(&mut buf).await.expect("read the request");
            assert!(n > 0, "the client closed before sending its whole request");
            seen.extend_from_slice(&buf[..n]);
        }
    }

    #[test]
    fn the_exchange_moves_to_a_worker_only_outside_tasks_of_a_multi_thread_runtime() {
        assert!(!runs_outside_worker(), "no runtime at all");
        let current = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        assert!(!current.block_on(async { runs_outside_worker() }));
        let multi = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        assert!(multi.block_on(async { runs_outside_worker() }));
        let in_task = multi.block_on(async { tokio::spawn(async { runs_outside_worker() }).await });
        assert!(!in_task.unwrap());
    }

    /// A call made from `block_on` on a multi-thread runtime runs on a worker (see
    /// [`Client::post`]): it is answered as usual, and dropping the call (here, the caller's
    /// own timeout) aborts the exchange, which closes its connection.
    #[test]
    fn a_call_moved_to_a_worker_is_answered_and_cancelled_with_its_caller() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}/RPC2", listener.local_addr().unwrap());
            let (closed_tx, closed_rx) = tokio::sync::oneshot::channel();
            tokio::spawn(async move {
                let (mut first, _) = listener.accept().await.unwrap();
                read_request(&mut first).await;
                let body = "<?xml version=\"1.0\"?><methodResponse><params><param><value><array><data>\
                    <value><boolean>1</boolean></value><value><string>answered</string></value>\
                    <value><i4>0</i4></value></data></array></value></param></params></methodResponse>";
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\ncontent-length: {}\r\n\
                     connection: close\r\n\r\n{body}",
                    body.len()
                );
                first.write_all(response.as_bytes()).await.unwrap();
                drop(first);
                // The second call is never answered; its connection must be closed by the
                // client once the caller gives up.
                let (mut second, _) = listener.accept().await.unwrap();
                read_request(&mut second).await;
                let mut buf = [0u8; 64];
                let closed = matches!(second.read(&mut buf).await, Ok(0) | Err(_));
                let _ = closed_tx.send(closed);
            });
            let client = Client::builder()
                .endpoint(&url)
                .session("oneadmin:pass")
                .timeout(Duration::from_secs(600))
                .build()
                .unwrap();
            assert!(runs_outside_worker());
            let answer: String = client.call_as("system.version", ()).await.unwrap();
            assert_eq!(answer, "answered");

            let given_up =
                tokio::time::timeout(Duration::from_millis(300), client.call("vm.info", (1,)))
                    .await;
            assert!(given_up.is_err(), "the unanswered call cannot have completed");
            // Without the abort the exchange would hold the connection for its 600 s timeout;
            // this bound only keeps a regression from hanging the test suite.
            let closed = tokio::time::timeout(Duration::from_secs(60), closed_rx)
                .await
                .expect("the abandoned exchange still holds its connection")
                .unwrap();
            assert!(closed);
        });
    }

    #[test]
    fn client_is_send_sync_clone() {
        fn assert_traits<T: Send + Sync + Clone + 'static>() {}
        assert_traits::<Client>();
    }
}
