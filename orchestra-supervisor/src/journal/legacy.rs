//! Records as an earlier version kept them: a file per replica, `run/<service>.<n>.json`.
//!
//! A fleet started by that version may still run when this one is installed (its daemon
//! gone, or stopped by the version check): its replicas must not vanish from `ps` and
//! `stop`. The first read of the journal moves each such file into it, as the replica's
//! `up` line, and removes the file; a file that does not read counts as damage, so that
//! `stop` looks for its replica by its processes, and goes with the damage.

use std::fs;
use std::path::PathBuf;

use orchestra_core::StateDir;

use crate::records::ReplicaRecord;

/// The record files of an earlier version (not the journal, not a temporary file).
fn files(state: &StateDir) -> Vec<PathBuf> {
    let Ok(dir) = fs::read_dir(state.run_dir()) else {
        return Vec::new();
    };
    dir.flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "json")
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| !n.starts_with('.'))
        })
        .collect()
}

/// Moves every readable record file into the journal; returns how many did not read.
pub(super) fn migrate(state: &StateDir) -> usize {
    let mut unreadable = 0;
    for path in files(state) {
        let parsed = fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice::<ReplicaRecord>(&b).map_err(|e| e.to_string()));
        match parsed {
            Ok(record) => match super::record(state, &record) {
                Ok(()) => {
                    let _ = fs::remove_file(&path);
                }
                // Left where it is: read again next time.
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "cannot move a record into the journal");
                }
            },
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "skipping an unreadable replica record");
                unreadable += 1;
            }
        }
    }
    unreadable
}

/// Removes the record files that do not read (the readable ones were moved already).
pub(super) fn remove_unreadable(state: &StateDir) -> std::io::Result<()> {
    for path in files(state) {
        match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}
