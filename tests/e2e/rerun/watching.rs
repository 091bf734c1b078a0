//! What the watcher counts as a change: a burst is one rebuild, ignored files are none.

use orchestra_tests::holds_for;

use super::{
    BUILD_PATIENCE, QUIET, answer, go_fleet, go_fleet_in, greeting_go, reruns, wait_for_greeting,
};

#[test]
fn two_hundred_files_written_at_once_give_one_rebuild() {
    let (fleet, port) = go_fleet(1, "rerun: true\n");
    fleet
        .cmd(["start"])
        .timeout(BUILD_PATIENCE)
        .assert_success();
    let v1 = wait_for_greeting(port, "v1");

    // 199 new source files and the edit, as a `git checkout` would write them.
    for i in 0..199 {
        fleet.write(
            format!("web/gen{i}.go"),
            format!("package main\n\nconst gen{i} = {i}\n"),
        );
    }
    fleet.write("web/greeting.go", greeting_go("v2"));
    let v2 = wait_for_greeting(port, "v2");
    assert_ne!(v1, v2);

    // Nothing may follow: watched through a quiet period longer than any hold-back of the
    // watcher.
    holds_for(QUIET, "one rebuild for the burst", || reruns(&fleet) == 1);
    assert_eq!(
        answer(port),
        Some(("v2".to_owned(), v2)),
        "and no restart after it"
    );
    fleet.cmd(["stop"]).assert_success();
}

#[test]
fn changes_under_dot_orchestra_gitignored_or_unwatched_files_give_no_rebuild() {
    // web is the project root, so the state folder (logs, binaries) lies inside it.
    let (fleet, port) = go_fleet_in("", "services: [\".\"]\n", 1, "rerun: true\n");
    let fleet = fleet.file(".gitignore", "generated/\n");
    fleet
        .cmd(["start"])
        .timeout(BUILD_PATIENCE)
        .assert_success();
    let v1 = wait_for_greeting(port, "v1");

    fleet.write("generated/zz.go", "package generated\n");
    fleet.write(".orchestra/scratch.go", "package scratch\n");
    fleet.write("notes.txt", "not a source\n");
    // Nothing may happen: watched through a quiet period longer than any hold-back of the
    // watcher.
    holds_for(QUIET, "no rebuild for ignored files", || {
        reruns(&fleet) == 0
    });
    assert_eq!(answer(port), Some(("v1".to_owned(), v1)));

    // The watcher is alive: a source edit is one rerun.
    fleet.write("greeting.go", greeting_go("v2"));
    wait_for_greeting(port, "v2");
    assert_eq!(reruns(&fleet), 1);
    fleet.cmd(["stop"]).assert_success();
}
