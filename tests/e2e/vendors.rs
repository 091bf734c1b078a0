//! Vendors through the real binary on a real Docker engine: `start` brings a Redis up before
//! the service that needs it and hands the service its address; `ps`, `logs` and
//! `vendors ps` show it; `vendors up` keeps it; `stop` and `vendors down --volumes` remove
//! it. What the engine holds is checked through its API, not through orchestra. And a fleet
//! without vendors never touches Docker.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use orchestra_tests::{
    DockerEndpoint, Fleet, PATIENCE, docker_or_skip, poll_until, workspace_root,
};

const REDIS_IMAGE: &str = "orchestra-test/redis:7";

/// Docker is here and the test images are built (once per test process); `false` after
/// printing why the test skips.
fn docker_ready() -> bool {
    if !docker_or_skip() {
        return false;
    }
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let script = workspace_root().join("scripts/build-test-images");
        let status = Command::new(&script)
            .status()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(status.success(), "{} failed: {status}", script.display());
    });
    true
}

/// A project name no other test or run uses, so engine objects never collide.
fn unique_name(test: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("e2e-{test}-{}-{n}", std::process::id())
}

/// A fleet named `name` with a `redis` vendor (a named volume on /data) published on a free
/// port, and service `app` depending on it that prints the address it was given.
fn redis_fleet(name: &str) -> (Fleet, u16) {
    let fleet = Fleet::new();
    let port = fleet.ports(1);
    let fleet = fleet
        .orchestra_yml(&format!(
            "name: {name}\n\
             vendors:\n  \
               redis:\n    \
                 image: {REDIS_IMAGE}\n    \
                 ports: [\"{port}:6379\"]\n    \
                 volumes: [\"data:/data\"]\n    \
                 ready: {{ tcp: 6379 }}\n"
        ))
        .service(
            "app",
            "depends_on: [redis]\nrun: \"echo redis at $REDIS_HOST:$REDIS_PORT; exec sleep 1000\"\n",
        );
    (fleet, port)
}

/// `method path` of the Engine API over its unix socket: `(status, body)`, or `None` when
/// the engine cannot be reached.
fn engine(method: &str, path: &str) -> Option<(u16, String)> {
    let DockerEndpoint::Unix(socket) = DockerEndpoint::from_env() else {
        return None;
    };
    let mut stream = UnixStream::connect(&socket).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    write!(stream, "{method} {path} HTTP/1.0\r\nHost: docker\r\n\r\n").ok()?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw).ok()?;
    let (head, body) = raw.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_owned()))
}

fn engine_get(path: &str) -> (u16, String) {
    engine("GET", path).expect("the engine answers over its unix socket")
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `(name, id)` of every container labelled with project `name`, running or not.
fn project_containers(name: &str) -> Vec<(String, String)> {
    let filters = format!(r#"{{"label":["orchestra.project={name}"]}}"#);
    let (status, body) = engine_get(&format!(
        "/containers/json?all=1&filters={}",
        url_encode(&filters)
    ));
    assert_eq!(status, 200, "{body}");
    let list: serde_json::Value = serde_json::from_str(&body).expect("the engine answers JSON");
    list.as_array()
        .expect("a list of containers")
        .iter()
        .map(|c| {
            let name = c["Names"][0]
                .as_str()
                .expect("a container has a name")
                .trim_start_matches('/');
            (
                name.to_owned(),
                c["Id"].as_str().expect("a container has an id").to_owned(),
            )
        })
        .collect()
}

fn volume_exists(volume: &str) -> bool {
    let (status, body) = engine_get(&format!("/volumes/{volume}"));
    assert!(status == 200 || status == 404, "{status} {body}");
    status == 200
}

/// Removes what a failed test may leave in the engine: the project's containers
/// (force), its network and its volume.
struct EngineCleanup(String);

impl Drop for EngineCleanup {
    fn drop(&mut self) {
        let name = &self.0;
        let filters = format!(r#"{{"label":["orchestra.project={name}"]}}"#);
        let list = engine(
            "GET",
            &format!("/containers/json?all=1&filters={}", url_encode(&filters)),
        );
        let ids: Vec<String> = list
            .and_then(|(_, body)| serde_json::from_str::<serde_json::Value>(&body).ok())
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|c| c["Id"].as_str().map(str::to_owned))
            .collect();
        for id in ids {
            let _ = engine("DELETE", &format!("/containers/{id}?force=1"));
        }
        let _ = engine("DELETE", &format!("/networks/orchestra-{name}"));
        let _ = engine("DELETE", &format!("/volumes/orchestra-{name}-data"));
    }
}

#[test]
fn start_brings_the_vendor_up_first_and_stop_removes_its_container() {
    if !docker_ready() {
        return;
    }
    let name = unique_name("start");
    let _cleanup = EngineCleanup(name.clone());
    let (fleet, port) = redis_fleet(&name);
    let container = format!("orchestra-{name}-redis");

    let out = fleet.cmd(["start"]).assert_success();
    // The service got the vendor's host address, and so started after the vendor was up.
    let log = fleet.path(".orchestra/logs/app.0.log");
    poll_until(PATIENCE, "the app to print its redis address", || {
        std::fs::read_to_string(&log)
            .ok()
            .filter(|t| t.contains(&format!("redis at 127.0.0.1:{port}")))
    });
    let containers = project_containers(&name);
    assert_eq!(
        containers
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>(),
        [container.as_str()],
        "{out}"
    );
    let id = containers[0].1.clone();

    // ps lists the vendor with the services.
    let ps = fleet.cmd(["ps", "--json"]).assert_success();
    let rows: serde_json::Value = serde_json::from_str(&ps.stdout).expect("ps --json prints JSON");
    let vendor = rows
        .as_array()
        .expect("ps --json prints an array")
        .iter()
        .find(|r| r["kind"] == "vendor")
        .unwrap_or_else(|| panic!("no vendor row in {rows}"));
    assert_eq!(vendor["service"], "redis");
    assert_eq!(vendor["state"], "running");
    assert_eq!(vendor["ports"][0], port);
    assert!(
        rows.as_array()
            .expect("ps --json prints an array")
            .iter()
            .any(|r| r["service"] == "app" && r["kind"] == "service"),
        "{rows}"
    );

    // Its output is in .orchestra/logs/vendor.redis.log, which `logs` shows.
    poll_until(PATIENCE, "redis's startup lines in its log", || {
        std::fs::read_to_string(fleet.path(".orchestra/logs/vendor.redis.log"))
            .ok()
            .filter(|t| t.contains("Ready to accept connections"))
    });
    let logs = fleet.cmd(["logs", "-n", "1000"]).assert_success();
    assert!(
        logs.stdout.contains("Ready to accept connections"),
        "{logs}"
    );
    assert!(logs.stdout.contains("redis at 127.0.0.1"), "{logs}");

    let vendors_ps = fleet.cmd(["vendors", "ps"]).assert_success();
    assert!(vendors_ps.stdout.contains("redis"), "{vendors_ps}");

    // `vendors up` on a running, unchanged vendor keeps its container.
    fleet.cmd(["vendors", "up"]).assert_success();
    fleet.cmd(["vendors", "up"]).assert_success();
    assert_eq!(project_containers(&name), [(container.clone(), id)]);

    fleet.cmd(["stop"]).assert_success();
    assert!(
        project_containers(&name).is_empty(),
        "containers left after stop: {:?}",
        project_containers(&name)
    );
    // The named volume outlives the container.
    assert!(volume_exists(&format!("orchestra-{name}-data")));
}

#[test]
fn vendors_down_with_volumes_removes_the_volume() {
    if !docker_ready() {
        return;
    }
    let name = unique_name("down");
    let _cleanup = EngineCleanup(name.clone());
    let (fleet, _) = redis_fleet(&name);
    let volume = format!("orchestra-{name}-data");

    fleet.cmd(["vendors", "up"]).assert_success();
    assert_eq!(project_containers(&name).len(), 1);
    assert!(volume_exists(&volume));

    fleet.cmd(["vendors", "down"]).assert_success();
    assert!(project_containers(&name).is_empty());
    assert!(
        volume_exists(&volume),
        "down without --volumes keeps {volume}"
    );

    fleet.cmd(["vendors", "up"]).assert_success();
    fleet.cmd(["vendors", "down", "--volumes"]).assert_success();
    assert!(project_containers(&name).is_empty());
    assert!(!volume_exists(&volume), "{volume} is still there");
}

#[test]
fn a_vendor_whose_image_is_missing_fails_start_naming_the_image() {
    if !docker_ready() {
        return;
    }
    let name = unique_name("noimage");
    let _cleanup = EngineCleanup(name.clone());
    let fleet = Fleet::new();
    let port = fleet.ports(1);
    let image = format!("orchestra-test/no-such-image-{}:1", std::process::id());
    let fleet = fleet
        .orchestra_yml(&format!(
            "name: {name}\nvendors:\n  db:\n    image: {image}\n    ports: [\"{port}:5432\"]\n"
        ))
        .service("app", "depends_on: [db]\nrun: sleep 1000\n");

    let out = fleet.cmd(["start"]).assert_exit(1);
    let text = format!("{}{}", out.stdout, out.stderr);
    assert!(text.contains(&image), "{out}");
    // The service that needs it never started.
    assert!(!fleet.path(".orchestra/logs/app.0.log").exists(), "{out}");
    assert!(project_containers(&name).is_empty());
}

#[test]
fn a_fleet_without_vendors_never_touches_docker() {
    let fleet = Fleet::new()
        .orchestra_yml("")
        .service("app", "run: \"echo up; exec sleep 1000\"\n");
    let nowhere = "unix:///nonexistent/docker.sock";
    fleet
        .cmd(["start"])
        .env("DOCKER_HOST", nowhere)
        .assert_success();
    let ps = fleet
        .cmd(["ps", "--json"])
        .env("DOCKER_HOST", nowhere)
        .assert_success();
    let rows: serde_json::Value = serde_json::from_str(&ps.stdout).expect("ps --json prints JSON");
    assert_eq!(
        rows.as_array().expect("ps --json prints an array").len(),
        1,
        "{rows}"
    );
    assert_eq!(rows[0]["state"], "running", "{rows}");
    let vendors = fleet
        .cmd(["vendors", "ps"])
        .env("DOCKER_HOST", nowhere)
        .assert_success();
    assert!(!vendors.stderr.contains("Docker"), "{vendors}");
    fleet
        .cmd(["stop"])
        .env("DOCKER_HOST", nowhere)
        .assert_success();
}
