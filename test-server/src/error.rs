//! The test server's own failures: starting it (binding its port, making its TLS identity,
//! creating the users asked for, starting its runtime). What it answers to calls is never an
//! `Error` of this crate: those are OpenNebula responses, read by the client.

use std::io;

/// Why a [`TestServer`](crate::TestServer) could not start.
///
/// Converts into [`opennebula::Error`] (as [`opennebula::Error::Config`]) so that `?` works in
/// tests and examples that return the client's `Result`.
///
/// ```
/// # async fn demo() {
/// use opennebula_test_server::{Error, TestServer};
/// let first = TestServer::start().await.unwrap();
/// let taken = first.local_addr().port();
/// match TestServer::builder().port(taken).start().await {
///     Err(Error::Bind { port, .. }) => assert_eq!(port, taken),
///     other => panic!("{other:?}"),
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The listening socket could not be bound (port in use, no permission).
    #[error("cannot bind port {port}: {source}")]
    Bind {
        /// The port asked for (0: any free port).
        port: u16,
        /// What the system said.
        #[source]
        source: io::Error,
    },
    /// The self-signed certificate or the TLS acceptor could not be made.
    #[error("cannot set up TLS: {0}")]
    Tls(String),
    /// A user given to [`TestServerBuilder::user`](crate::TestServerBuilder::user) could not be
    /// created (oned refused the name or password).
    #[error("cannot create user {name:?}: {reason}")]
    User {
        /// The user name.
        name: String,
        /// oned's reason.
        reason: String,
    },
    /// The runtime of a [`BlockingTestServer`](crate::BlockingTestServer) could not start.
    #[error("cannot start the server runtime: {0}")]
    Runtime(#[source] io::Error),
}

/// `Result` with the test server's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<Error> for opennebula::Error {
    fn from(error: Error) -> Self {
        opennebula::Error::Config(format!("test server: {error}"))
    }
}
