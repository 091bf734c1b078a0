//! The owner task of the fleet and the requests it carries out; adopting a previous
//! daemon's replicas and stopping are in [`adopt`] and [`stopping`].

mod adopt;
mod stopping;

pub(super) use stopping::{cancel_start, stop_all};

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use orchestra_core::protocol::{Phase, Progress};
use orchestra_core::spec::ProjectSpec;
use orchestra_core::{ReplicaId, ServiceName, StateDir};
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::hygiene::Held;
use super::order::{task_dependencies, with_dependencies};
use super::pending::Pending;
use super::up::{Plan, bring_up};
use super::{Failed, Outcome, Replicas, Scaled, SharedOpener, StartOptions, lock_scaled, planned};
use crate::backend::Supervisor;
use crate::event::{EventBus, FleetEvent};
use crate::job::{LogOpener, ReplicaHandle};

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
