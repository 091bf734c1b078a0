//! Restart policy and backoff, seen from `ps --json`.

use orchestra_tests::{
    Fleet, PATIENCE, Signal, poll_until, process_alive, send_signal, wait_until,
};

use super::{assert_nothing_left, daemon_pid, pid, ps, quick_restarts, row, state};

/// A fleet of one `web` on a port, with a tcp probe, started.
fn started_web() -> (Fleet, u16) {
    let fleet = Fleet::new().orchestra_yml("");
    let port = fleet.ports(1);
    let fleet = fleet.fixture_service(
        "web",
        "http",
        &format!("port: {port}\nready: {{ tcp: $PORT }}\n"),
    );
    fleet.cmd(["start"]).assert_success();
    (fleet, port)
}

/// Kills `web`'s process `first` with SIGKILL and checks it comes back: a new pid, running,
/// one restart counted, listening. Then stops the fleet and checks nothing is left.
fn kill_and_see_it_restarted(fleet: &Fleet, port: u16, first: u32) {
    assert!(send_signal(first, Signal::SIGKILL));
    let second = poll_until(PATIENCE, "web to come back with a new pid", || {
        let rows = ps(fleet);
        let now = pid(&rows, "web", 0)?;
        (now != first && state(&rows, "web", 0) == "running").then_some(now)
    });
    assert!(!process_alive(first));
    let rows = ps(fleet);
    assert_eq!(
        row(&rows, "web", 0).expect("web has a row")["restarts"],
        1,
        "{rows:?}"
    );
    wait_until(PATIENCE, "the new replica to listen", || {
        orchestra_tests::port_accepts(port)
    });
    fleet.cmd(["stop"]).assert_success();
    assert_nothing_left(fleet, &[first, second]);
}

#[test]
fn a_replica_killed_with_sigkill_comes_back_with_a_new_pid_and_a_restart_counted() {
    let (fleet, port) = started_web();
    let first = pid(&ps(&fleet), "web", 0).expect("web runs");
    kill_and_see_it_restarted(&fleet, port, first);
}

/// A replica adopted from a killed daemon is not the new daemon's child, so no SIGCHLD
/// tells of its end; the daemon still notices it die and restarts it.
#[test]
fn an_adopted_replica_that_dies_is_restarted() {
    let (fleet, port) = started_web();
    let adopted = pid(&ps(&fleet), "web", 0).expect("web runs");
    let daemon = daemon_pid(&fleet).expect("the daemon runs");
    assert!(send_signal(daemon, Signal::SIGKILL));
    wait_until(PATIENCE, "the daemon to die", || !process_alive(daemon));
    fleet.cmd(["start"]).assert_success();
    assert_eq!(
        pid(&ps(&fleet), "web", 0),
        Some(adopted),
        "adopted, not restarted"
    );
    kill_and_see_it_restarted(&fleet, port, adopted);
}

#[test]
fn a_replica_crashing_before_ready_fails_start_then_backs_off_until_crashed() {
    let fleet = Fleet::new().orchestra_yml("");
    let port = fleet.ports(1);
    // Each run notes when it began, then fails before its port ever opens.
    let fleet = fleet.service(
        "crashy",
        &format!(
            "port: {port}\nrun: \"date +%s%N >> runs; echo boom from run; exit 3\"\n\
             ready: {{ tcp: $PORT, timeout: 20s }}\n{}",
            quick_restarts(3)
        ),
    );
    let out = fleet.cmd(["start"]).assert_exit(1);
    assert!(
        out.stdout.contains("backing off"),
        "backoff is shown: {out}"
    );
    assert!(out.stderr.contains("exited with code 3"), "{out}");
    assert!(
        out.stderr.contains("boom from run"),
        "the log's tail is shown: {out}"
    );

    let rows = poll_until(PATIENCE, "crashy to be given up on", || {
        let rows = ps(&fleet);
        (state(&rows, "crashy", 0) == "crashed").then_some(rows)
    });
    let crashy = row(&rows, "crashy", 0).unwrap();
    assert_eq!(crashy["restarts"], 3, "{rows:?}");
    assert!(crashy["pid"].is_null(), "{rows:?}");
    let reason = crashy["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("gave up after 3 restarts"), "{reason}");

    // The first run and three restarts, each after a longer pause: 100, 200, 400 ms.
    let runs: Vec<u128> = fleet
        .read("crashy/runs")
        .lines()
        .map(|l| l.trim().parse().expect("a time in ns"))
        .collect();
    assert_eq!(runs.len(), 4, "{runs:?}");
    for (i, pair) in runs.windows(2).enumerate() {
        let gap_ms = (pair[1] - pair[0]) / 1_000_000;
        let backoff = 100 << i;
        assert!(
            gap_ms >= backoff,
            "restart {i} came after {gap_ms} ms, not {backoff}+"
        );
    }
    fleet.cmd(["stop"]).assert_success();
    assert_nothing_left(&fleet, &[]);
}
