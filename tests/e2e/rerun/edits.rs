//! An edit is served; a broken build or a failing test keeps the previous replica serving;
//! `orchestra restart` takes the same path.

use orchestra_tests::{PATIENCE, poll_until, wait_until};

use super::{BUILD_PATIENCE, answer, go_fleet, greeting_go, logs, ps_reason, wait_for_greeting};

/// greeting.go with an unterminated string: the compiler refuses it.
const BROKEN_GO: &str = "package main\n\nconst greeting = \"v3\n";

/// Waits until web's log holds `needle`; returns the log.
fn wait_for_log(fleet: &orchestra_tests::Fleet, needle: &str) -> String {
    poll_until(BUILD_PATIENCE, &format!("{needle:?} in web's log"), || {
        let shown = logs(fleet);
        shown.contains(needle).then_some(shown)
    })
}

#[test]
fn an_edit_is_served_and_a_broken_build_keeps_the_previous_replica_until_fixed() {
    let (fleet, port) = go_fleet(1, "");
    fleet
        .cmd(["start", "--rerun"])
        .timeout(BUILD_PATIENCE)
        .assert_success();
    let v1 = wait_for_greeting(port, "v1");

    fleet.write("web/greeting.go", greeting_go("v2"));
    let v2 = wait_for_greeting(port, "v2");
    assert_ne!(v1, v2, "a new replica serves the new build");
    assert_eq!(ps_reason(&fleet), None);

    fleet.write("web/greeting.go", BROKEN_GO);
    let shown = wait_for_log(&fleet, "still running the previous build");
    assert!(
        shown.contains("greeting.go:3:"),
        "the compiler's error is in the log:\n{shown}"
    );
    assert!(
        shown.contains("[orchestra] web: build failed"),
        "one clear line says what happened:\n{shown}"
    );
    assert_eq!(
        answer(port),
        Some(("v2".to_owned(), v2)),
        "the previous replica still serves"
    );
    let reason = ps_reason(&fleet).expect("ps says why the rerun failed");
    assert!(reason.contains("build failed"), "{reason}");

    fleet.write("web/greeting.go", greeting_go("v3"));
    let v3 = wait_for_greeting(port, "v3");
    assert_ne!(v3, v2);
    wait_until(PATIENCE, "ps to forget the failure", || {
        ps_reason(&fleet).is_none()
    });
    fleet.cmd(["stop"]).assert_success();
}

#[test]
fn a_failing_unit_test_keeps_the_previous_replica() {
    let (fleet, port) = go_fleet(1, "rerun: { test: true }\n");
    fleet
        .cmd(["start", "--rerun"])
        .timeout(BUILD_PATIENCE)
        .assert_success();
    let v1 = wait_for_greeting(port, "v1");

    // It compiles, but its unit test fails.
    fleet.write("web/greeting.go", greeting_go("broken"));
    let shown = wait_for_log(&fleet, "tests failed");
    assert!(
        shown.contains("--- FAIL: TestGreetingIsNotBroken")
            && shown.contains("the greeting is \"broken\""),
        "the test output is in the log:\n{shown}"
    );
    assert_eq!(answer(port), Some(("v1".to_owned(), v1)));
    let reason = ps_reason(&fleet).expect("ps says why the rerun failed");
    assert!(reason.contains("tests failed"), "{reason}");

    fleet.write("web/greeting.go", greeting_go("v2"));
    assert_ne!(wait_for_greeting(port, "v2"), v1);
    fleet.cmd(["stop"]).assert_success();
}

#[test]
fn restart_takes_the_same_path_and_never_replaces_with_a_broken_build() {
    let (fleet, port) = go_fleet(
        1,
        "build: \"echo building web now && go build -o {bin} .\"\n",
    );
    fleet
        .cmd(["start"])
        .timeout(BUILD_PATIENCE)
        .assert_success();
    let v1 = wait_for_greeting(port, "v1");

    fleet.write("web/greeting.go", BROKEN_GO);
    let out = fleet
        .cmd(["restart", "web"])
        .timeout(BUILD_PATIENCE)
        .assert_exit(1);
    assert!(out.to_string().contains("build failed"), "{out}");
    let shown = logs(&fleet);
    assert!(shown.contains("greeting.go:3:"), "{shown}");
    assert_eq!(answer(port), Some(("v1".to_owned(), v1)));

    fleet.write("web/greeting.go", greeting_go("v2"));
    fleet
        .cmd(["restart", "web"])
        .timeout(BUILD_PATIENCE)
        .assert_success();
    let v2 = wait_for_greeting(port, "v2");
    assert_ne!(v1, v2);
    let builds = logs(&fleet).matches("building web now").count();
    assert_eq!(builds, 3, "start, the failed restart and the restart built");
    fleet.cmd(["stop"]).assert_success();
}
