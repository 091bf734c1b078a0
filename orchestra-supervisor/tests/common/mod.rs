//! Helpers shared by the integration tests: real processes, polled with deadlines.
#![allow(dead_code, clippy::unwrap_used, missing_docs)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use orchestra_core::spec::{CommandSpec, ReplicaSpec};
use orchestra_core::{ReplicaId, ServiceName, Signal};

/// Polls `f` every 20 ms until it is true or `secs` pass; panics with `what` on timeout.
pub async fn wait_until(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A replica spec running `script` with `sh -c` in `dir`.
pub fn shell_replica(service: &str, index: u32, dir: &Path, script: &str) -> ReplicaSpec {
    ReplicaSpec {
        id: ReplicaId::new(ServiceName::new(service).unwrap(), index),
        dir: dir.to_path_buf(),
        command: CommandSpec::Shell(script.to_owned()),
        env: BTreeMap::from([("GREETING".to_owned(), "hello".to_owned())]),
        port: None,
        ready: None,
        stop_signal: Signal::TERM,
        stop_timeout: Duration::from_secs(5),
    }
}

/// Whether `pid` is running (present in /proc and not a zombie).
pub fn running(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
            !matches!(after.split_whitespace().next(), Some("Z" | "X"))
        }
        Err(_) => false,
    }
}

/// Whether `pid` exists at all (running or zombie).
pub fn exists(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Pids whose command line (arguments joined by spaces) starts with `prefix`.
pub fn pids_with_cmdline(prefix: &str) -> Vec<i32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if let Ok(cmd) = std::fs::read(entry.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.starts_with(prefix) {
                out.push(pid);
            }
        }
    }
    out
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
