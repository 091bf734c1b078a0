//! The process supervisor of Orchestra: real processes run reliably and are stopped
//! completely.
//!
//! **For** a Rust program that runs a fleet of local processes and wants what a
//! process manager gives: start in dependency order with readiness probes, restart with
//! backoff, scale, stop whole process trees (nothing left behind), an event stream of
//! everything that happens, and rerun on file changes. **Not for** reading configuration
//! files (that is `orchestra-config`, which resolves them into the [`ProjectSpec`] this
//! crate runs), Docker containers (`orchestra-vendors` adds a Docker backend), log files
//! beyond handing each replica its own (`orchestra-logs`), or a control socket (the
//! `orchestra` CLI's daemon). It never prints: it emits `tracing` events and
//! [`FleetEvent`]s.
//!
//! The shortest use: `let engine = Engine::new(StateDir::for_project(root));`, then
//! `engine.start(&project, &[], StartOptions::default(), progress).await`,
//! `engine.status().await` and `engine.stop(&[], progress).await`, reading
//! [`Engine::subscribe`] meanwhile (the example below; `examples/embed.rs` runs a fleet
//! with a TCP dependency and a restart policy, prints its events and stops on Ctrl-C).
//!
//! [`ProjectSpec`]: orchestra_core::spec::ProjectSpec
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
//! - Each replica leads its own process group inside the supervisor's session (one
//!   session for the fleet, which the scheduler weighs as one against the user's
//!   terminal), spawned with `posix_spawn`; its stdout and stderr *are* its log file,
//!   opened for appending, so the supervisor is never on the write path. Its environment
//!   carries a unique `ORCHESTRA_INSTANCE` token.
//! - A replica's process tree is its group, the descendants of its members (by parent
//!   pid), and any process carrying its token — which finds a daemon that double-forked
//!   out of the group. Every member is identified by pid *and* start time
//!   ([`IdentityExt`]), so a recycled pid is never signalled.
//! - The daemon calls [`enable_subreaper`]: orphans of replicas are reparented to it and
//!   stay findable; a reaper thread reaps the dead ones without stealing the statuses
//!   tokio waits for. A live one that left every tie to its replica (group, folder,
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
//! - While a replica runs, a line of `.orchestra/run/replicas.jsonl` records it
//!   ([`ReplicaRecord`]); a new daemon adopts live replicas from the records.
//! - Every step is an event ([`event`]): the replica jobs and the engine emit a
//!   [`FleetEvent`] as it happens (started with its pid, ready, exited with its status and
//!   run time, restarting after a delay, crashed or given up on, builds, reruns) into a
//!   bounded broadcast ring that [`Engine::subscribe`] reads. A slow subscriber never slows
//!   the engine: past [`EventBus::CAPACITY`] events behind it is told what it missed.
//!
//! # Example
//!
//! A tiny fleet of `sh` and `sleep` processes: `api` waits for `db` to say it is ready.
//! Started, its status checked, stopped, with the events of it all:
//!
//! ```
//! use std::collections::BTreeMap;
//! use std::time::Duration;
//!
//! use orchestra_core::spec::{CommandSpec, Dependency, ProjectSpec, ReadyCheck, ReadyProbe, ServiceSpec};
//! use orchestra_core::{ProjectName, ReplicaState, ServiceName, StateDir};
//! use orchestra_supervisor::{Engine, FleetEvent, StartOptions};
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let db_name = ServiceName::new("db")?;
//! let db = ServiceSpec {
//!     // Ready once its log says so.
//!     ready: Some(ReadyProbe {
//!         check: ReadyCheck::Log { regex: "accepting connections".into() },
//!         timeout: Duration::from_secs(10),
//!         interval: Duration::from_millis(20),
//!     }),
//!     ..ServiceSpec::command(db_name.clone(), dir.path(), CommandSpec::Shell(
//!         "echo accepting connections; exec sleep 60".into(),
//!     ))
//! };
//! let api = ServiceSpec {
//!     depends_on: vec![Dependency::Service(db_name)],
//!     ..ServiceSpec::command(ServiceName::new("api")?, dir.path(), CommandSpec::Shell(
//!         "exec sleep 60".into(),
//!     ))
//! };
//! let project = ProjectSpec {
//!     services: BTreeMap::from([(db.name.clone(), db), (api.name.clone(), api)]),
//!     ..ProjectSpec::empty(ProjectName::new("demo")?, dir.path())
//! };
//!
//! let engine = Engine::new(StateDir::for_project(dir.path()));
//! let mut events = engine.subscribe();
//! let (progress, _) = tokio::sync::mpsc::unbounded_channel();
//! let outcome = engine.start(&project, &[], StartOptions::default(), progress.clone()).await;
//! assert!(outcome.is_ok(), "{outcome:?}");
//!
//! let mut status = engine.status().await;
//! status.sort_by(|a, b| a.service.cmp(&b.service));
//! let states: Vec<_> = status.iter().map(|r| (r.service.as_str(), r.state)).collect();
//! assert_eq!(states, [("api", ReplicaState::Running), ("db", ReplicaState::Running)]);
//! assert!(status.iter().all(|r| r.pid.is_some()));
//!
//! assert!(engine.stop(&[], progress).await.is_ok());
//! assert!(engine.status().await.iter().all(|r| !r.state.is_alive()));
//!
//! let mut seen = Vec::new();
//! while let Some(Ok(event)) = events.try_recv() {
//!     match event {
//!         FleetEvent::Ready { replica, .. } => seen.push(format!("{replica} ready")),
//!         FleetEvent::Stopped { replica } => seen.push(format!("{replica} stopped")),
//!         _ => {}
//!     }
//! }
//! // `api` starts once `db` is ready, and stops first.
//! assert_eq!(seen, ["db.0 ready", "api.0 ready", "api.0 stopped", "db.0 stopped"]);
//! # Ok(())
//! # }
//! ```

pub mod backend;
pub mod engine;
pub mod error;
pub mod event;
pub mod job;
mod journal;
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
pub use records::{
    ReplicaRecord, read_records, spec_hash, status_from_records, stop_from_records, tidy_records,
};
pub use rerun::RerunRuntime;
pub use stop::{StopPlan, StopReport, stop_replica};
pub use strays::{PortHolder, Stray, StrayReason, find_strays, port_holder, stop_strays};
pub use unix::identity::{IdentityExt, Liveness};
pub use unix::subreaper::enable_subreaper;
pub use unix::{FLEET_NICE, UnixReplica, UnixSupervisor, new_instance};
pub use watch::{FleetWatcher, WatchError, WatchEvent};
