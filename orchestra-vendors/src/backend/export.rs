//! The images an export (`orchestra export --format compose|kubernetes`) names for the
//! services, and building them ahead of time with the builder `--docker` uses.
//!
//! An exported Go service without `docker.image` runs `orchestra-<project>/<service>:latest`:
//! a FROM-scratch image of its static binary, as under `--docker`, which also holds
//! `/orchestra-probe`, a small static program (built from `probe/main.go`) that the
//! engine's healthcheck runs for a `tcp` or `http` ready probe, because a scratch image has
//! no shell or HTTP client of its own. The tag is fixed rather than a hash of the binary, so
//! that an export reads the same before and after `--build-images`.
//!
//! A service with `docker.image` runs that image with its folder (and a Go service's static
//! binary) mounted at the paths they have on this machine, as under `--docker`; the probe is
//! mounted too. Only a Compose file on this machine can express such mounts.

use std::path::{Path, PathBuf};

use orchestra_core::spec::{ProjectSpec, ServiceKind, ServiceSpec};
use orchestra_core::{ProjectName, ServiceName, StateDir};

use super::image::{go_build_static, image_repository_prefix, scratch_argv, tag_part};
use crate::client::Docker;
use crate::image::build_scratch_with;

/// Where the probe program is inside an image, or mounted into a container.
pub const PROBE_IN_IMAGE: &str = "/orchestra-probe";
/// The probe program's source, compiled statically by [`build_export_images`].
const PROBE_SOURCE: &str = include_str!("probe/main.go");

/// How an exported service's container runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceImage {
    /// The image.
    pub image: String,
    /// The program and its arguments: the container's entrypoint.
    pub entrypoint: Vec<String>,
    /// Host paths mounted into the container, all read-only but the service folder.
    pub binds: Vec<Bind>,
    /// The working directory, when the service folder is mounted.
    pub working_dir: Option<String>,
    /// Whether the image was built by Orchestra (and so holds [`PROBE_IN_IMAGE`]).
    pub built: bool,
}

/// A host path mounted into a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind {
    /// The path on this machine.
    pub source: PathBuf,
    /// The path in the container.
    pub target: String,
    /// Mounted read-only.
    pub read_only: bool,
}

/// Why a service has no image an export can name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoImage {
    /// Not Go and without `docker.image`: nothing to build an image from.
    #[error("it is not a Go service and sets no `docker.image`, so it has no image to run")]
    NotGo,
    /// Its command needs a shell, which a scratch image lacks.
    #[error("its command `{0}` needs a shell, which its minimal image does not have")]
    NeedsShell(String),
}

/// Why [`build_export_images`] failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the image of `{service}` for the export")]
pub struct BuildError {
    /// The service (or `orchestra-probe`).
    pub service: String,
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

/// `orchestra-<project>/<service>:latest`, the image an export names for a Go service.
pub fn export_image_tag(project: &ProjectName, service: &ServiceName) -> String {
    format!(
        "{}{}:latest",
        image_repository_prefix(project),
        tag_part(service.as_str())
    )
}

/// The probe program on this machine, mounted into containers of images Orchestra did not
/// build.
pub fn probe_binary(state: &StateDir) -> PathBuf {
    state.bin_dir().join("orchestra-probe")
}

/// How `service` of `project` runs in an export: its image, entrypoint and mounts.
pub fn service_image(
    project: &ProjectSpec,
    service: &ServiceSpec,
) -> Result<ServiceImage, NoImage> {
    let state = StateDir::for_project(&project.root);
    let replica = service.replica(0);
    let dir = replica.dir.display().to_string();
    let folder = Bind {
        source: replica.dir.clone(),
        target: dir.clone(),
        read_only: false,
    };
    let probe = Bind {
        source: probe_binary(&state),
        target: PROBE_IN_IMAGE.to_owned(),
        read_only: true,
    };
    match (&service.docker.image, service.kind) {
        (Some(image), kind) => {
            let mut binds = vec![folder, probe];
            if let Some(host_bin) = &service.binary {
                let source = if kind == ServiceKind::Go {
                    static_binary(&state, &service.name)
                } else {
                    host_bin.clone()
                };
                let target = host_bin.display().to_string();
                binds.push(Bind {
                    source,
                    target,
                    read_only: true,
                });
            }
            Ok(ServiceImage {
                image: image.clone(),
                entrypoint: replica.command.argv(),
                binds,
                working_dir: Some(dir),
                built: false,
            })
        }
        (None, ServiceKind::Go) => {
            let host_bin = service
                .binary
                .as_ref()
                .map(|b| b.display().to_string())
                .unwrap_or_default();
            let in_image = format!("/{}", static_name(&service.name));
            let entrypoint = scratch_argv(&replica.command, &host_bin, &in_image)
                .ok_or_else(|| NoImage::NeedsShell(replica.command.to_string()))?;
            Ok(ServiceImage {
                image: export_image_tag(&project.name, &service.name),
                entrypoint,
                binds: Vec::new(),
                working_dir: None,
                built: true,
            })
        }
        (None, ServiceKind::Command) => Err(NoImage::NotGo),
    }
}

/// Builds what the export of `project` names: the probe program, each Go service's static
/// binary and, for those without `docker.image`, its image. Returns the image tags built.
pub async fn build_export_images(
    docker: &Docker,
    project: &ProjectSpec,
) -> Result<Vec<String>, BuildError> {
    let state = StateDir::for_project(&project.root);
    let failed = |service: &str| {
        let service = service.to_owned();
        move |e: Box<dyn std::error::Error + Send + Sync>| BuildError { service, source: e }
    };
    let probe = probe_binary(&state);
    build_probe(&state, &probe)
        .await
        .map_err(|e| failed("orchestra-probe")(e.into()))?;
    let probe_bytes = std::fs::read(&probe).map_err(|e| failed("orchestra-probe")(e.into()))?;
    let mut built = Vec::new();
    for service in project.services.values() {
        if service.kind != ServiceKind::Go {
            continue;
        }
        let name = service.name.as_str();
        let binary = static_binary(&state, &service.name);
        go_build_static(service, &binary)
            .await
            .map_err(|e| failed(name)(e.into()))?;
        if service.docker.image.is_none() {
            let tag = export_image_tag(&project.name, &service.name);
            let extra = [(&PROBE_IN_IMAGE[1..], probe_bytes.clone())];
            build_scratch_with(docker, &tag, &binary, &extra)
                .await
                .map_err(|e| failed(name)(e.into()))?;
            built.push(tag);
        }
    }
    Ok(built)
}

/// `.orchestra/bin/<service>-static`, as `--docker` names it.
fn static_binary(state: &StateDir, service: &ServiceName) -> PathBuf {
    state.bin_dir().join(static_name(service))
}

fn static_name(service: &ServiceName) -> String {
    format!("{service}-static")
}

/// Compiles the probe program statically into `binary`, from a module written under
/// `.orchestra/probe`.
async fn build_probe(state: &StateDir, binary: &Path) -> std::io::Result<()> {
    let dir = state.root().join("probe");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("go.mod"), "module orchestra-probe\n\ngo 1.17\n")?;
    std::fs::write(dir.join("main.go"), PROBE_SOURCE)?;
    let output = tokio::process::Command::new("go")
        .args(["build", "-o"])
        .arg(binary)
        .arg(".")
        .current_dir(&dir)
        .env("CGO_ENABLED", "0")
        .env("GOOS", "linux")
        .env("GOFLAGS", "-mod=mod")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await?;
    if output.status.success() {
        return Ok(());
    }
    Err(std::io::Error::other(format!(
        "go build of the probe failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    )))
}
