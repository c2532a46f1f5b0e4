//! Waits that listen, against the test server (XML-RPC) and a publisher driven by the test
//! (the `zeromq` crate's XPUB, which shows when the wait has subscribed: no sleeps). The
//! test server does not publish yet; these tests stand in for its state changes.

#![cfg(feature = "events")]

use std::time::Duration;

use opennebula::api::helpers::{
    wait_for_host_state, wait_for_image_state, wait_for_vm_state, HelperError, WaitOptions,
};
use opennebula::api::{HostState, ImageState, LcmState, VmState};
use opennebula::events::message::{Frames, StateMessage};
use opennebula_test_server::TestServer;
use zeromq::{Socket, SocketRecv, SocketSend, ZmqMessage};

const STEP: Duration = Duration::from_secs(30);

/// A publisher on a free loopback port.
struct Publisher {
    socket: zeromq::XPubSocket,
    endpoint: String,
}

impl Publisher {
    async fn start() -> Publisher {
        let mut socket = zeromq::XPubSocket::new();
        let endpoint = socket.bind("tcp://127.0.0.1:0").await.unwrap().to_string();
        Publisher { socket, endpoint }
    }

    /// The next subscription a subscriber sent.
    async fn subscription(&mut self) -> String {
        let message = tokio::time::timeout(STEP, self.socket.recv())
            .await
            .expect("a subscription in time")
            .unwrap();
        let frame = message.get(0).unwrap();
        assert_eq!(frame.first(), Some(&1), "a subscribe message");
        String::from_utf8(frame[1..].to_vec()).unwrap()
    }

    async fn publish(&mut self, frames: &[Frames]) {
        for frames in frames {
            let mut message = ZmqMessage::from(frames.key.clone());
            message.push_back(frames.payload.clone().into());
            self.socket.send(message).await.unwrap();
        }
    }
}

/// A test server with one host and VM 0 running on it.
async fn server_with_one_vm() -> TestServer {
    TestServer::builder()
        .seed_hosts(1)
        .seed_vms(1)
        .start()
        .await
        .unwrap()
}

/// A client of `server` that listens to `publisher`.
fn listening_client(server: &TestServer, publisher: &Publisher) -> opennebula::Client {
    server
        .client_builder()
        .events_endpoint(&publisher.endpoint)
        .build()
        .unwrap()
}

fn vm_info_calls(server: &TestServer) -> usize {
    server
        .received_calls()
        .iter()
        .filter(|m| *m == "one.vm.info")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_that_lasts_one_step_is_seen_by_listening_and_missed_by_polling() {
    let server = server_with_one_vm().await;
    let mut publisher = Publisher::start().await;
    let listening = listening_client(&server, &publisher);
    let polling = server.client().unwrap();
    // The VM runs; it will pass through SHUTDOWN_POWEROFF for one step only: the server
    // never shows it, the bus does.
    let mut vm = polling.vm().info(0).await.unwrap();
    assert_eq!(vm.lcm_state(), LcmState::Running);
    vm.lcm_state = LcmState::ShutdownPoweroff.code();
    let transient = StateMessage::for_vm(&vm).frames();
    let before = vm_info_calls(&server);

    let waiting = tokio::spawn({
        let client = listening.clone();
        async move {
            wait_for_vm_state(
                &client,
                0,
                VmState::Active,
                Some(LcmState::ShutdownPoweroff),
                WaitOptions::with_timeout(Duration::from_secs(60)),
            )
            .await
        }
    });
    assert_eq!(publisher.subscription().await, "EVENT VM 0/");
    // Published as soon as the wait has subscribed, maybe before it read the state: the
    // event waits in the subscriber's buffer.
    publisher.publish(&transient).await;
    let seen = tokio::time::timeout(STEP, waiting)
        .await
        .expect("the wait ends")
        .unwrap()
        .expect("the transient state was seen");
    assert_eq!(seen.id, 0);
    assert_eq!(seen.lcm_state(), LcmState::ShutdownPoweroff);
    assert_eq!(
        vm_info_calls(&server) - before,
        1,
        "one read, then only events"
    );

    // Polling sees RUNNING, RUNNING, RUNNING...
    let missed = wait_for_vm_state(
        &polling,
        0,
        VmState::Active,
        Some(LcmState::ShutdownPoweroff),
        WaitOptions {
            timeout: Duration::from_millis(1500),
            initial_delay: Duration::from_millis(200),
            ..WaitOptions::default()
        },
    )
    .await;
    match missed {
        Err(HelperError::TimedOut { last, .. }) => assert_eq!(last, "ACTIVE/RUNNING"),
        other => panic!("polling cannot see the transient state, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_and_host_waits_listen_too() {
    let server = TestServer::builder().seed_hosts(1).start().await.unwrap();
    let mut publisher = Publisher::start().await;
    let client = listening_client(&server, &publisher);

    // The host goes to ERROR and back; the server never shows it.
    let mut host = client.host().info(0).await.unwrap();
    assert_eq!(host.state(), HostState::Monitored);
    host.state = HostState::Error.code();
    let error = StateMessage::for_host(&host).frames();
    let waiting = tokio::spawn({
        let client = client.clone();
        async move { wait_for_host_state(&client, 0, HostState::Error, WaitOptions::default()).await }
    });
    assert_eq!(publisher.subscription().await, "EVENT HOST 0/");
    publisher.publish(&error).await;
    let seen = tokio::time::timeout(STEP, waiting)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(seen.state(), HostState::Error);

    // An image: an event for another image first, then the awaited one.
    let ds = 1;
    let id = client
        .image()
        .allocate("NAME=\"os\"\nPATH=\"/tmp/os.img\"\nSIZE=\"1\"", ds)
        .await
        .unwrap();
    let mut image = client.image().info(id).await.unwrap();
    image.state = ImageState::Error.code();
    let error = StateMessage::for_image(&image).frames();
    let mut other = image.clone();
    other.id += 1;
    other.state = ImageState::Ready.code();
    let waiting = tokio::spawn({
        let client = client.clone();
        async move {
            wait_for_image_state(&client, id, ImageState::Disabled, WaitOptions::default()).await
        }
    });
    assert_eq!(publisher.subscription().await, format!("EVENT IMAGE {id}/"));
    publisher
        .publish(&StateMessage::for_image(&other).frames())
        .await;
    publisher.publish(&error).await;
    match tokio::time::timeout(STEP, waiting).await.unwrap().unwrap() {
        Err(HelperError::Unreachable { reason, .. }) => assert_eq!(reason, "the image is ERROR"),
        other => panic!("an image in ERROR cannot become DISABLED: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_reachable_bus_the_waits_poll() {
    let server = server_with_one_vm().await;
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = server
        .client_builder()
        .events_endpoint(format!("tcp://127.0.0.1:{port}"))
        .build()
        .unwrap();
    assert_eq!(
        client.events_endpoint(),
        Some(format!("tcp://127.0.0.1:{port}").as_str())
    );
    let started = std::time::Instant::now();
    let vm = wait_for_vm_state(
        &client,
        0,
        VmState::Active,
        Some(LcmState::Running),
        WaitOptions::with_timeout(Duration::from_secs(30)),
    )
    .await
    .unwrap();
    assert_eq!(vm.lcm_state(), LcmState::Running);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn the_blocking_subscriber_iterates_and_the_blocking_wait_listens() {
    use opennebula::events::{blocking, Event, Filter};

    let server = TestServer::builder()
        .seed_hosts(1)
        .seed_vms(1)
        .start_blocking()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mut publisher = runtime.block_on(Publisher::start());
    let endpoint = publisher.endpoint.clone();
    let mut subscriber = blocking::Subscriber::connect(&endpoint, [Filter::vms()]).unwrap();
    assert_eq!(
        runtime.block_on(publisher.subscription()),
        "EVENT STATE VM/"
    );
    let client = opennebula::blocking::Client::from_builder(
        server.server().client_builder().events_endpoint(&endpoint),
    )
    .unwrap();
    let mut vm = client.vm().info(0).unwrap();
    vm.state = VmState::Poweroff.code();
    vm.lcm_state = LcmState::Init.code();
    let frames = StateMessage::for_vm(&vm).frames();
    runtime.block_on(publisher.publish(&frames));
    match subscriber.next() {
        Some(Ok(Event::State(change))) => assert_eq!(change.to_string(), "VM 0 POWEROFF/LCM_INIT"),
        other => panic!("{other:?}"),
    }
    assert!(subscriber.next_timeout(Duration::from_millis(50)).is_none());

    let waiting = std::thread::spawn(move || {
        opennebula::api::helpers::blocking::wait_for_vm_state(
            &client,
            0,
            VmState::Poweroff,
            None,
            WaitOptions::with_timeout(Duration::from_secs(60)),
        )
    });
    assert_eq!(runtime.block_on(publisher.subscription()), "EVENT VM 0/");
    runtime.block_on(publisher.publish(&frames));
    let vm = waiting.join().unwrap().unwrap();
    assert_eq!(vm.state(), VmState::Poweroff);
    // The iterator's subscriber saw the second change too.
    assert!(matches!(subscriber.next(), Some(Ok(Event::State(_)))));
    assert_eq!(subscriber.stats().delivered, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_the_bus_never_told_is_found_by_reading_again() {
    let server = TestServer::builder()
        .seed_hosts(1)
        .auto_schedule(false)
        .start()
        .await
        .unwrap();
    let mut publisher = Publisher::start().await;
    let client = listening_client(&server, &publisher);
    let id = client
        .vm()
        .allocate("NAME=\"quiet\"\nCPU=\"0.1\"\nMEMORY=\"32\"")
        .await
        .unwrap();
    let before = vm_info_calls(&server);
    let waiting = tokio::spawn({
        let client = client.clone();
        async move {
            let options = WaitOptions {
                timeout: Duration::from_secs(60),
                max_delay: Duration::from_millis(200),
                ..WaitOptions::default()
            };
            wait_for_vm_state(
                &client,
                id,
                VmState::Active,
                Some(LcmState::Running),
                options,
            )
            .await
        }
    });
    assert_eq!(publisher.subscription().await, format!("EVENT VM {id}/"));
    // The publisher goes away (oned restarts): the wait is told, and reads the state again.
    drop(publisher);
    let deadline = std::time::Instant::now() + STEP;
    while vm_info_calls(&server) < before + 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the wait did not read again"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The VM starts while nobody publishes: only the wait's safety-net reads can see it.
    assert_eq!(server.schedule(), 1);
    let vm = tokio::time::timeout(STEP, waiting)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(vm.lcm_state(), LcmState::Running);
}
