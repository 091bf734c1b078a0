//! The fleet as the UI shows it: the daemon's status rows, kept current between two status
//! answers by the fleet's events, and a row for each configured service or vendor that has
//! none (so that a stopped one can be selected and started).
//!
//! Nothing here is a state of its own: every status answer replaces the rows, and the
//! events only move them forward until the next answer, which the UI asks for shortly
//! after any event.

use std::collections::BTreeMap;

use orchestra_core::event::FleetEvent;
use orchestra_core::spec::ProjectSpec;
use orchestra_core::state::UnitKind;
use orchestra_core::{ReplicaId, ReplicaState, ReplicaStatus};

/// Which row: a replica of a service, or a vendor.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct UnitKey {
    /// Services sort before vendors.
    pub kind: KindOrder,
    /// The service or vendor name.
    pub name: String,
    /// The replica index (0 for a vendor).
    pub replica: u32,
}

/// The order of kinds in the table: services first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum KindOrder {
    /// A service replica.
    Service,
    /// A vendor container.
    Vendor,
}

impl UnitKey {
    pub(super) fn of(row: &ReplicaStatus) -> Self {
        Self {
            kind: match row.kind {
                UnitKind::Service => KindOrder::Service,
                UnitKind::Vendor => KindOrder::Vendor,
            },
            name: row.service.clone(),
            replica: row.replica,
        }
    }
}

/// One line of the table.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Row {
    /// What the daemon (or the events since its last answer) says.
    pub status: ReplicaStatus,
    /// Configured, but nothing runs or is recorded for it.
    pub configured_only: bool,
}

impl Row {
    /// `api.0` for a replica, `redis` for a vendor.
    pub(super) fn label(&self) -> String {
        match self.status.kind {
            UnitKind::Service => format!("{}.{}", self.status.service, self.status.replica),
            UnitKind::Vendor => self.status.service.clone(),
        }
    }
}

/// The rows, in table order, and what the configuration says about their units.
#[derive(Debug, Default)]
pub(super) struct Fleet {
    rows: Vec<Row>,
    /// What a service does as a whole (building, waiting for a dependency, a failed
    /// build), from the events: shown where its rows give no reason of their own.
    activity: BTreeMap<String, String>,
    /// Configured services, with whether each has a readiness probe.
    services: BTreeMap<String, bool>,
    /// Configured vendors, with whether each has a readiness check.
    vendors: BTreeMap<String, bool>,
}

impl Fleet {
    /// The fleet of `project`, before any status answer: every unit shown as stopped.
    pub(super) fn new(project: &ProjectSpec) -> Self {
        let mut fleet = Self {
            services: project
                .services
                .iter()
                .map(|(name, spec)| (name.to_string(), spec.ready.is_some()))
                .collect(),
            vendors: project
                .vendors
                .iter()
                .map(|(name, spec)| (name.to_string(), spec.ready.is_some()))
                .collect(),
            ..Self::default()
        };
        fleet.set_status(Vec::new());
        fleet
    }

    /// A fleet of these services and vendors, each with whether it has a readiness probe.
    #[cfg(test)]
    pub(super) fn of_units(services: &[(&str, bool)], vendors: &[(&str, bool)]) -> Self {
        let names = |units: &[(&str, bool)]| {
            units
                .iter()
                .map(|(name, probed)| ((*name).to_owned(), *probed))
                .collect()
        };
        let mut fleet = Self {
            services: names(services),
            vendors: names(vendors),
            ..Self::default()
        };
        fleet.set_status(Vec::new());
        fleet
    }

    /// The rows in table order.
    pub(super) fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// The position of `key` in the table.
    pub(super) fn position(&self, key: &UnitKey) -> Option<usize> {
        self.rows
            .iter()
            .position(|r| UnitKey::of(&r.status) == *key)
    }

    /// How many replicas of `service` the table shows, stopped ones aside (the count a
    /// scale key starts from).
    pub(super) fn replicas(&self, service: &str) -> u32 {
        let n = self
            .rows
            .iter()
            .filter(|r| r.status.kind == UnitKind::Service && r.status.service == service)
            .filter(|r| !r.configured_only && r.status.state != ReplicaState::Stopped)
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// Why a row is in its state: its own reason, or what its service is doing.
    pub(super) fn reason<'a>(&'a self, row: &'a Row) -> Option<&'a str> {
        row.status.reason.as_deref().or_else(|| {
            (row.status.kind == UnitKind::Service)
                .then(|| self.activity.get(&row.status.service))
                .flatten()
                .map(String::as_str)
        })
    }

    /// `ready`, `starting`, `unhealthy` or `-`: what its readiness probe says, for units
    /// that have one (a vendor's own healthcheck as the engine reports it).
    pub(super) fn health(&self, row: &Row) -> &'static str {
        if let Some(health) = row.status.health {
            return health.as_str();
        }
        let probed = match row.status.kind {
            UnitKind::Service => self.services.get(&row.status.service),
            UnitKind::Vendor => self.vendors.get(&row.status.service),
        };
        match (probed, row.status.state) {
            (Some(true), ReplicaState::Running) => "ready",
            (Some(true), ReplicaState::Starting) => "starting",
            _ => "-",
        }
    }

    /// How many rows are in each state, for the title: `3 running · 1 crashed`.
    pub(super) fn summary(&self) -> Vec<(ReplicaState, usize)> {
        let mut counts: BTreeMap<&str, (ReplicaState, usize)> = BTreeMap::new();
        for row in &self.rows {
            counts
                .entry(row.status.state.as_str())
                .or_insert((row.status.state, 0))
                .1 += 1;
        }
        counts.into_values().collect()
    }

    /// Replaces the rows with a status answer, adding a stopped row for every configured
    /// unit the answer does not mention.
    pub(super) fn set_status(&mut self, status: Vec<ReplicaStatus>) {
        let mut rows: Vec<Row> = status
            .into_iter()
            .map(|status| Row {
                status,
                configured_only: false,
            })
            .collect();
        for (names, kind) in [
            (&self.services, UnitKind::Service),
            (&self.vendors, UnitKind::Vendor),
        ] {
            for name in names.keys() {
                if !rows
                    .iter()
                    .any(|r| r.status.kind == kind && r.status.service == *name)
                {
                    rows.push(Row {
                        status: stopped(name, 0, kind),
                        configured_only: true,
                    });
                }
            }
        }
        rows.sort_by_key(|r| UnitKey::of(&r.status));
        self.rows = rows;
    }

    /// Moves the rows forward by one event.
    pub(super) fn apply(&mut self, event: &FleetEvent) {
        let service = event.service().to_string();
        match event {
            FleetEvent::BuildStarted { .. } => self.note(&service, "building"),
            FleetEvent::BuildSucceeded { .. } | FleetEvent::RerunSucceeded { .. } => {
                self.activity.remove(&service);
            }
            FleetEvent::BuildFailed { reason, .. }
            | FleetEvent::NotStarted { reason, .. }
            | FleetEvent::RerunFailed { reason, .. } => self.note(&service, reason),
            FleetEvent::Waiting { dependency, .. } => {
                self.note(&service, &format!("waiting for {dependency}"));
            }
            FleetEvent::RerunTriggered { .. } => self.note(&service, "files changed: rebuilding"),
            FleetEvent::Started {
                replica,
                pid,
                restarts,
            } => {
                self.activity.remove(&service);
                let row = self.replica(replica);
                row.state = ReplicaState::Starting;
                row.pid = Some(*pid);
                row.restarts = *restarts;
                row.uptime_s = Some(0);
                row.reason = None;
            }
            FleetEvent::Ready { replica, pid } => {
                let row = self.replica(replica);
                row.state = ReplicaState::Running;
                row.pid = Some(*pid);
            }
            FleetEvent::Exited { replica, end, .. } => {
                let row = ended(self.replica(replica));
                row.state = if end.success() {
                    ReplicaState::Exited
                } else {
                    ReplicaState::Crashed
                };
                row.reason = Some(event_reason(event));
            }
            FleetEvent::Restarting { replica, .. } => {
                self.replica(replica).state = ReplicaState::Backoff;
            }
            FleetEvent::SpawnFailed { replica, reason }
            | FleetEvent::Crashed { replica, reason } => {
                let row = ended(self.replica(replica));
                row.state = ReplicaState::Crashed;
                row.reason = Some(reason.clone());
            }
            FleetEvent::GaveUp {
                replica, restarts, ..
            } => {
                let row = ended(self.replica(replica));
                row.state = ReplicaState::Crashed;
                row.reason = Some(format!("gave up after {restarts} restarts"));
            }
            FleetEvent::Stopping { replica } => {
                self.replica(replica).state = ReplicaState::Stopping;
            }
            FleetEvent::Stopped { replica } => {
                let row = ended(self.replica(replica));
                row.state = ReplicaState::Stopped;
                row.reason = None;
            }
            // Events this version does not know of change nothing until the next status.
            _ => {}
        }
    }

    fn note(&mut self, service: &str, what: &str) {
        self.activity.insert(service.to_owned(), what.to_owned());
    }

    /// The row of `replica`, made if the table has none (a new replica of a scale-up),
    /// replacing its service's stand-in row.
    fn replica(&mut self, replica: &ReplicaId) -> &mut ReplicaStatus {
        let name = replica.service.as_str();
        let key = UnitKey {
            kind: KindOrder::Service,
            name: name.to_owned(),
            replica: replica.index,
        };
        if let Some(i) = self.position(&key) {
            self.rows[i].configured_only = false;
            return &mut self.rows[i].status;
        }
        self.rows
            .retain(|r| !(r.configured_only && r.status.service == name));
        self.rows.push(Row {
            status: stopped(name, replica.index, UnitKind::Service),
            configured_only: false,
        });
        self.rows.sort_by_key(|r| UnitKey::of(&r.status));
        let i = self.position(&key).expect("the row was just added");
        &mut self.rows[i].status
    }
}

/// A row for a unit that runs nothing.
fn stopped(name: &str, replica: u32, kind: UnitKind) -> ReplicaStatus {
    ReplicaStatus::new(name, replica, kind, ReplicaState::Stopped)
}

/// Clears what only a live process has.
fn ended(row: &mut ReplicaStatus) -> &mut ReplicaStatus {
    row.pid = None;
    row.ports.clear();
    row.uptime_s = None;
    row.cpu_percent = None;
    row.rss_bytes = None;
    row
}

/// `killed by SIGKILL after 2.0s`: the event's line without the replica's name.
pub(super) fn event_reason(event: &FleetEvent) -> String {
    let line = event.to_string();
    let name = event
        .replica()
        .map_or_else(|| event.service().to_string(), ToString::to_string);
    line.strip_prefix(&name)
        .map_or_else(|| line.clone(), |rest| rest.trim_start().to_owned())
}

#[cfg(test)]
#[path = "fleet_tests.rs"]
pub(super) mod tests;
