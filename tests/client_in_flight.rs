//! The in-flight cap: a binary of its own, so that the fake server's process-wide
//! concurrency gauge sees only this test.

mod support;

use std::time::Duration;

use opennebula::Client;
use support::{max_concurrent_requests, one_success, FakeServer, Reply};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_in_flight_cap_queues_calls_and_is_never_exceeded() {
    let server = FakeServer::start(vec![Reply::Slow {
        delay: Duration::from_millis(30),
        body: one_success("<i4>1</i4>"),
    }])
    .await;
    let one = Client::builder()
        .endpoint(&server.url)
        .session("oneadmin:onepass")
        .max_in_flight(2)
        .build()
        .unwrap();
    let calls: Vec<_> = (0..10)
        .map(|_| {
            let one = one.clone();
            tokio::spawn(async move { one.call_as::<i32>("vm.info", (1,)).await })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap(), 1);
    }
    assert_eq!(server.requests().len(), 10);
    assert_eq!(
        max_concurrent_requests(),
        2,
        "cap of 2 must be reached and never exceeded"
    );
}
