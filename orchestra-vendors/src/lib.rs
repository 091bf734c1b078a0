//! Vendor containers for Orchestra.
//!
//! This crate will create, start, probe, stop and remove the third-party containers a fleet
//! depends on (PostgreSQL, Redis, RabbitMQ…), named `orchestra-<project>-<vendor>` on a
//! per-project network, through the Docker Engine API. It is being filled in; today it only
//! names containers, networks and volumes.

use orchestra_core::{ProjectName, VendorName};

/// The container name of a vendor: `orchestra-<project>-<vendor>`.
pub fn container_name(project: &ProjectName, vendor: &VendorName) -> String {
    format!("orchestra-{project}-{vendor}")
}

/// The name of the project's bridge network.
pub fn network_name(project: &ProjectName) -> String {
    format!("orchestra-{project}")
}

/// The name of a named volume of the project.
pub fn volume_name(project: &ProjectName, volume: &str) -> String {
    format!("orchestra-{project}-{volume}")
}
