//! The tags of the images built for a project's services (`orchestra-<project>/<service>:<hash>`,
//! the hash that of the static binary, stable across daemons), and their removal.

use std::collections::HashMap;
use std::path::Path;

use orchestra_core::{ProjectName, ServiceName};

use crate::client::Docker;
use crate::error::{VendorError, is_conflict, is_not_found};

/// FNV-1a of the file's bytes: stable across builds of Orchestra, unlike std's hasher, so
/// an image tagged by one daemon is found again by the next.
pub(super) async fn hash_file(path: &Path) -> std::io::Result<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
