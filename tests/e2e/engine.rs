//! Talking to the Docker engine from e2e tests, by hand over its socket, so that what the
//! engine holds is checked independently of orchestra: images built once per run, unique
//! project names, raw Engine API calls, and a guard that removes what a test leaves behind.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use orchestra_tests::{DockerEndpoint, docker_or_skip, workspace_root};
use serde_json::{Value, json};

/// Docker is here and the test images are built (once per test process); `false` after
/// printing why the test skips.
pub(crate) fn docker_ready() -> bool {
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
pub(crate) fn unique_name(prefix: &str, test: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{test}-{}-{n}", std::process::id())
}

/// `method path` of the Engine API over its unix socket, with an optional JSON body:
/// `(status, body)`, or `None` when the engine cannot be reached.
pub(crate) fn engine(method: &str, path: &str, body: Option<&Value>) -> Option<(u16, String)> {
    let DockerEndpoint::Unix(socket) = DockerEndpoint::from_env() else {
        return None;
    };
    let mut stream = UnixStream::connect(&socket).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .ok()?;
    let body = body.map(Value::to_string).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: docker\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw).ok()?;
    let (head, body) = raw.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_owned()))
}

/// `url` with every byte but unreserved ones percent-encoded.
pub(crate) fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The engine's list answer to `GET path` (containers, images, volumes), empty when the
/// engine does not answer.
fn list(path: &str) -> Vec<Value> {
    engine("GET", path, None)
        .and_then(|(_, body)| serde_json::from_str::<Value>(&body).ok())
        .map(|v| {
            // `/volumes` wraps its list in an object.
            let v = if v.is_object() {
                v["Volumes"].clone()
            } else {
                v
            };
            v.as_array().cloned().unwrap_or_default()
        })
        .unwrap_or_default()
}

/// The engine's view of every container labelled with project `name`, running or not.
pub(crate) fn project_containers_raw(name: &str) -> Vec<Value> {
    let filters = json!({ "label": [format!("orchestra.project={name}")] }).to_string();
    list(&format!(
        "/containers/json?all=1&filters={}",
        url_encode(&filters)
    ))
}

/// Removes what a test may leave in the engine for project `.0`: its containers (force),
/// its network, the images built for its services and its named volumes.
pub(crate) struct EngineCleanup(pub String);

impl Drop for EngineCleanup {
    fn drop(&mut self) {
        let name = &self.0;
        for c in project_containers_raw(name) {
            if let Some(id) = c["Id"].as_str() {
                let _ = engine("DELETE", &format!("/containers/{id}?force=1"), None);
            }
        }
        let _ = engine("DELETE", &format!("/networks/orchestra-{name}"), None);
        let filters = json!({ "reference": [format!("orchestra-{name}/*")] }).to_string();
        for image in list(&format!("/images/json?filters={}", url_encode(&filters))) {
            if let Some(id) = image["Id"].as_str() {
                let _ = engine("DELETE", &format!("/images/{id}?force=1"), None);
            }
        }
        let filters = json!({ "name": [format!("orchestra-{name}-")] }).to_string();
        for volume in list(&format!("/volumes?filters={}", url_encode(&filters))) {
            if let Some(volume) = volume["Name"].as_str() {
                let _ = engine("DELETE", &format!("/volumes/{volume}"), None);
            }
        }
    }
}
