//! The crate's one error type.

use std::io;
use std::path::PathBuf;

use orchestra_core::ReplicaId;

/// What can go wrong while supervising.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SupervisorError {
    /// The replica's process could not be started.
    #[error("cannot spawn {replica} (`{command}`)")]
    Spawn {
        /// Which replica.
        replica: ReplicaId,
        /// The command as written.
        command: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Its log file could not be opened or duplicated.
    #[error("cannot open log file {}", path.display())]
    Log {
        /// The log file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A signal could not be delivered.
    #[error("cannot send {signal} to pid {pid}")]
    Signal {
        /// The signal's name.
        signal: String,
        /// The target.
        pid: i32,
        /// Why.
        #[source]
        source: nix::Error,
    },
    /// Waiting for a process failed.
    #[error("cannot wait for pid {pid}")]
    Wait {
        /// The process.
        pid: i32,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The child subreaper could not be enabled.
    #[error("cannot become the child subreaper")]
    Subreaper(#[source] nix::Error),
    /// A replica record could not be written or removed.
    #[error("cannot write replica record {}", path.display())]
    Record {
        /// The record file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// `/proc` could not be read whole (too many open files, …), so nothing could be
    /// decided about the processes it would have shown.
    #[error("cannot read the process table")]
    ProcessTable {
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A process is still alive after SIGKILL.
    #[error("{replica} still has processes after SIGKILL: {pids:?}")]
    Unkillable {
        /// Which replica.
        replica: String,
        /// The survivors.
        pids: Vec<i32>,
    },
}
