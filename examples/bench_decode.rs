//! Decoding speed of a whole VM pool into the generated types.
//!
//! ```text
//! python3 ../shared/tools/perf/gen_vmpool.py --out /tmp/perf 10000
//! cargo run --release --example bench_decode -- /tmp/perf/vmpool_10000.xml [RUNS]
//! ```
//!
//! FILE is a bare `<VM_POOL>` document. Decodes it RUNS times (default 10) into
//! `opennebula::models::VmPool` and prints the median time and throughput, next to the floor:
//! quick-xml merely tokenizing the same bytes (counting events), in the same process.

use std::time::{Duration, Instant};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(file) = args.next() else {
        eprintln!("usage: bench_decode FILE [RUNS]");
        std::process::exit(2);
    };
    let runs: usize = args
        .next()
        .and_then(|r| r.parse().ok())
        .unwrap_or(10)
        .max(1);
    let bytes = std::fs::read(&file).unwrap_or_else(|e| {
        eprintln!("cannot read {file}: {e}");
        std::process::exit(2);
    });
    let megabytes = bytes.len() as f64 / 1e6;
    println!("{file}: {megabytes:.1} MB, {runs} runs");

    let floor = median(runs, || {
        let start = Instant::now();
        let events = tokenize(&bytes);
        (start.elapsed(), events)
    });
    report(
        "quick-xml tokenize (floor)",
        floor.0,
        megabytes,
        &format!("{} events", floor.1),
    );

    decode(&bytes, runs, megabytes, floor.0);
}

#[cfg(opennebula_model = "VmPool")]
fn decode(bytes: &[u8], runs: usize, megabytes: f64, floor: Duration) {
    use opennebula::models::VmPool;
    use opennebula::xml::FromXml;

    let typed = median(runs, || {
        let start = Instant::now();
        let pool = VmPool::from_xml_bytes(bytes).unwrap_or_else(|e| {
            eprintln!("decode failed: {e}");
            std::process::exit(1);
        });
        let elapsed = start.elapsed();
        let count = pool.vm.len();
        drop(pool);
        (elapsed, count)
    });
    report(
        "VmPool::from_xml_bytes",
        typed.0,
        megabytes,
        &format!("{} VMs", typed.1),
    );
    println!(
        "ratio typed/floor: {:.2}",
        typed.0.as_secs_f64() / floor.as_secs_f64()
    );
}

#[cfg(not(opennebula_model = "VmPool"))]
fn decode(_: &[u8], _: usize, _: f64, _: Duration) {
    eprintln!("no VmPool type was generated from the schemas; build with OPENNEBULA_XSD_DIR set");
    std::process::exit(1);
}

/// Runs `f` `runs` times; returns the median duration and the last result.
fn median<T>(runs: usize, mut f: impl FnMut() -> (Duration, T)) -> (Duration, T) {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let (time, value) = f();
        times.push(time);
        last = Some(value);
    }
    times.sort();
    (times[runs / 2], last.expect("at least one run"))
}

fn report(what: &str, time: Duration, megabytes: f64, detail: &str) {
    let ms = time.as_secs_f64() * 1e3;
    println!(
        "{what:<28} median {ms:8.1} ms  {:7.1} MB/s  ({detail})",
        megabytes / time.as_secs_f64()
    );
}

/// Tokenizes `bytes` with quick-xml, counting events: the cost of reading the XML at all.
fn tokenize(bytes: &[u8]) -> usize {
    let mut reader = quick_xml::Reader::from_reader(bytes);
    let mut events = 0usize;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => return events,
            Ok(_) => events += 1,
            Err(e) => {
                eprintln!("tokenize failed: {e}");
                std::process::exit(1);
            }
        }
    }
}
