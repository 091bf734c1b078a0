//! Stopping: the fleet's replicas level by level from the top of the dependency graph,
//! those recorded but not supervised here, the processes that escaped their trees, and
//! what a cancelled start had launched.

use std::collections::BTreeSet;

use orchestra_core::protocol::{Phase, Progress};
use orchestra_core::{ServiceName, Signal};
use tokio::task::JoinSet;

use super::super::order::levels;
use super::super::{Failed, Outcome, lock};
use super::{Ctx, Events, Fleet, UNSUPERVISED_STOP_TIMEOUT};
use crate::job::ReplicaHandle;
use crate::records::stop_from_records;
use crate::unix::orphans;

impl Fleet {
    /// Stops dependants before their dependencies: level by level from the top of the
    /// dependency graph, each level in parallel.
    pub(super) async fn stop(&self, services: &[ServiceName], events: Events) -> Outcome {
        let ctx = self.ctx(events);
        self.pending.release_all(services);
        let targets: Vec<ReplicaHandle> = lock(&self.replicas)
            .values()
            .filter(|h| services.is_empty() || services.contains(&h.id().service))
            .cloned()
            .collect();
        let names: BTreeSet<ServiceName> = targets.iter().map(|h| h.id().service.clone()).collect();
        let levels = match &self.project {
            Some(project) => levels(project, &names),
            None => vec![names.into_iter().collect()],
        };
        for level in levels.iter().rev() {
            let batch: Vec<ReplicaHandle> = targets
                .iter()
                .filter(|h| level.contains(&h.id().service))
                .cloned()
                .collect();
            stop_all(&ctx, batch).await;
        }
        // Replicas recorded but not supervised here (never adopted) are stopped too.
        let mut failures = Vec::new();
        if let Err(e) = stop_from_records(&self.state, services, UNSUPERVISED_STOP_TIMEOUT).await {
            failures.push(Failed::Stop {
                reason: orchestra_core::chain::error_chain(&e),
            });
        }
        if services.is_empty() {
            failures.extend(stop_escapees(&ctx).await);
        }
        Outcome::from_failures(failures)
    }
}

/// Stops the processes that escaped their replicas' trees and were reparented to this
/// process (see [`crate::unix::orphans`]): they belong to the fleet that is stopping.
async fn stop_escapees(ctx: &Ctx) -> Option<Failed> {
    let (orphans, error) = orphans::stop_orphans(Signal::TERM, UNSUPERVISED_STOP_TIMEOUT).await;
    for orphan in orphans {
        let _ = ctx.events.send(Progress {
            unit: format!("pid {}", orphan.identity.pid),
            replica: None,
            phase: Phase::Stopped,
            message: Some(format!("{}: escaped from a replica", orphan.command)),
        });
    }
    error.map(|e| Failed::Stop {
        reason: orchestra_core::chain::error_chain(&e),
    })
}

/// Gives up a start whose bring-up was just dropped (which killed its builds): stops the
/// replicas it launched that are still in the fleet.
pub(in crate::engine) async fn cancel_start(ctx: &Ctx) -> Outcome {
    let launched: Vec<ReplicaHandle> = std::mem::take(
        &mut *ctx
            .launched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    let still: Vec<ReplicaHandle> = {
        let fleet = lock(&ctx.replicas);
        launched
            .into_iter()
            .filter(|h| fleet.get(h.id()).is_some_and(|f| f.same_job(h)))
            .collect()
    };
    stop_all(ctx, still).await;
    ctx.pending.release_waiting();
    Outcome::from_failures(vec![Failed::Cancelled])
}

/// Stops replicas in parallel and forgets them.
pub(in crate::engine) async fn stop_all(ctx: &Ctx, handles: Vec<ReplicaHandle>) {
    let mut set = JoinSet::new();
    for h in handles {
        let ctx = ctx.clone();
        set.spawn(async move {
            let id = h.id().clone();
            if !h.state().is_final() {
                ctx.emit(&id.service, Some(id.index), Phase::Stopping, None);
            }
            h.stop().await;
            lock(&ctx.replicas).remove(&id);
            ctx.emit(&id.service, Some(id.index), Phase::Stopped, None);
        });
    }
    while set.join_next().await.is_some() {}
}
