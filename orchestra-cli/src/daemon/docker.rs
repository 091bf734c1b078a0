//! The daemon's side of `start --docker`: a second fleet engine whose replicas are
//! containers, and the routing of every request to the engine that runs the fleet.
//!
//! # How it works
//!
//! - A fleet runs in one [`Mode`] at a time: on the host (the daemon's first engine) or in
//!   Docker (an engine over [`DockerSupervisor`], made on the first `start --docker`). The
//!   mode is saved in `.orchestra/mode`, so a daemon started after a crash makes the Docker
//!   engine *before* adopting, and adopts containers through it rather than as host
//!   processes. `start` in the other mode while replicas run is refused.
//! - Each engine has its own rerun runtime, so a change rebuilds through the engine that
//!   runs the service (rerun in Docker mode rebuilds the image and replaces the container).
//! - Containers of the project that no replica accounts for — left by a daemon that died,
//!   or started by hand with the project's labels — are reported and removed at each
//!   `start --docker`, after adoption, and after a stop of the whole fleet.
//! - Without a daemon, [`stop_without_daemon`] adopts the containers through a short-lived
//!   engine, stops them on the usual ladder through the Engine API (no signal to a pid that
//!   belongs to the container's user), and removes whatever is left.

use std::collections::HashSet;
use std::sync::Arc;

use orchestra_core::protocol::{Failure, Phase, Progress, Request};
use orchestra_core::spec::ProjectSpec;
use orchestra_core::{ReplicaId, ReplicaStatus, ServiceName, StateDir};
use orchestra_supervisor::{Engine, RerunRuntime};
use orchestra_vendors::backend::replica_container_name;
use orchestra_vendors::{DockerSupervisor, VendorError};
use tokio::sync::{Mutex, OwnedMutexGuard, mpsc};

use super::logs;
use crate::error::CliError;

type Events = mpsc::UnboundedSender<Progress>;

/// Where the fleet's replicas run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// As processes on this machine.
    Host,
    /// In Docker containers (`start --docker`).
    Docker,
}

impl Mode {
    /// The mode a start asks for.
    pub fn of_start(docker: bool) -> Self {
        if docker { Self::Docker } else { Self::Host }
    }

    /// The mode saved in the state folder; `Host` when none was.
    pub fn saved(state: &StateDir) -> Self {
        match std::fs::read_to_string(mode_file(state)) {
            Ok(text) if text.trim() == "docker" => Self::Docker,
            _ => Self::Host,
        }
    }

    /// Writes the mode down (atomically), for the next daemon and for `stop` without one.
    pub fn save(self, state: &StateDir) -> std::io::Result<()> {
        let text: &[u8] = match self {
            Self::Host => b"host\n",
            Self::Docker => b"docker\n",
        };
        orchestra_core::paths::atomic_write(&mode_file(state), text)
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Host => "on the host",
            Self::Docker => "in Docker",
        }
    }
}

fn mode_file(state: &StateDir) -> std::path::PathBuf {
    state.root().join("mode")
}

/// The engine a request goes to, with the rerun runtime that drives it.
#[derive(Clone)]
pub struct Route {
    /// The mode the engine runs replicas in.
    pub mode: Mode,
    /// The fleet engine.
    pub engine: Engine,
    /// Its rebuild-on-change runtime.
    pub rerun: Arc<RerunRuntime>,
}

/// The Docker engine, once made.
#[derive(Clone)]
struct DockerFleet {
    route: Route,
    backend: Arc<DockerSupervisor>,
}

/// Both engines of the daemon and the routing between them.
pub struct Modes {
    state: StateDir,
    log_settings: logs::SharedSettings,
    host: Route,
    docker: Mutex<Option<DockerFleet>>,
    /// Held through each start, from the choice of mode to the end: a start in one mode
    /// cannot slip in while a start in the other is still building.
    starts: Arc<Mutex<()>>,
}

/// A start in progress (see [`Modes::enter`]); the next start waits until it is dropped.
pub struct Starting(#[expect(dead_code, reason = "held for its drop")] OwnedMutexGuard<()>);

impl Modes {
    /// Routing over the daemon's host engine; the Docker engine is made when first needed.
    pub fn new(
        state: StateDir,
        log_settings: logs::SharedSettings,
        host: Engine,
        host_rerun: Arc<RerunRuntime>,
    ) -> Self {
        Self {
            state,
            log_settings,
            host: Route {
                mode: Mode::Host,
                engine: host,
                rerun: host_rerun,
            },
            docker: Mutex::new(None),
            starts: Arc::default(),
        }
    }

    /// The engine of the saved mode, for a request that brings `project` (the Docker
    /// engine is made, or handed the new project). A fleet saved in Docker mode with no
    /// replica recorded falls back to the host when no Docker engine answers.
    pub async fn route(&self, project: &ProjectSpec) -> Result<Route, Failure> {
        if Mode::saved(&self.state) == Mode::Host {
            return Ok(self.host.clone());
        }
        match self.docker_fleet(project).await {
            Ok(fleet) => Ok(fleet.route),
            Err(_) if orchestra_supervisor::read_records(&self.state).is_empty() => {
                Ok(self.host.clone())
            }
            Err(failure) => Err(failure),
        }
    }

    /// The engine of the saved mode, for a request without a project: the host's when
    /// the Docker engine was not made yet (nothing was adopted then either).
    pub async fn current(&self) -> Route {
        if Mode::saved(&self.state) == Mode::Docker
            && let Some(fleet) = self.docker.lock().await.as_ref()
        {
            return fleet.route.clone();
        }
        self.host.clone()
    }

    /// Switches to the mode a start asks for (refused while the other mode's engine still
    /// supervises replicas) and, in Docker mode, removes stray containers first. Hold the
    /// returned [`Starting`] until the start is done.
    pub async fn enter(
        &self,
        route: Route,
        want: Mode,
        project: &ProjectSpec,
        events: &Events,
    ) -> Result<(Route, Starting), Failure> {
        let starting = Starting(self.starts.clone().lock_owned().await);
        let route = if route.mode == want {
            route
        } else if route.engine.is_idle().await {
            match want {
                Mode::Host => self.host.clone(),
                Mode::Docker => self.docker_fleet(project).await?.route,
            }
        } else {
            return Err(Failure {
                unit: "orchestra".into(),
                reason: format!(
                    "the fleet runs {}; stop it first (orchestra stop)",
                    route.mode.describe()
                ),
                log_tail: Vec::new(),
            });
        };
        if Mode::saved(&self.state) != want {
            want.save(&self.state).map_err(|e| Failure {
                unit: "orchestra".into(),
                reason: format!("cannot save the fleet's mode: {e}"),
                log_tail: Vec::new(),
            })?;
        }
        self.remove_strays(&route, events).await;
        Ok((route, starting))
    }

    /// After the replicas of a Docker-mode fleet were adopted: removes the containers no
    /// replica accounts for.
    pub async fn adopted(&self, route: &Route, events: &Events) {
        self.remove_strays(route, events).await;
    }

    /// After a stop of the whole fleet: no container of it may be left, and the next start
    /// is free to choose its mode.
    pub async fn stopped_all(&self, route: &Route, events: &Events) {
        if route.mode != Mode::Docker {
            return;
        }
        self.remove_strays(route, events).await;
        if route.engine.is_idle().await
            && let Err(e) = Mode::Host.save(&self.state)
        {
            tracing::warn!(error = %e, "cannot save the fleet's mode");
        }
    }

    /// Writes the records of the running fleet (and its mode) again, after the state
    /// folder was recreated under it. Returns how many records were written.
    pub async fn rewrite_records(&self) -> usize {
        let rewrite = |engine: &Engine| {
            engine.rewrite_records().unwrap_or_else(|e| {
                tracing::warn!(error = %e, "cannot write the records again");
                0
            })
        };
        let mut written = rewrite(&self.host.engine);
        let docker = self.docker.lock().await.clone();
        if let Some(fleet) = docker
            && !fleet.route.engine.is_idle().await
        {
            if let Err(e) = Mode::Docker.save(&self.state) {
                tracing::warn!(error = %e, "cannot save the fleet's mode");
            }
            written += rewrite(&fleet.route.engine);
        }
        written
    }

    /// Whether the Docker engine (if made) supervises nothing and rebuilds nothing.
    pub async fn is_idle(&self) -> bool {
        let Some(fleet) = self.docker.lock().await.clone() else {
            return true;
        };
        fleet.route.engine.is_idle().await && fleet.route.rerun.is_idle().await
    }

    async fn docker_fleet(&self, project: &ProjectSpec) -> Result<DockerFleet, Failure> {
        let mut slot = self.docker.lock().await;
        if let Some(fleet) = slot.as_ref() {
            fleet.backend.set_project(project.clone());
            return Ok(fleet.clone());
        }
        let docker = orchestra_vendors::connect().await.map_err(|e| Failure {
            unit: "docker".into(),
            reason: crate::error::error_chain(&e),
            log_tail: Vec::new(),
        })?;
        let backend = Arc::new(DockerSupervisor::new(docker, project.clone()));
        let engine = Engine::with_backend(self.state.clone(), backend.clone())
            .with_log_opener(logs::opener(self.log_settings.clone()));
        let fleet = DockerFleet {
            route: Route {
                mode: Mode::Docker,
                rerun: RerunRuntime::new(engine.clone(), self.state.clone()),
                engine,
            },
            backend,
        };
        tracing::info!("made the Docker engine");
        *slot = Some(fleet.clone());
        Ok(fleet)
    }

    async fn remove_strays(&self, route: &Route, events: &Events) {
        if route.mode != Mode::Docker {
            return;
        }
        let Some(fleet) = self.docker.lock().await.clone() else {
            return;
        };
        let project = fleet.backend.project();
        let known: HashSet<String> = route
            .engine
            .status()
            .await
            .iter()
            .filter_map(|row| {
                let service = ServiceName::new(row.service.as_str()).ok()?;
                let id = ReplicaId::new(service, row.replica);
                Some(replica_container_name(&project.name, &id))
            })
            .collect();
        remove_stray_containers(&fleet.backend, &known, events).await;
    }
}

/// Removes the project's service containers not in `known`, reporting each; returns their
/// names.
async fn remove_stray_containers(
    backend: &DockerSupervisor,
    known: &HashSet<String>,
    events: &Events,
) -> Vec<String> {
    let strays = match backend.stray_containers(known).await {
        Ok(strays) => strays,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list the project's containers");
            return Vec::new();
        }
    };
    let mut removed = Vec::new();
    for stray in strays {
        tracing::info!(container = %stray.name, image = %stray.image, state = %stray.state, "removing a stray container");
        let message = match backend.remove_container(&stray.id).await {
            Ok(()) => {
                removed.push(stray.name.clone());
                format!("a stray container of {}, removed", stray.image)
            }
            Err(e) => format!("stray container, not removed: {e}"),
        };
        let _ = events.send(Progress {
            unit: stray.name,
            replica: None,
            phase: Phase::Stopped,
            message: Some(message),
        });
    }
    removed
}

/// Fills in the published port of running container replicas in `rows` read from the
/// records: their listening sockets live in the container's network namespace, where a
/// look at the host's `/proc` does not find them.
pub fn published_ports(state: &StateDir, rows: &mut [ReplicaStatus]) {
    let records = orchestra_supervisor::read_records(state);
    for row in rows
        .iter_mut()
        .filter(|r| r.pid.is_some() && r.ports.is_empty())
    {
        let port = records
            .iter()
            .find(|r| r.service.as_str() == row.service && r.replica == row.replica)
            .and_then(|r| r.port);
        row.ports.extend(port);
    }
}

/// The project a request brings, if any.
pub fn project_of(request: &Request) -> Option<&ProjectSpec> {
    match request {
        Request::Start { project, .. }
        | Request::Restart { project, .. }
        | Request::Scale { project, .. }
        | Request::VendorsUp { project, .. }
        | Request::VendorsDown { project, .. } => Some(project),
        Request::Stop { .. } | Request::Status | Request::Subscribe | Request::Shutdown => None,
    }
}

/// What [`stop_without_daemon`] stopped.
#[derive(Debug, Default)]
pub struct Stopped {
    /// Replicas that were running.
    pub replicas: Vec<ReplicaId>,
    /// Containers no replica accounted for, removed.
    pub strays: Vec<String>,
}

/// Stops `services` (all when empty) of a Docker-mode fleet whose daemon is gone: adopts
/// their containers, stops them through the Engine API and, for a whole-fleet stop,
/// removes every other container of the project and forgets the mode.
pub async fn stop_without_daemon(
    project: &ProjectSpec,
    services: &[ServiceName],
) -> Result<Stopped, CliError> {
    let state = StateDir::at(&project.state_dir);
    let docker = orchestra_vendors::connect()
        .await
        .map_err(CliError::vendor("cannot stop the fleet's containers"))?;
    let backend = Arc::new(DockerSupervisor::new(docker, project.clone()));
    let engine = Engine::with_backend(state.clone(), backend.clone());
    let mut replicas = engine.adopt(project).await;
    replicas.retain(|id| services.is_empty() || services.contains(&id.service));
    let (events, _ignored) = mpsc::unbounded_channel();
    let outcome = engine.stop(services, events.clone()).await;
    if let Some(failure) = outcome.failures.first() {
        let failure = failure.to_wire();
        return Err(CliError::Unit {
            unit: failure.unit,
            reason: failure.reason,
        });
    }
    let mut strays = Vec::new();
    if services.is_empty() {
        strays = remove_stray_containers(&backend, &HashSet::new(), &events).await;
        Mode::Host
            .save(&state)
            .map_err(CliError::io("saving the fleet's mode"))?;
    }
    Ok(Stopped { replicas, strays })
}

/// Removes what a Docker-mode fleet leaves once all its services stopped: the images built
/// for them and, when no vendor uses it any more, the project network. Returns what was
/// removed (`image <tag>`, `network <name>`).
pub async fn remove_leftovers(project: &ProjectSpec) -> Result<Vec<String>, VendorError> {
    let docker = orchestra_vendors::connect().await?;
    orchestra_vendors::Vendors::new(docker, project.name.clone())
        .remove_service_leftovers()
        .await
}
