//! The formatted stream: `name.n |` prefixes aligned to the longest label, `name |` for a
//! service with one replica, no colour off a terminal, and one JSON object per line.

use std::collections::BTreeMap;

use orchestra_tests::{Fleet, PATIENCE, redact, wait_until};

use super::snapshots;

/// `api` (two replicas) and `billing-worker` (one), each printing two lines and idling.
fn greeting_fleet() -> Fleet {
    let greet = concat!(
        "run: |-\n",
        r#"  printf 'hello from %s.%s\nsecond line\n' "$ORCHESTRA_SERVICE" "$ORCHESTRA_REPLICA"; "#,
        "exec sleep 600\n",
    );
    let fleet = Fleet::new()
        .orchestra_yml("")
        .service("api", &format!("{greet}scale: 2\n"))
        .service("billing-worker", greet);
    fleet.cmd(["start"]).assert_success();
    wait_until(PATIENCE, "every replica's two lines", || {
        let out = fleet.cmd(["logs"]).assert_success();
        out.stdout.matches("second line").count() == 3
    });
    fleet
}

/// The lines grouped by their label, groups in label order, each in the order printed:
/// stable whatever order the sources were merged in.
fn grouped(stdout: &str) -> String {
    let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for line in stdout.lines() {
        let label = line.split(" | ").next().unwrap_or_default();
        groups.entry(label.trim_end()).or_default().push(line);
    }
    let lines: Vec<&str> = groups.into_values().flatten().collect();
    lines.join("\n") + "\n"
}

#[test]
fn prefixes_are_aligned_and_single_replicas_show_no_number() {
    let fleet = greeting_fleet();
    let out = fleet.cmd(["logs"]).assert_success();
    assert!(!out.stdout.contains('\x1b'), "colour off a terminal: {out}");
    snapshots().bind(|| insta::assert_snapshot!(grouped(&redact(&out.stdout, &fleet))));

    // One service alone is aligned to itself.
    let out = fleet
        .cmd(["logs", "-n", "1", "billing-worker"])
        .assert_success();
    assert_eq!(out.stdout, "billing-worker | second line\n");
}

#[test]
fn json_prints_one_object_per_line() {
    let fleet = greeting_fleet();
    let out = fleet.cmd(["logs", "--json", "-n", "1"]).assert_success();
    for line in out.stdout.lines() {
        let value: serde_json::Value = serde_json::from_str(line).expect("a JSON object");
        let keys: Vec<&String> = value.as_object().expect("an object").keys().collect();
        assert_eq!(keys, ["line", "replica", "service", "ts"], "{line}");
    }
    snapshots().bind(|| insta::assert_snapshot!(grouped_json(&redact(&out.stdout, &fleet))));
}

/// JSON lines sorted (service, replica): stable whatever the merge order.
fn grouped_json(stdout: &str) -> String {
    let mut lines: Vec<&str> = stdout.lines().collect();
    lines.sort_by_key(|l| {
        let v: serde_json::Value = serde_json::from_str(l).unwrap_or_default();
        (
            v["service"].as_str().unwrap_or_default().to_owned(),
            v["replica"].as_u64(),
        )
    });
    lines.join("\n") + "\n"
}
