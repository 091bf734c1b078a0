//! The owner task of the fleet and the requests it carries out.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use orchestra_core::protocol::{Phase, Progress};
use orchestra_core::spec::ProjectSpec;
use orchestra_core::{ReplicaId, ServiceName, Signal, StateDir};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinSet;

use super::hygiene::Held;
use super::order::{levels, task_dependencies, with_dependencies};
use super::pending::Pending;
use super::up::{Plan, bring_up};
use super::{
    Failed, Outcome, Replicas, Scaled, SharedOpener, StartOptions, lock, lock_scaled, planned,
};
use crate::backend::Supervisor;
use crate::event::{EventBus, FleetEvent};
use crate::job::{JobConfig, LogOpener, ReplicaHandle};
use crate::records::{ReplicaRecord, read_records, stop_from_records, stop_unreadable};
use crate::unix::identity::{IdentityExt, Liveness};
use crate::unix::orphans;

/// Grace for replicas recorded but not supervised here, when stopping them.
const UNSUPERVISED_STOP_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) type Events = mpsc::UnboundedSender<Progress>;

/// Completes when a start is to be given up.
pub(super) type Cancelled = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

pub(super) enum Op {
    Adopt {
        project: Arc<ProjectSpec>,
        reply: oneshot::Sender<Vec<ReplicaId>>,
    },
    Start {
        project: Arc<ProjectSpec>,
        services: Vec<ServiceName>,
        opts: StartOptions,
        events: Events,
        cancelled: Cancelled,
        reply: oneshot::Sender<Outcome>,
    },
    Stop {
        services: Vec<ServiceName>,
        events: Events,
        reply: oneshot::Sender<Outcome>,
    },
    Restart {
        project: Arc<ProjectSpec>,
        services: Vec<ServiceName>,
        /// Build first (a rerun has built already).
        build: bool,
        events: Events,
        reply: oneshot::Sender<Outcome>,
    },
    Scale {
        project: Arc<ProjectSpec>,
        scale: BTreeMap<ServiceName, u32>,
        events: Events,
        reply: oneshot::Sender<Outcome>,
    },
}

/// What every service task of a request shares.
#[derive(Clone)]
pub(super) struct Ctx {
    pub state: StateDir,
    pub backend: Arc<dyn Supervisor>,
    pub replicas: Replicas,
    pub events: Events,
    pub log_opener: LogOpener,
    /// Bounds the builds running at once (one per core).
    pub builds: Arc<Semaphore>,
    /// The replicas this request launched, to stop if it is cancelled.
    pub launched: Arc<std::sync::Mutex<Vec<ReplicaHandle>>>,
    /// Services not started yet, and why, for `ps`.
    pub pending: Pending,
    /// The fleet's event stream.
    pub bus: EventBus,
}

impl Ctx {
    pub fn emit(
        &self,
        unit: &ServiceName,
        replica: Option<u32>,
        phase: Phase,
        message: Option<String>,
    ) {
        let _ = self.events.send(Progress {
            unit: unit.to_string(),
            replica,
            phase,
            message,
        });
    }

    /// Emits `event` into the fleet's event stream.
    pub fn publish(&self, event: FleetEvent) {
        self.bus.emit(event);
    }
}

pub(super) struct Fleet {
    state: StateDir,
    backend: Arc<dyn Supervisor>,
    replicas: Replicas,
    scaled: Scaled,
    log_opener: SharedOpener,
    builds: Arc<Semaphore>,
    pending: Pending,
    bus: EventBus,
    /// The project of the latest request that brought one: its dependencies order a stop.
    project: Option<Arc<ProjectSpec>>,
}

impl Fleet {
    pub(super) fn new(
        state: StateDir,
        backend: Arc<dyn Supervisor>,
        (replicas, scaled): (Replicas, Scaled),
        log_opener: SharedOpener,
        (pending, bus): (Pending, EventBus),
    ) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Self {
            state,
            backend,
            replicas,
            scaled,
            log_opener,
            builds: Arc::new(Semaphore::new(cores)),
            pending,
            bus,
            project: None,
        }
    }

    fn log_opener(&self) -> LogOpener {
        self.log_opener
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub(super) fn ctx(&self, events: Events) -> Ctx {
        Ctx {
            state: self.state.clone(),
            backend: self.backend.clone(),
            replicas: self.replicas.clone(),
            events,
            log_opener: self.log_opener(),
            builds: self.builds.clone(),
            launched: Arc::default(),
            pending: self.pending.clone(),
            bus: self.bus.clone(),
        }
    }

    pub(super) async fn run(mut self, mut inbox: mpsc::UnboundedReceiver<Op>) {
        if let Err(e) = self.state.create() {
            tracing::warn!(error = %e, "cannot create the state folder");
        }
        while let Some(op) = inbox.recv().await {
            match &op {
                Op::Adopt { project, .. }
                | Op::Start { project, .. }
                | Op::Restart { project, .. }
                | Op::Scale { project, .. } => self.project = Some(project.clone()),
                Op::Stop { .. } => {}
            }
            match op {
                Op::Adopt { project, reply } => {
                    let _ = reply.send(self.adopt(&project).await);
                }
                Op::Start {
                    project,
                    services,
                    opts,
                    events,
                    cancelled,
                    reply,
                } => {
                    let outcome = self
                        .start(project, &services, opts, events, cancelled)
                        .await;
                    let _ = reply.send(outcome);
                }
                Op::Restart {
                    project,
                    services,
                    build,
                    events,
                    reply,
                } => {
                    let counts = match self.plan(&project, &BTreeMap::new()) {
                        Ok(counts) => counts,
                        Err(refused) => {
                            let _ = reply.send(refused);
                            continue;
                        }
                    };
                    let replace: BTreeSet<ServiceName> =
                        selection(&project, &services).into_iter().collect();
                    // A task the restarted services need and that has not succeeded yet
                    // runs first; one that has is left alone.
                    let mut set = task_dependencies(&project, &replace);
                    set.extend(replace.iter().cloned());
                    let plan = Plan {
                        scale: counts,
                        build,
                        replace,
                        keep_live: false,
                    };
                    let mut outcome =
                        bring_up(self.ctx(events), project.clone(), set, plan, Held::new()).await;
                    prepend(&mut outcome, unknown(&project, &services));
                    let _ = reply.send(outcome);
                }
                Op::Scale {
                    project,
                    scale,
                    events,
                    reply,
                } => {
                    let counts = match self.plan(&project, &scale) {
                        Ok(counts) => counts,
                        Err(refused) => {
                            let _ = reply.send(refused);
                            continue;
                        }
                    };
                    let names: Vec<ServiceName> = scale.keys().cloned().collect();
                    // What a scaled service depends on starts first, as for a start.
                    let set = with_dependencies(&project, &selection(&project, &names));
                    let plan = Plan {
                        scale: counts,
                        build: false,
                        replace: BTreeSet::new(),
                        keep_live: true,
                    };
                    let mut outcome =
                        bring_up(self.ctx(events), project.clone(), set, plan, Held::new()).await;
                    prepend(&mut outcome, unknown(&project, &names));
                    let _ = reply.send(outcome);
                }
                Op::Stop {
                    services,
                    events,
                    reply,
                } => {
                    self.forget_counts(&services);
                    let _ = reply.send(self.stop(&services, events).await);
                }
            }
        }
    }

    /// The counts of a request asking for `scale`, remembered as the fleet's runtime
    /// counts when the fleet's ports take them; a refusal otherwise.
    fn plan(
        &self,
        project: &ProjectSpec,
        scale: &BTreeMap<ServiceName, u32>,
    ) -> Result<BTreeMap<ServiceName, u32>, Outcome> {
        let counts = self.check_plan(project, scale)?;
        self.remember_counts(scale);
        Ok(counts)
    }

    /// The counts of a request asking for `scale`, when the fleet's ports take them.
    pub(super) fn check_plan(
        &self,
        project: &ProjectSpec,
        scale: &BTreeMap<ServiceName, u32>,
    ) -> Result<BTreeMap<ServiceName, u32>, Outcome> {
        planned(project, &lock_scaled(&self.scaled), scale).map_err(Outcome::refused)
    }

    /// Remembers `scale` as the fleet's runtime counts.
    pub(super) fn remember_counts(&self, scale: &BTreeMap<ServiceName, u32>) {
        lock_scaled(&self.scaled).extend(scale.iter().map(|(k, v)| (k.clone(), *v)));
    }

    /// Stopped services (all when none are named) follow their files again.
    fn forget_counts(&self, services: &[ServiceName]) {
        let mut scaled = lock_scaled(&self.scaled);
        if services.is_empty() {
            scaled.clear();
        } else {
            scaled.retain(|name, _| !services.contains(name));
        }
    }

    /// After an adoption, a service running another count than its file's was scaled by
    /// the daemon that died: its count holds here too.
    fn remember_adopted_counts(&self, project: &ProjectSpec) {
        let mut counts: BTreeMap<ServiceName, u32> = BTreeMap::new();
        for id in lock(&self.replicas).keys() {
            let count = counts.entry(id.service.clone()).or_default();
            *count = (*count).max(id.index + 1);
        }
        let mut scaled = lock_scaled(&self.scaled);
        for (name, count) in counts {
            if project
                .services
                .get(&name)
                .is_some_and(|s| s.scale != count)
            {
                scaled.entry(name).or_insert(count);
            }
        }
    }

    async fn adopt(&self, project: &ProjectSpec) -> Vec<ReplicaId> {
        match stop_unreadable(&self.state, UNSUPERVISED_STOP_TIMEOUT).await {
            Ok(stopped) if !stopped.is_empty() => {
                tracing::warn!(?stopped, "stopped replicas whose records were unreadable");
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "cannot stop replicas whose records are unreadable");
            }
        }
        let mut adopted = Vec::new();
        for record in read_records(&self.state) {
            let id = record.id();
            if lock(&self.replicas).contains_key(&id) {
                continue;
            }
            let Some(service) = project.services.get(&record.service) else {
                continue;
            };
            if matches!(
                record.identity.liveness(),
                Liveness::Gone | Liveness::Zombie
            ) {
                let _ = ReplicaRecord::remove(&self.state, &id);
                continue;
            }
            let Some(running) = self.backend.adopt(&record.identity, &record.instance).await else {
                continue;
            };
            let config = JobConfig {
                spec: service.replica(record.replica),
                restart: service.restart,
                backoff: service.backoff,
                state: self.state.clone(),
                // The recorded hash: a changed spec is replaced by the next start.
                spec_hash: record.spec_hash.clone(),
                restarts: record.restarts,
                log_opener: self.log_opener(),
                deadline: service.task.map(|t| t.timeout),
            };
            let handle = ReplicaHandle::adopt(
                self.backend.clone(),
                config,
                running,
                record.started_at,
                Some(self.bus.clone()),
            );
            lock(&self.replicas).insert(id.clone(), handle.clone());
            // Adopted replicas count as ready; this only waits for the job to say so.
            let _ = handle.wait_ready().await;
            tracing::info!(replica = %id, pid = record.identity.pid, "adopted");
            adopted.push(id);
        }
        if !adopted.is_empty() {
            self.remember_adopted_counts(project);
        }
        adopted
    }

    /// Stops dependants before their dependencies: level by level from the top of the
    /// dependency graph, each level in parallel.
    async fn stop(&self, services: &[ServiceName], events: Events) -> Outcome {
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

/// The project services named (all when none are), ignoring unknown names.
pub(super) fn selection(project: &ProjectSpec, services: &[ServiceName]) -> Vec<ServiceName> {
    if services.is_empty() {
        project.services.keys().cloned().collect()
    } else {
        services
            .iter()
            .filter(|s| project.services.contains_key(*s))
            .cloned()
            .collect()
    }
}

pub(super) fn unknown(project: &ProjectSpec, services: &[ServiceName]) -> Vec<Failed> {
    services
        .iter()
        .filter(|s| !project.services.contains_key(*s))
        .map(|s| Failed::UnknownService { service: s.clone() })
        .collect()
}

pub(super) fn prepend(outcome: &mut Outcome, mut failures: Vec<Failed>) {
    failures.append(&mut outcome.failures);
    outcome.failures = failures;
}

/// Gives up a start whose bring-up was just dropped (which killed its builds): stops the
/// replicas it launched that are still in the fleet.
pub(super) async fn cancel_start(ctx: &Ctx) -> Outcome {
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
pub(super) async fn stop_all(ctx: &Ctx, handles: Vec<ReplicaHandle>) {
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
