//! The Docker backend of the supervisor: [`DockerSupervisor`] runs each replica of a service
//! in a container, behind the same [`Supervisor`] trait as host processes, so restart
//! policy, backoff, readiness, the stop ladder, scale, rerun, logs and `ps` behave the same
//! with `--docker`.
//!
//! # How it works
//!
//! - [`Supervisor::spawn`] makes the replica's image (see `image.rs`: a FROM-scratch image of
//!   the service's static Go binary, or `docker.image` with the binary mounted in), then
//!   creates and starts the container `orchestra-<project>-<service>-<n>` on the project
//!   network, where the service name is its alias. It is labelled with the project, service,
//!   replica, spec hash and the run's instance token; its environment is the replica's with
//!   vendor addresses as seen from the network (`REDIS_HOST=redis`); `PORT` is published on
//!   127.0.0.1 under the same number.
//! - The [`DockerReplica`] it returns streams the container's output into the replica's log
//!   file, signals through the engine's kill API, and ends when the engine reports the
//!   container stopped — after removing it.
//! - [`Supervisor::adopt`] finds a container left by an earlier daemon by its instance label
//!   and re-attaches to it (its log catches up from the log file's last write); one that
//!   stopped meanwhile is removed.
//! - [`DockerSupervisor::stray_containers`] lists the project's service containers that no
//!   replica accounts for.

mod container;
mod error;
pub mod export;
mod identity;
mod image;
mod replica;

pub(crate) use image::remove_built_images;

use std::collections::HashSet;
use std::fs::File;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::UNIX_EPOCH;

use async_trait::async_trait;
use bollard::models::{ContainerCreateBody, ContainerInspectResponse};
use bollard::query_parameters::CreateContainerOptionsBuilder;
use orchestra_core::spec::{ProjectSpec, ReplicaSpec};
use orchestra_core::{ProcessIdentity, ReplicaId, ServiceName, StateDir};
use orchestra_supervisor::{RunningReplica, Supervisor, SupervisorError};

pub use container::{
    LABEL_INSTANCE, LABEL_REPLICA, LABEL_SERVICE, LABEL_SPEC_HASH, replica_container_name,
};
pub use replica::DockerReplica;

use self::error::SpawnError;
use self::image::Images;
use crate::client::Docker;
use crate::error::{VendorError, is_conflict, is_not_found};
use crate::names::{LABEL_PROJECT, project_filter};
use crate::vendors::ProjectContainer;

/// Runs a project's replicas in Docker containers.
#[derive(Debug)]
pub struct DockerSupervisor {
    docker: Docker,
    project: RwLock<Arc<ProjectSpec>>,
    images: Images,
}

impl DockerSupervisor {
    /// A backend for `project`'s services, through `docker`.
    pub fn new(docker: Docker, project: ProjectSpec) -> Self {
        Self {
            images: Images::new(docker.clone()),
            docker,
            project: RwLock::new(Arc::new(project)),
        }
    }

    /// Replaces the project spec (a later `start` resolved the configuration again): new
    /// replicas get its services' settings and its vendors' addresses.
    pub fn set_project(&self, project: ProjectSpec) {
        *self.project.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(project);
    }

    /// The project spec replicas are made from.
    pub fn project(&self) -> Arc<ProjectSpec> {
        self.project
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The engine client.
    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    /// Every service container of the project (labelled with the project and a service),
    /// running or not.
    pub async fn service_containers(&self) -> Result<Vec<ProjectContainer>, VendorError> {
        self.docker
            .labelled_containers(vec![
                project_filter(&self.project().name),
                LABEL_SERVICE.to_owned(),
            ])
            .await
    }

    /// The project's service containers whose names are not in `known` (the containers of
    /// the replicas being supervised, see [`replica_container_name`]): left by a daemon
    /// that crashed, or started by hand with the project's labels.
    pub async fn stray_containers(
        &self,
        known: &HashSet<String>,
    ) -> Result<Vec<ProjectContainer>, VendorError> {
        let mut all = self.service_containers().await?;
        all.retain(|c| !known.contains(&c.name));
        Ok(all)
    }

    /// Removes a container (stopping it first if needed); gone already is fine.
    pub async fn remove_container(&self, name: &str) -> Result<(), VendorError> {
        self.docker.force_remove(name).await
    }

    async fn inspect(&self, name: &str) -> Result<Option<ContainerInspectResponse>, VendorError> {
        match self.docker.api().inspect_container(name, None).await {
            Ok(info) => Ok(Some(info)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(VendorError::engine(format!("inspecting container {name}"))(
                e,
            )),
        }
    }

    async fn run(&self, spec: &ReplicaSpec, log: File) -> Result<DockerReplica, SpawnError> {
        let project = self.project();
        let service = project
            .services
            .get(&spec.id.service)
            .ok_or_else(|| SpawnError::UnknownService(spec.id.service.clone()))?;
        let state = StateDir::at(&project.state_dir);
        let plan = self
            .images
            .plan(&project.name, service, spec, &state)
            .await?;
        crate::network::ensure(&self.docker, &project.name).await?;
        let name = replica_container_name(&project.name, &spec.id);
        let instance = orchestra_supervisor::new_instance();
        let body = container::create_body(&project, spec, &plan, &instance);
        self.create(&name, body).await?;
        if let Err(e) = self.docker.api().start_container(&name, None).await {
            let _ = self.remove_container(&name).await;
            return Err(VendorError::engine(format!("starting container {name}"))(e).into());
        }
        let info = self
            .inspect(&name)
            .await?
            .ok_or_else(|| SpawnError::Vendor(gone(&name)))?;
        tracing::info!(container = %name, image = %plan.image, "started replica container");
        Ok(DockerReplica::attach(
            self.docker.clone(),
            &info,
            instance,
            log,
            None,
        ))
    }

    /// Creates the container; one of ours left under that name by an earlier run (a daemon
    /// that died before removing it) is replaced.
    async fn create(&self, name: &str, body: ContainerCreateBody) -> Result<(), SpawnError> {
        let options = CreateContainerOptionsBuilder::new().name(name).build();
        let mut replaced = false;
        loop {
            match self
                .docker
                .api()
                .create_container(Some(options.clone()), body.clone())
                .await
            {
                Ok(_) => return Ok(()),
                Err(e) if is_conflict(&e) && !replaced => {
                    let project = self.project();
                    let ours = self.inspect(name).await?.is_some_and(|info| {
                        let labels = info.config.and_then(|c| c.labels).unwrap_or_default();
                        labels.get(LABEL_PROJECT) == Some(&project.name.to_string())
                            && labels.contains_key(LABEL_SERVICE)
                    });
                    if !ours {
                        return Err(SpawnError::NotOurs(name.to_owned()));
                    }
                    tracing::warn!(
                        container = name,
                        "replacing a container left by an earlier run"
                    );
                    self.remove_container(name).await?;
                    replaced = true;
                }
                Err(e) => {
                    return Err(VendorError::engine(format!("creating container {name}"))(e).into());
                }
            }
        }
    }

    async fn find_instance(&self, instance: &str) -> Option<ContainerInspectResponse> {
        let project = self.project();
        let found = self
            .docker
            .labelled_containers(vec![
                project_filter(&project.name),
                format!("{LABEL_INSTANCE}={instance}"),
            ])
            .await
            .ok()?;
        let container = found.into_iter().next()?;
        self.inspect(&container.id).await.ok().flatten()
    }
}

#[async_trait]
impl Supervisor for DockerSupervisor {
    async fn spawn(
        &self,
        spec: &ReplicaSpec,
        log: File,
    ) -> Result<Arc<dyn RunningReplica>, SupervisorError> {
        match self.run(spec, log).await {
            Ok(replica) => Ok(Arc::new(replica)),
            Err(e) => Err(SupervisorError::Spawn {
                replica: spec.id.clone(),
                command: spec.command.to_string(),
                source: e.into_io(),
            }),
        }
    }

    /// Finds the container of run `instance` by its label. A running one is re-attached
    /// (its output appended to the replica's log from the file's last write on); a stopped
    /// one is removed and `None` returned, as for a process that is gone.
    async fn adopt(
        &self,
        identity: &ProcessIdentity,
        instance: &str,
    ) -> Option<Arc<dyn RunningReplica>> {
        let info = self.find_instance(instance).await?;
        let name = info.name.clone().unwrap_or_default();
        let running = info.state.as_ref().and_then(|s| s.running) == Some(true);
        if !running {
            let _ = self.remove_container(name.trim_start_matches('/')).await;
            return None;
        }
        let labels = info
            .config
            .as_ref()
            .and_then(|c| c.labels.clone())
            .unwrap_or_default();
        let service = ServiceName::new(labels.get(LABEL_SERVICE)?.as_str()).ok()?;
        let index = labels.get(LABEL_REPLICA)?.parse().ok()?;
        let id = ReplicaId::new(service, index);
        let path = StateDir::at(&self.project().state_dir).replica_log(&id);
        let log = match orchestra_core::paths::open_append(&path) {
            Ok(log) => log,
            Err(e) => {
                tracing::warn!(replica = %id, path = %path.display(), error = %e, "cannot open the log of an adopted container");
                return None;
            }
        };
        let since = log_since(&log);
        let replica =
            DockerReplica::attach(self.docker.clone(), &info, instance.to_owned(), log, since);
        if replica.identity().pid != identity.pid {
            tracing::debug!(replica = %id, recorded = identity.pid, now = replica.identity().pid, "the container's pid differs from its record");
        }
        tracing::info!(replica = %id, container = %name, "adopted container");
        Some(Arc::new(replica))
    }
}

/// Where a re-attached log stream starts: from the file's last write (to the second; a line
/// of that second may appear twice, none is lost), or from the start for an empty file.
fn log_since(log: &File) -> Option<i32> {
    let meta = log.metadata().ok()?;
    if meta.len() == 0 {
        return None;
    }
    let secs = meta
        .modified()
        .ok()?
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_secs();
    Some(i32::try_from(secs).unwrap_or(i32::MAX))
}

fn gone(name: &str) -> VendorError {
    VendorError::engine(format!("inspecting container {name}"))(
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            message: "the container vanished right after it started".into(),
        },
    )
}
