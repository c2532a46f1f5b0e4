//! An OpenNebula-compatible XML-RPC test server, in the style of wiremock's `MockServer`.
//!
//! [`TestServer::start`] binds a free loopback port and serves a fresh, in-memory `oned`: the
//! default users, groups, datastores, zone, VDC and ACL rules of a freshly bootstrapped
//! OpenNebula 7.5, so object ids line up with a real front-end. It speaks the exact XML-RPC
//! dialect of `oned` (xmlrpc-c framing, `[success, payload, code]` response arrays, oned's error
//! messages and codes) and models the objects of the API with their life cycles: VMs go from
//! PENDING to RUNNING through a small built-in scheduler that runs synchronously after each
//! call (no timers, so tests are deterministic).
//!
//! ```no_run
//! # async fn demo() -> opennebula::Result<()> {
//! use opennebula_test_server::TestServer;
//! let server = TestServer::start().await?;
//! let client = server.client()?;
//! let version: String = client.call_as("one.system.version", ()).await?;
//! assert_eq!(version, "7.5.80");
//! assert_eq!(server.received_calls(), ["one.system.version"]);
//! # Ok(()) }
//! ```
//!
//! Dropping the server shuts it down. For code without an async runtime,
//! [`TestServerBuilder::start_blocking`] runs it on its own runtime thread.
//!
//! # Timing model
//!
//! oned's scheduler and monitor run on their own periods; here they run after every call,
//! with small fixed delays measured in calls so that sequences written against a real
//! front-end behave alike: a VM made PENDING stays PENDING for the next call (so `hold`
//! right after `allocate` works) and is placed after it; a new host is INIT for one call,
//! then MONITORED (800 CPU, 16 GiB, as the dummy IM driver reports); an image is LOCKED for
//! one call, then READY; a running VM gets its first monitoring record after a few dozen
//! calls. [`TestServerBuilder::auto_schedule`]`(false)` turns placement off, and
//! [`TestServer::schedule`] then places every PENDING VM at once.
//!
//! # Limits
//!
//! Methods the model does not cover (SQL access, federation replication, backups to a
//! datastore, PCI passthrough from real devices ...) answer with an OpenNebula failure,
//! never a fake success. Quota usage counters stay at 0, and hosts report no PCI devices or
//! NUMA topology.

mod core;
mod dispatch;
mod error;
mod oned;
mod seed;
mod tmpl;
mod xmlrpc;

pub use error::{Error, Result};

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::core::Core;
use crate::oned::Oned;
use crate::xmlrpc::http;

/// A running test server. Dropping it stops the server.
pub struct TestServer {
    addr: SocketAddr,
    session: String,
    certificate_pem: Option<String>,
    core: Arc<Core>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl fmt::Debug for TestServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestServer")
            .field("url", &self.url())
            .field("tls", &self.certificate_pem.is_some())
            .finish()
    }
}

impl TestServer {
    /// Starts a server with the default settings (`oneadmin:onepass`, plain HTTP, no seeded
    /// objects) on a free loopback port.
    pub async fn start() -> Result<TestServer> {
        TestServer::builder().start().await
    }

    /// A builder for non-default settings (credentials, extra users, TLS, seeded objects).
    pub fn builder() -> TestServerBuilder {
        TestServerBuilder::default()
    }

    /// The XML-RPC endpoint, e.g. `http://127.0.0.1:40123/RPC2` (`https://` in TLS mode).
    pub fn url(&self) -> String {
        let scheme = if self.certificate_pem.is_some() {
            "https"
        } else {
            "http"
        };
        // The certificate names `localhost` and `127.0.0.1`; the IP form works everywhere.
        format!("{scheme}://{}/RPC2", self.addr)
    }

    /// The socket address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The administrator session, `oneadmin:<password>`.
    pub fn session(&self) -> String {
        self.session.clone()
    }

    /// The self-signed certificate (PEM) in TLS mode, to be trusted as a root CA.
    pub fn certificate_pem(&self) -> Option<String> {
        self.certificate_pem.clone()
    }

    /// An async [`opennebula::Client`] pointed at the server with the administrator session (in
    /// TLS mode, with the server's certificate as its only extra root CA).
    pub fn client(&self) -> opennebula::Result<opennebula::Client> {
        self.client_builder().build()
    }

    /// A [`opennebula::ClientBuilder`] pointed at the server with the administrator session, to
    /// change settings before building.
    pub fn client_builder(&self) -> opennebula::ClientBuilder {
        let mut builder = opennebula::Client::builder()
            .endpoint(self.url())
            .session(self.session());
        if let Some(pem) = &self.certificate_pem {
            builder = builder.add_root_certificate_pem(pem.as_bytes().to_vec());
        }
        builder
    }

    /// The method names received so far, in arrival order (calls inside `system.multicall`
    /// are listed after it).
    pub fn received_calls(&self) -> Vec<String> {
        self.core.received_calls()
    }

    /// Runs the built-in scheduler once (it also runs after every call): pending VMs are
    /// placed on hosts with room. Returns how many VMs were deployed.
    pub fn schedule(&self) -> usize {
        self.core.daemon().schedule_now()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Settings of a [`TestServer`].
#[derive(Debug, Clone)]
pub struct TestServerBuilder {
    admin_password: String,
    users: Vec<(String, String)>,
    tls: bool,
    port: u16,
    bind_any: bool,
    seed_hosts: usize,
    seed_vms: usize,
    auto_schedule: bool,
    keep_alive: bool,
}

impl Default for TestServerBuilder {
    fn default() -> Self {
        TestServerBuilder {
            admin_password: "onepass".into(),
            users: Vec::new(),
            tls: false,
            port: 0,
            bind_any: false,
            seed_hosts: 0,
            seed_vms: 0,
            auto_schedule: true,
            keep_alive: false,
        }
    }
}

impl TestServerBuilder {
    /// The password of `oneadmin` (default `onepass`).
    pub fn admin_password(mut self, password: impl Into<String>) -> Self {
        self.admin_password = password.into();
        self
    }

    /// Adds a regular user (group `users`, core driver), created after the bootstrap objects
    /// so it takes the next user id (2, 3, ...).
    pub fn user(mut self, name: impl Into<String>, password: impl Into<String>) -> Self {
        self.users.push((name.into(), password.into()));
        self
    }

    /// Serves HTTPS with a self-signed certificate for `localhost` and `127.0.0.1`,
    /// generated at start (see [`TestServer::certificate_pem`]).
    pub fn tls(mut self, enabled: bool) -> Self {
        self.tls = enabled;
        self
    }

    /// The TCP port (default 0: a free port chosen by the system).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Listens on all interfaces instead of loopback only.
    pub fn bind_all_interfaces(mut self, enabled: bool) -> Self {
        self.bind_any = enabled;
        self
    }

    /// Preloads `count` monitored hosts (for benchmarks).
    pub fn seed_hosts(mut self, count: usize) -> Self {
        self.seed_hosts = count;
        self
    }

    /// Preloads `count` VMs, running on the seeded hosts when there are any (for
    /// benchmarks).
    pub fn seed_vms(mut self, count: usize) -> Self {
        self.seed_vms = count;
        self
    }

    /// Whether the built-in scheduler deploys pending VMs after every call (default true).
    /// With `false`, VMs stay PENDING until [`TestServer::schedule`] or `one.vm.deploy`.
    pub fn auto_schedule(mut self, enabled: bool) -> Self {
        self.auto_schedule = enabled;
        self
    }

    /// Whether connections stay open between calls (HTTP/1.1 keep-alive). Default `false`:
    /// oned (xmlrpc-c's Abyss) answers `Connection: close` and closes every connection after
    /// one response, so each call of a client connects anew, and so does this server. With
    /// `true`, the server keeps connections open like most HTTP servers (or a keep-alive
    /// proxy in front of oned), which takes connection setup out of throughput measurements.
    pub fn keep_alive(mut self, enabled: bool) -> Self {
        self.keep_alive = enabled;
        self
    }

    /// Binds the port and starts serving on the current tokio runtime.
    pub async fn start(self) -> Result<TestServer> {
        let mut oned = Oned::bootstrap(&self.admin_password);
        for (name, password) in &self.users {
            oned.add_user(name, password)
                .map_err(|reason| Error::User {
                    name: name.clone(),
                    reason,
                })?;
        }
        seed::seed(&mut oned, self.seed_hosts, self.seed_vms);
        oned.auto_schedule = self.auto_schedule;
        let core = Arc::new(Core::new(oned));
        let ip = if self.bind_any {
            std::net::Ipv4Addr::UNSPECIFIED
        } else {
            std::net::Ipv4Addr::LOCALHOST
        };
        let listener = tokio::net::TcpListener::bind((ip, self.port))
            .await
            .map_err(|source| Error::Bind {
                port: self.port,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| Error::Bind {
            port: self.port,
            source,
        })?;
        let (tls, certificate_pem) = if self.tls {
            let (acceptor, pem) = http::tls_acceptor()?;
            (Some(acceptor), Some(pem))
        } else {
            (None, None)
        };
        let (shutdown, shutdown_rx) = tokio::sync::oneshot::channel();
        tokio::spawn(http::serve(
            listener,
            tls,
            core.clone(),
            self.keep_alive,
            shutdown_rx,
        ));
        Ok(TestServer {
            addr,
            session: format!("oneadmin:{}", self.admin_password),
            certificate_pem,
            core,
            shutdown: Some(shutdown),
        })
    }

    /// Starts the server on a runtime of its own (a background thread), for code without an
    /// async runtime.
    pub fn start_blocking(self) -> Result<BlockingTestServer> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("one-test-server")
            .build()
            .map_err(Error::Runtime)?;
        let server = runtime.block_on(self.start())?;
        Ok(BlockingTestServer {
            server: Some(server),
            runtime: Some(runtime),
        })
    }
}

/// A [`TestServer`] running on its own runtime, for synchronous code. Dropping it stops the
/// server and its runtime.
pub struct BlockingTestServer {
    server: Option<TestServer>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl fmt::Debug for BlockingTestServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BlockingTestServer")
            .field(&self.server)
            .finish()
    }
}

impl BlockingTestServer {
    /// Starts a server with the default settings.
    pub fn start() -> Result<BlockingTestServer> {
        TestServer::builder().start_blocking()
    }

    /// The running server (URL, session, received calls ...).
    pub fn server(&self) -> &TestServer {
        self.server.as_ref().expect("present until drop")
    }

    /// The XML-RPC endpoint.
    pub fn url(&self) -> String {
        self.server().url()
    }

    /// The administrator session.
    pub fn session(&self) -> String {
        self.server().session()
    }

    /// The self-signed certificate (PEM) in TLS mode.
    pub fn certificate_pem(&self) -> Option<String> {
        self.server().certificate_pem()
    }

    /// The method names received so far.
    pub fn received_calls(&self) -> Vec<String> {
        self.server().received_calls()
    }

    /// A blocking client pointed at the server with the administrator session.
    #[cfg(feature = "blocking")]
    pub fn client(&self) -> opennebula::Result<opennebula::blocking::Client> {
        opennebula::blocking::Client::from_builder(self.server().client_builder())
    }
}

impl Drop for BlockingTestServer {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            let _guard = runtime.enter();
            drop(self.server.take());
            drop(_guard);
            runtime.shutdown_background();
        }
    }
}
