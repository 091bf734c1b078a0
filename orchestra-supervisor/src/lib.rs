//! The process supervisor of Orchestra.

pub mod backend;
pub mod engine;
pub mod error;
pub mod job;
pub mod records;
pub mod stop;
pub mod unix;

pub use backend::{RunningReplica, Supervisor, TreeStats};
pub use engine::{Engine, Outcome, StartOptions};
pub use error::SupervisorError;
pub use job::{JobConfig, ReplicaHandle, Snapshot};
pub use orchestra_core::policy::{Backoff, BackoffPolicy, RestartPolicy};
pub use records::{ReplicaRecord, read_records, spec_hash, status_from_records, stop_from_records};
pub use stop::{StopPlan, StopReport, stop_replica};
pub use unix::identity::{IdentityExt, Liveness};
pub use unix::subreaper::enable_subreaper;
pub use unix::{UnixReplica, UnixSupervisor};
