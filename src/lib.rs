//! # opennebula
//!
//! A typed, fast and safe client for the [OpenNebula](https://opennebula.io) XML-RPC API.
//!
//! PLACEHOLDER crate docs: the quick start lands with the client core.

#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod api;
#[cfg(feature = "blocking")]
pub mod blocking;
pub mod client;
pub mod error;
pub mod models;
#[cfg(feature = "test-server")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-server")))]
pub mod server;
pub mod template;
pub mod wire;
pub mod xml;

pub use client::{Client, ClientBuilder, RetryPolicy, Session};
pub use error::{Error, ErrorCode, OneError, Result};
pub use template::Template;
pub use wire::Value;
