//! PyONE, the official Python binding that nobody here wrote, drives the test server through
//! every use the PyONE guide documents (`tests/pyone/pyone_usage.py` asserts the results).
//!
//! The test creates a venv under `target/pyone-venv` and runs `pip install pyone` in it. It
//! is skipped, with a visible message, only when pip cannot reach its registry; any other
//! failure (no python3, no venv module, a pip error, a failed check) fails the test.

#![cfg(feature = "conformance")]

#[path = "support_conformance/mod.rs"]
mod support_conformance;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use opennebula_test_server::TestServer;
use support_conformance::target_path;
use tokio::process::Command;

/// Checks of `tests/pyone/pyone_usage.py` (by key) the test server is known to fail. The
/// script reports them as XFAIL, and fails if one of them passes, so this list can only
/// shrink. Each entry says what the server does wrong (details in the final report).
const KNOWN_FAILURES: &[(&str, &str)] = &[];

/// Upper bound for the whole Python script (it makes a few dozen calls).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(180);

/// Upper bound for `pip install pyone` (downloads a few MB).
const PIP_TIMEOUT: Duration = Duration::from_secs(600);

/// What pip prints when it cannot reach the package index (urllib3/requests errors behind
/// its retries), as opposed to a missing package or a build failure.
const REGISTRY_UNREACHABLE: &[&str] = &[
    "NewConnectionError",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Name or service not known",
    "Network is unreachable",
    "ConnectTimeoutError",
    "ProxyError",
    "Connection refused",
    "No route to host",
    "Read timed out",
];

enum Venv {
    Ready(PathBuf),
    RegistryUnreachable(String),
}

async fn run(command: &mut Command, timeout: Duration, what: &str) -> Output {
    command.kill_on_drop(true);
    match tokio::time::timeout(timeout, command.output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => panic!("{what}: cannot run: {e}"),
        Err(_) => panic!("{what}: did not finish within {timeout:?}"),
    }
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

async fn pyone_venv() -> Venv {
    let venv = target_path("pyone-venv");
    let python = venv.join("bin").join("python");
    if python.exists() {
        let probe = run(
            Command::new(&python).args(["-c", "import pyone"]),
            Duration::from_secs(60),
            "import pyone",
        )
        .await;
        if probe.status.success() {
            return Venv::Ready(python);
        }
    } else {
        let created = run(
            Command::new("python3").arg("-m").arg("venv").arg(&venv),
            Duration::from_secs(120),
            "python3 -m venv",
        )
        .await;
        assert!(
            created.status.success(),
            "python3 -m venv {} failed (install python3-venv):\n{}",
            venv.display(),
            text(&created)
        );
    }
    let installed = run(
        Command::new(&python).args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--timeout",
            "20",
            "--retries",
            "2",
            "pyone",
        ]),
        PIP_TIMEOUT,
        "pip install pyone",
    )
    .await;
    let output = text(&installed);
    if installed.status.success() {
        return Venv::Ready(python);
    }
    if REGISTRY_UNREACHABLE.iter().any(|m| output.contains(m)) {
        return Venv::RegistryUnreachable(output);
    }
    panic!("pip install pyone failed (the registry answered):\n{output}");
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pyone/pyone_usage.py")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyone_drives_the_test_server_through_every_documented_use() {
    let python = match pyone_venv().await {
        Venv::Ready(python) => python,
        Venv::RegistryUnreachable(output) => {
            let last: Vec<&str> = output.lines().rev().take(5).collect();
            eprintln!(
                "\n=== SKIPPED: pip cannot reach its registry, PyONE is not installed ===\n{}\n",
                last.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
            return;
        }
    };

    let plain = TestServer::start().await.expect("start the test server");
    let tls = TestServer::builder()
        .tls(true)
        .start()
        .await
        .expect("start the TLS test server");
    let certificate = tls
        .certificate_pem()
        .expect("a TLS server has a certificate");
    let cert_path = target_path("pyone-test-server-cert.pem");
    std::fs::write(&cert_path, certificate).unwrap();

    let output = run(
        Command::new(&python)
            .arg(script())
            .arg(plain.url())
            .arg(plain.session())
            .arg(tls.url())
            .arg(&cert_path)
            .arg(
                KNOWN_FAILURES
                    .iter()
                    .map(|(key, _)| *key)
                    .collect::<Vec<_>>()
                    .join(","),
            )
            // PyONE must talk XML-RPC to the URL given, whatever the caller's environment.
            .env_remove("ONE_XMLRPC")
            .env_remove("ONE_GRPC")
            .env_remove("ONEAPI_PROTOCOL")
            .env_remove("REQUESTS_CA_BUNDLE")
            .env_remove("PYONE_TEST_FIXTURE"),
        SCRIPT_TIMEOUT,
        "pyone_usage.py",
    )
    .await;
    let report = text(&output);
    println!("{report}");
    assert!(
        output.status.success(),
        "the PyONE script failed ({}):\n{report}",
        output.status
    );
    assert!(
        report.contains("PyONE checks passed"),
        "unexpected script output:\n{report}"
    );
    for (key, why) in KNOWN_FAILURES {
        println!("known PyONE failure [{key}]: {why}");
    }
}
