//! The owner task of the fleet and the requests it carries out.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use orchestra_core::protocol::{Failure, Phase, Progress};
use orchestra_core::spec::ProjectSpec;
use orchestra_core::{ReplicaId, ServiceName, StateDir};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;

use super::build::{TAIL_LINES, build, tail};
use super::order::{order, service_deps, with_dependencies};
use super::{Outcome, Replicas, StartOptions, lock};
use crate::backend::Supervisor;
use crate::job::{JobConfig, ReplicaHandle};
use crate::records::{ReplicaRecord, read_records, spec_hash, stop_from_records};
use crate::unix::identity::{IdentityExt, Liveness};

/// Grace for replicas recorded but not supervised here, when stopping them.
const UNSUPERVISED_STOP_TIMEOUT: Duration = Duration::from_secs(10);

type Events = mpsc::UnboundedSender<Progress>;

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
struct Ctx {
    state: StateDir,
    backend: Arc<dyn Supervisor>,
    replicas: Replicas,
    events: Events,
}

impl Ctx {
    fn emit(
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
}

/// How a request brings services up.
#[derive(Clone)]
struct Plan {
    scale: BTreeMap<ServiceName, u32>,
    build: bool,
    replace: bool,
}

pub(super) struct Fleet {
    state: StateDir,
    backend: Arc<dyn Supervisor>,
    replicas: Replicas,
}

impl Fleet {
    pub(super) fn new(state: StateDir, backend: Arc<dyn Supervisor>, replicas: Replicas) -> Self {
        Self {
            state,
            backend,
            replicas,
        }
    }

    fn ctx(&self, events: Events) -> Ctx {
        Ctx {
            state: self.state.clone(),
            backend: self.backend.clone(),
            replicas: self.replicas.clone(),
            events,
        }
    }

    pub(super) async fn run(self, mut inbox: mpsc::UnboundedReceiver<Op>) {
        if let Err(e) = self.state.create() {
            tracing::warn!(error = %e, "cannot create the state folder");
        }
        while let Some(op) = inbox.recv().await {
            match op {
                Op::Adopt { project, reply } => {
                    let _ = reply.send(self.adopt(&project).await);
                }
                Op::Start {
                    project,
                    services,
                    opts,
                    events,
                    reply,
                } => {
                    let selected = selection(&project, &services);
                    let unknown = unknown(&project, &services);
                    let set = with_dependencies(&project, &selected);
                    let plan = Plan {
                        scale: opts.scale,
                        build: !opts.no_build,
                        replace: false,
                    };
                    let mut outcome = bring_up(self.ctx(events), project, set, plan).await;
                    prepend(&mut outcome, unknown);
                    let _ = reply.send(outcome);
                }
                Op::Restart {
                    project,
                    services,
                    events,
                    reply,
                } => {
                    let set = selection(&project, &services).into_iter().collect();
                    let plan = Plan {
                        scale: BTreeMap::new(),
                        build: true,
                        replace: true,
                    };
                    let mut outcome = bring_up(self.ctx(events), project.clone(), set, plan).await;
                    prepend(&mut outcome, unknown(&project, &services));
                    let _ = reply.send(outcome);
                }
                Op::Scale {
                    project,
                    scale,
                    events,
                    reply,
                } => {
                    let names: Vec<ServiceName> = scale.keys().cloned().collect();
                    let set = selection(&project, &names).into_iter().collect();
                    let plan = Plan {
                        scale,
                        build: false,
                        replace: false,
                    };
                    let mut outcome = bring_up(self.ctx(events), project.clone(), set, plan).await;
                    prepend(&mut outcome, unknown(&project, &names));
                    let _ = reply.send(outcome);
                }
                Op::Stop {
                    services,
                    events,
                    reply,
                } => {
                    let _ = reply.send(self.stop(&services, events).await);
                }
            }
        }
    }

    async fn adopt(&self, project: &ProjectSpec) -> Vec<ReplicaId> {
        let mut adopted = Vec::new();
        for record in read_records(&self.state) {
            let id = record.id();
            if lock(&self.replicas).contains_key(&id) {
                continue;
            }
            let Some(service) = project.services.get(&record.service) else {
                continue;
            };
            if record.identity.liveness() != Liveness::Alive {
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
            };
            let handle = ReplicaHandle::adopt(
                self.backend.clone(),
                config,
                running,
                record.started_at,
                None,
            );
            lock(&self.replicas).insert(id.clone(), handle.clone());
            // Adopted replicas count as ready; this only waits for the job to say so.
            let _ = handle.wait_ready().await;
            tracing::info!(replica = %id, pid = record.identity.pid, "adopted");
            adopted.push(id);
        }
        adopted
    }

    async fn stop(&self, services: &[ServiceName], events: Events) -> Outcome {
        let ctx = self.ctx(events);
        let targets: Vec<ReplicaHandle> = lock(&self.replicas)
            .values()
            .filter(|h| services.is_empty() || services.contains(&h.id().service))
            .cloned()
            .collect();
        stop_all(&ctx, targets).await;
        // Replicas recorded but not supervised here (never adopted) are stopped too.
        let mut failures = Vec::new();
        if let Err(e) = stop_from_records(&self.state, services, UNSUPERVISED_STOP_TIMEOUT).await {
            failures.push(Failure {
                unit: "orchestra".into(),
                reason: e.to_string(),
                log_tail: Vec::new(),
            });
        }
        Outcome::from_failures(failures)
    }
}

/// The project services named (all when none are), ignoring unknown names.
fn selection(project: &ProjectSpec, services: &[ServiceName]) -> Vec<ServiceName> {
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

fn unknown(project: &ProjectSpec, services: &[ServiceName]) -> Vec<Failure> {
    services
        .iter()
        .filter(|s| !project.services.contains_key(*s))
        .map(|s| Failure {
            unit: s.to_string(),
            reason: "no such service".into(),
            log_tail: Vec::new(),
        })
        .collect()
}

fn prepend(outcome: &mut Outcome, mut failures: Vec<Failure>) {
    if !failures.is_empty() {
        failures.append(&mut outcome.failures);
        outcome.failures = failures;
        outcome.ok = false;
    }
}

/// Stops replicas in parallel and forgets them.
async fn stop_all(ctx: &Ctx, handles: Vec<ReplicaHandle>) {
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

/// Brings `services` up in dependency order, independent ones in parallel.
async fn bring_up(
    ctx: Ctx,
    project: Arc<ProjectSpec>,
    services: BTreeSet<ServiceName>,
    plan: Plan,
) -> Outcome {
    let (ordered, cyclic) = order(&project, &services);
    let mut failures: Vec<Failure> = cyclic
        .iter()
        .map(|s| Failure {
            unit: s.to_string(),
            reason: "not started: dependency cycle".into(),
            log_tail: Vec::new(),
        })
        .collect();
    let mut gates: HashMap<ServiceName, watch::Receiver<Option<bool>>> = HashMap::new();
    let mut tasks = JoinSet::new();
    for name in ordered {
        let deps: Vec<(ServiceName, watch::Receiver<Option<bool>>)> = service_deps(&project, &name)
            .filter_map(|d| gates.get(d).map(|rx| (d.clone(), rx.clone())))
            .collect();
        let (gate, rx) = watch::channel(None);
        gates.insert(name.clone(), rx);
        tasks.spawn(service_up(
            ctx.clone(),
            project.clone(),
            name,
            deps,
            plan.clone(),
            gate,
        ));
    }
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(mut f) => failures.append(&mut f),
            Err(e) => failures.push(Failure {
                unit: "orchestra".into(),
                reason: format!("internal error: {e}"),
                log_tail: Vec::new(),
            }),
        }
    }
    Outcome::from_failures(failures)
}

/// Brings one service up once its dependencies are ready; opens its gate with the result.
async fn service_up(
    ctx: Ctx,
    project: Arc<ProjectSpec>,
    name: ServiceName,
    deps: Vec<(ServiceName, watch::Receiver<Option<bool>>)>,
    plan: Plan,
    gate: watch::Sender<Option<bool>>,
) -> Vec<Failure> {
    for (dep, mut rx) in deps {
        let ok = rx
            .wait_for(Option::is_some)
            .await
            .is_ok_and(|v| *v == Some(true));
        if !ok {
            gate.send_replace(Some(false));
            return vec![Failure {
                unit: name.to_string(),
                reason: format!("not started: dependency `{dep}` failed"),
                log_tail: Vec::new(),
            }];
        }
    }
    let failures = replicas_up(&ctx, &project, &name, &plan).await;
    gate.send_replace(Some(failures.is_empty()));
    failures
}

async fn replicas_up(
    ctx: &Ctx,
    project: &ProjectSpec,
    name: &ServiceName,
    plan: &Plan,
) -> Vec<Failure> {
    let Some(service) = project.services.get(name) else {
        return Vec::new();
    };
    let scale = plan.scale.get(name).copied().unwrap_or(service.scale);
    let existing: BTreeMap<u32, ReplicaHandle> = lock(&ctx.replicas)
        .iter()
        .filter(|(id, _)| &id.service == name)
        .map(|(id, h)| (id.index, h.clone()))
        .collect();
    let wanted: Vec<(u32, String)> = (0..scale)
        .map(|i| (i, spec_hash(&service.replica(i))))
        .collect();
    let to_start: Vec<u32> = wanted
        .iter()
        .filter(|(i, hash)| {
            plan.replace
                || existing
                    .get(i)
                    .is_none_or(|h| h.state().is_final() || h.spec_hash() != hash)
        })
        .map(|(i, _)| *i)
        .collect();
    if !to_start.is_empty() && plan.build && service.build.is_some() {
        ctx.emit(name, None, Phase::Building, None);
        if let Err(failure) = build(service, &ctx.state).await {
            ctx.emit(name, None, Phase::BuildFailed, Some(failure.reason.clone()));
            return vec![failure];
        }
        ctx.emit(name, None, Phase::Built, None);
    }
    // Surplus replicas stop from the highest index down; replaced ones stop first.
    let surplus: Vec<ReplicaHandle> = existing
        .range(scale..)
        .rev()
        .map(|(_, h)| h.clone())
        .collect();
    for h in surplus {
        stop_all(ctx, vec![h]).await;
    }
    let replaced: Vec<ReplicaHandle> = to_start
        .iter()
        .filter_map(|i| existing.get(i).cloned())
        .collect();
    stop_all(ctx, replaced).await;
    for &(index, ref hash) in &wanted {
        if !to_start.contains(&index) {
            continue;
        }
        let spec = service.replica(index);
        let config = JobConfig {
            spec,
            restart: service.restart,
            backoff: service.backoff,
            state: ctx.state.clone(),
            spec_hash: hash.clone(),
            restarts: 0,
        };
        let handle = ReplicaHandle::start(ctx.backend.clone(), config, None);
        lock(&ctx.replicas).insert(handle.id().clone(), handle);
        ctx.emit(name, Some(index), Phase::Starting, None);
    }
    let handles: Vec<ReplicaHandle> = {
        let replicas = lock(&ctx.replicas);
        (0..scale)
            .filter_map(|i| replicas.get(&ReplicaId::new(name.clone(), i)).cloned())
            .collect()
    };
    let mut failures = Vec::new();
    for h in handles {
        let id = h.id().clone();
        match h.wait_ready().await {
            Ok(()) => {
                let pid = h.snapshot().running.map(|r| r.identity().pid);
                ctx.emit(
                    name,
                    Some(id.index),
                    Phase::Ready,
                    pid.map(|p| format!("pid {p}")),
                );
            }
            Err(reason) => {
                ctx.emit(name, Some(id.index), Phase::Failed, Some(reason.clone()));
                failures.push(Failure {
                    unit: name.to_string(),
                    reason: format!("{id}: {reason}"),
                    log_tail: tail(&ctx.state.replica_log(&id), TAIL_LINES),
                });
            }
        }
    }
    failures
}
