//! Why a replica could not be run in a container. Handed to the supervisor inside its
//! `SupervisorError::Spawn`, so the message reads after "cannot spawn users.0 (`…`)".

use std::path::PathBuf;

use orchestra_core::ServiceName;

use crate::error::VendorError;

/// Why a replica's container could not be made.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SpawnError {
    /// The replica belongs to no service of the project this backend was given.
    #[error("service `{0}` is not in the project")]
    UnknownService(ServiceName),

    /// A service that is not Go has nothing to build an image from.
    #[error(
        "service `{service}` is not a Go service, so --docker cannot build an image for it; \
         set `docker: {{ image: <an image that can run it> }}` in {}",
        .file.display()
    )]
    NoImage {
        /// The service.
        service: ServiceName,
        /// Its service.yml.
        file: PathBuf,
    },

    /// `go build` for the static binary could not be run, or failed.
    #[error("cannot build the static binary of `{service}` in {}: {output}", .dir.display())]
    StaticBuild {
        /// The service.
        service: ServiceName,
        /// Its folder.
        dir: PathBuf,
        /// The compiler's output (or why it could not start).
        output: String,
    },

    /// A scratch image has no shell to run a command written as a string.
    #[error(
        "`{command}` needs a shell, which the minimal image of `{service}` does not have; \
         write `run:` as a list, or set `docker: {{ image: … }}` in {}",
        .file.display()
    )]
    NeedsShell {
        /// The service.
        service: ServiceName,
        /// The command.
        command: String,
        /// Its service.yml.
        file: PathBuf,
    },

    /// A container of that name exists and does not belong to this project.
    #[error("a container named {0} exists and was not made by this project; remove it first")]
    NotOurs(String),

    /// The engine refused, or an image could not be built.
    #[error(transparent)]
    Vendor(#[from] VendorError),
}

impl SpawnError {
    /// Wraps the error the way the supervisor's spawn error carries its cause.
    pub(crate) fn into_io(self) -> std::io::Error {
        std::io::Error::other(self)
    }
}
