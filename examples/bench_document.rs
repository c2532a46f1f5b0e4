//! Decode cost of one small document response, isolated from HTTP: what
//! `client.call_document::<Vm>("vm.info", (id, false))` and `::<Host>("host.info", ..)` spend
//! turning the response body into the typed value.
//!
//! ```text
//! cargo run --release --example bench_document -- [N] [ONLY]
//! ```
//!
//! Starts an in-process test server seeded with 2 hosts and 20 VMs, fetches one real
//! `one.vm.info` and `one.host.info` response body from it, stops it, then decodes each body
//! N times (default 20000) through `opennebula::wire::decode_document_response`, the
//! function `Client::call_document` runs, and prints microseconds of CPU time per decode
//! (best of five rounds, so that a neighbour's burst of activity does not count; wall time
//! too) and MB/s of response body.
//! A third line decodes the `vm.info` body into a generic `Value` only (the document left as a
//! string), the envelope cost every call pays. ONLY (`vm`, `host` or `value`) runs just that
//! line, for profiling one decode with `perf record`.

use std::hint::black_box;
use std::time::Instant;

use opennebula::models::{Host, Vm};
use opennebula::wire::{self, Value};
use opennebula_test_server::TestServer;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("N must be a number"))
        .unwrap_or(20_000);
    let only = std::env::args().nth(2).unwrap_or_default();
    let wanted = |name: &str| only.is_empty() || only == name;
    let (vm, host) = fetch_bodies();
    // The bodies must decode before they are timed.
    let _: Vm = wire::decode_document_response(&vm).expect("vm.info decodes");
    let _: Host = wire::decode_document_response(&host).expect("host.info decodes");

    if wanted("vm") {
        report("vm.info   -> Vm", &vm, n, |b| {
            black_box(wire::decode_document_response::<Vm>(b).unwrap());
        });
    }
    if wanted("host") {
        report("host.info -> Host", &host, n, |b| {
            black_box(wire::decode_document_response::<Host>(b).unwrap());
        });
    }
    if wanted("value") {
        report("vm.info   -> Value", &vm, n, |b| {
            black_box(wire::decode_one_response(b).unwrap());
        });
    }
}

/// Times `n` decodes of `body`, five rounds, and prints the best round. The time is the
/// thread's CPU time (from `/proc/thread-self/schedstat`, in nanoseconds) when it can be read,
/// which other processes' load on the machine disturbs much less than wall time.
fn report(label: &str, body: &[u8], n: usize, decode: impl Fn(&[u8])) {
    let mut best = f64::INFINITY;
    let mut best_wall = f64::INFINITY;
    for _ in 0..5 {
        let cpu = cpu_time();
        let start = Instant::now();
        for _ in 0..n {
            decode(black_box(body));
        }
        best_wall = best_wall.min(start.elapsed().as_secs_f64() / n as f64);
        if let (Some(before), Some(after)) = (cpu, cpu_time()) {
            best = best.min((after - before) / n as f64);
        }
    }
    let (per_decode, clock) = if best.is_finite() {
        (best, "CPU")
    } else {
        (best_wall, "wall")
    };
    println!(
        "{label:<20} {:>6} B body  {:>7.2} us/decode ({clock})  {:>5.0} MB/s  (wall {:.2} us)",
        body.len(),
        per_decode * 1e6,
        body.len() as f64 / per_decode / 1e6,
        best_wall * 1e6,
    );
}

/// This thread's CPU time in seconds, when the kernel reports it.
fn cpu_time() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: u64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(nanos as f64 / 1e9)
}

/// One `one.vm.info` (VM 0) and one `one.host.info` (host 0) response body, as sent.
fn fetch_bodies() -> (Vec<u8>, Vec<u8>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let server = TestServer::builder()
            .seed_hosts(2)
            .seed_vms(20)
            .start()
            .await
            .expect("test server starts");
        let http = reqwest::Client::new();
        let session = Value::from("oneadmin:onepass");
        let mut bodies = Vec::new();
        for method in ["one.vm.info", "one.host.info"] {
            let call =
                wire::encode_method_call(method, &[session.clone(), Value::Int(0), false.into()]);
            let body = http
                .post(server.url())
                .header("Content-Type", "text/xml")
                .body(call)
                .send()
                .await
                .expect("request is answered")
                .bytes()
                .await
                .expect("body is read");
            bodies.push(body.to_vec());
        }
        let host = bodies.pop().expect("two bodies");
        let vm = bodies.pop().expect("two bodies");
        (vm, host)
    })
}
