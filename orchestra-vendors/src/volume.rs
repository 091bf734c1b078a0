//! Named volumes: created labelled with the project, so `down --volumes` finds them all, and
//! kept by a plain `down` because they hold the vendors' data.

use std::collections::{BTreeSet, HashMap};

use bollard::models::VolumeCreateRequest;
use bollard::query_parameters::{ListVolumesOptionsBuilder, RemoveVolumeOptions};
use orchestra_core::ProjectName;
use orchestra_core::spec::{VendorSpec, VolumeSource};

use crate::client::Docker;
use crate::error::{VendorError, is_conflict, is_not_found};
use crate::names::{LABEL_PROJECT, project_filter, volume_name};

/// Creates the named volumes a vendor mounts (creating an existing one is a no-op).
pub(crate) async fn ensure(
    docker: &Docker,
    project: &ProjectName,
    spec: &VendorSpec,
) -> Result<(), VendorError> {
    for mount in &spec.volumes {
        let VolumeSource::Named(short) = &mount.source else {
            continue;
        };
        let name = volume_name(project, short);
        let request = VolumeCreateRequest {
            name: Some(name.clone()),
            labels: Some(HashMap::from([(
                LABEL_PROJECT.to_owned(),
                project.to_string(),
            )])),
            ..VolumeCreateRequest::default()
        };
        docker
            .api()
            .create_volume(request)
            .await
            .map_err(VendorError::engine(format!("creating volume {name}")))?;
    }
    Ok(())
}

/// The names of every volume labelled with the project.
pub(crate) async fn project_volumes(
    docker: &Docker,
    project: &ProjectName,
) -> Result<BTreeSet<String>, VendorError> {
    let filters = HashMap::from([("label", vec![project_filter(project)])]);
    let list = docker
        .api()
        .list_volumes(Some(
            ListVolumesOptionsBuilder::new().filters(&filters).build(),
        ))
        .await
        .map_err(VendorError::engine("listing volumes"))?;
    Ok(list
        .volumes
        .unwrap_or_default()
        .into_iter()
        .map(|v| v.name)
        .collect())
}

/// Removes volumes; one still used by a container is kept with a warning.
pub(crate) async fn remove(docker: &Docker, names: &BTreeSet<String>) -> Result<(), VendorError> {
    for name in names {
        match docker
            .api()
            .remove_volume(name, None::<RemoveVolumeOptions>)
            .await
        {
            Ok(()) => tracing::info!(volume = %name, "removed volume"),
            Err(e) if is_not_found(&e) => {}
            Err(e) if is_conflict(&e) => {
                tracing::warn!(volume = %name, "volume still in use by a container, kept");
            }
            Err(e) => return Err(VendorError::engine(format!("removing volume {name}"))(e)),
        }
    }
    Ok(())
}
