//! The subscriber against libzmq itself: a pyzmq publisher (`tests/events/publisher.py`,
//! libzmq 4.3 as oned's driver uses it) sends oned-shaped messages, the recorded oned frames
//! among them, and our subscriber reads them.
//!
//! The test makes a venv under the workspace's target folder and installs pyzmq there. When
//! pip cannot reach its registry, the tests FAIL (loudly): they never pass without libzmq.

#![cfg(feature = "events")]

#[path = "support_python/mod.rs"]
mod support_python;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use futures_util::StreamExt;
use opennebula::api::helpers::{wait_for_vm_state, WaitOptions};
use opennebula::api::{LcmState, VmState};
use opennebula::events::message::{encode_payload, ApiMessage, Frames, Parameter, StateMessage};
use opennebula::events::{Event, EventError, Filter, Subscriber};
use opennebula_test_server::TestServer;
use serde_json::{json, Value};
use support_python::{venv_with, Venv};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::OnceCell;

/// Bound for any single step (a command answered, an event received).
const STEP: Duration = Duration::from_secs(30);

fn target_dir() -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    std::fs::create_dir_all(&dir).expect("create the target dir");
    dir
}

/// The venv's python, with pyzmq installed (made once per test run).
async fn python() -> PathBuf {
    static PYTHON: OnceCell<PathBuf> = OnceCell::const_new();
    PYTHON
        .get_or_init(|| async {
            let venv = target_dir().join("events-pyzmq-venv");
            match venv_with(&venv, "pyzmq", "zmq").await {
                Venv::Ready(python) => python,
                Venv::RegistryUnreachable(output) => panic!(
                    "pip cannot reach PyPI: these interop tests need libzmq (pyzmq) and do \
                     not pass without it:\n{output}"
                ),
            }
        })
        .await
        .clone()
}

/// A running `publisher.py`.
struct PyPublisher {
    endpoint: String,
    stdin: ChildStdin,
    stdout: tokio::io::Lines<BufReader<ChildStdout>>,
    _child: Child,
}

impl PyPublisher {
    async fn start(args: &[&str]) -> PyPublisher {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/events/publisher.py");
        let mut child = Command::new(python().await)
            .arg(script)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start publisher.py");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut publisher = PyPublisher {
            endpoint: String::new(),
            stdin,
            stdout,
            _child: child,
        };
        let hello = publisher.answer().await;
        let version = hello["libzmq"].as_str().unwrap().to_string();
        assert!(
            version.starts_with("4.3"),
            "pyzmq bundles libzmq {version}, not 4.3"
        );
        publisher.endpoint = hello["endpoint"].as_str().unwrap().to_string();
        publisher
    }

    async fn tell(&mut self, command: Value) {
        let line = format!("{command}\n");
        self.stdin.write_all(line.as_bytes()).await.unwrap();
        self.stdin.flush().await.unwrap();
    }

    async fn answer(&mut self) -> Value {
        let line = tokio::time::timeout(STEP, self.stdout.next_line())
            .await
            .expect("publisher.py answers in time")
            .expect("read publisher.py")
            .expect("publisher.py is running");
        let value: Value = serde_json::from_str(&line).unwrap();
        assert!(value.get("error").is_none(), "{value}");
        value
    }

    async fn command(&mut self, command: Value) -> Value {
        self.tell(command).await;
        self.answer().await
    }

    async fn await_subscriptions(&mut self, count: usize) -> Vec<String> {
        let answer = self
            .command(json!({"cmd": "await_subscriptions", "count": count}))
            .await;
        let mut seen: Vec<String> = answer["subscriptions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect();
        seen.sort();
        seen
    }

    async fn send(&mut self, messages: Vec<Vec<Value>>) {
        let count = messages.len();
        let answer = self
            .command(json!({"cmd": "send", "messages": messages}))
            .await;
        assert_eq!(answer["sent"], count);
    }
}

fn frames_json(frames: &Frames) -> Vec<Value> {
    vec![json!(frames.key), json!(frames.payload)]
}

/// A message every test subscriber also subscribes to: when it arrives, everything sent
/// before it has arrived too (one publisher's messages keep their order).
fn sentinel() -> Vec<Value> {
    let message = ApiMessage {
        method: "one.zz.sentinel".into(),
        success: true,
        parameters: vec![Parameter::input(1, "****")],
        extra: String::new(),
    };
    frames_json(&message.frames())
}

fn sentinel_filter() -> Filter {
    Filter::api_call("one.zz.sentinel")
}

fn is_sentinel(item: &Result<Event, EventError>) -> bool {
    matches!(item, Ok(Event::Api(call)) if call.method == "one.zz.sentinel")
}

async fn next(subscriber: &mut Subscriber) -> Result<Event, EventError> {
    tokio::time::timeout(STEP, subscriber.next())
        .await
        .expect("an item in time")
        .expect("the stream goes on")
}

/// Everything up to the sentinel (excluded).
async fn until_sentinel(subscriber: &mut Subscriber) -> Vec<Result<Event, EventError>> {
    let mut items = Vec::new();
    loop {
        let item = next(subscriber).await;
        if is_sentinel(&item) {
            return items;
        }
        items.push(item);
    }
}

/// The key an event arrived under (API keys rebuilt from the message).
fn key_of(event: &Event) -> String {
    match event {
        Event::State(change) => change.key.clone(),
        Event::Api(call) => call.key().to_string(),
        Event::Retry(_) => "RETRY".into(),
        other => panic!("unexpected {other:?}"),
    }
}

fn vm_message(id: i32, lcm: &str) -> StateMessage {
    StateMessage::new(
        opennebula::events::ObjectKind::Vm,
        id,
        "ACTIVE",
        format!(
            "<VM><ID>{id}</ID><NAME>vm-{id}</NAME><STATE>3</STATE><LCM_STATE>{}</LCM_STATE></VM>",
            lcm_code(lcm)
        ),
    )
    .with_lcm_state(lcm)
}

fn lcm_code(name: &str) -> i64 {
    name.parse::<LcmState>().unwrap().code()
}

#[cfg(feature = "conformance")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_oned_frames_sent_by_libzmq_are_decoded_and_filtered_exactly() {
    use opennebula::api::HostState;

    let recording = std::env::var_os("OPENNEBULA_REFERENCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/reference"))
        .join("oned-7.5.80/grpc-sample/events.jsonl");
    let keys: Vec<String> = std::fs::read_to_string(&recording)
        .unwrap_or_else(|e| panic!("{}: {e}", recording.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["key"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let expect = |wanted: &dyn Fn(&str) -> bool| -> Vec<String> {
        keys.iter().filter(|k| wanted(k)).cloned().collect()
    };
    // (filters, the keys the subscriber must deliver, in order), written without the library.
    let cases: Vec<(Vec<Filter>, Vec<String>)> = vec![
        (
            vec![Filter::everything()],
            expect(&|k| k.starts_with("EVENT API ") || k.starts_with("EVENT STATE ")),
        ),
        (
            vec![Filter::vms()],
            expect(&|k| k.starts_with("EVENT STATE VM/")),
        ),
        (
            vec![Filter::vms(), Filter::vm(1)],
            expect(&|k| k.starts_with("EVENT STATE VM/")),
        ),
        (
            vec![Filter::vm(0)],
            expect(&|k| k.starts_with("EVENT VM 0/")),
        ),
        (
            vec![Filter::api_call_result("one.vm.action", false)],
            expect(&|k| k == "EVENT API one.vm.action 0"),
        ),
        (
            vec![Filter::api_results(false)],
            expect(&|k| k.starts_with("EVENT API ") && k.ends_with(" 0")),
        ),
        (
            vec![Filter::host_state(HostState::Monitored)],
            expect(&|k| k.starts_with("EVENT STATE HOST/MONITORED//")),
        ),
        (
            vec![Filter::image(0), Filter::network(0)],
            expect(&|k| k.starts_with("EVENT IMAGE 0/") || k.starts_with("EVENT NET 0/")),
        ),
    ];
    let mut publisher = PyPublisher::start(&[]).await;
    let mut subscribers = Vec::new();
    let mut prefixes = 0;
    for (filters, _) in &cases {
        let subscriber = Subscriber::builder()
            .endpoint(&publisher.endpoint)
            .filters(filters.iter().cloned())
            .filter(sentinel_filter())
            .connect()
            .await
            .expect("connect to the libzmq publisher");
        prefixes += subscriber.prefixes().len();
        subscribers.push(subscriber);
    }
    publisher.await_subscriptions(prefixes).await;
    let sent = publisher
        .command(json!({"cmd": "replay", "path": recording}))
        .await;
    assert_eq!(sent["sent"], 130);
    publisher.send(vec![sentinel()]).await;
    for ((filters, expected), subscriber) in cases.iter().zip(&mut subscribers) {
        let got: Vec<String> = until_sentinel(subscriber)
            .await
            .into_iter()
            .map(|item| key_of(&item.unwrap_or_else(|e| panic!("{filters:?}: {e}"))))
            .collect();
        assert_eq!(&got, expected, "{filters:?}");
        assert!(!expected.is_empty(), "{filters:?}");
        let stats = subscriber.stats();
        assert_eq!(stats.delivered as usize, expected.len() + 1, "{filters:?}");
        assert_eq!((stats.malformed, stats.lagged), (0, 0));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_are_matched_exactly_even_when_the_publisher_sends_everything() {
    // --manual: libzmq sends every message to every subscriber, whatever they asked for.
    let mut publisher = PyPublisher::start(&["--manual"]).await;
    let mut vm42 = Subscriber::builder()
        .endpoint(&publisher.endpoint)
        .filter(Filter::vm(42))
        .filter(sentinel_filter())
        .connect()
        .await
        .unwrap();
    publisher.await_subscriptions(2).await;
    let mut messages = Vec::new();
    for id in [420, 4, 4200, 42] {
        messages.extend(vm_message(id, "RUNNING").frames().iter().map(frames_json));
    }
    publisher.send(messages).await;
    publisher.send(vec![sentinel()]).await;
    let got: Vec<String> = until_sentinel(&mut vm42)
        .await
        .into_iter()
        .map(|item| key_of(&item.unwrap()))
        .collect();
    assert_eq!(got, ["EVENT VM 42/ACTIVE/RUNNING "]);
    // VM 42's per-state copy, and both copies of each of the three other VMs.
    assert_eq!(vm42.stats().filtered, 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_on_vm_42_is_not_ended_by_vm_420() {
    let server = TestServer::builder()
        .seed_hosts(1)
        .seed_vms(421)
        .start()
        .await
        .unwrap();
    let mut publisher = PyPublisher::start(&["--manual"]).await;
    let client = server
        .client_builder()
        .events_endpoint(&publisher.endpoint)
        .build()
        .unwrap();
    let waiting = tokio::spawn({
        let client = client.clone();
        async move {
            wait_for_vm_state(
                &client,
                42,
                VmState::Active,
                Some(LcmState::ShutdownPoweroff),
                WaitOptions::with_timeout(Duration::from_secs(60)),
            )
            .await
        }
    });
    assert_eq!(publisher.await_subscriptions(1).await, ["EVENT VM 42/"]);
    // VM 420 (both keys, and the per-state one without the trailing space a prefix filter
    // would need) reaches the awaited state first; then VM 42 does.
    let mut messages: Vec<Vec<Value>> = vm_message(420, "SHUTDOWN_POWEROFF")
        .frames()
        .iter()
        .map(frames_json)
        .collect();
    messages.extend(
        vm_message(42, "SHUTDOWN_POWEROFF")
            .frames()
            .iter()
            .map(frames_json),
    );
    publisher.send(messages).await;
    let vm = tokio::time::timeout(STEP, waiting)
        .await
        .expect("the wait ends")
        .unwrap()
        .expect("VM 42 reached the state");
    assert_eq!(vm.id, 42);
    assert_eq!(vm.lcm_state(), LcmState::ShutdownPoweroff);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_messages_are_typed_errors_and_the_stream_goes_on() {
    let mut publisher = PyPublisher::start(&[]).await;
    let mut subscriber = Subscriber::connect(&publisher.endpoint, [Filter::everything()])
        .await
        .unwrap();
    publisher.await_subscriptions(1).await;
    let good = ApiMessage {
        method: "one.vm.deploy".into(),
        success: true,
        parameters: vec![Parameter::input(1, "****")],
        extra: String::new(),
    };
    let bad_xml = encode_payload("<HOOK_MESSAGE><HOOK_TYPE>STATE</HOOK_TYPE><VM>");
    publisher
        .send(vec![
            vec![json!("EVENT API one.vm.deploy 1")],
            vec![json!("EVENT API one.vm.deploy 1"), json!("x"), json!("y")],
            vec![json!({"b64": "/w=="}), json!("payload")],
            vec![json!("EVENT FOO 1/A/B "), json!(good.frames().payload)],
            vec![
                json!("EVENT API one.vm.deploy 1"),
                json!("not base64 at all!"),
            ],
            vec![json!("EVENT STATE VM/ACTIVE/RUNNING/1 "), json!(bad_xml)],
            vec![json!("RETRY"), json!(encode_payload("<HOOK_MESSAGE/>"))],
            frames_json(&good.frames()),
        ])
        .await;
    for expected in [
        "1 frame(s)",
        "3 frame(s)",
        "not UTF-8",
        "not an OpenNebula event key",
        "not base64",
        "malformed HOOK_MESSAGE",
        "HOOK_ID is missing",
    ] {
        match next(&mut subscriber).await {
            Err(EventError::Malformed { problem, .. }) => {
                assert!(problem.contains(expected), "{problem:?} lacks {expected:?}")
            }
            other => panic!("expected a malformed message ({expected}), got {other:?}"),
        }
    }
    match next(&mut subscriber).await {
        Ok(Event::Api(call)) => assert_eq!(call, good),
        other => panic!("{other:?}"),
    }
    let stats = subscriber.stats();
    assert_eq!((stats.malformed, stats.delivered), (7, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publisher_restart_is_reported_and_the_subscription_comes_back() {
    let mut publisher = PyPublisher::start(&[]).await;
    let mut subscriber = Subscriber::connect(&publisher.endpoint, [Filter::vms()])
        .await
        .unwrap();
    assert_eq!(publisher.await_subscriptions(1).await, ["EVENT STATE VM/"]);
    let before = vm_message(1, "BOOT").frames();
    publisher.send(vec![frames_json(&before[1])]).await;
    assert_eq!(key_of(&next(&mut subscriber).await.unwrap()), before[1].key);

    publisher.command(json!({"cmd": "close"})).await;
    match next(&mut subscriber).await {
        Err(e @ EventError::Disconnected { .. }) => assert!(e.may_have_missed_events()),
        other => panic!("expected Disconnected, got {other:?}"),
    }
    publisher.command(json!({"cmd": "rebind"})).await;
    // The subscriber reconnects by itself and subscribes again.
    assert_eq!(publisher.await_subscriptions(1).await, ["EVENT STATE VM/"]);
    let after = vm_message(1, "RUNNING").frames();
    publisher.send(vec![frames_json(&after[1])]).await;
    let (mut reconnected, mut received) = (false, false);
    while !(reconnected && received) {
        match next(&mut subscriber).await {
            Err(EventError::Reconnected { .. }) => reconnected = true,
            Ok(event) => {
                assert_eq!(key_of(&event), after[1].key);
                received = true;
            }
            Err(other) => panic!("{other}"),
        }
    }
    let stats = subscriber.stats();
    assert_eq!(
        (stats.disconnects, stats.reconnects, stats.delivered),
        (1, 1, 2)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_consumer_is_told_exactly_how_many_messages_it_missed() {
    const SENT: u64 = 5000;
    let mut publisher = PyPublisher::start(&[]).await;
    let mut subscriber = Subscriber::builder()
        .endpoint(&publisher.endpoint)
        .filter(Filter::api_call("one.vm.deploy"))
        .buffer(16)
        .connect()
        .await
        .unwrap();
    publisher.await_subscriptions(1).await;
    // Nothing is read while the publisher sends everything.
    publisher
        .command(json!({"cmd": "flood", "count": SENT}))
        .await;
    let (mut delivered, mut missed, mut gaps) = (0u64, 0u64, 0);
    let mut expected_seq = 0u64;
    while delivered + missed < SENT {
        match next(&mut subscriber).await {
            Ok(Event::Api(call)) => {
                let seq: u64 = call.input(2).unwrap().parse().unwrap();
                assert_eq!(
                    seq, expected_seq,
                    "a message vanished without a Lagged item"
                );
                expected_seq += 1;
                delivered += 1;
            }
            Err(EventError::Lagged { missed: n }) => {
                assert!(n > 0);
                gaps += 1;
                missed += n;
                expected_seq += n;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(delivered + missed, SENT);
    assert!(
        gaps >= 1 && missed > 0,
        "the buffer of 16 overflowed: {missed} missed"
    );
    assert!(delivered >= 16);
    let stats = subscriber.stats();
    assert_eq!(
        (stats.received, stats.lagged, stats.delivered),
        (SENT, missed, delivered)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_pub_socket_like_onehm_is_read_too() {
    let mut publisher = PyPublisher::start(&["--pub"]).await;
    let mut subscriber = Subscriber::builder()
        .endpoint(&publisher.endpoint)
        .filter(Filter::api_call("one.zz.probe"))
        .filter(Filter::vm(7))
        .filter(sentinel_filter())
        .connect()
        .await
        .unwrap();
    // A PUB socket shows no subscriptions: it sends probes until the subscriber has one.
    publisher.tell(json!({"cmd": "probe"})).await;
    match next(&mut subscriber).await {
        Ok(Event::Api(call)) => assert_eq!(call.method, "one.zz.probe"),
        other => panic!("{other:?}"),
    }
    let mut messages: Vec<Vec<Value>> = vm_message(7, "BOOT")
        .frames()
        .iter()
        .map(frames_json)
        .collect();
    messages.push(sentinel());
    publisher
        .tell(json!({"cmd": "send", "messages": messages}))
        .await;
    assert_eq!(publisher.answer().await["probed"], true);
    assert_eq!(publisher.answer().await["sent"], 3);
    let events: Vec<Event> = until_sentinel(&mut subscriber)
        .await
        .into_iter()
        .map(|item| item.unwrap())
        .filter(|event| !matches!(event, Event::Api(call) if call.method == "one.zz.probe"))
        .collect();
    assert_eq!(events.len(), 1, "{events:?}");
    let Event::State(change) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(change.to_string(), "VM 7 ACTIVE/BOOT");
    assert_eq!(change.vm().unwrap().name, "vm-7");
}
