//! Vendor containers, fully resolved.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{CommandSpec, Env};
use crate::name::VendorName;
use crate::policy::RestartPolicy;

/// A published port of a vendor: `host:container`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PortMapping {
    /// Port on 127.0.0.1 of the host.
    pub host: u16,
    /// Port inside the container.
    pub container: u16,
}

/// Where a vendor volume comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VolumeSource {
    /// A named volume, created as `orchestra-<project>-<name>`.
    Named(String),
    /// A host path (absolute once resolved).
    Bind(PathBuf),
}

/// A volume mounted into a vendor container.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VolumeMount {
    /// The named volume or host path.
    pub source: VolumeSource,
    /// The path inside the container.
    pub target: String,
    /// Mounted read-only (`:ro`).
    pub read_only: bool,
}

/// How a vendor's readiness is checked.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VendorReady {
    /// TCP connect: to this port on the host when the vendor publishes it there (`38111`
    /// of `38111:6379`), else to this container port (through its published host port, or
    /// on the container's address).
    Tcp(u16),
    /// HTTP GET of a URL answers 2xx or 3xx.
    Http(String),
    /// A command run inside the container exits 0.
    Exec(CommandSpec),
    /// The image's own HEALTHCHECK reports healthy.
    Healthcheck,
}

/// A vendor container, fully resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendorSpec {
    /// Its name: the network alias and the suffix of the container name.
    pub name: VendorName,
    /// Image reference.
    pub image: String,
    /// Overrides the image's command.
    pub command: Option<CommandSpec>,
    /// Overrides the image's entrypoint.
    pub entrypoint: Option<CommandSpec>,
    /// Published ports.
    pub ports: Vec<PortMapping>,
    /// Environment of the container.
    pub env: Env,
    /// Volumes.
    pub volumes: Vec<VolumeMount>,
    /// Readiness check, if any.
    pub ready: Option<VendorReady>,
    /// How long to wait for readiness.
    #[serde(with = "crate::duration::human")]
    pub ready_timeout: Duration,
    /// Restart policy (applied by the engine).
    pub restart: RestartPolicy,
    /// Grace before the engine kills the container.
    #[serde(with = "crate::duration::human")]
    pub stop_timeout: Duration,
}

impl VendorSpec {
    /// The address variables services get: `<NAME>_HOST`, `<NAME>_PORT` and `<NAME>_ADDR`
    /// as seen from the host (`in_container == false`) or from a container on the project
    /// network; see [`Addressing`](crate::address::Addressing).
    pub fn address_env(&self, in_container: bool) -> Env {
        use crate::address::Addressing;
        let addressing = if in_container {
            Addressing::Containers
        } else {
            Addressing::Host
        };
        addressing.vendor(self)
    }
}
