//! A Go service in containers: built into a scratch image, answering on the published port,
//! scaled, restarted after `docker kill`, removed by `stop`, and reaching its vendor by name.

use orchestra_tests::{PATIENCE, poll_until};
use serde_json::json;

use super::{
    REDIS_IMAGE, container_pid, engine_json, get, names, project_containers, ps, row, web_fleet,
};
use crate::engine::{EngineCleanup, docker_ready, unique_name, url_encode};

#[test]
fn a_go_service_runs_in_containers_scales_restarts_and_stop_removes_them() {
    if !docker_ready() {
        return;
    }
    let name = unique_name("e2e-dk", "run");
    let _cleanup = EngineCleanup(name.clone());
    let (fleet, port) = web_fleet(&name, "", "");
    let web0 = format!("orchestra-{name}-web-0");
    let web1 = format!("orchestra-{name}-web-1");

    let out = fleet.cmd(["start", "--docker"]).assert_success();
    let containers = project_containers(&name);
    assert_eq!(names(&containers), [web0.as_str()], "{out}");
    // The answer on the published port comes from inside that container.
    let hello = get(port, "/").unwrap_or_else(|| panic!("nothing answers on {port}: {out}"));
    assert!(hello.starts_with("hello from web.0"), "{hello}");
    let info = engine_json(
        "GET",
        &format!("/containers/{}/json", containers[0].id),
        None,
    );
    assert_eq!(
        get(port, "/env/HOSTNAME").as_deref(),
        info["Config"]["Hostname"].as_str(),
        "{info}"
    );
    let rows = ps(&fleet);
    let web = row(&rows, "web", 0);
    assert_eq!(web["state"], "running", "{rows:?}");
    assert_eq!(web["pid"], container_pid(&containers[0].id), "{rows:?}");
    assert_eq!(web["ports"], json!([port]), "{rows:?}");
    // Its output reaches the replica's log file, as a host process's does.
    poll_until(PATIENCE, "the container's output in web.0.log", || {
        std::fs::read_to_string(fleet.path(".orchestra/logs/web.0.log"))
            .ok()
            .filter(|log| log.contains(&format!("listening on :{port}")))
    });
    let logs = fleet.cmd(["logs", "-n", "100"]).assert_success();
    assert!(logs.stdout.contains("listening on"), "{logs}");
    // A FROM-scratch image was built for it.
    let filters = json!({ "reference": [format!("orchestra-{name}/web")] }).to_string();
    let images = engine_json(
        "GET",
        &format!("/images/json?filters={}", url_encode(&filters)),
        None,
    );
    assert_eq!(images.as_array().map(Vec::len), Some(1), "{images}");

    // Scaled to 2: a second container on the next port.
    fleet.cmd(["scale", "web=2"]).assert_success();
    assert_eq!(
        names(&project_containers(&name)),
        [web0.as_str(), web1.as_str()]
    );
    let hello = get(port + 1, "/").expect("web.1 answers on PORT+1");
    assert!(hello.starts_with("hello from web.1"), "{hello}");

    // Killed through the engine: restarted, and the restart is counted.
    let killed = project_containers(&name)[1].id.clone();
    engine_json("POST", &format!("/containers/{killed}/kill"), None);
    let rows = poll_until(PATIENCE, "web.1 to be restarted", || {
        let rows = ps(&fleet);
        let web1 = row(&rows, "web", 1);
        (web1["state"] == "running" && web1["restarts"].as_u64() >= Some(1)).then_some(rows)
    });
    let replaced = project_containers(&name);
    assert_eq!(names(&replaced), [web0.as_str(), web1.as_str()], "{rows:?}");
    assert_ne!(replaced[1].id, killed);
    poll_until(PATIENCE, "the new web.1 to answer", || get(port + 1, "/"));

    let out = fleet.cmd(["stop"]).assert_success();
    assert!(
        project_containers(&name).is_empty(),
        "containers left after stop: {:?}\n{out}",
        project_containers(&name)
    );
    let after = fleet.cmd(["ps"]).assert_success();
    assert!(after.stdout.contains("nothing is running"), "{after}");
}

#[test]
fn a_service_in_a_container_reaches_its_vendor_by_name() {
    if !docker_ready() {
        return;
    }
    let name = unique_name("e2e-dk", "vendor");
    let _cleanup = EngineCleanup(name.clone());
    let redis_port = orchestra_tests::free_port_block(1);
    let (fleet, port) = web_fleet(
        &name,
        &format!(
            "vendors:\n  redis:\n    image: {REDIS_IMAGE}\n    \
             ports: [\"{redis_port}:6379\"]\n    ready: {{ tcp: 6379 }}\n"
        ),
        "depends_on: [redis]\n",
    );

    let out = fleet.cmd(["start", "--docker"]).assert_success();
    assert_eq!(
        names(&project_containers(&name)),
        [
            format!("orchestra-{name}-redis"),
            format!("orchestra-{name}-web-0")
        ],
        "{out}"
    );
    // The same service.yml as on the host: the address is the vendor's name on the network.
    assert_eq!(get(port, "/env/REDIS_HOST").as_deref(), Some("redis"));
    assert_eq!(get(port, "/env/REDIS_PORT").as_deref(), Some("6379"));

    fleet.cmd(["stop"]).assert_success();
    assert!(project_containers(&name).is_empty());
}
