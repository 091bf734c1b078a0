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

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use bollard::models::{Mount, MountType};
use orchestra_core::spec::{CommandSpec, ReplicaSpec, ServiceKind, ServiceSpec};
use orchestra_core::{ProjectName, ServiceName, StateDir, VendorName};

use super::error::SpawnError;
use crate::client::Docker;
use crate::error::{VendorError, is_conflict, is_not_found};

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

/// `CGO_ENABLED=0 GOOS=linux go build -o <binary> .` in the service folder, with the
/// service's environment (GOFLAGS and friends apply as in the host build).
pub(crate) async fn go_build_static(
    service: &ServiceSpec,
    binary: &Path,
) -> Result<(), SpawnError> {
    let failed = |output: String| SpawnError::StaticBuild {
        service: service.name.clone(),
        dir: service.dir.clone(),
        output,
    };
    tracing::info!(service = %service.name, binary = %binary.display(), "building the static binary");
    let output = tokio::process::Command::new("go")
        .args(["build", "-o"])
        .arg(binary)
        .arg(".")
        .current_dir(&service.dir)
        .envs(&service.env)
        .env("CGO_ENABLED", "0")
        .env("GOOS", "linux")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| failed(format!("cannot run `go`: {e}")))?;
    if output.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&output.stderr).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stdout));
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(40)..].join("\n");
    Err(failed(format!("{}\n{tail}", output.status)))
}

/// FNV-1a of the file's bytes: stable across builds of Orchestra, unlike std's hasher, so
/// an image tagged by one daemon is found again by the next.
async fn hash_file(path: &Path) -> std::io::Result<String> {
    let bytes = tokio::fs::read(path).await?;
    Ok(tokio::task::spawn_blocking(move || fnv1a(&bytes))
        .await
        .unwrap_or_default())
}

pub(crate) fn fnv1a(bytes: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// `orchestra-<project>/<service>:<hash>`, lower-cased: image repositories may not hold
/// capitals (names may), nor end with a separator.
pub(crate) fn image_tag(project: &ProjectName, service: &ServiceName, hash: &str) -> String {
    format!(
        "{}{}:{hash}",
        image_repository_prefix(project),
        tag_part(service.as_str())
    )
}

/// `orchestra-<project>/`: what the repository of every image built for the project's
/// services starts with, and nothing else's does.
pub(crate) fn image_repository_prefix(project: &ProjectName) -> String {
    format!("orchestra-{}/", tag_part(project.as_str()))
}

pub(crate) fn tag_part(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let trimmed = lower.trim_end_matches(['-', '_']);
    if trimmed.is_empty() {
        "x".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// Removes every image built for the project's services (any binary's hash), leaving the
/// build cache; returns the tags removed. An image a container still uses is kept.
pub(crate) async fn remove_built_images(
    docker: &Docker,
    project: &ProjectName,
) -> Result<Vec<String>, VendorError> {
    use bollard::query_parameters::{ListImagesOptionsBuilder, RemoveImageOptions};
    let prefix = image_repository_prefix(project);
    let filters = HashMap::from([("reference", vec![format!("{prefix}*")])]);
    let options = ListImagesOptionsBuilder::new().filters(&filters).build();
    let images = docker
        .api()
        .list_images(Some(options))
        .await
        .map_err(VendorError::engine("listing images"))?;
    let tags = images
        .into_iter()
        .flat_map(|image| image.repo_tags)
        .filter(|tag| tag.starts_with(&prefix));
    let mut removed = Vec::new();
    for tag in tags {
        match docker
            .api()
            .remove_image(&tag, None::<RemoveImageOptions>, None)
            .await
        {
            Ok(_) => removed.push(tag),
            Err(e) if is_not_found(&e) => {}
            Err(e) if is_conflict(&e) => {
                tracing::info!(image = %tag, "image still in use, kept");
            }
            Err(e) => return Err(VendorError::engine(format!("removing image {tag}"))(e)),
        }
    }
    Ok(removed)
}

/// The command as the scratch image runs it: the host binary's path replaced by its path
/// in the image. `None` when the command needs a shell (a scratch image has none): a string
/// holding nothing but plain words is split on whitespace, as `sh -c` would.
pub(crate) fn scratch_argv(
    command: &CommandSpec,
    host_bin: &str,
    in_image: &str,
) -> Option<Vec<String>> {
    let argv = match command {
        CommandSpec::Exec(v) => v.clone(),
        CommandSpec::Shell(s) => {
            if s.chars().any(|c| "|&;<>()$`\\\"'*?[]#~=%{}!\n".contains(c)) {
                return None;
            }
            s.split_whitespace().map(str::to_owned).collect()
        }
    };
    if argv.is_empty() {
        return None;
    }
    let rewrite = |a: String| {
        if host_bin.is_empty() {
            a
        } else {
            a.replace(host_bin, in_image)
        }
    };
    Some(argv.into_iter().map(rewrite).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_commands_point_at_the_binary_in_the_image() {
        let bin = "/p/.orchestra/bin/users";
        assert_eq!(
            scratch_argv(&CommandSpec::Exec(vec![bin.into()]), bin, "/users-static"),
            Some(vec!["/users-static".to_owned()])
        );
        assert_eq!(
            scratch_argv(
                &CommandSpec::Shell(format!("{bin} -port 8080")),
                bin,
                "/users-static"
            ),
            Some(vec![
                "/users-static".to_owned(),
                "-port".to_owned(),
                "8080".to_owned()
            ])
        );
        assert_eq!(
            scratch_argv(&CommandSpec::Shell(format!("{bin} > out.log")), bin, "/x"),
            None
        );
        assert_eq!(
            scratch_argv(&CommandSpec::Shell("FOO=1 {bin}".into()), bin, "/x"),
            None
        );
        assert_eq!(scratch_argv(&CommandSpec::Exec(vec![]), bin, "/x"), None);
    }

    #[test]
    fn tags_are_lower_case_and_valid() {
        let project = ProjectName::new("Shop").unwrap();
        let service = ServiceName::new("Users_").unwrap();
        assert_eq!(
            image_tag(&project, &service, "00ff"),
            "orchestra-shop/users:00ff"
        );
        assert_eq!(fnv1a(b""), "cbf29ce484222325");
        assert_ne!(fnv1a(b"a"), fnv1a(b"b"));
    }
}
