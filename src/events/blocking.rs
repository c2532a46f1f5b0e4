//! The event subscriber without async: an `Iterator` (features `events` and `blocking`).
//!
//! It runs the async [`Subscriber`](super::Subscriber) on a runtime of its own, with one
//! worker thread that keeps reading the socket while the caller is busy.
//!
//! # Caveat
//!
//! As with [`crate::blocking`], do not use it from inside an async runtime; use the async
//! subscriber there. Doing so is an error ([`EventError::Connect`]), not a panic.

use std::time::Duration;

use futures_util::StreamExt;

use super::{Event, EventError, Filter, SubscriberBuilder, SubscriberStats};

/// A blocking subscriber: `for event in subscriber { ... }`.
///
/// ```no_run
/// use opennebula::events::{blocking::Subscriber, Event, Filter};
/// let events = Subscriber::connect("tcp://localhost:2101", [Filter::vms()])?;
/// for item in events {
///     match item {
///         Ok(Event::State(change)) => println!("{change}"),
///         Ok(_) => {}
///         Err(e) => eprintln!("{e}"),
///     }
/// }
/// # Ok::<(), opennebula::events::EventError>(())
/// ```
#[derive(Debug)]
pub struct Subscriber {
    inner: Option<super::Subscriber>,
    runtime: Option<tokio::runtime::Runtime>,
}

/// The item for a call made from inside an async runtime, where blocking on one would panic.
fn inside_runtime() -> Option<Result<Event, EventError>> {
    tokio::runtime::Handle::try_current().is_ok().then(|| {
        Err(EventError::Stopped(
            "the blocking subscriber was used inside an async runtime; \
             use opennebula::events::Subscriber there"
                .into(),
        ))
    })
}

impl Subscriber {
    /// Connects with a builder's settings (see [`super::SubscriberBuilder`]).
    pub fn from_builder(builder: SubscriberBuilder) -> Result<Self, EventError> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(EventError::Connect {
                endpoint: String::new(),
                message: "the blocking subscriber cannot run inside an async runtime; \
                          use opennebula::events::Subscriber there"
                    .into(),
            });
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("opennebula-events")
            .enable_all()
            .build()
            .map_err(|e| EventError::Connect {
                endpoint: String::new(),
                message: format!("cannot start the subscriber's runtime: {e}"),
            })?;
        let inner = runtime.block_on(builder.connect())?;
        Ok(Subscriber {
            inner: Some(inner),
            runtime: Some(runtime),
        })
    }

    /// Connects to `endpoint` with `filters`.
    pub fn connect(
        endpoint: impl Into<String>,
        filters: impl IntoIterator<Item = Filter>,
    ) -> Result<Self, EventError> {
        Self::from_builder(
            super::Subscriber::builder()
                .endpoint(endpoint)
                .filters(filters),
        )
    }

    /// Connects to `ONE_ZMQ` (default `tcp://localhost:2101`) with `filters`.
    pub fn from_env(filters: impl IntoIterator<Item = Filter>) -> Result<Self, EventError> {
        Self::from_builder(super::Subscriber::builder().from_env().filters(filters))
    }

    /// The next item, waiting at most `timeout`; `None` when nothing came in time (or the
    /// stream has ended).
    pub fn next_timeout(&mut self, timeout: Duration) -> Option<Result<Event, EventError>> {
        if let Some(misuse) = inside_runtime() {
            return Some(misuse);
        }
        let (inner, runtime) = (self.inner.as_mut()?, self.runtime.as_ref()?);
        runtime
            .block_on(async { tokio::time::timeout(timeout, inner.next()).await })
            .ok()
            .flatten()
    }

    /// What the subscriber has seen so far.
    pub fn stats(&self) -> SubscriberStats {
        self.inner.as_ref().map(|s| s.stats()).unwrap_or_default()
    }

    /// The publisher's endpoint.
    pub fn endpoint(&self) -> &str {
        self.inner.as_ref().map_or("", |s| s.endpoint())
    }
}

impl Iterator for Subscriber {
    type Item = Result<Event, EventError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(misuse) = inside_runtime() {
            return Some(misuse);
        }
        let (inner, runtime) = (self.inner.as_mut()?, self.runtime.as_ref()?);
        runtime.block_on(inner.next())
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        // Drop the async subscriber (it aborts its task) inside its runtime's context, then
        // the runtime without waiting (dropping it in an async context would panic).
        if let Some(runtime) = self.runtime.take() {
            let guard = runtime.enter();
            self.inner.take();
            drop(guard);
            runtime.shutdown_background();
        }
    }
}
