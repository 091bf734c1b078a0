//! The daemon's care of log files: a fresh log per run, a time index, size rotation.

use std::time::{Duration, Instant};

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
        .orchestra_yml("logs: { max_size: 8192, keep: 20 }\n")
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
    // The rotated files (as many as the flood's pace made: a growing log is looked at
    // every few milliseconds) and the rest join into every line, once, in order.
    let mut joined = String::new();
    for n in (1..=20).rev() {
        if let Ok(head) = std::fs::read_to_string(fleet.path(format!("{log}.{n}"))) {
            joined += &head;
        }
    }
    joined += &fleet.read(log);
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

/// The bytes of every file in the logs folder.
fn logs_bytes(fleet: &Fleet) -> u64 {
    std::fs::read_dir(fleet.path(".orchestra/logs")).map_or(0, |entries| {
        entries
            .flatten()
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .sum()
    })
}

#[test]
fn flooding_writers_keep_their_logs_within_twice_the_rotation_bound() {
    // Lines of 20 bytes as fast as a shell loop writes them: a few MB/s per writer,
    // which a look once a second lets grow to several times `max_size` between rotations.
    const WRITERS: u64 = 3;
    const MAX_SIZE: u64 = 1_000_000;
    const KEEP: u64 = 1;
    let line = "x".repeat(19);
    let fleet = Fleet::new()
        .orchestra_yml(&format!("logs: {{ max_size: {MAX_SIZE}, keep: {KEEP} }}\n"))
        .service(
            "flood",
            &format!("run: \"while :; do echo {line}; done\"\nscale: {WRITERS}\n"),
        );
    fleet.cmd(["start"]).assert_success();
    let logs = fleet.path(".orchestra/logs");
    wait_until(PATIENCE * 3, "every writer's log to be rotated", || {
        (0..WRITERS).all(|i| logs.join(format!("flood.{i}.log.1")).exists())
    });
    let bound = WRITERS * (KEEP + 1) * MAX_SIZE;
    // Held, not touched once: a look once a second lets the logs swing between one and
    // two seconds' worth of output, and a dip must not pass for keeping up. Three seconds
    // span three such looks.
    let held = Duration::from_secs(3);
    let mut within_since: Option<Instant> = None;
    let mut largest = 0;
    poll_until(
        Duration::from_secs(120),
        "the logs to stay within twice their bound for 3 s",
        || {
            let bytes = logs_bytes(&fleet);
            if bytes > 2 * bound {
                within_since = None;
                largest = 0;
                return None;
            }
            largest = largest.max(bytes);
            let since = *within_since.get_or_insert_with(Instant::now);
            (since.elapsed() >= held).then_some(())
        },
    );
    eprintln!("within {largest} bytes of a bound of {bound} for {held:?}");
    fleet.cmd(["stop"]).assert_success();
    assert_nothing_left(&fleet, &[]);
}
