//! `orchestra test --acceptance` runs against the fleet as it runs — no replica replaced,
//! even when the `test:` section changes the environment — and tears down only what it
//! started itself.

use orchestra_tests::Fleet;

use super::{pid, ps, state};

/// Two services whose acceptance tests leave a line each; `other`'s also checks that
/// `other` runs. The `test:` section sets an env the running fleet does not have.
fn acceptance_fleet() -> Fleet {
    Fleet::new()
        .orchestra_yml("test:\n  env: { UNDER_TEST: \"1\" }\n")
        .service(
            "web",
            "run: \"exec sleep 1000\"\nacceptance: \"echo web accepted >> ../accepted.txt\"\n",
        )
        .service(
            "other",
            "run: \"touch running.flag; exec sleep 1000\"\n\
             ready: { exec: \"test -f running.flag\" }\n\
             acceptance: \"test -f running.flag && echo other accepted >> ../accepted.txt\"\n",
        )
}

#[test]
fn acceptance_runs_against_a_running_fleet_without_restarting_it() {
    let fleet = acceptance_fleet();
    fleet.cmd(["start"]).assert_success();
    let rows = ps(&fleet);
    let (web, other) = (pid(&rows, "web", 0), pid(&rows, "other", 0));
    assert!(web.is_some() && other.is_some(), "{rows:?}");

    let out = fleet.cmd(["test", "--acceptance"]).assert_success();
    let accepted = fleet.read("accepted.txt");
    assert!(
        accepted.contains("web accepted") && accepted.contains("other accepted"),
        "{out}"
    );

    let rows = ps(&fleet);
    assert_eq!(pid(&rows, "web", 0), web, "web was replaced: {out}");
    assert_eq!(pid(&rows, "other", 0), other, "other was replaced: {out}");
    assert_eq!(state(&rows, "web", 0), "running");
    assert_eq!(state(&rows, "other", 0), "running");
}

#[test]
fn acceptance_starts_what_does_not_run_and_takes_down_only_that() {
    let fleet = acceptance_fleet();
    fleet.cmd(["start", "web"]).assert_success();
    let web = pid(&ps(&fleet), "web", 0).expect("web runs");

    let out = fleet.cmd(["test", "--acceptance"]).assert_success();
    assert!(
        fleet.read("accepted.txt").contains("other accepted"),
        "{out}"
    );

    let rows = ps(&fleet);
    assert_eq!(pid(&rows, "web", 0), Some(web), "web was replaced: {out}");
    assert!(
        pid(&rows, "other", 0).is_none(),
        "other was left running: {rows:?}"
    );
}
