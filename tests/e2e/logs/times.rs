//! When lines were written: `logs --timestamps`/`--json` times from the daemon's index, and
//! history from several services and replicas merged in the order the lines were written.

use std::path::Path;

use orchestra_tests::{Fleet, PATIENCE, wait_until};
use serde_json::Value;

use super::index::{index_entries, log_len};
use super::{Stream, wait_until_following};

/// `date` printing the time in the format `logs --json` gives `ts`: RFC 3339 UTC with
/// milliseconds, truncated, so the two compare as strings.
const NOW: &str = "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)";

/// Waits until the index of every `.log` in the fleet's logs folder reaches its end: then
/// every line has its time from the index rather than from the file's modification time.
fn wait_until_indexed(fleet: &Fleet, logs: &[&str]) {
    wait_until(PATIENCE, "every line to be indexed", || {
        logs.iter().all(|name| {
            let log = fleet.path(Path::new(".orchestra/logs").join(name));
            let idx = fleet.path(Path::new(".orchestra/logs").join(format!("{name}.idx")));
            let len = log_len(&log);
            len > 0 && index_entries(&idx).last().is_some_and(|&(l, _)| l == len)
        })
    });
}

/// `logs --json` lines as (label, ts, line).
fn json_lines(stdout: &str) -> Vec<(String, String, String)> {
    stdout
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}"));
            let label = match v["replica"].as_u64() {
                Some(n) => format!("{}.{n}", v["service"].as_str().unwrap_or("?")),
                None => v["service"].as_str().unwrap_or("?").to_owned(),
            };
            let ts = v["ts"]
                .as_str()
                .unwrap_or_else(|| panic!("no time: {l}"))
                .to_owned();
            (label, ts, v["line"].as_str().unwrap_or("?").to_owned())
        })
        .collect()
}

/// A line's time is when it was written, not when a once-a-second look came by: a line
/// is stamped no earlier than it was written, and before the next line, written half a
/// second later, was.
#[test]
fn a_line_is_stamped_between_its_write_and_the_next() {
    let fleet = Fleet::new().orchestra_yml("").service(
        "clock",
        &format!(
            "run: {:?}\n",
            format!(
                "echo \"first {NOW}\"; sleep 0.05; echo \"second {NOW}\"; sleep 0.5; echo \"third {NOW}\"; exec sleep 1000"
            )
        ),
    );
    fleet.cmd(["start"]).assert_success();
    wait_until(PATIENCE, "the third line", || {
        std::fs::read_to_string(fleet.path(".orchestra/logs/clock.0.log"))
            .is_ok_and(|t| t.contains("third"))
    });
    wait_until_indexed(&fleet, &["clock.0.log"]);
    let out = fleet.cmd(["logs", "--json"]).assert_success();
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 3, "{out}");
    let written: Vec<&str> = lines
        .iter()
        .map(|(_, _, line)| line.split_once(' ').map_or("", |(_, at)| at))
        .collect();
    for ((_, ts, line), written) in lines.iter().zip(&written) {
        assert!(
            ts.as_str() >= *written,
            "`{line}` is stamped {ts}, before it was written:\n{out}"
        );
    }
    assert!(
        lines[1].1.as_str() <= written[2],
        "`second` is stamped {}, after `third` was written at {}:\n{out}",
        lines[1].1,
        written[2]
    );
    fleet.cmd(["stop"]).assert_success();
}

/// History from several services and replicas comes back in the order the lines were
/// written, as `logs -f` showed them, not grouped by source. Three writers (`a.0`, `b.0`,
/// `a.1`) take turns through files, each writing one step and then handing the turn on
/// 0.3 s later (time enough for a follower on a busy machine to read each step alone).
#[test]
fn history_of_several_sources_is_merged_in_the_order_written() {
    const STEPS: usize = 6;
    let fleet = Fleet::new().orchestra_yml("");
    let turns = fleet.path("turns");
    std::fs::create_dir(&turns).expect("the turns folder");
    // Writer `p` takes steps p, p + 3…: a.0 takes 0 and 3, b.0 1 and 4, a.1 2 and 5.
    let writer = |first: &str| {
        format!(
            "run: {:?}\n",
            format!(
                "t='{}'; k={first}; while [ $k -lt {STEPS} ]; do \
                 while [ ! -e $t/$k ]; do sleep 0.01; done; echo \"step $k\"; sleep 0.3; \
                 touch $t/$((k+1)); k=$((k+3)); done; exec sleep 1000",
                turns.display()
            )
        )
    };
    let fleet = fleet
        .service(
            "a",
            &format!("{}scale: 2\n", writer("$((ORCHESTRA_REPLICA * 2))")),
        )
        .service("b", &writer("1"));
    fleet.cmd(["start"]).assert_success();
    let follow = Stream::spawn(
        &fleet,
        &["logs", "-f", "--json"],
        Vec::new(),
        |seen: &mut Vec<String>, line| seen.push(line.to_owned()),
    );
    wait_until_following(follow.pid());
    std::fs::write(turns.join("0"), "").expect("the first turn");
    let followed = follow.wait_for(PATIENCE, "every step followed", |seen| {
        (seen.len() >= STEPS).then(|| seen.clone())
    });
    follow.interrupt();
    let followed: Vec<(String, String)> = json_lines(&followed.join("\n"))
        .into_iter()
        .map(|(label, _, line)| (label, line))
        .collect();
    let expected: Vec<(String, String)> = (0..STEPS)
        .map(|k| {
            let label = ["a.0", "b.0", "a.1"][k % 3];
            (label.to_owned(), format!("step {k}"))
        })
        .collect();
    assert_eq!(followed, expected, "`logs -f` shows the steps in turn");

    wait_until_indexed(&fleet, &["a.0.log", "a.1.log", "b.0.log"]);
    for args in [&["logs", "--json"][..], &["logs", "--json", "-n", "2"]] {
        let out = fleet.cmd(args.iter().copied()).assert_success();
        let history: Vec<(String, String)> = json_lines(&out.stdout)
            .into_iter()
            .map(|(label, _, line)| (label, line))
            .collect();
        assert_eq!(history, expected, "`{}`:\n{out}", args.join(" "));
    }
    fleet.cmd(["stop"]).assert_success();
}
