//! The guard of a replica's job: a panic in the job's task never leaves its process
//! running unsupervised.
//!
//! The job's task is the only owner of the replica's process. Should it panic (a bug, or
//! a library that panics when the disk is full), the guard, which waits on the task, finds
//! the process in the last snapshot the task published, stops its whole tree, removes its
//! record and publishes the replica as crashed, with the panic as the reason.

use std::any::Any;

use orchestra_core::{ReplicaId, ReplicaState, StateDir};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::Snapshot;
use crate::event::{EventBus, FleetEvent};
use crate::records::ReplicaRecord;
use crate::stop::{StopPlan, stop_replica};

/// What the guard needs to clean up after a job.
pub(super) struct Guard {
    pub id: ReplicaId,
    pub state: StateDir,
    pub plan: StopPlan,
    pub publish: watch::Sender<Snapshot>,
    pub events: Option<EventBus>,
}

impl Guard {
    /// Waits for the job's task; after a panic, stops what it left running.
    pub(super) async fn watch(self, job: JoinHandle<()>) {
        let panic = match job.await {
            Ok(()) => return,
            // Cancelled: the runtime is shutting down, and the process outlives it as a
            // replica outlives a killed daemon, recorded, to be adopted.
            Err(e) if !e.is_panic() => return,
            Err(e) => e.into_panic(),
        };
        let reason = format!("its supervising task failed: {}", message(&*panic));
        tracing::error!(replica = %self.id, %reason, "stopping the replica");
        let running = self.publish.borrow().running.clone();
        if let Some(running) = running {
            let (_kill_tx, kill_rx) = watch::channel(false);
            if let Err(e) = stop_replica(running.as_ref(), self.plan, kill_rx).await {
                tracing::error!(replica = %self.id, error = %e, "stop failed");
            }
        }
        if let Err(e) = ReplicaRecord::remove(&self.state, &self.id) {
            tracing::warn!(replica = %self.id, error = %e, "cannot remove record");
        }
        let restarts = self.publish.borrow().restarts;
        self.publish.send_replace(Snapshot {
            state: ReplicaState::Crashed,
            running: None,
            restarts,
            started_at: None,
            reason: Some(reason.clone()),
            last_exit: None,
            gave_up_after: None,
        });
        if let Some(events) = &self.events {
            events.emit(FleetEvent::Crashed {
                replica: self.id,
                reason,
            });
        }
    }
}

/// The text a panic was raised with.
fn message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic")
}
