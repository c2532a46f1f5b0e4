//! The subscriber: a ZeroMQ SUB socket (the pure-Rust `zeromq` crate), read continuously by
//! a task of its own into a bounded buffer, and a `Stream` of typed events on top.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::sync::mpsc;
use zeromq::{Socket, SocketEvent, SocketRecv};

use super::filter::{Change, Filter, FilterSet, Verdict};
use super::message::{self, Key, StateMessage};
use super::{decode_parsed, endpoint_from_env, state_event, Event, EventError};

/// Default number of messages buffered between the socket and the consumer.
pub const DEFAULT_BUFFER: usize = 1024;

/// Default time allowed to connect to the publisher.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Configures and connects a [`Subscriber`].
#[derive(Debug, Clone)]
pub struct SubscriberBuilder {
    endpoint: Option<String>,
    filters: Vec<Filter>,
    buffer: usize,
    connect_timeout: Duration,
}

impl Default for SubscriberBuilder {
    fn default() -> Self {
        SubscriberBuilder {
            endpoint: None,
            filters: Vec::new(),
            buffer: DEFAULT_BUFFER,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        }
    }
}

impl SubscriberBuilder {
    /// The publisher's endpoint, `tcp://host:port` (default: [`from_env`](Self::from_env)).
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// The endpoint from `ONE_ZMQ`, default `tcp://localhost:2101`, as OpenNebula's own tools
    /// read it.
    pub fn from_env(mut self) -> Self {
        self.endpoint = Some(endpoint_from_env());
        self
    }

    /// Adds a filter. Without any, the subscriber receives [`Filter::everything`].
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filters.push(filter);
        self
    }

    /// Adds filters.
    pub fn filters(mut self, filters: impl IntoIterator<Item = Filter>) -> Self {
        self.filters.extend(filters);
        self
    }

    /// How many messages may wait for the consumer (default [`DEFAULT_BUFFER`], at least 1).
    /// Past that, messages are dropped and the stream yields [`EventError::Lagged`].
    pub fn buffer(mut self, messages: usize) -> Self {
        self.buffer = messages.max(1);
        self
    }

    /// Time allowed for the first connection (default [`DEFAULT_CONNECT_TIMEOUT`]). Later
    /// reconnections are retried without limit.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Connects and subscribes. Returns once connected, with the subscriptions sent: events
    /// published from then on are received (as soon as the publisher has read the
    /// subscriptions, which ZeroMQ does not acknowledge).
    pub async fn connect(self) -> Result<Subscriber, EventError> {
        let endpoint = self.endpoint.unwrap_or_else(endpoint_from_env);
        check_endpoint(&endpoint)?;
        let mut filters = self.filters;
        if filters.is_empty() {
            filters.push(Filter::everything());
        }
        let filters = FilterSet::new(filters);

        let mut options = zeromq::SocketOptions::default();
        options.connect_timeout(self.connect_timeout);
        let mut socket = zeromq::SubSocket::with_options(options);
        let monitor = socket.monitor();
        let connect_error = |message: String| EventError::Connect {
            endpoint: endpoint.clone(),
            message,
        };
        // Subscriptions made before connecting are sent on every connection, first thing.
        for prefix in filters.prefixes() {
            socket
                .subscribe(&prefix)
                .await
                .map_err(|e| connect_error(e.to_string()))?;
        }
        match tokio::time::timeout(self.connect_timeout, socket.connect(&endpoint)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(connect_error(e.to_string())),
            Err(_) => {
                return Err(connect_error(format!(
                    "no connection within {:?}",
                    self.connect_timeout
                )))
            }
        }
        tracing::debug!(target: "opennebula::events", %endpoint, prefixes = ?filters.prefixes(), "subscribed");

        let (sender, receiver) = mpsc::channel(self.buffer);
        let counters = Arc::new(Counters::default());
        let filters = Arc::new(filters);
        let stop_reason = Arc::new(Mutex::new(None));
        let reader = Reader {
            endpoint: endpoint.clone(),
            filters: filters.clone(),
            counters: counters.clone(),
            sender,
            pending: VecDeque::new(),
            down_since: None,
        };
        let task = tokio::spawn(reader.run(socket, monitor, stop_reason.clone()));
        Ok(Subscriber {
            endpoint,
            receiver,
            filters,
            counters,
            stop_reason,
            task,
            stopped: false,
        })
    }
}

fn check_endpoint(endpoint: &str) -> Result<(), EventError> {
    let invalid = |message: &str| EventError::Endpoint {
        endpoint: endpoint.to_string(),
        message: message.to_string(),
    };
    let Some(address) = endpoint.strip_prefix("tcp://") else {
        return Err(invalid("only tcp:// endpoints are supported"));
    };
    let Some((host, port)) = address.rsplit_once(':') else {
        return Err(invalid("no port"));
    };
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(invalid("expected tcp://host:port"));
    }
    Ok(())
}

/// Counters of one subscriber (see [`SubscriberStats`]).
#[derive(Debug, Default)]
struct Counters {
    received: AtomicU64,
    delivered: AtomicU64,
    filtered: AtomicU64,
    lagged: AtomicU64,
    malformed: AtomicU64,
    disconnects: AtomicU64,
    reconnects: AtomicU64,
}

impl Counters {
    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// What a subscriber has seen so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SubscriberStats {
    /// Messages read from the socket.
    pub received: u64,
    /// Events yielded.
    pub delivered: u64,
    /// Messages no filter wants (a prefix covered more) and duplicate copies of a state
    /// change delivered under another key.
    pub filtered: u64,
    /// Messages dropped because the consumer fell behind (reported as
    /// [`EventError::Lagged`]).
    pub lagged: u64,
    /// Malformed messages (reported as [`EventError::Malformed`], unless dropped while the
    /// consumer was behind).
    pub malformed: u64,
    /// Times the connection was lost.
    pub disconnects: u64,
    /// Times it was made again.
    pub reconnects: u64,
}

/// What the reading task hands to the consumer.
enum Incoming {
    Message {
        key: Key,
        key_text: String,
        payload: Bytes,
        service: bool,
    },
    Malformed(EventError),
    Lagged(u64),
    Disconnected,
    Reconnected(Duration),
}

/// The task that reads the socket.
struct Reader {
    endpoint: String,
    filters: Arc<FilterSet>,
    counters: Arc<Counters>,
    sender: mpsc::Sender<Incoming>,
    /// Items waiting for room in the buffer, in order (a gap, connection changes).
    pending: VecDeque<Incoming>,
    down_since: Option<tokio::time::Instant>,
}

/// Most connection changes kept while the consumer is behind (a flapping publisher cannot
/// grow this without bound).
const MAX_PENDING: usize = 64;

impl Reader {
    async fn run(
        mut self,
        mut socket: zeromq::SubSocket,
        mut monitor: impl Stream<Item = SocketEvent> + Unpin + Send,
        stop_reason: Arc<Mutex<Option<String>>>,
    ) {
        let mut monitor_open = true;
        // The select's futures borrow this clone, the handlers `self`.
        let sender = self.sender.clone();
        let reason = loop {
            tokio::select! {
                biased;
                _ = sender.closed() => break "the subscriber was dropped".to_string(),
                permit = sender.reserve(), if !self.pending.is_empty() => match permit {
                    Ok(permit) => {
                        if let Some(item) = self.pending.pop_front() {
                            permit.send(item);
                        }
                    }
                    Err(_) => break "the subscriber was dropped".to_string(),
                },
                event = monitor.next(), if monitor_open => match event {
                    Some(event) => self.connection_event(event),
                    None => monitor_open = false,
                },
                message = socket.recv() => match message {
                    Ok(message) => self.message(message),
                    Err(e) => {
                        // A broken peer connection: the socket reconnects by itself and the
                        // monitor reports it. Pause so that a persistent error cannot spin.
                        tracing::debug!(target: "opennebula::events", endpoint = %self.endpoint, error = %e, "receive failed");
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                },
            }
        };
        if let Ok(mut slot) = stop_reason.lock() {
            *slot = Some(reason);
        }
    }

    fn connection_event(&mut self, event: SocketEvent) {
        match event {
            SocketEvent::Disconnected(_) if self.down_since.is_none() => {
                self.down_since = Some(tokio::time::Instant::now());
                Counters::bump(&self.counters.disconnects);
                tracing::warn!(target: "opennebula::events", endpoint = %self.endpoint, "lost the connection to the event bus; reconnecting");
                self.control(Incoming::Disconnected);
            }
            SocketEvent::Connected(..) => {
                if let Some(since) = self.down_since.take() {
                    Counters::bump(&self.counters.reconnects);
                    tracing::info!(target: "opennebula::events", endpoint = %self.endpoint, "reconnected to the event bus");
                    self.control(Incoming::Reconnected(since.elapsed()));
                }
            }
            _ => {}
        }
    }

    fn message(&mut self, message: zeromq::ZmqMessage) {
        Counters::bump(&self.counters.received);
        let frames = message.into_vec();
        let key = frames.first().cloned().unwrap_or_default();
        if frames.len() != 2 {
            let problem = format!("{} frame(s), not 2 (key and payload)", frames.len());
            return self.malformed(EventError::malformed(&key, problem));
        }
        let Ok(key_text) = std::str::from_utf8(&key) else {
            return self.malformed(EventError::malformed(&key, "the key is not UTF-8"));
        };
        let parsed = match Key::parse(key_text) {
            Ok(parsed) => parsed,
            Err(e) => return self.malformed(EventError::malformed(&key, e)),
        };
        let service = match self.filters.verdict(&parsed) {
            Verdict::Deliver => false,
            Verdict::CheckService => true,
            Verdict::NotWanted | Verdict::Duplicate => {
                Counters::bump(&self.counters.filtered);
                return;
            }
        };
        let item = Incoming::Message {
            key: parsed,
            key_text: key_text.to_string(),
            payload: frames.into_iter().nth(1).unwrap_or_default(),
            service,
        };
        self.deliver(item);
    }

    fn malformed(&mut self, error: EventError) {
        Counters::bump(&self.counters.malformed);
        self.deliver(Incoming::Malformed(error));
    }

    /// Hands `item` over, or drops it and counts the gap when the buffer is full.
    fn deliver(&mut self, item: Incoming) {
        if self.pending.is_empty() {
            match self.sender.try_send(item) {
                Ok(()) => return,
                Err(mpsc::error::TrySendError::Closed(_)) => return,
                Err(mpsc::error::TrySendError::Full(_)) => {}
            }
        }
        Counters::bump(&self.counters.lagged);
        match self.pending.back_mut() {
            Some(Incoming::Lagged(missed)) => *missed += 1,
            _ => self.pending.push_back(Incoming::Lagged(1)),
        }
    }

    /// Hands a connection change over, keeping it for later when the buffer is full.
    fn control(&mut self, item: Incoming) {
        if self.pending.is_empty() {
            match self.sender.try_send(item) {
                Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => return,
                Err(mpsc::error::TrySendError::Full(item)) => {
                    self.pending.push_back(item);
                    return;
                }
            }
        }
        if self.pending.len() < MAX_PENDING {
            self.pending.push_back(item);
        }
    }
}

/// A connection to oned's event bus: a `Stream` of typed events (see the
/// [module docs](super)).
///
/// Items are `Ok(`[`Event`]`)` or an [`EventError`] saying what was dropped or missed; the
/// stream goes on after them, and ends only after [`EventError::Stopped`]. Dropping the
/// subscriber closes the connection.
///
/// ```no_run
/// use futures_util::StreamExt;
/// use opennebula::events::{Event, Filter, Subscriber};
/// # async fn run() -> Result<(), opennebula::events::EventError> {
/// let mut vm42 = Subscriber::connect("tcp://one:2101", [Filter::vm(42)]).await?;
/// if let Some(Ok(Event::State(change))) = vm42.next().await {
///     println!("{change}, on {:?}", change.remote_host);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Subscriber {
    endpoint: String,
    receiver: mpsc::Receiver<Incoming>,
    filters: Arc<FilterSet>,
    counters: Arc<Counters>,
    stop_reason: Arc<Mutex<Option<String>>>,
    task: tokio::task::JoinHandle<()>,
    stopped: bool,
}

impl std::fmt::Debug for Incoming {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Incoming::Message { key_text, .. } => write!(f, "Message({key_text:?})"),
            Incoming::Malformed(e) => write!(f, "Malformed({e})"),
            Incoming::Lagged(n) => write!(f, "Lagged({n})"),
            Incoming::Disconnected => f.write_str("Disconnected"),
            Incoming::Reconnected(after) => write!(f, "Reconnected({after:?})"),
        }
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Subscriber {
    /// A builder (endpoint, filters, buffer size, connect timeout).
    pub fn builder() -> SubscriberBuilder {
        SubscriberBuilder::default()
    }

    /// Connects to `endpoint` (`tcp://host:2101`) with `filters` and the default settings.
    pub async fn connect(
        endpoint: impl Into<String>,
        filters: impl IntoIterator<Item = Filter>,
    ) -> Result<Subscriber, EventError> {
        Subscriber::builder()
            .endpoint(endpoint)
            .filters(filters)
            .connect()
            .await
    }

    /// Connects to `ONE_ZMQ` (default `tcp://localhost:2101`) with `filters`.
    pub async fn from_env(
        filters: impl IntoIterator<Item = Filter>,
    ) -> Result<Subscriber, EventError> {
        Subscriber::builder()
            .from_env()
            .filters(filters)
            .connect()
            .await
    }

    /// The publisher's endpoint.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The prefixes subscribed to at the publisher.
    pub fn prefixes(&self) -> Vec<String> {
        self.filters.prefixes()
    }

    /// The filters, without repeats.
    pub fn filters(&self) -> &[Filter] {
        self.filters.filters()
    }

    /// What the subscriber has seen so far.
    pub fn stats(&self) -> SubscriberStats {
        let c = &self.counters;
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        SubscriberStats {
            received: load(&c.received),
            delivered: load(&c.delivered),
            filtered: load(&c.filtered),
            lagged: load(&c.lagged),
            malformed: load(&c.malformed),
            disconnects: load(&c.disconnects),
            reconnects: load(&c.reconnects),
        }
    }

    /// The item for one message from the reading task, `None` when it is a duplicate.
    fn item(&mut self, incoming: Incoming) -> Option<Result<Event, EventError>> {
        let endpoint = || self.endpoint.clone();
        let result = match incoming {
            Incoming::Message {
                key,
                key_text,
                payload,
                service: false,
            } => decode_parsed(&key, &key_text, &payload),
            Incoming::Message {
                key_text, payload, ..
            } => match self.service_event(&key_text, &payload)? {
                Ok(event) => Ok(event),
                Err(e) => Err(e),
            },
            Incoming::Malformed(error) => return Some(Err(error)),
            Incoming::Lagged(missed) => return Some(Err(EventError::Lagged { missed })),
            Incoming::Disconnected => {
                return Some(Err(EventError::Disconnected {
                    endpoint: endpoint(),
                }))
            }
            Incoming::Reconnected(after) => {
                return Some(Err(EventError::Reconnected {
                    endpoint: endpoint(),
                    after,
                }))
            }
        };
        match &result {
            Ok(_) => Counters::bump(&self.counters.delivered),
            Err(_) => Counters::bump(&self.counters.malformed),
        }
        Some(result)
    }

    /// A message under a service key: delivered unless a per-state or per-object filter
    /// covers the same change (that copy is delivered instead).
    fn service_event(&self, key: &str, payload: &[u8]) -> Option<Result<Event, EventError>> {
        let malformed = |e: &dyn std::fmt::Display| EventError::malformed(key.as_bytes(), e);
        let xml = match message::decode_payload(payload) {
            Ok(xml) => xml,
            Err(e) => return Some(Err(malformed(&e))),
        };
        let state = match StateMessage::parse(&xml) {
            Ok(state) => state,
            Err(e) => return Some(Err(malformed(&e))),
        };
        let change = Change {
            object: state.object,
            id: state.id,
            state: &state.state,
            lcm_state: state.lcm_state.as_deref().unwrap_or_default(),
        };
        if !self.filters.service_change_wanted(&change) {
            Counters::bump(&self.counters.filtered);
            return None;
        }
        Some(state_event(state, key).map_err(|e| malformed(&e)))
    }
}

impl Stream for Subscriber {
    type Item = Result<Event, EventError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            match self.receiver.poll_recv(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(incoming)) => {
                    if let Some(item) = self.item(incoming) {
                        return Poll::Ready(Some(item));
                    }
                }
                Poll::Ready(None) => {
                    if self.stopped {
                        return Poll::Ready(None);
                    }
                    self.stopped = true;
                    let reason = self
                        .stop_reason
                        .lock()
                        .ok()
                        .and_then(|slot| slot.clone())
                        .unwrap_or_else(|| "its connection task ended unexpectedly".into());
                    return Poll::Ready(Some(Err(EventError::Stopped(reason))));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_checked_before_connecting() {
        assert!(check_endpoint("tcp://localhost:2101").is_ok());
        assert!(check_endpoint("tcp://[::1]:2101").is_ok());
        for bad in [
            "localhost:2101",
            "ipc:///tmp/x",
            "tcp://localhost",
            "tcp://:1",
            "tcp://h:99999",
        ] {
            assert!(
                matches!(check_endpoint(bad), Err(EventError::Endpoint { .. })),
                "{bad}"
            );
        }
    }

    #[tokio::test]
    async fn a_dead_endpoint_is_a_connect_error_within_the_timeout() {
        // A port nothing listens on: bind one, note it, close it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let started = std::time::Instant::now();
        let result = Subscriber::builder()
            .endpoint(format!("tcp://127.0.0.1:{port}"))
            .connect_timeout(Duration::from_millis(300))
            .connect()
            .await;
        assert!(
            matches!(result, Err(EventError::Connect { .. })),
            "{result:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
