//! Connecting to the Docker engine.

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::ContainerSummary;
use bollard::query_parameters::ListContainersOptionsBuilder;

use crate::error::VendorError;
use crate::names::LABEL_VENDOR;
use crate::vendors::ProjectContainer;

/// The engine's default socket when `DOCKER_HOST` is unset.
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// How long the first ping may take before the engine counts as absent: a live local engine
/// answers in milliseconds, and a command should not hang on a dead one.
const PING_TIMEOUT: Duration = Duration::from_secs(5);

/// Seconds a request may wait for the engine's response headers. Streams (logs, pulls) are
/// not limited once they have started.
const REQUEST_TIMEOUT_SECS: u64 = 120;

/// A connected Docker engine client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Docker {
    api: bollard::Docker,
    endpoint: String,
}

impl Docker {
    /// The underlying Engine API client, for what this crate does not wrap.
    pub fn api(&self) -> &bollard::Docker {
        &self.api
    }

    /// The endpoint this client talks to, e.g. `unix:///var/run/docker.sock`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Removes a container, killing it first if it runs; a container already gone is fine.
    pub(crate) async fn force_remove(&self, name: &str) -> Result<(), VendorError> {
        let options = bollard::query_parameters::RemoveContainerOptionsBuilder::new()
            .force(true)
            .build();
        match self.api.remove_container(name, Some(options)).await {
            Ok(()) => {
                tracing::info!(container = name, "removed container");
                Ok(())
            }
            Err(e) if crate::error::is_not_found(&e) => Ok(()),
            Err(e) => Err(VendorError::engine(format!("removing container {name}"))(e)),
        }
    }

    /// Every container, running or not, carrying all of `labels` (`key=value` filters).
    pub(crate) async fn labelled_containers(
        &self,
        labels: Vec<String>,
    ) -> Result<Vec<ProjectContainer>, VendorError> {
        let filters = HashMap::from([("label", labels)]);
        let options = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        let list = self
            .api
            .list_containers(Some(options))
            .await
            .map_err(VendorError::engine("listing containers"))?;
        Ok(list.into_iter().map(project_container).collect())
    }
}

fn project_container(c: ContainerSummary) -> ProjectContainer {
    ProjectContainer {
        id: c.id.unwrap_or_default(),
        name: c
            .names
            .and_then(|n| n.into_iter().next())
            .map(|n| n.trim_start_matches('/').to_owned())
            .unwrap_or_default(),
        vendor: c.labels.and_then(|mut l| l.remove(LABEL_VENDOR)),
        image: c.image.unwrap_or_default(),
        state: c.state.map(|s| s.to_string()).unwrap_or_default(),
    }
}

/// Connects to the engine named by `DOCKER_HOST`, else the default unix socket, and checks
/// that it answers.
pub async fn connect() -> Result<Docker, VendorError> {
    match std::env::var("DOCKER_HOST") {
        Ok(host) if !host.is_empty() => connect_to(&host, "from DOCKER_HOST").await,
        _ => connect_to(DEFAULT_HOST, "the default; DOCKER_HOST is unset").await,
    }
}

/// Connects to `host` (`unix:///path`, a bare socket path, `tcp://host:port` or
/// `http://host:port`) and checks that an engine answers; `origin` says where the address
/// came from, for the error message.
pub async fn connect_to(host: &str, origin: &str) -> Result<Docker, VendorError> {
    let no_engine = |source| VendorError::NoEngine {
        tried: format!("{host} ({origin})"),
        source,
    };
    let attempt = async {
        let api = open(host, bollard::API_DEFAULT_VERSION)?;
        match api.version().await {
            Ok(_) => api.negotiate_version().await,
            // An engine older than the client refuses every versioned request, even the
            // version query bollard negotiates with; its refusal names the highest version it
            // speaks, so reconnect at that one.
            Err(e) => match max_supported_version(&e) {
                Some(version) => {
                    let api = open(host, &version)?;
                    api.ping().await?;
                    Ok(api)
                }
                None => Err(e),
            },
        }
    };
    let api = tokio::time::timeout(PING_TIMEOUT, attempt)
        .await
        .unwrap_or(Err(bollard::errors::Error::RequestTimeoutError))
        .map_err(no_engine)?;
    tracing::debug!(endpoint = host, version = %api.client_version(), "connected to the Docker engine");
    Ok(Docker {
        api,
        endpoint: host.to_owned(),
    })
}

fn open(
    host: &str,
    version: &bollard::ClientVersion,
) -> Result<bollard::Docker, bollard::errors::Error> {
    let socket = host
        .strip_prefix("unix://")
        .or_else(|| host.starts_with('/').then_some(host));
    if let Some(path) = socket {
        bollard::Docker::connect_with_unix(path, REQUEST_TIMEOUT_SECS, version)
    } else {
        let http = host.replacen("tcp://", "http://", 1);
        bollard::Docker::connect_with_http(&http, REQUEST_TIMEOUT_SECS, version)
    }
}

/// The version in "client version 1.53 is too new. Maximum supported API version is 1.41".
fn max_supported_version(e: &bollard::errors::Error) -> Option<bollard::ClientVersion> {
    let bollard::errors::Error::DockerResponseServerError {
        status_code: 400,
        message,
    } = e
    else {
        return None;
    };
    let (_, version) = message.split_once("Maximum supported API version is ")?;
    let (major, minor) = version.trim().trim_end_matches('.').split_once('.')?;
    Some(bollard::ClientVersion {
        major_version: major.parse().ok()?,
        minor_version: minor.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_engine_maximum_from_its_refusal() {
        let e = bollard::errors::Error::DockerResponseServerError {
            status_code: 400,
            message: "client version 1.53 is too new. Maximum supported API version is 1.41".into(),
        };
        let v = max_supported_version(&e).unwrap();
        assert_eq!((v.major_version, v.minor_version), (1, 41));
        let other = bollard::errors::Error::DockerResponseServerError {
            status_code: 500,
            message: "boom".into(),
        };
        assert!(max_supported_version(&other).is_none());
    }
}
