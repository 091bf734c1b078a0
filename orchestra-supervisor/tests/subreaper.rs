//! The child subreaper: a double-forked daemon is found, stopped and reaped.
//! (Its own test binary: becoming a subreaper changes the whole process.)
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::time::Duration;

use common::{exists, pids_with_cmdline, shell_replica, wait_until};
use orchestra_core::Signal;
use orchestra_supervisor::{StopPlan, Supervisor, UnixSupervisor, enable_subreaper, stop_replica};
use tokio::sync::watch;

fn ppid_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1.to_owned();
    after.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::test]
async fn a_double_forked_grandchild_is_stopped_and_leaves_no_zombie() {
    enable_subreaper().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let log = orchestra_core::paths::open_append(&tmp.path().join("d.log")).unwrap();
    let marker = format!("20{}", std::process::id() % 1000);
    // The subshell starts a daemon in a new session, then exits: the daemon is orphaned,
    // left the replica's session and group, and is reparented to us.
    let script = format!("(setsid sleep {marker}7 &); exec sleep {marker}8");
    let spec = shell_replica("daemonish", 0, tmp.path(), &script);
    let replica = UnixSupervisor.spawn(&spec, log).await.unwrap();
    let me = std::process::id() as i32;
    wait_until(10, "the daemon to be reparented to us", || {
        pids_with_cmdline(&format!("sleep {marker}7"))
            .first()
            .is_some_and(|&p| ppid_of(p) == Some(me))
    })
    .await;
    let daemon = pids_with_cmdline(&format!("sleep {marker}7"))[0];
    let main = replica.identity().pid;

    let (_tx, rx) = watch::channel(false);
    let plan = StopPlan {
        signal: Signal::TERM,
        timeout: Duration::from_secs(5),
    };
    stop_replica(replica.as_ref(), plan, rx).await.unwrap();
    // Gone entirely: not even a zombie, because the reaper collected it.
    wait_until(5, "the daemon to be reaped", || !exists(daemon)).await;
    wait_until(5, "the main process to be reaped", || !exists(main)).await;
}

#[tokio::test]
async fn orphans_of_a_shell_are_reaped_after_they_end() {
    enable_subreaper().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let log = orchestra_core::paths::open_append(&tmp.path().join("e.log")).unwrap();
    let marker = format!("30{}", std::process::id() % 1000);
    // The shell exits at once, leaving a short-lived orphan behind.
    let script = format!("(sleep 1.{marker} &); exit 0");
    let spec = shell_replica("orphans", 0, tmp.path(), &script);
    let replica = UnixSupervisor.spawn(&spec, log).await.unwrap();
    wait_until(5, "the orphan", || {
        !pids_with_cmdline(&format!("sleep 1.{marker}")).is_empty()
    })
    .await;
    let orphan = pids_with_cmdline(&format!("sleep 1.{marker}"))[0];
    assert_eq!(replica.wait().await, orchestra_core::ProcessEnd::Exited(0));
    // A zombie would still exist in /proc: the reaper must collect it.
    wait_until(10, "the orphan to end and be reaped", || !exists(orphan)).await;
    assert!(!exists(replica.identity().pid));
}
