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
        "vendor `{vendor}` needs image `{image}`, which the engine does not have ({missing}) \
         and could not pull; check its name, or build it locally under that tag"
    )]
    Pull {
        /// The vendor.
        vendor: VendorName,
        /// The image reference.
        image: String,
        /// What the engine said when asked for the image locally.
        missing: String,
        /// The engine's reason the pull failed.
        #[source]
        source: Box<bollard::errors::Error>,
    },

    /// The engine failed an image build.
    #[error("cannot build image `{tag}`")]
    Build {
        /// The tag being built.
        tag: String,
        /// The engine's reason.
        #[source]
        source: bollard::errors::Error,
    },

    /// The builder refused an image build.
    #[error("cannot build image `{tag}`: {reason}")]
    BuildRejected {
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

    /// The vendor the error is about, when it is about one.
    pub fn vendor(&self) -> Option<&VendorName> {
        match self {
            Self::NotReady { vendor, .. }
            | Self::Exited { vendor, .. }
            | Self::NoHealthcheck { vendor, .. }
            | Self::NoContainer { vendor }
            | Self::Pull { vendor, .. } => Some(vendor),
            _ => None,
        }
    }

    /// Wraps an engine error with what was being done.
    pub(crate) fn engine(action: impl Into<String>) -> impl FnOnce(bollard::errors::Error) -> Self {
        let action = action.into();
        move |source| Self::Engine { action, source }
    }
}

/// What the engine itself said: the message of its answer, without bollard's wrapping,
/// and said once (the engine answers `no such image: x: No such image: x`).
pub(crate) fn engine_message(e: &bollard::errors::Error) -> String {
    let message = match e {
        bollard::errors::Error::DockerResponseServerError { message, .. } => message.clone(),
        bollard::errors::Error::DockerStreamError { error } => error.clone(),
        other => return other.to_string(),
    };
    let half = message.len().saturating_sub(2) / 2;
    match (
        message.get(..half),
        message.get(half..half + 2),
        message.get(half + 2..),
    ) {
        (Some(a), Some(": "), Some(b)) if a.eq_ignore_ascii_case(b) => b.to_owned(),
        _ => message,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engine_is_quoted_once() {
        let e = bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            message: "no such image: x:1: No such image: x:1".into(),
        };
        assert_eq!(engine_message(&e), "No such image: x:1");
        let e = bollard::errors::Error::DockerResponseServerError {
            status_code: 409,
            message: "Conflict. The name is in use".into(),
        };
        assert_eq!(engine_message(&e), "Conflict. The name is in use");
    }
}
