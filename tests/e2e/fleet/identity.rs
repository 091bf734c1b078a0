//! A written-down pid is never trusted: records that point at another process are ignored.
//!
//! A stale record is made the honest way: the record of a running replica is kept aside,
//! the fleet is stopped (the daemon reaps the replica, so its pid is free again), and the
//! record is put back. Then its pid is handed to an unrelated process.

use std::fs;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use orchestra_tests::{Fleet, PATIENCE, process_alive};
use serde_json::Value;

use super::{assert_nothing_left, bystander, pid, ps, state};

const NS_LAST_PID: &str = "/proc/sys/kernel/ns_last_pid";

/// A fleet with one replica, stopped, and its replica's record put back.
fn fleet_with_a_stale_record() -> (Fleet, Value) {
    let fleet = Fleet::new()
        .orchestra_yml("")
        .service("worker", "run: \"exec sleep 1000\"\n");
    fleet.cmd(["start"]).assert_success();
    let record = fleet
        .record("worker", 0)
        .expect("a running replica has a record");
    let replica = pid(&ps(&fleet), "worker", 0).expect("worker runs");
    fleet.cmd(["stop"]).assert_success();
    assert_nothing_left(&fleet, &[replica]);
    fleet.append_record(&record);
    assert_eq!(record["identity"]["pid"], replica);
    (fleet, record)
}

/// `ps`, `stop` and a new daemon's adoption must all leave `victim` alone.
fn assert_never_signalled(fleet: &Fleet, victim: u32) {
    let rows = ps(fleet);
    assert_ne!(pid(&rows, "worker", 0), Some(victim), "{rows:?}");
    assert_eq!(state(&rows, "worker", 0), "crashed", "{rows:?}");
    fleet.cmd(["stop"]).assert_success();
    assert!(
        process_alive(victim),
        "`stop` signalled an unrelated process"
    );
    assert!(
        fleet.record("worker", 0).is_none(),
        "the stale record is dropped"
    );
}

#[test]
fn a_record_pointing_at_an_unrelated_process_is_never_signalled() {
    let (fleet, mut record) = fleet_with_a_stale_record();
    let mut victim = bystander();
    let victim_pid = victim.id();
    // The pid (and group) of a live process, with the start time of the replica.
    record["identity"]["pid"] = victim_pid.into();
    record["identity"]["pgid"] = victim_pid.into();
    fleet.append_record(&record);

    assert_never_signalled(&fleet, victim_pid);
    // A new daemon reads the same record when it adopts: it must not adopt the stranger.
    fleet.append_record(&record);
    fleet.cmd(["start"]).assert_success();
    let rows = ps(&fleet);
    assert_ne!(pid(&rows, "worker", 0), Some(victim_pid), "{rows:?}");
    fleet.cmd(["stop"]).assert_success();
    assert!(
        process_alive(victim_pid),
        "the daemon signalled an unrelated process"
    );

    victim.kill().unwrap();
    victim.wait().unwrap();
    assert_nothing_left(&fleet, &[]);
}

#[test]
fn a_recycled_pid_in_a_stale_record_is_never_signalled() {
    let (fleet, record) = fleet_with_a_stale_record();
    let target = u32::try_from(record["identity"]["pid"].as_u64().unwrap()).unwrap();
    let Some(mut victim) = spawn_with_pid(target) else {
        return;
    };
    assert_never_signalled(&fleet, target);
    victim.kill().unwrap();
    victim.wait().unwrap();
    assert_nothing_left(&fleet, &[]);
}

/// Spawns an unrelated `sleep` that gets exactly `pid`, by setting the pid namespace's last
/// pid just below it. Other processes may take the pid first, so it tries a while. `None`
/// (with the reason printed) where the kernel setting cannot be written or the pid stays
/// taken.
fn spawn_with_pid(pid: u32) -> Option<Child> {
    if let Err(e) = fs::write(NS_LAST_PID, (pid - 1).to_string()) {
        eprintln!("skipped: cannot write {NS_LAST_PID} ({e}); needs root in the pid namespace");
        return None;
    }
    let started = Instant::now();
    while started.elapsed() < PATIENCE {
        if !Path::new(&format!("/proc/{pid}")).exists() {
            fs::write(NS_LAST_PID, (pid - 1).to_string()).expect("it was writable a moment ago");
            let mut child = bystander();
            if child.id() == pid {
                return Some(child);
            }
            child.kill().expect("cannot kill our own sleep");
            child.wait().expect("cannot reap our own sleep");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!("skipped: pid {pid} could not be recycled within {PATIENCE:?}");
    None
}
