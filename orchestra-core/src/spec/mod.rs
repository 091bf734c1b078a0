//! Resolved specifications: what the configuration means once parsed, validated, merged and
//! interpolated. The config crate produces them; the supervisor, vendors and CLI consume them.
//! Everything here is plain data and serialisable, so the CLI can hand a whole project to the
//! daemon over its socket.
//!
//! One file per part: [commands](CommandSpec), [readiness probes](ReadyProbe), [services and
//! their replicas](ServiceSpec), [vendor containers](VendorSpec) and the [project](ProjectSpec)
//! that holds them.

use std::collections::BTreeMap;

mod command;
mod project;
mod ready;
mod service;
mod vendor;

pub use command::CommandSpec;
pub use project::{Hooks, LogSettings, ProjectSpec};
pub use ready::{ReadyCheck, ReadyProbe};
pub use service::{
    Dependency, DockerSpec, ReplicaSpec, RerunSpec, ServiceKind, ServiceSpec, TaskSpec,
};
pub use vendor::{PortMapping, VendorReady, VendorSpec, VolumeMount, VolumeSource};

/// An ordered set of environment variables.
pub type Env = BTreeMap<String, String>;
