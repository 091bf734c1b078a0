//! The daemon's care of log files: a fresh log per run, a time index, size rotation.

use orchestra_tests::{Fleet, PATIENCE, Signal, poll_until, send_signal, wait_until};

use super::{assert_nothing_left, pid, ps, state};

/// Whether `log` holds exactly the line of run `pid` (it may be rotating right now).
fn has_line(fleet: &Fleet, log: &str, pid: u32) -> bool {
    std::fs::read_to_string(fleet.path(log)).is_ok_and(|text| text == format!("run {pid}\n"))
}

#[test]
fn each_run_of_a_replica_gets_a_fresh_log_and_the_last_runs_are_kept() {
    let fleet = Fleet::new().orchestra_yml("logs: { keep: 2 }\n").service(
        "echo",
        "run: \"echo run $$; exec sleep 1000\"\nrestart: always\n",
    );
    fleet.cmd(["start"]).assert_success();
    let log = ".orchestra/logs/echo.0.log";
    let mut runs = vec![pid(&ps(&fleet), "echo", 0).expect("echo runs")];
    for _ in 0..2 {
        let last = *runs.last().unwrap();
        wait_until(PATIENCE, "the run's line", || has_line(&fleet, log, last));
        assert!(send_signal(last, Signal::SIGKILL));
        runs.push(poll_until(PATIENCE, "echo to come back", || {
            let rows = ps(&fleet);
            let now = pid(&rows, "echo", 0)?;
            (now != last && state(&rows, "echo", 0) == "running").then_some(now)
        }));
    }
    let last = runs[2];
    wait_until(PATIENCE, "the last run's line", || {
        has_line(&fleet, log, last)
    });
    assert_eq!(fleet.read(format!("{log}.1")), format!("run {}\n", runs[1]));
    assert_eq!(fleet.read(format!("{log}.2")), format!("run {}\n", runs[0]));
    assert!(!fleet.path(format!("{log}.3")).exists(), "keep: 2");
    fleet.cmd(["stop"]).assert_success();
    assert_nothing_left(&fleet, &runs);
}

#[test]
fn the_daemon_indexes_growing_logs_and_rotates_large_ones_without_losing_a_line() {
    let fleet = Fleet::new()
        .orchestra_yml("logs: { max_size: 8192, keep: 2 }\n")
        .fixture_service(
            "flood",
            "flood",
            "env: { LINES: \"3000\" }\nready: { log: \"flood done\", timeout: 20s }\n",
        );
    fleet.cmd(["start"]).assert_success();
    let log = ".orchestra/logs/flood.0.log";
    wait_until(PATIENCE, "the large log to be rotated", || {
        fleet.path(format!("{log}.1")).exists()
            && std::fs::metadata(fleet.path(log)).is_ok_and(|m| m.len() <= 8192)
    });
    wait_until(PATIENCE, "the log's time index", || {
        std::fs::metadata(fleet.path(format!("{log}.idx"))).is_ok_and(|m| m.len() >= 16)
    });
    // The rotated head and the rest join into every line, once, in order.
    let joined = fleet.read(format!("{log}.1")) + &fleet.read(log);
    let numbers: Vec<u32> = joined
        .lines()
        .filter_map(|l| l.strip_prefix("line ")?.parse().ok())
        .collect();
    assert_eq!(numbers, (1..=3000).collect::<Vec<_>>());
    assert!(
        joined.ends_with("flood done\n"),
        "{}",
        &joined[joined.len() - 40..]
    );
    fleet.cmd(["stop"]).assert_success();
    assert_nothing_left(&fleet, &[]);
}
