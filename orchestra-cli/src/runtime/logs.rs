//! The daemon's care of the fleet's log files, composed from the libraries.
//!
//! Replicas write their logs themselves (the file is their stdout and stderr), so the
//! daemon only looks after them:
//! - at each (re)start of a replica, the previous run's log is rotated to `.log.1` (the
//!   supervisor calls [`opener`] through its log-opener hook);
//! - [`orchestra_logs::LogCare`] indexes the time of what the logs' writers append and
//!   rotates a log in place when it passes `logs.max_size`. It runs on a thread of its
//!   own, at a raised priority where the system allows (see `super::priority`): busy
//!   services must not starve the care of their own logs.

use std::path::PathBuf;
use std::sync::{Arc, PoisonError};

use orchestra_logs::LogCare;
use orchestra_supervisor::OpenLog;

/// The project's log settings, as the latest request brought them.
pub type SharedSettings = orchestra_logs::SharedSettings;

/// The supervisor's log opener: rotate what the previous run wrote, then open a fresh file
/// for appending (0600). A failed rotation is logged and the old file appended to, so a
/// replica never fails to start over its log's history.
///
/// A log with nothing in it (new, or its last run wrote nothing) has no history to move:
/// it is handed over as it is, without the rotation's lock and second open.
pub fn opener(shared: SharedSettings) -> Arc<OpenLog> {
    Arc::new(move |id, path| {
        let file = orchestra_core::paths::open_append(path)?;
        if file.metadata()?.len() == 0 {
            return Ok(file);
        }
        drop(file);
        let keep = shared.read().unwrap_or_else(PoisonError::into_inner).keep;
        if let Err(e) = orchestra_logs::rotate_on_start(path, keep) {
            tracing::warn!(replica = %id, error = %e, "cannot rotate the previous log");
        }
        orchestra_core::paths::open_append(path)
    })
}

/// Starts the care of the logs in `logs_dir` (which exists) on a thread of its own: a
/// rotation copies up to `max_size` bytes and must not stall the daemon's requests.
pub fn spawn_log_care(logs_dir: PathBuf, shared: SharedSettings) {
    let started = std::thread::Builder::new()
        .name("orchestra-logcare".into())
        .spawn(move || {
            super::priority::raise_for_log_care();
            if let Err(e) = LogCare::new(&logs_dir, shared).run() {
                tracing::error!(error = %e, dir = %logs_dir.display(), "the log care stopped: logs are no longer indexed or rotated while running");
            }
        });
    if let Err(e) = started {
        tracing::error!(error = %e, "cannot start the log care: logs are not indexed or rotated while running");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn the_opener_rotates_the_previous_run() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("web.0.log");
        std::fs::write(&log, "first run\n").unwrap();
        let open = opener(SharedSettings::default());
        let id =
            orchestra_core::ReplicaId::new(orchestra_core::ServiceName::new("web").unwrap(), 0);
        let mut f = open(&id, &log).unwrap();
        f.write_all(b"second run\n").unwrap();
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "second run\n");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("web.0.log.1")).unwrap(),
            "first run\n"
        );
    }
}
