//! What happens in a fleet, as it happens: the events of the supervisor's event stream.
//!
//! The replica jobs and the fleet engine emit a [`FleetEvent`] at each step they take (a
//! process spawned, ready, ended, a restart scheduled, a build finished); every observer
//! (an embedding program, the daemon's subscribers, `ps --watch`, the terminal UI) reads
//! the same events rather than polling the fleet. They are plain values, serialised as
//! tagged JSON objects for the daemon's protocol, with durations in milliseconds.
//!
//! ```
//! use std::time::Duration;
//! use orchestra_core::event::FleetEvent;
//! use orchestra_core::{ProcessEnd, ReplicaId, ServiceName};
//!
//! let replica = ReplicaId::new(ServiceName::new("api")?, 0);
//! let event = FleetEvent::Exited { replica, end: ProcessEnd::Exited(3), ran: Duration::from_millis(1500) };
//! assert_eq!(event.to_string(), "api.0 exited with code 3 after 1.5s");
//! let json = serde_json::to_string(&event)?;
//! assert_eq!(json, r#"{"kind":"exited","replica":{"service":"api","index":0},"end":{"kind":"exited","value":3},"ran_ms":1500}"#);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::duration::HumanDuration;
use crate::name::{ReplicaId, ServiceName};
use crate::process::ProcessEnd;

/// One step in the life of a fleet: of a service (its build, its wait for a dependency, a
/// rerun) or of one of its replicas (spawned, ready, ended, restarting, given up on).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum FleetEvent {
    /// A service's build started.
    BuildStarted {
        /// The service.
        service: ServiceName,
    },
    /// A service's build succeeded.
    BuildSucceeded {
        /// The service.
        service: ServiceName,
        /// How long it took.
        #[serde(rename = "took_ms", with = "millis")]
        took: Duration,
    },
    /// A service's build failed; its replicas were not replaced.
    BuildFailed {
        /// The service.
        service: ServiceName,
        /// Why, in a few words (`build failed (exit 1)`).
        reason: String,
    },
    /// A service waits for a dependency to be ready before its replicas start.
    Waiting {
        /// The service.
        service: ServiceName,
        /// The service or vendor it waits for.
        dependency: String,
    },
    /// A service was not started, because a dependency failed.
    NotStarted {
        /// The service.
        service: ServiceName,
        /// Why.
        reason: String,
    },
    /// A replica's process was spawned (it is not ready yet, unless it has no probe).
    Started {
        /// The replica.
        replica: ReplicaId,
        /// Its main process.
        pid: i32,
        /// Restarts before this run.
        restarts: u32,
    },
    /// A replica could not be spawned (the command is missing, its log cannot be opened).
    SpawnFailed {
        /// The replica.
        replica: ReplicaId,
        /// Why.
        reason: String,
    },
    /// A replica is ready: its probe passed, or it has none, or it was adopted running.
    Ready {
        /// The replica.
        replica: ReplicaId,
        /// Its main process.
        pid: i32,
    },
    /// A replica's process ended by itself.
    Exited {
        /// The replica.
        replica: ReplicaId,
        /// How it ended: exit code or signal.
        end: ProcessEnd,
        /// How long that run lasted.
        #[serde(rename = "ran_ms", with = "millis")]
        ran: Duration,
    },
    /// A replica that ended will be started again after `delay` (its restart policy).
    Restarting {
        /// The replica.
        replica: ReplicaId,
        /// The backoff before the next run.
        #[serde(rename = "delay_ms", with = "millis")]
        delay: Duration,
        /// Which restart this will be (1 for the first).
        attempt: u32,
    },
    /// A replica was given up on without retrying: it failed and its policy does not
    /// restart it, it never became ready, or it outlasted its deadline.
    Crashed {
        /// The replica.
        replica: ReplicaId,
        /// Why.
        reason: String,
    },
    /// A replica kept failing and its backoff gave up on it.
    GaveUp {
        /// The replica.
        replica: ReplicaId,
        /// How many restarts in a row it had.
        restarts: u32,
        /// How its last run ended.
        reason: String,
    },
    /// A replica is being stopped (stop signal, grace, SIGKILL).
    Stopping {
        /// The replica.
        replica: ReplicaId,
    },
    /// A replica was stopped: none of its processes remain.
    Stopped {
        /// The replica.
        replica: ReplicaId,
    },
    /// Files of a watched service changed: it is rebuilt (and tested, when asked), then
    /// replaced.
    RerunTriggered {
        /// The service.
        service: ServiceName,
        /// Some of the files that changed (a long list is cut short).
        files: Vec<PathBuf>,
    },
    /// A rerun replaced a service's replicas with the new build.
    RerunSucceeded {
        /// The service.
        service: ServiceName,
        /// From the change to the new replicas being ready.
        #[serde(rename = "took_ms", with = "millis")]
        took: Duration,
    },
    /// A rerun failed (build or tests); the previous replicas keep running.
    RerunFailed {
        /// The service.
        service: ServiceName,
        /// Why.
        reason: String,
    },
}

impl FleetEvent {
    /// The service the event is about.
    pub fn service(&self) -> &ServiceName {
        match self {
            Self::BuildStarted { service }
            | Self::BuildSucceeded { service, .. }
            | Self::BuildFailed { service, .. }
            | Self::Waiting { service, .. }
            | Self::NotStarted { service, .. }
            | Self::RerunTriggered { service, .. }
            | Self::RerunSucceeded { service, .. }
            | Self::RerunFailed { service, .. } => service,
            Self::Started { replica, .. }
            | Self::SpawnFailed { replica, .. }
            | Self::Ready { replica, .. }
            | Self::Exited { replica, .. }
            | Self::Restarting { replica, .. }
            | Self::Crashed { replica, .. }
            | Self::GaveUp { replica, .. }
            | Self::Stopping { replica }
            | Self::Stopped { replica } => &replica.service,
        }
    }

    /// The replica the event is about, when it is about one.
    pub fn replica(&self) -> Option<&ReplicaId> {
        match self {
            Self::Started { replica, .. }
            | Self::SpawnFailed { replica, .. }
            | Self::Ready { replica, .. }
            | Self::Exited { replica, .. }
            | Self::Restarting { replica, .. }
            | Self::Crashed { replica, .. }
            | Self::GaveUp { replica, .. }
            | Self::Stopping { replica }
            | Self::Stopped { replica } => Some(replica),
            _ => None,
        }
    }
}

/// One line for people: `api.0 ready (pid 4242)`.
impl fmt::Display for FleetEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BuildStarted { service } => write!(f, "{service} building"),
            Self::BuildSucceeded { service, took } => {
                write!(f, "{service} built in {}", Seconds(*took))
            }
            Self::BuildFailed { service, reason } | Self::NotStarted { service, reason } => {
                write!(f, "{service} {reason}")
            }
            Self::Waiting {
                service,
                dependency,
            } => write!(f, "{service} waiting for {dependency}"),
            Self::Started {
                replica,
                pid,
                restarts: 0,
            } => write!(f, "{replica} started (pid {pid})"),
            Self::Started {
                replica,
                pid,
                restarts,
            } => write!(f, "{replica} started (pid {pid}, restart {restarts})"),
            Self::SpawnFailed { replica, reason } => {
                write!(f, "{replica} could not be spawned: {reason}")
            }
            Self::Ready { replica, pid } => write!(f, "{replica} ready (pid {pid})"),
            Self::Exited { replica, end, ran } => {
                write!(f, "{replica} {end} after {}", Seconds(*ran))
            }
            Self::Restarting {
                replica,
                delay,
                attempt,
            } => write!(
                f,
                "{replica} restarting in {} (restart {attempt})",
                HumanDuration(*delay)
            ),
            Self::Crashed { replica, reason } => write!(f, "{replica} crashed: {reason}"),
            Self::GaveUp {
                replica,
                restarts,
                reason,
            } => write!(
                f,
                "{replica} gave up after {restarts} restarts in a row: {reason}"
            ),
            Self::Stopping { replica } => write!(f, "{replica} stopping"),
            Self::Stopped { replica } => write!(f, "{replica} stopped"),
            Self::RerunTriggered { service, files } => match files.first() {
                Some(first) if files.len() > 1 => write!(
                    f,
                    "{service} rerun: {} and {} more changed",
                    first.display(),
                    files.len() - 1
                ),
                Some(first) => write!(f, "{service} rerun: {} changed", first.display()),
                None => write!(f, "{service} rerun: files changed"),
            },
            Self::RerunSucceeded { service, took } => {
                write!(
                    f,
                    "{service} rerun: serving the new build after {}",
                    Seconds(*took)
                )
            }
            Self::RerunFailed { service, reason } => write!(f, "{service} rerun failed: {reason}"),
        }
    }
}

/// A duration as seconds with one decimal, as run times are shown: `1.5s`.
struct Seconds(Duration);

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.1}s", self.0.as_secs_f64())
    }
}

/// Durations on the wire: whole milliseconds, which every JSON reader takes as a number.
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api() -> ReplicaId {
        ReplicaId::new(ServiceName::new("api").unwrap(), 1)
    }

    #[test]
    fn every_event_round_trips_through_json() {
        let events = [
            FleetEvent::Restarting {
                replica: api(),
                delay: Duration::from_millis(200),
                attempt: 2,
            },
            FleetEvent::Exited {
                replica: api(),
                end: ProcessEnd::Signalled(9),
                ran: Duration::from_millis(42),
            },
            FleetEvent::RerunTriggered {
                service: api().service,
                files: vec!["main.go".into()],
            },
        ];
        for event in events {
            let json = serde_json::to_string(&event).unwrap();
            let back: FleetEvent = serde_json::from_str(&json).unwrap();
            assert_eq!(back, event, "{json}");
        }
    }

    #[test]
    fn lines_name_the_replica_and_what_happened() {
        let lines: Vec<String> = [
            FleetEvent::Started {
                replica: api(),
                pid: 7,
                restarts: 0,
            },
            FleetEvent::Restarting {
                replica: api(),
                delay: Duration::from_millis(200),
                attempt: 1,
            },
            FleetEvent::Exited {
                replica: api(),
                end: ProcessEnd::Signalled(9),
                ran: Duration::from_secs(2),
            },
            FleetEvent::GaveUp {
                replica: api(),
                restarts: 5,
                reason: "exited with code 1".into(),
            },
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(
            lines,
            [
                "api.1 started (pid 7)",
                "api.1 restarting in 200ms (restart 1)",
                "api.1 killed by SIGKILL after 2.0s",
                "api.1 gave up after 5 restarts in a row: exited with code 1",
            ]
        );
    }
}
