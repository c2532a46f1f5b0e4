//! Decoding speed and memory of a whole `one.vmpool.info` response, against the tokenizer
//! floor, each measured in its own child process so that each peak RSS belongs to one mode.
//!
//! ```text
//! python3 ../shared/tools/perf/gen_vmpool.py --out /tmp/perf 1000 10000 50000
//! cargo run --release --example bench_decode -- /tmp/perf/vmpool_10000.rpc.xml [RUNS] [--stream]
//! ```
//!
//! FILE is a whole XML-RPC `methodResponse` (what oned sends over HTTP). Modes:
//!
//! - **floor**: find the `<string>` with memchr, unescape it, tokenize the document with
//!   quick-xml (counting events), nothing typed. The cost any decoder must pay.
//! - **decode** (default): response bytes → typed `VmPool` with every field, TEMPLATE and
//!   USER_TEMPLATE as [`Template`](opennebula::Template)s, through
//!   `opennebula::wire::decode_document_response` (what `Client::call_document` runs).
//! - **stream** (`--stream`): the file is read in 64 KiB chunks (as the HTTP body arrives) into
//!   `opennebula::stream::PoolDecoder`, which hands out each VM as soon as it is complete; the
//!   VMs are looked at and dropped. The response is never held whole.
//!
//! Every mode runs RUNS times (default 5) and reports the median. The last line is the
//! summary for the selected mode: median ms, MB/s (response bytes per second), peak RSS
//! (VmHWM) and the ratios to the floor and to the response size.

use std::io::Read;
use std::process::Command;
use std::time::{Duration, Instant};

/// Hidden flag: run one mode and print its result line (used by the parent process).
const CHILD_FLAG: &str = "--child-mode";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() >= 5 && args[1] == CHILD_FLAG {
        let runs = args[4].parse().unwrap_or(5);
        child(&args[2], &args[3], runs);
        return;
    }
    let mut positional = Vec::new();
    let mut stream = false;
    for arg in &args[1..] {
        match arg.as_str() {
            "--stream" => stream = true,
            "-h" | "--help" => usage(0),
            other if other.starts_with("--") => usage(2),
            other => positional.push(other.to_string()),
        }
    }
    let Some(file) = positional.first().cloned() else {
        usage(2)
    };
    let runs: usize = match positional.get(1) {
        Some(r) => r.parse().unwrap_or_else(|_| usage(2)),
        None => 5,
    }
    .max(1);
    let size = std::fs::metadata(&file)
        .unwrap_or_else(|e| fail(&format!("cannot read {file}: {e}")))
        .len();
    let mb = size as f64 / 1e6;
    println!("{file}: {mb:.1} MB response, {runs} run(s) per mode, one process per mode");

    let floor = run_child("floor", &file, runs);
    print_result(&floor, size);
    let mode = if stream { "stream" } else { "decode" };
    let ours = run_child(mode, &file, runs);
    print_result(&ours, size);
    println!(
        "{mode}: {:.1} ms median, {:.0} MB/s, peak RSS {:.1} MB ({:.2}x response); \
         {:.2}x the floor ({:.2}x in CPU time)",
        ours.median_ms,
        mb / (ours.median_ms / 1e3),
        ours.peak_rss_kb as f64 / 1024.0,
        ours.peak_rss_kb as f64 * 1024.0 / size as f64,
        ours.median_ms / floor.median_ms,
        ours.cpu_ms / floor.cpu_ms,
    );
}

fn usage(code: i32) -> ! {
    eprintln!(
        "usage: bench_decode FILE [RUNS] [--stream]   (FILE: vmpool_N.rpc.xml from gen_vmpool.py)"
    );
    std::process::exit(code)
}

fn fail(message: &str) -> ! {
    eprintln!("bench_decode: {message}");
    std::process::exit(1)
}

/// What a child reports.
struct ModeResult {
    mode: String,
    median_ms: f64,
    cpu_ms: f64,
    runs_ms: Vec<f64>,
    peak_rss_kb: u64,
    detail: String,
}

fn run_child(mode: &str, file: &str, runs: usize) -> ModeResult {
    let exe = std::env::current_exe().unwrap_or_else(|e| fail(&format!("current_exe: {e}")));
    let output = Command::new(exe)
        .args([CHILD_FLAG, mode, file, &runs.to_string()])
        .output()
        .unwrap_or_else(|e| fail(&format!("cannot start the {mode} child: {e}")));
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        fail(&format!(
            "{mode} child failed ({}): {}{}",
            output.status,
            stdout,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let line = stdout
        .lines()
        .find(|l| l.starts_with("RESULT "))
        .unwrap_or_else(|| fail(&format!("{mode} child printed no result: {stdout}")));
    let field = |name: &str| {
        line.split(' ')
            .find_map(|kv| kv.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
            .unwrap_or_else(|| fail(&format!("no {name} in {line}")))
            .to_string()
    };
    ModeResult {
        mode: mode.to_string(),
        median_ms: field("median_ms").parse().unwrap_or(f64::NAN),
        cpu_ms: field("cpu_ms").parse().unwrap_or(f64::NAN),
        runs_ms: field("runs_ms")
            .split(',')
            .filter_map(|v| v.parse().ok())
            .collect(),
        peak_rss_kb: field("peak_rss_kb").parse().unwrap_or(0),
        detail: field("detail").replace('_', " "),
    }
}

fn print_result(result: &ModeResult, size: u64) {
    let runs: Vec<String> = result.runs_ms.iter().map(|r| format!("{r:.1}")).collect();
    println!(
        "  {:<7} median {:>8.1} ms (CPU {:>8.1} ms)  {:>6.0} MB/s  peak RSS {:>7.1} MB ({:.2}x)  [{}]  runs: {}",
        result.mode,
        result.median_ms,
        result.cpu_ms,
        size as f64 / 1e6 / (result.median_ms / 1e3),
        result.peak_rss_kb as f64 / 1024.0,
        result.peak_rss_kb as f64 * 1024.0 / size as f64,
        result.detail,
        runs.join(" "),
    );
}

/// Runs one mode in this (child) process and prints its `RESULT` line.
fn child(mode: &str, file: &str, runs: usize) {
    let mut times = Vec::with_capacity(runs);
    let mut cpu_times = Vec::with_capacity(runs);
    let mut detail = String::new();
    if mode == "stream" {
        for _ in 0..runs {
            let cpu = cpu_time();
            let start = Instant::now();
            detail = stream_file(file);
            times.push(start.elapsed());
            cpu_times.push(cpu_time() - cpu);
        }
    } else {
        let bytes = std::fs::read(file).unwrap_or_else(|e| fail(&format!("{file}: {e}")));
        for _ in 0..runs {
            // The result is dropped after the clock stops: freeing is not decoding.
            let cpu = cpu_time();
            let start = Instant::now();
            let result: Box<dyn Summary> = match mode {
                "floor" => Box::new(floor(&bytes)),
                "decode" => Box::new(decode(&bytes)),
                other => fail(&format!("unknown mode {other}")),
            };
            times.push(start.elapsed());
            cpu_times.push(cpu_time() - cpu);
            detail = result.summary();
        }
    }
    let runs_ms: Vec<f64> = times.iter().map(|t| t.as_secs_f64() * 1e3).collect();
    let mut sorted = times.clone();
    sorted.sort();
    let median: Duration = sorted[sorted.len() / 2];
    cpu_times.sort();
    let cpu_median = cpu_times[cpu_times.len() / 2];
    println!(
        "RESULT mode={mode} median_ms={:.3} cpu_ms={:.3} runs_ms={} peak_rss_kb={} detail={}",
        median.as_secs_f64() * 1e3,
        cpu_median.as_secs_f64() * 1e3,
        runs_ms
            .iter()
            .map(|r| format!("{r:.3}"))
            .collect::<Vec<_>>()
            .join(","),
        peak_rss_kb(),
        detail.replace(' ', "_"),
    );
}

/// CPU time this process has run so far (from `/proc/self/schedstat`, nanoseconds): less
/// sensitive than wall time to other load on a shared machine.
fn cpu_time() -> Duration {
    std::fs::read_to_string("/proc/self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .map(Duration::from_nanos)
        .unwrap_or_default()
}

/// VmHWM (peak resident set) of this process, in KiB.
fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find_map(|l| {
                l.strip_prefix("VmHWM:")
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            })
        })
        .unwrap_or(0)
}

/// What a timed run produced, described after the clock stopped.
trait Summary {
    fn summary(&self) -> String;
}

/// The floor's output: the unescaped document and the number of events it holds.
struct Tokenized(#[allow(dead_code)] String, u64);

impl Summary for Tokenized {
    fn summary(&self) -> String {
        format!("{} events", self.1)
    }
}

impl Summary for model::VmPool {
    fn summary(&self) -> String {
        let checksum: i64 = self.vm.iter().map(|vm| vm.id).sum();
        format!("{} VMs, id sum {checksum}", self.vm.len())
    }
}

/// The floor: memchr-find the `<string>`, unescape it, tokenize with quick-xml, no typing.
fn floor(bytes: &[u8]) -> Tokenized {
    let open = memchr::memmem::find(bytes, b"<string>").unwrap_or_else(|| fail("no <string>"));
    let from = open + b"<string>".len();
    let len =
        memchr::memmem::find(&bytes[from..], b"</string>").unwrap_or_else(|| fail("no </string>"));
    let escaped = std::str::from_utf8(&bytes[from..from + len])
        .unwrap_or_else(|_| fail("payload is not UTF-8"));
    let document =
        opennebula::xml::unescape(escaped).unwrap_or_else(|(_, m)| fail(&format!("unescape: {m}")));
    let mut reader = quick_xml::Reader::from_str(&document);
    let mut events = 0u64;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => events += 1,
            Err(e) => fail(&format!("tokenize: {e}")),
        }
    }
    Tokenized(document.into_owned(), events)
}

fn decode(bytes: &[u8]) -> model::VmPool {
    opennebula::wire::decode_document_response(bytes)
        .unwrap_or_else(|e| fail(&format!("decode: {e}")))
}

fn stream_file(file: &str) -> String {
    let mut input = std::fs::File::open(file).unwrap_or_else(|e| fail(&format!("{file}: {e}")));
    let mut decoder = opennebula::stream::PoolDecoder::<model::Vm>::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut vms = 0usize;
    let mut checksum = 0i64;
    let mut take = |decoder: &mut opennebula::stream::PoolDecoder<model::Vm>| {
        while let Some(vm) = decoder.next_item() {
            let vm = vm.unwrap_or_else(|e| fail(&format!("stream: {e}")));
            vms += 1;
            checksum += vm.id;
        }
    };
    loop {
        let n = input
            .read(&mut chunk)
            .unwrap_or_else(|e| fail(&format!("{file}: {e}")));
        if n == 0 {
            break;
        }
        decoder.feed(&chunk[..n]);
        take(&mut decoder);
    }
    decoder.finish();
    take(&mut decoder);
    format!("{vms} VMs, id sum {checksum}")
}

/// The generated model types, when the schemas are in the build (`one.vmpool.info` lists
/// `VmSummary` entries: oned's short VM body).
#[cfg(all(opennebula_model = "VmPool", opennebula_model = "VmSummary"))]
mod model {
    pub use opennebula::models::{VmPool, VmSummary as Vm};
}

/// Until the generated models are in the build: a hand-written stand-in shaped exactly like
/// the generator's output for `vm.xsd` (same field types, same decode helpers, templates as
/// [`Template`]), so the figures measure the same work.
#[cfg(not(all(opennebula_model = "VmPool", opennebula_model = "VmSummary")))]
mod model {
    use opennebula::models::decode as d;
    use opennebula::xml::{Element, FromXml, XmlError, XmlReader};
    use opennebula::Template;

    #[derive(Debug, Default)]
    pub struct VmPool {
        pub vm: Vec<Vm>,
    }

    impl FromXml for VmPool {
        fn read_xml(reader: &mut XmlReader<'_>, start: &Element<'_>) -> Result<Self, XmlError> {
            let mut value = Self::default();
            while let Some(child) = reader.next_child(start)? {
                match child.name() {
                    b"VM" => value.vm.push(Vm::read_xml(reader, &child)?),
                    _ => reader.skip(&child)?,
                }
            }
            Ok(value)
        }
    }

    #[derive(Debug, Default)]
    #[allow(dead_code)]
    pub struct Vm {
        pub id: i64,
        pub uid: i64,
        pub gid: i64,
        pub uname: String,
        pub gname: String,
        pub name: String,
        pub last_poll: Option<i64>,
        pub state: i64,
        pub lcm_state: i64,
        pub prev_state: Option<i64>,
        pub prev_lcm_state: Option<i64>,
        pub resched: i64,
        pub stime: i64,
        pub etime: i64,
        pub deploy_id: String,
        pub template: Template,
        pub monitoring: Template,
        pub user_template: Template,
        pub history_records: HistoryRecords,
    }

    impl FromXml for Vm {
        fn read_xml(reader: &mut XmlReader<'_>, start: &Element<'_>) -> Result<Self, XmlError> {
            let mut value = Self::default();
            while let Some(child) = reader.next_child(start)? {
                match child.name() {
                    b"ID" => value.id = d::int(reader, &child)?,
                    b"UID" => value.uid = d::int(reader, &child)?,
                    b"GID" => value.gid = d::int(reader, &child)?,
                    b"UNAME" => value.uname = d::text(reader, &child)?,
                    b"GNAME" => value.gname = d::text(reader, &child)?,
                    b"NAME" => value.name = d::text(reader, &child)?,
                    b"LAST_POLL" => value.last_poll = d::opt_int(reader, &child)?,
                    b"STATE" => value.state = d::int(reader, &child)?,
                    b"LCM_STATE" => value.lcm_state = d::int(reader, &child)?,
                    b"PREV_STATE" => value.prev_state = d::opt_int(reader, &child)?,
                    b"PREV_LCM_STATE" => value.prev_lcm_state = d::opt_int(reader, &child)?,
                    b"RESCHED" => value.resched = d::int(reader, &child)?,
                    b"STIME" => value.stime = d::int(reader, &child)?,
                    b"ETIME" => value.etime = d::int(reader, &child)?,
                    b"DEPLOY_ID" => value.deploy_id = d::text(reader, &child)?,
                    b"TEMPLATE" => value.template = Template::read_xml(reader, &child)?,
                    b"MONITORING" => value.monitoring = Template::read_xml(reader, &child)?,
                    b"USER_TEMPLATE" => value.user_template = Template::read_xml(reader, &child)?,
                    b"HISTORY_RECORDS" => {
                        value.history_records = HistoryRecords::read_xml(reader, &child)?
                    }
                    _ => reader.skip(&child)?,
                }
            }
            Ok(value)
        }
    }

    #[derive(Debug, Default)]
    pub struct HistoryRecords {
        pub history: Vec<History>,
    }

    impl FromXml for HistoryRecords {
        fn read_xml(reader: &mut XmlReader<'_>, start: &Element<'_>) -> Result<Self, XmlError> {
            let mut value = Self::default();
            while let Some(child) = reader.next_child(start)? {
                match child.name() {
                    b"HISTORY" => value.history.push(History::read_xml(reader, &child)?),
                    _ => reader.skip(&child)?,
                }
            }
            Ok(value)
        }
    }

    #[derive(Debug, Default)]
    #[allow(dead_code)]
    pub struct History {
        pub oid: i64,
        pub seq: i64,
        pub hostname: String,
        pub hid: i64,
        pub cid: i64,
        pub ds_id: i64,
        pub vm_mad: String,
        pub tm_mad: String,
        pub action: i64,
    }

    impl FromXml for History {
        fn read_xml(reader: &mut XmlReader<'_>, start: &Element<'_>) -> Result<Self, XmlError> {
            let mut value = Self::default();
            while let Some(child) = reader.next_child(start)? {
                match child.name() {
                    b"OID" => value.oid = d::int(reader, &child)?,
                    b"SEQ" => value.seq = d::int(reader, &child)?,
                    b"HOSTNAME" => value.hostname = d::text(reader, &child)?,
                    b"HID" => value.hid = d::int(reader, &child)?,
                    b"CID" => value.cid = d::int(reader, &child)?,
                    b"DS_ID" => value.ds_id = d::int(reader, &child)?,
                    b"VM_MAD" => value.vm_mad = d::text(reader, &child)?,
                    b"TM_MAD" => value.tm_mad = d::text(reader, &child)?,
                    b"ACTION" => value.action = d::int(reader, &child)?,
                    _ => reader.skip(&child)?,
                }
            }
            Ok(value)
        }
    }
}
