//! Bringing services up: every build at once (bounded by the cores), then starts in
//! dependency order, independent services in parallel.
//!
//! Each service has a task and a gate (a watch channel) that opens with its result once its
//! replicas are ready or have failed. A task builds right away, since a build needs nothing
//! from the dependencies, then waits for its dependencies' gates before starting replicas:
//! a fleet of Go services compiles in parallel while the first ones start.
//!
//! A dependency opens its gate once its replicas are ready: when its probe passed, or as
//! soon as they are spawned when it has no `ready` probe. A task (see `task`) opens it when
//! it has exited 0 instead.
//!
//! A replacement (restart, rerun, changed spec) happens only once the build passed, so a
//! failed build never stops anything. Live replicas of a scaled service are replaced one at
//! a time (see `roll`), so the service keeps a ready replica throughout.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use orchestra_core::protocol::Phase;
use orchestra_core::spec::{ProjectSpec, ServiceSpec};
use orchestra_core::{ReplicaId, ReplicaState, ServiceName};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::build::{TAIL_LINES, build, tail};
use super::fleet::{Ctx, stop_all};
use super::hygiene::Held;
use super::lock;
use super::order::{order, service_deps};
use super::{Failed, Outcome};
use crate::event::FleetEvent;
use crate::job::{JobConfig, ReplicaHandle, Snapshot, Started};
use crate::records::spec_hash;
use roll::{roll, rolls};
use task::task_up;

mod roll;
mod task;

/// How a request brings services up.
#[derive(Clone)]
pub(super) struct Plan {
    /// Replica counts overriding the services' `scale`.
    pub scale: BTreeMap<ServiceName, u32>,
    /// Run builds.
    pub build: bool,
    /// Services whose replicas are replaced even when their spec did not change (those a
    /// restart names).
    pub replace: BTreeSet<ServiceName>,
    /// Leave live replicas alone even when their spec changed: a scale changes counts only.
    pub keep_live: bool,
}

type Gate = watch::Receiver<Option<bool>>;

/// Brings `services` up in dependency order, independent ones in parallel. The services
/// in `held` (held back by the start's hygiene) fail with their reason, and what depends
/// on them with the cascade's, before anything is built ([`Outcome::held_back`]).
pub(super) async fn bring_up(
    ctx: Ctx,
    project: Arc<ProjectSpec>,
    services: BTreeSet<ServiceName>,
    plan: Plan,
    held: Held,
) -> Outcome {
    let (ordered, cyclic) = order(&project, &services);
    let mut failures: Vec<Failed> = cyclic
        .iter()
        .map(|s| Failed::DependencyCycle { service: s.clone() })
        .collect();
    let mut held_back: BTreeSet<ServiceName> = BTreeSet::new();
    let mut gates: HashMap<ServiceName, Gate> = HashMap::new();
    let mut tasks = JoinSet::new();
    for name in ordered {
        // Dependencies come first in `ordered`: a held-back one is known by now.
        let replicas = project
            .services
            .get(&name)
            .map_or(1, |s| replicas(s, &plan));
        if let Some(failure) = held.get(&name) {
            not_started(&ctx, &name, replicas, failure.to_string());
            failures.push(failure.clone());
            held_back.insert(name);
            continue;
        }
        let failed_dep = service_deps(&project, &name)
            .find(|d| held_back.contains(*d))
            .cloned();
        if let Some(dep) = failed_dep {
            failures.push(dependency_failed(&ctx, &name, &dep, replicas));
            held_back.insert(name);
            continue;
        }
        let deps: Vec<(ServiceName, Gate)> = service_deps(&project, &name)
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
            Err(e) => failures.push(Failed::Internal {
                reason: e.to_string(),
            }),
        }
    }
    Outcome {
        held_back: held_back.into_iter().collect(),
        ..Outcome::from_failures(failures)
    }
}

/// The number of replicas `service` runs under `plan`: a task has one, whatever a
/// `--scale` says.
fn replicas(service: &ServiceSpec, plan: &Plan) -> u32 {
    if service.is_task() {
        1
    } else {
        plan.scale
            .get(&service.name)
            .copied()
            .unwrap_or(service.scale)
    }
}

/// `name` is not started because `dep` failed or was held back: the one cascade of a
/// failure to the dependants, shown by `status` until the next start or stop.
fn dependency_failed(ctx: &Ctx, name: &ServiceName, dep: &ServiceName, replicas: u32) -> Failed {
    let failure = Failed::DependencyFailed {
        service: name.clone(),
        dependency: dep.clone(),
    };
    not_started(ctx, name, replicas, failure.to_string());
    failure
}

/// `name` will not start, for `reason`: `status` and the event stream say so.
fn not_started(ctx: &Ctx, name: &ServiceName, replicas: u32, reason: String) {
    ctx.pending.not_started(name, replicas, reason.clone());
    ctx.publish(FleetEvent::NotStarted {
        service: name.clone(),
        reason,
    });
}

/// Builds one service, waits for its dependencies, starts its replicas; opens its gate
/// with the result.
async fn service_up(
    ctx: Ctx,
    project: Arc<ProjectSpec>,
    name: ServiceName,
    deps: Vec<(ServiceName, Gate)>,
    plan: Plan,
    gate: watch::Sender<Option<bool>>,
) -> Vec<Failed> {
    let Some(service) = project.services.get(&name) else {
        gate.send_replace(Some(true));
        return Vec::new();
    };
    let scale = replicas(service, &plan);
    let needs_build =
        plan.build && service.build.is_some() && !to_start(&ctx, service, scale, &plan).is_empty();
    if needs_build {
        // Held for the build only; a closed semaphore never happens (it lives in the fleet).
        let _permit = ctx.builds.acquire().await;
        ctx.emit(&name, None, Phase::Building, None);
        ctx.pending.building(&name, scale);
        ctx.publish(FleetEvent::BuildStarted {
            service: name.clone(),
        });
        let began = Instant::now();
        let built = build(service, &ctx.state).await;
        ctx.pending.release(&name);
        if let Err(failure) = built {
            // Replicas of the previous build keep running and speak for the service;
            // without any, `status` says why there are none.
            if !runs(&ctx, &name) {
                ctx.pending.not_started(&name, scale, failure.to_string());
            }
            ctx.emit(&name, None, Phase::BuildFailed, Some(failure.to_string()));
            ctx.publish(FleetEvent::BuildFailed {
                service: name.clone(),
                reason: failure.to_string(),
            });
            gate.send_replace(Some(false));
            return vec![failure];
        }
        ctx.emit(&name, None, Phase::Built, None);
        ctx.publish(FleetEvent::BuildSucceeded {
            service: name.clone(),
            took: began.elapsed(),
        });
    }
    for (dep, mut rx) in deps {
        if rx.borrow().is_none() {
            let why = format!("waiting for {dep}");
            ctx.pending.waiting(&name, scale, why.clone());
            ctx.emit(&name, None, Phase::Waiting, Some(format!("for {dep}")));
            ctx.publish(FleetEvent::Waiting {
                service: name.clone(),
                dependency: dep.to_string(),
            });
        }
        let ok = rx
            .wait_for(Option::is_some)
            .await
            .is_ok_and(|v| *v == Some(true));
        if !ok {
            gate.send_replace(Some(false));
            return vec![dependency_failed(&ctx, &name, &dep, scale)];
        }
    }
    ctx.pending.release(&name);
    let failures = if service.is_task() {
        task_up(&ctx, service, &plan).await
    } else {
        replicas_up(&ctx, service, scale, &plan).await
    };
    gate.send_replace(Some(failures.is_empty()));
    failures
}

/// The replicas of `service` to (re)start: missing ones, finished ones, changed ones (all
/// of them when replacing). A task that finished with exit 0 is done, not to be run again.
/// Whether a replica of `service` is alive.
fn runs(ctx: &Ctx, service: &ServiceName) -> bool {
    lock(&ctx.replicas)
        .iter()
        .any(|(id, h)| &id.service == service && h.state().is_alive())
}

fn to_start(ctx: &Ctx, service: &ServiceSpec, scale: u32, plan: &Plan) -> Vec<u32> {
    let replicas = lock(&ctx.replicas);
    let replace = plan.replace.contains(&service.name);
    let over = |state: ReplicaState| {
        state.is_final() && !(service.is_task() && state == ReplicaState::Exited)
    };
    (0..scale)
        .filter(|&i| {
            let id = ReplicaId::new(service.name.clone(), i);
            replace
                || replicas.get(&id).is_none_or(|h| {
                    over(h.state())
                        || (!plan.keep_live && h.spec_hash() != spec_hash(&service.replica(i)))
                })
        })
        .collect()
}

/// Stops surplus replicas, then replaces the changed ones and starts the missing ones, and
/// waits until each replica of the service is ready or has failed.
///
/// Live replicas of a scaled service are replaced one at a time ([`roll`]), so the service
/// keeps a ready replica throughout; otherwise (a first start, or a single replica, where
/// the port allows no overlap) they stop together and their successors start in parallel.
async fn replicas_up(ctx: &Ctx, service: &ServiceSpec, scale: u32, plan: &Plan) -> Vec<Failed> {
    let name = &service.name;
    let existing: BTreeMap<u32, ReplicaHandle> = lock(&ctx.replicas)
        .iter()
        .filter(|(id, _)| &id.service == name)
        .map(|(id, h)| (id.index, h.clone()))
        .collect();
    let to_start = to_start(ctx, service, scale, plan);
    // Surplus replicas stop from the highest index down.
    for h in existing.range(scale..).rev().map(|(_, h)| h.clone()) {
        stop_all(ctx, vec![h]).await;
    }
    let mut failures = if rolls(scale, &to_start, &existing) {
        roll(ctx, service, &to_start, &existing).await
    } else {
        let replaced: Vec<ReplicaHandle> = to_start
            .iter()
            .filter_map(|i| existing.get(i).cloned())
            .collect();
        stop_all(ctx, replaced).await;
        for &index in &to_start {
            start_replica(ctx, service, index);
        }
        wait_all(ctx, service, to_start.iter().copied()).await
    };
    // Replicas left alone (same spec) are waited for too: a start reports them ready.
    let kept = (0..scale).filter(|i| !to_start.contains(i));
    failures.append(&mut wait_all(ctx, service, kept).await);
    failures.sort_by_cached_key(ToString::to_string);
    failures
}

/// Starts replica `index` of `service` and registers it in the fleet.
pub(super) fn start_replica(ctx: &Ctx, service: &ServiceSpec, index: u32) -> ReplicaHandle {
    let spec = service.replica(index);
    let config = JobConfig {
        spec_hash: spec_hash(&spec),
        spec,
        restart: service.restart,
        backoff: service.backoff,
        state: ctx.state.clone(),
        restarts: 0,
        log_opener: ctx.log_opener.clone(),
        deadline: service.task.map(|t| t.timeout),
    };
    let handle = ReplicaHandle::start(ctx.backend.clone(), config, Some(ctx.bus.clone()));
    lock(&ctx.replicas).insert(handle.id().clone(), handle.clone());
    ctx.launched
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(handle.clone());
    ctx.emit(&service.name, Some(index), Phase::Starting, None);
    handle
}

/// Waits in parallel until the replicas `indexes` of `service` are ready or have failed.
async fn wait_all(
    ctx: &Ctx,
    service: &ServiceSpec,
    indexes: impl Iterator<Item = u32>,
) -> Vec<Failed> {
    let handles: Vec<ReplicaHandle> = {
        let replicas = lock(&ctx.replicas);
        indexes
            .filter_map(|i| {
                replicas
                    .get(&ReplicaId::new(service.name.clone(), i))
                    .cloned()
            })
            .collect()
    };
    let mut waits = JoinSet::new();
    for h in handles {
        let ctx = ctx.clone();
        waits.spawn(async move { replica_ready(&ctx, &h).await });
    }
    let mut failures = Vec::new();
    while let Some(joined) = waits.join_next().await {
        if let Ok(Some(failure)) = joined {
            failures.push(failure);
        }
    }
    failures
}

/// Waits for one replica's current run; reports how it went as progress, and a failure
/// when it ended before being ready (a replica in backoff keeps its restart policy, but
/// the start that waited for it failed).
pub(super) async fn replica_ready(ctx: &Ctx, h: &ReplicaHandle) -> Option<Failed> {
    let id = h.id();
    let (phase, snapshot) = match h.wait_started().await {
        Started::Ready(snapshot) => {
            let pid = snapshot.running.as_ref().map(|r| r.identity().pid);
            let message = pid.map(|p| format!("pid {p}"));
            ctx.emit(&id.service, Some(id.index), Phase::Ready, message);
            return None;
        }
        Started::Ended(snapshot) => (
            match snapshot.state {
                ReplicaState::Backoff => Phase::Backoff,
                ReplicaState::Crashed => Phase::Crashed,
                ReplicaState::Exited => Phase::Exited,
                _ => Phase::Failed,
            },
            snapshot,
        ),
    };
    let failure = not_ready(ctx, id, &snapshot);
    let message = failure.to_string();
    // The progress line names the replica already.
    let message = message.strip_prefix(&format!("{id}: ")).unwrap_or(&message);
    ctx.emit(&id.service, Some(id.index), phase, Some(message.to_owned()));
    Some(failure)
}

fn not_ready(ctx: &Ctx, id: &ReplicaId, snapshot: &Snapshot) -> Failed {
    Failed::NotReady {
        replica: id.clone(),
        state: snapshot.state,
        reason: snapshot
            .reason
            .clone()
            .unwrap_or_else(|| snapshot.state.to_string()),
        kept: Vec::new(),
        log_tail: tail(&ctx.state.replica_log(id), TAIL_LINES),
    }
}
