//! One mode at a time: a fleet runs on the host or in Docker, and `start --docker` without an
//! engine fails clearly, leaving the host mode usable.

use orchestra_tests::Fleet;

use super::{ps, row};

#[test]
fn a_fleet_runs_in_one_mode_at_a_time() {
    // No Docker needed: the refusal comes before any container is made.
    let fleet = Fleet::new()
        .orchestra_yml("")
        .service("app", "run: \"echo up; exec sleep 1000\"\n");
    fleet.cmd(["start"]).assert_success();
    let out = fleet.cmd(["start", "--docker"]).assert_exit(1);
    assert!(
        out.stderr
            .contains("the fleet runs on the host; stop it first"),
        "{out}"
    );
    let rows = ps(&fleet);
    assert_eq!(row(&rows, "app", 0)["state"], "running", "{rows:?}");
    fleet.cmd(["stop"]).assert_success();
}

#[test]
fn start_docker_without_an_engine_fails_clearly_and_leaves_the_host_mode_usable() {
    let fleet = Fleet::new()
        .orchestra_yml("")
        .service("app", "run: \"echo up; exec sleep 1000\"\n");
    let nowhere = "unix:///nonexistent/docker.sock";
    let out = fleet
        .cmd(["start", "--docker"])
        .env("DOCKER_HOST", nowhere)
        .assert_exit(1);
    assert!(out.stderr.contains(nowhere), "{out}");
    assert!(out.stderr.contains("DOCKER_HOST"), "{out}");
    fleet
        .cmd(["start"])
        .env("DOCKER_HOST", nowhere)
        .assert_success();
    assert_eq!(row(&ps(&fleet), "app", 0)["state"], "running");
    fleet.cmd(["stop"]).assert_success();
}
