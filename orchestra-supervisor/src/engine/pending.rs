//! Services a request has not started (yet), and why: the rows `ps` shows for a service
//! that is being built, that waits for a dependency (`waiting for migrate`) or that a
//! failed dependency kept from starting. They have no process, so no replica job stands for them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use orchestra_core::state::UnitKind;
use orchestra_core::{ReplicaState, ReplicaStatus, ServiceName};

/// Why one service is not running, for each of its replicas.
#[derive(Debug, Clone)]
struct Hold {
    state: ReplicaState,
    /// None when the state says it all (`building`).
    reason: Option<String>,
    replicas: u32,
}

/// The services held back, shared by the engine's handle (for `status`) and its requests.
#[derive(Debug, Clone, Default)]
pub(crate) struct Pending(Arc<Mutex<BTreeMap<ServiceName, Hold>>>);

impl Pending {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<ServiceName, Hold>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `service` (its `replicas` replicas) is being built before it starts.
    pub(crate) fn building(&self, service: &ServiceName, replicas: u32) {
        self.hold(service, replicas, ReplicaState::Building, None);
    }

    /// `service` (its `replicas` replicas) waits until a dependency is ready.
    pub(crate) fn waiting(&self, service: &ServiceName, replicas: u32, reason: String) {
        self.hold(service, replicas, ReplicaState::Waiting, Some(reason));
    }

    /// `service` was not started, for `reason`; it stays so until the next start or stop.
    pub(crate) fn not_started(&self, service: &ServiceName, replicas: u32, reason: String) {
        self.hold(service, replicas, ReplicaState::Stopped, Some(reason));
    }

    fn hold(
        &self,
        service: &ServiceName,
        replicas: u32,
        state: ReplicaState,
        reason: Option<String>,
    ) {
        let hold = Hold {
            state,
            reason,
            replicas: replicas.max(1),
        };
        self.lock().insert(service.clone(), hold);
    }

    /// `service` is no longer held back: it starts, or was stopped.
    pub(crate) fn release(&self, service: &ServiceName) {
        self.lock().remove(service);
    }

    /// Forgets `services` (all when empty), as a stop does.
    pub(crate) fn release_all(&self, services: &[ServiceName]) {
        let mut held = self.lock();
        if services.is_empty() {
            held.clear();
        } else {
            held.retain(|name, _| !services.contains(name));
        }
    }

    /// Forgets the services still waiting or building: the request that made them wait
    /// is gone.
    pub(crate) fn release_waiting(&self) {
        self.lock().retain(|_, hold| {
            !matches!(hold.state, ReplicaState::Waiting | ReplicaState::Building)
        });
    }

    /// Merges the held services into `rows` (the replicas' own rows): a held replica shows
    /// as held unless a process of it still runs (a restart waiting on a dependency keeps
    /// the old replica up meanwhile).
    pub(crate) fn merge_into(&self, rows: &mut Vec<ReplicaStatus>) {
        let held = self.lock().clone();
        for (name, hold) in held {
            for index in 0..hold.replicas {
                let existing = rows
                    .iter()
                    .position(|r| r.service == name.as_str() && r.replica == index);
                if let Some(i) = existing {
                    if !rows[i].state.is_final() {
                        continue;
                    }
                    rows.remove(i);
                }
                rows.push(row(&name, index, &hold));
            }
        }
        rows.sort_by(|a, b| (&a.service, a.replica).cmp(&(&b.service, b.replica)));
    }
}

fn row(service: &ServiceName, replica: u32, hold: &Hold) -> ReplicaStatus {
    ReplicaStatus {
        reason: hold.reason.clone(),
        ..ReplicaStatus::new(service.as_str(), replica, UnitKind::Service, hold.state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> ServiceName {
        ServiceName::new(s).unwrap()
    }

    fn shown(rows: &[ReplicaStatus]) -> Vec<String> {
        rows.iter()
            .map(|r| {
                format!(
                    "{}.{} {} {}",
                    r.service,
                    r.replica,
                    r.state,
                    r.reason.as_deref().unwrap_or("-")
                )
            })
            .collect()
    }

    #[test]
    fn held_services_show_one_row_per_replica_until_released() {
        let pending = Pending::default();
        pending.waiting(&name("api"), 2, "waiting for migrate".into());
        pending.not_started(&name("web"), 1, "not started: `api` failed".into());
        let mut rows = Vec::new();
        pending.merge_into(&mut rows);
        assert_eq!(
            shown(&rows),
            [
                "api.0 waiting waiting for migrate",
                "api.1 waiting waiting for migrate",
                "web.0 stopped not started: `api` failed",
            ]
        );
        pending.release_waiting();
        let mut rows = Vec::new();
        pending.merge_into(&mut rows);
        assert_eq!(shown(&rows), ["web.0 stopped not started: `api` failed"]);
        pending.release_all(&[name("web")]);
        let mut rows = Vec::new();
        pending.merge_into(&mut rows);
        assert!(rows.is_empty(), "{:?}", shown(&rows));
    }

    #[test]
    fn a_live_replica_row_wins_over_its_hold_and_a_finished_one_gives_way() {
        let pending = Pending::default();
        pending.waiting(&name("api"), 2, "waiting for migrate".into());
        let live = |index, state| ReplicaStatus::new("api", index, UnitKind::Service, state);
        let mut rows = vec![
            live(0, ReplicaState::Running),
            live(1, ReplicaState::Crashed),
        ];
        pending.merge_into(&mut rows);
        assert_eq!(
            shown(&rows),
            ["api.0 running -", "api.1 waiting waiting for migrate"]
        );
    }
}
