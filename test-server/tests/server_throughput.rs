//! Sequential `one.host.info` throughput from the async client (run with `--ignored
//! --nocapture`, in release mode for meaningful figures).

use std::time::{Duration, Instant};

use opennebula_test_server::TestServer;

#[tokio::test]
#[ignore = "measurement, not a check: cargo test --release --features test-server --test server_throughput -- --ignored --nocapture"]
async fn host_info_calls_per_second() {
    let server = TestServer::builder()
        .seed_hosts(10)
        .seed_vms(100)
        .start()
        .await
        .unwrap();
    let client = server.client().unwrap();
    for _ in 0..50 {
        client.call("one.host.info", (0,)).await.unwrap();
    }
    let calls = 2000;
    let started = Instant::now();
    for i in 0..calls {
        client.call("one.host.info", (i % 10,)).await.unwrap();
    }
    let elapsed = started.elapsed();
    let rate = calls as f64 / elapsed.as_secs_f64();
    println!(
        "one.host.info sequential: {calls} calls in {:.3} s = {rate:.0} calls/s ({:.1} us/call)",
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e6 / calls as f64
    );
    assert!(elapsed < Duration::from_secs(120));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "measurement, not a check"]
async fn concurrent_version_calls_per_second() {
    let server = TestServer::start().await.unwrap();
    let started = Instant::now();
    let http = reqwest::Client::new();
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let client = server
            .client_builder()
            .http_client(http.clone())
            .build()
            .unwrap();
        tasks.push(tokio::spawn(async move {
            for _ in 0..30 {
                client.call("one.system.version", ()).await.unwrap();
            }
        }));
    }
    let built = started.elapsed();
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed();
    println!(
        "200 clients x 30 one.system.version: {:.3} s ({:.3} s building clients) = {:.0} calls/s",
        elapsed.as_secs_f64(),
        built.as_secs_f64(),
        6000.0 / elapsed.as_secs_f64()
    );
}
