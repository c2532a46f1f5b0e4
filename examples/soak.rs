//! Soak test: many concurrent tasks hammering one shared client against the in-process test
//! server (or `ONE_XMLRPC`), counting errors and watching memory.
//!
//! ```text
//! cargo run --release --features test-server --example soak -- [CALLS] [TASKS]
//! ```
//! Defaults: 10,000 calls from 100 tasks. Prints calls/second, errors and the process RSS at
//! the start, after a warm-up and at the end; exits non-zero on any error or on an allocate
//! missing from the pool afterwards.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use opennebula::Client;

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

async fn mixed_call(
    one: &Client,
    n: u64,
    allocated: &tokio::sync::Mutex<Vec<i64>>,
) -> opennebula::Result<()> {
    match n % 6 {
        0 => one.hostpool().info().await.map(drop),
        1 => one.host().info(0).await.map(drop),
        2 => one.vmpool().info_all().await.map(drop),
        3 => one.system().version().await.map(drop),
        4 => one.user().info(-1).await.map(drop),
        _ => {
            let id = one
                .vm()
                .allocate_full(
                    format!("NAME=\"soak-{n}\"\nCPU=\"0.1\"\nMEMORY=\"64\""),
                    true,
                )
                .await?;
            allocated.lock().await.push(i64::from(id));
            Ok(())
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let calls: u64 = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(10_000);
    let tasks: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(100);
    let rss_start = rss_mb();

    let _server;
    let one = match std::env::var("ONE_XMLRPC") {
        Ok(_) => Client::from_env()?,
        Err(_) => {
            let server = opennebula_test_server::TestServer::builder()
                .seed_hosts(4)
                .start()
                .await?;
            let client = server.client()?;
            _server = server;
            client
        }
    };

    let errors = Arc::new(AtomicU64::new(0));
    let next = Arc::new(AtomicU64::new(0));
    let allocated = Arc::new(tokio::sync::Mutex::new(Vec::new()));
    let started = Instant::now();
    let mut rss_warm = f64::NAN;
    let workers: Vec<_> = (0..tasks)
        .map(|_| {
            let (one, errors, next, allocated) =
                (one.clone(), errors.clone(), next.clone(), allocated.clone());
            tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= calls {
                        return;
                    }
                    if let Err(err) = mixed_call(&one, n, &allocated).await {
                        errors.fetch_add(1, Ordering::Relaxed);
                        eprintln!("call {n} failed: {err}");
                    }
                }
            })
        })
        .collect();
    for (i, worker) in workers.into_iter().enumerate() {
        worker.await?;
        if i == 0 {
            rss_warm = rss_mb();
        }
    }
    let elapsed = started.elapsed();
    let errors = errors.load(Ordering::Relaxed);

    // No lost update: every VM allocated above is in the pool.
    let pool = one.vmpool().info_all().await?;
    let in_pool: std::collections::HashSet<i64> = pool.vm.iter().map(|vm| vm.id).collect();
    let allocated = allocated.lock().await;
    let missing = allocated.iter().filter(|id| !in_pool.contains(id)).count();

    println!(
        "soak: {calls} calls from {tasks} tasks in {:.2}s = {:.0} calls/s; errors {errors}; \
         allocated {} (missing from pool: {missing}); RSS start {rss_start:.1} MB, warm {rss_warm:.1} MB, end {:.1} MB",
        elapsed.as_secs_f64(),
        calls as f64 / elapsed.as_secs_f64(),
        allocated.len(),
        rss_mb()
    );
    if errors > 0 || missing > 0 {
        std::process::exit(1);
    }
    Ok(())
}
