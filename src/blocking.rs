//! A blocking client with the same surface as the async [`Client`](crate::Client), for
//! scripts and programs without an async runtime.
//!
//! As in `reqwest::blocking`, it wraps the async client and runs it on a runtime that lives on
//! its own background thread, shared by the client and its clones; each call blocks the
//! calling thread until the answer arrives. Calls from several threads run concurrently.
//!
//! # Caveat
//!
//! Do not call it from inside an async runtime: it would block one of the runtime's worker
//! threads for the duration of the call. Use the async client there.
//!
//! ```no_run
//! let one = opennebula::blocking::Client::new("http://one:2633/RPC2", "oneadmin:onepass")?;
//! let version: String = one.call_as("system.version", ())?;
//! println!("OpenNebula {version}");
//! # Ok::<(), opennebula::Error>(())
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{mpsc, Arc};

use crate::error::{Error, Result};
use crate::rpc::{Request, Returns};
use crate::wire::{IntoParams, MethodResponse, Value, ValueTypeError};
use crate::xml::FromXml;
use crate::{ClientBuilder, Session};

type Job = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The blocking twin of [`crate::Client`]. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    inner: crate::Client,
    runtime: Arc<RuntimeThread>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("blocking::Client")
            .field(&self.inner)
            .finish()
    }
}

struct RuntimeThread {
    jobs: tokio::sync::mpsc::UnboundedSender<Job>,
}

impl RuntimeThread {
    fn start() -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                Error::Config(format!("cannot start the blocking client's runtime: {e}"))
            })?;
        let (jobs, mut receiver) = tokio::sync::mpsc::unbounded_channel::<Job>();
        std::thread::Builder::new()
            .name("opennebula-blocking".into())
            .spawn(move || {
                runtime.block_on(async move {
                    while let Some(job) = receiver.recv().await {
                        tokio::spawn(job);
                    }
                });
            })
            .map_err(|e| {
                Error::Config(format!("cannot start the blocking client's thread: {e}"))
            })?;
        Ok(RuntimeThread { jobs })
    }

    /// Runs `job` on the runtime thread without waiting for it.
    fn spawn(&self, job: Job) -> Result<()> {
        self.jobs
            .send(job)
            .map_err(|_| Error::Config("the blocking client's runtime has stopped".into()))
    }

    fn run<T: Send + 'static>(
        &self,
        future: impl Future<Output = Result<T>> + Send + 'static,
    ) -> Result<T> {
        let (reply, answer) = mpsc::sync_channel(1);
        let job: Job = Box::pin(async move {
            let _ = reply.send(future.await);
        });
        self.jobs
            .send(job)
            .map_err(|_| Error::Config("the blocking client's runtime has stopped".into()))?;
        answer
            .recv()
            .map_err(|_| Error::Config("the blocking client's runtime has stopped".into()))?
    }
}

impl Client {
    /// A client for `endpoint` with `session`; see [`crate::Client::new`].
    pub fn new(endpoint: impl AsRef<str>, session: impl Into<Session>) -> Result<Self> {
        Self::from_async(crate::Client::new(endpoint, session)?)
    }

    /// A client configured from the environment; see [`crate::Client::from_env`].
    pub fn from_env() -> Result<Self> {
        Self::from_async(crate::Client::from_env()?)
    }

    /// Builds a blocking client from a [`ClientBuilder`].
    pub fn from_builder(builder: ClientBuilder) -> Result<Self> {
        Self::from_async(builder.build()?)
    }

    /// Wraps an async client.
    pub fn from_async(inner: crate::Client) -> Result<Self> {
        Ok(Client {
            inner,
            runtime: Arc::new(RuntimeThread::start()?),
        })
    }

    /// The async client inside.
    pub fn as_async(&self) -> &crate::Client {
        &self.inner
    }

    /// The XML-RPC endpoint URL.
    pub fn endpoint(&self) -> &str {
        self.inner.endpoint()
    }

    /// Runs any future on the client's runtime and blocks until it completes. The typed
    /// namespaces use it; it is public so that helpers written against the async client can be
    /// used blocking too.
    pub fn block_on<T, F>(&self, future: F) -> Result<T>
    where
        T: Send + 'static,
        F: Future<Output = Result<T>> + Send + 'static,
    {
        self.runtime.run(future)
    }

    /// See [`crate::Client::send`]. Only the exchange runs on the runtime thread; decoding
    /// runs on the caller's.
    pub fn send<R: Returns>(&self, request: Request<R>) -> Result<R> {
        let client = self.inner.clone();
        let reply = self.block_on(async move { client.exchange(request).await })?;
        reply.decode::<R>()
    }

    /// See [`crate::Client::call`].
    pub fn call(&self, method: &str, params: impl IntoParams) -> Result<Value> {
        self.send(Request::by_name(method, params.into_params()?))
    }

    /// See [`crate::Client::call_as`].
    pub fn call_as<T>(&self, method: &str, params: impl IntoParams) -> Result<T>
    where
        T: TryFrom<Value, Error = ValueTypeError> + Send + 'static,
    {
        crate::wire::payload_into(self.call(method, params)?)
    }

    /// See [`crate::Client::call_document`].
    pub fn call_document<T: FromXml + Send + 'static>(
        &self,
        method: &str,
        params: impl IntoParams,
    ) -> Result<T> {
        self.send(Request::<T>::by_name(method, params.into_params()?))
    }

    /// See [`crate::Client::stream_pool`]: the pool's items as an iterator, decoded while
    /// the response arrives.
    pub fn stream_pool<T>(
        &self,
        method: &str,
        params: impl IntoParams,
    ) -> crate::stream::PoolIter<T>
    where
        T: FromXml + Send + 'static,
    {
        let stream = self.inner.stream_pool::<T>(method, params);
        crate::stream::PoolIter::start(stream, |job| self.runtime.spawn(job))
    }

    /// See [`crate::Client::call_raw`].
    pub fn call_raw(&self, method: &str, params: &[Value]) -> Result<MethodResponse> {
        let client = self.inner.clone();
        let method = method.to_owned();
        let params = params.to_vec();
        self.block_on(async move { client.call_raw(&method, &params).await })
    }
}
