//! Looking after a folder of logs that other processes write: their time index and their
//! rotation by size.
//!
//! Replicas write their logs themselves (the file is their stdout and stderr), so nobody
//! sees a line being written. [`LogCare`] learns it from the files' own changes:
//! - a log that grew gets an entry in its time index (see [`crate::index`]) within a few
//!   milliseconds of the write, which is what gives history lines their time;
//! - a log past `max_size` is rotated in place (see [`crate::rotate_if_larger`]).
//!
//! # How it works
//!
//! Growth is learnt from inotify, not by polling. Each log carries a one-shot "modified"
//! watch: the first write after a look fires it, and the log is looked at at once (its
//! length stat'ed and indexed, the watch armed again). A log written again within
//! [`MIN_GAP`] of its last look is looked at when that gap ends, so a file written a
//! million times a second costs at most `1 / MIN_GAP` looks a second, each one stat and one
//! 16-byte append, however many lines it writes. An idle fleet costs nothing at all: no
//! event, no timer, no wake-up. A one-shot watch that fires is removed by the kernel
//! after its event is queued; an arm that comes in between lands on the dying watch, so
//! the removal's own event (`IN_IGNORED`) of a watch still in use means: arm and look again. A log that cannot be watched (the system's watch limit
//! reached) is looked at every second instead.
//!
//! An entry's time is the moment of the look: an upper bound of when the indexed bytes
//! were written, so a line is never stamped before it was written, and late by the time
//! the look took to come (well under a millisecond on a machine with a core to spare) or,
//! for a busy log, by at most [`MIN_GAP`] more.
//!
//! Rotation is decided at the same looks: a log that keeps growing is looked at every
//! [`MIN_GAP`], so a flooding writer's log is rotated within a few milliseconds' worth of
//! output past `max_size`.
//!
//! Everything runs on the thread that calls [`LogCare::run`]: the caller decides its
//! priority (busy services must not starve the care of their own logs).

mod look;
mod watching;

use std::collections::HashMap;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use inotify::{EventMask, Inotify, WatchMask};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use orchestra_core::spec::LogSettings;

use look::Looks;
use watching::Watching;

/// The least time between two looks at one log: how late, at most, a line written while
/// its log is busy is stamped. A quiet log is looked at as soon as it is written.
pub const MIN_GAP: Duration = Duration::from_millis(5);

/// How often a log that cannot be watched is looked at.
const UNWATCHED_LOOK: Duration = Duration::from_secs(1);

/// The project's log settings, as the latest request brought them (read at every look).
pub type SharedSettings = Arc<RwLock<LogSettings>>;

fn settings(shared: &SharedSettings) -> LogSettings {
    *shared.read().unwrap_or_else(PoisonError::into_inner)
}

/// The care of one folder of logs: see the [module docs](self).
#[derive(Debug)]
pub struct LogCare {
    dir: PathBuf,
    settings: SharedSettings,
}

impl LogCare {
    /// The care of the `.log` files in `dir` (which exists), with `settings` read at every
    /// look so a new `max_size` applies at once.
    pub fn new(dir: impl Into<PathBuf>, settings: SharedSettings) -> Self {
        Self {
            dir: dir.into(),
            settings,
        }
    }

    /// Looks after the logs on the calling thread, until watching the folder fails.
    /// Problems with a single log (it cannot be indexed or rotated) are logged with
    /// `tracing` and the care goes on.
    pub fn run(self) -> std::io::Result<()> {
        let mut inotify = Inotify::init()?;
        let dir_wd = inotify.watches().add(
            &self.dir,
            WatchMask::CREATE | WatchMask::MOVED_TO | WatchMask::MOVED_FROM | WatchMask::DELETE,
        )?;
        let mut watching = Watching::new(inotify.watches(), dir_wd);
        let mut looks = Looks::new();
        // When each log is to be looked at next (the end of its gap, or the next look at an
        // unwatched log).
        let mut due: HashMap<PathBuf, Instant> = HashMap::new();
        // What is there already (a daemon adopting a running fleet) is looked at once.
        let mut now_look: Vec<PathBuf> = list_logs(&self.dir);
        let mut buffer = vec![0u8; 64 << 10];
        loop {
            let now = Instant::now();
            due.retain(|path, at| {
                let ready = *at <= now;
                if ready && !now_look.contains(path) {
                    now_look.push(path.clone());
                }
                !ready
            });
            if !now_look.is_empty() {
                for path in &now_look {
                    watching.arm(path);
                }
                looks.look(&now_look, settings(&self.settings));
                for path in now_look.drain(..) {
                    if watching.is_unwatched(&path) {
                        schedule(&mut due, path, Instant::now() + UNWATCHED_LOOK);
                    }
                }
                continue;
            }
            wait(&inotify, due.values().min().copied())?;
            let events = match inotify.read_events(&mut buffer) {
                Ok(events) => events,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            };
            let now = Instant::now();
            for event in events {
                if event.mask.contains(EventMask::Q_OVERFLOW) {
                    now_look.extend(list_logs(&self.dir));
                } else if watching.is_dir(&event.wd) {
                    let Some(path) = event.name.map(|name| self.dir.join(name)) else {
                        continue;
                    };
                    if !is_log(&path) {
                        continue;
                    }
                    if event
                        .mask
                        .intersects(EventMask::DELETE | EventMask::MOVED_FROM)
                    {
                        watching.forget(&path);
                        due.remove(&path);
                        looks.forget(&path);
                    } else {
                        now_look.push(path);
                    }
                } else if event.mask.contains(EventMask::MODIFY)
                    && let Some(path) = watching.path_of(&event.wd)
                {
                    changed(path.to_path_buf(), now, &looks, &mut due, &mut now_look);
                } else if event.mask.contains(EventMask::IGNORED)
                    && let Some(path) = watching.dropped(&event.wd)
                {
                    // The log's current watch is gone: armed again while the kernel was
                    // removing it after it fired, the arm landed on the dying watch. Look
                    // again, which arms a new one; else the log would never be seen again.
                    changed(path, now, &looks, &mut due, &mut now_look);
                }
            }
            now_look.sort();
            now_look.dedup();
        }
    }
}

/// `path` changed at `now`: it is looked at now, or at the end of its gap when it was
/// looked at less than [`MIN_GAP`] ago.
fn changed(
    path: PathBuf,
    now: Instant,
    looks: &Looks,
    due: &mut HashMap<PathBuf, Instant>,
    now_look: &mut Vec<PathBuf>,
) {
    match looks.last_look(&path) {
        Some(last) if now < last + MIN_GAP => schedule(due, path, last + MIN_GAP),
        _ => now_look.push(path),
    }
}

/// Looks at `path` at `at`, or earlier if already due earlier.
fn schedule(due: &mut HashMap<PathBuf, Instant>, path: PathBuf, at: Instant) {
    due.entry(path)
        .and_modify(|t| *t = (*t).min(at))
        .or_insert(at);
}

/// Waits until inotify has events or `until` passes (forever without it).
fn wait(inotify: &Inotify, until: Option<Instant>) -> std::io::Result<()> {
    let timeout = match until {
        None => PollTimeout::NONE,
        Some(at) => {
            // Rounded up: waking a little early would only spin until the time comes.
            let left = at.saturating_duration_since(Instant::now());
            let ms = left.as_micros().div_ceil(1000);
            PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)
        }
    };
    let mut fds = [PollFd::new(inotify.as_fd(), PollFlags::POLLIN)];
    match poll(&mut fds, timeout) {
        Ok(_) | Err(nix::errno::Errno::EINTR) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn is_log(path: &Path) -> bool {
    path.extension().is_some_and(|x| x == "log")
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Whether the index of `log` reaches the file's end.
    fn indexed_to_end(log: &Path) -> bool {
        let len = std::fs::metadata(log).map_or(0, |m| m.len());
        let index = crate::Index::load(log).unwrap_or_default();
        len > 0 && index.entries().last().is_some_and(|e| e.len == len)
    }

    /// Many logs written at once, each line a write of its own: every log stays watched
    /// and its index reaches its end. (An arm racing with a firing one-shot watch once
    /// left logs unwatched for good.)
    #[test]
    fn every_log_of_many_writers_is_indexed_to_its_end() {
        const LOGS: usize = 64;
        const LINES: usize = 200;
        let dir = tempfile::tempdir().unwrap();
        let care = LogCare::new(dir.path(), SharedSettings::default());
        // The care runs until the process ends: it has no stop, as in the daemon.
        std::thread::spawn(move || care.run());
        let logs: Vec<PathBuf> = (0..LOGS)
            .map(|i| dir.path().join(format!("w.{i}.log")))
            .collect();
        let writers: Vec<_> = logs
            .iter()
            .cloned()
            .map(|log| {
                std::thread::spawn(move || {
                    let mut file = orchestra_core::paths::open_append(&log).unwrap();
                    for n in 0..LINES {
                        writeln!(file, "line {n}").unwrap();
                        // Spaced writes: each one fires the log's watch on its own.
                        std::thread::sleep(Duration::from_micros(500));
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let behind: Vec<&PathBuf> = logs.iter().filter(|l| !indexed_to_end(l)).collect();
            if behind.is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {LOGS} logs not indexed to their end, e.g. {}",
                behind.len(),
                behind[0].display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
