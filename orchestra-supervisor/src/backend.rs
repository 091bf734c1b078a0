//! The narrow interface every backend implements: spawn, signal, wait, adopt.
//!
//! Restart policy, backoff, readiness and the stop ladder are written once above it
//! (`job`, `stop`), so a Docker backend only has to run, signal and watch one replica.

use std::fmt;
use std::fs::File;
use std::sync::Arc;

use async_trait::async_trait;
use orchestra_core::spec::ReplicaSpec;
use orchestra_core::{ProcessEnd, ProcessIdentity, Signal};

use crate::error::SupervisorError;

/// A backend that runs replicas.
#[async_trait]
pub trait Supervisor: Send + Sync + fmt::Debug + 'static {
    /// Starts one replica; its stdout and stderr go to `log` (opened for appending).
    async fn spawn(
        &self,
        spec: &ReplicaSpec,
        log: File,
    ) -> Result<Arc<dyn RunningReplica>, SupervisorError>;

    /// Takes over a replica started earlier (by a daemon that has since died), if its
    /// identity still matches a live process; `None` when it is gone.
    async fn adopt(
        &self,
        identity: &ProcessIdentity,
        instance: &str,
    ) -> Option<Arc<dyn RunningReplica>>;
}

/// One running replica: its whole process tree, not only the main process.
#[async_trait]
pub trait RunningReplica: Send + Sync + fmt::Debug {
    /// Who the main process is.
    fn identity(&self) -> &ProcessIdentity;

    /// A token unique to this run (the `ORCHESTRA_INSTANCE` variable of its environment),
    /// which finds its descendants even after they left its process group.
    fn instance(&self) -> &str;

    /// Sends `signal` to every process of the replica whose identity still matches.
    /// Returns how many were signalled.
    async fn signal(&self, signal: Signal) -> Result<usize, SupervisorError>;

    /// Waits until the main process ends. Cancel-safe; may be awaited by several callers.
    async fn wait(&self) -> ProcessEnd;

    /// How the main process ended, if it has.
    fn end(&self) -> Option<ProcessEnd>;

    /// Whether any process of the replica is still alive (leftovers may outlive the main
    /// process).
    async fn alive(&self) -> bool;

    /// Resource use of the process tree.
    async fn stats(&self) -> TreeStats;

    /// Whether the replica itself listens on TCP `port` of the host, as of now: a
    /// readiness probe that reached the port counts only then, since another program
    /// (another replica started on the same port, a forgotten server) would answer too.
    async fn listens_on(&self, port: u16) -> bool;
}

/// Resource use of a replica's process tree, for `ps`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TreeStats {
    /// Live processes in the tree.
    pub pids: Vec<i32>,
    /// CPU time of the live processes divided by the time since the main process started,
    /// in percent of one core: an average over the replica's life, not an instantaneous
    /// rate (which would need two samples and a delay).
    pub cpu_percent: f64,
    /// Resident memory of the live processes, summed.
    pub rss_bytes: u64,
    /// TCP ports the tree listens on, sorted.
    pub ports: Vec<u16>,
}
