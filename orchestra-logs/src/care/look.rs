//! One look at some logs: index those that grew, rotate those too large.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use orchestra_core::spec::LogSettings;

use crate::index::IndexWriter;

/// A log's size at a look, and when that was.
#[derive(Clone, Copy)]
struct Seen {
    len: u64,
    at: Instant,
}

impl Seen {
    fn now(len: u64) -> Self {
        Self {
            len,
            at: Instant::now(),
        }
    }
}

/// What the last looks saw.
pub(super) struct Looks {
    /// Each log's size at its last look, and when that was.
    sizes: HashMap<PathBuf, Seen>,
    index: IndexWriter,
}

impl Looks {
    pub(super) fn new() -> Self {
        Self {
            sizes: HashMap::new(),
            index: IndexWriter::new(),
        }
    }

    /// When `path` was last looked at.
    pub(super) fn last_look(&self, path: &Path) -> Option<Instant> {
        self.sizes.get(path).map(|seen| seen.at)
    }

    /// Forgets `path` (deleted or renamed away).
    pub(super) fn forget(&mut self, path: &Path) {
        self.sizes.remove(path);
    }

    /// Indexes those of `paths` that changed size since their last look, and rotates
    /// those larger than `limits.max_size`.
    pub(super) fn look(&mut self, paths: &[PathBuf], limits: LogSettings) {
        let mut large = Vec::new();
        for path in paths {
            let Ok(meta) = std::fs::metadata(path) else {
                self.sizes.remove(path);
                continue;
            };
            let len = meta.len();
            let before = self.sizes.insert(path.clone(), Seen::now(len));
            if before.is_some_and(|seen| seen.len == len) {
                continue;
            }
            // The look's own time: an upper bound of when the new bytes were written,
            // late by how long the look took to come. (The file's modification time
            // would not be late, but comes from a coarse clock that a busy virtual
            // machine lets fall behind, which would stamp lines before their write.)
            self.record(path, len, SystemTime::now());
            if len > limits.max_size {
                large.push(path.as_path());
            }
        }
        for (path, rotated) in rotate_all(&large, limits) {
            let Ok(meta) = std::fs::metadata(path) else {
                continue;
            };
            if rotated {
                // The index moved with the bytes; start the rest of the file's own.
                self.record(path, meta.len(), SystemTime::now());
            }
            self.sizes.insert(path.to_path_buf(), Seen::now(meta.len()));
        }
    }

    fn record(&mut self, path: &Path, len: u64, time: SystemTime) {
        if let Err(e) = self.index.record_len(path, len, time) {
            tracing::warn!(log = %path.display(), error = %e, "cannot index the log");
        }
    }
}

/// How many rotations run at once: each waits mostly for its copy to reach the disk, and
/// the filesystem commits concurrent flushes together, so a look at hundreds of large
/// logs takes a few flushes' time rather than hundreds.
const PARALLEL_ROTATIONS: usize = 8;

/// Rotates each of `paths` that is larger than `max_size`, several at once; returns each
/// path with whether it was rotated.
fn rotate_all<'a>(paths: &[&'a Path], limits: LogSettings) -> Vec<(&'a Path, bool)> {
    if paths.is_empty() {
        return Vec::new();
    }
    let per_thread = paths.len().div_ceil(PARALLEL_ROTATIONS);
    std::thread::scope(|scope| {
        let workers: Vec<_> = paths
            .chunks(per_thread)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|&path| (path, rotate(path, limits)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect()
    })
}

/// Rotates `path` if it is larger than `max_size`; whether it was.
fn rotate(path: &Path, limits: LogSettings) -> bool {
    match crate::rotate_if_larger(path, limits.max_size, limits.keep) {
        Ok(Some(rotation)) => {
            tracing::info!(log = %path.display(), bytes = rotation.bytes, method = ?rotation.method, "rotated a log");
            true
        }
        Ok(None) => false,
        Err(e) => {
            tracing::warn!(log = %path.display(), error = %e, "cannot rotate the log");
            false
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
    fn a_look_indexes_logs_that_grew_and_rotates_large_ones() {
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
        let mut looks = Looks::new();
        let logs = super::super::list_logs(dir.path());
        looks.look(&logs, limits);
        let idx = crate::index_path(&small);
        assert_eq!(std::fs::metadata(&idx).unwrap().len(), 16, "one entry");
        assert!(
            dir.path().join("api.0.log.1").exists(),
            "the large log was rotated"
        );
        assert!(std::fs::metadata(&big).unwrap().len() <= 4096);
        assert!(
            !crate::index_path(&dir.path().join("web.0.log.1")).exists(),
            "rotated files are left alone"
        );
        // Nothing changed: nothing is written.
        looks.look(&logs, limits);
        assert_eq!(std::fs::metadata(&idx).unwrap().len(), 16);
        // Each growth gets its own entry, however soon after the last.
        write(&small, "two\n");
        looks.look(&logs, limits);
        assert_eq!(std::fs::metadata(&idx).unwrap().len(), 32);
    }

    #[test]
    fn a_stamp_is_never_before_the_write() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("web.0.log");
        let before = SystemTime::now();
        write(&log, "one\n");
        let mut looks = Looks::new();
        looks.look(std::slice::from_ref(&log), LogSettings::default());
        let index = crate::Index::load(&log).unwrap();
        let entry = index.entries()[0];
        assert_eq!(entry.len, 4);
        // Millisecond precision: compare at that precision.
        let ms = |t: SystemTime| t.duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
        assert!(ms(entry.time) >= ms(before), "{entry:?} vs {before:?}");
    }
}
