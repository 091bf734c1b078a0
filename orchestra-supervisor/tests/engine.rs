//! The fleet engine on real processes: dependency order, builds, idempotent starts,
//! scaling, stopping, restarting and adopting.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use common::{running, wait_until};
use orchestra_core::spec::{
    CommandSpec, Dependency, ProjectSpec, ReadyCheck, ReadyProbe, ServiceSpec,
};
use orchestra_core::{ProcessEnd, ProjectName, ReplicaState, ServiceName, StateDir};
use orchestra_supervisor::{Engine, Failed, StartOptions, read_records};
use tokio::sync::mpsc;

fn name(s: &str) -> ServiceName {
    ServiceName::new(s).unwrap()
}

fn service(root: &Path, n: &str, run: &str, deps: &[&str]) -> ServiceSpec {
    ServiceSpec {
        file: root.join(n).join("service.yml"),
        stop_timeout: Duration::from_secs(5),
        depends_on: deps.iter().map(|d| Dependency::Service(name(d))).collect(),
        ..ServiceSpec::command(name(n), root, CommandSpec::Shell(run.into()))
    }
}

fn project(root: &Path, services: Vec<ServiceSpec>) -> ProjectSpec {
    ProjectSpec {
        services: services.into_iter().map(|s| (s.name.clone(), s)).collect(),
        ..ProjectSpec::empty(ProjectName::new("test").unwrap(), root)
    }
}

fn events() -> mpsc::UnboundedSender<orchestra_core::protocol::Progress> {
    mpsc::unbounded_channel().0
}

async fn pids(engine: &Engine) -> BTreeMap<String, i32> {
    engine
        .status()
        .await
        .into_iter()
        .filter_map(|s| s.pid.map(|p| (format!("{}.{}", s.service, s.replica), p)))
        .collect()
}

#[tokio::test]
async fn dependencies_start_first_and_are_waited_for() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let log = root.join("order.txt");
    let mut db = service(
        root,
        "db",
        &format!(
            "sleep 0.4; echo db >> '{}'; touch db.ready; exec sleep 1000",
            log.display()
        ),
        &[],
    );
    db.ready = Some(ReadyProbe {
        check: ReadyCheck::Exec {
            command: CommandSpec::Shell("test -f db.ready".into()),
        },
        timeout: Duration::from_secs(10),
        interval: Duration::from_millis(50),
    });
    let mut api = service(
        root,
        "api",
        &format!("echo api >> '{}'; echo up; exec sleep 1000", log.display()),
        &["db"],
    );
    api.ready = Some(ReadyProbe {
        check: ReadyCheck::Log {
            regex: "^up$".into(),
        },
        timeout: Duration::from_secs(10),
        interval: Duration::from_millis(50),
    });
    let web = service(
        root,
        "web",
        &format!("echo web >> '{}'; exec sleep 1000", log.display()),
        &["api"],
    );
    let lone = service(root, "lone", "exec sleep 1000", &[]);
    let p = project(root, vec![db, api, web, lone]);
    let engine = Engine::new(StateDir::for_project(root));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let outcome = engine
        .start(&p, &[name("web")], StartOptions::default(), tx)
        .await;
    assert!(outcome.is_ok(), "{outcome:?}");
    // `web` has no probe: its line may come a moment after it counts as ready.
    wait_until(5, "web's line", || {
        std::fs::read_to_string(&log).is_ok_and(|s| s.lines().count() == 3)
    })
    .await;
    let order = std::fs::read_to_string(&log).unwrap();
    assert_eq!(order.lines().collect::<Vec<_>>(), ["db", "api", "web"]);
    let running_now: Vec<String> = pids(&engine).await.into_keys().collect();
    assert_eq!(
        running_now,
        ["api.0", "db.0", "web.0"],
        "`lone` was not asked for"
    );
    let mut phases = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        phases.push((ev.unit, ev.phase));
    }
    assert!(phases.contains(&("db".into(), orchestra_core::protocol::Phase::Ready)));

    assert!(!engine.is_idle().await);
    let all = pids(&engine).await;
    assert!(engine.stop(&[], events()).await.is_ok());
    for pid in all.values() {
        assert!(!running(*pid));
    }
    assert!(engine.is_idle().await);
    assert!(engine.status().await.is_empty());
    assert!(read_records(&StateDir::for_project(root)).is_empty());
}

#[tokio::test]
async fn a_failed_build_stops_the_service_and_its_dependants() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let mut lib = service(root, "lib", "exec sleep 1000", &[]);
    lib.build = Some(CommandSpec::Shell(
        "echo compiling lib; echo 'main.go:3: syntax error' >&2; exit 1".into(),
    ));
    let app = service(root, "app", "exec sleep 1000", &["lib"]);
    let p = project(root, vec![lib, app]);
    let state = StateDir::for_project(root);
    let engine = Engine::new(state.clone());
    let outcome = engine
        .start(&p, &[], StartOptions::default(), events())
        .await;
    assert!(!outcome.is_ok());
    let [lib_failure, app_failure] = &outcome.failures[..] else {
        panic!("{outcome:?}");
    };
    let Failed::BuildFailed {
        service,
        end,
        reason,
        log_tail,
    } = lib_failure
    else {
        panic!("{lib_failure:?}");
    };
    assert_eq!(
        (service.as_str(), *end, reason.as_str()),
        ("lib", Some(ProcessEnd::Exited(1)), "build failed (exit 1)")
    );
    assert_eq!(log_tail, &["compiling lib", "main.go:3: syntax error"]);
    assert_eq!(
        app_failure,
        &Failed::DependencyFailed {
            service: name("app"),
            dependency: name("lib")
        }
    );
    let app_failure = app_failure.to_wire();
    assert_eq!(app_failure.reason, "not started: dependency `lib` failed");
    // Nothing runs; both are listed as not started, with why.
    let rows = engine.status().await;
    let shown: Vec<_> = rows
        .iter()
        .map(|r| (r.service.as_str(), r.state, r.reason.as_deref(), r.pid))
        .collect();
    assert_eq!(
        shown,
        [
            (
                "app",
                ReplicaState::Stopped,
                Some(app_failure.reason.as_str()),
                None
            ),
            (
                "lib",
                ReplicaState::Stopped,
                Some("build failed (exit 1)"),
                None
            ),
        ]
    );
    let replica_log =
        std::fs::read_to_string(state.replica_log(&orchestra_core::ReplicaId::new(name("lib"), 0)))
            .unwrap();
    assert!(
        replica_log.contains("syntax error"),
        "build output also goes to the replica log"
    );

    // With --no-build the same service starts.
    let outcome = engine
        .start(
            &p,
            &[],
            StartOptions {
                no_build: true,
                ..StartOptions::default()
            },
            events(),
        )
        .await;
    assert!(outcome.is_ok(), "{outcome:?}");
    assert!(engine.stop(&[], events()).await.is_ok());
}

#[tokio::test]
async fn concurrent_starts_give_one_replica_per_service() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let mut svc = service(
        root,
        "one",
        "echo started >> starts.txt; exec sleep 1000",
        &[],
    );
    svc.build = Some(CommandSpec::Shell("echo built >> builds.txt".into()));
    let p = project(root, vec![svc]);
    let engine = Engine::new(StateDir::for_project(root));
    let (a, b) = tokio::join!(
        engine.start(&p, &[], StartOptions::default(), events()),
        engine.start(&p, &[], StartOptions::default(), events()),
    );
    assert!(a.is_ok() && b.is_ok());
    assert_eq!(engine.status().await.len(), 1);
    // No probe: "ready" as soon as spawned, so the file may come a moment later.
    // The shell creates the file before it writes the line: wait for the line itself.
    wait_until(5, "the start mark", || {
        std::fs::read_to_string(root.join("starts.txt")).is_ok_and(|s| s.ends_with('\n'))
    })
    .await;
    let starts = std::fs::read_to_string(root.join("starts.txt")).unwrap();
    assert_eq!(starts.lines().count(), 1);
    let builds = std::fs::read_to_string(root.join("builds.txt")).unwrap();
    assert_eq!(
        builds.lines().count(),
        1,
        "an unchanged running service is not rebuilt"
    );

    // A changed spec replaces the replica.
    let before = pids(&engine).await["one.0"];
    let mut changed = p.clone();
    changed
        .services
        .get_mut(&name("one"))
        .unwrap()
        .env
        .insert("NEW".into(), "1".into());
    assert!(
        engine
            .start(&changed, &[], StartOptions::default(), events())
            .await
            .is_ok()
    );
    let after = pids(&engine).await["one.0"];
    assert_ne!(before, after);
    assert!(!running(before));
    assert!(engine.stop(&[], events()).await.is_ok());
}

#[tokio::test]
async fn scale_up_and_down_from_the_highest_index() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let port = common::free_port();
    let mut svc = service(
        root,
        "web",
        "echo \"$ORCHESTRA_REPLICA:$PORT\" > \"port.$ORCHESTRA_REPLICA\"; exec sleep 1000",
        &[],
    );
    svc.port = Some(port);
    let p = project(root, vec![svc]);
    let engine = Engine::new(StateDir::for_project(root));
    assert!(
        engine
            .start(&p, &[], StartOptions::default(), events())
            .await
            .is_ok()
    );
    let scale = BTreeMap::from([(name("web"), 3)]);
    assert!(engine.scale(&p, &scale, events()).await.is_ok());
    let three = pids(&engine).await;
    assert_eq!(three.len(), 3);
    wait_until(5, "replica 2's port file", || {
        std::fs::read_to_string(root.join("port.2")).is_ok_and(|s| s.ends_with('\n'))
    })
    .await;
    let second = std::fs::read_to_string(root.join("port.2")).unwrap();
    assert_eq!(second.trim(), format!("2:{}", port + 2));

    let scale = BTreeMap::from([(name("web"), 1)]);
    assert!(engine.scale(&p, &scale, events()).await.is_ok());
    let one = pids(&engine).await;
    assert_eq!(one.keys().collect::<Vec<_>>(), ["web.0"]);
    assert_eq!(one["web.0"], three["web.0"], "replica 0 kept running");
    assert!(!running(three["web.1"]) && !running(three["web.2"]));
    assert_eq!(read_records(&StateDir::for_project(root)).len(), 1);
    assert!(engine.stop(&[], events()).await.is_ok());
}

#[test]
fn restart_replaces_and_a_new_engine_adopts_and_stops() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let p = project(&root, vec![service(&root, "svc", "exec sleep 1000", &[])]);
    let state = StateDir::for_project(&root);

    // The first engine runs in a runtime that is then dropped, as when a daemon dies: its
    // tasks vanish without stopping anything.
    let first_rt = tokio::runtime::Runtime::new().unwrap();
    let (after, first) = first_rt.block_on(async {
        let first = Engine::new(state.clone());
        assert!(
            first
                .start(&p, &[], StartOptions::default(), events())
                .await
                .is_ok()
        );
        let before = pids(&first).await["svc.0"];
        assert!(first.restart(&p, &[], events()).await.is_ok());
        let after = pids(&first).await["svc.0"];
        assert_ne!(before, after);
        assert!(!running(before));
        // Returned so that it outlives the runtime: dropping every handle of a replica
        // stops it, which is not what a crash does.
        (after, first)
    });
    drop(first_rt);
    drop(first);
    assert!(running(after), "the replica outlives its supervisor");

    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let second = Engine::new(state.clone());
        let adopted = second.adopt(&p).await;
        assert_eq!(adopted.len(), 1);
        let status = second.status().await;
        assert_eq!(status[0].pid, Some(after));
        assert_eq!(status[0].state, ReplicaState::Running);
        // Starting again with the same spec leaves the adopted replica alone.
        assert!(
            second
                .start(&p, &[], StartOptions::default(), events())
                .await
                .is_ok()
        );
        assert_eq!(pids(&second).await["svc.0"], after);
        assert!(second.stop(&[], events()).await.is_ok());
        assert!(!running(after));
        assert!(read_records(&state).is_empty());
    });
}
