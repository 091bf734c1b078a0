//! A low limit on open descriptors: the daemon raises its soft limit to the hard one, and
//! where even that is too low, spawns fail with one message per service and `stop` still
//! leaves nothing behind.

use std::os::unix::net::UnixStream;
use std::time::Duration;

use orchestra_tests::{
    Cmd, Fleet, Output, PATIENCE, orchestra_bin, pids_with_cwd_under, wait_until,
};

/// How long a start of a few hundred replicas may take on a loaded machine.
const MANY: Duration = Duration::from_secs(120);

/// `orchestra args…` under `prlimit --nofile=soft:hard`, in the fleet's folder: the daemon
/// it starts inherits the limits.
fn limited(fleet: &Fleet, soft: u32, hard: u32, args: &[&str]) -> Output {
    let bin = orchestra_bin().display().to_string();
    let limit = format!("--nofile={soft}:{hard}");
    let mut argv = vec![limit.as_str(), bin.as_str()];
    argv.extend_from_slice(args);
    Cmd::new("prlimit", argv, fleet.root()).timeout(MANY).run()
}

/// A fleet of `services` services of `scale` replicas, each a bare `sleep`.
fn sleepers(services: &[&str], scale: u32) -> Fleet {
    let mut fleet = Fleet::new().orchestra_yml("");
    for name in services {
        fleet = fleet.service(name, &format!("run: [sleep, \"100000\"]\nscale: {scale}\n"));
    }
    fleet
}

fn running_in(fleet: &Fleet, services: &[&str]) -> usize {
    services
        .iter()
        .map(|s| pids_with_cwd_under(&fleet.path(s)).len())
        .sum()
}

fn assert_stop_leaves_nothing(fleet: &Fleet, services: &[&str], out: &Output) {
    assert!(out.status.success(), "{out}");
    wait_until(PATIENCE, "every replica to be gone", || {
        running_in(fleet, services) == 0
    });
    assert!(fleet.records().is_empty(), "no record is left");
}

#[test]
fn a_fleet_larger_than_the_soft_descriptor_limit_starts_and_stops_whole() {
    let services = ["a", "b"];
    let fleet = sleepers(&services, 100);
    // 200 replicas need more than 128 descriptors in the daemon; the hard limit allows it.
    let out = limited(&fleet, 128, 8192, &["start"]);
    assert!(out.status.success(), "every replica starts: {out}");
    assert_eq!(running_in(&fleet, &services), 200);
    let out = limited(&fleet, 128, 8192, &["stop"]);
    assert_stop_leaves_nothing(&fleet, &services, &out);
}

#[test]
fn out_of_descriptors_each_failed_service_is_named_once_and_stop_leaves_nothing() {
    let services = ["a", "b"];
    let fleet = sleepers(&services, 80);
    // A hard limit the daemon cannot raise: some spawns fail.
    let out = limited(&fleet, 64, 64, &["start"]);
    assert_eq!(out.code(), Some(1), "{out}");
    let summary = out
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("error: not started: "))
        .unwrap_or_else(|| panic!("no summary of what did not start: {out}"));
    let named: Vec<&str> = summary.split(", ").collect();
    let once: std::collections::BTreeSet<&str> = named.iter().copied().collect();
    assert_eq!(named.len(), once.len(), "a service named twice: {summary}");
    let out = limited(&fleet, 64, 64, &["stop"]);
    assert_stop_leaves_nothing(&fleet, &services, &out);
}

#[test]
fn a_daemon_out_of_descriptors_pauses_between_failed_accepts_and_serves_again_after() {
    let services = ["a"];
    let fleet = sleepers(&services, 40);
    // Enough descriptors for the daemon and its replicas, and hardly more.
    let out = limited(&fleet, 64, 64, &["start"]);
    assert!(out.status.success(), "{out}");
    // Idle connections take the last descriptors: accepting the next ones fails (EMFILE).
    let socket = fleet.path(".orchestra/daemon.sock");
    let idle: Vec<UnixStream> = (0..32)
        .filter_map(|_| UnixStream::connect(&socket).ok())
        .collect();
    assert!(!idle.is_empty(), "the daemon listens");
    wait_until(
        PATIENCE,
        "the daemon to say it pauses between failed accepts",
        || {
            std::fs::read_to_string(fleet.path(".orchestra/daemon.log"))
                .is_ok_and(|log| log.contains("cannot accept connections; pausing between tries"))
        },
    );
    drop(idle);
    // Descriptors free again: the daemon answers.
    let ps = fleet.cmd(["ps", "--json"]).assert_success();
    assert!(ps.stdout.contains("\"a\""), "{ps}");
    let out = limited(&fleet, 64, 64, &["stop"]);
    assert_stop_leaves_nothing(&fleet, &services, &out);
}
