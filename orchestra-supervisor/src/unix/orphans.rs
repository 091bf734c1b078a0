//! Processes that escaped their replica's tree and were reparented to this subreaper.
//!
//! A replica's tree is found through its process group, its parent links and its
//! `ORCHESTRA_INSTANCE` token. A grandchild that calls `setsid`, changes to `/` and execs
//! with an empty environment breaks every one of those links as soon as its parent exits
//! — but, this process being the child subreaper, the kernel then makes it our child. So
//! whatever is our child, was not spawned by us (the owned registry says so) and is not in
//! our process group (where the rest of this program's children are) came from the fleet:
//! it belongs to it, and is stopped with it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use orchestra_core::{ProcessIdentity, Signal};
use tokio::sync::watch;

use super::UnixReplica;
use super::owned::Owned;
use crate::backend::RunningReplica;
use crate::stop::{StopPlan, stop_replica};
use crate::strays::proc;

/// Set once this process became a child subreaper: only then are its unexpected children
/// orphans of the fleet (a program that is not one may have children of its own).
static SUBREAPER: AtomicBool = AtomicBool::new(false);

/// Records that this process is a child subreaper.
pub(crate) fn became_subreaper() {
    SUBREAPER.store(true, Ordering::SeqCst);
}

/// An escaped process: who it is and its command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orphan {
    /// The process.
    pub identity: ProcessIdentity,
    /// Its arguments joined by spaces.
    pub command: String,
}

/// The live orphans reparented to this process, when it is a child subreaper.
pub fn orphans() -> Vec<Orphan> {
    if !SUBREAPER.load(Ordering::SeqCst) {
        return Vec::new();
    }
    let me = std::process::id() as i32;
    let Some(my_group) = super::subreaper::group_of(me) else {
        return Vec::new();
    };
    let owned = Owned::lock();
    super::subreaper::children_of_self()
        .into_iter()
        .filter(|&pid| !owned.contains(pid))
        .filter_map(|pid| {
            let stat = proc::stat(pid)?;
            let orphan = stat.ppid == me && stat.pgrp != my_group && !stat.is_zombie();
            orphan.then(|| Orphan {
                identity: stat.identity(pid),
                command: proc::shown(&proc::argv(pid)),
            })
        })
        .collect()
}

/// Stops every orphan (and what it started since) with `signal`, then SIGKILL after
/// `timeout`, all at once. Returns the orphans found, and the first error of a stop.
pub async fn stop_orphans(
    signal: Signal,
    timeout: Duration,
) -> (Vec<Orphan>, Option<crate::SupervisorError>) {
    let found = orphans();
    let mut stops = tokio::task::JoinSet::new();
    for orphan in &found {
        let tree: Arc<dyn RunningReplica> = Arc::new(UnixReplica::leftovers(
            orphan.identity.clone(),
            String::new(),
        ));
        stops.spawn(async move {
            let (_kill_tx, kill_rx) = watch::channel(false);
            stop_replica(tree.as_ref(), StopPlan { signal, timeout }, kill_rx).await
        });
    }
    let mut first_error = None;
    while let Some(joined) = stops.join_next().await {
        if let Ok(Err(e)) = joined {
            first_error.get_or_insert(e);
        }
    }
    if !found.is_empty() {
        tracing::info!(
            count = found.len(),
            "stopped orphans reparented to the daemon"
        );
    }
    (found, first_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_that_is_not_a_subreaper_has_no_orphans() {
        // Its own children in other groups are not the fleet's.
        let mut child = std::process::Command::new("setsid")
            .args(["sleep", "30"])
            .spawn()
            .unwrap();
        let none = orphans();
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(none.is_empty(), "{none:?}");
    }
}
