//! Small-call throughput: `one.vm.info` and `one.host.info`, decoded into the typed models,
//! sequentially and with many calls in flight from one client.
//!
//! ```text
//! # against an in-process test server (seeded with 2 hosts and 20 VMs):
//! cargo run --release --features test-server --example bench_calls -- [--calls N] [--concurrency C]
//! # against any endpoint (an oned, or `one-test-server`):
//! cargo run --release --example bench_calls -- --url http://host:2633/RPC2 --session user:pass
//! ```
//!
//! Prints calls/second for each method, sequential (the median of 3 rounds of `--calls` calls,
//! after a warm-up of a tenth of a round) then concurrent (default 32 in flight), and the
//! number of failed calls (must be 0). The last line is a one-line summary.
//!
//! Options:
//! - `--runtime current-thread|multi-thread|blocking` (default `current-thread`): the tokio
//!   runtime the client runs on, or the blocking client (`opennebula::blocking`, its own
//!   runtime thread; the concurrent measurement then uses C threads). A sequential script
//!   needs no worker threads, and on a current-thread runtime a call costs no wake-ups across
//!   threads; `multi-thread` is what `#[tokio::main]` gives (the client moves the HTTP
//!   exchange of a call made outside any task, as from `main`, onto a worker thread).
//! - `--keep-alive`: the in-process test server keeps connections open between calls
//!   ([`TestServerBuilder::keep_alive`](opennebula_test_server::TestServerBuilder::keep_alive)).
//!   By default it closes each one after its response, as oned does, so every call
//!   connects anew. (With `--url`, the server at that URL decides.)

use std::time::Instant;

use futures_util::StreamExt;
use opennebula::models::{Host, Vm};
use opennebula::Client;

struct Options {
    url: Option<String>,
    session: String,
    calls: usize,
    concurrency: usize,
    runtime: Runtime,
    keep_alive: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum Runtime {
    CurrentThread,
    MultiThread,
    Blocking,
}

impl Runtime {
    fn name(self) -> &'static str {
        match self {
            Runtime::CurrentThread => "current-thread",
            Runtime::MultiThread => "multi-thread",
            Runtime::Blocking => "blocking client",
        }
    }
}

fn parse_options() -> Options {
    let mut options = Options {
        url: None,
        session: "oneadmin:onepass".into(),
        calls: 2000,
        concurrency: 32,
        runtime: Runtime::CurrentThread,
        keep_alive: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next().unwrap_or_else(|| {
                eprintln!("{name} needs a value");
                std::process::exit(2)
            })
        };
        match arg.as_str() {
            "--url" => options.url = Some(value("--url")),
            "--session" => options.session = value("--session"),
            "--calls" => options.calls = value("--calls").parse().unwrap_or(2000).max(1),
            "--keep-alive" => options.keep_alive = true,
            "--runtime" => match value("--runtime").as_str() {
                "current-thread" => options.runtime = Runtime::CurrentThread,
                "multi-thread" => options.runtime = Runtime::MultiThread,
                "blocking" => options.runtime = Runtime::Blocking,
                other => {
                    eprintln!("--runtime: current-thread, multi-thread or blocking, not {other:?}");
                    std::process::exit(2)
                }
            },
            "--concurrency" => {
                options.concurrency = value("--concurrency").parse().unwrap_or(32).max(1)
            }
            _ => {
                eprintln!(
                    "usage: bench_calls [--url URL --session USER:PASS] [--calls N] [--concurrency C] \
                     [--runtime current-thread|multi-thread|blocking] [--keep-alive]"
                );
                std::process::exit(2)
            }
        }
    }
    options
}

fn main() {
    let options = parse_options();
    if options.runtime == Runtime::Blocking {
        #[cfg(feature = "blocking")]
        return blocking::run(options);
        #[cfg(not(feature = "blocking"))]
        fail("--runtime blocking needs the `blocking` feature");
    }
    let runtime = if options.runtime == Runtime::MultiThread {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    }
    .enable_all()
    .build()
    .unwrap_or_else(|e| fail(&format!("tokio runtime: {e}")));
    runtime.block_on(run(options));
}

async fn run(options: Options) {
    let mut _server = None;
    let client = match &options.url {
        Some(url) => Client::new(url, options.session.as_str()),
        None => {
            let server = opennebula_test_server::TestServer::builder()
                .seed_hosts(2)
                .seed_vms(20)
                .keep_alive(options.keep_alive)
                .start()
                .await
                .unwrap_or_else(|e| fail(&format!("test server: {e}")));
            let client = server.client();
            _server = Some(server);
            client
        }
    }
    .unwrap_or_else(|e| fail(&format!("client: {e}")));
    print_header(&options, client.endpoint());

    // Ids that exist: the first VM and host of the pools.
    let vm_id = first_id(&client, "vmpool.info", (-2, -1, -1, -1)).await;
    let host_id = first_id(&client, "hostpool.info", ()).await;

    let mut summary = Vec::new();
    for method in ["vm.info", "host.info"] {
        let id = if method == "vm.info" { vm_id } else { host_id };
        // Warm up: the connection pool, and a freshly started server's heap (its first few
        // hundred calls fault in memory pages).
        for _ in 0..warm_up_calls(options.calls) {
            let _ = call(&client, method, id).await;
        }
        // The median of ROUNDS rounds: a sequential call is a chain of wake-ups between two
        // processes, so one round can catch a burst of other load on the machine.
        let mut failed = 0;
        let mut rounds = Vec::with_capacity(ROUNDS);
        for _ in 0..ROUNDS {
            let started = Instant::now();
            for _ in 0..options.calls {
                if call(&client, method, id).await.is_err() {
                    failed += 1;
                }
            }
            rounds.push(options.calls as f64 / started.elapsed().as_secs_f64());
        }
        let sequential = median(&mut rounds);

        let started = Instant::now();
        let failed_concurrent = futures_util::stream::iter(0..options.calls)
            .map(|_| call(&client, method, id))
            .buffer_unordered(options.concurrency)
            .filter(|result| futures_util::future::ready(result.is_err()))
            .count()
            .await;
        let concurrent = options.calls as f64 / started.elapsed().as_secs_f64();
        println!(
            "  {method:<10} sequential {sequential:>8.0} calls/s ({failed} failed)   \
             {} in flight {concurrent:>8.0} calls/s ({failed_concurrent} failed)",
            options.concurrency
        );
        summary.push(format!(
            "{method} {sequential:.0}/s seq, {concurrent:.0}/s x{} ({} failed)",
            options.concurrency,
            failed + failed_concurrent
        ));
    }
    println!("{}", summary.join("; "));
}

/// Sequential measurements are the median of this many rounds of `--calls` calls.
const ROUNDS: usize = 3;

/// Calls made before measuring: a tenth of a round, between 10 and 500.
fn warm_up_calls(calls: usize) -> usize {
    (calls / 10).clamp(10, 500)
}

/// The median of `rates` (sorted in place).
fn median(rates: &mut [f64]) -> f64 {
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

/// One typed call: the document decoded into the model, as an application would use it.
async fn call(client: &Client, method: &str, id: i32) -> opennebula::Result<()> {
    if method == "vm.info" {
        client.call_document::<Vm>(method, (id, false)).await?;
    } else {
        client.call_document::<Host>(method, (id, false)).await?;
    }
    Ok(())
}

fn print_header(options: &Options, endpoint: &str) {
    println!(
        "endpoint {endpoint}, {} calls per measurement, concurrency {}, {}{}",
        options.calls,
        options.concurrency,
        options.runtime.name(),
        match (&options.url, options.keep_alive) {
            (None, true) => ", in-process server with keep-alive",
            (None, false) => ", in-process server closing connections (as oned)",
            (Some(_), _) => "",
        }
    );
}

fn first_id_of(xml: &str) -> Option<i32> {
    xml.split("<ID>")
        .nth(1)
        .and_then(|rest| rest.split("</ID>").next())
        .and_then(|id| id.trim().parse().ok())
}

/// The same measurements with the blocking client: sequential calls on this thread, then
/// `concurrency` threads sharing one client.
#[cfg(feature = "blocking")]
mod blocking {
    use super::*;
    use opennebula::blocking::Client;

    pub fn run(options: Options) {
        let mut _server = None;
        let client = match &options.url {
            Some(url) => Client::new(url, options.session.as_str()),
            None => {
                let server = opennebula_test_server::TestServer::builder()
                    .seed_hosts(2)
                    .seed_vms(20)
                    .keep_alive(options.keep_alive)
                    .start_blocking()
                    .unwrap_or_else(|e| fail(&format!("test server: {e}")));
                let client = Client::from_builder(server.server().client_builder());
                _server = Some(server);
                client
            }
        }
        .unwrap_or_else(|e| fail(&format!("client: {e}")));
        print_header(&options, client.endpoint());
        let vm_id = first(&client, "vmpool.info", (-2, -1, -1, -1));
        let host_id = first(&client, "hostpool.info", ());
        let call = |method: &str, id: i32| -> opennebula::Result<()> {
            if method == "vm.info" {
                client.call_document::<Vm>(method, (id, false))?;
            } else {
                client.call_document::<Host>(method, (id, false))?;
            }
            Ok(())
        };
        let mut summary = Vec::new();
        for method in ["vm.info", "host.info"] {
            let id = if method == "vm.info" { vm_id } else { host_id };
            for _ in 0..super::warm_up_calls(options.calls) {
                let _ = call(method, id);
            }
            let mut failed = 0;
            let mut rounds = Vec::with_capacity(super::ROUNDS);
            for _ in 0..super::ROUNDS {
                let started = Instant::now();
                failed += (0..options.calls)
                    .filter(|_| call(method, id).is_err())
                    .count();
                rounds.push(options.calls as f64 / started.elapsed().as_secs_f64());
            }
            let sequential = super::median(&mut rounds);

            let started = Instant::now();
            let threads = options.concurrency.min(options.calls);
            let failed_concurrent: usize = std::thread::scope(|scope| {
                let workers: Vec<_> = (0..threads)
                    .map(|t| {
                        let calls =
                            options.calls / threads + usize::from(t < options.calls % threads);
                        scope
                            .spawn(move || (0..calls).filter(|_| call(method, id).is_err()).count())
                    })
                    .collect();
                workers
                    .into_iter()
                    .map(|w| w.join().unwrap_or(calls_failed(options.calls)))
                    .sum()
            });
            let concurrent = options.calls as f64 / started.elapsed().as_secs_f64();
            println!(
                "  {method:<10} sequential {sequential:>8.0} calls/s ({failed} failed)   \
                 {threads} threads {concurrent:>8.0} calls/s ({failed_concurrent} failed)"
            );
            summary.push(format!(
                "{method} {sequential:.0}/s seq, {concurrent:.0}/s x{threads} ({} failed)",
                failed + failed_concurrent
            ));
        }
        println!("{}", summary.join("; "));
    }

    fn first(client: &Client, method: &str, params: impl opennebula::wire::IntoParams) -> i32 {
        let pool = client
            .call(method, params)
            .unwrap_or_else(|e| fail(&format!("{method}: {e}")));
        first_id_of(pool.as_str().unwrap_or_default())
            .unwrap_or_else(|| fail(&format!("{method} returned no object to call info on")))
    }

    /// A thread that panicked counts all its calls as failed.
    fn calls_failed(calls: usize) -> usize {
        calls
    }
}

async fn first_id(client: &Client, method: &str, params: impl opennebula::wire::IntoParams) -> i32 {
    let pool = client
        .call(method, params)
        .await
        .unwrap_or_else(|e| fail(&format!("{method}: {e}")));
    first_id_of(pool.as_str().unwrap_or_default())
        .unwrap_or_else(|| fail(&format!("{method} returned no object to call info on")))
}

fn fail(message: &str) -> ! {
    eprintln!("bench_calls: {message}");
    std::process::exit(1)
}
