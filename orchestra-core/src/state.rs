//! Replica states and the status rows that `ps` shows.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where a replica is in its life (DESIGN §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplicaState {
    /// Its service is being built.
    Building,
    /// Not spawned yet: waiting until what it depends on is ready (a task: has exited 0).
    Waiting,
    /// Spawned, readiness probe not yet passed.
    Starting,
    /// Ready (probe passed, or there is none).
    Running,
    /// Ended, waiting out the backoff delay before a restart.
    Backoff,
    /// Failed too often, or failed to build or become ready: given up on.
    Crashed,
    /// Being stopped.
    Stopping,
    /// Stopped by request.
    Stopped,
    /// Finished on its own with code 0 and not restarted.
    Exited,
}

impl ReplicaState {
    /// Whether a process may exist for the replica in this state.
    pub const fn is_alive(self) -> bool {
        matches!(self, Self::Starting | Self::Running | Self::Stopping)
    }

    /// Whether the replica is done and will not come back by itself.
    pub const fn is_final(self) -> bool {
        matches!(self, Self::Crashed | Self::Stopped | Self::Exited)
    }

    /// The lowercase name used in `ps` and JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Building => "building",
            Self::Waiting => "waiting",
            Self::Starting => "starting",
            Self::Running => "running",
            Self::Backoff => "backoff",
            Self::Crashed => "crashed",
            Self::Stopping => "stopping",
            Self::Stopped => "stopped",
            Self::Exited => "exited",
        }
    }
}

impl fmt::Display for ReplicaState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// What a replica's readiness probe says; a replica without a probe has no health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// The probe passed.
    Ready,
    /// The probe has not passed yet.
    Starting,
    /// The probe fails, or something other than the replica answers it.
    Unhealthy,
}

impl Health {
    /// The lowercase name used in `ps` and JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::Starting => "starting",
            Self::Unhealthy => "unhealthy",
        }
    }
}

/// Whether a `ps` row is one of the project's services or a vendor container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    /// A replica of a service.
    Service,
    /// A vendor container.
    Vendor,
}

/// One row of `ps --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicaStatus {
    /// Service or vendor name.
    pub service: String,
    /// Replica index (0 for vendors).
    pub replica: u32,
    /// Service or vendor.
    pub kind: UnitKind,
    /// Current state.
    pub state: ReplicaState,
    /// The process id, while one runs.
    pub pid: Option<i32>,
    /// TCP ports its process tree listens on.
    pub ports: Vec<u16>,
    /// Restarts since the fleet was started.
    pub restarts: u32,
    /// Seconds since the current process started.
    pub uptime_s: Option<u64>,
    /// CPU use of its process tree, in percent of one core.
    pub cpu_percent: Option<f64>,
    /// Resident memory of its process tree.
    pub rss_bytes: Option<u64>,
    /// Why it is in its state (crashed, backing off, waiting, not started, a failed
    /// rebuild), when known: the whole sentence; `ps` shortens it for its table.
    #[serde(default)]
    pub reason: Option<String>,
    /// What its readiness probe says; none without a probe.
    #[serde(default)]
    pub health: Option<Health>,
    /// The exit code of its last run, when that run exited.
    #[serde(default)]
    pub exit_code: Option<i32>,
    /// The signal that ended its last run (`SIGKILL`), when one did.
    #[serde(default)]
    pub signal: Option<String>,
    /// How long its last run lasted before it ended, in seconds.
    #[serde(default)]
    pub last_exit_s: Option<f64>,
    /// The restarts in a row after which the restart policy gave up on it.
    #[serde(default)]
    pub gave_up_after: Option<u32>,
}

impl ReplicaStatus {
    /// A row with only its identity and state: no process, no history.
    pub fn new(
        service: impl Into<String>,
        replica: u32,
        kind: UnitKind,
        state: ReplicaState,
    ) -> Self {
        Self {
            service: service.into(),
            replica,
            kind,
            state,
            pid: None,
            ports: Vec::new(),
            restarts: 0,
            uptime_s: None,
            cpu_percent: None,
            rss_bytes: None,
            reason: None,
            health: None,
            exit_code: None,
            signal: None,
            last_exit_s: None,
            gave_up_after: None,
        }
    }
}
