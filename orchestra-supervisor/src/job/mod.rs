//! A replica job: a cloneable [`ReplicaHandle`] plus one task that owns the replica, driven
//! by messages.
//!
//! The task spawns the replica, waits for readiness, and when it ends applies the restart
//! policy and backoff (never spinning: a crash loop ends `crashed`). It writes the
//! replica's record while a process runs and removes it when the replica is done. Every
//! step is published as [`ReplicaState`] on a watch channel (the latest state, for
//! `status`) and, when the job was given an [`EventBus`](crate::event::EventBus), as a
//! [`FleetEvent`](crate::event::FleetEvent) (every step, for observers).

mod guard;
mod handle;
mod log;
pub(crate) mod ready;
mod task;

use std::sync::Arc;
use std::time::Duration;

use orchestra_core::policy::{BackoffPolicy, RestartPolicy};
use orchestra_core::spec::ReplicaSpec;
use orchestra_core::{ProcessEnd, ReplicaState, Signal, StateDir};
use tokio::sync::oneshot;

use crate::backend::RunningReplica;
use crate::error::SupervisorError;

pub use handle::{ReplicaHandle, Started};
pub use log::{LogOpener, OpenLog};

/// What a replica job needs to know besides its backend.
#[derive(Debug, Clone)]
pub struct JobConfig {
    /// The replica to run.
    pub spec: ReplicaSpec,
    /// When to restart it.
    pub restart: RestartPolicy,
    /// How long to wait between restarts, and when to give up.
    pub backoff: BackoffPolicy,
    /// Where its log and record live.
    pub state: StateDir,
    /// [`spec_hash`](crate::records::spec_hash) of `spec`, written into the record.
    pub spec_hash: String,
    /// Restarts already counted (for an adopted replica).
    pub restarts: u32,
    /// Opens its log file at each (re)start.
    pub log_opener: LogOpener,
    /// How long one run may last before it is stopped and given up on (a task's
    /// `timeout`); `None` for a service, which runs until stopped.
    pub deadline: Option<Duration>,
}

/// A replica as its job last published it.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Where it is in its life.
    pub state: ReplicaState,
    /// Its current process, while one runs.
    pub running: Option<Arc<dyn RunningReplica>>,
    /// Restarts so far.
    pub restarts: u32,
    /// When its current process started (Unix seconds).
    pub started_at: Option<u64>,
    /// Why it is backing off, crashed or exited.
    pub reason: Option<String>,
    /// How its last run ended, and how long that run lasted.
    pub last_exit: Option<(ProcessEnd, Duration)>,
    /// The restarts in a row after which the restart policy gave up on it.
    pub gave_up_after: Option<u32>,
}

/// Messages to a replica's task.
#[derive(Debug)]
pub(crate) enum Control {
    /// Stop it; a second stop while stopping kills at once.
    Stop,
    /// Send a signal to its process tree.
    Signal(Signal, oneshot::Sender<Result<usize, SupervisorError>>),
    /// Stop it if it runs, then start it again at once (no backoff); answered once the new
    /// run has begun. Dropped while a stop runs, and by a stopped replica.
    Restart(oneshot::Sender<()>),
}
