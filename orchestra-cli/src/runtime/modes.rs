//! Where the fleet runs: on the host (the runtime's first engine) or in Docker (an engine
//! over [`DockerSupervisor`], made on the first `start --docker`), and the routing of every
//! request to the engine that runs the fleet.
//!
//! # How it works
//!
//! - A fleet runs in one [`FleetMode`] at a time. The mode is saved in the state folder's
//!   `state.json` ([`StateDir::state_file`]), so a daemon started after a crash makes the
//!   Docker engine *before* adopting, and adopts containers through it rather than as host
//!   processes. `start` in the other mode while replicas run is refused.
//! - Each engine has its own rerun runtime, so a change rebuilds through the engine that
//!   runs the service (rerun in Docker mode rebuilds the image and replaces the container).
//! - Containers of the project that no replica accounts for — left by a daemon that died,
//!   or started by hand with the project's labels — are reported and removed at each
//!   `start --docker`, after adoption, and after a stop of the whole fleet
//!   ([`super::docker`]).

use std::collections::HashSet;
use std::sync::Arc;

use orchestra_core::spec::ProjectSpec;
use orchestra_core::{ReplicaId, ServiceName, StateDir};
use orchestra_supervisor::{Engine, RerunRuntime};
use orchestra_vendors::DockerSupervisor;
use orchestra_vendors::backend::replica_container_name;
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, OwnedMutexGuard};

use super::docker::remove_stray_containers;
use super::{Events, RuntimeError, logs};

/// Where the fleet's replicas run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FleetMode {
    /// As processes on this machine.
    Host,
    /// In Docker containers (`start --docker`).
    Docker,
}

/// What `state.json` holds.
#[derive(Debug, Serialize, Deserialize)]
struct FleetState {
    mode: FleetMode,
}

impl FleetMode {
    /// The mode a start asks for.
    pub fn of_start(docker: bool) -> Self {
        if docker { Self::Docker } else { Self::Host }
    }

    /// The mode saved in the state folder; `Host` when none was (or it cannot be read).
    pub fn saved(state: &StateDir) -> Self {
        std::fs::read(state.state_file())
            .ok()
            .and_then(|text| serde_json::from_slice::<FleetState>(&text).ok())
            .map_or(Self::Host, |saved| saved.mode)
    }

    /// Writes the mode down (atomically), for the next daemon and for `stop` without one.
    pub fn save(self, state: &StateDir) -> std::io::Result<()> {
        let mut text = serde_json::to_vec(&FleetState { mode: self })?;
        text.push(b'\n');
        orchestra_core::paths::atomic_write(&state.state_file(), &text)
    }
}

impl std::fmt::Display for FleetMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Host => "on the host",
            Self::Docker => "in Docker",
        })
    }
}

/// The engine a request goes to, with the rerun runtime that drives it.
#[derive(Clone)]
pub struct Route {
    /// The mode the engine runs replicas in.
    pub mode: FleetMode,
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
                mode: FleetMode::Host,
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
    pub async fn route(&self, project: &ProjectSpec) -> Result<Route, RuntimeError> {
        if FleetMode::saved(&self.state) == FleetMode::Host {
            return Ok(self.host.clone());
        }
        match self.docker_fleet(project).await {
            Ok(fleet) => Ok(fleet.route),
            Err(_) if orchestra_supervisor::read_records(&self.state).is_empty() => {
                Ok(self.host.clone())
            }
            Err(e) => Err(e),
        }
    }

    /// The host's engine, whichever mode the fleet runs in.
    pub fn host(&self) -> &Route {
        &self.host
    }

    /// The engine of the saved mode, for a request without a project: the host's when
    /// the Docker engine was not made yet (nothing was adopted then either).
    pub async fn current(&self) -> Route {
        if FleetMode::saved(&self.state) == FleetMode::Docker
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
        want: FleetMode,
        project: &ProjectSpec,
        events: &Events,
    ) -> Result<(Route, Starting), RuntimeError> {
        let starting = Starting(self.starts.clone().lock_owned().await);
        let route = if route.mode == want {
            route
        } else if route.engine.is_idle().await {
            match want {
                FleetMode::Host => self.host.clone(),
                FleetMode::Docker => self.docker_fleet(project).await?.route,
            }
        } else {
            return Err(RuntimeError::OtherMode {
                running: route.mode,
            });
        };
        if FleetMode::saved(&self.state) != want {
            want.save(&self.state).map_err(RuntimeError::SaveMode)?;
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
        if route.mode != FleetMode::Docker {
            return;
        }
        self.remove_strays(route, events).await;
        if route.engine.is_idle().await
            && let Err(e) = FleetMode::Host.save(&self.state)
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
            if let Err(e) = FleetMode::Docker.save(&self.state) {
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

    async fn docker_fleet(&self, project: &ProjectSpec) -> Result<DockerFleet, RuntimeError> {
        let mut slot = self.docker.lock().await;
        if let Some(fleet) = slot.as_ref() {
            fleet.backend.set_project(project.clone());
            return Ok(fleet.clone());
        }
        let docker = orchestra_vendors::connect()
            .await
            .map_err(|e| RuntimeError::Docker(Box::new(e)))?;
        let backend = Arc::new(DockerSupervisor::new(docker, project.clone()));
        let engine = Engine::with_backend(self.state.clone(), backend.clone())
            .with_log_opener(logs::opener(self.log_settings.clone()));
        let fleet = DockerFleet {
            route: Route {
                mode: FleetMode::Docker,
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
        if route.mode != FleetMode::Docker {
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
