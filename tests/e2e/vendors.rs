//! Vendors through the real binary on a real Docker engine: `start` brings a Redis up before
//! the service that needs it and hands the service its address; `ps`, `logs` and
//! `vendors ps` show it; `vendors up` keeps it; `stop` and `vendors down --volumes` remove
//! it. What the engine holds is checked through its API, not through orchestra. And a fleet
//! without vendors never touches Docker.

use orchestra_tests::{Fleet, PATIENCE, poll_until};

use crate::engine::{EngineCleanup, docker_ready, engine, project_containers_raw, unique_name};

const REDIS_IMAGE: &str = "orchestra-test/redis:7";

/// orchestra.yml of project `name` with one Redis vendor published on host `port`; `rest`
/// adds lines to the vendor's entry.
fn redis_yml(name: &str, port: u16, rest: &str) -> String {
    format!(
        "name: {name}\n\
         vendors:\n  \
           redis:\n    \
             image: {REDIS_IMAGE}\n    \
             ports: [\"{port}:6379\"]\n{rest}"
    )
}

fn redis_fleet(name: &str) -> (Fleet, u16) {
    let fleet = Fleet::new();
    let port = fleet.ports(1);
    let fleet = fleet
        .orchestra_yml(&redis_yml(
            name,
            port,
            "    volumes: [\"data:/data\"]\n    ready: { tcp: 6379 }\n",
        ))
        .service(
            "app",
            "depends_on: [redis]\nrun: \"echo redis at $REDIS_HOST:$REDIS_PORT; exec sleep 1000\"\n",
        );
    (fleet, port)
}

fn engine_get(path: &str) -> (u16, String) {
    engine("GET", path, None).expect("the engine answers over its unix socket")
}

/// `(name, id)` of every container labelled with project `name`, running or not.
fn project_containers(name: &str) -> Vec<(String, String)> {
    project_containers_raw(name)
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

#[test]
fn start_brings_the_vendor_up_first_and_stop_removes_its_container() {
    if !docker_ready() {
        return;
    }
    let name = unique_name("e2e", "start");
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
    let name = unique_name("e2e", "down");
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
fn a_vendor_whose_image_is_missing_fails_start_with_the_engines_own_reason_once() {
    // No test image is needed: the point is an image the engine does not have.
    if !orchestra_tests::docker_or_skip() {
        return;
    }
    let name = unique_name("e2e", "noimage");
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
    // The failure names the vendor and the image, and carries Docker's own words.
    let docker_says = format!("No such image: {image}");
    assert!(out.stderr.contains(&docker_says), "{out}");
    assert!(
        out.stderr
            .contains(&format!("✗ db: vendor `db` needs image `{image}`")),
        "{out}"
    );
    // Said once: not repeated by Docker's doubled message, nor by the progress line.
    assert_eq!(out.stderr.matches(&docker_says).count(), 1, "{out}");
    assert!(
        !out.stderr
            .to_lowercase()
            .contains(&format!("no such image: {image}: no such image")),
        "{out}"
    );
    assert!(!out.stdout.contains(&docker_says), "{out}");
    assert!(out.stderr.contains("error: not started: db"), "{out}");
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

#[test]
fn a_misspelt_vendor_gets_the_same_did_you_mean_as_a_misspelt_service() {
    let fleet = Fleet::new()
        .orchestra_yml(&redis_yml("typo", 1, ""))
        .service("app", "run: sleep 1000\n");
    let nowhere = "unix:///nonexistent/docker.sock";
    let out = fleet
        .cmd(["vendors", "up", "redsi"])
        .env("DOCKER_HOST", nowhere)
        .assert_exit(2);
    assert!(out.stderr.contains("no vendor named `redsi`"), "{out}");
    assert!(out.stderr.contains("did you mean `redis`?"), "{out}");
    let out = fleet
        .cmd(["vendors", "up", "mongo"])
        .env("DOCKER_HOST", nowhere)
        .assert_exit(2);
    assert!(out.stderr.contains("the vendors are: redis"), "{out}");
    let out = fleet
        .cmd(["start", "ap"])
        .env("DOCKER_HOST", nowhere)
        .assert_exit(2);
    assert!(out.stderr.contains("did you mean `app`?"), "{out}");
}

#[test]
fn a_ready_probe_on_the_published_host_port_is_dialled_on_the_host() {
    if !docker_ready() {
        return;
    }
    let name = unique_name("e2e", "hostprobe");
    let _cleanup = EngineCleanup(name.clone());
    let fleet = Fleet::new();
    let port = fleet.ports(1);
    // The probe names the host side of `port:6379`; the container listens on 6379 only.
    let fleet = fleet
        .orchestra_yml(&redis_yml(
            &name,
            port,
            &format!("    ready: {{ tcp: {port}, timeout: 20s }}\n"),
        ))
        .service("app", "depends_on: [redis]\nrun: sleep 1000\n");

    let out = fleet.cmd(["start"]).assert_success();
    assert!(!out.stderr.contains("cannot connect"), "{out}");
    let ps = fleet.cmd(["ps", "--json"]).assert_success();
    let rows: serde_json::Value = serde_json::from_str(&ps.stdout).expect("ps --json prints JSON");
    let states: Vec<(String, String)> = rows
        .as_array()
        .expect("ps --json prints an array")
        .iter()
        .map(|r| (r["service"].to_string(), r["state"].to_string()))
        .collect();
    assert!(
        states.iter().all(|(_, state)| state == "\"running\""),
        "{states:?}"
    );
    fleet.cmd(["stop"]).assert_success();
}

#[test]
fn a_start_naming_services_brings_only_the_vendors_they_depend_on() {
    // Every service is named, and none depends on redis: no Docker is needed, and only the
    // project's hooks are told where redis is.
    let fleet = Fleet::new()
        .orchestra_yml(&format!(
            "start:\n  before: [\"echo \\\"hook sees [$REDIS_HOST:$REDIS_PORT]\\\" > hook.txt\"]\n\
             vendors:\n  redis:\n    image: {REDIS_IMAGE}\n    ports: [\"6379:6379\"]\n"
        ))
        .service(
            "users",
            "run: \"echo users sees [$REDIS_HOST]; exec sleep 1000\"\n",
        )
        .service(
            "orders",
            "depends_on: [users]\nrun: \"echo orders sees [$REDIS_HOST]; exec sleep 1000\"\n",
        );
    let nowhere = "unix:///nonexistent/docker.sock";
    let out = fleet
        .cmd(["start", "users", "orders"])
        .env("DOCKER_HOST", nowhere)
        .assert_success();
    for service in ["users", "orders"] {
        let log = fleet.path(format!(".orchestra/logs/{service}.0.log"));
        let seen = poll_until(PATIENCE, "the service to print its REDIS_HOST", || {
            std::fs::read_to_string(&log)
                .ok()
                .filter(|t| t.contains("sees ["))
        });
        assert!(
            seen.contains(&format!("{service} sees []")),
            "{seen}\n{out}"
        );
    }
    assert_eq!(fleet.read("hook.txt"), "hook sees [127.0.0.1:6379]\n");
    fleet
        .cmd(["stop"])
        .env("DOCKER_HOST", nowhere)
        .assert_success();
}

#[test]
fn ctrl_c_of_start_attach_and_stop_both_take_the_vendors_down_and_say_so() {
    if !docker_ready() {
        return;
    }
    let name = unique_name("e2e", "attach-vendors");
    let _cleanup = EngineCleanup(name.clone());
    let (fleet, _port) = redis_fleet(&name);
    let said_so = |out: &orchestra_tests::Output| {
        assert!(
            out.stdout.lines().any(|l| l.contains("redis")
                && l.contains("stopped")
                && l.contains("vendor, volumes kept")),
            "the vendor's fate is said:\n{out}"
        );
    };

    let attached = fleet.cmd(["start", "--attach"]).spawn();
    attached.wait_for_output("redis at 127.0.0.1", PATIENCE * 3);
    attached.signal(orchestra_tests::Signal::SIGINT);
    let out = attached.wait(PATIENCE * 3);
    assert_eq!(out.code(), Some(0), "{out}");
    said_so(&out);
    assert_eq!(project_containers(&name), Vec::new(), "{out}");

    fleet.cmd(["start"]).assert_success();
    let out = fleet.cmd(["stop"]).assert_success();
    said_so(&out);
    assert_eq!(project_containers(&name), Vec::new(), "{out}");
}

#[test]
fn vendors_down_works_when_a_new_service_file_does_not_load() {
    if !docker_ready() {
        return;
    }
    let name = unique_name("e2e", "broken-down");
    let _cleanup = EngineCleanup(name.clone());
    let (fleet, _port) = redis_fleet(&name);
    fleet.cmd(["start"]).assert_success();
    fleet.write("broken/service.yml", "run: ./broken\nport: [8080\n");

    fleet.cmd(["vendors", "up"]).assert_exit(2);
    let out = fleet.cmd(["vendors", "down"]).assert_success();
    assert!(
        out.stderr.starts_with("warning: broken/service.yml:"),
        "{out}"
    );
    assert_eq!(project_containers(&name), Vec::new(), "{out}");
    fleet.cmd(["stop"]).assert_success();
}
