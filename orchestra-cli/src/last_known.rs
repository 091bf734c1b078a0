//! The project as the fleet last ran it, kept in `.orchestra/project.json`.
//!
//! The daemon writes it down at every request that brings a project (start, restart,
//! scale, vendors), so that the commands that act on what runs — `stop`, `ps`, `logs`,
//! `vendors down` — still know the fleet's services, vendors and stop timeouts once the
//! files stop loading: a typo in a new service.yml must not lock the user out of a fleet
//! that runs.

use std::path::PathBuf;

use orchestra_core::StateDir;
use orchestra_core::spec::ProjectSpec;

/// The file the last known project is kept in.
fn file(state: &StateDir) -> PathBuf {
    state.root().join("project.json")
}

/// Writes `project` down as the fleet's last known project. A failure is only logged:
/// the request that brought the project goes on without it.
pub fn save(state: &StateDir, project: &ProjectSpec) {
    let written = serde_json::to_vec(project)
        .map_err(std::io::Error::other)
        .and_then(|json| orchestra_core::paths::atomic_replace(&file(state), &json));
    if let Err(e) = written {
        tracing::warn!(error = %e, "cannot keep the project as last known");
    }
}

/// The last known project of the fleet in `state`, if one was written and still reads.
pub fn load(state: &StateDir) -> Option<ProjectSpec> {
    let json = std::fs::read(file(state)).ok()?;
    serde_json::from_slice(&json)
        .inspect_err(|e| tracing::debug!(error = %e, "the last known project does not read"))
        .ok()
}
