//! The fleet engine: one owner of the fleet's state, fed by a channel of requests.
//!
//! Requests (start, stop, restart, scale, adopt) are carried out one at a time by the owner
//! task, so two concurrent starts give one replica per service. Inside a request, services
//! start in dependency order, independent ones in parallel, each waiting until its
//! dependencies are ready. `status` and `is_idle` read the replica handles directly and
//! never wait behind a long start.

pub(crate) mod build;
mod fleet;
mod hygiene;
mod options;
mod order;
mod outcome;
mod pending;
mod start;
mod up;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use orchestra_core::protocol::Progress;
use orchestra_core::scale::{PlanRefused, check_port_plan};
use orchestra_core::spec::ProjectSpec;
use orchestra_core::{ReplicaId, ReplicaState, ReplicaStatus, ServiceName, StateDir};
use tokio::sync::{mpsc, oneshot};

use crate::backend::Supervisor;
use crate::error::SupervisorError;
use crate::event::{EventBus, Subscription};
use crate::job::{LogOpener, OpenLog, ReplicaHandle};
use crate::records::ReplicaRecord;
use crate::unix::UnixSupervisor;
use fleet::{Cancelled, Fleet, Op};
use pending::Pending;

pub use options::{Hygiene, StartOptions};
pub use outcome::{Failed, Outcome};

pub(crate) type Replicas = Arc<Mutex<BTreeMap<ReplicaId, ReplicaHandle>>>;

/// Replica counts set at run time (`start --scale`, `scale`), which hold over the files'
/// `scale` until the service is stopped or scaled again.
pub(crate) type Scaled = Arc<Mutex<BTreeMap<ServiceName, u32>>>;

/// The log opener, settable after the engine started.
pub(crate) type SharedOpener = Arc<RwLock<LogOpener>>;

pub(crate) fn lock(
    replicas: &Replicas,
) -> std::sync::MutexGuard<'_, BTreeMap<ReplicaId, ReplicaHandle>> {
    replicas.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A cloneable handle on the fleet engine. Create it inside a tokio runtime.
#[derive(Debug, Clone)]
pub struct Engine {
    state: StateDir,
    requests: mpsc::UnboundedSender<Op>,
    replicas: Replicas,
    scaled: Scaled,
    log_opener: SharedOpener,
    pending: Pending,
    bus: EventBus,
}

impl Engine {
    /// An engine running replicas as local processes, keeping its records in `state`.
    pub fn new(state: StateDir) -> Self {
        Self::with_backend(state, Arc::new(UnixSupervisor))
    }

    /// An engine over any backend.
    pub fn with_backend(state: StateDir, backend: Arc<dyn Supervisor>) -> Self {
        let replicas = Replicas::default();
        let scaled = Scaled::default();
        let log_opener = SharedOpener::default();
        let pending = Pending::default();
        let bus = EventBus::new();
        let (requests, inbox) = mpsc::unbounded_channel();
        let fleet = Fleet::new(
            state.clone(),
            backend,
            (replicas.clone(), scaled.clone()),
            log_opener.clone(),
            (pending.clone(), bus.clone()),
        );
        tokio::spawn(fleet.run(inbox));
        Self {
            state,
            requests,
            replicas,
            scaled,
            log_opener,
            pending,
            bus,
        }
    }

    /// Subscribes to the fleet's events from now on: each replica started (with its pid),
    /// ready, exited (exit code or signal, and how long it ran), restarting (after which
    /// delay), crashed or given up on, stopping and stopped; each build started, failed or
    /// succeeded; a service waiting for a dependency or not started; a rerun triggered by
    /// changed files and how it went. They are emitted by the replica jobs and the engine
    /// as things happen, whichever request (or none: a crash) caused them.
    ///
    /// Subscribers never slow the engine down: one that falls more than
    /// [`EventBus::CAPACITY`] events behind misses the oldest and is told how many
    /// ([`Missed`](crate::event::Missed)); see [`event`](crate::event).
    pub fn subscribe(&self) -> Subscription {
        self.bus.subscribe()
    }

    /// The stream the engine emits into: replicas an embedding program starts itself
    /// ([`ReplicaHandle::start`]) with this bus report into the engine's subscribers.
    pub fn bus(&self) -> &EventBus {
        &self.bus
    }

    /// The handle of replica `id`, while the engine supervises it: to signal or restart
    /// that one replica. A replica stopped through the engine is forgotten by it.
    pub fn replica(&self, id: &ReplicaId) -> Option<ReplicaHandle> {
        lock(&self.replicas).get(id).cloned()
    }

    /// Opens each replica's log at every (re)start with `open` instead of appending to it:
    /// the embedding program decides what happens to the previous run's output (the CLI
    /// rotates it). Applies to replicas started from now on.
    #[must_use]
    pub fn with_log_opener(self, open: Arc<OpenLog>) -> Self {
        *self
            .log_opener
            .write()
            .unwrap_or_else(PoisonError::into_inner) = LogOpener::new(open);
        self
    }

    async fn ask<T>(&self, op: impl FnOnce(oneshot::Sender<T>) -> Op, default: T) -> T {
        let (tx, rx) = oneshot::channel();
        if self.requests.send(op(tx)).is_err() {
            return default;
        }
        rx.await.unwrap_or(default)
    }

    /// Takes over the live replicas recorded in the state folder (left by a daemon that
    /// died) and keeps supervising them; records of dead processes are removed. An adopted
    /// replica is not our child, so its end is noticed by polling its identity once a
    /// second. Returns the adopted replicas.
    pub async fn adopt(&self, project: &ProjectSpec) -> Vec<ReplicaId> {
        let project = Arc::new(project.clone());
        self.ask(|reply| Op::Adopt { project, reply }, Vec::new())
            .await
    }

    /// The replica counts that differ from the files' `scale` because a start or a scale
    /// asked for them; they hold until the service is stopped or scaled again.
    pub fn scaled(&self) -> BTreeMap<ServiceName, u32> {
        lock_scaled(&self.scaled).clone()
    }

    /// The counts a request with `scale` would run (`scale` over [`Engine::scaled`]) if the
    /// fleet's port plan takes them: what [`Engine::start`] checks before anything starts,
    /// for a caller with work of its own to do first (vendors, strays).
    ///
    /// # Errors
    ///
    /// [`PlanRefused`] names the replica that would take a port another replica or a vendor
    /// claims, or the count over the limit.
    pub fn plan(
        &self,
        project: &ProjectSpec,
        scale: &BTreeMap<ServiceName, u32>,
    ) -> Result<BTreeMap<ServiceName, u32>, PlanRefused> {
        planned(project, &self.scaled(), scale)
    }

    /// Builds (unless `no_build`) and starts `services` (all when empty) with their
    /// dependencies, in dependency order, and waits until they are ready. Services already
    /// running with the same spec are left alone. A service runs the count `opts.scale`
    /// gives it, else the one a previous start or scale gave it, else its `scale`; the
    /// counts of the whole fleet must fit its ports, or nothing starts
    /// ([`Outcome::refused`](Outcome#structfield.refused)).
    pub async fn start(
        &self,
        project: &ProjectSpec,
        services: &[ServiceName],
        opts: StartOptions,
        events: mpsc::UnboundedSender<Progress>,
    ) -> Outcome {
        self.start_unless(project, services, opts, events, std::future::pending())
            .await
    }

    /// [`Engine::start`], given up when `cancelled` completes first: its builds are killed
    /// (their whole process group), the replicas it launched are stopped, and the outcome says
    /// the start was cancelled. Replicas that ran before the start are left alone.
    pub async fn start_unless(
        &self,
        project: &ProjectSpec,
        services: &[ServiceName],
        opts: StartOptions,
        events: mpsc::UnboundedSender<Progress>,
        cancelled: impl Future<Output = ()> + Send + 'static,
    ) -> Outcome {
        let project = Arc::new(project.clone());
        let services = services.to_vec();
        let cancelled: Cancelled = Box::pin(cancelled);
        self.ask(
            |reply| Op::Start {
                project,
                services,
                opts,
                events,
                cancelled,
                reply,
            },
            stopped_engine(),
        )
        .await
    }

    /// Stops `services` (all when empty): every process of every replica, and any replica
    /// recorded in the state folder but not supervised here. Dependants stop before their
    /// dependencies (as the latest project seen describes them), each level in parallel.
    /// Their runtime counts are forgotten: the next start follows the files.
    pub async fn stop(
        &self,
        services: &[ServiceName],
        events: mpsc::UnboundedSender<Progress>,
    ) -> Outcome {
        let services = services.to_vec();
        self.ask(
            |reply| Op::Stop {
                services,
                events,
                reply,
            },
            stopped_engine(),
        )
        .await
    }

    /// Rebuilds `services` (all when empty), then replaces their replicas, as many as
    /// they run (a runtime scale holds); a failed build leaves the old replicas running.
    pub async fn restart(
        &self,
        project: &ProjectSpec,
        services: &[ServiceName],
        events: mpsc::UnboundedSender<Progress>,
    ) -> Outcome {
        self.restart_with(project, services, events, true).await
    }

    /// [`Engine::restart`] without the build: replaces the replicas of `services` with what
    /// is built now. A rerun builds on its own first, so that a newer change can drop that
    /// build before anything is stopped.
    pub async fn replace(
        &self,
        project: &ProjectSpec,
        services: &[ServiceName],
        events: mpsc::UnboundedSender<Progress>,
    ) -> Outcome {
        self.restart_with(project, services, events, false).await
    }

    async fn restart_with(
        &self,
        project: &ProjectSpec,
        services: &[ServiceName],
        events: mpsc::UnboundedSender<Progress>,
        build: bool,
    ) -> Outcome {
        let project = Arc::new(project.clone());
        let services = services.to_vec();
        self.ask(
            |reply| Op::Restart {
                project,
                services,
                build,
                events,
                reply,
            },
            stopped_engine(),
        )
        .await
    }

    /// Changes replica counts, which then hold until the service is stopped or scaled
    /// again: new replicas start (without a build), after what the service depends on;
    /// surplus ones stop from the highest index down; running replicas are left alone.
    /// The counts of the whole fleet must fit its ports, or nothing changes.
    pub async fn scale(
        &self,
        project: &ProjectSpec,
        scale: &BTreeMap<ServiceName, u32>,
        events: mpsc::UnboundedSender<Progress>,
    ) -> Outcome {
        let project = Arc::new(project.clone());
        let scale = scale.clone();
        self.ask(
            |reply| Op::Scale {
                project,
                scale,
                events,
                reply,
            },
            stopped_engine(),
        )
        .await
    }

    /// Writes the record of every replica running now again, as its job wrote it: after
    /// the state folder was removed under a running fleet (`git clean -fdx`), so that a
    /// later `ps`, `stop` or daemon still finds the fleet. Returns how many were written.
    pub fn rewrite_records(&self) -> Result<usize, SupervisorError> {
        let records: Vec<ReplicaRecord> = lock(&self.replicas)
            .values()
            .filter_map(ReplicaHandle::record)
            .collect();
        for record in &records {
            record.write(&self.state)?;
        }
        Ok(records.len())
    }

    /// Every replica's `ps` row, sorted, with a row for each replica of a service a start
    /// has not started: `waiting` for a dependency, or `stopped` because one failed.
    pub async fn status(&self) -> Vec<ReplicaStatus> {
        let handles: Vec<ReplicaHandle> = lock(&self.replicas).values().cloned().collect();
        let mut rows = Vec::with_capacity(handles.len());
        for h in handles {
            rows.push(h.status().await);
        }
        self.pending.merge_into(&mut rows);
        rows
    }

    /// Whether there is nothing left to supervise or to show: no replica is alive, due to
    /// restart, or crashed (a crashed replica stays listed, with its reason, until it is
    /// stopped or started again). A daemon may then exit.
    #[expect(
        clippy::unused_async,
        reason = "async so that a backend needing to ask can be added without an API change"
    )]
    pub async fn is_idle(&self) -> bool {
        lock(&self.replicas)
            .values()
            .all(|h| matches!(h.state(), ReplicaState::Stopped | ReplicaState::Exited))
    }
}

fn stopped_engine() -> Outcome {
    Outcome::from_failures(vec![Failed::EngineStopped])
}

pub(crate) fn lock_scaled(
    scaled: &Scaled,
) -> std::sync::MutexGuard<'_, BTreeMap<ServiceName, u32>> {
    scaled.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `asked` over `sticky`, checked against the fleet's ports.
pub(crate) fn planned(
    project: &ProjectSpec,
    sticky: &BTreeMap<ServiceName, u32>,
    asked: &BTreeMap<ServiceName, u32>,
) -> Result<BTreeMap<ServiceName, u32>, PlanRefused> {
    let mut counts = sticky.clone();
    counts.extend(asked.iter().map(|(k, v)| (k.clone(), *v)));
    counts.retain(|name, _| project.services.contains_key(name));
    check_port_plan(project, &counts)?;
    Ok(counts)
}
