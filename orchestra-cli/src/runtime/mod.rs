//! The fleet runtime: what the per-project daemon runs, as an object with typed methods
//! that a test (or another front end) calls without a socket.
//!
//! It composes the libraries: the supervisor's [`Engine`] (on the host, or over Docker
//! containers, see [`modes`]), the vendors' containers ([`vendors`]), the care of the log
//! files ([`logs`]) and the rerun pipeline of each engine. The daemon
//! ([`crate::daemon::server`]) is a thin server in front of it: accept, check the peer,
//! read one request, call one method, write the answer.
//!
//! # How it works
//!
//! - Every method that brings the project ([`Runtime::start`], [`Runtime::restart`],
//!   [`Runtime::scale`], vendors up and down) saves it as the fleet's last known project
//!   and goes to the engine of the fleet's saved [`FleetMode`]. The first one also adopts
//!   the replicas a previous daemon left running, through that engine.
//! - A start runs in order: its counts checked against the fleet's ports, the vendors it
//!   needs up and ready, then the engine's start with its hygiene (strays stopped, or
//!   refused with `keep_strays`; ports checked), then the rerun watch of what it started.
//! - A stop (or a shutdown) cancels a start in progress: a migration task may run for
//!   minutes, and the stop must not queue behind the start that waits for it.

pub mod docker;
mod error;
pub mod logs;
pub mod modes;
mod priority;
pub mod vendors;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

use orchestra_core::protocol::Progress;
use orchestra_core::spec::ProjectSpec;
use orchestra_core::{ReplicaStatus, ServiceName, StateDir, VendorName};
use orchestra_supervisor::{Engine, Hygiene, Outcome, RerunRuntime, StartOptions};
use orchestra_vendors::TakenDown;
use tokio::sync::{mpsc, watch};

pub use error::RuntimeError;
pub use modes::FleetMode;
use modes::{Modes, Route};
use vendors::{VendorRuntime, vendors_needed};

/// Where progress goes while a request runs.
pub type Events = mpsc::UnboundedSender<Progress>;

/// A start, as `orchestra start` asks for it (the request's own type: the daemon hands it
/// over as it came).
pub use orchestra_core::protocol::StartRequest as Start;

/// The fleet runtime of one project. Create it inside a tokio runtime.
pub struct Runtime {
    state: StateDir,
    /// Whether the replicas left by a previous daemon were adopted yet (done with the
    /// first project seen: its specs say how to restart and stop them).
    adopted: AtomicBool,
    /// Vendor containers and the streams of their output.
    vendors: VendorRuntime,
    /// Log rotation settings of the project, from the latest request that brought them.
    log_settings: logs::SharedSettings,
    /// The engines (host, Docker) and which one runs the fleet.
    modes: Modes,
    /// Counts the stops asked for: a start gives way to a stop that comes after it.
    stops: watch::Sender<u64>,
    /// Whether the latest project seen has vendors (see [`Runtime::vendors_follow_a_stop`]).
    has_vendors: AtomicBool,
}

impl Runtime {
    /// A runtime keeping its records in `state`, with the care of the log files running.
    pub fn new(state: StateDir) -> Self {
        let log_settings = logs::SharedSettings::default();
        logs::spawn_log_care(state.logs_dir(), log_settings.clone());
        let engine = Engine::new(state.clone()).with_log_opener(logs::opener(log_settings.clone()));
        let rerun = RerunRuntime::new(engine.clone(), state.clone());
        Self {
            modes: Modes::new(state.clone(), log_settings.clone(), engine, rerun),
            log_settings,
            state,
            adopted: AtomicBool::new(false),
            vendors: VendorRuntime::default(),
            stops: watch::channel(0).0,
            has_vendors: AtomicBool::new(false),
        }
    }

    /// Starts what `start` asks for and waits until it is ready; see the module's "How it
    /// works". The start is given up (builds killed, what it launched stopped) once
    /// `gave_up` turns true (its client hung up) or a stop is asked for.
    ///
    /// # Errors
    ///
    /// Nothing started: the counts do not fit the ports, the fleet runs in the other mode,
    /// Docker does not answer, or a vendor failed.
    pub async fn start(
        &self,
        start: Start,
        events: Events,
        gave_up: watch::Receiver<bool>,
    ) -> Result<Outcome, RuntimeError> {
        // Subscribed before anything starts: a stop asked for from here on cancels this
        // start, whichever step it is in.
        let stops = self.stops.subscribe();
        let Start {
            project,
            services,
            scale,
            no_build,
            rerun,
            keep_strays,
            docker,
        } = start;
        let route = self.route(&project, &events).await?;
        let want = FleetMode::of_start(docker);
        let (route, _starting) = self.modes.enter(route, want, &project, &events).await?;
        let engine = &route.engine;
        // The counts checked against the fleet's ports before the vendors start; the
        // engine checks them again as it starts.
        engine
            .plan(&project, &scale)
            .map_err(RuntimeError::Refused)?;
        // Vendors first: the services that need them expect them ready.
        let needed = vendors_needed(&project, &services);
        if !needed.is_empty() {
            self.vendors.up(&project, &needed, events.clone()).await?;
        }
        let selected: Vec<ServiceName> = if services.is_empty() {
            project.services.keys().cloned().collect()
        } else {
            services.clone()
        };
        let opts = StartOptions {
            scale,
            no_build,
            hygiene: if keep_strays {
                Hygiene::RefuseStrays
            } else {
                Hygiene::StopStrays
            },
        };
        let cancelled = gave_up_or_stopped(gave_up.clone(), stops.clone());
        let outcome = engine
            .start_unless(&project, &services, opts, events, cancelled)
            .await;
        let given_up = *gave_up.borrow() || stops.has_changed().unwrap_or(false);
        // What the start held back is not watched: a change would start it anyway.
        let watched: Vec<ServiceName> = selected
            .into_iter()
            .filter(|s| !outcome.held_back.contains(s))
            .collect();
        route
            .rerun
            .watch(&project, &watched, rerun && !given_up)
            .await;
        Ok(outcome)
    }

    /// Stops `services` (all when empty, which also takes down what a Docker-mode fleet
    /// left and forgets its mode); a start in progress gives way.
    pub async fn stop(&self, services: &[ServiceName], events: Events) -> Outcome {
        self.stops.send_modify(|n| *n += 1);
        let route = self.modes.current().await;
        route.rerun.unwatch(services).await;
        let outcome = route.engine.stop(services, events.clone()).await;
        if services.is_empty() {
            self.modes.stopped_all(&route, &events).await;
        }
        outcome
    }

    /// Rebuilds and replaces `services` (all when empty).
    ///
    /// # Errors
    ///
    /// The fleet runs in Docker and Docker does not answer.
    pub async fn restart(
        &self,
        project: &ProjectSpec,
        services: &[ServiceName],
        events: Events,
    ) -> Result<Outcome, RuntimeError> {
        let route = self.route(project, &events).await?;
        Ok(route.engine.restart(project, services, events).await)
    }

    /// Changes replica counts of the running fleet.
    ///
    /// # Errors
    ///
    /// The fleet runs in Docker and Docker does not answer.
    pub async fn scale(
        &self,
        project: &ProjectSpec,
        scale: &BTreeMap<ServiceName, u32>,
        events: Events,
    ) -> Result<Outcome, RuntimeError> {
        let route = self.route(project, &events).await?;
        Ok(route.engine.scale(project, scale, events).await)
    }

    /// Every replica's and vendor's `ps` row. Before any request brought the project's
    /// specs nothing was adopted yet: the records are the truth then.
    pub async fn status(&self) -> Vec<ReplicaStatus> {
        let route = self.modes.current().await;
        let mut replicas = if self.adopted.load(Ordering::SeqCst) {
            route.engine.status().await
        } else {
            orchestra_supervisor::status_from_records(&self.state)
        };
        for row in &mut replicas {
            if row.reason.is_none() {
                row.reason = route.rerun.failure(&row.service).await;
            }
        }
        replicas.extend(self.vendors.status().await);
        replicas
    }

    /// Brings vendors up (all when `names` is empty) and waits until they are ready.
    ///
    /// # Errors
    ///
    /// Docker does not answer, or a vendor failed (to pull, to start, to be ready).
    pub async fn vendors_up(
        &self,
        project: &ProjectSpec,
        names: &[VendorName],
        events: Events,
    ) -> Result<(), RuntimeError> {
        self.remember(project);
        self.vendors.up(project, names, events).await
    }

    /// Takes vendors down (all when `names` is empty); their named volumes go only with
    /// `volumes`. Returns what was taken down.
    ///
    /// # Errors
    ///
    /// Docker does not answer (once vendors were up), or a container could not go.
    pub async fn vendors_down(
        &self,
        project: &ProjectSpec,
        names: &[VendorName],
        volumes: bool,
    ) -> Result<TakenDown, RuntimeError> {
        self.remember(project);
        self.vendors.down(project, names, volumes).await
    }

    /// Stops the whole fleet before the daemon leaves; a start in progress gives way.
    pub async fn shutdown(&self, events: Events) -> Outcome {
        self.stop(&[], events).await
    }

    /// The engine that runs the fleet now (on the host or in Docker), for its event
    /// stream ([`Engine::subscribe`]).
    pub async fn engine(&self) -> Engine {
        self.modes.current().await.engine
    }

    /// Whether nothing is left to supervise, to stream or to rebuild: the daemon may leave.
    pub async fn is_idle(&self) -> bool {
        let host = self.modes.host();
        host.engine.is_idle().await
            && self.vendors.is_idle().await
            && host.rerun.is_idle().await
            && self.modes.is_idle().await
    }

    /// Writes the records of the running fleet (and its mode) again, after the state
    /// folder was removed or replaced under it. Returns how many records were written.
    pub async fn rewrite_records(&self) -> usize {
        self.modes.rewrite_records().await
    }

    /// Saves `project` as the fleet's last known one.
    fn remember(&self, project: &ProjectSpec) {
        self.has_vendors
            .store(!project.vendors.is_empty(), Ordering::SeqCst);
        crate::last_known::save_in_background(&self.state, project);
    }

    /// Whether a client's stop of the whole fleet is followed by a request to take the
    /// vendors down (the latest project seen has vendors): the daemon must still be there
    /// to answer it, since only it knows that vendors it never brought up need no engine.
    pub fn vendors_follow_a_stop(&self) -> bool {
        self.has_vendors.load(Ordering::SeqCst)
    }

    /// The engine of the fleet's saved mode for a request that brings `project`, which
    /// also brings the current log settings; adopts what a previous daemon left running
    /// the first time.
    async fn route(&self, project: &ProjectSpec, events: &Events) -> Result<Route, RuntimeError> {
        self.remember(project);
        let route = self.modes.route(project).await?;
        *self
            .log_settings
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = project.logs;
        if !self.adopted.swap(true, Ordering::SeqCst) {
            let adopted = route.engine.adopt(project).await;
            if !adopted.is_empty() {
                tracing::info!(count = adopted.len(), "adopted running replicas");
            }
            self.modes.adopted(&route, events).await;
        }
        Ok(route)
    }
}

/// Completes once the client of the request gave up, or a stop was asked for since
/// `stops` was subscribed.
async fn gave_up_or_stopped(mut gave_up: watch::Receiver<bool>, mut stops: watch::Receiver<u64>) {
    let client = async move {
        if gave_up.wait_for(|gone| *gone).await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let stop_asked = async move {
        if stops.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        () = client => {}
        () = stop_asked => {}
    }
}
