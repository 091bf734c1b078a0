//! The project as the fleet last ran it, kept in `.orchestra/project.json`.
//!
//! The daemon writes it down at every request that brings a project (start, restart,
//! scale, vendors), so that the commands that act on what runs — `stop`, `ps`, `logs`,
//! `vendors down` — still know the fleet's services, vendors and stop timeouts once the
//! files stop loading: a typo in a new service.yml must not lock the user out of a fleet
//! that runs.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use orchestra_core::StateDir;
use orchestra_core::spec::ProjectSpec;

/// The file the last known project is kept in.
fn file(state: &StateDir) -> PathBuf {
    state.root().join("project.json")
}

/// Writes `project` down as the fleet's last known project. A failure is only logged:
/// the request that brought the project goes on without it. A file that already says
/// the same is left as it is (no new file for an unchanged project).
pub fn save(state: &StateDir, project: &ProjectSpec) {
    let path = file(state);
    let written = serde_json::to_vec(project)
        .map_err(std::io::Error::other)
        .and_then(|json| {
            if std::fs::read(&path).is_ok_and(|on_disk| on_disk == json) {
                return Ok(());
            }
            orchestra_core::paths::atomic_replace(&path, &json)
        });
    if let Err(e) = written {
        tracing::warn!(error = %e, "cannot keep the project as last known");
    }
}

/// [`save`] on a thread of its own: a request does not wait for the project to be written
/// down (a start of 200 services waited most of a millisecond). The saves of requests
/// that come quickly one after the other are written in the order the requests came.
pub fn save_in_background(state: &StateDir, project: &ProjectSpec) {
    static ORDER: Mutex<u64> = Mutex::new(0);
    static ISSUED: AtomicU64 = AtomicU64::new(0);
    let ticket = ISSUED.fetch_add(1, Ordering::SeqCst) + 1;
    let (state, project) = (state.clone(), project.clone());
    tokio::task::spawn_blocking(move || {
        let mut written = ORDER.lock().unwrap_or_else(PoisonError::into_inner);
        // A later request's project was written first: this one is out of date.
        if *written < ticket {
            save(&state, &project);
            *written = ticket;
        }
    });
}

/// The last known project of the fleet in `state`, if one was written and still reads.
pub fn load(state: &StateDir) -> Option<ProjectSpec> {
    let json = std::fs::read(file(state)).ok()?;
    serde_json::from_slice(&json)
        .inspect_err(|e| tracing::debug!(error = %e, "the last known project does not read"))
        .ok()
}
