//! The child subreaper and its orphan reaper (Linux).
//!
//! As a subreaper, this process inherits every orphan of its descendants — the real binary
//! under `go run`, a daemon that double-forked — so they stay findable and stoppable instead
//! of escaping to init. Inherited orphans are our children, so when they die they must be
//! reaped by us, or they stay zombies.
//!
//! Reaping must not steal a status that tokio is waiting for. `waitpid(-1)` would, and
//! `waitid(P_ALL, WNOWAIT)` only ever reports the first waitable child, which may be one
//! of tokio's, hiding the others behind it. So the reaper lists our children from
//! `/proc/self/task/*/children` and reaps, one pid at a time with `waitpid(pid, WNOHANG)`,
//! those that are zombies, are not registered as owned (see `owned.rs`: spawning and
//! reaping hold the same lock), and are in another process group than ours — the
//! children the rest of this program spawns share our group and are left to whoever
//! spawned them, while every replica leads a group of its own.
//! It runs on every SIGCHLD. Signals coalesce, but none is lost for good: a child that
//! dies after a pass raises a new one, and an orphan that is already a zombie when it is
//! reparented to us raises one too. A pass every `BACKSTOP` (30 s) covers the unforeseen, and
//! one every second stands in for SIGCHLD if it cannot be listened for.

use std::sync::Once;
use std::time::Duration;

use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::Pid;
use tokio::signal::unix::{SignalKind, signal};

use super::owned::Owned;
use crate::error::SupervisorError;
use crate::strays::proc;

/// How often orphans are looked for without a SIGCHLD. An idle daemon wakes for nothing
/// else, so this is its whole idle cost.
const BACKSTOP: Duration = Duration::from_secs(30);

/// Makes this process the child subreaper of its descendants and starts the orphan reaper
/// (once, on a thread of its own with a small runtime, so it outlives whichever runtime
/// the caller uses). Call it early: the daemon and `--attach` do. Calling it again is
/// harmless.
pub fn enable_subreaper() -> Result<(), SupervisorError> {
    nix::sys::prctl::set_child_subreaper(true).map_err(SupervisorError::Subreaper)?;
    super::orphans::became_subreaper();
    static STARTED: Once = Once::new();
    STARTED.call_once(|| {
        let started = std::thread::Builder::new()
            .name("orchestra-reaper".into())
            .spawn(|| {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt.block_on(reaper()),
                    Err(e) => tracing::error!(error = %e, "cannot start the orphan reaper"),
                }
            });
        if let Err(e) = started {
            tracing::error!(error = %e, "cannot start the orphan reaper");
        }
    });
    Ok(())
}

async fn reaper() {
    let mut sigchld = match signal(SignalKind::child()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGCHLD; reaping orphans once a second");
            None
        }
    };
    let every = if sigchld.is_some() {
        BACKSTOP
    } else {
        Duration::from_secs(1)
    };
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        match sigchld.as_mut() {
            Some(s) => {
                tokio::select! {
                    _ = s.recv() => {}
                    _ = tick.tick() => {}
                }
            }
            None => {
                tick.tick().await;
            }
        }
        let reaped = reap_orphans();
        if reaped > 0 {
            tracing::debug!(reaped, "reaped orphaned descendants");
        }
    }
}

/// Reaps every dead inherited orphan now; returns how many.
pub fn reap_orphans() -> usize {
    let me = std::process::id() as i32;
    let Some(my_group) = group_of(me) else {
        return 0;
    };
    let owned = Owned::lock();
    let mut reaped = 0;
    for pid in children_of_self() {
        if owned.contains(pid) {
            continue;
        }
        let Some(stat) = proc::stat(pid) else {
            continue;
        };
        if stat.ppid != me || stat.state != 'Z' || stat.pgrp == my_group {
            continue;
        }
        if waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG)).is_ok() {
            reaped += 1;
        }
    }
    reaped
}

/// The process group of `pid`.
pub(crate) fn group_of(pid: i32) -> Option<i32> {
    proc::stat(pid).map(|s| s.pgrp)
}

/// Our children, from every thread's `children` file (an orphan is reparented to one of
/// our threads, any of them).
pub(crate) fn children_of_self() -> Vec<i32> {
    let mut pids = Vec::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return pids;
    };
    for task in tasks.flatten() {
        if let Ok(s) = std::fs::read_to_string(task.path().join("children")) {
            pids.extend(s.split_whitespace().filter_map(|p| p.parse::<i32>().ok()));
        }
    }
    pids.sort_unstable();
    pids.dedup();
    pids
}
