//! [`Vendors`]: the vendor containers of one project, brought up, inspected and taken down.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use bollard::models::ContainerInspectResponse;
use bollard::query_parameters::{CreateContainerOptionsBuilder, StopContainerOptions};
use futures_util::future::try_join_all;
use orchestra_core::protocol::{Phase, Progress};
use orchestra_core::spec::{PortMapping, VendorSpec};
use orchestra_core::{ProjectName, ReplicaStatus, VendorName};
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use crate::client::Docker;
use crate::container::{config_hash, create_body};
use crate::error::{VendorError, is_not_found};
use crate::names::{LABEL_CONFIG_HASH, container_name, project_filter, volume_name};
use crate::{image, logs, network, ready, status, volume};

/// The vendor containers of one project.
#[derive(Debug, Clone)]
pub struct Vendors {
    docker: Docker,
    project: ProjectName,
}

/// What `up` did with a vendor's container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpAction {
    /// There was none: it was created and started.
    Created,
    /// Its configuration or image had changed: it was replaced.
    Recreated,
    /// It existed, stopped, with the same configuration: it was started again.
    Started,
    /// It was running with the same configuration: left alone.
    Kept,
}

/// A vendor after `up`: running and ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorStatus {
    /// The vendor.
    pub name: VendorName,
    /// Its container's id.
    pub container_id: String,
    /// What `up` did.
    pub action: UpAction,
    /// Its published ports as the engine bound them.
    pub ports: Vec<PortMapping>,
    /// How long its readiness check took to pass.
    pub ready_after: Duration,
}

/// A container labelled with the project, as listed by the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectContainer {
    /// Its id.
    pub id: String,
    /// Its name, without the engine's leading `/`.
    pub name: String,
    /// The vendor it runs, when it is a vendor container.
    pub vendor: Option<String>,
    /// Its image reference.
    pub image: String,
    /// The engine's state word: `running`, `exited`, `created`…
    pub state: String,
}

impl Vendors {
    /// The vendors of `project`, managed through `docker`.
    pub fn new(docker: Docker, project: ProjectName) -> Self {
        Self { docker, project }
    }

    /// The engine client.
    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    /// Brings the vendors up, all at once, and waits until each is ready. Idempotent: a
    /// running container with the same configuration is kept, a stopped one is started,
    /// one whose configuration or image changed is recreated. Missing images are pulled.
    pub async fn up(
        &self,
        specs: &[VendorSpec],
        events: UnboundedSender<Progress>,
    ) -> Result<Vec<VendorStatus>, VendorError> {
        if specs.is_empty() {
            return Ok(Vec::new());
        }
        network::ensure(&self.docker, &self.project).await?;
        try_join_all(specs.iter().map(|spec| {
            let events = events.clone();
            async move {
                let result = self.up_one(spec, &events).await;
                let line = match &result {
                    Ok(status) => progress(
                        &spec.name,
                        Phase::Ready,
                        format!("{:?} in {:.1?}", status.action, status.ready_after).to_lowercase(),
                    ),
                    // The reason comes once, with the failure the request ends on.
                    Err(_) => Progress {
                        message: None,
                        ..progress(&spec.name, Phase::Failed, String::new())
                    },
                };
                let _ = events.send(line);
                result
            }
        }))
        .await
    }

    async fn up_one(
        &self,
        spec: &VendorSpec,
        events: &UnboundedSender<Progress>,
    ) -> Result<VendorStatus, VendorError> {
        let name = container_name(&self.project, &spec.name);
        volume::ensure(&self.docker, &self.project, spec).await?;
        let image_id = image::ensure(&self.docker, &spec.image, &spec.name, events).await?;
        let action = match self.inspect(&name).await? {
            Some(existing) if matches(&existing, spec, &image_id) => {
                if existing.state.as_ref().and_then(|s| s.running) == Some(true) {
                    UpAction::Kept
                } else {
                    self.start(&name).await?;
                    UpAction::Started
                }
            }
            Some(_) => {
                let _ = events.send(progress(
                    &spec.name,
                    Phase::Starting,
                    "configuration changed, recreating".into(),
                ));
                self.remove(&name).await?;
                self.create_and_start(&name, spec).await?;
                UpAction::Recreated
            }
            None => {
                self.create_and_start(&name, spec).await?;
                UpAction::Created
            }
        };
        if action != UpAction::Kept {
            let _ = events.send(progress(
                &spec.name,
                Phase::Starting,
                format!("{name} started"),
            ));
        }
        let ready_after = ready::wait(&self.docker, &self.project, &name, spec).await?;
        let info = self
            .inspect(&name)
            .await?
            .ok_or_else(|| VendorError::NoContainer {
                vendor: spec.name.clone(),
            })?;
        Ok(VendorStatus {
            name: spec.name.clone(),
            container_id: info.id.clone().unwrap_or_default(),
            action,
            ports: bound_ports(&info),
            ready_after,
        })
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

    async fn create_and_start(&self, name: &str, spec: &VendorSpec) -> Result<(), VendorError> {
        let options = CreateContainerOptionsBuilder::new().name(name).build();
        self.docker
            .api()
            .create_container(Some(options), create_body(&self.project, spec))
            .await
            .map_err(VendorError::engine(format!("creating container {name}")))?;
        tracing::info!(container = name, image = %spec.image, "created vendor container");
        self.start(name).await
    }

    async fn start(&self, name: &str) -> Result<(), VendorError> {
        self.docker
            .api()
            .start_container(name, None)
            .await
            .map_err(VendorError::engine(format!("starting container {name}")))
    }

    /// Stops (with the container's own stop timeout) and removes a container; gone already
    /// is fine.
    async fn remove(&self, name: &str) -> Result<(), VendorError> {
        match self
            .docker
            .api()
            .stop_container(name, None::<StopContainerOptions>)
            .await
        {
            Ok(()) => {}
            Err(e) if is_not_found(&e) => return Ok(()),
            Err(e) => return Err(VendorError::engine(format!("stopping container {name}"))(e)),
        }
        self.docker.force_remove(name).await
    }

    /// Stops and removes the named vendors' containers (every vendor of the project when
    /// `names` is empty), then the project network once nothing uses it. Named volumes are
    /// kept unless `remove_volumes`. Returns what was removed.
    pub async fn down(
        &self,
        names: &[VendorName],
        remove_volumes: bool,
    ) -> Result<TakenDown, VendorError> {
        let containers: Vec<ProjectContainer> = self
            .project_containers()
            .await?
            .into_iter()
            .filter(|c| {
                c.vendor
                    .as_ref()
                    .is_some_and(|v| names.is_empty() || names.iter().any(|n| n.as_str() == v))
            })
            .collect();
        let mut volumes = BTreeSet::new();
        if remove_volumes {
            let prefix = volume_name(&self.project, "");
            for c in &containers {
                let Some(info) = self.inspect(&c.id).await? else {
                    continue;
                };
                volumes.extend(
                    info.mounts
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|m| m.typ.as_deref() == Some("volume"))
                        .filter_map(|m| m.name)
                        .filter(|n| n.starts_with(&prefix)),
                );
            }
            if names.is_empty() {
                volumes.extend(volume::project_volumes(&self.docker, &self.project).await?);
            }
        }
        try_join_all(containers.iter().map(|c| self.remove(&c.name))).await?;
        let network = network::remove_if_unused(&self.docker, &self.project)
            .await?
            .then(|| crate::names::network_name(&self.project));
        if remove_volumes {
            volume::remove(&self.docker, &volumes).await?;
        }
        Ok(TakenDown {
            vendors: containers.into_iter().filter_map(|c| c.vendor).collect(),
            network,
        })
    }

    /// Removes what `--docker` left once the project's services stopped: the images built
    /// for them (the build cache stays) and the project network when no container uses it
    /// any more. Returns what was removed, as `image <tag>` and `network <name>`.
    pub async fn remove_service_leftovers(&self) -> Result<Vec<String>, VendorError> {
        let mut removed: Vec<String> =
            crate::backend::remove_built_images(&self.docker, &self.project)
                .await?
                .into_iter()
                .map(|tag| format!("image {tag}"))
                .collect();
        if network::remove_if_unused(&self.docker, &self.project).await? {
            removed.push(format!(
                "network {}",
                crate::names::network_name(&self.project)
            ));
        }
        Ok(removed)
    }

    /// One `ps` row per vendor container of the project (kind `vendor`), sorted by name.
    pub async fn status(&self) -> Result<Vec<ReplicaStatus>, VendorError> {
        let mut rows = Vec::new();
        for c in self.project_containers().await? {
            if c.vendor.is_none() {
                continue;
            }
            if let Some(info) = self.inspect(&c.id).await? {
                rows.push(status::row(&info));
            }
        }
        rows.sort_by(|a, b| a.service.cmp(&b.service));
        Ok(rows)
    }

    /// Follows a vendor's output into `path` (appending, 0600) until its container stops;
    /// the returned task ends then. A container that `up` recreates is a new container:
    /// call this again for it.
    pub async fn logs_to_file(
        &self,
        name: &VendorName,
        path: &Path,
    ) -> Result<JoinHandle<()>, VendorError> {
        let container = container_name(&self.project, name);
        if self.inspect(&container).await?.is_none() {
            return Err(VendorError::NoContainer {
                vendor: name.clone(),
            });
        }
        logs::follow_into(&self.docker, &container, path)
    }

    /// Every container labelled with the project, running or not: vendors, and services
    /// run with `--docker`. What is here but not in the configuration is a stray.
    pub async fn project_containers(&self) -> Result<Vec<ProjectContainer>, VendorError> {
        self.docker
            .labelled_containers(vec![project_filter(&self.project)])
            .await
    }

    /// Builds image `tag` FROM scratch holding only the static `binary` (its entrypoint) and
    /// the host's CA bundle, through the Engine API: no Docker CLI and no registry needed.
    pub async fn build_scratch_image(&self, tag: &str, binary: &Path) -> Result<(), VendorError> {
        image::build_scratch(&self.docker, tag, binary).await
    }
}

/// What [`Vendors::down`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TakenDown {
    /// The vendors whose container was removed.
    pub vendors: Vec<String>,
    /// The project network, when it went too (nothing used it any more).
    pub network: Option<String>,
}

/// Whether an existing container was made from this spec and the image as it is now.
fn matches(existing: &ContainerInspectResponse, spec: &VendorSpec, image_id: &str) -> bool {
    let hash = existing
        .config
        .as_ref()
        .and_then(|c| c.labels.as_ref())
        .and_then(|l| l.get(LABEL_CONFIG_HASH));
    hash.is_some_and(|h| *h == config_hash(spec))
        && existing.image.as_deref().is_some_and(|id| id == image_id)
}

fn bound_ports(info: &ContainerInspectResponse) -> Vec<PortMapping> {
    let mut ports: Vec<PortMapping> = info
        .network_settings
        .as_ref()
        .and_then(|n| n.ports.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|(key, bindings)| {
            let container = key.strip_suffix("/tcp")?.parse().ok()?;
            let host = bindings
                .as_ref()?
                .iter()
                .find_map(|b| b.host_port.as_deref()?.parse().ok())?;
            Some(PortMapping { host, container })
        })
        .collect();
    ports.sort_by_key(|p| p.container);
    ports
}

fn progress(vendor: &VendorName, phase: Phase, message: String) -> Progress {
    Progress {
        unit: vendor.to_string(),
        replica: None,
        phase,
        message: Some(message),
    }
}
