//! Replica jobs on real processes: readiness probes, restarts, backoff, stop.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{free_port, running, shell_replica, wait_until};
use orchestra_core::policy::{BackoffPolicy, RestartPolicy};
use orchestra_core::spec::{CommandSpec, ReadyCheck, ReadyProbe, ReplicaSpec};
use orchestra_core::{ReplicaState, StateDir};
use orchestra_supervisor::{
    JobConfig, LogOpener, ReplicaHandle, UnixSupervisor, read_records, spec_hash,
};

struct Fixture {
    _tmp: tempfile::TempDir,
    dir: std::path::PathBuf,
    state: StateDir,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let state = StateDir::for_project(&dir);
    state.create().unwrap();
    Fixture {
        _tmp: tmp,
        dir,
        state,
    }
}

fn job(
    f: &Fixture,
    spec: ReplicaSpec,
    restart: RestartPolicy,
    backoff: BackoffPolicy,
) -> ReplicaHandle {
    let config = JobConfig {
        spec_hash: spec_hash(&spec),
        spec,
        restart,
        backoff,
        state: f.state.clone(),
        restarts: 0,
        log_opener: LogOpener::default(),
        deadline: None,
    };
    ReplicaHandle::start(Arc::new(UnixSupervisor), config, None)
}

fn probe(check: ReadyCheck, timeout_ms: u64) -> ReadyProbe {
    ReadyProbe {
        check,
        timeout: Duration::from_millis(timeout_ms),
        interval: Duration::from_millis(50),
    }
}

const LISTENER: &str = "exec python3 -c 'import os,socket,time\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ntime.sleep(0.3)\ns.bind((\"127.0.0.1\",int(os.environ[\"PORT\"])))\ns.listen()\ntime.sleep(1000)'";

async fn ready_then_stopped(f: &Fixture, handle: &ReplicaHandle) {
    handle.wait_ready().await.unwrap();
    assert_eq!(handle.state(), ReplicaState::Running);
    let records = read_records(&f.state);
    assert_eq!(records.len(), 1, "one record while it runs");
    let pid = handle.status().await.pid.unwrap();
    assert_eq!(handle.stop().await, ReplicaState::Stopped);
    assert!(!running(pid));
    assert!(read_records(&f.state).is_empty(), "the record is removed");
}

#[tokio::test]
async fn tcp_probe_waits_for_the_listener_and_ps_shows_the_port() {
    let f = fixture();
    let port = free_port();
    let mut spec = shell_replica("tcp", 0, &f.dir, LISTENER);
    spec.env.insert("PORT".into(), port.to_string());
    spec.ready = Some(probe(
        ReadyCheck::Tcp {
            host: "127.0.0.1".into(),
            port: port.to_string(),
        },
        10_000,
    ));
    let handle = job(&f, spec, RestartPolicy::OnFailure, BackoffPolicy::default());
    handle.wait_ready().await.unwrap();
    let status = handle.status().await;
    assert_eq!(status.ports, vec![port]);
    assert!(status.rss_bytes.unwrap() > 0);
    ready_then_stopped(&f, &handle).await;
}

#[tokio::test]
async fn http_probe_passes_on_a_2xx_answer() {
    let f = fixture();
    let port = free_port();
    let spec_cmd = "exec python3 -m http.server \"$PORT\" --bind 127.0.0.1";
    let mut spec = shell_replica("http", 0, &f.dir, spec_cmd);
    spec.env.insert("PORT".into(), port.to_string());
    spec.ready = Some(probe(
        ReadyCheck::Http {
            url: format!("http://127.0.0.1:{port}/"),
        },
        10_000,
    ));
    let handle = job(&f, spec, RestartPolicy::OnFailure, BackoffPolicy::default());
    ready_then_stopped(&f, &handle).await;
}

#[tokio::test]
async fn exec_probe_runs_in_the_replica_dir_with_its_env() {
    let f = fixture();
    let mut spec = shell_replica(
        "exec",
        0,
        &f.dir,
        "sleep 0.3; touch \"$GREETING.flag\"; exec sleep 1000",
    );
    spec.ready = Some(probe(
        ReadyCheck::Exec {
            command: CommandSpec::Shell("test -f \"$GREETING.flag\"".into()),
        },
        10_000,
    ));
    let handle = job(&f, spec, RestartPolicy::OnFailure, BackoffPolicy::default());
    ready_then_stopped(&f, &handle).await;
}

#[tokio::test]
async fn log_probe_matches_a_line_written_after_spawn() {
    let f = fixture();
    // An old matching line in the log must not count.
    let log = f.state.replica_log(&orchestra_core::ReplicaId::new(
        orchestra_core::ServiceName::new("log").unwrap(),
        0,
    ));
    std::fs::write(&log, "server listening (old run)\n").unwrap();
    let mut spec = shell_replica(
        "log",
        0,
        &f.dir,
        "echo booting; sleep 0.3; echo 'server listening on 1'; exec sleep 1000",
    );
    spec.ready = Some(probe(
        ReadyCheck::Log {
            regex: "listening on \\d".into(),
        },
        10_000,
    ));
    let handle = job(&f, spec, RestartPolicy::OnFailure, BackoffPolicy::default());
    assert_eq!(handle.state(), ReplicaState::Starting);
    ready_then_stopped(&f, &handle).await;
}

#[tokio::test]
async fn a_replica_that_never_gets_ready_is_crashed_and_stopped() {
    let f = fixture();
    let port = free_port();
    let mut spec = shell_replica("deaf", 0, &f.dir, "exec sleep 1000");
    spec.ready = Some(probe(
        ReadyCheck::Tcp {
            host: "127.0.0.1".into(),
            port: port.to_string(),
        },
        500,
    ));
    let handle = job(&f, spec, RestartPolicy::Always, BackoffPolicy::default());
    wait_until(10, "a pid", || handle.snapshot().running.is_some()).await;
    let pid = handle.snapshot().running.unwrap().identity().pid;
    let reason = handle.wait_ready().await.unwrap_err();
    assert!(
        reason.starts_with("not ready after 500ms: cannot connect to 127.0.0.1:"),
        "{reason}"
    );
    assert_eq!(handle.wait_final().await, ReplicaState::Crashed);
    assert!(!running(pid));
    assert!(read_records(&f.state).is_empty());
}

#[tokio::test]
async fn a_killed_replica_comes_back_with_a_new_pid() {
    let f = fixture();
    let spec = shell_replica("phoenix", 0, &f.dir, "exec sleep 1000");
    let handle = job(&f, spec, RestartPolicy::OnFailure, BackoffPolicy::default());
    handle.wait_ready().await.unwrap();
    let first = handle.status().await.pid.unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(first),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    wait_until(10, "a new pid", || {
        let snap = handle.snapshot();
        snap.state == ReplicaState::Running
            && snap.running.is_some_and(|r| r.identity().pid != first)
    })
    .await;
    let status = handle.status().await;
    assert_eq!(status.restarts, 1);
    assert_eq!(read_records(&f.state)[0].identity.pid, status.pid.unwrap());
    assert_eq!(read_records(&f.state)[0].restarts, 1);
    assert_eq!(handle.stop().await, ReplicaState::Stopped);
}

#[tokio::test]
async fn a_crash_loop_backs_off_then_is_crashed() {
    let f = fixture();
    let counter = f.dir.join("runs");
    let script = format!("echo run >> '{}'; exit 3", counter.display());
    let spec = shell_replica("crashy", 0, &f.dir, &script);
    let backoff = BackoffPolicy {
        initial: Duration::from_millis(100),
        max: Duration::from_secs(30),
        reset_after: Duration::from_secs(10),
        max_restarts: Some(4),
    };
    let started = std::time::Instant::now();
    let handle = job(&f, spec, RestartPolicy::OnFailure, backoff);
    let mut saw_backoff = false;
    while !handle.state().is_final() {
        saw_backoff |= handle.state() == ReplicaState::Backoff;
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(started.elapsed() < Duration::from_secs(20), "never gave up");
    }
    assert!(saw_backoff);
    assert_eq!(handle.state(), ReplicaState::Crashed);
    // 100 + 200 + 400 + 800 ms of backoff: it did not spin.
    assert!(started.elapsed() >= Duration::from_millis(1500));
    let runs = std::fs::read_to_string(&counter).unwrap().lines().count();
    assert_eq!(runs, 5, "the first run and four restarts");
    let status = handle.status().await;
    assert_eq!(status.restarts, 4);
    let reason = status.reason.unwrap();
    assert!(reason.contains("exited with code 3"), "{reason}");
}

#[tokio::test]
async fn a_clean_exit_with_on_failure_is_exited() {
    let f = fixture();
    let spec = shell_replica("oneshot", 0, &f.dir, "exit 0");
    let handle = job(&f, spec, RestartPolicy::OnFailure, BackoffPolicy::default());
    assert_eq!(handle.wait_final().await, ReplicaState::Exited);
    assert_eq!(handle.status().await.restarts, 0);
}

#[tokio::test]
async fn a_run_past_its_deadline_is_stopped_whole_and_given_up_on() {
    let f = fixture();
    let spec = shell_replica(
        "migrate",
        0,
        &f.dir,
        "sleep 1000 & echo $! > child.pid; wait",
    );
    let config = JobConfig {
        spec_hash: spec_hash(&spec),
        spec,
        restart: RestartPolicy::Never,
        backoff: BackoffPolicy::default(),
        state: f.state.clone(),
        restarts: 0,
        log_opener: LogOpener::default(),
        deadline: Some(Duration::from_secs(1)),
    };
    let handle = ReplicaHandle::start(Arc::new(UnixSupervisor), config, None);
    assert_eq!(handle.wait_final().await, ReplicaState::Crashed);
    let reason = handle.status().await.reason.unwrap();
    assert_eq!(reason, "still running after its timeout of 1s; stopped");
    let child: i32 = std::fs::read_to_string(f.dir.join("child.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(!running(child), "the task's child outlived its timeout");
    assert!(read_records(&f.state).is_empty(), "its record is gone");
}
