//! Containers outlive a killed daemon and are adopted by the next one; the project's stray
//! containers are removed at start.

use serde_json::json;

use super::{
    HTTP_IMAGE, container_pid, engine_json, get, kill_daemon, names, project_containers, ps, row,
    web_fleet,
};
use crate::engine::{EngineCleanup, docker_ready, unique_name};

#[test]
fn containers_outlive_a_killed_daemon_are_adopted_and_strays_are_removed() {
    if !docker_ready() {
        return;
    }
    let name = unique_name("e2e-dk", "adopt");
    let _cleanup = EngineCleanup(name.clone());
    let (fleet, port) = web_fleet(&name, "", "");
    let web0 = format!("orchestra-{name}-web-0");

    fleet.cmd(["start", "--docker"]).assert_success();
    let first = project_containers(&name);
    assert_eq!(names(&first), [web0.as_str()]);

    // The daemon dies; the container does not, and `ps` still tells the truth.
    kill_daemon(&fleet);
    let rows = ps(&fleet);
    let web = row(&rows, "web", 0);
    assert_eq!(web["state"], "running", "{rows:?}");
    assert_eq!(web["pid"], container_pid(&first[0].id), "{rows:?}");
    assert_eq!(web["ports"], json!([port]), "{rows:?}");
    assert!(get(port, "/").is_some());

    // A container with the project's labels that no replica accounts for.
    let stray = format!("{name}-stray");
    let created = engine_json(
        "POST",
        &format!("/containers/create?name={stray}"),
        Some(&json!({
            "Image": HTTP_IMAGE,
            "Labels": { "orchestra.project": name, "orchestra.service": "web" },
        })),
    );
    let stray_id = created["Id"]
        .as_str()
        .expect("a created container has an id");
    engine_json("POST", &format!("/containers/{stray_id}/start"), None);

    // The next daemon adopts web.0 (the same container) and removes the stray.
    let out = fleet.cmd(["start", "--docker"]).assert_success();
    assert!(
        out.stdout
            .lines()
            .any(|l| l.contains(&stray) && l.contains("stray")),
        "the stray is not reported: {out}"
    );
    assert_eq!(project_containers(&name), first, "{out}");
    // One mode at a time: the host may not start a second copy beside the containers.
    let refused = fleet.cmd(["start"]).assert_exit(1);
    assert!(
        refused
            .stderr
            .contains("the fleet runs in Docker; stop it first"),
        "{refused}"
    );

    // Killed again: `stop` without a daemon stops and removes the containers.
    kill_daemon(&fleet);
    let out = fleet.cmd(["stop"]).assert_success();
    assert!(out.stdout.contains("web.0"), "{out}");
    assert!(
        project_containers(&name).is_empty(),
        "containers left after stop: {:?}\n{out}",
        project_containers(&name)
    );
    let after = fleet.cmd(["ps"]).assert_success();
    assert!(after.stdout.contains("nothing is running"), "{after}");
}
