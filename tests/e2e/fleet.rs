//! The fleet runtime end to end: `start`, `stop`, `restart`, `ps` and `scale` through the
//! real `orchestra` binary and its daemon, on real processes. Every test runs its own fleet
//! in a temporary folder on free ports.

mod acceptance;
mod broken_config;
mod cleanup;
mod errors;
mod events;
mod explain;
mod identity;
mod interrupt;
mod lifecycle;
mod logs;
mod ports;
mod progress;
mod restarts;
mod scale;
pub(crate) mod socket;
mod version;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command};

use orchestra_tests::{
    Fleet, Output, PATIENCE, cmdline, pids_with_cwd_under, process_alive, wait_until,
};
use serde_json::Value;

/// A fleet running one `sleep` replica, and the replica's pid.
pub(crate) fn sleeping_fleet() -> (Fleet, u32) {
    let fleet = Fleet::new()
        .orchestra_yml("")
        .service("worker", "run: \"exec sleep 1000\"\n");
    fleet.cmd(["start"]).assert_success();
    let worker = pid(&ps(&fleet), "worker", 0).expect("worker runs");
    (fleet, worker)
}

/// A fleet of two `sleep` replicas left running by a daemon that was killed (SIGKILL, so
/// it could not stop them), and the replicas' pids.
pub(crate) fn orphaned_workers() -> (Fleet, [u32; 2]) {
    let fleet = Fleet::new()
        .orchestra_yml("")
        .service("worker", "run: \"exec sleep 1000\"\nscale: 2\n");
    fleet.cmd(["start"]).assert_success();
    let rows = ps(&fleet);
    let workers = [pid(&rows, "worker", 0), pid(&rows, "worker", 1)].map(|p| p.expect("runs"));
    let daemon = daemon_pid(&fleet).expect("the daemon runs");
    assert!(orchestra_tests::send_signal(
        daemon,
        orchestra_tests::Signal::SIGKILL
    ));
    wait_until(PATIENCE, "the daemon to die", || !process_alive(daemon));
    (fleet, workers)
}

/// Sets the permission bits of `path` to `mode`.
pub(crate) fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("cannot chmod");
}

/// An unrelated `sleep` of this user, leading its own process group, outside the project.
pub(crate) fn bystander() -> Child {
    Command::new("sleep")
        .arg("1000")
        .current_dir("/")
        .process_group(0)
        .spawn()
        .expect("cannot spawn sleep")
}

/// A started fleet of `web` (the http fixture, ready on its free port) and `worker`, whose
/// service.yml is `worker`.
fn running_web_and_worker(worker: &str) -> Fleet {
    let fleet = Fleet::new().orchestra_yml("");
    let port = fleet.ports(1);
    let fleet = fleet
        .fixture_service(
            "web",
            "http",
            &format!("port: {port}\nready: {{ tcp: $PORT }}\n"),
        )
        .service("worker", worker);
    fleet.cmd(["start"]).assert_success();
    fleet
}

/// `orchestra ps --json`, parsed.
pub(crate) fn ps(fleet: &Fleet) -> Vec<Value> {
    let out = fleet.cmd(["ps", "--json"]).assert_success();
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("`ps --json` printed no JSON array ({e}): {out}"))
}

/// The `ps --json` row of `service.index`.
fn row<'a>(rows: &'a [Value], service: &str, index: u64) -> Option<&'a Value> {
    rows.iter()
        .find(|r| r["service"] == service && r["replica"] == index)
}

/// The pid `ps --json` shows for `service.index`, if any.
pub(crate) fn pid(rows: &[Value], service: &str, index: u64) -> Option<u32> {
    row(rows, service, index)?["pid"]
        .as_u64()
        .and_then(|p| u32::try_from(p).ok())
}

/// The state `ps --json` shows for `service.index` (`""` when it is not listed).
pub(crate) fn state(rows: &[Value], service: &str, index: u64) -> String {
    row(rows, service, index)
        .and_then(|r| r["state"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// Which replicas `ps --json` lists as started, as `name.n` (a stopped service is listed
/// too, as `stopped`: it is left out here).
fn listed(rows: &[Value]) -> Vec<String> {
    let mut names: Vec<String> = rows
        .iter()
        .filter(|r| r["state"] != "stopped")
        .map(|r| format!("{}.{}", r["service"].as_str().unwrap_or("?"), r["replica"]))
        .collect();
    names.sort();
    names
}

pub(crate) fn is_daemon(pid: u32) -> bool {
    cmdline(pid).is_some_and(|c| c.contains("orchestra") && c.contains(" daemon"))
}

/// The project's daemon, found by its working folder (the project) and command line.
pub(crate) fn daemon_pid(fleet: &Fleet) -> Option<u32> {
    pids_with_cwd_under(fleet.root())
        .into_iter()
        .find(|&p| is_daemon(p))
}

/// Live processes running inside the project, the daemon excepted, with their command lines.
fn service_processes(fleet: &Fleet) -> Vec<(u32, String)> {
    pids_with_cwd_under(fleet.root())
        .into_iter()
        .filter(|&p| !is_daemon(p))
        .filter_map(|p| Some((p, cmdline(p)?)))
        .collect()
}

/// Waits until nothing runs inside the project any more — the daemon included, since it
/// exits once it supervises nothing — and none of `pids` is alive.
pub(crate) fn assert_nothing_left(fleet: &Fleet, pids: &[u32]) {
    wait_until(PATIENCE, "every process of the fleet to be gone", || {
        pids_with_cwd_under(fleet.root()).is_empty() && pids.iter().all(|&p| !process_alive(p))
    });
}

/// The index of the first line of `out`'s stdout containing every one of `words`.
fn line_of(out: &Output, words: &[&str]) -> usize {
    out.stdout
        .lines()
        .position(|l| words.iter().all(|w| l.contains(w)))
        .unwrap_or_else(|| panic!("no line with {words:?} in:\n{out}"))
}

/// A service.yml restart section that gives up quickly: `n` restarts, 100 ms doubling.
fn quick_restarts(n: u32) -> String {
    format!("restart: {{ policy: always, max_restarts: {n}, backoff: 100ms, backoff_max: 2s }}\n")
}
