//! The Unix backend, the stop ladder and records, on real processes.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::time::Duration;

use common::{exists, pids_with_cmdline, running, shell_replica, wait_until};
use orchestra_core::{ProcessEnd, ProcessIdentity, ReplicaState, Signal, StateDir};
use orchestra_supervisor::{
    IdentityExt, ReplicaRecord, StopPlan, Supervisor, UnixSupervisor, read_records,
    status_from_records, stop_from_records, stop_replica,
};
use tokio::sync::watch;

fn log_in(dir: &std::path::Path, name: &str) -> (std::path::PathBuf, std::fs::File) {
    let path = dir.join(name);
    let file = orchestra_core::paths::open_append(&path).unwrap();
    (path, file)
}

#[tokio::test]
async fn spawn_logs_and_stop_leaves_no_process_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let (log_path, log) = log_in(tmp.path(), "a.log");
    // A unique marker so this test finds exactly its own sleeps.
    let marker = format!("10{}", std::process::id() % 1000);
    let script = format!(
        "echo \"$GREETING from $(pwd)\"; echo oops >&2; sleep {marker}1 & sleep {marker}2 & wait"
    );
    let spec = shell_replica("tree", 0, tmp.path(), &script);
    let replica = UnixSupervisor.spawn(&spec, log).await.unwrap();
    let id = replica.identity().clone();
    assert_eq!(id.pgid, id.pid, "the replica leads its own group");
    wait_until(10, "both sleeps", || {
        pids_with_cmdline(&format!("sleep {marker}")).len() == 2
    })
    .await;
    let sleeps = pids_with_cmdline(&format!("sleep {marker}"));
    let stats = replica.stats().await;
    for pid in &sleeps {
        assert!(stats.pids.contains(pid), "{stats:?} lacks {pid}");
    }
    wait_until(5, "log lines", || {
        std::fs::read_to_string(&log_path).is_ok_and(|s| s.contains("oops"))
    })
    .await;
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        log.contains(&format!("hello from {}", tmp.path().display())),
        "{log}"
    );

    let (_tx, rx) = watch::channel(false);
    let plan = StopPlan {
        signal: Signal::TERM,
        timeout: Duration::from_secs(5),
    };
    let report = stop_replica(replica.as_ref(), plan, rx).await.unwrap();
    assert!(!report.killed, "SIGTERM was enough");
    assert_eq!(report.end, Some(ProcessEnd::Signalled(15)));
    for pid in sleeps.iter().chain([&id.pid]) {
        assert!(!running(*pid), "pid {pid} survived the stop");
    }
    assert!(!replica.alive().await);
}

#[tokio::test]
async fn a_process_ignoring_the_stop_signal_is_killed_after_the_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, log) = log_in(tmp.path(), "b.log");
    let spec = shell_replica(
        "stubborn",
        0,
        tmp.path(),
        "trap '' TERM; echo trapped; while :; do sleep 0.05; done",
    );
    let replica = UnixSupervisor.spawn(&spec, log).await.unwrap();
    wait_until(5, "trap installed", || {
        std::fs::read_to_string(tmp.path().join("b.log")).is_ok_and(|s| s.contains("trapped"))
    })
    .await;
    let (_tx, rx) = watch::channel(false);
    let plan = StopPlan {
        signal: Signal::TERM,
        timeout: Duration::from_millis(300),
    };
    let started = std::time::Instant::now();
    let report = stop_replica(replica.as_ref(), plan, rx).await.unwrap();
    assert!(report.killed);
    assert_eq!(report.end, Some(ProcessEnd::Signalled(9)));
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(!running(replica.identity().pid));
}

#[tokio::test]
async fn kill_now_jumps_the_grace_period() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, log) = log_in(tmp.path(), "c.log");
    let spec = shell_replica(
        "stubborn",
        1,
        tmp.path(),
        "trap 'echo termed' TERM; echo trapped; while :; do sleep 0.05; done",
    );
    let replica = UnixSupervisor.spawn(&spec, log).await.unwrap();
    wait_until(5, "trap installed", || {
        std::fs::read_to_string(tmp.path().join("c.log")).is_ok_and(|s| s.contains("trapped"))
    })
    .await;
    let (tx, rx) = watch::channel(false);
    let plan = StopPlan {
        signal: Signal::TERM,
        timeout: Duration::from_secs(60),
    };
    let started = std::time::Instant::now();
    let stopping = tokio::spawn({
        let replica = replica.clone();
        async move { stop_replica(replica.as_ref(), plan, rx).await }
    });
    // Once SIGTERM came (and was shrugged off), the stop is in its grace period.
    wait_until(5, "SIGTERM to be received", || {
        std::fs::read_to_string(tmp.path().join("c.log")).is_ok_and(|s| s.contains("termed"))
    })
    .await;
    tx.send(true).unwrap();
    let report = stopping.await.unwrap().unwrap();
    assert!(report.killed);
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn records_work_without_an_engine() {
    let tmp = tempfile::tempdir().unwrap();
    let state = StateDir::for_project(tmp.path());
    state.create().unwrap();
    let (_, log) = log_in(tmp.path(), "d.log");
    let spec = shell_replica("web", 0, tmp.path(), "sleep 1000 & wait");
    let replica = UnixSupervisor.spawn(&spec, log).await.unwrap();
    let record = ReplicaRecord {
        identity: replica.identity().clone(),
        instance: replica.instance().to_owned(),
        spec_hash: orchestra_supervisor::spec_hash(&spec),
        service: spec.id.service.clone(),
        replica: 0,
        port: None,
        started_at: 0,
        restarts: 2,
        stop_signal: Signal::TERM,
    };
    record.write(&state).unwrap();
    assert_eq!(read_records(&state), vec![record.clone()]);
    let status = status_from_records(&state);
    assert_eq!(status.len(), 1);
    assert_eq!(status[0].state, ReplicaState::Running);
    assert_eq!(status[0].pid, Some(record.identity.pid));
    assert_eq!(status[0].restarts, 2);
    // A process caught in the middle of its exec has no resident pages yet: wait for the
    // shell to be running.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while status_from_records(&state)[0].rss_bytes.unwrap_or(0) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the replica's memory is never reported"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let stopped = stop_from_records(&state, &[], Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(stopped, vec![record.id()]);
    assert!(read_records(&state).is_empty());
    wait_until(5, "the replica's end", || replica.end().is_some()).await;
    assert!(!replica.alive().await);
}

#[tokio::test]
async fn a_record_whose_pid_was_recycled_is_never_signalled() {
    let tmp = tempfile::tempdir().unwrap();
    let state = StateDir::for_project(tmp.path());
    state.create().unwrap();
    let mut bystander = std::process::Command::new("sleep")
        .arg("1000")
        .spawn()
        .unwrap();
    let pid = bystander.id() as i32;
    let real = ProcessIdentity::of(pid).unwrap();
    // The record claims this pid, but for a process that started at another time.
    let record = ReplicaRecord {
        identity: ProcessIdentity {
            start_time: real.start_time.saturating_sub(5),
            ..real
        },
        instance: "nobody-has-this".into(),
        spec_hash: String::new(),
        service: orchestra_core::ServiceName::new("ghost").unwrap(),
        replica: 0,
        port: None,
        started_at: 0,
        restarts: 0,
        stop_signal: Signal::TERM,
    };
    record.write(&state).unwrap();
    let status = status_from_records(&state);
    assert_eq!(status[0].state, ReplicaState::Crashed);
    assert_eq!(status[0].pid, None);
    let stopped = stop_from_records(&state, &[], Duration::ZERO)
        .await
        .unwrap();
    assert!(stopped.is_empty());
    assert!(running(pid), "an unrelated process was signalled");
    assert!(exists(pid));
    bystander.kill().unwrap();
    bystander.wait().unwrap();
}

#[tokio::test]
async fn a_replica_leads_a_process_group_in_the_spawners_session_at_a_lower_priority() {
    // Not a session of its own: with autogroup scheduling every session weighs as much as
    // the user's terminal, and a busy fleet of sessions starves it.
    let tmp = tempfile::tempdir().unwrap();
    let (_, log) = log_in(tmp.path(), "g.log");
    let spec = shell_replica("group", 0, tmp.path(), "exec sleep 30");
    let replica = UnixSupervisor.spawn(&spec, log).await.unwrap();
    let pid = nix::unistd::Pid::from_raw(replica.identity().pid);
    let session = nix::unistd::getsid(Some(pid)).unwrap();
    let group = nix::unistd::getpgid(Some(pid)).unwrap();
    let nice = |pid: &str| {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let fields: Vec<String> = stat[stat.rfind(')').unwrap() + 2..]
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        fields[16].parse::<i32>().unwrap()
    };
    let (theirs, ours) = (nice(&pid.to_string()), nice("thread-self"));
    let (_tx, rx) = watch::channel(false);
    let plan = StopPlan {
        signal: Signal::TERM,
        timeout: Duration::from_secs(5),
    };
    stop_replica(replica.as_ref(), plan, rx).await.unwrap();
    assert_eq!(group, pid, "the replica leads its own group");
    assert_eq!(
        session,
        nix::unistd::getsid(None).unwrap(),
        "and shares our session"
    );
    assert_eq!(
        theirs,
        (ours + orchestra_supervisor::FLEET_NICE).min(19),
        "and runs below our priority"
    );
}
