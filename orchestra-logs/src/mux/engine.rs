//! The reader thread's side of a [`Follow`](super::Follow): the sources it tracks, the
//! fair rounds that read them, and the batches it hands out.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, mpsc as std_mpsc};
use std::time::Instant;

use tokio::sync::mpsc;

use super::options::{FollowOptions, SkipBehind};
use crate::line::LogLine;
use crate::source::{LogSource, Selection, discover, parse_rotated};
use crate::tail::Cursor;

/// What the watcher tells the reader thread. Changed paths are coalesced into a set and
/// the thread is woken through a one-slot channel, so a flood of write events while the
/// consumer is slow costs no memory: only which files changed is remembered.
#[derive(Debug, Default)]
pub(super) struct Signals {
    /// The paths the watcher saw change since the thread last looked.
    pub(super) changed: Mutex<HashSet<PathBuf>>,
    /// An event was lost: list the folder and read every source.
    pub(super) rescan: AtomicBool,
    /// The [`Follow`](super::Follow) was dropped.
    pub(super) stop: AtomicBool,
}

/// The reader thread's state: one cursor per followed file.
pub(super) struct Engine {
    logs_dir: PathBuf,
    selection: Selection,
    cursors: Vec<Cursor>,
    /// Per cursor: whether it may have unread bytes.
    dirty: Vec<bool>,
    /// Each followed path's index in `cursors`.
    by_path: HashMap<PathBuf, usize>,
    options: FollowOptions,
    /// The lines read and not handed out yet, and about how much memory they take.
    batch: Vec<LogLine>,
    batch_weight: usize,
}

/// What a line costs in a batch: its text and the line's own fields and allocation.
fn weight(line: &LogLine) -> usize {
    line.line.len() + 96
}

impl Engine {
    /// An engine reading `cursors` (and the files of `logs_dir` that `selection` picks as
    /// they appear).
    pub(super) fn new(
        logs_dir: PathBuf,
        selection: Selection,
        cursors: Vec<Cursor>,
        options: FollowOptions,
    ) -> Self {
        let mut engine = Self {
            logs_dir,
            selection,
            cursors: Vec::new(),
            dirty: Vec::new(),
            by_path: HashMap::new(),
            options,
            batch: Vec::new(),
            batch_weight: 0,
        };
        for c in cursors {
            engine.track(c);
        }
        engine.rescan();
        engine
    }

    fn track(&mut self, cursor: Cursor) {
        if self.by_path.contains_key(&cursor.source.path) {
            return;
        }
        tracing::debug!(path = %cursor.source.path.display(), "following");
        self.by_path
            .insert(cursor.source.path.clone(), self.cursors.len());
        self.cursors.push(cursor);
        self.dirty.push(true);
    }

    fn rescan(&mut self) {
        match discover(&self.logs_dir, &self.selection) {
            Ok(sources) => {
                for s in sources {
                    self.track(Cursor::new_file(s));
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot list log files"),
        }
        self.dirty.fill(true);
    }

    /// Takes what the watcher reported; returns false on stop.
    fn take_signals(&mut self, signals: &Signals) -> bool {
        if signals.stop.load(Ordering::SeqCst) {
            return false;
        }
        if signals.rescan.swap(false, Ordering::SeqCst) {
            self.rescan();
        }
        let changed = std::mem::take(&mut *lock_set(&signals.changed));
        for path in &changed {
            self.on_changed(path);
        }
        true
    }

    fn on_changed(&mut self, path: &Path) {
        if let Some(&i) = self.by_path.get(path) {
            self.dirty[i] = true;
        } else if let Some(source) = LogSource::from_path(path) {
            if self.selection.matches(&source) {
                self.track(Cursor::new_file(source));
            }
        } else if let Some((base, _)) = parse_rotated(path)
            && let Some(&i) = self.by_path.get(&base)
        {
            self.dirty[i] = true;
        }
    }

    /// Reads until `signals` say stop or the receiver of `tx` is gone.
    pub(super) fn run(
        &mut self,
        signals: &Signals,
        wake: &std_mpsc::Receiver<()>,
        tx: &mpsc::Sender<Vec<LogLine>>,
    ) {
        let mut buf = vec![0u8; self.options.chunk_bytes.max(4096)];
        let mut next_rescan = Instant::now() + self.options.rescan;
        loop {
            if !self.take_signals(signals) {
                return;
            }
            if Instant::now() >= next_rescan {
                self.rescan();
                next_rescan = Instant::now() + self.options.rescan;
            }
            let Some(more) = self.round(&mut buf, signals, tx) else {
                return;
            };
            if !more {
                let now = Instant::now();
                let filled = self.batch.len();
                for c in &mut self.cursors {
                    c.flush_stale(now, self.options.grace, &mut self.batch);
                }
                self.keep_matching(filled);
            }
            if !self.send(tx, true) {
                return;
            }
            if more {
                continue;
            }
            let due = self
                .cursors
                .iter()
                .filter_map(|c| c.due_at(self.options.grace))
                .min()
                .map_or(next_rescan, |d| d.min(next_rescan));
            if let Err(std_mpsc::RecvTimeoutError::Disconnected) =
                wake.recv_timeout(due.saturating_duration_since(Instant::now()))
            {
                return;
            }
        }
    }

    /// One fair round: each source with news reads at most one chunk, and batches go out
    /// as they fill. Returns whether any source may have more; `None` on stop.
    fn round(
        &mut self,
        buf: &mut [u8],
        signals: &Signals,
        tx: &mpsc::Sender<Vec<LogLine>>,
    ) -> Option<bool> {
        let mut more = false;
        let share = self.options.skip.map(|s| s.share(self.cursors.len()));
        if self.options.skip.is_some() {
            // Every source's backlog is noted now, not when its turn comes: a round over
            // many busy sources can take long, and a source reached late may then be
            // skipped ahead instead of read.
            let now = Instant::now();
            for cursor in &mut self.cursors {
                if let Err(e) = cursor.lag(now) {
                    tracing::debug!(path = %cursor.source.path.display(), error = %e, "cannot measure the backlog");
                }
            }
        }
        for i in 0..self.cursors.len() {
            if signals.stop.load(Ordering::SeqCst) {
                return None;
            }
            if !self.dirty[i] {
                continue;
            }
            let before = self.batch.len();
            let cursor = &mut self.cursors[i];
            let skipped = match (self.options.skip, share) {
                (Some(skip), Some(share)) => skip_if_behind(cursor, skip, share, &mut self.batch),
                _ => Ok(()),
            };
            // A skip notice is shown whatever `--grep` asks: it tells of lines not searched.
            let filled = self.batch.len();
            self.batch_weight += self.batch[before..].iter().map(weight).sum::<usize>();
            let stepped = skipped.and_then(|()| cursor.step(buf, &mut self.batch));
            match stepped {
                Ok(true) => more = true,
                Ok(false) => self.dirty[i] = false,
                Err(e) => {
                    tracing::warn!(path = %cursor.source.path.display(), error = %e, "cannot read log");
                    self.dirty[i] = false;
                }
            }
            self.keep_matching(filled);
            if !self.send(tx, false) {
                return None;
            }
        }
        Some(more)
    }

    /// Hands out the batch when it is full (or, with `force`, when it holds anything);
    /// false when the receiver is gone.
    fn send(&mut self, tx: &mpsc::Sender<Vec<LogLine>>, force: bool) -> bool {
        if self.batch.is_empty() || (!force && self.batch_weight < self.options.batch_bytes) {
            return true;
        }
        let batch = std::mem::take(&mut self.batch);
        self.batch_weight = 0;
        tx.blocking_send(batch).is_ok()
    }

    /// Drops the lines from `from` on that the query rules out, keeping the order, and
    /// counts the weight of those kept.
    fn keep_matching(&mut self, from: usize) {
        let query = &self.options.query;
        let mut kept = from;
        for read in from..self.batch.len() {
            if query.matches(&self.batch[read].line) {
                self.batch_weight += weight(&self.batch[read]);
                self.batch.swap(kept, read);
                kept += 1;
            }
        }
        self.batch.truncate(kept);
    }
}

/// Skips `cursor` ahead when it is further behind than `skip` allows (see [`SkipBehind`]).
fn skip_if_behind(
    cursor: &mut Cursor,
    skip: SkipBehind,
    share: u64,
    out: &mut Vec<LogLine>,
) -> std::io::Result<()> {
    let (lag, backlog) = cursor.lag(Instant::now())?;
    if lag >= skip.lag && backlog > share {
        tracing::debug!(path = %cursor.source.path.display(), backlog, ?lag, "skipping ahead");
        cursor.skip_ahead(out)?;
    }
    Ok(())
}

/// Locks the changed-path set; a panic elsewhere cannot leave a set of paths inconsistent,
/// so a poisoned lock is simply taken over.
pub(super) fn lock_set(set: &Mutex<HashSet<PathBuf>>) -> MutexGuard<'_, HashSet<PathBuf>> {
    set.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
