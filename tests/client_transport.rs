//! The client against a scripted local HTTP server: exact request bytes, payload decoding,
//! OpenNebula error mapping, faults, HTTP errors and broken transports.

mod support;

use std::time::{Duration, Instant};

use opennebula::error::DecodeStage;
use opennebula::xml::{Element, FromXml, XmlError, XmlReader};
use opennebula::{Client, Error, ErrorCode, Value};
use support::{one_failure, one_success, FakeServer, Reply};

const PASSWORD: &str = "pa$$-w0rd-never-shown";

fn client(url: &str) -> Client {
    Client::builder()
        .endpoint(url)
        .session(format!("oneadmin:{PASSWORD}"))
        .timeout(Duration::from_millis(1500))
        .connect_timeout(Duration::from_millis(500))
        .build()
        .unwrap()
}

fn assert_secret_free(err: &Error) {
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(PASSWORD), "secret leaked in {shown}");
}

#[tokio::test]
async fn sends_the_exact_method_call_with_session_first_and_one_prefix() {
    let server = FakeServer::start(vec![Reply::xml(one_success("<i4>7</i4>"))]).await;
    let one = client(&server.url);
    let id: i32 = one
        .call_as("vm.info", (7, false))
        .await
        .expect("call succeeds");
    assert_eq!(id, 7);
    let body = String::from_utf8(server.requests()[0].clone()).unwrap();
    assert_eq!(
        body,
        format!(
            "<?xml version=\"1.0\"?>\n<methodCall>\n<methodName>one.vm.info</methodName>\n<params>\n\
             <param><value><string>oneadmin:{PASSWORD}</string></value></param>\n\
             <param><value><int>7</int></value></param>\n\
             <param><value><boolean>0</boolean></value></param>\n\
             </params>\n</methodCall>\n"
        )
    );
}

/// A minimal document type, so this test does not depend on the generated models.
#[derive(Debug, PartialEq)]
struct Group {
    id: i64,
    name: String,
}

impl FromXml for Group {
    fn read_xml(reader: &mut XmlReader<'_>, start: &Element<'_>) -> Result<Self, XmlError> {
        let mut group = Group {
            id: -1,
            name: String::new(),
        };
        while let Some(child) = reader.next_child(start)? {
            match child.name() {
                b"ID" => group.id = reader.read_text(&child)?.trim().parse().unwrap_or(-1),
                b"NAME" => group.name = reader.read_text(&child)?.into_owned(),
                _ => reader.skip(&child)?,
            }
        }
        Ok(group)
    }
}

#[tokio::test]
async fn decodes_int_string_bool_and_xml_payloads() {
    let server = FakeServer::start(vec![
        Reply::xml(one_success("<i4>42</i4>")),
        Reply::xml(one_success("<string>7.5.80</string>")),
        Reply::xml(one_success("<boolean>1</boolean>")),
        Reply::xml(one_success(
            "<string>&lt;GROUP&gt;&lt;ID&gt;100&lt;/ID&gt;&lt;NAME&gt;&lt;![CDATA[a &amp; b]]&gt;&lt;/NAME&gt;&lt;USERS/&gt;&lt;/GROUP&gt;</string>",
        )),
        Reply::xml(one_success("plain")),
    ])
    .await;
    let one = client(&server.url);
    assert_eq!(
        one.call_as::<i32>("host.allocate", ("h", "kvm", "kvm", -1))
            .await
            .unwrap(),
        42
    );
    assert_eq!(
        one.call_as::<String>("system.version", ()).await.unwrap(),
        "7.5.80"
    );
    assert!(one.call_as::<bool>("x.y", ()).await.unwrap());
    let group: Group = one.call_document("group.info", (100,)).await.unwrap();
    assert_eq!(
        group,
        Group {
            id: 100,
            name: "a & b".into()
        }
    );
    assert_eq!(
        one.call("x.untyped", ()).await.unwrap(),
        Value::String("plain".into())
    );
}

#[tokio::test]
async fn maps_each_opennebula_error_code_to_its_case() {
    let cases = [
        (0x100, ErrorCode::Authentication),
        (0x200, ErrorCode::Authorization),
        (0x400, ErrorCode::NoExists),
        (0x800, ErrorCode::Action),
        (0x1000, ErrorCode::XmlRpcApi),
        (0x2000, ErrorCode::Internal),
        (0x4000, ErrorCode::Allocate),
        (0x8000, ErrorCode::Locked),
        (0x10000, ErrorCode::Replication),
    ];
    let replies = cases
        .iter()
        .map(|(code, _)| {
            Reply::xml(one_failure(
                "[one.vm.info] Error getting virtual machine [555].",
                *code,
                555,
            ))
        })
        .collect();
    let server = FakeServer::start(replies).await;
    let one = client(&server.url);
    for (_, expected) in cases {
        let err = one.call("vm.info", (555,)).await.unwrap_err();
        assert_secret_free(&err);
        let details = err.one_error().expect("an OpenNebula error");
        assert_eq!(details.code, expected);
        assert_eq!(details.object_id, Some(555));
        assert_eq!(
            details.message,
            "[one.vm.info] Error getting virtual machine [555]."
        );
        assert!(err.to_string().contains(expected.name()), "{err}");
    }
}

#[tokio::test]
async fn xml_rpc_faults_are_their_own_case() {
    let fault = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<methodResponse>\r\n<fault>\r\n<value><struct>\r\n<member><name>faultCode</name>\r\n<value><i4>-501</i4></value></member>\r\n<member><name>faultString</name>\r\n<value><string>Type mismatch</string></value></member>\r\n</struct></value>\r\n</fault>\r\n</methodResponse>\r\n";
    let server = FakeServer::start(vec![Reply::xml(fault)]).await;
    let err = client(&server.url)
        .call("vm.info", ("x",))
        .await
        .unwrap_err();
    assert_secret_free(&err);
    match err {
        Error::Fault { code, message } => {
            assert_eq!(code, -501);
            assert_eq!(message, "Type mismatch");
        }
        other => panic!("expected a fault, got {other:?}"),
    }
}

#[tokio::test]
async fn http_errors_carry_the_status_and_an_excerpt() {
    let server = FakeServer::start(vec![
        Reply::Full {
            status: 500,
            content_type: "text/html",
            body: b"<html><body>Internal Server Error</body></html>".to_vec(),
        },
        Reply::Full {
            status: 503,
            content_type: "text/html",
            body: b"<html>down for maintenance</html>".to_vec(),
        },
    ])
    .await;
    let one = client(&server.url);
    let err = one.call("vm.info", (1,)).await.unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert!(err.to_string().contains("Internal Server Error"), "{err}");
    let err = one.call("vm.info", (1,)).await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_secret_free(&err);
}

/// A call body carries the session, so a redirect is never followed: a 307/308 would send the
/// body (and the password in it) to wherever `Location` points. The redirect is the error.
#[tokio::test]
async fn redirects_are_errors_and_never_followed() {
    let elsewhere = FakeServer::start(vec![Reply::xml(one_success("<i4>1</i4>"))]).await;
    for status in [301, 302, 307, 308] {
        let server = FakeServer::start(vec![Reply::Redirect {
            status,
            location: elsewhere.url.clone(),
        }])
        .await;
        let err = client(&server.url).call("vm.info", (1,)).await.unwrap_err();
        assert_eq!(err.status(), Some(status), "{err}");
        assert_secret_free(&err);
        assert_eq!(server.requests().len(), 1);
    }
    assert!(
        elsewhere.requests().is_empty(),
        "the redirect target got a request"
    );
}

#[tokio::test]
async fn connection_refused_is_a_connect_error() {
    // Bind then drop a listener: nothing listens on that port any more.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let err = client(&format!("http://127.0.0.1:{port}/RPC2"))
        .call("vm.info", (1,))
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert!(err.is_never_sent());
    assert_secret_free(&err);
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_within_the_configured_bound() {
    let server = FakeServer::start(vec![Reply::Silence]).await;
    let one = Client::builder()
        .endpoint(&server.url)
        .session(format!("oneadmin:{PASSWORD}"))
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = one.call("vm.info", (1,)).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(err.is_timeout(), "{err:?}");
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    assert_secret_free(&err);
}

#[tokio::test]
async fn truncated_and_non_xml_bodies_are_clear_errors_and_the_client_stays_usable() {
    let full = one_success("<i4>1</i4>");
    let server = FakeServer::start(vec![
        // the connection dies mid-body
        Reply::Truncated {
            declared: full.len(),
            body: full[..full.len() / 2].to_vec(),
        },
        // a complete HTTP exchange carrying cut-off XML
        Reply::xml(full[..full.len() / 2].to_vec()),
        // not XML at all
        Reply::xml(b"this is not xml".to_vec()),
        // XML, but not an XML-RPC response
        Reply::xml(b"<html><body>hello</body></html>".to_vec()),
        // the server closes without answering
        Reply::Close,
        // and a good answer afterwards
        Reply::xml(one_success("<i4>9</i4>")),
    ])
    .await;
    let one = client(&server.url);

    let err = one.call("vm.info", (1,)).await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    let err = one.call("vm.info", (1,)).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Decode {
                stage: DecodeStage::Envelope,
                position: Some(_),
                ..
            }
        ),
        "{err:?}"
    );
    let err = one.call("vm.info", (1,)).await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    let err = one.call("vm.info", (1,)).await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert!(err.to_string().contains("methodResponse"), "{err}");
    let err = one.call("vm.info", (1,)).await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert_secret_free(&err);

    assert_eq!(one.call_as::<i32>("vm.info", (1,)).await.unwrap(), 9);
}

#[tokio::test]
async fn response_size_limit_is_enforced_while_streaming() {
    let server = FakeServer::start(vec![
        Reply::xml(vec![b'x'; 10_000]),
        // no Content-Length: the limit must stop the body as it streams in
        Reply::Chunked {
            chunk: vec![b'y'; 64 * 1024],
            chunks: 1_000,
        },
        Reply::xml(one_success("<i4>3</i4>")),
    ])
    .await;
    let one = Client::builder()
        .endpoint(&server.url)
        .session("oneadmin:x")
        .max_response_size(4096)
        .build()
        .unwrap();
    let err = one.call("vm.info", (1,)).await.unwrap_err();
    assert!(
        matches!(err, Error::ResponseTooLarge { limit: 4096 }),
        "{err:?}"
    );
    let err = one.call("vm.info", (1,)).await.unwrap_err();
    assert!(
        matches!(err, Error::ResponseTooLarge { limit: 4096 }),
        "{err:?}"
    );
    assert_eq!(one.call_as::<i32>("vm.info", (1,)).await.unwrap(), 3);
}

#[tokio::test]
async fn debug_of_client_and_errors_never_contains_the_password() {
    let one = client("http://127.0.0.1:9/RPC2");
    let shown = format!("{one:?}");
    assert!(!shown.contains(PASSWORD), "{shown}");
    assert!(shown.contains("oneadmin"), "{shown}");
}

#[cfg(feature = "blocking")]
#[test]
fn blocking_client_has_the_same_surface() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(FakeServer::start(vec![
        Reply::xml(one_success("<string>7.5.80</string>")),
        Reply::xml(one_failure(
            "[one.vm.info] Error getting virtual machine [1].",
            0x400,
            1,
        )),
    ]));
    let one =
        opennebula::blocking::Client::new(&server.url, format!("oneadmin:{PASSWORD}")).unwrap();
    assert_eq!(
        one.call_as::<String>("system.version", ()).unwrap(),
        "7.5.80"
    );
    let err = one.call("vm.info", (1,)).unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NoExists));
    assert!(!format!("{one:?}").contains(PASSWORD));
    drop(runtime);
}

fn retrying_client(url: &str) -> Client {
    Client::builder()
        .endpoint(url)
        .session("oneadmin:onepass")
        .timeout(Duration::from_secs(2))
        .retry(
            opennebula::RetryPolicy::new(3)
                .initial_backoff(Duration::from_millis(5))
                .max_backoff(Duration::from_millis(20)),
        )
        .build()
        .unwrap()
}

#[tokio::test]
async fn an_allocate_whose_response_is_lost_is_sent_exactly_once() {
    let server = FakeServer::start(vec![Reply::Close, Reply::xml(one_success("<i4>5</i4>"))]).await;
    let err = retrying_client(&server.url)
        .call("vm.allocate", ("NAME=x", false))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert_eq!(
        server.requests().len(),
        1,
        "a lost allocate must not be repeated"
    );
}

#[tokio::test]
async fn read_calls_are_retried_through_transient_failures() {
    let server = FakeServer::start(vec![
        Reply::Close,
        Reply::Full {
            status: 503,
            content_type: "text/html",
            body: b"<html>busy</html>".to_vec(),
        },
        Reply::xml(one_success("<i4>8</i4>")),
    ])
    .await;
    let id: i32 = retrying_client(&server.url)
        .call_as("vm.info", (8,))
        .await
        .unwrap();
    assert_eq!(id, 8);
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn opennebula_errors_and_faults_are_never_retried() {
    let server =
        FakeServer::start(vec![Reply::xml(one_failure("[one.vm.info] no", 0x400, 1))]).await;
    let err = retrying_client(&server.url)
        .call("vm.info", (1,))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NoExists));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn hostile_documents_hit_the_limits_instead_of_the_memory() {
    // An entity-expansion bomb: refused at the DOCTYPE, nothing expanded.
    let bomb = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]><methodResponse><params><param><value><string>&lol2;</string></value></param></params></methodResponse>";
    // Nesting far beyond any OpenNebula document.
    let deep = format!(
        "<methodResponse><params><param><value>{}{}</value></param></params></methodResponse>",
        "<array><data><value>".repeat(200),
        "</value></data></array>".repeat(200)
    );
    // The same inside the escaped document payload.
    let deep_document = one_success(&format!(
        "<string>{}{}</string>",
        "&lt;A&gt;".repeat(500),
        "&lt;/A&gt;".repeat(500)
    ));
    let server = FakeServer::start(vec![
        Reply::xml(bomb.as_bytes().to_vec()),
        Reply::xml(deep.into_bytes()),
        Reply::xml(deep_document),
    ])
    .await;
    let one = client(&server.url);
    let err = one.call("vm.info", (1,)).await.unwrap_err();
    assert!(err.to_string().contains("DOCTYPE"), "{err}");
    let err = one.call("vm.info", (1,)).await.unwrap_err();
    assert!(err.to_string().contains("nested deeper"), "{err}");
    let err = one
        .call_document::<Group>("group.info", (1,))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Decode {
                stage: DecodeStage::Document,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("nested deeper"), "{err}");
}

#[tokio::test]
async fn slow_answers_succeed_within_the_timeout_and_fail_beyond_it() {
    let server = FakeServer::start(vec![
        Reply::Slow {
            delay: Duration::from_millis(100),
            body: one_success("<i4>4</i4>"),
        },
        Reply::Slow {
            delay: Duration::from_secs(30),
            body: one_success("<i4>4</i4>"),
        },
        Reply::xml(one_success("<i4>5</i4>")),
    ])
    .await;
    let one = Client::builder()
        .endpoint(&server.url)
        .session("oneadmin:onepass")
        .timeout(Duration::from_millis(600))
        .build()
        .unwrap();
    assert_eq!(one.call_as::<i32>("vm.info", (4,)).await.unwrap(), 4);
    let started = Instant::now();
    let err = one.call("vm.info", (4,)).await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(one.call_as::<i32>("vm.info", (5,)).await.unwrap(), 5);
}

#[tokio::test]
async fn gateway_errors_with_html_bodies_are_http_errors() {
    let server = FakeServer::start(vec![Reply::Full {
        status: 502,
        content_type: "text/html",
        body: b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
            .to_vec(),
    }])
    .await;
    let err = client(&server.url).call("vm.info", (1,)).await.unwrap_err();
    assert_eq!(err.status(), Some(502));
    assert!(err.to_string().contains("Bad Gateway"), "{err}");
}

#[tokio::test]
async fn response_arrays_of_the_wrong_shape_or_types_are_decode_errors() {
    let envelope = |inner: &str| {
        format!("<?xml version=\"1.0\"?><methodResponse><params><param><value>{inner}</value></param></params></methodResponse>").into_bytes()
    };
    let shapes = [
        envelope("<array><data></data></array>"),
        envelope("<array><data><value><i4>1</i4></value><value><i4>2</i4></value></data></array>"),
        envelope("<array><data><value><boolean>1</boolean></value></data></array>"),
        envelope("<array><data><value><boolean>0</boolean></value><value><string>failed</string></value></data></array>"),
        envelope("<string>not an array</string>"),
        envelope("<struct><member><name>a</name><value><i4>1</i4></value></member></struct>"),
    ];
    let server = FakeServer::start(shapes.iter().cloned().map(Reply::xml).collect()).await;
    let one = client(&server.url);
    for _ in 0..shapes.len() {
        let err = one.call("vm.info", (1,)).await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::Decode {
                    stage: DecodeStage::ResponseArray,
                    ..
                }
            ),
            "{err:?}"
        );
    }
    // A well-shaped response whose payload has the wrong type for the typed call.
    let server = FakeServer::start(vec![Reply::xml(one_success("<string>abc</string>"))]).await;
    let err = client(&server.url)
        .call_as::<i32>("vm.allocate", ("x",))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Decode {
                stage: DecodeStage::Value,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("expected int"), "{err}");
}
