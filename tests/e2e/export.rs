//! `orchestra export --format compose`: the example shop exported, brought up by the real
//! `docker-compose` on the real engine, answering through its gateway, and taken down
//! without a trace; the export's text as a snapshot; and what cannot be expressed reported
//! on stderr with the service named.

use std::process::Command;

use orchestra_tests::{Fleet, PATIENCE, examples_dir, http_post, poll_until, require_go};
use serde_json::Value;

use crate::engine::{EngineCleanup, docker_ready, engine, unique_name, url_encode};
use crate::examples::shop_on_free_ports;

/// The example shop, as written, in a fleet folder under a fixed project name.
pub(crate) fn shop_as_written() -> Fleet {
    let fleet = Fleet::new().copy_dir(examples_dir().join("shop"), ".");
    let yml = fleet.read("orchestra.yml");
    fleet.write("orchestra.yml", format!("name: shop\n{yml}"));
    fleet
}

/// `text` with the fleet's folder written `[ROOT]`, as it was and resolved.
pub(crate) fn root_redacted(text: &str, fleet: &Fleet) -> String {
    let mut text = text.to_owned();
    let root = fleet.root();
    let canonical = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    for r in [canonical, root.to_path_buf()] {
        text = text.replace(&r.display().to_string(), "[ROOT]");
    }
    text
}

#[test]
fn the_compose_export_of_the_shop_reads_as_expected() {
    let fleet = shop_as_written();
    let out = fleet
        .cmd(["export", "--format", "compose"])
        .assert_success();
    assert_eq!(out.stderr, "", "the shop exports without a note");
    insta::assert_snapshot!(root_redacted(&out.stdout, &fleet));
}

#[test]
fn what_compose_cannot_express_is_reported_with_the_service_named() {
    let fleet = Fleet::new()
        .orchestra_yml("name: notes\n")
        .service("script", "run: ./serve.sh\n")
        .service(
            "logger",
            "run: \"echo up; exec sleep 1000\"\ndocker: { image: alpine }\nscale: 2\n\
             ready: { log: \"^up$\" }\n",
        );
    let out = fleet
        .cmd(["export", "--format", "compose"])
        .assert_success();
    assert!(
        out.stderr
            .contains("warning: script: left out: it is not a Go service"),
        "{out}"
    );
    assert!(
        out.stderr
            .contains("warning: logger: its `log: ^up$` ready probe cannot be expressed"),
        "{out}"
    );
    assert!(
        out.stderr.contains("warning: logger: its replicas"),
        "{out}"
    );
    assert!(!out.stdout.contains("script:"), "{out}");
    assert!(out.stdout.contains("logger:"), "{out}");
}

fn compose(fleet: &Fleet, project: &str, args: &[&str]) -> std::process::Output {
    let out = Command::new("docker-compose")
        .args(["-f", "compose.yml", "-p", project])
        .args(args)
        .current_dir(fleet.root())
        .output()
        .expect("docker-compose runs");
    assert!(
        out.status.success(),
        "docker-compose {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// What the engine holds of Compose project `name`: containers, networks, volumes.
fn compose_leftovers(name: &str) -> Vec<String> {
    let label =
        serde_json::json!({ "label": [format!("com.docker.compose.project={name}")] }).to_string();
    let filter = url_encode(&label);
    let mut left = Vec::new();
    for (kind, path) in [
        (
            "container",
            format!("/containers/json?all=1&filters={filter}"),
        ),
        ("network", format!("/networks?filters={filter}")),
        ("volume", format!("/volumes?filters={filter}")),
    ] {
        let (_, text) = engine("GET", &path, None).expect("the engine answers");
        let found: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let items = found
            .get("Volumes")
            .cloned()
            .unwrap_or(found)
            .as_array()
            .cloned()
            .unwrap_or_default();
        left.extend(items.iter().map(|i| format!("{kind} {}", i["Name"])));
    }
    left
}

#[test]
fn the_shop_exported_to_compose_runs_on_docker_compose_and_leaves_nothing() {
    require_go();
    if !docker_ready() {
        return;
    }
    let name = unique_name("e2e-compose", "shop");
    let _cleanup = EngineCleanup(name.clone());
    let (fleet, gateway) = shop_on_free_ports();
    let redis = fleet.ports(1);
    let yml = fleet
        .read("orchestra.yml")
        .replace("\"6379:6379\"", &format!("\"{redis}:6379\""));
    fleet.write("orchestra.yml", format!("name: {name}\n{yml}"));

    let out = fleet
        .cmd([
            "export",
            "--format",
            "compose",
            "--build-images",
            "-o",
            "compose.yml",
        ])
        .assert_success();
    assert!(
        out.stderr
            .contains(&format!("built orchestra-{name}/users:latest")),
        "{out}"
    );
    let _down = ComposeDown(fleet.root().to_path_buf(), name.clone());
    compose(&fleet, &name, &["up", "-d"]);
    let url = format!("http://127.0.0.1:{gateway}/orders");
    let order = poll_until(PATIENCE, "an order accepted through the gateway", || {
        http_post(&url, r#"{"user_id": 1, "item": "tea", "quantity": 2}"#)
            .filter(|(status, _)| *status == 201)
            .map(|(_, body)| body)
    });
    assert!(order.contains("\"item\":\"tea\""), "{order}");

    compose(&fleet, &name, &["down", "-v"]);
    assert_eq!(compose_leftovers(&name), Vec::<String>::new());
}

/// Takes the Compose project down if the test fails half-way (again, harmlessly, if not).
struct ComposeDown(std::path::PathBuf, String);

impl Drop for ComposeDown {
    fn drop(&mut self) {
        let _ = Command::new("docker-compose")
            .args(["-f", "compose.yml", "-p", &self.1, "down", "-v"])
            .current_dir(&self.0)
            .output();
    }
}
