//! The images docker mode builds: rebuilt on a rerun, and removed by `stop` with the
//! network, which says so and keeps the vendors' data.

use orchestra_tests::{PATIENCE, poll_until};
use serde_json::json;

use super::{REDIS_IMAGE, engine_json, get, names, project_containers, web_fleet};
use crate::engine::{EngineCleanup, docker_ready, engine, unique_name, url_encode};

#[test]
fn rerun_in_docker_mode_rebuilds_the_image_and_replaces_the_container() {
    if !docker_ready() {
        return;
    }
    let name = unique_name("e2e-dk", "rerun");
    let _cleanup = EngineCleanup(name.clone());
    let (fleet, port) = web_fleet(&name, "", "");

    fleet.cmd(["start", "--docker", "--rerun"]).assert_success();
    let before = project_containers(&name);
    assert!(get(port, "/").is_some_and(|b| b.starts_with("hello from")));

    let main = fleet.read("web/main.go");
    fleet.write("web/main.go", main.replace("\"hello from", "\"howdy from"));
    poll_until(PATIENCE * 3, "the edited service to answer", || {
        get(port, "/").filter(|b| b.starts_with("howdy from web.0"))
    });
    let after = project_containers(&name);
    assert_eq!(names(&after), names(&before));
    assert_ne!(after[0].id, before[0].id, "the container was not replaced");
    let filters = json!({ "reference": [format!("orchestra-{name}/web")] }).to_string();
    let images = engine_json(
        "GET",
        &format!("/images/json?filters={}", url_encode(&filters)),
        None,
    );
    assert_eq!(images.as_array().map(Vec::len), Some(2), "{images}");

    fleet.cmd(["stop"]).assert_success();
    assert!(project_containers(&name).is_empty());
}

/// The tags of the images built for project `name`'s services.
fn built_images(name: &str) -> Vec<String> {
    let filters = json!({ "reference": [format!("orchestra-{name}/*")] }).to_string();
    let images = engine_json(
        "GET",
        &format!("/images/json?filters={}", url_encode(&filters)),
        None,
    );
    images
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|i| i["RepoTags"].as_array().cloned().unwrap_or_default())
        .filter_map(|t| t.as_str().map(str::to_owned))
        .collect()
}

/// Whether the engine knows `path` (`/networks/x`, `/volumes/y`).
fn engine_has(path: &str) -> bool {
    let (status, body) = engine("GET", path, None).expect("the engine answers on its socket");
    assert!(status == 200 || status == 404, "{path}: {status} {body}");
    status == 200
}

#[test]
fn stop_removes_the_images_and_network_docker_mode_made_and_says_so_but_keeps_vendor_data() {
    if !docker_ready() {
        return;
    }
    let name = unique_name("e2e-dk", "leftovers");
    let _cleanup = EngineCleanup(name.clone());
    let redis_port = orchestra_tests::free_port_block(1);
    let (fleet, _port) = web_fleet(
        &name,
        &format!(
            "vendors:\n  redis:\n    image: {REDIS_IMAGE}\n    \
             ports: [\"{redis_port}:6379\"]\n    volumes: [\"data:/data\"]\n    \
             ready: {{ tcp: 6379 }}\n"
        ),
        "depends_on: [redis]\n",
    );
    let network = format!("/networks/orchestra-{name}");
    let volume = format!("/volumes/orchestra-{name}-data");

    let out = fleet.cmd(["start", "--docker"]).assert_success();
    let images = built_images(&name);
    assert_eq!(
        images.len(),
        1,
        "one image built for web: {images:?}\n{out}"
    );
    assert!(engine_has(&network) && engine_has(&volume), "{out}");

    let out = fleet.cmd(["stop"]).assert_success();
    assert!(project_containers(&name).is_empty(), "{out}");
    assert_eq!(built_images(&name), Vec::<String>::new(), "{out}");
    assert!(!engine_has(&network), "the network is left:\n{out}");
    assert!(
        engine_has(&volume),
        "the vendor's data went with stop:\n{out}"
    );
    for said in [
        format!("image {} removed", images[0]),
        format!("network orchestra-{name} removed"),
    ] {
        assert!(
            out.stdout.contains(&said),
            "stop does not say {said:?}:\n{out}"
        );
    }
}
