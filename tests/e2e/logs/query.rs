//! What `logs` shows: `-n N` per replica, `--grep`, `--since`, and a service selection.

use std::fs::File;
use std::path::Path;
use std::time::{Duration, SystemTime};

use orchestra_tests::{Fleet, PATIENCE, wait_until};

use super::{Replica, by_replica, flood_output, parse_json_lines, scribe};

/// Two services that write and then idle: `flood` (3 replicas of 50 numbered lines) and
/// `raw` (the scribe's non-UTF-8 lines), started and finished writing.
fn finished_fleet() -> Fleet {
    let fleet = Fleet::new()
        .orchestra_yml("")
        .fixture_service("flood", "flood", "scale: 3\nenv: { LINES: \"50\" }\n")
        .service("raw", &scribe("binary", ""));
    fleet.cmd(["start"]).assert_success();
    wait_until(PATIENCE, "every replica to finish writing", || {
        let out = fleet.cmd(["logs", "-n", "1"]).assert_success();
        out.stdout.matches("flood done").count() == 3 && out.stdout.contains("scribe done")
    });
    fleet
}

fn json_groups(fleet: &Fleet, args: &[&str]) -> std::collections::BTreeMap<Replica, Vec<String>> {
    let mut all = vec!["logs", "--json"];
    all.extend(args);
    by_replica(parse_json_lines(&fleet.cmd(all).assert_success()))
}

fn key(service: &str, replica: u64) -> Replica {
    (service.to_owned(), replica)
}

#[test]
fn n_counts_lines_per_replica_and_a_selection_shows_only_its_services() {
    let fleet = finished_fleet();
    let groups = json_groups(&fleet, &["-n", "3"]);
    let last_three = ["line 49", "line 50", "flood done"];
    for i in 0..3 {
        assert_eq!(groups[&key("flood", i)], last_three, "flood.{i}");
    }
    let lossy = String::from_utf8_lossy(b"bytes \xff\xfe\xc3( end").into_owned();
    assert_eq!(
        groups[&key("raw", 0)],
        [lossy.as_str(), "valid é", "scribe done"]
    );
    assert_eq!(groups.len(), 4, "{:?}", groups.keys());

    // Without -n, everything; -n 0, nothing (as `tail -n 0`).
    let all = json_groups(&fleet, &[]);
    assert_eq!(all[&key("flood", 1)], flood_output(50));
    assert!(json_groups(&fleet, &["-n", "0"]).is_empty());

    // One service, by name; or all but one.
    let only = json_groups(&fleet, &["-n", "2", "raw"]);
    assert_eq!(only.keys().collect::<Vec<_>>(), [&key("raw", 0)]);
    let without = json_groups(&fleet, &["-n", "1", "~raw"]);
    assert_eq!(
        without.keys().collect::<Vec<_>>(),
        [&key("flood", 0), &key("flood", 1), &key("flood", 2)]
    );
    let out = fleet.cmd(["logs", "nosuch"]).assert_exit(2);
    assert!(out.stderr.contains("nosuch"), "{out}");
}

#[test]
fn grep_keeps_matching_lines_of_every_replica() {
    let fleet = finished_fleet();
    let groups = json_groups(&fleet, &["--grep", r"^line 4\d$"]);
    let forties: Vec<String> = (40..50).map(|i| format!("line {i}")).collect();
    assert_eq!(groups.len(), 3, "{:?}", groups.keys());
    for lines in groups.values() {
        assert_eq!(*lines, forties);
    }
    // -n counts matching lines.
    let groups = json_groups(&fleet, &["-n", "2", "--grep", "done"]);
    assert_eq!(groups[&key("raw", 0)], ["scribe done"]);
    assert_eq!(groups[&key("flood", 0)], ["flood done"]);

    let out = fleet.cmd(["logs", "--grep", "("]).assert_exit(2);
    assert!(out.stderr.contains("--grep"), "{out}");
}

/// `--since` on windows that hold everything or nothing, and on a previous run's log
/// (rotated to `.log.1` at the restart) whose last write is made to look two hours old.
#[test]
fn since_excludes_what_is_older_than_the_window() {
    let fleet = finished_fleet();
    let everything = json_groups(&fleet, &["--since", "1h"]);
    assert_eq!(everything[&key("flood", 0)], flood_output(50));
    assert_eq!(everything.len(), 4);

    // A window starting in the future holds nothing.
    let future = an_hour_from_now();
    let out = fleet.cmd(["logs", "--since", &future]).assert_success();
    assert_eq!(out.stdout, "", "--since {future}");

    // raw's first run ended "two hours ago": a one-hour window shows only its second run,
    // a three-hour one both.
    fleet.cmd(["restart", "raw"]).assert_success();
    wait_until(PATIENCE, "raw's second run to finish writing", || {
        let out = fleet.cmd(["logs", "-n", "1", "raw"]).assert_success();
        out.stdout.contains("scribe done")
    });
    let previous = fleet.path(".orchestra/logs/raw.0.log.1");
    File::options()
        .append(true)
        .open(&previous)
        .unwrap_or_else(|e| panic!("the first run's log {}: {e}", previous.display()))
        .set_modified(SystemTime::now() - Duration::from_secs(2 * 3600))
        .expect("set the log's modification time");
    let one_run = json_groups(&fleet, &["--since", "1h", "raw"]);
    assert_eq!(one_run[&key("raw", 0)].len(), 3, "{one_run:?}");
    let two_runs = json_groups(&fleet, &["--since", "3h", "raw"]);
    assert_eq!(two_runs[&key("raw", 0)].len(), 6, "{two_runs:?}");

    let out = fleet
        .cmd(["logs", "--since", "yesterday-ish"])
        .assert_exit(2);
    assert!(out.stderr.contains("--since"), "{out}");
}

/// An RFC 3339 UTC time an hour from now (`2026-11-26T11:00:00Z`), from date(1).
fn an_hour_from_now() -> String {
    let out = orchestra_tests::Cmd::new(
        "date",
        ["-u", "-d", "+1 hour", "+%Y-%m-%dT%H:%M:%SZ"],
        Path::new("/"),
    )
    .assert_success();
    out.stdout.trim().to_owned()
}
