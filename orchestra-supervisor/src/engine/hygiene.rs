//! Hygiene before a start ([`Hygiene`]): copies of the services running outside the engine
//! are stopped (or the start is refused), then the ports the new replicas need are checked,
//! so that the fleet is exactly what `status` says it is.
//!
//! Only what the start will actually spawn is looked at: the selection and its
//! dependencies, without the replicas already running under the engine (their processes
//! are the fleet, never strays). Stray-killing comes first, so a stray copy's port is free
//! by the time the ports are checked; a port held by anything else holds its service back
//! with the holder's pid and command line, and nothing is killed for it. What depends on a
//! service held back is not started either: the start's own dependency cascade
//! ([`super::up`]) says so, as for a failed build.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use orchestra_core::protocol::Phase;
use orchestra_core::spec::ProjectSpec;
use orchestra_core::{ReplicaId, ReplicaState, ServiceName};
use tokio::task::JoinSet;

use super::fleet::Ctx;
use super::{Failed, Hygiene, lock};
use crate::strays::proc::Ancestry;
use crate::strays::{Stray, StrayOutcome, StrayStopped, find_strays, port_holders, stop_strays};

/// Services held back before anything started, each with why.
pub(super) type Held = BTreeMap<ServiceName, Failed>;

/// A replica of the engine, as far as hygiene needs to know it.
#[derive(Debug, Clone)]
struct Live {
    id: ReplicaId,
    state: ReplicaState,
    /// Its main process, while it runs.
    pid: Option<i32>,
}

/// The engine's replicas now.
fn fleet(ctx: &Ctx) -> Vec<Live> {
    lock(&ctx.replicas)
        .values()
        .map(|h| {
            let snap = h.snapshot();
            let alive = snap.state.is_alive();
            Live {
                id: h.id().clone(),
                state: snap.state,
                pid: snap.running.filter(|_| alive).map(|r| r.identity().pid),
            }
        })
        .collect()
}

/// Stops the strays of the replicas a start of `wanted` will spawn (or refuses with
/// [`Hygiene::RefuseStrays`]), then checks their ports. `Ok` holds the services that may
/// not start; `Err` means nothing may start.
///
/// The engine's replicas and their descendants are never strays nor foreign port holders.
/// Neither is anything this process spawned, which also covers a replica that a restart
/// or a rerun spawns while the scan runs.
pub(super) async fn clear(
    ctx: &Ctx,
    project: &ProjectSpec,
    wanted: &BTreeSet<ServiceName>,
    counts: &BTreeMap<ServiceName, u32>,
    hygiene: Hygiene,
) -> Result<Held, Vec<Failed>> {
    if hygiene == Hygiene::Off {
        return Ok(Held::new());
    }
    let live = fleet(ctx);
    let pending = pending_replicas(project, wanted, counts, &live);
    let starting: Vec<ServiceName> = pending.keys().cloned().collect();
    let fleet: HashSet<i32> = live.iter().filter_map(|r| r.pid).collect();
    let spawner = i32::try_from(std::process::id()).ok();
    let ours: HashSet<i32> = fleet.iter().copied().chain(spawner).collect();
    let strays = find_strays(project, &starting, &ours);
    if hygiene == Hygiene::RefuseStrays && !strays.is_empty() {
        return Err(refusals(&strays));
    }
    let mut held = Held::new();
    for stray in &strays {
        let message = format!(
            "stray pid {} ({}): {}, stopping it",
            stray.pid, stray.cmdline, stray.reason
        );
        ctx.emit(&stray.service, None, Phase::Stopping, Some(message));
    }
    for (service, outcome) in stop_all(ctx, project, strays).await {
        held.entry(service.clone())
            .or_insert_with(|| Failed::StrayNotStopped {
                service: service.clone(),
                how: outcome.to_string(),
            });
    }
    check_ports(project, &pending, &fleet, &mut held);
    Ok(held)
}

/// One failure per service whose copies run outside the engine, listing them.
fn refusals(strays: &[Stray]) -> Vec<Failed> {
    let mut by_service: BTreeMap<&ServiceName, Vec<String>> = BTreeMap::new();
    for s in strays {
        by_service
            .entry(&s.service)
            .or_default()
            .push(format!("pid {} ({}): {}", s.pid, s.cmdline, s.reason));
    }
    by_service
        .into_iter()
        .map(|(service, lines)| Failed::StraysRunning {
            service: service.clone(),
            strays: lines,
        })
        .collect()
}

/// Stops every stray, each service's with its own stop signal and timeout, all at once;
/// returns the services whose strays survived, with how.
async fn stop_all(
    ctx: &Ctx,
    project: &ProjectSpec,
    strays: Vec<Stray>,
) -> Vec<(ServiceName, StrayOutcome)> {
    let mut by_service: BTreeMap<ServiceName, Vec<Stray>> = BTreeMap::new();
    for s in strays {
        by_service.entry(s.service.clone()).or_default().push(s);
    }
    let mut stops = JoinSet::new();
    for (service, group) in by_service {
        let Some(spec) = project.services.get(&service) else {
            continue;
        };
        let (signal, timeout) = (spec.stop_signal, spec.stop_timeout);
        stops.spawn(async move { stop_strays(&group, signal, timeout).await });
    }
    let mut survived = Vec::new();
    while let Some(joined) = stops.join_next().await {
        for stopped in joined.unwrap_or_default() {
            let StrayStopped { stray, outcome } = stopped;
            tracing::info!(pid = stray.pid, service = %stray.service, %outcome, "stray handled");
            if outcome.is_gone() {
                let message = format!("stray pid {} {outcome}", stray.pid);
                ctx.emit(&stray.service, None, Phase::Stopped, Some(message));
            } else {
                survived.push((stray.service, outcome));
            }
        }
    }
    survived
}

/// Holds back each service one of whose new replicas' ports a process outside the fleet
/// holds.
fn check_ports(
    project: &ProjectSpec,
    pending: &BTreeMap<ServiceName, Vec<u32>>,
    fleet: &HashSet<i32>,
    held: &mut Held,
) {
    let mut wanted: BTreeMap<u16, &ServiceName> = BTreeMap::new();
    for (name, indices) in pending {
        let Some(spec) = project.services.get(name) else {
            continue;
        };
        for &i in indices {
            if let Some(port) = spec.replica_port(i) {
                wanted.insert(port, name);
            }
        }
    }
    let ports: Vec<u16> = wanted.keys().copied().collect();
    let mut ancestry = Ancestry::default();
    for holder in port_holders(&ports) {
        let Some(&service) = wanted.get(&holder.port) else {
            continue;
        };
        // A replica's `go run` child holds the replica's port.
        if holder.pid != 0 && ancestry.within(holder.pid, fleet) {
            continue;
        }
        held.entry(service.clone())
            .or_insert_with(|| Failed::PortHeld {
                service: service.clone(),
                holder,
            });
    }
}

/// The replicas of each service in `wanted` that this start will spawn: those without a
/// live row under the engine (a crashed or stopped replica is started again). A task has
/// one replica whatever the counts say.
fn pending_replicas(
    project: &ProjectSpec,
    wanted: &BTreeSet<ServiceName>,
    counts: &BTreeMap<ServiceName, u32>,
    live: &[Live],
) -> BTreeMap<ServiceName, Vec<u32>> {
    wanted
        .iter()
        .filter_map(|name| {
            let spec = project.services.get(name)?;
            let count = if spec.is_task() {
                1
            } else {
                counts.get(name).copied().unwrap_or(spec.scale)
            };
            let indices: Vec<u32> = (0..count)
                .filter(|&i| {
                    !live
                        .iter()
                        .any(|r| &r.id.service == name && r.id.index == i && !r.state.is_final())
                })
                .collect();
            (!indices.is_empty()).then(|| (name.clone(), indices))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use orchestra_core::spec::{CommandSpec, Dependency, ServiceSpec};

    use super::*;

    fn name(s: &str) -> ServiceName {
        ServiceName::new(s).unwrap()
    }

    fn live(service: &str, index: u32, state: ReplicaState) -> Live {
        Live {
            id: ReplicaId::new(name(service), index),
            state,
            pid: Some(1),
        }
    }

    #[test]
    fn pending_replicas_skip_live_ones_and_follow_the_counts() {
        let service =
            |n: &str| ServiceSpec::command(name(n), "/p", CommandSpec::Shell("true".into()));
        let api = ServiceSpec {
            depends_on: vec![Dependency::Service(name("web"))],
            ..service("api")
        };
        let migrate = ServiceSpec {
            task: Some(orchestra_core::spec::TaskSpec {
                timeout: orchestra_core::spec::TaskSpec::DEFAULT_TIMEOUT,
            }),
            ..service("migrate")
        };
        let project = ProjectSpec {
            services: [service("web"), api, migrate]
                .into_iter()
                .map(|s| (s.name.clone(), s))
                .collect(),
            ..ProjectSpec::empty(orchestra_core::ProjectName::new("p").unwrap(), "/p")
        };
        let wanted: BTreeSet<ServiceName> = project.services.keys().cloned().collect();
        let fleet = [
            live("web", 0, ReplicaState::Running),
            live("api", 0, ReplicaState::Crashed),
        ];
        let counts = BTreeMap::from([(name("web"), 3), (name("migrate"), 4)]);
        let pending = pending_replicas(&project, &wanted, &counts, &fleet);
        assert_eq!(pending.get(&name("web")), Some(&vec![1, 2]));
        assert_eq!(
            pending.get(&name("api")),
            Some(&vec![0]),
            "a crashed one starts again"
        );
        assert_eq!(
            pending.get(&name("migrate")),
            Some(&vec![0]),
            "a task has one"
        );
    }
}
