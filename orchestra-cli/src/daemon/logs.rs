//! The daemon's care of the fleet's log files.
//!
//! Replicas write their logs themselves (the file is their stdout and stderr), so the
//! daemon only looks after them:
//! - at each (re)start of a replica, the previous run's log is rotated to `.log.1` (the
//!   supervisor calls [`opener`] through its log-opener hook);
//! - once a second, every log that grew gets an entry in its time index (what `logs
//!   --timestamps` reads) and is rotated in place when it passed `logs.max_size`.
//!
//! The tick costs one directory read and one `stat` per log file; a file whose size did not
//! change is not touched further, so an idle fleet costs next to nothing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use orchestra_core::spec::LogSettings;
use orchestra_logs::IndexWriter;
use orchestra_supervisor::OpenLog;

/// How often logs are looked at: the time index is precise to this.
const TICK: Duration = Duration::from_secs(1);

/// The project's log settings, as the latest request brought them.
pub type SharedSettings = Arc<RwLock<LogSettings>>;

fn settings(shared: &SharedSettings) -> LogSettings {
    *shared.read().unwrap_or_else(PoisonError::into_inner)
}

/// The supervisor's log opener: rotate what the previous run wrote, then open a fresh file
/// for appending (0600). A failed rotation is logged and the old file appended to, so a
/// replica never fails to start over its log's history.
pub fn opener(shared: SharedSettings) -> Arc<OpenLog> {
    Arc::new(move |id, path| {
        let keep = settings(&shared).keep;
        if let Err(e) = orchestra_logs::rotate_on_start(path, keep) {
            tracing::warn!(replica = %id, error = %e, "cannot rotate the previous log");
        }
        orchestra_core::paths::open_append(path)
    })
}

/// Starts the once-a-second care of the logs in `logs_dir`. The work runs on the blocking
/// pool: a rotation copies up to `max_size` bytes and must not stall the daemon's requests.
pub fn spawn_log_care(logs_dir: PathBuf, shared: SharedSettings) {
    tokio::spawn(async move {
        let mut care = LogCare::new(logs_dir);
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let limits = settings(&shared);
            let done = tokio::task::spawn_blocking(move || {
                care.tick(limits);
                care
            });
            match done.await {
                Ok(back) => care = back,
                Err(e) => {
                    tracing::error!(error = %e, "the log care stopped");
                    return;
                }
            }
        }
    });
}

/// What the last tick saw.
struct LogCare {
    dir: PathBuf,
    sizes: HashMap<PathBuf, u64>,
    index: IndexWriter,
}

impl LogCare {
    fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            sizes: HashMap::new(),
            index: IndexWriter::new(),
        }
    }

    /// Indexes the logs that changed size since the last tick and rotates those too large.
    fn tick(&mut self, limits: LogSettings) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut seen = HashMap::with_capacity(self.sizes.len());
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|x| x != "log") {
                continue;
            }
            let Ok(meta) = entry.metadata() else { continue };
            let len = meta.len();
            let before = self.sizes.get(&path).copied();
            seen.insert(path.clone(), len);
            if before == Some(len) {
                continue;
            }
            self.record(&path);
            if len > limits.max_size {
                self.rotate(&path, limits);
                if let Ok(meta) = std::fs::metadata(&path) {
                    seen.insert(path, meta.len());
                }
            }
        }
        self.sizes = seen;
    }

    fn record(&mut self, path: &Path) {
        if let Err(e) = self.index.record(path) {
            tracing::warn!(log = %path.display(), error = %e, "cannot index the log");
        }
    }

    fn rotate(&mut self, path: &Path, limits: LogSettings) {
        match orchestra_logs::rotate_if_larger(path, limits.max_size, limits.keep) {
            Ok(Some(rotation)) => {
                tracing::info!(log = %path.display(), bytes = rotation.bytes, method = ?rotation.method, "rotated a log");
                // The index moved with the bytes; start the rest of the file's own.
                self.record(path);
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(log = %path.display(), error = %e, "cannot rotate the log"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(path: &Path, text: &str) {
        let mut f = orchestra_core::paths::open_append(path).unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    #[test]
    fn a_tick_indexes_logs_that_grew_and_rotates_large_ones() {
        let dir = tempfile::tempdir().unwrap();
        let small = dir.path().join("web.0.log");
        let big = dir.path().join("api.0.log");
        write(&small, "one\n");
        write(&big, &"x".repeat(9000));
        write(&big, "\n");
        std::fs::write(dir.path().join("web.0.log.1"), "old\n").unwrap();
        let limits = LogSettings {
            max_size: 4096,
            keep: 2,
        };
        let mut care = LogCare::new(dir.path().to_path_buf());
        care.tick(limits);
        let idx = orchestra_logs::index_path(&small);
        assert_eq!(
            std::fs::metadata(&idx).unwrap().len(),
            16,
            "one index entry"
        );
        assert!(
            dir.path().join("api.0.log.1").exists(),
            "the large log was rotated"
        );
        assert!(std::fs::metadata(&big).unwrap().len() <= 4096);
        assert!(
            !orchestra_logs::index_path(&dir.path().join("web.0.log.1")).exists(),
            "rotated files are left alone"
        );
        // Nothing changed: nothing is written.
        care.tick(limits);
        assert_eq!(std::fs::metadata(&idx).unwrap().len(), 16);
    }

    #[test]
    fn the_opener_rotates_the_previous_run() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("web.0.log");
        write(&log, "first run\n");
        let shared = SharedSettings::default();
        let open = opener(shared);
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
