//! The test server's XML-RPC dialect: xmlrpc-c framing and faults, authentication, the
//! `system.*` methods, and the wiremock-style API.

mod server_support;

use opennebula::wire::{encode_method_call, MethodResponse};
use opennebula::{Client, Error, ErrorCode, Value};
use opennebula_test_server::TestServer;
use server_support::{assert_one_error, doc, field};

async fn post_raw(server: &TestServer, body: &str) -> (reqwest::header::HeaderMap, String) {
    let response = reqwest::Client::new()
        .post(server.url())
        .header("Content-Type", "text/xml")
        .body(body.to_string())
        .send()
        .await
        .expect("server answers");
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    (headers, response.text().await.expect("body"))
}

#[tokio::test]
async fn answers_like_oned_with_crlf_framing_and_connection_close() {
    let server = TestServer::start().await.unwrap();
    assert!(server.url().starts_with("http://127.0.0.1:"));
    assert!(server.url().ends_with("/RPC2"));
    assert_eq!(server.session(), "oneadmin:onepass");
    let body = encode_method_call("one.system.version", &[Value::from("oneadmin:onepass")]);
    let (headers, text) = post_raw(&server, &body).await;
    assert_eq!(headers["content-type"], "text/xml");
    assert_eq!(headers["connection"], "close");
    assert_eq!(
        text,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<methodResponse>\r\n<params>\r\n\
         <param><value><array><data>\r\n<value><boolean>1</boolean></value>\r\n\
         <value><string>7.5.80</string></value>\r\n<value><i4>0</i4></value>\r\n\
         </data></array></value></param>\r\n</params>\r\n</methodResponse>\r\n"
    );
    assert_eq!(server.received_calls(), ["one.system.version"]);
}

#[tokio::test]
async fn wrong_sessions_get_oned_authentication_error() {
    let server = TestServer::start().await.unwrap();
    for session in ["oneadmin:wrong", "nosuchuser:pw", "oneadmin", ""] {
        let client = Client::new(server.url(), session).unwrap();
        assert_one_error(
            client.call("one.system.version", ()).await,
            ErrorCode::Authentication,
            "[one.system.version] User couldn't be authenticated, aborting call.",
        );
    }
    // An int in the session slot is a failed login too, not a fault.
    let client = server.client().unwrap();
    let response = client
        .call_raw("one.vm.info", &[Value::Int(0)])
        .await
        .unwrap();
    let err = opennebula::wire::one_payload(response).unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Authentication));
}

#[tokio::test]
async fn configured_credentials_and_extra_users() {
    let server = TestServer::builder()
        .admin_password("s3cret")
        .user("alice", "alicepw")
        .start()
        .await
        .unwrap();
    assert_eq!(server.session(), "oneadmin:s3cret");
    let admin = server.client().unwrap();
    let me = doc(admin.call("one.user.info", (-1,)).await.unwrap());
    assert_eq!(field(&me, "NAME").as_deref(), Some("oneadmin"));
    let alice = Client::new(server.url(), "alice:alicepw").unwrap();
    let info = doc(alice.call("one.user.info", (-1,)).await.unwrap());
    assert_eq!(field(&info, "ID").as_deref(), Some("2"));
    assert_eq!(field(&info, "GNAME").as_deref(), Some("users"));
    let old = Client::new(server.url(), "oneadmin:onepass").unwrap();
    assert_eq!(
        old.call("one.system.version", ()).await.unwrap_err().code(),
        Some(ErrorCode::Authentication)
    );
}

#[tokio::test]
async fn parameter_types_are_checked_as_xmlrpc_c_does() {
    let server = TestServer::start().await.unwrap();
    let client = server.client().unwrap();
    let fault = |r: opennebula::Result<Value>| match r {
        Err(Error::Fault { code, message }) => (code, message),
        other => panic!("expected a fault, got {other:?}"),
    };
    assert_eq!(
        fault(client.call("one.vm.info", ("7",)).await),
        (
            -501,
            "Parameter that is supposed to be integer is not".into()
        )
    );
    assert_eq!(
        fault(client.call("one.vm.info", (Value::I8(0),)).await),
        (
            -501,
            "Parameter that is supposed to be integer is not".into()
        )
    );
    assert_eq!(
        fault(client.call("one.vm.info", ()).await),
        (-501, "Not enough parameters".into())
    );
    assert_eq!(
        fault(client.call("one.vm.info", (0, 1)).await),
        (
            -501,
            "Parameter that is supposed to be boolean is not".into()
        )
    );
    assert_eq!(
        fault(client.call("one.no.such.method", ()).await),
        (-506, "Method 'one.no.such.method' not defined".into())
    );
    // Extra trailing parameters are ignored: this reaches oned's NO_EXISTS.
    assert_one_error(
        client.call("one.vm.info", (999, false, "extra")).await,
        ErrorCode::NoExists,
        "[one.vm.info] Error getting virtual machine [999].",
    );
}

#[tokio::test]
async fn malformed_calls_are_parse_faults() {
    let server = TestServer::start().await.unwrap();
    for body in [
        "this is not xml",
        "<?xml version=\"1.0\"?><methodCall><methodName>one.vm.info</methodName><params>",
        "<methodCall><methodName>one.vm.info</methodName><params><param><value>\
         <boolean>true</boolean></value></param></params></methodCall>",
    ] {
        let (_, text) = post_raw(&server, body).await;
        match opennebula::wire::decode_response(text.as_bytes()).unwrap() {
            MethodResponse::Fault { code, message } => {
                assert_eq!(code, -503);
                assert!(message.starts_with("Call XML not a proper XML-RPC call."));
            }
            other => panic!("expected a fault for {body:?}, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn introspection_and_multicall() {
    let server = TestServer::start().await.unwrap();
    let client = server.client().unwrap();
    let MethodResponse::Params(params) = client.call_raw("system.listMethods", &[]).await.unwrap()
    else {
        panic!("listMethods faulted");
    };
    let names = params[0].as_array().unwrap();
    assert_eq!(names.len(), 8 + 307);
    assert_eq!(names[0], Value::from("system.listMethods"));
    assert!(names.contains(&Value::from("one.vm.allocate")));

    let call = |name: &str, params: Vec<Value>| {
        let mut members = indexmap::IndexMap::new();
        members.insert("methodName".to_string(), Value::from(name));
        members.insert("params".to_string(), Value::Array(params));
        Value::Struct(members)
    };
    let batch = Value::Array(vec![
        call("one.system.version", vec!["oneadmin:onepass".into()]),
        call(
            "one.user.info",
            vec!["oneadmin:onepass".into(), Value::Int(999)],
        ),
        call("one.nope", vec![]),
    ]);
    let MethodResponse::Params(params) =
        client.call_raw("system.multicall", &[batch]).await.unwrap()
    else {
        panic!("multicall faulted");
    };
    let results = params[0].as_array().unwrap();
    assert_eq!(
        results[0],
        Value::Array(vec![Value::Array(vec![
            true.into(),
            "7.5.80".into(),
            Value::Int(0)
        ])])
    );
    let failed = results[1].as_array().unwrap()[0].as_array().unwrap();
    assert_eq!(
        failed[1],
        Value::from("[one.user.info] Error getting user [999].")
    );
    assert_eq!(failed[2], Value::Int(0x400));
    assert_eq!(failed[3], Value::Int(999));
    match &results[2] {
        Value::Struct(fault) => assert_eq!(fault["faultCode"], Value::Int(-506)),
        other => panic!("expected a fault struct, got {other:?}"),
    }
    assert_eq!(
        server.received_calls(),
        [
            "system.listMethods",
            "system.multicall",
            "one.system.version",
            "one.user.info",
            "one.nope"
        ]
    );
}

#[tokio::test]
async fn bootstrap_objects_match_a_fresh_oned() {
    let server = TestServer::start().await.unwrap();
    let client = server.client().unwrap();
    let users = doc(client.call("one.userpool.info", ()).await.unwrap());
    assert_eq!(server_support::pool_ids(&users, "USER"), [1, 0]);
    let groups = doc(client.call("one.grouppool.info", ()).await.unwrap());
    assert_eq!(server_support::pool_ids(&groups, "GROUP"), [1, 0]);
    let datastores = doc(client.call("one.datastorepool.info", ()).await.unwrap());
    assert_eq!(
        server_support::pool_ids(&datastores, "DATASTORE"),
        [2, 1, 0]
    );
    let zone = doc(client.call("one.zone.info", (0,)).await.unwrap());
    assert_eq!(field(&zone, "NAME").as_deref(), Some("OpenNebula"));
    // New objects take oned's first ids.
    assert_eq!(
        client
            .call_as::<i32>("one.group.allocate", ("g",))
            .await
            .unwrap(),
        100
    );
    assert_eq!(
        client
            .call_as::<i32>("one.user.allocate", ("u", "pw", "", Value::Array(vec![])))
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        client
            .call_as::<i32>("one.host.allocate", ("h", "dummy", "dummy", -1))
            .await
            .unwrap(),
        0
    );
    assert_one_error(
        client.call("one.group.allocate", ("g",)).await,
        ErrorCode::Internal,
        "[one.group.allocate] NAME is already taken by GROUP 100.",
    );
    // A failed allocation used no id.
    assert_eq!(
        client
            .call_as::<i32>("one.group.allocate", ("g2",))
            .await
            .unwrap(),
        101
    );
}

#[cfg(feature = "blocking")]
#[test]
fn blocking_server_for_sync_code() {
    let server = opennebula_test_server::BlockingTestServer::start().unwrap();
    let client = server.client().unwrap();
    let version: String = client.call_as("one.system.version", ()).unwrap();
    assert_eq!(version, "7.5.80");
    assert_eq!(server.received_calls(), ["one.system.version"]);
}
