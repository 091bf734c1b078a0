//! Images: making sure a vendor's image is present (pulling it, with progress, when not), and
//! building minimal FROM-scratch images through the Engine API with no registry involved.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use bollard::query_parameters::{BuildImageOptionsBuilder, CreateImageOptionsBuilder};
use futures_util::StreamExt;
use orchestra_core::VendorName;
use orchestra_core::protocol::{Phase, Progress};
use tokio::sync::mpsc::UnboundedSender;

use crate::client::Docker;
use crate::error::{VendorError, engine_message, is_not_found};

/// Where the host keeps its CA bundle, copied into scratch images so TLS clients work.
const HOST_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// The id of `image`, pulling it first when it is not present locally.
pub(crate) async fn ensure(
    docker: &Docker,
    image: &str,
    vendor: &VendorName,
    events: &UnboundedSender<Progress>,
) -> Result<String, VendorError> {
    let missing = match docker.api().inspect_image(image).await {
        Ok(found) => return Ok(found.id.unwrap_or_default()),
        Err(e) if is_not_found(&e) => engine_message(&e),
        Err(e) => return Err(VendorError::engine(format!("inspecting image {image}"))(e)),
    };
    pull(docker, image, vendor, events)
        .await
        .map_err(|source| VendorError::Pull {
            vendor: vendor.clone(),
            image: image.to_owned(),
            missing,
            source: Box::new(source),
        })?;
    let found = docker
        .api()
        .inspect_image(image)
        .await
        .map_err(VendorError::engine(format!("inspecting image {image}")))?;
    Ok(found.id.unwrap_or_default())
}

async fn pull(
    docker: &Docker,
    image: &str,
    vendor: &VendorName,
    events: &UnboundedSender<Progress>,
) -> Result<(), bollard::errors::Error> {
    let (repository, tag) = split_reference(image);
    tracing::info!(image, "pulling image");
    let _ = events.send(progress(vendor, format!("pulling {image}")));
    let options = CreateImageOptionsBuilder::new()
        .from_image(repository)
        .tag(tag)
        .build();
    let mut stream = docker.api().create_image(Some(options), None, None);
    // One event per layer and status change, not one per downloaded chunk.
    let mut last_status: HashMap<String, String> = HashMap::new();
    while let Some(item) = stream.next().await {
        let info = item?;
        let Some(status) = info.status else { continue };
        let layer = info.id.unwrap_or_default();
        if last_status.get(&layer) == Some(&status) {
            continue;
        }
        let message = if layer.is_empty() {
            format!("pulling {image}: {status}")
        } else {
            format!("pulling {image}: {layer}: {status}")
        };
        last_status.insert(layer, status);
        let _ = events.send(progress(vendor, message));
    }
    Ok(())
}

fn progress(vendor: &VendorName, message: String) -> Progress {
    Progress {
        unit: vendor.to_string(),
        replica: None,
        phase: Phase::Starting,
        message: Some(message),
    }
}

/// Splits `registry:5000/library/redis:7` into the repository and the tag (or digest) the
/// create-image call takes separately. An untagged name means `latest`: an empty tag would
/// ask the engine for every tag of the repository.
pub(crate) fn split_reference(image: &str) -> (&str, &str) {
    if let Some((repository, digest)) = image.split_once('@') {
        return (repository, digest);
    }
    let last_slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[last_slash..].rfind(':') {
        Some(colon) => (
            &image[..last_slash + colon],
            &image[last_slash + colon + 1..],
        ),
        None => (image, "latest"),
    }
}

/// The label naming the tag an image was built for (see [`build_scratch_with`]).
pub(crate) const LABEL_IMAGE: &str = "orchestra.image";

/// Builds image `tag` FROM scratch holding only the static `binary` (as `/<file name>`, its
/// entrypoint) and the host's CA bundle when there is one. The context is a tar made in
/// memory and sent to the engine: no Docker CLI, no BuildKit, no registry.
pub(crate) async fn build_scratch(
    docker: &Docker,
    tag: &str,
    binary: &Path,
) -> Result<(), VendorError> {
    build_scratch_with(docker, tag, binary, &[]).await
}

/// [`build_scratch`] with `extra` programs copied beside the binary, each as `/<name>`.
pub(crate) async fn build_scratch_with(
    docker: &Docker,
    tag: &str,
    binary: &Path,
    extra: &[(&str, Vec<u8>)],
) -> Result<(), VendorError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| VendorError::Io { path, source }
    };
    let program = std::fs::read(binary).map_err(io(binary))?;
    let file_name = binary
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| {
            !n.is_empty()
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        })
        .unwrap_or("app");
    let ca = std::fs::read(HOST_CA_BUNDLE).ok();
    let ca_line = if ca.is_some() {
        format!("COPY ca-certificates.crt {HOST_CA_BUNDLE}\n")
    } else {
        String::new()
    };
    let extra_lines = extra.iter().fold(String::new(), |mut lines, (name, _)| {
        let _ = writeln!(lines, "COPY {name} /{name}");
        lines
    });
    // The label makes the image its tag's own: without it, the builder's cache handed two
    // projects (or two tests) with the same binary one image, and removing it with the one
    // project's images broke the other's build in the middle ("failed to get digest").
    let dockerfile = format!(
        "FROM scratch\nLABEL {LABEL_IMAGE}=\"{tag}\"\nCOPY {file_name} /{file_name}\n{extra_lines}{ca_line}ENTRYPOINT [\"/{file_name}\"]\n"
    );

    let mut files = vec![
        ("Dockerfile", dockerfile.into_bytes(), 0o644),
        (file_name, program, 0o755),
    ];
    files.extend(
        extra
            .iter()
            .map(|(name, bytes)| (*name, bytes.clone(), 0o755)),
    );
    if let Some(ca) = ca {
        files.push(("ca-certificates.crt", ca, 0o644));
    }
    let context = tar_context(&files).map_err(io(Path::new("<build context>")))?;
    build_from_context(docker, tag, context).await
}

/// A tar archive of `(name, contents, mode)` files, in memory.
pub(crate) fn tar_context(files: &[(&str, Vec<u8>, u32)]) -> std::io::Result<Vec<u8>> {
    let mut archive = tar::Builder::new(Vec::new());
    for (name, contents, mode) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(contents.len() as u64);
        header.set_mode(*mode);
        header.set_cksum();
        archive.append_data(&mut header, name, contents.as_slice())?;
    }
    archive.into_inner()
}

/// Builds image `tag` from a tar build context holding a Dockerfile, with the classic
/// builder (it needs no BuildKit session).
pub(crate) async fn build_from_context(
    docker: &Docker,
    tag: &str,
    context: Vec<u8>,
) -> Result<(), VendorError> {
    let options = BuildImageOptionsBuilder::new()
        .t(tag)
        .rm(true)
        .forcerm(true)
        .build();
    let mut stream =
        docker
            .api()
            .build_image(options, None, Some(bollard::body_full(context.into())));
    while let Some(item) = stream.next().await {
        let info = item.map_err(|source| VendorError::Build {
            tag: tag.to_owned(),
            source,
        })?;
        if let Some(detail) = info.error_detail.and_then(|d| d.message) {
            return Err(VendorError::BuildRejected {
                tag: tag.to_owned(),
                reason: detail,
            });
        }
        if let Some(line) = info.stream {
            let line = line.trim_end();
            if !line.is_empty() {
                tracing::debug!(tag, "{line}");
            }
        }
    }
    tracing::info!(tag, "built image");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_into_repository_and_tag() {
        assert_eq!(split_reference("redis:7"), ("redis", "7"));
        assert_eq!(split_reference("redis"), ("redis", "latest"));
        assert_eq!(
            split_reference("localhost:5000/team/pg:16.2"),
            ("localhost:5000/team/pg", "16.2")
        );
        assert_eq!(
            split_reference("localhost:5000/team/pg"),
            ("localhost:5000/team/pg", "latest")
        );
        assert_eq!(split_reference("pg@sha256:abc"), ("pg", "sha256:abc"));
    }

    #[test]
    fn tar_context_holds_the_files_with_their_modes() {
        let tar = tar_context(&[
            ("Dockerfile", b"FROM scratch\n".to_vec(), 0o644),
            ("app", vec![1, 2], 0o755),
        ])
        .unwrap();
        let mut archive = tar::Archive::new(tar.as_slice());
        let entries: Vec<(String, u32, u64)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    e.path().unwrap().display().to_string(),
                    h.mode().unwrap(),
                    h.size().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            entries,
            [
                ("Dockerfile".to_owned(), 0o644, 13),
                ("app".to_owned(), 0o755, 2)
            ]
        );
    }
}
