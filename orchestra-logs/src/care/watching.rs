//! Which logs changed: one-shot inotify "modified" watches, armed again at each look.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use inotify::{WatchDescriptor, WatchMask, Watches};

/// The watches of the logs folder and of each log.
pub(super) struct Watching {
    watches: Watches,
    dir: WatchDescriptor,
    by_wd: HashMap<WatchDescriptor, PathBuf>,
    by_path: HashMap<PathBuf, WatchDescriptor>,
    /// Logs that could not be watched: looked at regularly instead.
    unwatched: HashSet<PathBuf>,
}

impl Watching {
    pub(super) fn new(watches: Watches, dir: WatchDescriptor) -> Self {
        Self {
            watches,
            dir,
            by_wd: HashMap::new(),
            by_path: HashMap::new(),
            unwatched: HashSet::new(),
        }
    }

    /// Whether `wd` is the folder's watch.
    pub(super) fn is_dir(&self, wd: &WatchDescriptor) -> bool {
        *wd == self.dir
    }

    /// The log watched by `wd`.
    pub(super) fn path_of(&self, wd: &WatchDescriptor) -> Option<&Path> {
        self.by_wd.get(wd).map(PathBuf::as_path)
    }

    /// The kernel removed the watch `wd`. If it was still the current watch of a log,
    /// that log is no longer watched: forgets the watch and returns the log, to be armed
    /// again. A watch replaced by a newer one (the usual case after a one-shot fired)
    /// returns `None`.
    pub(super) fn dropped(&mut self, wd: &WatchDescriptor) -> Option<PathBuf> {
        let path = self.by_wd.remove(wd)?;
        if self.by_path.get(&path) == Some(wd) {
            self.by_path.remove(&path);
        }
        Some(path)
    }

    /// Whether `path` could not be watched.
    pub(super) fn is_unwatched(&self, path: &Path) -> bool {
        self.unwatched.contains(path)
    }

    /// Arms (again) the one-shot watch of `path`. Arm before looking at the file, so a
    /// write after the look is never missed.
    pub(super) fn arm(&mut self, path: &Path) {
        match self
            .watches
            .add(path, WatchMask::MODIFY | WatchMask::ONESHOT)
        {
            Ok(wd) => {
                self.unwatched.remove(path);
                if let Some(old) = self.by_path.insert(path.to_path_buf(), wd.clone())
                    && old != wd
                {
                    // The name now holds another file (rotated at a restart): the old
                    // file's watch is of no use.
                    self.by_wd.remove(&old);
                    let _ = self.watches.remove(old);
                }
                self.by_wd.insert(wd, path.to_path_buf());
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => self.forget(path),
            Err(e) => {
                if self.unwatched.insert(path.to_path_buf()) {
                    tracing::warn!(log = %path.display(), error = %e, "cannot watch the log; looking at it every second instead");
                }
            }
        }
    }

    /// Drops what is known of `path` (deleted or renamed away).
    pub(super) fn forget(&mut self, path: &Path) {
        self.unwatched.remove(path);
        if let Some(wd) = self.by_path.remove(path) {
            self.by_wd.remove(&wd);
            // A watch that fired is gone already: nothing to remove then.
            let _ = self.watches.remove(wd);
        }
    }
}
