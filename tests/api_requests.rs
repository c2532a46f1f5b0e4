//! The exact `methodCall` the typed wrappers send, checked two ways: through the sans-IO
//! request builders, and through the real async and blocking clients against a one-shot local
//! HTTP listener that records the body and answers with a canned response.

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
        body(r.method, r.params),
        expected(
            "one.vm.action",
            &["<string>terminate-hard</string>", "<int>42</int>"]
        )
    );

    let r = request::vmpool::info(PoolFilter::All, -1, -1, VmStateFilter::NotDone, "");
    assert_eq!(
        body(r.method, r.params),
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
        body(r.method, r.params),
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
    assert_eq!(body(r.method, r.params), expected("one.vm.chmod", &params));

    let r = request::vm::lock(3, LockLevel::Admin, true);
    assert_eq!(
        body(r.method, r.params),
        expected(
            "one.vm.lock",
            &["<int>3</int>", "<int>3</int>", "<boolean>1</boolean>"]
        )
    );

    let r = request::vm::update(3, "A=\"<b>\"", UpdateType::Merge);
    assert_eq!(
        body(r.method, r.params),
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
    assert_eq!(r.params[5], Value::Int(2));

    let r = request::image::chtype(1, opennebula::api::ImageType::Datablock);
    assert_eq!(
        r.params,
        vec![Value::Int(1), Value::String("DATABLOCK".into())]
    );

    let r = request::user::allocate("bob", "pw", "core", &[100, 101]);
    assert_eq!(
        r.params[3],
        Value::Array(vec![Value::Int(100), Value::Int(101)])
    );

    let r = request::zone::fed_replicate(5_000_000_000, -1, "sql");
    assert_eq!(r.params[0], Value::I8(5_000_000_000));

    // Raw values stay reachable where the table has an enum.
    let r = request::vm::action("frobnicate", 1);
    assert_eq!(r.params[0], Value::String("frobnicate".into()));
    let r = request::vmpool::info(5, 0, -100, 3, "");
    assert_eq!(r.params[..4], [5, 0, -100, 3].map(Value::Int));
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
