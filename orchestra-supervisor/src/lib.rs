//! The process supervisor of Orchestra: real processes run reliably and are stopped
//! completely.
//!
//! Three layers, each usable on its own:
//! - a narrow [`Supervisor`] backend trait (spawn, signal, wait, adopt) and its Unix
//!   implementation [`UnixSupervisor`];
//! - a replica job ([`ReplicaHandle`]): one task per replica that applies the restart
//!   policy, backoff and readiness probe, driven by messages through cloneable handles;
//! - the fleet [`Engine`]: one owner of the fleet that builds services, starts them in
//!   dependency order, scales, restarts, stops and adopts them.
//!
//! Replica records ([`read_records`], [`status_from_records`], [`stop_from_records`])
//! work without any of them, for `ps` and `stop` when no daemon runs.
//!
//! Rerun on change sits on top of the engine: a [`FleetWatcher`] ([`watch`]) turns file
//! changes into the names of the services they concern, and a [`RerunRuntime`] ([`rerun`])
//! runs each one's pipeline — build, tests when asked, then the replicas replaced one at a
//! time; a failed build or test keeps the old replicas serving.
//!
//! # How it works
//!
//! - Each replica leads its own session (and so process group), spawned through
//!   process-wrap's `ProcessSession`; its stdout and stderr *are* its log file, opened for
//!   appending, so the supervisor is never on the write path. Its environment carries a
//!   unique `ORCHESTRA_INSTANCE` token.
//! - A replica's process tree is its session and group, the descendants of its members
//!   (by parent pid), and any process carrying its token — which finds a daemon that
//!   double-forked out of the session. Every member is identified by pid *and* start time
//!   ([`IdentityExt`]), so a recycled pid is never signalled.
//! - The daemon calls [`enable_subreaper`]: orphans of replicas are reparented to it and
//!   stay findable; a reaper thread reaps the dead ones without stealing the statuses
//!   tokio waits for. A live one that left every tie to its replica (session, folder,
//!   token) still belongs to the fleet: [`unix::orphans`] stops it with the fleet.
//! - A `/proc` that cannot be read (out of descriptors) never counts as "the process is
//!   gone" ([`Liveness::Unreadable`]): a stop keeps looking, and a record stays until its
//!   processes are seen gone. A job whose task panics has its replica stopped.
//! - Stopping follows a fixed ladder ([`stop::next_step`], pure): stop signal to the whole
//!   tree, up to `stop_timeout` of polling, then SIGKILL to whatever is left; a second stop
//!   kills at once, a zero timeout kills at once.
//! - The engine builds every service of a start at once (one build per core), then starts
//!   them level by level of the dependency graph, each waiting for its dependencies'
//!   readiness; a replica that ends before it is ready fails the start at once (it keeps
//!   its restart policy). Stopping goes down the levels: dependants first.
//! - A start may first clear the ground ([`Hygiene`]): copies of its services running
//!   outside the engine ([`strays`]) are stopped, or the start is refused, and a service
//!   whose port another program holds is held back with the holder named. What depends on
//!   a service held back, or on one whose build or start failed, is not started: one
//!   cascade, which `status` shows (`not started: dependency `web` failed`).
//! - Each run of a replica gets its log file from a [`LogOpener`] hook (by default: append),
//!   so the embedding program decides what happens to the previous run's output.
//! - While a replica runs, `.orchestra/run/<service>.<n>.json` records it
//!   ([`ReplicaRecord`]); a new daemon adopts live replicas from them.
//!
//! # Example
//!
//! Supervise two processes with a restart policy:
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use orchestra_core::policy::{BackoffPolicy, RestartPolicy};
//! use orchestra_core::spec::{CommandSpec, ReplicaSpec};
//! use orchestra_core::{ReplicaId, ServiceName, Signal, StateDir};
//! use orchestra_supervisor::{JobConfig, LogOpener, ReplicaHandle, UnixSupervisor, spec_hash};
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let state = StateDir::at("/tmp/demo/.orchestra");
//! state.create()?;
//! let backend = Arc::new(UnixSupervisor);
//! let mut replicas = Vec::new();
//! for (name, script) in [("ticker", "while :; do date; sleep 1; done"), ("flaky", "sleep 2; exit 1")] {
//!     let spec = ReplicaSpec {
//!         id: ReplicaId::new(ServiceName::new(name)?, 0),
//!         dir: "/tmp".into(),
//!         command: CommandSpec::Shell(script.into()),
//!         env: Default::default(),
//!         port: None,
//!         ready: None,
//!         stop_signal: Signal::TERM,
//!         stop_timeout: Duration::from_secs(5),
//!     };
//!     let config = JobConfig {
//!         spec_hash: spec_hash(&spec),
//!         spec,
//!         restart: RestartPolicy::OnFailure, // `flaky` comes back, with backoff
//!         backoff: BackoffPolicy::default(),
//!         state: state.clone(),
//!         restarts: 0,
//!         log_opener: LogOpener::default(),
//!         deadline: None,
//!     };
//!     replicas.push(ReplicaHandle::start(backend.clone(), config, None));
//! }
//! for r in &replicas {
//!     r.wait_ready().await?;
//! }
//! tokio::time::sleep(Duration::from_secs(10)).await;
//! for r in &replicas {
//!     println!("{:?}", r.status().await);
//!     r.stop().await; // stop signal, grace, SIGKILL: the whole process tree
//! }
//! # Ok(())
//! # }
//! ```

pub mod backend;
pub mod engine;
pub mod error;
pub mod event;
pub mod job;
pub mod probe;
pub mod records;
pub mod rerun;
pub mod stop;
pub mod strays;
pub mod unix;
mod unrecorded;
pub mod watch;

pub use backend::{RunningReplica, Supervisor, TreeStats};
pub use engine::{Engine, Failed, Hygiene, Outcome, StartOptions};
pub use error::SupervisorError;
pub use event::{EventBus, FleetEvent, Missed, Subscription};
pub use job::{JobConfig, LogOpener, OpenLog, ReplicaHandle, Snapshot, Started};
pub use orchestra_core::policy::{Backoff, BackoffPolicy, RestartPolicy};
pub use records::{ReplicaRecord, read_records, spec_hash, status_from_records, stop_from_records};
pub use rerun::RerunRuntime;
pub use stop::{StopPlan, StopReport, stop_replica};
pub use strays::{PortHolder, Stray, StrayReason, find_strays, port_holder, stop_strays};
pub use unix::identity::{IdentityExt, Liveness};
pub use unix::subreaper::enable_subreaper;
pub use unix::{UnixReplica, UnixSupervisor, new_instance};
pub use watch::{FleetWatcher, WatchError};
