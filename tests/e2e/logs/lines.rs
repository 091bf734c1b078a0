//! How much history `logs` shows: all of it without `-n`, the last N lines of each source
//! with `-n N`, and none with `-n 0` (as `tail -n 0` and `docker logs --tail 0`), also when
//! following.

use orchestra_tests::{Fleet, PATIENCE, wait_until};

use super::{Stream, split_formatted, wait_until_following};

/// A service that writes 150 numbered lines, then `after` once the file `go` exists: more
/// history than the 100 lines `logs` used to stop at.
fn writer_fleet() -> Fleet {
    let fleet = Fleet::new().orchestra_yml("").service(
        "count",
        "run: \"i=0; while [ $i -lt 150 ]; do i=$((i+1)); echo line $i; done; \
         while [ ! -e go ]; do sleep 0.05; done; echo after; exec sleep 1000\"\n",
    );
    fleet.cmd(["start"]).assert_success();
    wait_until(PATIENCE, "the 150 lines", || {
        std::fs::read_to_string(fleet.path(".orchestra/logs/count.0.log"))
            .is_ok_and(|t| t.contains("line 150\n"))
    });
    fleet
}

fn texts(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .map(|l| split_formatted(l).map_or(l, |(_, text)| text).to_owned())
        .collect()
}

#[test]
fn without_n_all_history_with_n_the_last_lines_and_with_n_0_none() {
    let fleet = writer_fleet();
    let all: Vec<String> = (1..=150).map(|i| format!("line {i}")).collect();
    let out = fleet.cmd(["logs"]).assert_success();
    assert_eq!(texts(&out.stdout), all, "no -n: everything");
    let out = fleet.cmd(["logs", "-n", "2"]).assert_success();
    assert_eq!(texts(&out.stdout), ["line 149", "line 150"]);
    let out = fleet.cmd(["logs", "-n", "0"]).assert_success();
    assert_eq!(out.stdout, "", "-n 0: no history\n{out}");

    // Following with -n 0 shows only what is written from then on.
    let follow = Stream::spawn(
        &fleet,
        &["logs", "-f", "-n", "0"],
        Vec::new(),
        |seen: &mut Vec<String>, line| seen.push(line.to_owned()),
    );
    wait_until_following(follow.pid());
    std::fs::write(fleet.path("count/go"), "").expect("the trigger file");
    let seen = follow.wait_for(PATIENCE, "the line written after", |seen| {
        seen.iter()
            .any(|l| l.ends_with("after"))
            .then(|| seen.clone())
    });
    follow.interrupt();
    assert_eq!(texts(&seen.join("\n")), ["after"]);
    fleet.cmd(["stop"]).assert_success();
}
