//! Runs every example to completion against its own in-process test server and checks its
//! exit status and a few lines of its output.
//!
//! The examples are built once with `cargo build --examples --message-format=json` (a no-op
//! when `cargo test` has just built them), with the features of this test build, so the
//! library is not rebuilt; the binaries are then run in parallel, each with `ONE_XMLRPC`
//! removed from its environment.

// Some examples use the blocking client.
#![cfg(feature = "blocking")]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Every example this suite runs, with lines its output must contain.
const EXAMPLES: &[(&str, &[&str])] = &[
    (
        "quickstart",
        &[
            "OpenNebula 7.5.80",
            "Registered host 0",
            "NOTES is now \"Just updated by the quick start\"",
            "Images 0 and 1 are READY",
            "has 2 disks",
            "is ACTIVE/RUNNING",
            "After poweroff: POWEROFF",
            "After resume: ACTIVE/RUNNING",
            "After terminate: DONE",
            "Cleaned up",
        ],
    ),
    (
        "pyone_connect_tls",
        &[
            "https://127.0.0.1:",
            "Unverified TLS: OpenNebula 7.5.80",
            "Trusted certificate: OpenNebula 7.5.80",
            "Default client refuses the self-signed certificate",
        ],
    ),
    (
        "pyone_hostpool",
        &["HOST[0].ID = 0 (localhost)", "IM_MAD=\"dummy\""],
    ),
    (
        "pyone_marketpool",
        &["Marketplace name is Linux Containers", "OpenNebula Public"],
    ),
    ("pyone_host_update_flat", &["LABELS = HD"]),
    ("pyone_vm_update_root", &["ATT1=\"value1\""]),
    (
        "pyone_template_allocate_raw",
        &["(test100) uses images [\"1\", \"2\"]", "has 2 DISKs"],
    ),
    (
        "pyone_template_read_modify_update",
        &["NOTES = Just updated"],
    ),
    (
        "pyone_marketapp_states",
        &["MARKETPLACEAPP_STATES: INIT, READY, LOCKED, ERROR, DISABLED"],
    ),
    (
        "pyone_host_allocate",
        &[
            "(pyone-localhost) in cluster 0 (default), IM_MAD kvm, VM_MAD kvm",
            "Second allocate refused: OpenNebula error ALLOCATE (0x4000)",
        ],
    ),
    (
        "pyone_instantiate",
        &["VMTEMPLATE[0]: ID 0 NAME pyone-template", "(my_VM)"],
    ),
    (
        "pyone_vmpool",
        &["VM[0]: ID 0 NAME pyone-vmpool", "MEMORY=\"64\""],
    ),
    ("pyone_vm_terminate", &["VM 0 is RUNNING", "VM 0 is DONE"]),
];

/// Examples the test server cannot run yet because of a server gap (written up in the
/// project notes), with the error each must still print. Shrink-only: the test fails once
/// one of them succeeds, so that it moves back to the ordinary list.
const KNOWN_SERVER_GAPS: &[(&str, &str)] = &[];

/// Examples that are not run here: benchmarks and soak tests owned elsewhere, which take
/// arguments or a long time, and `parse`, which reads a file.
const NOT_RUN: &[&str] = &[
    "bench_decode",
    "bench_document",
    "bench_calls",
    "parse",
    "soak",
];

/// The example binaries, built once for the whole test binary.
fn example_binaries() -> &'static Vec<(String, PathBuf)> {
    static BINARIES: OnceLock<Vec<(String, PathBuf)>> = OnceLock::new();
    BINARIES.get_or_init(|| {
        let started = Instant::now();
        let binaries = build_examples();
        eprintln!("examples built in {:?}", started.elapsed());
        binaries
    })
}

fn build_examples() -> Vec<(String, PathBuf)> {
    let mut features: Vec<&str> = Vec::new();
    if cfg!(feature = "test-server") {
        features.push("test-server");
    }
    if cfg!(feature = "blocking") {
        features.push("blocking");
    }
    if cfg!(feature = "conformance") {
        features.push("conformance");
    }
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["build", "--examples", "--message-format=json"])
        .args(["--no-default-features", "--features", &features.join(",")]);
    if !cfg!(debug_assertions) {
        cargo.arg("--release");
    }
    // `cargo test` sets these for the test process. Passed on, they would differ from the
    // outer build's environment (ring's build script watches CARGO_MANIFEST_DIR, for one), so
    // the nested build would rebuild the library, and the next `cargo test` rebuild it back.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_BIN_EXE_")
            || [
                "CARGO_MANIFEST_DIR",
                "CARGO_MANIFEST_PATH",
                "CARGO_CRATE_NAME",
                "CARGO_BIN_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "CARGO_RUSTC_CURRENT_DIR",
                "OUT_DIR",
            ]
            .contains(&name.as_ref())
        {
            cargo.env_remove(name.as_ref());
        }
    }
    let output = cargo.output().expect("cargo runs");
    assert!(
        output.status.success(),
        "building the examples failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut binaries = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let is_example = message["target"]["kind"]
            .as_array()
            .is_some_and(|kinds| kinds.iter().any(|k| k == "example"));
        if let (true, Some(name), Some(executable)) = (
            is_example,
            message["target"]["name"].as_str(),
            message["executable"].as_str(),
        ) {
            binaries.push((name.to_string(), PathBuf::from(executable)));
        }
    }
    binaries
}

fn run(name: &str) -> Output {
    let (_, path) = example_binaries()
        .iter()
        .find(|(example, _)| example == name)
        .unwrap_or_else(|| panic!("example {name} was not built"));
    let started = Instant::now();
    let output = Command::new(path)
        .env_remove("ONE_XMLRPC")
        .env_remove("ONE_AUTH")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()));
    eprintln!("{name}: {:?}", started.elapsed());
    // Each example talks to an in-process server: seconds mean something is wrong.
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{name} took {:?}",
        started.elapsed()
    );
    output
}

fn describe(name: &str, output: &Output) -> String {
    format!(
        "example {name} exited with {}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn every_example_is_listed_here() {
    let built: Vec<&str> = example_binaries()
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    for name in &built {
        assert!(
            EXAMPLES.iter().any(|(example, _)| example == name) || NOT_RUN.contains(name),
            "example {name} is neither run by tests/examples_run.rs nor listed in NOT_RUN"
        );
    }
    for (name, _) in EXAMPLES {
        assert!(built.contains(name), "example {name} was not built");
    }
}

#[test]
fn every_example_runs_to_completion() {
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = EXAMPLES
            .iter()
            .map(|(name, expected)| scope.spawn(move || (*name, *expected, run(name))))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("runner thread"))
            .collect()
    });
    let mut failures = Vec::new();
    for (name, expected, output) in results {
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        if let Some((_, error)) = KNOWN_SERVER_GAPS.iter().find(|(gap, _)| *gap == name) {
            if output.status.success() {
                failures.push(format!(
                    "{name} now succeeds: remove it from KNOWN_SERVER_GAPS\n{}",
                    describe(name, &output)
                ));
            } else if !stderr.contains(error) {
                failures.push(format!(
                    "{name} is a known server gap but failed differently (expected {error:?})\n{}",
                    describe(name, &output)
                ));
            } else {
                eprintln!("known server gap, still failing as expected: {name}");
            }
            continue;
        }
        if !output.status.success() {
            failures.push(describe(name, &output));
            continue;
        }
        assert!(
            stdout.contains("Started an in-process OpenNebula test server at"),
            "{}",
            describe(name, &output)
        );
        for line in expected {
            if !stdout.contains(line) {
                failures.push(format!(
                    "{name}: output lacks {line:?}\n{}",
                    describe(name, &output)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
