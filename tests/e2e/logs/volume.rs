//! Many numbered lines from several replicas: complete and in order per replica, from
//! history and while being written, across a restart, and from replicas that appear while
//! `logs -f` already runs.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use orchestra_tests::{Fleet, PATIENCE};

use super::{
    Stream, by_replica, flood_output, gated_flood, parse_json_lines, split_formatted,
    wait_until_following,
};

/// The figure: a million lines from four replicas. A debug build on two busy cores
/// follows them in seconds, so the whole test stays well under a minute.
const TOTAL_LINES: usize = 1_000_000;

/// A replica's numbered lines checked as they arrive: `line n` must follow `line n-1`.
#[derive(Debug, Default)]
struct Sequence {
    next: usize,
    done: bool,
    bad: Vec<String>,
}

/// Every replica's [`Sequence`], keyed by the formatted label (`flood.2`).
#[derive(Debug, Default)]
struct Numbering {
    replicas: BTreeMap<String, Sequence>,
    unparsed: Vec<String>,
}

impl Numbering {
    fn consume(&mut self, line: &str) {
        let Some((label, text)) = split_formatted(line) else {
            self.unparsed.push(line.to_owned());
            return;
        };
        let seq = self.replicas.entry(label.to_owned()).or_default();
        let expected = seq.next + 1;
        if text == "flood done" && !seq.done {
            seq.done = true;
        } else if !seq.done && text.strip_prefix("line ") == Some(&expected.to_string()) {
            seq.next = expected;
        } else if seq.bad.len() < 10 {
            seq.bad
                .push(format!("expected line {expected}, got {text:?}"));
        } else {
            seq.bad.push(String::new());
        }
    }

    fn finished(&self, replicas: usize) -> bool {
        self.replicas.len() >= replicas && self.replicas.values().all(|s| s.done)
    }

    /// Panics unless each of `labels` got exactly `lines` numbered lines, then its end.
    fn assert_complete(&self, labels: &[String], lines: usize) {
        assert!(
            self.unparsed.is_empty(),
            "unlabelled lines: {:?}",
            self.unparsed
        );
        let got: Vec<&String> = self.replicas.keys().collect();
        assert_eq!(got, labels.iter().collect::<Vec<_>>(), "replicas seen");
        for (label, seq) in &self.replicas {
            assert!(
                seq.bad.is_empty(),
                "{label}: {} lines out of order, first: {:?}",
                seq.bad.len(),
                &seq.bad[..seq.bad.len().min(10)]
            );
            assert_eq!((seq.next, seq.done), (lines, true), "{label}");
        }
    }
}

#[test]
fn numbered_lines_from_four_replicas_arrive_complete_and_in_order_live_and_from_history() {
    let total = TOTAL_LINES;
    let per_replica = total / 4;
    let fleet = Fleet::new().orchestra_yml("");
    let trigger = fleet.path("go");
    let fleet = fleet.service("flood", &gated_flood(&trigger, 4, per_replica));
    fleet.cmd(["start"]).assert_success();

    // The replicas run (their log files exist, empty) and wait for the trigger: follow
    // from the first byte, then let them write.
    let follow = Stream::spawn(
        &fleet,
        &["logs", "-f"],
        Numbering::default(),
        Numbering::consume,
    );
    let started = Instant::now();
    fleet.write("go", "");
    // Generous: measured at 4 s live and 11 s from history with a debug build on a loaded
    // two-core machine.
    let deadline = Duration::from_secs(300);
    follow.wait_for(deadline, "every flood line through `logs -f`", |n| {
        n.finished(4).then_some(())
    });
    let live = started.elapsed();
    let labels: Vec<String> = (0..4).map(|i| format!("flood.{i}")).collect();
    follow.with(|n| n.assert_complete(&labels, per_replica));
    let status = follow.interrupt();
    assert!(status.success(), "`logs -f` ended with {status} on Ctrl-C");

    let started = Instant::now();
    let out = fleet
        .cmd(["logs", "--json"])
        .timeout(deadline)
        .assert_success();
    let history = started.elapsed();
    let groups = by_replica(parse_json_lines(&out));
    drop(out);
    assert_eq!(groups.len(), 4, "replicas in history: {:?}", groups.keys());
    let expected = flood_output(per_replica);
    for (replica, lines) in &groups {
        if *lines != expected {
            let first_bad = lines.iter().zip(&expected).position(|(a, b)| a != b);
            panic!(
                "{replica:?}: {} lines, first difference at {first_bad:?} (expected {})",
                lines.len(),
                expected.len()
            );
        }
    }
    eprintln!("{total} lines: followed in {live:?}, history (--json) in {history:?}");
}

#[test]
fn a_restart_during_follow_loses_and_repeats_nothing() {
    const LINES: usize = 5_000;
    let fleet = Fleet::new().orchestra_yml("").fixture_service(
        "flood",
        "flood",
        &format!("scale: 2\nenv: {{ LINES: \"{LINES}\" }}\n"),
    );
    fleet.cmd(["start"]).assert_success();
    let follow = Stream::spawn(&fleet, &["logs", "-f"], Vec::new(), |v, l| {
        v.push(l.to_owned());
    });
    let done_count =
        |lines: &Vec<String>| lines.iter().filter(|l| l.ends_with("| flood done")).count();
    follow.wait_for(PATIENCE * 3, "both replicas' first run", |v| {
        (done_count(v) == 2).then_some(())
    });

    fleet.cmd(["restart", "flood"]).assert_success();
    follow.wait_for(PATIENCE * 3, "both replicas' second run", |v| {
        (done_count(v) == 4).then_some(())
    });
    let lines = follow.with(Clone::clone);
    let status = follow.interrupt();
    assert!(status.success(), "`logs -f` ended with {status}");

    // Each replica: its first run's lines, then its second run's, each exactly once.
    let expected: Vec<String> = [flood_output(LINES), flood_output(LINES)].concat();
    let followed = by_replica(lines.iter().map(|l| {
        let (label, text) = split_formatted(l).unwrap_or_else(|| panic!("unlabelled: {l:?}"));
        ((label.to_owned(), 0), text.to_owned())
    }));
    assert_eq!(followed.len(), 2, "{:?}", followed.keys());
    for (replica, got) in &followed {
        assert_runs_equal(&format!("followed {replica:?}"), got, &expected);
    }
    // History agrees, whatever became of the first run's file at the restart.
    let out = fleet.cmd(["logs", "--json"]).assert_success();
    for (replica, got) in by_replica(parse_json_lines(&out)) {
        assert_runs_equal(&format!("history {replica:?}"), &got, &expected);
    }
}

/// Compares long line lists, reporting the first difference instead of both lists.
fn assert_runs_equal(what: &str, got: &[String], expected: &[String]) {
    if got != expected {
        let at = got.iter().zip(expected).position(|(a, b)| a != b);
        let show = |v: &[String], i: usize| {
            v.get(i.saturating_sub(2)..(i + 3).min(v.len()))
                .map(<[String]>::to_vec)
        };
        let i = at.unwrap_or(got.len().min(expected.len()));
        panic!(
            "{what}: {} lines, expected {}; first difference at {i}: got {:?}, expected {:?}",
            got.len(),
            expected.len(),
            show(got, i),
            show(expected, i)
        );
    }
}

#[test]
fn follow_started_before_the_fleet_reads_replicas_that_appear_from_their_first_line() {
    const LINES: usize = 20_000;
    let fleet = Fleet::new().orchestra_yml("").fixture_service(
        "flood",
        "flood",
        &format!("scale: 3\nenv: {{ LINES: \"{LINES}\" }}\n"),
    );
    let follow = Stream::spawn(
        &fleet,
        &["logs", "-f"],
        Numbering::default(),
        Numbering::consume,
    );
    wait_until_following(follow.pid());
    fleet.cmd(["start"]).assert_success();
    follow.wait_for(PATIENCE * 6, "every replica's lines", |n| {
        n.finished(3).then_some(())
    });
    let labels: Vec<String> = (0..3).map(|i| format!("flood.{i}")).collect();
    follow.with(|n| n.assert_complete(&labels, LINES));
}
