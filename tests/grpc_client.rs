//! The client over gRPC (feature `grpc`), against a small tonic server inside the test.
//!
//! The server is a bridge: it decodes each gRPC request with the library's server-side codec
//! (`grpc::decode_request`, `api::method_by_path`), runs it on the XML-RPC test server, and
//! answers as oned does (`grpc::encode_reply`, `grpc::status_for`: a status and
//! `[one.x.y] text`). So the typed API, calls by name, `call_document`, `stream_pool`, the pages
//! helpers, retries, the in-flight cap and the blocking client are checked over gRPC against
//! the same documents they get over XML-RPC. Scripted faults (a hang, a reset stream,
//! `RESOURCE_EXHAUSTED`, `UNIMPLEMENTED`, a server gone, a non-gRPC server) each give a typed
//! error within the timeout, and the client stays usable.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::StreamBody;
use opennebula::api::{method_by_path, PoolFilter, RawDocument, VmStateFilter};
use opennebula::grpc;
use opennebula::models::{Vm, VmSummary};
use opennebula::wire::{one_payload, Value};
use opennebula::{Client, Error, ErrorCode, GrpcCode, RetryPolicy};
use opennebula_test_server::TestServer;

mod support;

/// What the bridge does with the next request instead of answering it.
#[derive(Debug, Clone)]
enum Fault {
    /// A trailers-only status.
    Status(GrpcCode, &'static str),
    /// Never answer.
    Hang,
    /// Send half of the answer, then reset the stream.
    Reset,
}

struct Bridge {
    xmlrpc: Client,
    faults: Mutex<VecDeque<Fault>>,
    requests: Mutex<Vec<String>>,
    /// Split answers into data frames of this size.
    frame_size: usize,
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b' '..=b'~' if b != b'%' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn status_only(code: GrpcCode, message: &str) -> Response {
    Response::builder()
        .header("content-type", "application/grpc")
        .header("grpc-status", code.code().to_string())
        .header("grpc-message", percent_encode(message))
        .body(Body::empty())
        .unwrap()
}

fn answer(message: Vec<u8>, frame_size: usize, reset: bool) -> Response {
    let body = grpc::frame(&message);
    let mut frames: Vec<Result<http_body::Frame<Bytes>, std::io::Error>> = body
        .chunks(frame_size.max(1))
        .map(|c| Ok(http_body::Frame::data(Bytes::copy_from_slice(c))))
        .collect();
    if reset {
        frames.truncate(frames.len() / 2);
        frames.push(Err(std::io::Error::other("reset by the test")));
    } else {
        let mut trailers = http::HeaderMap::new();
        trailers.insert("grpc-status", "0".parse().unwrap());
        frames.push(Ok(http_body::Frame::trailers(trailers)));
    }
    Response::builder()
        .header("content-type", "application/grpc")
        .body(Body::new(StreamBody::new(futures_util::stream::iter(
            frames,
        ))))
        .unwrap()
}

async fn handle(State(bridge): State<Arc<Bridge>>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    bridge.requests.lock().unwrap().push(path.clone());
    let body = axum::body::to_bytes(request.into_body(), usize::MAX)
        .await
        .unwrap();
    let fault = bridge.faults.lock().unwrap().pop_front();
    match fault {
        Some(Fault::Status(code, message)) => return status_only(code, message),
        Some(Fault::Hang) => std::future::pending::<()>().await,
        _ => {}
    }
    let Some(info) = method_by_path(&path) else {
        return status_only(
            GrpcCode::Unimplemented,
            &format!("{path}: Method not implemented"),
        );
    };
    let message = &body[5..];
    let Ok((session, params)) = grpc::decode_request(info, message) else {
        return status_only(GrpcCode::Internal, "");
    };
    let mut all = vec![Value::String(session)];
    all.extend(params);
    let answered = match bridge.xmlrpc.call_raw(info.name, &all).await {
        Ok(response) => one_payload(response),
        Err(err) => Err(err),
    };
    match answered {
        Ok(value) => answer(
            grpc::encode_reply(info.grpc.unwrap().reply, &value),
            bridge.frame_size,
            matches!(fault, Some(Fault::Reset)),
        ),
        Err(Error::OpenNebula(one)) => {
            let (code, message) = grpc::status_for(&one);
            status_only(code, message)
        }
        Err(other) => status_only(GrpcCode::Unknown, &other.to_string()),
    }
}

struct GrpcServer {
    url: String,
    bridge: Arc<Bridge>,
    _xmlrpc_server: TestServer,
    _task: tokio::task::JoinHandle<()>,
}

impl GrpcServer {
    async fn start(frame_size: usize) -> Self {
        let xmlrpc_server = TestServer::builder()
            .seed_hosts(2)
            .seed_vms(5)
            .start()
            .await
            .unwrap();
        let bridge = Arc::new(Bridge {
            xmlrpc: Client::new(xmlrpc_server.url(), "unused:unused").unwrap(),
            faults: Mutex::new(VecDeque::new()),
            requests: Mutex::new(Vec::new()),
            frame_size,
        });
        let router = axum::Router::new()
            .fallback(handle)
            .with_state(bridge.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_routes(tonic::service::Routes::from(router))
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
                .await
                .unwrap();
        });
        GrpcServer {
            url,
            bridge,
            _xmlrpc_server: xmlrpc_server,
            _task: task,
        }
    }

    fn fault(&self, fault: Fault) {
        self.bridge.faults.lock().unwrap().push_back(fault);
    }

    fn requests(&self) -> Vec<String> {
        self.bridge.requests.lock().unwrap().clone()
    }

    fn client(&self) -> Client {
        Client::builder()
            .grpc(&self.url)
            .session("oneadmin:onepass")
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap()
    }

    fn xmlrpc(&self) -> Client {
        Client::new(self._xmlrpc_server.url(), "oneadmin:onepass").unwrap()
    }
}

#[tokio::test]
async fn typed_calls_by_name_and_documents_are_the_same_as_over_xml_rpc() {
    let server = GrpcServer::start(16 * 1024).await;
    let (grpc, xmlrpc) = (server.client(), server.xmlrpc());
    assert!(format!("{grpc:?}").contains("grpc"));

    let pool = grpc.vmpool().info_all().await.unwrap();
    assert_eq!(pool.vm.len(), 5);
    let vm: Vm = grpc.vm().info(pool.vm[0].id).await.unwrap();
    let same: Vm = xmlrpc.vm().info(pool.vm[0].id).await.unwrap();
    assert_eq!(format!("{vm:?}"), format!("{same:?}"));
    assert_eq!(grpc.hostpool().info().await.unwrap().host.len(), 2);
    let version = grpc.system().version().await.unwrap();
    assert_eq!(version, xmlrpc.system().version().await.unwrap());

    // By name: the payload as XML-RPC gives it (the document as a string, the id as an int).
    let by_name = grpc.call("vm.info", (pool.vm[0].id,)).await.unwrap();
    assert!(
        matches!(&by_name, Value::String(xml) if xml.starts_with("<VM>")),
        "{by_name:?}"
    );
    let raw: RawDocument = grpc
        .call_document("one.vm.info", (pool.vm[0].id, false))
        .await
        .unwrap();
    assert_eq!(raw.int_at("ID"), Some(pool.vm[0].id));

    // Writes: an id comes back; a short form's omitted parameters get the table's defaults.
    let id = grpc
        .template()
        .allocate("NAME=\"over-grpc\"\nMEMORY=\"64\"\nCPU=\"1\"")
        .await
        .unwrap();
    let vm_id = grpc
        .template()
        .instantiate_simple(id, "grpc-vm")
        .await
        .unwrap();
    assert_eq!(xmlrpc.vm().info(vm_id).await.unwrap().name, "grpc-vm");
    grpc.vm().rename(vm_id, "renamed").await.unwrap();
    assert_eq!(grpc.vm().info(vm_id).await.unwrap().name, "renamed");

    // OpenNebula's refusals: the status maps back to the code, the text is oned's.
    let err = grpc.vm().info(999).await.unwrap_err();
    let xml_err = xmlrpc.vm().info(999).await.unwrap_err();
    let one = err.one_error().expect("an OpenNebula error");
    assert_eq!(one.code, ErrorCode::NoExists);
    assert_eq!(one.message, xml_err.one_error().unwrap().message);
    assert_eq!(one.grpc_code, Some(GrpcCode::NotFound));
    let wrong = Client::builder()
        .grpc(&server.url)
        .session("oneadmin:wrong")
        .build()
        .unwrap();
    let err = wrong.system().version().await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Authentication));
    assert_eq!(err.grpc_code(), Some(GrpcCode::Unauthenticated));

    assert!(server.requests().iter().all(|p| p.starts_with("/one.")));
    assert!(server
        .requests()
        .contains(&"/one.tmpl.TemplateService/Instantiate".to_string()));
    // call_raw is XML-RPC only.
    assert!(matches!(
        grpc.call_raw("system.listMethods", &[]).await,
        Err(Error::Config(_))
    ));
}

#[tokio::test]
async fn stream_pool_and_pages_decode_the_xml_field_as_it_arrives() {
    // Small frames: the document arrives in many pieces, items come out as they complete.
    let server = GrpcServer::start(97).await;
    let grpc = server.client();
    let streamed: Vec<VmSummary> = grpc
        .stream_pool::<VmSummary>("vmpool.info", (-2, -1, -1, -1))
        .map(|vm| vm.unwrap())
        .collect()
        .await;
    let listed = grpc.vmpool().info_all().await.unwrap();
    assert_eq!(streamed.len(), 5);
    assert_eq!(
        streamed.iter().map(|v| v.id).collect::<Vec<_>>(),
        listed.vm.iter().map(|v| v.id).collect::<Vec<_>>()
    );
    let pages: Vec<_> = grpc
        .vmpool()
        .pages(PoolFilter::All, VmStateFilter::NotDone, 2)
        .collect()
        .await;
    let ids: Vec<i64> = pages
        .into_iter()
        .flat_map(|p| p.unwrap().vm.into_iter().map(|v| v.id))
        .collect();
    assert_eq!(ids.len(), 5);
    // A failed pool call is one error.
    server.fault(Fault::Status(
        GrpcCode::PermissionDenied,
        "[one.vmpool.info] User [2] : Not authorized",
    ));
    let results: Vec<_> = grpc
        .stream_pool::<VmSummary>("vmpool.info", (-2, -1, -1, -1))
        .collect()
        .await;
    assert!(
        matches!(results.as_slice(), [Err(Error::OpenNebula(e))] if e.code == ErrorCode::Authorization)
    );
    // The receive limit is max_response_size.
    let tight = Client::builder()
        .grpc(&server.url)
        .session("oneadmin:onepass")
        .max_response_size(1000)
        .build()
        .unwrap();
    assert!(matches!(
        tight.vmpool().info_all().await,
        Err(Error::ResponseTooLarge { limit: 1000 })
    ));
    let results: Vec<_> = tight
        .stream_pool::<VmSummary>("vmpool.info", (-2, -1, -1, -1))
        .collect()
        .await;
    assert!(
        matches!(results.last(), Some(Err(Error::ResponseTooLarge { .. }))),
        "{results:?}"
    );
}

/// Runs `call`, which must fail with an error `expected` accepts, well within the client's
/// timeout; then checks the same client still works.
async fn fails_then_recovers(
    client: &Client,
    expected: impl Fn(&Error) -> bool,
    budget: Duration,
    call: impl std::future::Future<Output = opennebula::Result<String>>,
) {
    let started = Instant::now();
    let err = call.await.unwrap_err();
    assert!(expected(&err), "unexpected error: {err:?}");
    assert!(started.elapsed() < budget, "took {:?}", started.elapsed());
    assert!(
        client.system().version().await.is_ok(),
        "the client must stay usable"
    );
}

#[tokio::test]
async fn faults_give_typed_errors_within_the_timeout_and_the_client_stays_usable() {
    let server = GrpcServer::start(64).await;
    let client = Client::builder()
        .grpc(&server.url)
        .session("oneadmin:onepass")
        .timeout(Duration::from_millis(800))
        .build()
        .unwrap();
    let budget = Duration::from_secs(3);

    server.fault(Fault::Hang);
    fails_then_recovers(
        &client,
        Error::is_timeout,
        budget,
        client.system().version(),
    )
    .await;

    server.fault(Fault::Status(
        GrpcCode::ResourceExhausted,
        "Received message larger than max",
    ));
    fails_then_recovers(
        &client,
        |e| {
            matches!(
                e,
                Error::Grpc {
                    code: GrpcCode::ResourceExhausted,
                    ..
                }
            )
        },
        budget,
        client.system().version(),
    )
    .await;

    server.fault(Fault::Status(
        GrpcCode::Unimplemented,
        "/one.x/Y: Method not implemented",
    ));
    fails_then_recovers(
        &client,
        |e| e.grpc_code() == Some(GrpcCode::Unimplemented) && e.one_error().is_none(),
        budget,
        client.system().version(),
    )
    .await;

    server.fault(Fault::Reset);
    fails_then_recovers(
        &client,
        |e| matches!(e, Error::Transport { .. }),
        budget,
        async { client.system().config().await.map(|_| String::new()) },
    )
    .await;

    // A reset pool stream ends with one error.
    server.fault(Fault::Reset);
    let results: Vec<_> = client
        .stream_pool::<VmSummary>("vmpool.info", (-2, -1, -1, -1))
        .collect()
        .await;
    assert!(
        matches!(results.last(), Some(Err(Error::Transport { .. }))),
        "{results:?}"
    );

    // A method the table does not know has no gRPC path: refused, nothing sent.
    let before = server.requests().len();
    assert!(matches!(
        client.call("newobject.frobnicate", ()).await,
        Err(Error::InvalidArgument(_))
    ));
    assert_eq!(server.requests().len(), before);
}

#[tokio::test]
async fn a_server_gone_or_not_grpc_is_a_typed_error_within_the_timeout() {
    // Nothing listens: never sent, so even a write may be retried.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let gone = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let client = Client::builder()
        .grpc(&gone)
        .session("oneadmin:onepass")
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client
        .vm()
        .action(opennebula::api::VmAction::Resume, 1)
        .await
        .unwrap_err();
    assert!(err.is_connect() && err.is_never_sent(), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(2));

    // An HTTP/1.1 server (an XML-RPC endpoint) on the port.
    let http1 = support::FakeServer::start(vec![support::Reply::xml(support::one_success(
        "<i4>1</i4>",
    ))])
    .await;
    let url = http1.url.trim_end_matches("/RPC2").to_owned();
    let client = Client::builder()
        .grpc(&url)
        .session("oneadmin:onepass")
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client.system().version().await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport { .. } | Error::Connect { .. } | Error::Http { .. }
        ),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    // The same client, once a gRPC server is there, works.
    let server = GrpcServer::start(1024).await;
    let client = server.client();
    assert!(client.system().version().await.is_ok());
}

#[tokio::test]
async fn retries_and_the_in_flight_cap_apply_over_grpc() {
    let server = GrpcServer::start(1024).await;
    let client = Client::builder()
        .grpc(&server.url)
        .session("oneadmin:onepass")
        .retry(RetryPolicy::new(2).initial_backoff(Duration::from_millis(1)))
        .max_in_flight(2)
        .build()
        .unwrap();
    // UNAVAILABLE is transient: a read is retried.
    server.fault(Fault::Status(GrpcCode::Unavailable, "try again"));
    assert!(client.system().version().await.is_ok());
    // ... but a write whose request may have arrived is not.
    server.fault(Fault::Status(GrpcCode::Unavailable, "try again"));
    let err = client.vm().rename(0, "x").await.unwrap_err();
    assert_eq!(err.grpc_code(), Some(GrpcCode::Unavailable));
    // Many calls through a cap of two.
    let calls = (0..20).map(|_| client.system().version());
    let answers = futures_util::future::join_all(calls).await;
    assert!(answers.iter().all(Result::is_ok));
}

#[test]
fn the_blocking_client_and_from_env_speak_grpc() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(GrpcServer::start(1024));
    let auth = std::env::temp_dir().join(format!("one_auth_grpc_{}", std::process::id()));
    std::fs::write(&auth, "oneadmin:onepass\n").unwrap();
    std::env::set_var("ONE_AUTH", &auth);
    std::env::set_var("ONEAPI_PROTOCOL", "grpc");
    std::env::set_var("ONE_GRPC", server.url.trim_start_matches("http://"));
    let client = opennebula::blocking::Client::from_env();
    std::env::remove_var("ONEAPI_PROTOCOL");
    std::env::remove_var("ONE_GRPC");
    std::env::remove_var("ONE_AUTH");
    let _ = std::fs::remove_file(&auth);
    let client = client.unwrap();
    assert_eq!(client.endpoint(), server.url);
    let pool = client.vmpool().info_all().unwrap();
    assert_eq!(pool.vm.len(), 5);
    let vm = client.vm().info(pool.vm[0].id).unwrap();
    assert_eq!(vm.id, pool.vm[0].id);
    let streamed = client
        .stream_pool::<VmSummary>("vmpool.info", (-2, -1, -1, -1))
        .count();
    assert_eq!(streamed, 5);
    assert!(server
        .requests()
        .iter()
        .any(|p| p == "/one.vm.VirtualMachineService/PoolInfo"));
}

/// A TLS-terminating proxy in front of `upstream` (as a TLS proxy stands in front of oned,
/// whose gRPC server has no TLS): the `https://` URL it serves, and its certificate.
async fn tls_proxy(upstream: &str) -> (String, String) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert_pem = certified.cert.pem();
    let key_pem = certified.signing_key.serialize_pem();
    let identity =
        native_tls::Identity::from_pkcs8(cert_pem.as_bytes(), key_pem.as_bytes()).unwrap();
    let acceptor =
        tokio_native_tls::TlsAcceptor::from(native_tls::TlsAcceptor::new(identity).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "https://localhost:{}",
        listener.local_addr().unwrap().port()
    );
    let upstream = upstream.trim_start_matches("http://").to_owned();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let upstream = upstream.clone();
            tokio::spawn(async move {
                // A refused handshake is the client's verdict: nothing to forward.
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    return;
                };
                let mut plain = tokio::net::TcpStream::connect(upstream).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    (url, cert_pem)
}

#[tokio::test]
async fn https_goes_through_a_tls_proxy_with_the_same_switches() {
    let server = GrpcServer::start(1024).await;
    let (url, pem) = tls_proxy(&server.url).await;
    let builder = || {
        Client::builder()
            .grpc(&url)
            .session("oneadmin:onepass")
            .timeout(Duration::from_secs(5))
    };
    // Verification is on: the self-signed proxy is refused before anything is sent.
    let err = builder()
        .build()
        .unwrap()
        .system()
        .version()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    assert!(err.is_never_sent());
    assert!(server.requests().is_empty());
    // Its certificate as a root CA, or the lab switch, gets through.
    let trusted = builder()
        .add_root_certificate_pem(pem.into_bytes())
        .build()
        .unwrap();
    assert_eq!(trusted.vmpool().info_all().await.unwrap().vm.len(), 5);
    let lab = builder().danger_accept_invalid_certs(true).build().unwrap();
    assert!(lab.system().version().await.is_ok());
    assert_eq!(server.requests().len(), 2);
}
