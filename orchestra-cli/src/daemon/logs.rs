//! The daemon's care of the fleet's log files.
//!
//! Replicas write their logs themselves (the file is their stdout and stderr), so the
//! daemon only looks after them:
//! - at each (re)start of a replica, the previous run's log is rotated to `.log.1` (the
//!   supervisor calls [`opener`] through its log-opener hook);
//! - a log that grew gets an entry in its time index (what `logs --timestamps` reads) and
//!   is rotated in place when it passed `logs.max_size`.
//!
//! Growth is learnt from inotify, not by polling: each log carries a one-shot "modified"
//! watch, so a file written a million times a second costs one event, and the watch is armed
//! again when the file is next looked at, at most once a second. An idle fleet costs
//! nothing at all: no event, no timer, no wake-up. A log that cannot be watched (the
//! system's watch limit reached) is looked at every second instead.
//!
//! Rotation is triggered by size, not by that clock: a look learns how fast each log
//! grows, and a log that will pass `max_size` before the next second is looked at again
//! when it does, so a flooding writer's log is rotated near `max_size` rather than a
//! second's worth of output later. The looks run on a thread of their own, at a raised
//! priority where the system allows (see [`super::priority`]): busy services must not
//! starve the care of their own logs.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use futures_util::StreamExt;
use inotify::{EventMask, Inotify, WatchDescriptor, WatchMask, Watches};
use orchestra_core::spec::LogSettings;
use orchestra_logs::IndexWriter;
use orchestra_supervisor::OpenLog;
use tokio::time::Instant;

/// The least time between two looks at the logs: the time index is precise to this.
const TICK: Duration = Duration::from_secs(1);

/// The least time between two looks at a log about to pass `max_size`.
const MIN_ROTATION_LOOK: Duration = Duration::from_millis(10);

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

/// Starts the care of the logs in `logs_dir` (which exists). The looks run on a thread of
/// their own: a rotation copies up to `max_size` bytes and must not stall the daemon's
/// requests, nor wait behind other blocking work.
pub fn spawn_log_care(logs_dir: PathBuf, shared: SharedSettings) {
    tokio::spawn(async move {
        if let Err(e) = care_for(&logs_dir, &shared).await {
            tracing::error!(error = %e, dir = %logs_dir.display(), "the log care stopped: logs are no longer indexed or rotated while running");
        }
    });
}

/// Which logs changed, from one-shot inotify watches.
struct Watching {
    watches: Watches,
    dir: WatchDescriptor,
    by_wd: HashMap<WatchDescriptor, PathBuf>,
    by_path: HashMap<PathBuf, WatchDescriptor>,
    /// Logs that could not be watched: looked at on every tick.
    unwatched: HashSet<PathBuf>,
}

impl Watching {
    /// Arms (again) the one-shot watch of `path`. Arm before looking at the file, so a
    /// write after the look is never missed.
    fn arm(&mut self, path: &Path) {
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

    fn forget(&mut self, path: &Path) {
        self.unwatched.remove(path);
        if let Some(wd) = self.by_path.remove(path) {
            self.by_wd.remove(&wd);
            // A watch that fired is gone already: nothing to remove then.
            let _ = self.watches.remove(wd);
        }
    }
}

fn is_log(path: &Path) -> bool {
    path.extension().is_some_and(|x| x == "log")
}

/// Watches `dir` and looks after its logs until the watch fails.
async fn care_for(dir: &Path, shared: &SharedSettings) -> std::io::Result<()> {
    let inotify = Inotify::init()?;
    let mut events = inotify.into_event_stream(vec![0u8; 64 << 10])?;
    let watches = events.watches();
    let dir_wd = watches.clone().add(
        dir,
        WatchMask::CREATE | WatchMask::MOVED_TO | WatchMask::MOVED_FROM | WatchMask::DELETE,
    )?;
    let mut watching = Watching {
        watches,
        dir: dir_wd,
        by_wd: HashMap::new(),
        by_path: HashMap::new(),
        unwatched: HashSet::new(),
    };
    // What is there already (a daemon adopting a running fleet) is looked at once.
    let mut changed: HashSet<PathBuf> = list_logs(dir).into_iter().collect();
    // Logs about to pass `max_size`, and when to look at them again.
    let mut soon: HashMap<PathBuf, Instant> = HashMap::new();
    let looker = Looker::spawn()?;
    let mut care = Some(LogCare::new());
    let mut last_look: Option<Instant> = None;
    loop {
        let pending = !changed.is_empty() || !watching.unwatched.is_empty();
        let tick = last_look.map_or_else(Instant::now, |at| at + TICK);
        let soonest = soon.values().min().copied();
        let next_look = match (pending, soonest) {
            (true, Some(at)) => Some(tick.min(at)),
            (true, None) => Some(tick),
            (false, at) => at,
        };
        tokio::select! {
            event = events.next() => {
                let Some(event) = event else { return Ok(()) };
                let event = event?;
                if event.mask.contains(EventMask::Q_OVERFLOW) {
                    changed.extend(list_logs(dir));
                } else if event.wd == watching.dir {
                    let Some(path) = event.name.map(|name| dir.join(name)) else { continue };
                    if !is_log(&path) {
                        continue;
                    }
                    if event.mask.intersects(EventMask::DELETE | EventMask::MOVED_FROM) {
                        watching.forget(&path);
                        changed.remove(&path);
                        soon.remove(&path);
                        if let Some(care) = care.as_mut() {
                            care.sizes.remove(&path);
                        }
                    } else {
                        changed.insert(path);
                    }
                } else if event.mask.contains(EventMask::MODIFY)
                    && let Some(path) = watching.by_wd.get(&event.wd)
                {
                    changed.insert(path.clone());
                }
            }
            () = tokio::time::sleep_until(next_look.unwrap_or(tick)), if next_look.is_some() => {
                let now = Instant::now();
                let mut look: Vec<PathBuf> = Vec::new();
                if pending && now >= tick {
                    last_look = Some(now);
                    look.extend(changed.drain());
                    look.extend(watching.unwatched.iter().cloned());
                }
                soon.retain(|path, at| {
                    let due = *at <= now;
                    if due && !look.contains(path) {
                        look.push(path.clone());
                    }
                    !due
                });
                for path in &look {
                    changed.remove(path);
                    watching.arm(path);
                }
                let limits = settings(shared);
                let mut busy = care.take().unwrap_or_else(LogCare::new);
                let looked = looker.run(move || {
                    let due = busy.look(&look, limits);
                    (busy, due)
                });
                let Some((back, due)) = looked.await else {
                    return Err(std::io::Error::other("the log care thread ended"));
                };
                care = Some(back);
                for (path, at) in due {
                    soon.insert(path, Instant::from_std(at));
                }
            }
        }
    }
}

/// The thread the looks run on, one after another.
struct Looker {
    jobs: std::sync::mpsc::Sender<Box<dyn FnOnce() + Send>>,
}

impl Looker {
    fn spawn() -> std::io::Result<Self> {
        let (jobs, queue) = std::sync::mpsc::channel::<Box<dyn FnOnce() + Send>>();
        std::thread::Builder::new()
            .name("orchestra-logcare".into())
            .spawn(move || {
                super::priority::raise_for_log_care();
                while let Ok(job) = queue.recv() {
                    job();
                }
            })?;
        Ok(Self { jobs })
    }

    /// Runs `f` on the thread; `None` if the thread is gone.
    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let _ = tx.send(f());
            }))
            .ok()?;
        rx.await.ok()
    }
}

/// The `.log` files in `dir`.
fn list_logs(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| is_log(p))
                .collect()
        })
        .unwrap_or_default()
}

/// What the last looks saw.
struct LogCare {
    /// Each log's size at the last look, and when that was.
    sizes: HashMap<PathBuf, (u64, std::time::Instant)>,
    index: IndexWriter,
}

impl LogCare {
    fn new() -> Self {
        Self {
            sizes: HashMap::new(),
            index: IndexWriter::new(),
        }
    }

    /// Indexes those of `paths` that changed size since the last look, and rotates those
    /// too large. Returns the logs that will pass `max_size` before the next regular look,
    /// with when they will.
    fn look(
        &mut self,
        paths: &[PathBuf],
        limits: LogSettings,
    ) -> Vec<(PathBuf, std::time::Instant)> {
        // What each changed log looked like before and now; rotations come after.
        let mut grown = Vec::new();
        for path in paths {
            let Ok(meta) = std::fs::metadata(path) else {
                self.sizes.remove(path);
                continue;
            };
            let seen = (meta.len(), std::time::Instant::now());
            let before = self.sizes.insert(path.clone(), seen);
            if before.is_some_and(|(len, _)| len == seen.0) {
                continue;
            }
            self.record(path);
            grown.push((path, before, seen));
        }
        let large: Vec<&Path> = grown
            .iter()
            .filter(|(_, _, seen)| seen.0 > limits.max_size)
            .map(|(path, _, _)| path.as_path())
            .collect();
        for (path, rotated) in rotate_all(&large, limits) {
            if rotated {
                // The index moved with the bytes; start the rest of the file's own.
                self.record(path);
            }
            if let Ok(meta) = std::fs::metadata(path) {
                self.sizes
                    .insert(path.to_path_buf(), (meta.len(), std::time::Instant::now()));
            }
        }
        grown
            .into_iter()
            .filter_map(|(path, before, seen)| {
                let left = self.sizes.get(path.as_path()).map_or(seen.0, |s| s.0);
                let at = rotation_due(before?, seen, left, limits.max_size)?;
                Some((path.clone(), at))
            })
            .collect()
    }

    fn record(&mut self, path: &Path) {
        if let Err(e) = self.index.record(path) {
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
    match orchestra_logs::rotate_if_larger(path, limits.max_size, limits.keep) {
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

/// When a log that grew from `before` to `after` (size, time) and now holds `len` bytes
/// passes `max_size` at the same pace, if that is sooner than the next regular look.
fn rotation_due(
    before: (u64, std::time::Instant),
    after: (u64, std::time::Instant),
    len: u64,
    max_size: u64,
) -> Option<std::time::Instant> {
    let grew = after.0.checked_sub(before.0).filter(|&g| g > 0)?;
    let took = after.1.saturating_duration_since(before.1).as_secs_f64();
    let per_second = grew as f64 / took.max(MIN_ROTATION_LOOK.as_secs_f64());
    let left = max_size.saturating_sub(len) as f64;
    let wait = Duration::try_from_secs_f64(left / per_second)
        .unwrap_or(TICK)
        .max(MIN_ROTATION_LOOK);
    (wait < TICK).then(|| after.1 + wait)
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
        let mut care = LogCare::new();
        let logs = list_logs(dir.path());
        care.look(&logs, limits);
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
        care.look(&logs, limits);
        assert_eq!(std::fs::metadata(&idx).unwrap().len(), 16);
    }

    #[test]
    fn a_log_about_to_pass_max_size_is_looked_at_when_it_does() {
        let t0 = std::time::Instant::now();
        let later = |ms| t0 + Duration::from_millis(ms);
        // 1 MB in 100 ms, 1 MB left: in another 100 ms.
        assert_eq!(
            rotation_due((0, t0), (1_000_000, later(100)), 1_000_000, 2_000_000),
            Some(later(200))
        );
        // Just rotated to nearly nothing: the whole max_size to go at 10 MB/s.
        assert_eq!(
            rotation_due((0, t0), (1_000_000, later(100)), 0, 5_000_000),
            Some(later(600))
        );
        // Far from max_size, or not growing: the regular look will do.
        assert_eq!(
            rotation_due((0, t0), (1_000, later(100)), 1_000, 5_000_000),
            None
        );
        assert_eq!(
            rotation_due((1_000, t0), (1_000, later(100)), 1_000, 2_000),
            None
        );
        // Already past it (a rotation that could not cut): soon, but not in a busy loop.
        assert_eq!(
            rotation_due((0, t0), (3_000, later(100)), 3_000, 2_000),
            Some(later(100) + MIN_ROTATION_LOOK)
        );
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
