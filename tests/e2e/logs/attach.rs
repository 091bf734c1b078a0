//! `start --attach`: build progress and the services' lines in the foreground; Ctrl-C stops
//! the fleet gracefully, a second Ctrl-C kills it. `start --logs`: Ctrl-C only detaches.

use std::time::Duration;

use orchestra_tests::{
    Fleet, PATIENCE, Signal, pids_with_cwd_under, process_alive, require_go, wait_until,
};

/// How long a fleet with a Go build may take to come up on a busy machine.
const BUILD_PATIENCE: Duration = Duration::from_secs(240);

/// Waits until no process runs with its working folder inside the fleet (its daemon
/// included: it exits once it supervises nothing).
fn assert_nothing_left(fleet: &Fleet) {
    wait_until(
        PATIENCE * 3,
        "every process of the fleet to be gone",
        || pids_with_cwd_under(fleet.root()).is_empty(),
    );
}

/// A built Go service (`web`, the http fixture) and a plain command (`ticker`).
fn attached_fleet() -> Fleet {
    require_go();
    let fleet = Fleet::new().orchestra_yml("");
    let port = fleet.ports(1);
    fleet
        .go_service("web", "http", &format!("port: {port}\n"))
        .service("ticker", "run: \"echo tick from ticker; exec sleep 600\"\n")
}

#[test]
fn attach_streams_progress_and_lines_and_one_ctrl_c_stops_the_fleet_gracefully() {
    let fleet = attached_fleet();
    let attached = fleet.cmd(["start", "--attach"]).spawn();
    attached.wait_for_output("tick from ticker", BUILD_PATIENCE);
    // The http fixture logs where it listens once it runs: its line reaches the stream.
    attached.wait_for_output("listening on", BUILD_PATIENCE);
    // Progress and log lines arrive on separate paths: web's readiness may come a moment
    // after its first line.
    wait_until(PATIENCE, "progress to show web ready", || {
        attached
            .stdout()
            .lines()
            .any(|l| l.contains("web") && l.contains("ready"))
    });
    let shown = attached.stdout();
    assert!(shown.contains("ticker | tick from ticker"), "{shown}");
    assert!(
        shown
            .lines()
            .any(|l| l.contains("web") && l.contains("building")),
        "progress shows the build:\n{shown}"
    );
    assert!(
        shown
            .lines()
            .any(|l| l.starts_with("web") && l.contains("| ") && l.contains("listening on")),
        "web's own line is prefixed:\n{shown}"
    );

    attached.signal(Signal::SIGINT);
    let out = attached.wait(PATIENCE * 3);
    assert_eq!(out.code(), Some(0), "a graceful stop exits 0: {out}");
    assert!(out.stderr.contains("stopping the fleet"), "{out}");
    // The http fixture says goodbye on SIGTERM: it was stopped, not killed.
    assert!(out.stdout.contains("got terminated, stopping"), "{out}");
    assert_nothing_left(&fleet);
}

#[test]
fn a_second_ctrl_c_kills_a_fleet_that_does_not_stop() {
    let fleet = Fleet::new().orchestra_yml("").fixture_service(
        "stubborn",
        "ignore-term",
        "stop_timeout: 2m\n",
    );
    let attached = fleet.cmd(["start", "--attach"]).spawn();
    attached.wait_for_output("listening on", PATIENCE * 3);
    let stubborn = pids_with_cwd_under(fleet.root());

    attached.signal(Signal::SIGINT);
    // The service logs the SIGTERM it ignores: the graceful stop is under way.
    attached.wait_for_output("ignoring terminated", PATIENCE);
    attached.signal(Signal::SIGINT);
    // Well before the two-minute stop timeout: the second Ctrl-C killed it.
    let out = attached.wait(PATIENCE * 3);
    assert!(out.stderr.contains("killing the fleet"), "{out}");
    assert_eq!(
        out.code(),
        Some(1),
        "a killed fleet did not stop cleanly: {out}"
    );
    assert_nothing_left(&fleet);
    assert!(stubborn.iter().all(|&p| !process_alive(p)), "{stubborn:?}");
}

#[test]
fn logs_mode_detaches_on_ctrl_c_and_leaves_the_fleet_running() {
    let fleet = Fleet::new().orchestra_yml("").service(
        "ticker",
        "run: \"echo tick from ticker; exec sleep 600\"\nscale: 2\n",
    );
    let following = fleet.cmd(["start", "--logs"]).spawn();
    following.wait_for_output("ticker.0 | tick from ticker", PATIENCE * 3);
    following.wait_for_output("ticker.1 | tick from ticker", PATIENCE * 3);
    // Before this line Ctrl-C would cancel the start.
    following.wait_for_output("the fleet is up", PATIENCE);
    following.signal(Signal::SIGINT);
    let out = following.wait(PATIENCE);
    assert_eq!(out.code(), Some(0), "{out}");
    assert_eq!(out.stderr.lines().count(), 1, "{out}");

    let ps = fleet.cmd(["ps", "--json"]).assert_success();
    let rows: Vec<serde_json::Value> = serde_json::from_str(&ps.stdout).expect("ps --json");
    let running: Vec<u64> = rows
        .iter()
        .filter(|r| r["state"] == "running")
        .filter_map(|r| r["pid"].as_u64())
        .collect();
    assert_eq!(
        running.len(),
        2,
        "both replicas still run after detaching: {ps}"
    );
    for pid in &running {
        assert!(process_alive(u32::try_from(*pid).expect("a pid")), "{ps}");
    }

    fleet.cmd(["stop"]).assert_success();
    assert_nothing_left(&fleet);
}
