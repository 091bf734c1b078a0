//! Ctrl-C during a detached `start`: the start is cancelled — builds killed, the replicas
//! it launched stopped — a line says so and the exit code is 130; a second Ctrl-C leaves at
//! once. A client that dies mid-start cancels it the same way.

use orchestra_tests::{Fleet, PATIENCE, Running, Signal, pids_with_cwd_under};

use super::assert_nothing_left;

/// `quick` is up at once; `slow` builds for 30 s, then would leave a flag when it runs.
fn slow_build_fleet() -> Fleet {
    Fleet::new()
        .orchestra_yml("")
        .service("quick", "run: \"exec sleep 1000\"\n")
        .service(
            "slow",
            "build: \"sleep 30\"\nrun: \"touch ran.flag; exec sleep 1000\"\n",
        )
}

/// Starts the fleet in the background and waits until `quick` is ready and `slow` builds.
fn start_until_building(fleet: &Fleet) -> Running {
    start_with_until_building(fleet, &[])
}

/// [`start_until_building`] with more arguments to `start`.
fn start_with_until_building(fleet: &Fleet, args: &[&str]) -> Running {
    let start = fleet.cmd([&["start"][..], args].concat()).spawn();
    start.wait_for_output("building", PATIENCE);
    orchestra_tests::wait_until(PATIENCE, "quick to be ready", || {
        start
            .stdout()
            .lines()
            .any(|l| l.contains("quick.0") && l.contains("ready"))
    });
    orchestra_tests::wait_until(PATIENCE, "slow's build to run", || {
        !pids_with_cwd_under(&fleet.path("slow")).is_empty()
    });
    start
}

/// Nothing of the fleet runs any more (its daemon included) and `slow` never ran.
fn assert_cancelled(fleet: &Fleet) {
    assert_nothing_left(fleet, &[]);
    assert!(
        !fleet.path("slow/ran.flag").exists(),
        "slow ran after the start was cancelled"
    );
}

#[test]
fn ctrl_c_cancels_a_detached_start_kills_its_build_and_stops_what_it_launched() {
    let fleet = slow_build_fleet();
    let start = start_until_building(&fleet);
    start.signal(Signal::SIGINT);
    let out = start.wait(PATIENCE);
    assert_eq!(out.code(), Some(130), "{out}");
    assert!(out.stderr.contains("cancelling the start"), "{out}");
    assert!(out.stderr.contains("start cancelled"), "{out}");
    assert!(
        out.stdout
            .lines()
            .any(|l| l.contains("quick.0") && l.contains("stopped")),
        "the replica the start launched is shown stopping:\n{out}"
    );
    assert_cancelled(&fleet);
}

#[test]
fn a_second_ctrl_c_leaves_at_once_and_the_start_is_still_cancelled() {
    let fleet = slow_build_fleet();
    let start = start_until_building(&fleet);
    start.signal(Signal::SIGINT);
    start.wait_for_output("cancelling the start", PATIENCE);
    start.signal(Signal::SIGINT);
    let out = start.wait(PATIENCE);
    assert_eq!(out.code(), Some(130), "{out}");
    assert_cancelled(&fleet);
}

#[test]
fn a_client_killed_mid_start_cancels_the_start() {
    let fleet = slow_build_fleet();
    let start = start_until_building(&fleet);
    start.signal(Signal::SIGKILL);
    let out = start.wait(PATIENCE);
    assert_eq!(out.code(), None, "{out}");
    assert_cancelled(&fleet);
}

#[test]
fn ctrl_c_of_start_logs_before_the_fleet_is_up_cancels_the_start() {
    let fleet = slow_build_fleet();
    let start = start_with_until_building(&fleet, &["--logs"]);
    start.signal(Signal::SIGINT);
    let out = start.wait(PATIENCE);
    assert_eq!(out.code(), Some(130), "{out}");
    assert!(out.stderr.contains("start cancelled"), "{out}");
    assert_cancelled(&fleet);
}
