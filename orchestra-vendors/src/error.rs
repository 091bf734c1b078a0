//! The crate's one error type.

use std::path::PathBuf;
use std::time::Duration;

use orchestra_core::{HumanDuration, VendorName};

/// Why a vendor operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VendorError {
    /// Nothing answered at the Docker endpoint.
    #[error(
        "no Docker engine answers at {tried}; start one (e.g. `sudo systemctl start docker`) \
         or point DOCKER_HOST at an engine that runs"
    )]
    NoEngine {
        /// The endpoint tried, and where it came from.
        tried: String,
        /// What the connection attempt said.
        #[source]
        source: bollard::errors::Error,
    },

    /// The engine refused or failed a request.
    #[error("{action}")]
    Engine {
        /// What was being done, e.g. "creating container orchestra-shop-redis".
        action: String,
        /// The engine's answer.
        #[source]
        source: bollard::errors::Error,
    },

    /// An image is missing locally and could not be pulled.
    #[error(
        "cannot pull image `{image}`; check its name, or build it locally under that tag \
         (no registry may be reachable from here)"
    )]
    Pull {
        /// The image reference.
        image: String,
        /// The engine's reason.
        #[source]
        source: bollard::errors::Error,
    },

    /// An image build through the Engine API failed.
    #[error("cannot build image `{tag}`: {reason}")]
    Build {
        /// The tag being built.
        tag: String,
        /// The builder's message.
        reason: String,
    },

    /// The readiness check did not pass in time.
    #[error(
        "vendor `{vendor}` is not ready after {}: {last}{}",
        HumanDuration(*.timeout),
        tail_suffix(.log_tail)
    )]
    NotReady {
        /// The vendor.
        vendor: VendorName,
        /// The `ready_timeout` that ran out.
        timeout: Duration,
        /// What the last attempt said.
        last: String,
        /// The last lines of its output.
        log_tail: Vec<String>,
    },

    /// The container stopped while Orchestra waited for it to become ready.
    #[error("vendor `{vendor}` exited with code {code} before it was ready{}", tail_suffix(.log_tail))]
    Exited {
        /// The vendor.
        vendor: VendorName,
        /// The container's exit code.
        code: i64,
        /// The last lines of its output.
        log_tail: Vec<String>,
    },

    /// `ready: healthcheck` on an image that defines no HEALTHCHECK.
    #[error("vendor `{vendor}` waits for a healthcheck but image `{image}` defines none")]
    NoHealthcheck {
        /// The vendor.
        vendor: VendorName,
        /// Its image.
        image: String,
    },

    /// The vendor has no container.
    #[error("vendor `{vendor}` has no container (run `orchestra vendors up` first)")]
    NoContainer {
        /// The vendor.
        vendor: VendorName,
    },

    /// A local file could not be read or written.
    #[error("cannot access {}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

fn tail_suffix(lines: &[String]) -> String {
    if lines.is_empty() {
        String::new()
    } else {
        format!("; its last output:\n  {}", lines.join("\n  "))
    }
}

impl VendorError {
    /// The container's last lines of output, when the error is about a vendor that did not
    /// become ready (for the failure report of `start` and `vendors up`).
    pub fn log_tail(&self) -> &[String] {
        match self {
            Self::NotReady { log_tail, .. } | Self::Exited { log_tail, .. } => log_tail,
            _ => &[],
        }
    }

    /// Wraps an engine error with what was being done.
    pub(crate) fn engine(action: impl Into<String>) -> impl FnOnce(bollard::errors::Error) -> Self {
        let action = action.into();
        move |source| Self::Engine { action, source }
    }
}

/// Whether the engine answered 404 (no such container, network, image or volume).
pub(crate) fn is_not_found(e: &bollard::errors::Error) -> bool {
    matches!(
        e,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// Whether the engine answered 409 (already exists, or in use).
pub(crate) fn is_conflict(e: &bollard::errors::Error) -> bool {
    matches!(
        e,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 409,
            ..
        }
    )
}
