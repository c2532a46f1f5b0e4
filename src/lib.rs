//! # opennebula
//!
//! A typed, fast and safe client for the [OpenNebula](https://opennebula.io) XML-RPC API:
//! everything PyONE and goca do, with every method typed, every document decoded into
//! generated structs, templates as ordered dictionaries, and a test server to run against.
//!
//! ## Quick start
//!
//! ```no_run
//! use opennebula::api::VmAction;
//! use opennebula::Client;
//!
//! # async fn run() -> opennebula::Result<()> {
//! // PyONE: one = pyone.OneServer("http://one:2633/RPC2", session="oneadmin:onepass")
//! let one = Client::new("http://one:2633/RPC2", "oneadmin:onepass")?;
//!
//! // PyONE: one.hostpool.info().HOST[0].ID
//! let hosts = one.hostpool().info().await?;
//! for host in &hosts.host {
//!     println!("host {} {} arch={:?}", host.id, host.name, host.template.get("ARCH"));
//! }
//!
//! // PyONE: host.TEMPLATE['NOTES'] = "Just updated"; one.host.update(0, host.TEMPLATE, 1)
//! let mut template = one.host().info(0).await?.template;
//! template.set("NOTES", "Just updated");
//! one.host().update_merge(0, &template).await?;
//!
//! // PyONE: one.template.allocate('NAME="test100" MEMORY="1024" DISK=[IMAGE_ID="1"] DISK=[IMAGE_ID="2"]')
//! let template_id = one
//!     .template()
//!     .allocate(r#"NAME="test100" MEMORY="1024" DISK=[IMAGE_ID="1"] DISK=[IMAGE_ID="2"]"#)
//!     .await?;
//!
//! // PyONE: one.template.instantiate(0, "my_VM"); one.vm.action('terminate', 0)
//! let vm_id = one.template().instantiate_simple(template_id, "my_VM").await?;
//! one.vm().action(VmAction::Terminate, vm_id).await?;
//!
//! // Any method stays available by name:
//! let version: String = one.call_as("system.version", ()).await?;
//! # Ok(()) }
//! ```
//!
//! The same calls exist without async on [`blocking::Client`]. A client configured like
//! OpenNebula's CLI (`ONE_XMLRPC`, `ONE_AUTH`) comes from [`Client::from_env`].
//!
//! ## Map of the crate
//!
//! | module | what |
//! |---|---|
//! | [`client`] | [`Client`] and [`ClientBuilder`]: endpoint, session, timeouts, TLS, limits, retries; the `call` path |
//! | [`blocking`] | the same client without async |
//! | [`rpc`] | [`rpc::Request`]: one call as a value (method, parameters, idempotency, table row, return type), the seam between the typed API and the transports |
//! | [`api`] | one handle per OpenNebula object (`client.vm()`, `client.hostpool()` ...) generated from `schemas/api/`; constants as enums; ACL rules, waiting, paging, marketplace export |
//! | [`models`] | typed documents (`Vm`, `VmPool`, `Host` ...) generated at build time from the XSDs in `schemas/`; [`models::Document`] dispatches on the root element |
//! | [`template`](mod@template) | [`Template`]: TEMPLATE / USER_TEMPLATE as an ordered, multi-valued dictionary, the template text parser, safe wire forms |
//! | [`grpc`] | the sans-IO gRPC codec: request and answer messages from the method table, framing, status mapping (the transport is feature `grpc`) |
//! | [`wire`] | the sans-IO XML-RPC codec: [`Value`], `methodCall` encoding, `methodResponse` decoding |
//! | [`xml`] | the XML pull reader and writer shared by the models, templates and codec |
//! | [`error`] | [`Error`]: OpenNebula errors by [`ErrorCode`], faults, HTTP, transport, TLS, decode |
//! | `events` | (feature `events`) oned's ZeroMQ event bus as a typed stream, and its codec |
//!
//! ## Safety
//!
//! TLS certificates are verified unless [`ClientBuilder::danger_accept_invalid_certs`] says
//! otherwise; the session never appears in `Debug`, errors or logs and is zeroized on drop;
//! responses are bounded in size, nesting depth and time; decoding never panics on hostile
//! input. OpenNebula's default endpoint is plain HTTP: sending credentials that way to a remote
//! host logs a warning, because anyone on the path can read them.

#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod api;
#[cfg(feature = "blocking")]
pub mod blocking;
pub mod client;
pub mod error;
#[cfg(feature = "events")]
pub mod events;
pub mod grpc;
pub mod models;
pub mod rpc;
pub mod stream;
pub mod template;
pub mod wire;
pub mod xml;

pub use client::{Client, ClientBuilder, RetryPolicy, Session};
pub use error::{Error, ErrorCode, GrpcCode, OneError, Result};
pub use template::Template;
pub use wire::Value;

#[cfg(test)]
mod static_assertions {
    fn assert_send_sync_clone<T: Send + Sync + Clone>() {}
    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_can_be_shared_across_tasks() {
        assert_send_sync_clone::<crate::Client>();
        #[cfg(feature = "blocking")]
        assert_send_sync_clone::<crate::blocking::Client>();
        assert_send_sync::<crate::Error>();
        assert_send_sync_clone::<crate::Template>();
        #[cfg(feature = "events")]
        {
            fn assert_send<T: Send>() {}
            assert_send::<crate::events::Subscriber>();
            assert_send_sync_clone::<crate::events::Event>();
            assert_send_sync_clone::<crate::events::EventError>();
            assert_send_sync_clone::<crate::events::Filter>();
        }
    }
}
