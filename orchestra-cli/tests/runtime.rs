//! The fleet runtime driven directly, without a daemon or a socket: a project in a temp
//! folder, real processes, every verb the daemon serves.
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use orchestra_cli::runtime::{Runtime, RuntimeError, Start};
use orchestra_config::{Project, Section};
use orchestra_core::spec::ProjectSpec;
use orchestra_core::{ReplicaState, ReplicaStatus, ServiceName, StateDir};
use tokio::sync::{mpsc, watch};

fn name(s: &str) -> ServiceName {
    ServiceName::new(s).unwrap()
}

/// web listens on `port` (python's http.server); worker, which depends on it, sleeps.
fn project(root: &Path, port: u16) -> ProjectSpec {
    let write = |rel: &str, text: &str| {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("orchestra.yml", "");
    write(
        "web/service.yml",
        &format!(
            "run: exec python3 -m http.server $PORT --bind 127.0.0.1\nport: {port}\n\
             stop_timeout: 2s\n"
        ),
    );
    write(
        "worker/service.yml",
        "run: exec sleep 3600\ndepends_on: [web]\nstop_timeout: 2s\n",
    );
    Project::load(&root.join("orchestra.yml"))
        .unwrap()
        .resolve(Section::Start)
        .unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(project: &ProjectSpec, scale: &[(&str, u32)]) -> Start {
    Start {
        project: Box::new(project.clone()),
        services: Vec::new(),
        scale: scale.iter().map(|(s, n)| (name(s), *n)).collect(),
        no_build: false,
        rerun: false,
        keep_strays: false,
        docker: false,
    }
}

fn events() -> mpsc::UnboundedSender<orchestra_core::protocol::Progress> {
    mpsc::unbounded_channel().0
}

/// `service.replica` → (state, pid) of every row.
fn rows(status: &[ReplicaStatus]) -> BTreeMap<String, (ReplicaState, Option<i32>)> {
    status
        .iter()
        .map(|r| (format!("{}.{}", r.service, r.replica), (r.state, r.pid)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runtime_starts_scales_restarts_and_stops_a_fleet_without_a_socket() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    let port = free_port();
    let project = project(&root, port);
    let runtime = Runtime::new(StateDir::for_project(&root));
    let (_never, gave_up) = watch::channel(false);

    let started = runtime
        .start(start(&project, &[]), events(), gave_up.clone())
        .await
        .unwrap();
    assert!(started.is_ok(), "{started:?}");
    let before = rows(&runtime.status().await);
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        ["web.0", "worker.0"],
        "{before:?}"
    );
    assert!(before.values().all(|(s, _)| *s == ReplicaState::Running));
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());

    // A count over the limit is refused, as a value to branch on, before anything
    // changes.
    let over = runtime
        .start(start(&project, &[("web", 1001)]), events(), gave_up.clone())
        .await;
    assert!(matches!(over, Err(RuntimeError::Refused(_))), "{over:?}");

    let scaled = runtime
        .scale(&project, &BTreeMap::from([(name("web"), 2)]), events())
        .await
        .unwrap();
    assert!(scaled.is_ok(), "{scaled:?}");
    let after_scale = rows(&runtime.status().await);
    assert_eq!(after_scale.len(), 3, "{after_scale:?}");
    assert_eq!(after_scale["web.0"], before["web.0"], "web.0 left alone");

    let restarted = runtime
        .restart(&project, &[name("worker")], events())
        .await
        .unwrap();
    assert!(restarted.is_ok(), "{restarted:?}");
    let after_restart = rows(&runtime.status().await);
    assert_ne!(
        after_restart["worker.0"].1, before["worker.0"].1,
        "a new worker"
    );
    assert_eq!(after_restart["web.1"], after_scale["web.1"]);

    let stopped = runtime.stop(&[name("worker")], events()).await;
    assert!(stopped.is_ok(), "{stopped:?}");
    let worker_pid = after_restart["worker.0"].1.unwrap();
    assert!(!alive(worker_pid), "worker stopped");

    let down = runtime.shutdown(events()).await;
    assert!(down.is_ok(), "{down:?}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !runtime.is_idle().await {
        assert!(tokio::time::Instant::now() < deadline, "still busy");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(runtime.status().await.iter().all(|r| r.pid.is_none()));
}

/// Whether `pid` runs (a zombie does not).
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        !matches!(after.split_whitespace().next(), Some("Z" | "X"))
    })
}
