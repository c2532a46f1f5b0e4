//! The exact `methodCall` the typed wrappers send, checked two ways: through the sans-IO
//! request builders, and through the real async and blocking clients against a one-shot local
//! HTTP listener that records the body and answers with a canned response. The same calls
//! against the test server are in `tests/api_integration.rs`.

use std::sync::{Arc, Mutex};

use opennebula::api::acl::AclRule;
use opennebula::api::{
    request, LockLevel, MigrationType, Permissions, PoolFilter, UpdateType, VmAction, VmStateFilter,
};
use opennebula::wire::{encode_method_call, encode_response, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SESSION: &str = "oneadmin:onepass";

/// The body a wrapper sends for `request`, session first.
fn body(method: &str, params: Vec<Value>) -> String {
    let mut all = vec![Value::from(SESSION)];
    all.extend(params);
    encode_method_call(method, &all)
}

fn expected(method: &str, params: &[&str]) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\"?>\n<methodCall>\n<methodName>{method}</methodName>\n<params>\n\
         <param><value><string>{SESSION}</string></value></param>\n"
    );
    for p in params {
        out.push_str(&format!("<param><value>{p}</value></param>\n"));
    }
    out.push_str("</params>\n</methodCall>\n");
    out
}

#[test]
fn request_builders_encode_exactly_what_oned_reads() {
    let r = request::vm::action(VmAction::TerminateHard, 42);
    assert_eq!(
        body(r.method(), r.params().to_vec()),
        expected(
            "one.vm.action",
            &["<string>terminate-hard</string>", "<int>42</int>"]
        )
    );

    let r = request::vmpool::info(PoolFilter::All, -1, -1, VmStateFilter::NotDone, "");
    assert_eq!(
        body(r.method(), r.params().to_vec()),
        expected(
            "one.vmpool.info",
            &[
                "<int>-2</int>",
                "<int>-1</int>",
                "<int>-1</int>",
                "<int>-1</int>",
                "<string></string>"
            ]
        )
    );

    let r = request::template::instantiate(0, "my_VM", false, "MEMORY=\"512\"", true);
    assert_eq!(
        body(r.method(), r.params().to_vec()),
        expected(
            "one.template.instantiate",
            &[
                "<int>0</int>",
                "<string>my_VM</string>",
                "<boolean>0</boolean>",
                "<string>MEMORY=\"512\"</string>",
                "<boolean>1</boolean>"
            ]
        )
    );

    let r = request::vm::chmod(7, Permissions::from_octal(0o640).unwrap());
    let mut params = vec!["<int>7</int>".to_string()];
    params.extend(
        [1, 1, 0, 1, 0, 0, 0, 0, 0]
            .iter()
            .map(|b| format!("<int>{b}</int>")),
    );
    let params: Vec<&str> = params.iter().map(String::as_str).collect();
    assert_eq!(
        body(r.method(), r.params().to_vec()),
        expected("one.vm.chmod", &params)
    );

    let r = request::vm::lock(3, LockLevel::Admin, true);
    assert_eq!(
        body(r.method(), r.params().to_vec()),
        expected(
            "one.vm.lock",
            &["<int>3</int>", "<int>3</int>", "<boolean>1</boolean>"]
        )
    );

    let r = request::vm::update(3, "A=\"<b>\"", UpdateType::Merge);
    assert_eq!(
        body(r.method(), r.params().to_vec()),
        expected(
            "one.vm.update",
            &[
                "<int>3</int>",
                "<string>A=\"&lt;b&gt;\"</string>",
                "<int>1</int>"
            ]
        )
    );

    let r = request::vm::migrate(1, 2, false, true, -1, MigrationType::PoweroffHard);
    assert_eq!(r.params()[5], Value::Int(2));

    let r = request::image::chtype(1, opennebula::api::ImageType::Datablock);
    assert_eq!(
        r.params(),
        vec![Value::Int(1), Value::String("DATABLOCK".into())]
    );

    let r = request::user::allocate("bob", "pw", "core", [100, 101]);
    assert_eq!(
        r.params()[3],
        Value::Array(vec![Value::Int(100), Value::Int(101)])
    );

    let r = request::zone::fed_replicate(5_000_000_000, -1, "sql");
    assert_eq!(r.params()[0], Value::I8(5_000_000_000));

    // Raw values stay reachable where the table has an enum.
    let r = request::vm::action("frobnicate", 1);
    assert_eq!(r.params()[0], Value::String("frobnicate".into()));
    let r = request::vm::lock(3, 4, false);
    assert_eq!(r.params()[1], Value::Int(4));
    let r = request::vm::recover(3, opennebula::api::VmRecoverOperation::Unknown(9));
    assert_eq!(r.params()[1], Value::Int(9));
    let r = request::vmpool::info(5, 0, -100, 3, "");
    assert_eq!(r.params()[..4], [5, 0, -100, 3].map(Value::Int));
}

/// A one-shot HTTP listener: records each request body and answers with `payload` wrapped in
/// OpenNebula's success array.
async fn listener(
    payloads: Vec<Value>,
) -> (String, Arc<Mutex<Vec<String>>>, tokio::task::JoinHandle<()>) {
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}/RPC2", socket.local_addr().unwrap());
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let seen = bodies.clone();
    let task = tokio::spawn(async move {
        for payload in payloads {
            let (mut stream, _) = socket.accept().await.unwrap();
            let mut buffer = Vec::new();
            let body = loop {
                let mut chunk = [0u8; 4096];
                let n = stream.read(&mut chunk).await.unwrap();
                assert!(n > 0, "connection closed before the whole request arrived");
                buffer.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buffer).to_string();
                if let Some(split) = text.find("\r\n\r\n") {
                    let length: usize = text[..split]
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse().ok())?
                        })
                        .expect("a Content-Length header");
                    if buffer.len() >= split + 4 + length {
                        break text[split + 4..split + 4 + length].to_string();
                    }
                }
            };
            seen.lock().unwrap().push(body);
            let response = encode_response(&Value::Array(vec![
                Value::Bool(true),
                payload,
                Value::Int(0),
            ]));
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                response.len()
            );
            stream.write_all(head.as_bytes()).await.unwrap();
            stream.write_all(response.as_bytes()).await.unwrap();
            stream.shutdown().await.unwrap();
        }
    });
    (endpoint, bodies, task)
}

#[tokio::test]
async fn async_wrappers_send_the_builders_requests_and_decode_the_answers() {
    let pool = "<VM_POOL><VM><ID>1</ID></VM><VM><ID>0</ID></VM></VM_POOL>";
    let (endpoint, bodies, task) = listener(vec![
        Value::Int(42),
        Value::String(pool.into()),
        Value::Int(0),
        Value::Int(9),
        Value::Int(17),
    ])
    .await;
    let one = opennebula::Client::new(&endpoint, SESSION).unwrap();

    assert_eq!(one.vm().action(VmAction::Terminate, 42).await.unwrap(), 42);
    let doc = one.vmpool().info_all().await.unwrap();
    assert_eq!(doc.vm.len(), 2);
    assert_eq!(doc.vm[0].id, 1);
    one.vm().info(0).await.unwrap_err(); // an int is not a document: a typed decode error
    assert_eq!(
        one.template().instantiate_simple(0, "my_VM").await.unwrap(),
        9
    );
    let rule: AclRule = "@100 IMAGE+NET/* USE".parse().unwrap();
    assert_eq!(one.acl().add(&rule).await.unwrap(), 17);
    task.await.unwrap();

    let bodies = bodies.lock().unwrap().clone();
    assert_eq!(
        bodies[0],
        expected(
            "one.vm.action",
            &["<string>terminate</string>", "<int>42</int>"]
        )
    );
    // Short forms send what PyONE and the CLI send: trailing defaults are left to oned.
    assert_eq!(
        bodies[1],
        expected(
            "one.vmpool.info",
            &[
                "<int>-2</int>",
                "<int>-1</int>",
                "<int>-1</int>",
                "<int>-1</int>"
            ]
        )
    );
    assert_eq!(bodies[2], expected("one.vm.info", &["<int>0</int>"]));
    assert_eq!(
        bodies[3],
        expected(
            "one.template.instantiate",
            &["<int>0</int>", "<string>my_VM</string>"]
        )
    );
    assert_eq!(
        bodies[4],
        expected(
            "one.acl.addrule",
            &[
                "<string>200000064</string>",
                "<string>c400000000</string>",
                "<string>1</string>"
            ]
        )
    );
}

#[test]
fn integer_parameters_take_any_integer_type_and_check_the_32_bit_range() {
    let id_from_a_listing: i64 = 7;
    let ids_by_ref: Vec<&i16> = vec![&7];
    for request in [
        request::vm::info(id_from_a_listing, false),
        request::vm::info(7_u32, false),
        request::vm::info(7_usize, false),
        request::vm::info(ids_by_ref[0], false),
    ] {
        assert_eq!(request.params()[0], Value::Int(7));
        request.check().unwrap();
    }
    let ids: Vec<i64> = vec![3, 4];
    let set = request::user::allocate("bob", "pw", "core", &ids);
    assert_eq!(
        set.params()[3],
        Value::Array(vec![Value::Int(3), Value::Int(4)])
    );
    set.check().unwrap();

    for too_big in [
        request::vm::info(5_000_000_000_i64, false),
        request::vm::info(u64::MAX, false),
        request::vm::info(i64::from(i32::MIN) - 1, false),
    ] {
        match too_big.check() {
            Err(opennebula::Error::InvalidArgument(message)) => {
                assert!(message.contains("one.vm.info"), "{message}");
                assert!(message.contains("`id`"), "{message}");
            }
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
    }
    let bad_set = request::user::allocate("bob", "pw", "core", [1_i64, 1 << 40]);
    assert!(matches!(
        bad_set.check(),
        Err(opennebula::Error::InvalidArgument(_))
    ));
}

#[tokio::test]
async fn an_out_of_range_id_is_refused_before_anything_is_sent() {
    let vm = "<VM><ID>7</ID><NAME>a</NAME></VM>";
    let (endpoint, bodies, task) = listener(vec![Value::String(vm.into())]).await;
    let one = opennebula::Client::new(&endpoint, SESSION).unwrap();
    let refused = one.vm().info(1_i64 << 33).await;
    assert!(
        matches!(refused, Err(opennebula::Error::InvalidArgument(_))),
        "{refused:?}"
    );
    let listed_id: i64 = 7;
    assert_eq!(one.vm().info(listed_id).await.unwrap().id, 7);
    task.await.unwrap();
    let bodies = bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), 1, "only the valid call reached the server");
    assert_eq!(bodies[0], expected("one.vm.info", &["<int>7</int>"]));
}

#[cfg(feature = "blocking")]
#[tokio::test(flavor = "multi_thread")]
async fn blocking_wrappers_send_the_same_requests() {
    let (endpoint, bodies, task) =
        listener(vec![Value::Int(5), Value::String("<IMAGE_POOL/>".into())]).await;
    let sent = tokio::task::spawn_blocking(move || {
        let one = opennebula::blocking::Client::new(&endpoint, SESSION).unwrap();
        assert_eq!(one.vm().update(5, "A=1").unwrap(), 5);
        let pages: Vec<_> = one.imagepool().pages(PoolFilter::Mine, 10).collect();
        assert_eq!(pages.len(), 1, "an empty first page ends the iteration");
        assert!(pages[0].as_ref().unwrap().image.is_empty());
    });
    sent.await.unwrap();
    task.await.unwrap();
    let bodies = bodies.lock().unwrap().clone();
    assert_eq!(
        bodies[0],
        expected("one.vm.update", &["<int>5</int>", "<string>A=1</string>"])
    );
    assert_eq!(
        bodies[1],
        expected(
            "one.imagepool.info",
            &["<int>-3</int>", "<int>0</int>", "<int>-10</int>"]
        )
    );
}

#[tokio::test]
async fn pages_stream_until_a_short_page() {
    use futures_util::StreamExt;
    let full = "<VM_POOL><VM><ID>5</ID></VM><VM><ID>4</ID></VM></VM_POOL>";
    let short = "<VM_POOL><VM><ID>3</ID></VM></VM_POOL>";
    let (endpoint, bodies, task) = listener(vec![
        Value::String(full.into()),
        Value::String(short.into()),
    ])
    .await;
    let one = opennebula::Client::new(&endpoint, SESSION).unwrap();
    let pages: Vec<_> = one
        .vmpool()
        .pages(PoolFilter::All, VmStateFilter::Any, 2)
        .collect()
        .await;
    task.await.unwrap();
    assert_eq!(pages.len(), 2);
    let bodies = bodies.lock().unwrap().clone();
    let params: Vec<Vec<Value>> = bodies
        .iter()
        .map(|b| {
            opennebula::wire::decode_method_call(b.as_bytes())
                .unwrap()
                .1
        })
        .collect();
    // (session, filter, offset, -page size, state, json_query)
    assert_eq!(params[0][1..5], [-2, 0, -2, -2].map(Value::Int));
    assert_eq!(params[1][1..5], [-2, 2, -2, -2].map(Value::Int));
}

#[test]
fn wrapper_futures_are_send_and_borrow_only_the_client() {
    fn assert_send<T: Send>(_: &T) {}
    let one = opennebula::Client::new("http://127.0.0.1:9/RPC2", SESSION).unwrap();
    let name = String::from("temporary");
    // The future owns its request: `name` can be dropped before it runs.
    let future = one.template().instantiate_simple(0, &name);
    drop(name);
    assert_send(&future);
    assert_send(&one.vmpool().pages(PoolFilter::All, VmStateFilter::Any, 10));
    drop(future);
}

#[tokio::test]
async fn marketapp_export_allocates_the_image_then_the_vm_template() {
    use base64::Engine as _;
    use opennebula::api::helpers::{marketapp_export, ExportOptions, ExportedApp};
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let app = format!(
        "<MARKETPLACEAPP><ID>7</ID><NAME>Alpine \"3\"</NAME><TYPE>1</TYPE><STATE>1</STATE>\
         <APPTEMPLATE64>{}</APPTEMPLATE64><TEMPLATE><VMTEMPLATE64>{}</VMTEMPLATE64></TEMPLATE>\
         </MARKETPLACEAPP>",
        b64("DEV_PREFIX=\"vd\""),
        b64("CPU=\"1\"\nMEMORY=\"128\"")
    );
    let datastores = "<DATASTORE_POOL><DATASTORE><ID>0</ID><NAME>system</NAME></DATASTORE>\
                      <DATASTORE><ID>1</ID><NAME>default</NAME></DATASTORE></DATASTORE_POOL>";
    let (endpoint, bodies, task) = listener(vec![
        Value::String(app),
        Value::String(datastores.into()),
        Value::Int(12),
        Value::Int(30),
    ])
    .await;
    let one = opennebula::Client::new(&endpoint, SESSION).unwrap();
    let exported = marketapp_export(&one, 7, ExportOptions::default())
        .await
        .unwrap();
    task.await.unwrap();
    assert_eq!(
        exported,
        ExportedApp {
            image_id: 12,
            vmtemplate_id: Some(30)
        }
    );
    let calls: Vec<(String, Vec<Value>)> = bodies
        .lock()
        .unwrap()
        .iter()
        .map(|b| opennebula::wire::decode_method_call(b.as_bytes()).unwrap())
        .collect();
    let names: Vec<&str> = calls.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "one.marketapp.info",
            "one.datastorepool.info",
            "one.image.allocate",
            "one.template.allocate"
        ]
    );
    assert_eq!(
        calls[2].1[1..3],
        [
            Value::String("DEV_PREFIX=\"vd\"\nNAME=\"Alpine \\\"3\\\"\"\nFROM_APP=\"7\"\n".into()),
            Value::Int(1)
        ]
    );
    assert_eq!(
        calls[3].1[1],
        Value::String(
            "CPU=\"1\"\nMEMORY=\"128\"\nNAME=\"Alpine \\\"3\\\"\"\nDISK=[ IMAGE_ID = \"12\" ]\n"
                .into()
        )
    );
}

#[tokio::test]
async fn marketapp_export_refuses_apps_that_are_not_ready_images() {
    use opennebula::api::helpers::{marketapp_export, ExportOptions, HelperError};
    let app = "<MARKETPLACEAPP><ID>7</ID><TYPE>2</TYPE><STATE>1</STATE></MARKETPLACEAPP>";
    let (endpoint, _bodies, task) = listener(vec![Value::String(app.into())]).await;
    let one = opennebula::Client::new(&endpoint, SESSION).unwrap();
    let err = marketapp_export(&one, 7, ExportOptions::default())
        .await
        .unwrap_err();
    task.await.unwrap();
    assert!(
        matches!(&err, HelperError::Precondition(m) if m.contains("VMTEMPLATE")),
        "{err}"
    );
}

#[tokio::test]
async fn wait_for_vm_state_polls_until_running_and_stops_at_done() {
    use opennebula::api::helpers::{wait_for_vm_state, HelperError, WaitOptions};
    use opennebula::api::{LcmState, VmState};
    use std::time::Duration;
    let vm = |state: i32, lcm: i32| {
        Value::String(format!(
            "<VM><ID>4</ID><STATE>{state}</STATE><LCM_STATE>{lcm}</LCM_STATE></VM>"
        ))
    };
    let fast = WaitOptions {
        timeout: Duration::from_secs(30),
        initial_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(2),
        factor: 2.0,
    };
    let (endpoint, bodies, task) = listener(vec![vm(1, 0), vm(3, 2), vm(3, 3)]).await;
    let one = opennebula::Client::new(&endpoint, SESSION).unwrap();
    let running = wait_for_vm_state(&one, 4, VmState::Active, Some(LcmState::Running), fast)
        .await
        .unwrap();
    task.await.unwrap();
    assert_eq!(running.lcm_state(), LcmState::Running);
    assert_eq!(bodies.lock().unwrap().len(), 3);

    let (endpoint, _, task) = listener(vec![vm(1, 0), vm(6, 0)]).await;
    let one = opennebula::Client::new(&endpoint, SESSION).unwrap();
    let err = wait_for_vm_state(&one, 4, VmState::Active, None, fast)
        .await
        .unwrap_err();
    task.await.unwrap();
    assert!(matches!(err, HelperError::Unreachable { .. }), "{err}");
}

#[cfg(feature = "blocking")]
#[tokio::test(flavor = "multi_thread")]
async fn blocking_helpers_match_the_async_ones() {
    use opennebula::api::helpers::{blocking::wait_for_vm_state, WaitOptions};
    use opennebula::api::VmState;
    use std::time::Duration;
    let (endpoint, _bodies, task) = listener(vec![
        Value::String("<VM><ID>4</ID><STATE>1</STATE></VM>".into()),
        Value::String("<VM><ID>4</ID><STATE>8</STATE></VM>".into()),
    ])
    .await;
    let vm = tokio::task::spawn_blocking(move || {
        let one = opennebula::blocking::Client::new(&endpoint, SESSION).unwrap();
        let options = WaitOptions {
            initial_delay: Duration::from_millis(1),
            ..WaitOptions::with_timeout(Duration::from_secs(30))
        };
        wait_for_vm_state(&one, 4, VmState::Poweroff, None, options).unwrap()
    })
    .await
    .unwrap();
    task.await.unwrap();
    assert_eq!(vm.state(), VmState::Poweroff);
}

#[tokio::test]
async fn call_any_document_decodes_by_root_element() {
    use opennebula::models::Document;
    let (endpoint, _bodies, task) = listener(vec![
        Value::String("<HOST><ID>3</ID><NAME>h</NAME></HOST>".into()),
        Value::Int(1),
    ])
    .await;
    let one = opennebula::Client::new(&endpoint, SESSION).unwrap();
    match one.call_any_document("host.info", (3,)).await.unwrap() {
        Document::Host(host) => assert_eq!(host.name, "h"),
        other => panic!("decoded as {other:?}"),
    }
    assert!(one
        .call_any_document("vm.action", ("stop", 1))
        .await
        .is_err());
    task.await.unwrap();
}
