//! oned's event bus as a typed stream (feature `events`).
//!
//! oned publishes every state change of VMs, hosts, images and virtual networks, and every
//! API call but the info calls, through its hook driver `one_hm` on a ZeroMQ PUB socket
//! (`tcp://127.0.0.1:2101` by default; clients use `ONE_ZMQ`, default
//! `tcp://localhost:2101`). Its own hook manager, OneFlow, FireEdge and the Ruby binding's
//! `wait` listen there. A [`Subscriber`] connects, subscribes with typed [`Filter`]s, and
//! yields typed [`Event`]s: state changes with the object's document decoded into the models
//! ([`Vm`](crate::models::Vm), [`Host`](crate::models::Host), [`Image`](crate::models::Image),
//! [`VirtualNetwork`](crate::models::VirtualNetwork)), API calls with their parameters, and
//! hook retries.
//!
//! ```no_run
//! use futures_util::StreamExt;
//! use opennebula::events::{Event, Filter, Subscriber};
//!
//! # async fn run() -> Result<(), opennebula::events::EventError> {
//! let mut events = Subscriber::builder()
//!     .from_env() // ONE_ZMQ, default tcp://localhost:2101
//!     .filter(Filter::vms())
//!     .filter(Filter::api_results(false))
//!     .connect()
//!     .await?;
//! while let Some(item) = events.next().await {
//!     match item {
//!         Ok(Event::State(change)) => println!("{change}"), // VM 3 ACTIVE/RUNNING
//!         Ok(Event::Api(call)) => println!("{} failed: {:?}", call.method, call.error_message()),
//!         Ok(other) => println!("{other:?}"),
//!         // Nothing is dropped silently: a slow consumer, a lost connection or a malformed
//!         // message is an item of its own, and the stream goes on.
//!         Err(gap) if gap.may_have_missed_events() => eprintln!("{gap}: re-read what matters"),
//!         Err(other) => eprintln!("{other}"),
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! The same exists without async in `blocking::Subscriber` (features `events` and `blocking`),
//! an `Iterator`.
//!
//! # Guarantees
//!
//! - **Exact filters.** Every arriving message is checked against the filters on its parsed
//!   key, not only by ZeroMQ's prefix match: waiting on VM 42 is never ended by VM 420. Each
//!   state change is delivered once, although oned publishes it under two or three keys.
//! - **No silent loss.** Messages are read from the socket continuously into a buffer
//!   ([`SubscriberBuilder::buffer`], 1024 messages by default). When the consumer falls behind
//!   and the buffer is full, further messages are dropped and counted, and the stream yields
//!   [`EventError::Lagged`] with the count where the gap is. When the publisher goes away
//!   (oned restarts), the stream yields [`EventError::Disconnected`]; the subscriber
//!   reconnects with backoff and resubscribes, and yields [`EventError::Reconnected`]: what
//!   was published in between is lost (ZeroMQ PUB/SUB keeps nothing for absent subscribers).
//! - **Malformed messages** (a key `one_hm` never sends, a payload that is not base64, a
//!   document that does not parse) are [`EventError::Malformed`] items; the stream goes on.
//!   Nothing panics, and [`Subscriber::stats`] counts everything.
//!
//! # Security
//!
//! The bus has no authentication and no encryption: anyone who can connect reads every
//! event (object documents included), and anyone who can bind the address can feed
//! subscribers forged events. oned binds it to 127.0.0.1; expose it only on a trusted network.
//!
//! # The codec
//!
//! [`message`] reads and writes keys, frames and `HOOK_MESSAGE` documents without any IO; the
//! subscriber uses it, and so can a publisher.
//!
//! # Limits
//!
//! ZeroMQ's PUB/SUB has no heartbeat here (the `zeromq` crate implements none), so a peer
//! that vanishes without closing its TCP connection (a network partition) is not noticed
//! until TCP gives up; the waits of [`crate::api::helpers`] poll at their longest interval
//! as a safety net. The `zeromq` crate bounds no frame size: the publisher is trusted.

pub mod filter;
pub mod message;
mod subscriber;
pub(crate) mod wait;

#[cfg(feature = "blocking")]
pub mod blocking;

use std::fmt;
use std::time::Duration;

pub use filter::Filter;
pub use message::{ApiMessage, Key, ObjectKind, RetryMessage};
pub use subscriber::{
    Subscriber, SubscriberBuilder, SubscriberStats, DEFAULT_BUFFER, DEFAULT_CONNECT_TIMEOUT,
};

use crate::api::documents;
use crate::api::{HostState, ImageState, LcmState, VirtualNetworkState, VmState};
use crate::xml::FromXml;

/// oned's default event endpoint for clients, used when `ONE_ZMQ` is not set.
pub const DEFAULT_ENDPOINT: &str = "tcp://localhost:2101";

/// The endpoint named by `ONE_ZMQ`, or [`DEFAULT_ENDPOINT`].
pub fn endpoint_from_env() -> String {
    std::env::var("ONE_ZMQ")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string())
}

/// One event from the bus.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// An object changed state.
    State(StateEvent),
    /// An API call was made (every call but the info calls), successful or not.
    Api(ApiMessage),
    /// A hook execution is retried.
    Retry(RetryMessage),
}

/// A state change, with the object's whole document as oned sent it.
#[derive(Debug, Clone)]
pub struct StateEvent {
    /// The object kind.
    pub object: ObjectKind,
    /// The object's ID.
    pub id: i32,
    /// The new state (from the document: an image in USED_PERS is [`ImageState::UsedPers`],
    /// although oned's key says `USED`).
    pub state: ObjectState,
    /// The new LCM state, for VMs.
    pub lcm_state: Option<LcmState>,
    /// The OneFlow service the VM belongs to.
    pub service_id: Option<i32>,
    /// For a VM the host it runs on, for a host its name (`REMOTE_HOST`).
    pub remote_host: Option<String>,
    /// The object's document.
    pub document: ObjectDocument,
    /// The key the message arrived under.
    pub key: String,
}

impl StateEvent {
    /// The VM's document, for VM events.
    pub fn vm(&self) -> Option<&documents::Vm> {
        match &self.document {
            ObjectDocument::Vm(vm) => Some(vm),
            _ => None,
        }
    }

    /// The host's document, for host events.
    pub fn host(&self) -> Option<&documents::Host> {
        match &self.document {
            ObjectDocument::Host(host) => Some(host),
            _ => None,
        }
    }

    /// The image's document, for image events.
    pub fn image(&self) -> Option<&documents::Image> {
        match &self.document {
            ObjectDocument::Image(image) => Some(image),
            _ => None,
        }
    }

    /// The network's document, for network events.
    pub fn network(&self) -> Option<&documents::VirtualNetwork> {
        match &self.document {
            ObjectDocument::Network(network) => Some(network),
            _ => None,
        }
    }
}

impl fmt::Display for StateEvent {
    /// `VM 3 ACTIVE/RUNNING`, `HOST 0 MONITORED`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.object, self.id, self.state)?;
        if let Some(lcm) = self.lcm_state {
            write!(f, "/{lcm}")?;
        }
        Ok(())
    }
}

/// A state, typed by object kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ObjectState {
    /// A VM's `STATE`.
    Vm(VmState),
    /// A host's.
    Host(HostState),
    /// An image's.
    Image(ImageState),
    /// A virtual network's.
    Network(VirtualNetworkState),
}

impl ObjectState {
    /// The raw number.
    pub fn code(self) -> i64 {
        match self {
            ObjectState::Vm(s) => s.code(),
            ObjectState::Host(s) => s.code(),
            ObjectState::Image(s) => s.code(),
            ObjectState::Network(s) => s.code(),
        }
    }

    fn of(object: ObjectKind, code: i64) -> Self {
        match object {
            ObjectKind::Vm => ObjectState::Vm(VmState::from_code(code)),
            ObjectKind::Host => ObjectState::Host(HostState::from_code(code)),
            ObjectKind::Image => ObjectState::Image(ImageState::from_code(code)),
            ObjectKind::Network => ObjectState::Network(VirtualNetworkState::from_code(code)),
        }
    }
}

impl fmt::Display for ObjectState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjectState::Vm(s) => s.fmt(f),
            ObjectState::Host(s) => s.fmt(f),
            ObjectState::Image(s) => s.fmt(f),
            ObjectState::Network(s) => s.fmt(f),
        }
    }
}

/// The object document of a state event, decoded.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ObjectDocument {
    /// `<VM>` (oned's `to_xml_extended`: with history records).
    Vm(Box<documents::Vm>),
    /// `<HOST>`.
    Host(Box<documents::Host>),
    /// `<IMAGE>`.
    Image(Box<documents::Image>),
    /// `<VNET>`.
    Network(Box<documents::VirtualNetwork>),
}

/// What went wrong, or what may have been missed. Items of the stream, except
/// [`Endpoint`](Self::Endpoint) and [`Connect`](Self::Connect), which
/// [`SubscriberBuilder::connect`] returns; after any other item the stream goes on, except
/// after [`Stopped`](Self::Stopped).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// The endpoint is not a ZeroMQ TCP endpoint (`tcp://host:port`).
    #[error("invalid event endpoint {endpoint:?}: {message}")]
    Endpoint {
        /// The endpoint given.
        endpoint: String,
        /// Why.
        message: String,
    },
    /// No connection to the publisher could be made in time.
    #[error("cannot connect to the event bus at {endpoint}: {message}")]
    Connect {
        /// The endpoint.
        endpoint: String,
        /// Why.
        message: String,
    },
    /// The consumer fell behind: the buffer was full and `missed` messages were dropped here.
    #[error("{missed} event message(s) dropped: the consumer fell behind the bus")]
    Lagged {
        /// How many messages were dropped.
        missed: u64,
    },
    /// The connection to the publisher was lost (oned stopped or restarted); the subscriber
    /// is reconnecting. Events published until it is back are lost.
    #[error("lost the connection to the event bus at {endpoint}; reconnecting")]
    Disconnected {
        /// The endpoint.
        endpoint: String,
    },
    /// The subscriber is connected and subscribed again, `after` the connection was lost:
    /// events published meanwhile were missed.
    #[error("reconnected to the event bus at {endpoint} after {after:?}; events published meanwhile were missed")]
    Reconnected {
        /// The endpoint.
        endpoint: String,
        /// How long the connection was down.
        after: Duration,
    },
    /// A message that could not be read; it is skipped.
    #[error("malformed event message (key {key:?}): {problem}")]
    Malformed {
        /// Its key (lossily decoded).
        key: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The subscriber stopped receiving (its connection task ended); the stream ends after
    /// this item.
    #[error("the event subscriber stopped: {0}")]
    Stopped(String),
}

impl EventError {
    /// Whether events may have been missed around this item (lag, lost connection): state
    /// derived from events should be re-read.
    pub fn may_have_missed_events(&self) -> bool {
        matches!(
            self,
            EventError::Lagged { .. }
                | EventError::Disconnected { .. }
                | EventError::Reconnected { .. }
                | EventError::Stopped(_)
        )
    }

    fn malformed(key: &[u8], problem: impl fmt::Display) -> Self {
        EventError::Malformed {
            key: String::from_utf8_lossy(key).into_owned(),
            problem: problem.to_string(),
        }
    }
}

impl Event {
    /// Decodes one message from its two frames (key, payload), as a subscriber receives it.
    ///
    /// ```
    /// use opennebula::events::{message::{ObjectKind, StateMessage}, Event};
    /// let change = StateMessage::new(ObjectKind::Image, 4, "READY",
    ///     "<IMAGE><ID>4</ID><NAME>os</NAME><STATE>1</STATE></IMAGE>");
    /// let frames = &change.frames()[0];
    /// let Event::State(event) = Event::decode(frames.key.as_bytes(), frames.payload.as_bytes())? else {
    ///     unreachable!()
    /// };
    /// assert_eq!(event.to_string(), "IMAGE 4 READY");
    /// assert_eq!(event.image().unwrap().name, "os");
    /// # Ok::<(), opennebula::events::EventError>(())
    /// ```
    pub fn decode(key: &[u8], payload: &[u8]) -> Result<Event, EventError> {
        let text = std::str::from_utf8(key)
            .map_err(|_| EventError::malformed(key, "the key is not UTF-8"))?;
        let parsed = Key::parse(text).map_err(|e| EventError::malformed(key, e))?;
        decode_parsed(&parsed, text, payload)
    }
}

/// Decodes a message whose key is already parsed.
pub(crate) fn decode_parsed(
    key: &Key,
    key_text: &str,
    payload: &[u8],
) -> Result<Event, EventError> {
    let malformed =
        |problem: &dyn fmt::Display| EventError::malformed(key_text.as_bytes(), problem);
    match key {
        Key::Retry => RetryMessage::parse_payload(payload)
            .map(Event::Retry)
            .map_err(|e| malformed(&e)),
        Key::Api { .. } => {
            let xml = message::decode_payload(payload).map_err(|e| malformed(&e))?;
            ApiMessage::parse(&xml)
                .map(Event::Api)
                .map_err(|e| malformed(&e))
        }
        Key::Object { .. } | Key::State { .. } | Key::Service { .. } => {
            let xml = message::decode_payload(payload).map_err(|e| malformed(&e))?;
            let state = message::StateMessage::parse(&xml).map_err(|e| malformed(&e))?;
            state_event(state, key_text).map_err(|e| malformed(&e))
        }
    }
}

/// The typed event of a state message.
pub(crate) fn state_event(
    message: message::StateMessage,
    key: &str,
) -> Result<Event, crate::xml::XmlError> {
    let xml = message.object_xml.as_bytes();
    let (document, state, lcm) = match message.object {
        ObjectKind::Vm => {
            let vm = documents::Vm::from_xml_bytes(xml)?;
            let (state, lcm) = (vm.state_code(), vm.lcm_code());
            (ObjectDocument::Vm(Box::new(vm)), state, lcm)
        }
        ObjectKind::Host => {
            let host = documents::Host::from_xml_bytes(xml)?;
            let state = host.state_code();
            (ObjectDocument::Host(Box::new(host)), state, None)
        }
        ObjectKind::Image => {
            let image = documents::Image::from_xml_bytes(xml)?;
            let state = image.state_code();
            (ObjectDocument::Image(Box::new(image)), state, None)
        }
        ObjectKind::Network => {
            let network = documents::VirtualNetwork::from_xml_bytes(xml)?;
            let state = network.state_code();
            (ObjectDocument::Network(Box::new(network)), state, None)
        }
    };
    Ok(Event::State(StateEvent {
        object: message.object,
        id: message.id,
        state: ObjectState::of(message.object, state),
        lcm_state: lcm.map(LcmState::from_code),
        service_id: message.service_id.and_then(|s| s.trim().parse().ok()),
        remote_host: message.remote_host,
        document,
        key: key.to_string(),
    }))
}

/// The state numbers of an object document, whichever type it decodes into.
trait StateCodes {
    fn state_code(&self) -> i64;
    fn lcm_code(&self) -> Option<i64> {
        None
    }
}

#[cfg(opennebula_models)]
mod codes {
    use super::StateCodes;
    use crate::models;

    impl StateCodes for models::Vm {
        fn state_code(&self) -> i64 {
            self.state
        }
        fn lcm_code(&self) -> Option<i64> {
            Some(self.lcm_state)
        }
    }
    macro_rules! state_only {
        ($($model:ident),*) => {$(
            impl StateCodes for models::$model {
                fn state_code(&self) -> i64 {
                    self.state
                }
            }
        )*};
    }
    state_only!(Host, Image, VirtualNetwork);
}

#[cfg(not(opennebula_models))]
impl StateCodes for crate::api::RawDocument {
    fn state_code(&self) -> i64 {
        self.int_at("STATE").unwrap_or(-1)
    }
    fn lcm_code(&self) -> Option<i64> {
        self.int_at("LCM_STATE")
    }
}
