//! `start --docker` through the real binary on a real Docker engine: a Go service built into a
//! scratch image and run in containers that answer on the published port, scaled, restarted
//! after `docker kill`, handed its vendor's address by name, surviving a killed daemon,
//! adopted, and removed by `stop` — with stray containers of the project removed at start.
//! What the engine holds is checked through its API, never through orchestra.

use orchestra_tests::{
    Fleet, PATIENCE, Signal, cmdline, http_get, pids_with_cwd_under, poll_until, process_alive,
    send_signal, wait_until,
};
use serde_json::{Value, json};

use crate::engine::{
    EngineCleanup, docker_ready, engine, project_containers_raw, unique_name, url_encode,
};

const REDIS_IMAGE: &str = "orchestra-test/redis:7";
const HTTP_IMAGE: &str = "orchestra-test/scratch-http:1";

fn engine_json(method: &str, path: &str, body: Option<&Value>) -> Value {
    let (status, text) = engine(method, path, body).expect("the engine answers on its socket");
    assert!(
        (200..300).contains(&status),
        "{method} {path}: {status} {text}"
    );
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// A container as the engine lists it.
#[derive(Debug, Clone, PartialEq)]
struct Container {
    name: String,
    id: String,
    state: String,
}

/// Every container labelled with project `name`, running or not, sorted by name.
fn project_containers(name: &str) -> Vec<Container> {
    let mut containers: Vec<Container> = project_containers_raw(name)
        .iter()
        .map(|c| Container {
            name: c["Names"][0]
                .as_str()
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_owned(),
            id: c["Id"].as_str().unwrap_or_default().to_owned(),
            state: c["State"].as_str().unwrap_or_default().to_owned(),
        })
        .collect();
    containers.sort_by(|a, b| a.name.cmp(&b.name));
    containers
}

fn names(containers: &[Container]) -> Vec<&str> {
    containers.iter().map(|c| c.name.as_str()).collect()
}

/// The container's main process on the host, as the engine reports it.
fn container_pid(id: &str) -> u64 {
    engine_json("GET", &format!("/containers/{id}/json"), None)["State"]["Pid"]
        .as_u64()
        .expect("a running container has a pid")
}

/// Project `name` with Go service `web` (the http fixture, built by orchestra) on a block of
/// two free ports, and `orchestra_extra` appended to orchestra.yml.
fn web_fleet(name: &str, orchestra_extra: &str, service_extra: &str) -> (Fleet, u16) {
    let fleet = Fleet::new();
    let port = fleet.ports(2);
    let fleet = fleet
        .orchestra_yml(&format!("name: {name}\n{orchestra_extra}"))
        .go_service(
            "web",
            "http",
            &format!(
                "port: {port}\nenv: {{ GOPROXY: \"off\" }}\n\
                 ready: {{ http: \"http://127.0.0.1:$PORT/health\", timeout: 120s }}\n\
                 {service_extra}"
            ),
        );
    (fleet, port)
}

fn get(port: u16, path: &str) -> Option<String> {
    http_get(&format!("http://127.0.0.1:{port}{path}"))
        .filter(|(status, _)| *status == 200)
        .map(|(_, body)| body)
}

/// `orchestra ps --json`, parsed.
fn ps(fleet: &Fleet) -> Vec<Value> {
    let out = fleet.cmd(["ps", "--json"]).assert_success();
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("`ps --json` printed no JSON array ({e}): {out}"))
}

fn row(rows: &[Value], service: &str, index: u64) -> Value {
    rows.iter()
        .find(|r| r["service"] == service && r["replica"] == index)
        .cloned()
        .unwrap_or_else(|| panic!("no row for {service}.{index} in {rows:?}"))
}

/// The project's daemon, found by its working folder and command line.
fn daemon_pid(fleet: &Fleet) -> Option<u32> {
    pids_with_cwd_under(fleet.root())
        .into_iter()
        .find(|&p| cmdline(p).is_some_and(|c| c.contains("orchestra") && c.contains(" daemon")))
}

fn kill_daemon(fleet: &Fleet) {
    let daemon = daemon_pid(fleet).expect("a daemon runs the fleet");
    assert!(send_signal(daemon, Signal::SIGKILL));
    wait_until(PATIENCE, "the daemon to die", || !process_alive(daemon));
}

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
