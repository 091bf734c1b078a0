//! `rm -rf .orchestra` (what `git clean -fdx` does) under a running fleet never makes two
//! fleets: the daemon takes its folder back, or a daemon started on the new folder retires
//! it first.

use std::fs;

use orchestra_tests::{Fleet, PATIENCE, cmdline, pids_with_cwd_under, poll_until, wait_until};

use super::sleeping_fleet;
use crate::fleet::{assert_nothing_left, daemon_pid, is_daemon, pid, ps};

/// The daemons and the `sleep` replicas running in the project.
fn count(fleet: &Fleet) -> (usize, usize) {
    let pids = pids_with_cwd_under(fleet.root());
    let daemons = pids.iter().filter(|&&p| is_daemon(p)).count();
    let sleeps = pids
        .iter()
        .filter(|&&p| cmdline(p).is_some_and(|c| c.starts_with("sleep 1000")))
        .count();
    (daemons, sleeps)
}

#[test]
fn the_daemon_takes_its_removed_folder_back() {
    let (fleet, worker) = sleeping_fleet();
    let daemon = daemon_pid(&fleet).expect("the daemon runs");
    fs::remove_dir_all(fleet.path(".orchestra")).unwrap();

    // The same daemon answers again, with the same replica, from a recreated folder.
    poll_until(PATIENCE, "ps to show the fleet again", || {
        let out = fleet.cmd(["ps", "--json"]).run();
        let rows: Vec<serde_json::Value> = serde_json::from_str(&out.stdout).ok()?;
        (pid(&rows, "worker", 0) == Some(worker)).then_some(())
    });
    assert!(
        fleet.record("worker", 0).is_some(),
        "the record is written again"
    );
    assert!(fleet.path(".orchestra/daemon.log").exists());
    assert_eq!(daemon_pid(&fleet), Some(daemon));

    fleet.cmd(["start"]).assert_success();
    assert_eq!(count(&fleet), (1, 1), "one daemon, one worker");
    assert_eq!(pid(&ps(&fleet), "worker", 0), Some(worker));

    fleet.cmd(["stop"]).assert_success();
    assert_nothing_left(&fleet, &[worker, daemon]);
}

#[test]
fn a_start_racing_the_removal_still_gives_one_fleet() {
    let (fleet, worker) = sleeping_fleet();
    let daemon = daemon_pid(&fleet).expect("the daemon runs");
    fs::remove_dir_all(fleet.path(".orchestra")).unwrap();
    // At once: the old daemon may not have noticed yet.
    fleet.cmd(["start"]).assert_success();

    wait_until(PATIENCE, "one daemon and one worker", || {
        count(&fleet) == (1, 1)
    });
    let rows = ps(&fleet);
    let now = pid(&rows, "worker", 0).expect("the worker runs");
    assert_eq!(count(&fleet), (1, 1), "{rows:?}");

    fleet.cmd(["stop"]).assert_success();
    assert_nothing_left(&fleet, &[worker, now, daemon]);
}
