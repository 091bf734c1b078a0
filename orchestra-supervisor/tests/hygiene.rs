//! A start's hygiene on real processes: copies of a service running outside the engine are
//! stopped (or the start refused), a port held by another program holds its service and
//! its dependants back, and what this process spawned is never taken for a stray.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::running;
use nix::sys::signal::{Signal as NixSignal, kill};
use nix::unistd::Pid;
use orchestra_core::protocol::Progress;
use orchestra_core::spec::{CommandSpec, Dependency, ProjectSpec, ServiceSpec};
use orchestra_core::{ProjectName, ReplicaState, ServiceName, StateDir};
use orchestra_supervisor::{Engine, Hygiene, StartOptions};
use tokio::sync::mpsc;

fn name(s: &str) -> ServiceName {
    ServiceName::new(s).unwrap()
}

/// web runs `sleep 3600` on `port` and api depends on it; worker runs `sleep 3602` alone.
/// Each service has a folder of its own, so a hand-started copy is easy to make.
fn project(root: &Path, port: u16) -> ProjectSpec {
    let service = |n: &str, run: &str, deps: &[&str]| {
        std::fs::create_dir_all(root.join(n)).unwrap();
        ServiceSpec {
            stop_timeout: Duration::from_secs(1),
            depends_on: deps.iter().map(|d| Dependency::Service(name(d))).collect(),
            ..ServiceSpec::command(name(n), root.join(n), CommandSpec::Shell(run.into()))
        }
    };
    let web = ServiceSpec {
        port: Some(port),
        ..service("web", "exec sleep 3600", &[])
    };
    let services = [
        web,
        service("api", "exec sleep 3601", &["web"]),
        service("worker", "exec sleep 3602", &[]),
    ];
    ProjectSpec {
        services: services.into_iter().map(|s| (s.name.clone(), s)).collect(),
        ..ProjectSpec::empty(ProjectName::new("hygiene").unwrap(), root)
    }
}

/// A process started by hand in `dir` and left to init (its shell exits at once), so that
/// it descends from nothing of this test: as a copy a developer started would. Killed on
/// drop.
struct ByHand(i32);

impl ByHand {
    fn spawn(dir: &Path, command: &str) -> Self {
        let out = Command::new("sh")
            .args(["-c", &format!("{command} >/dev/null 2>&1 & echo $!")])
            .current_dir(dir)
            .output()
            .unwrap();
        let pid = String::from_utf8(out.stdout)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        Self(pid)
    }
}

impl Drop for ByHand {
    fn drop(&mut self) {
        let _ = kill(Pid::from_raw(self.0), NixSignal::SIGKILL);
    }
}

fn start_options(hygiene: Hygiene) -> StartOptions {
    StartOptions {
        hygiene,
        ..StartOptions::default()
    }
}

fn messages(rx: &mut mpsc::UnboundedReceiver<Progress>) -> Vec<String> {
    let mut out = Vec::new();
    while let Ok(p) = rx.try_recv() {
        out.push(format!("{} {}", p.unit, p.message.unwrap_or_default()));
    }
    out
}

#[tokio::test]
async fn strays_are_stopped_and_a_foreign_port_holds_back_its_service_and_dependants() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    let held = TcpListener::bind("0.0.0.0:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let p = project(&root, port);
    let stray = ByHand::spawn(&root.join("worker"), "sleep 3602");
    let other = ByHand::spawn(&root.join("worker"), "sleep 999");
    let engine = Engine::new(StateDir::for_project(&root));
    let (tx, mut rx) = mpsc::unbounded_channel();

    let outcome = engine
        .start(&p, &[], start_options(Hygiene::StopStrays), tx)
        .await;

    let failures: Vec<(String, String)> = outcome
        .failures
        .iter()
        .map(|f| {
            let f = f.to_wire();
            (f.unit, f.reason)
        })
        .collect();
    assert!(!outcome.is_ok());
    assert_eq!(failures.len(), 2, "{failures:?}");
    let me = std::process::id();
    assert_eq!(failures[0].0, "web");
    assert!(
        failures[0]
            .1
            .starts_with(&format!("port {port} is held by pid {me}: ")),
        "{failures:?}"
    );
    assert_eq!(
        failures[1],
        ("api".into(), "not started: dependency `web` failed".into())
    );
    assert_eq!(outcome.held_back, [name("api"), name("web")]);
    assert!(!running(stray.0), "the stray copy was stopped");
    assert!(
        running(other.0),
        "a different command in the folder is left alone"
    );
    let events = messages(&mut rx);
    let pid = stray.0;
    assert!(
        events.iter().any(|e| e.contains(&format!(
            "stray pid {pid} (sleep 3602): runs `sleep` of worker, stopping it"
        ))),
        "{events:?}"
    );
    assert!(
        events.contains(&format!("worker stray pid {pid} stopped")),
        "{events:?}"
    );
    // worker started; web and api show why they did not.
    let rows: BTreeMap<String, (ReplicaState, Option<String>)> = engine
        .status()
        .await
        .into_iter()
        .map(|r| (r.service, (r.state, r.reason)))
        .collect();
    assert_eq!(rows["worker"].0, ReplicaState::Running, "{rows:?}");
    assert_eq!(rows["web"].0, ReplicaState::Stopped, "{rows:?}");
    assert!(
        rows["web"]
            .1
            .as_deref()
            .is_some_and(|r| r.starts_with("port ")),
        "{rows:?}"
    );
    assert_eq!(
        rows["api"].1.as_deref(),
        Some("not started: dependency `web` failed")
    );
    engine.stop(&[], mpsc::unbounded_channel().0).await;
}

#[tokio::test]
async fn refusing_strays_starts_and_kills_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    let p = project(&root, 1);
    let stray = ByHand::spawn(&root.join("worker"), "sleep 3602");
    let engine = Engine::new(StateDir::for_project(&root));

    let outcome = engine
        .start(
            &p,
            &[name("worker")],
            start_options(Hygiene::RefuseStrays),
            mpsc::unbounded_channel().0,
        )
        .await;

    assert!(!outcome.is_ok());
    assert_eq!(outcome.failures.len(), 1, "{outcome:?}");
    let refused = &outcome.failures[0].to_wire();
    assert_eq!(refused.unit, "worker");
    assert!(
        refused.reason.contains("run without --keep-strays"),
        "{refused:?}"
    );
    assert_eq!(
        refused.log_tail,
        [format!(
            "pid {} (sleep 3602): runs `sleep` of worker",
            stray.0
        )]
    );
    assert_eq!(outcome.held_back, [name("worker")]);
    assert!(running(stray.0));
    assert!(engine.status().await.is_empty(), "nothing started");
}

#[tokio::test]
async fn what_this_process_spawned_is_never_a_stray() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    let p = project(&root, 1);
    let worker = name("worker");
    // Another engine of this process runs worker; a second engine, which does not
    // supervise that replica, must still take it for its own process's, not a stray.
    let first = Engine::new(StateDir::at(root.join(".first")));
    let started = first
        .start(
            &p,
            std::slice::from_ref(&worker),
            StartOptions::default(),
            mpsc::unbounded_channel().0,
        )
        .await;
    assert!(started.is_ok(), "{started:?}");
    let pid = first.status().await[0].pid.unwrap();
    let second = Engine::new(StateDir::at(root.join(".second")));

    let outcome = second
        .start(
            &p,
            &[worker],
            start_options(Hygiene::RefuseStrays),
            mpsc::unbounded_channel().0,
        )
        .await;

    assert!(outcome.is_ok(), "{outcome:?}");
    assert!(running(pid));
    second.stop(&[], mpsc::unbounded_channel().0).await;
    first.stop(&[], mpsc::unbounded_channel().0).await;
}
