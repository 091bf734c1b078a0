//! Running a task (`task: true`): one replica that runs to completion. Its dependants wait
//! for its exit 0, not for a probe, so a migration has finished before the service that
//! needs it starts.
//!
//! A task that already succeeded in this fleet, with the same spec, is not run again when
//! a dependant starts or restarts; `orchestra restart <task>` (and a rerun on change) runs
//! it on demand. A task that fails (a non-zero exit, a signal, its timeout) fails the
//! request with its exit status and the end of its log, and keeps its dependants from
//! starting.

use orchestra_core::protocol::Phase;
use orchestra_core::spec::ServiceSpec;
use orchestra_core::{ReplicaId, ReplicaState};

use super::super::build::{TAIL_LINES, tail};
use super::super::fleet::{Ctx, stop_all};
use super::super::{Failed, lock};
use super::{Plan, start_replica, to_start};
use crate::job::ReplicaHandle;

/// Runs `service` (a task) unless it already succeeded with this spec, and waits until it
/// has finished; a failure when it did not exit 0.
pub(super) async fn task_up(ctx: &Ctx, service: &ServiceSpec, plan: &Plan) -> Vec<Failed> {
    let id = ReplicaId::new(service.name.clone(), 0);
    let existing = lock(&ctx.replicas).get(&id).cloned();
    let handle = match existing {
        Some(h) if to_start(ctx, service, 1, plan).is_empty() => {
            if h.state() == ReplicaState::Exited {
                let message = format!(
                    "finished before; `orchestra restart {}` runs it again",
                    service.name
                );
                ctx.emit(&service.name, Some(0), Phase::Exited, Some(message));
                return Vec::new();
            }
            // Still running from an earlier request (adopted after a daemon restart).
            h
        }
        previous => {
            stop_all(ctx, previous.into_iter().collect()).await;
            start_replica(ctx, service, 0)
        }
    };
    finished(ctx, &handle).await.into_iter().collect()
}

/// Waits until the task's run is over: `None` when it exited 0, else why it failed.
async fn finished(ctx: &Ctx, h: &ReplicaHandle) -> Option<Failed> {
    let id = h.id();
    let state = h.wait_final().await;
    if state == ReplicaState::Exited {
        ctx.emit(&id.service, Some(id.index), Phase::Exited, None);
        return None;
    }
    let why = match (state, h.snapshot().reason) {
        (ReplicaState::Stopped, _) => "stopped before it finished".to_owned(),
        (_, Some(reason)) => reason,
        (state, None) => state.to_string(),
    };
    ctx.emit(
        &id.service,
        Some(id.index),
        Phase::Crashed,
        Some(why.clone()),
    );
    Some(Failed::TaskFailed {
        replica: id.clone(),
        reason: why,
        log_tail: tail(&ctx.state.replica_log(id), TAIL_LINES),
    })
}
