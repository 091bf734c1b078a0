//! `start --docker` through the real binary on a real Docker engine: a Go service built into a
//! scratch image and run in containers that answer on the published port, scaled, restarted
//! after `docker kill`, handed its vendor's address by name, surviving a killed daemon,
//! adopted, and removed by `stop` — with stray containers of the project removed at start.
//! What the engine holds is checked through its API, never through orchestra.

mod daemon;
mod images;
mod modes;
mod running;

use orchestra_tests::{
    Fleet, PATIENCE, Signal, cmdline, http_get, pids_with_cwd_under, process_alive, send_signal,
    wait_until,
};
use serde_json::Value;

use crate::engine::{engine, project_containers_raw};

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
