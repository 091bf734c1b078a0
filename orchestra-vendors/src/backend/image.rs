//! What a service's replicas run under `--docker`: which image, which command, which mounts.
//!
//! - A Go service is built once more, statically (`CGO_ENABLED=0 GOOS=linux`), into
//!   `.orchestra/bin/<name>-static`. Without `docker.image`, that binary becomes a FROM-scratch
//!   image tagged `orchestra-<project>/<service>:<hash of the binary>` (built only when no image
//!   has that tag yet), and the command's `{bin}` points at it inside the image. With
//!   `docker.image`, the binary is bind-mounted into that image at the very path `{bin}` names
//!   on the host, so the command needs no rewriting at all.
//! - Any other service needs `docker.image`; its folder is mounted at the same path and is
//!   its working directory, so `run: ./serve.py` means the same thing in both modes.
//!
//! The static build is redone only when the host binary (which the fleet's own build step
//! refreshes, on start and on every rerun) changed since the last one, and one service is
//! built by one replica at a time: a service scaled to 4 is compiled once.

mod scratch;
mod tag;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use bollard::models::{Mount, MountType};
use orchestra_core::spec::{ReplicaSpec, ServiceKind, ServiceSpec};
use orchestra_core::{ProjectName, ServiceName, StateDir, VendorName};

use super::error::SpawnError;
use crate::client::Docker;
use crate::error::{VendorError, is_not_found};
use tag::{hash_file, image_tag};

pub(crate) use scratch::{go_build_static, scratch_argv};
pub(crate) use tag::{image_repository_prefix, remove_built_images, tag_part};

/// How one replica's container runs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RunPlan {
    /// The image.
    pub image: String,
    /// The program and its arguments (the container's entrypoint: an image's own
    /// entrypoint and command are replaced, as on the host the command runs alone).
    pub argv: Vec<String>,
    /// Bind mounts.
    pub mounts: Vec<Mount>,
    /// The working directory, when the service folder is mounted.
    pub working_dir: Option<String>,
}

/// A static build of a service: which host binary it was made after, and its image tag.
#[derive(Debug, Clone)]
struct Built {
    stamp: Option<(SystemTime, u64)>,
    binary: PathBuf,
    tag: String,
}

type Slot = Arc<tokio::sync::Mutex<Option<Built>>>;

/// The images of a project's services, built on demand.
#[derive(Debug)]
pub(crate) struct Images {
    docker: Docker,
    built: Mutex<HashMap<ServiceName, Slot>>,
}

impl Images {
    pub(crate) fn new(docker: Docker) -> Self {
        Self {
            docker,
            built: Mutex::new(HashMap::new()),
        }
    }

    /// The image, command and mounts of `replica` of `service`, building what is missing.
    pub(crate) async fn plan(
        &self,
        project: &ProjectName,
        service: &ServiceSpec,
        replica: &ReplicaSpec,
        state: &StateDir,
    ) -> Result<RunPlan, SpawnError> {
        let dir = replica.dir.display().to_string();
        let dir_mount = || bind(&replica.dir, &dir, false);
        match (&service.docker.image, service.kind) {
            (Some(image), ServiceKind::Go) => {
                self.ensure_image(image, &service.name).await?;
                let built = self.static_build(project, service, state).await?;
                let mut mounts = vec![dir_mount()];
                if let Some(host_bin) = &service.binary {
                    mounts.push(bind(&built.binary, &host_bin.display().to_string(), true));
                }
                Ok(RunPlan {
                    image: image.clone(),
                    argv: replica.command.argv(),
                    mounts,
                    working_dir: Some(dir),
                })
            }
            (Some(image), ServiceKind::Command) => {
                self.ensure_image(image, &service.name).await?;
                let mut mounts = vec![dir_mount()];
                // A binary named by `build: … -o {bin}` lives outside the service folder.
                if let Some(bin) = service.binary.as_ref().filter(|b| b.exists()) {
                    mounts.push(bind(bin, &bin.display().to_string(), true));
                }
                Ok(RunPlan {
                    image: image.clone(),
                    argv: replica.command.argv(),
                    mounts,
                    working_dir: Some(dir),
                })
            }
            (None, ServiceKind::Go) => {
                let built = self.static_build(project, service, state).await?;
                self.ensure_scratch_image(&built).await?;
                let in_image = format!("/{}", file_name(&built.binary));
                let host_bin = service
                    .binary
                    .as_ref()
                    .map(|b| b.display().to_string())
                    .unwrap_or_default();
                let argv =
                    scratch_argv(&replica.command, &host_bin, &in_image).ok_or_else(|| {
                        SpawnError::NeedsShell {
                            service: service.name.clone(),
                            command: replica.command.to_string(),
                            file: service.file.clone(),
                        }
                    })?;
                Ok(RunPlan {
                    image: built.tag,
                    argv,
                    mounts: Vec::new(),
                    working_dir: None,
                })
            }
            (None, ServiceKind::Command) => Err(SpawnError::NoImage {
                service: service.name.clone(),
                file: service.file.clone(),
            }),
        }
    }

    fn slot(&self, service: &ServiceName) -> Slot {
        let mut built = self.built.lock().unwrap_or_else(PoisonError::into_inner);
        built.entry(service.clone()).or_default().clone()
    }

    /// The static binary of `service`, rebuilt when the host binary changed since.
    async fn static_build(
        &self,
        project: &ProjectName,
        service: &ServiceSpec,
        state: &StateDir,
    ) -> Result<Built, SpawnError> {
        let slot = self.slot(&service.name);
        let mut cached = slot.lock().await;
        let stamp = service.binary.as_deref().and_then(stamp_of);
        if let Some(built) = cached.as_ref()
            && stamp.is_some()
            && built.stamp == stamp
            && built.binary.exists()
        {
            return Ok(built.clone());
        }
        let binary = state.bin_dir().join(format!("{}-static", service.name));
        go_build_static(service, &binary).await?;
        let hash = hash_file(&binary).await.map_err(|source| VendorError::Io {
            path: binary.clone(),
            source,
        })?;
        let built = Built {
            stamp,
            tag: image_tag(project, &service.name, &hash),
            binary,
        };
        *cached = Some(built.clone());
        Ok(built)
    }

    /// Pulls `docker.image` when it is missing, as for a vendor's image.
    async fn ensure_image(&self, image: &str, service: &ServiceName) -> Result<(), SpawnError> {
        // Service and vendor names follow one rule, so this cannot fail; the name only
        // labels the pull's progress, which nobody listens to here.
        if let Ok(unit) = VendorName::new(service.as_str()) {
            let (events, _ignored) = tokio::sync::mpsc::unbounded_channel();
            crate::image::ensure(&self.docker, image, &unit, &events).await?;
        }
        Ok(())
    }

    async fn ensure_scratch_image(&self, built: &Built) -> Result<(), SpawnError> {
        match self.docker.api().inspect_image(&built.tag).await {
            Ok(_) => return Ok(()),
            Err(e) if is_not_found(&e) => {}
            Err(e) => {
                return Err(
                    VendorError::engine(format!("inspecting image {}", built.tag))(e).into(),
                );
            }
        }
        crate::image::build_scratch(&self.docker, &built.tag, &built.binary).await?;
        Ok(())
    }
}

fn bind(source: &Path, target: &str, read_only: bool) -> Mount {
    Mount {
        source: Some(source.display().to_string()),
        target: Some(target.to_owned()),
        typ: Some(MountType::BIND),
        read_only: Some(read_only),
        ..Mount::default()
    }
}

fn stamp_of(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| "app".to_owned(), |n| n.to_string_lossy().into_owned())
}
