//! Python venvs for the tests that drive software nobody here wrote (PyONE, pyzmq with its
//! libzmq): made under the workspace's target folder, reused by later runs. Shared by
//! `tests/events_pyzmq.rs` and `test-server/tests/conformance_pyone.rs` (through `#[path]`).
//! Each caller decides what a registry it cannot reach means for it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use tokio::process::Command;

/// Upper bound for `pip install` (downloads a few MB).
pub const PIP_TIMEOUT: Duration = Duration::from_secs(600);

/// What pip prints when it cannot reach the package index (urllib3/requests errors behind
/// its retries), as opposed to a missing package or a build failure.
pub const REGISTRY_UNREACHABLE: &[&str] = &[
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

/// A venv with the package, or why not.
pub enum Venv {
    /// Its python, with the package importable.
    Ready(PathBuf),
    /// pip could not reach its registry; pip's output.
    RegistryUnreachable(String),
}

/// Runs `command` to its end within `timeout` (killed when it takes longer); panics when it
/// cannot run or does not end in time.
pub async fn run(command: &mut Command, timeout: Duration, what: &str) -> Output {
    command.kill_on_drop(true);
    match tokio::time::timeout(timeout, command.output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => panic!("{what}: cannot run: {e}"),
        Err(_) => panic!("{what}: did not finish within {timeout:?}"),
    }
}

/// stdout then stderr, as text.
pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The venv at `venv` with `package` installed (checked by importing `module`). Panics on
/// anything but an unreachable registry (no python3, no venv module, a pip error).
pub async fn venv_with(venv: &Path, package: &str, module: &str) -> Venv {
    let python = venv.join("bin").join("python");
    if python.exists() {
        let probe = run(
            Command::new(&python).args(["-c", &format!("import {module}")]),
            Duration::from_secs(60),
            "import",
        )
        .await;
        if probe.status.success() {
            return Venv::Ready(python);
        }
    } else {
        let created = run(
            Command::new("python3").arg("-m").arg("venv").arg(venv),
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
            package,
        ]),
        PIP_TIMEOUT,
        "pip install",
    )
    .await;
    let output = text(&installed);
    if installed.status.success() {
        return Venv::Ready(python);
    }
    if REGISTRY_UNREACHABLE.iter().any(|m| output.contains(m)) {
        return Venv::RegistryUnreachable(output);
    }
    panic!("pip install {package} failed (the registry answered):\n{output}");
}
