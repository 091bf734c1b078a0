//! The engine's event stream and the replica restart verb, on real processes: what a
//! subscriber sees when replicas start, become ready, crash, are restarted by policy or by
//! hand, are given up on, and when builds pass or fail.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::{running, wait_until};
use orchestra_core::policy::{BackoffPolicy, RestartPolicy};
use orchestra_core::spec::{
    CommandSpec, Dependency, ProjectSpec, ReadyCheck, ReadyProbe, ServiceSpec,
};
use orchestra_core::{ProcessEnd, ProjectName, ReplicaId, ReplicaState, ServiceName, StateDir};
use orchestra_supervisor::{Engine, FleetEvent, StartOptions, Started, Subscription};
use tokio::sync::mpsc;

fn name(s: &str) -> ServiceName {
    ServiceName::new(s).unwrap()
}

fn service(root: &Path, n: &str, run: &str) -> ServiceSpec {
    ServiceSpec {
        stop_timeout: Duration::from_secs(5),
        backoff: BackoffPolicy {
            initial: Duration::from_millis(50),
            max: Duration::from_millis(200),
            reset_after: Duration::from_secs(10),
            max_restarts: Some(2),
        },
        ..ServiceSpec::command(name(n), root, CommandSpec::Shell(run.into()))
    }
}

fn project(root: &Path, services: Vec<ServiceSpec>) -> ProjectSpec {
    ProjectSpec {
        services: services.into_iter().map(|s| (s.name.clone(), s)).collect(),
        ..ProjectSpec::empty(ProjectName::new("test").unwrap(), root)
    }
}

fn progress() -> mpsc::UnboundedSender<orchestra_core::protocol::Progress> {
    mpsc::unbounded_channel().0
}

/// Reads events until one matches `until` (returned with all before it), within 20 s.
async fn read_until(
    events: &mut Subscription,
    what: &str,
    until: impl Fn(&FleetEvent) -> bool,
) -> Vec<FleetEvent> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let next = tokio::time::timeout_at(deadline, events.recv()).await;
        let Ok(Some(Ok(event))) = next else {
            panic!("no {what} in {seen:#?} (then: {next:?})");
        };
        let done = until(&event);
        seen.push(event);
        if done {
            return seen;
        }
    }
}

fn id(service: &str, index: u32) -> ReplicaId {
    ReplicaId::new(name(service), index)
}

#[tokio::test]
async fn a_crashing_replica_reports_each_exit_restart_and_the_give_up() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let mut flaky = service(root, "flaky", "sleep 0.1; exit 3");
    flaky.restart = RestartPolicy::OnFailure;
    let p = project(root, vec![flaky]);
    let engine = Engine::new(StateDir::for_project(root));
    let mut events = engine.subscribe();
    let outcome = engine
        .start(&p, &[], StartOptions::default(), progress())
        .await;
    // No probe: ready once spawned, so the start succeeds before the first crash.
    assert!(outcome.is_ok(), "{outcome:?}");

    let seen = read_until(&mut events, "give-up", |e| {
        matches!(e, FleetEvent::GaveUp { .. })
    })
    .await;
    let lines: Vec<String> = seen
        .iter()
        .map(|e| match e {
            // Pids and run times differ from run to run.
            FleetEvent::Started {
                replica, restarts, ..
            } => format!("{replica} started, restarts {restarts}"),
            FleetEvent::Ready { replica, .. } => format!("{replica} ready"),
            FleetEvent::Exited {
                replica, end, ran, ..
            } => {
                assert!(*ran >= Duration::from_millis(100), "{ran:?}");
                format!("{replica} {end}")
            }
            other => other.to_string(),
        })
        .collect();
    assert_eq!(
        lines,
        [
            "flaky.0 started, restarts 0",
            "flaky.0 ready",
            "flaky.0 exited with code 3",
            "flaky.0 restarting in 50ms (restart 1)",
            "flaky.0 started, restarts 1",
            "flaky.0 ready",
            "flaky.0 exited with code 3",
            "flaky.0 restarting in 100ms (restart 2)",
            "flaky.0 started, restarts 2",
            "flaky.0 ready",
            "flaky.0 exited with code 3",
            "flaky.0 gave up after 2 restarts in a row: exited with code 3",
        ]
    );
    // The pid of each start is the process that ran: the one `ps` showed.
    let status = engine.status().await;
    assert_eq!(status[0].state, ReplicaState::Crashed);
    assert!(engine.stop(&[], progress()).await.is_ok());
}

#[tokio::test]
async fn a_killed_replica_exits_by_signal_and_a_stop_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let mut web = service(root, "web", "echo up; exec sleep 1000");
    web.restart = RestartPolicy::Always;
    web.ready = Some(ReadyProbe {
        check: ReadyCheck::Log {
            regex: "^up$".into(),
        },
        timeout: Duration::from_secs(10),
        interval: Duration::from_millis(50),
    });
    let p = project(root, vec![web]);
    let engine = Engine::new(StateDir::for_project(root));
    let mut events = engine.subscribe();
    assert!(
        engine
            .start(&p, &[], StartOptions::default(), progress())
            .await
            .is_ok()
    );
    let seen = read_until(&mut events, "ready", |e| {
        matches!(e, FleetEvent::Ready { .. })
    })
    .await;
    let FleetEvent::Started { pid, .. } = seen[0] else {
        panic!("{seen:?}");
    };
    assert_eq!(engine.status().await[0].pid, Some(pid));

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let seen = read_until(&mut events, "the second ready", |e| {
        matches!(e, FleetEvent::Ready { .. })
    })
    .await;
    assert!(
        matches!(
            &seen[0],
            FleetEvent::Exited { replica, end: ProcessEnd::Signalled(9), .. } if *replica == id("web", 0)
        ),
        "{seen:?}"
    );
    assert!(
        matches!(seen[1], FleetEvent::Restarting { attempt: 1, .. }),
        "{seen:?}"
    );
    let FleetEvent::Started { pid: second, .. } = seen[2] else {
        panic!("{seen:?}");
    };
    assert_ne!(second, pid);

    assert!(engine.stop(&[], progress()).await.is_ok());
    let seen = read_until(&mut events, "stopped", |e| {
        matches!(e, FleetEvent::Stopped { .. })
    })
    .await;
    assert_eq!(
        seen,
        [
            FleetEvent::Stopping {
                replica: id("web", 0)
            },
            FleetEvent::Stopped {
                replica: id("web", 0)
            },
        ]
    );
    assert!(!running(second));
}

#[tokio::test]
async fn builds_report_success_and_failure_and_the_dependant_not_started() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let mut good = service(root, "good", "exec sleep 1000");
    good.build = Some(CommandSpec::Shell("true".into()));
    let mut bad = service(root, "bad", "exec sleep 1000");
    bad.build = Some(CommandSpec::Shell("echo oops >&2; exit 2".into()));
    let mut app = service(root, "app", "exec sleep 1000");
    app.depends_on = vec![Dependency::Service(name("bad"))];
    let p = project(root, vec![good, bad, app]);
    let engine = Engine::new(StateDir::for_project(root));
    let mut events = engine.subscribe();
    let outcome = engine
        .start(&p, &[], StartOptions::default(), progress())
        .await;
    assert!(!outcome.is_ok());
    let mut seen = Vec::new();
    while let Some(Ok(event)) = events.try_recv() {
        seen.push(event);
    }
    let of = |service: &str| -> Vec<String> {
        seen.iter()
            .filter(|e| e.service().as_str() == service)
            .map(|e| match e {
                FleetEvent::BuildSucceeded { service, .. } => format!("{service} built"),
                FleetEvent::Started { replica, .. } => format!("{replica} started"),
                FleetEvent::Ready { replica, .. } => format!("{replica} ready"),
                other => other.to_string(),
            })
            .collect()
    };
    assert_eq!(
        of("good"),
        [
            "good building",
            "good built",
            "good.0 started",
            "good.0 ready"
        ]
    );
    assert_eq!(of("bad"), ["bad building", "bad build failed (exit 2)"]);
    let app = of("app");
    assert_eq!(
        app.last().map(String::as_str),
        Some("app not started: dependency `bad` failed"),
        "{app:?}"
    );
    assert!(engine.stop(&[], progress()).await.is_ok());
}

#[tokio::test]
async fn a_replica_restarted_by_hand_runs_again_at_once_even_after_it_crashed() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    // Runs until the file `crash` exists, then exits 1; `never` restart.
    let script = "while [ ! -e crash ]; do sleep 0.05; done; rm crash; exit 1";
    let mut once = service(root, "once", script);
    once.restart = RestartPolicy::Never;
    let p = project(root, vec![once]);
    let engine = Engine::new(StateDir::for_project(root));
    let mut events = engine.subscribe();
    assert!(
        engine
            .start(&p, &[], StartOptions::default(), progress())
            .await
            .is_ok()
    );
    let handle = engine.replica(&id("once", 0)).unwrap();
    let first = engine.status().await[0].pid.unwrap();

    // Restarting a running replica stops it and starts a new process at once.
    let Started::Ready(snapshot) = handle.restart().await else {
        panic!("not restarted");
    };
    let second = snapshot.running.unwrap().identity().pid;
    assert_ne!(first, second);
    assert!(!running(first));
    assert_eq!(snapshot.restarts, 1);
    let seen = read_until(
        &mut events,
        "the restart's ready",
        |e| matches!(e, FleetEvent::Ready { pid, .. } if *pid == second),
    )
    .await;
    let kinds: Vec<&str> = seen
        .iter()
        .map(|e| match e {
            FleetEvent::Started { .. } => "started",
            FleetEvent::Ready { .. } => "ready",
            FleetEvent::Stopping { .. } => "stopping",
            FleetEvent::Stopped { .. } => "stopped",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds[kinds.len() - 4..],
        ["stopping", "stopped", "started", "ready"]
    );

    // A crashed replica (its policy gives up at once) comes back by hand.
    std::fs::write(root.join("crash"), "").unwrap();
    read_until(&mut events, "the crash", |e| {
        matches!(e, FleetEvent::Crashed { .. })
    })
    .await;
    wait_until(5, "crashed", || handle.state() == ReplicaState::Crashed).await;
    let Started::Ready(snapshot) = handle.restart().await else {
        panic!("not restarted");
    };
    assert_eq!(snapshot.restarts, 2);
    assert_eq!(engine.status().await[0].state, ReplicaState::Running);

    // A stopped replica stays stopped.
    assert!(engine.stop(&[], progress()).await.is_ok());
    let Started::Ended(snapshot) = handle.restart().await else {
        panic!("a stopped replica came back");
    };
    assert_eq!(snapshot.state, ReplicaState::Stopped);
    assert!(engine.status().await.is_empty());
}
