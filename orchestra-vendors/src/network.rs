//! The project's bridge network: vendors reach each other (and `--docker` services reach
//! them) by vendor name, which is each container's alias on it.

use std::collections::HashMap;

use bollard::models::NetworkCreateRequest;
use orchestra_core::ProjectName;

use crate::client::Docker;
use crate::error::{VendorError, is_conflict, is_not_found};
use crate::names::{LABEL_PROJECT, network_name};

/// Creates the project network unless it exists.
pub(crate) async fn ensure(docker: &Docker, project: &ProjectName) -> Result<(), VendorError> {
    let name = network_name(project);
    match docker.api().inspect_network(&name, None).await {
        Ok(_) => return Ok(()),
        Err(e) if is_not_found(&e) => {}
        Err(e) => return Err(VendorError::engine(format!("inspecting network {name}"))(e)),
    }
    let request = NetworkCreateRequest {
        name: name.clone(),
        driver: Some("bridge".into()),
        labels: Some(HashMap::from([(
            LABEL_PROJECT.to_owned(),
            project.to_string(),
        )])),
        ..NetworkCreateRequest::default()
    };
    match docker.api().create_network(request).await {
        Ok(_) => {
            tracing::info!(network = %name, "created the project network");
            Ok(())
        }
        // Created meanwhile by another command of the same project: just as good.
        Err(e) if is_conflict(&e) => Ok(()),
        Err(e) => Err(VendorError::engine(format!("creating network {name}"))(e)),
    }
}

/// Removes the project network if no container is attached to it any more (services run
/// with `--docker` may still use it); returns whether it was removed.
pub(crate) async fn remove_if_unused(
    docker: &Docker,
    project: &ProjectName,
) -> Result<bool, VendorError> {
    let name = network_name(project);
    let network = match docker.api().inspect_network(&name, None).await {
        Ok(n) => n,
        Err(e) if is_not_found(&e) => return Ok(false),
        Err(e) => return Err(VendorError::engine(format!("inspecting network {name}"))(e)),
    };
    if network.containers.is_some_and(|c| !c.is_empty()) {
        tracing::debug!(network = %name, "network still in use, kept");
        return Ok(false);
    }
    match docker.api().remove_network(&name).await {
        Ok(()) => {
            tracing::info!(network = %name, "removed the project network");
            Ok(true)
        }
        Err(e) if is_not_found(&e) || is_conflict(&e) => Ok(false),
        Err(e) => Err(VendorError::engine(format!("removing network {name}"))(e)),
    }
}
