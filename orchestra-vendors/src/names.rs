//! Names and labels of the Docker objects Orchestra owns. Everything a project creates is
//! named from the project name and carries its label, so it can be found again without any
//! local state (after a daemon crash, or from another terminal).

use orchestra_core::{ProjectName, VendorName};

/// Label naming the project a container, network or volume belongs to.
pub const LABEL_PROJECT: &str = "orchestra.project";
/// Label naming the vendor a container runs.
pub const LABEL_VENDOR: &str = "orchestra.vendor";
/// Label holding the hash of the configuration a container was created from.
pub const LABEL_CONFIG_HASH: &str = "orchestra.config-hash";

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

/// The `label=key=value` filter selecting the project's objects.
pub(crate) fn project_filter(project: &ProjectName) -> String {
    format!("{LABEL_PROJECT}={project}")
}
