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
//! Prints calls/second for each method, sequential then concurrent (default 32 in flight), and
//! the number of failed calls (must be 0). The last line is a one-line summary.
//!
//! Options:
//! - `--runtime current-thread|multi-thread` (default `current-thread`): the tokio runtime the
//!   client runs on. A sequential script needs no worker threads, and on a current-thread
//!   runtime a call costs no wake-ups across threads (about 1 context switch per call instead
//!   of 11 here); `multi-thread` is what `#[tokio::main]` gives.
//! - `--keep-alive`: the in-process test server keeps connections open between calls
//!   ([`TestServerBuilder::keep_alive`](opennebula::server::TestServerBuilder::keep_alive)).
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
    multi_thread: bool,
    keep_alive: bool,
}

fn parse_options() -> Options {
    let mut options = Options {
        url: None,
        session: "oneadmin:onepass".into(),
        calls: 2000,
        concurrency: 32,
        multi_thread: false,
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
                "current-thread" => options.multi_thread = false,
                "multi-thread" => options.multi_thread = true,
                other => {
                    eprintln!("--runtime: current-thread or multi-thread, not {other:?}");
                    std::process::exit(2)
                }
            },
            "--concurrency" => {
                options.concurrency = value("--concurrency").parse().unwrap_or(32).max(1)
            }
            _ => {
                eprintln!(
                    "usage: bench_calls [--url URL --session USER:PASS] [--calls N] [--concurrency C] \
                     [--runtime current-thread|multi-thread] [--keep-alive]"
                );
                std::process::exit(2)
            }
        }
    }
    options
}

fn main() {
    let options = parse_options();
    let runtime = if options.multi_thread {
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
    #[cfg(feature = "test-server")]
    let mut _server = None;
    let client = match &options.url {
        Some(url) => Client::new(url, options.session.as_str()),
        None => {
            #[cfg(feature = "test-server")]
            {
                let server = opennebula::server::TestServer::builder()
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
            #[cfg(not(feature = "test-server"))]
            fail("no --url given, and the in-process test server needs --features test-server")
        }
    }
    .unwrap_or_else(|e| fail(&format!("client: {e}")));
    println!(
        "endpoint {}, {} calls per measurement, concurrency {}, {} runtime{}",
        client.endpoint(),
        options.calls,
        options.concurrency,
        if options.multi_thread {
            "multi-thread"
        } else {
            "current-thread"
        },
        match (&options.url, options.keep_alive) {
            (None, true) => ", in-process server with keep-alive",
            (None, false) => ", in-process server closing connections (as oned)",
            (Some(_), _) => "",
        }
    );

    // Ids that exist: the first VM and host of the pools.
    let vm_id = first_id(&client, "vmpool.info", (-2, -1, -1, -1)).await;
    let host_id = first_id(&client, "hostpool.info", ()).await;

    let mut summary = Vec::new();
    for method in ["vm.info", "host.info"] {
        let id = if method == "vm.info" { vm_id } else { host_id };
        // Warm up the connection pool.
        for _ in 0..10 {
            let _ = call(&client, method, id).await;
        }
        let started = Instant::now();
        let mut failed = 0;
        for _ in 0..options.calls {
            if call(&client, method, id).await.is_err() {
                failed += 1;
            }
        }
        let sequential = options.calls as f64 / started.elapsed().as_secs_f64();

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

/// One typed call: the document decoded into the model, as an application would use it.
async fn call(client: &Client, method: &str, id: i32) -> opennebula::Result<()> {
    if method == "vm.info" {
        client.call_document::<Vm>(method, (id, false)).await?;
    } else {
        client.call_document::<Host>(method, (id, false)).await?;
    }
    Ok(())
}

async fn first_id(client: &Client, method: &str, params: impl opennebula::wire::IntoParams) -> i32 {
    let pool = client
        .call(method, params)
        .await
        .unwrap_or_else(|e| fail(&format!("{method}: {e}")));
    let xml = pool.as_str().unwrap_or_default();
    let id = xml
        .split("<ID>")
        .nth(1)
        .and_then(|rest| rest.split("</ID>").next())
        .and_then(|id| id.trim().parse().ok());
    id.unwrap_or_else(|| fail(&format!("{method} returned no object to call info on")))
}

fn fail(message: &str) -> ! {
    eprintln!("bench_calls: {message}");
    std::process::exit(1)
}
