//! Following a changing set of files: one reader thread, woken by inotify, reading every
//! source in fair rounds and handing out batches of lines through a bounded channel.
//!
//! Why a thread and not tasks: reading regular files never blocks on the network, and
//! tokio's file I/O is itself a thread pool hop per call. One dedicated thread doing
//! big positioned reads (256 KiB per source per round) keeps the syscall count per line
//! near zero, which is what makes millions of lines per second possible.
//!
//! Fairness: in each round every source with new data reads at most one chunk, so a
//! chatty replica delays a quiet one by at most one chunk per round, never starves it.
//! Backpressure: the channel holds a few batches, each of bounded size (a round over
//! hundreds of busy sources goes out in several), so memory stays flat whatever the write
//! rate; when the consumer is slow the thread waits, and unread lines simply stay in the
//! files.
//!
//! Falling behind: with [`FollowOptions::skip`], a source whose unread bytes have waited
//! longer than the allowed lag and exceed its share of the budget is skipped ahead to its
//! end, with a line `[orchestra] users.0: skipped N bytes` in its place: a terminal that
//! reads slower than the fleet writes sees what happens now, not a backlog that only grows.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, mpsc as std_mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::mpsc;

use crate::error::{LogsError, Result};
use crate::history::{Resume, read_limited};
use crate::line::LogLine;
use crate::query::Query;
use crate::source::{LogSource, Selection, discover, parse_rotated};
use crate::tail::Cursor;

/// Tuning of a [`Follow`].
#[derive(Debug, Clone)]
pub struct FollowOptions {
    /// How long an unfinished line waits for its newline before it is emitted as it is.
    pub grace: Duration,
    /// The most bytes read from one source per round (and the reader's buffer size).
    pub chunk_bytes: usize,
    /// How often the folder is listed and every source polled anyway, in case an
    /// inotify event was lost (queue overflow).
    pub rescan: Duration,
    /// How many batches may wait in the channel before the reader pauses.
    pub channel_batches: usize,
    /// About how much memory a batch may take (text plus a per-line overhead) before it is
    /// handed out.
    pub batch_bytes: usize,
    /// The `--grep` filter, applied on the reader thread (`since` is ignored: followed
    /// lines are new).
    pub query: Query,
    /// Whether sources that fall behind are skipped ahead; `None` (the default) reads
    /// every byte however late.
    pub skip: Option<SkipBehind>,
}

impl Default for FollowOptions {
    fn default() -> Self {
        Self {
            grace: Duration::from_millis(500),
            chunk_bytes: 64 << 10,
            rescan: Duration::from_secs(1),
            channel_batches: 4,
            batch_bytes: 1 << 20,
            query: Query::new(),
            skip: None,
        }
    }
}

/// When a follower gives up on a source's backlog and skips to its end: when the oldest
/// unread byte has waited longer than `lag` and the source holds more unread bytes than
/// its share of `budget` (the budget divided by the number of sources, at least
/// [`SkipBehind::MIN_SHARE`]). Both must hold: a burst the reader gets through within
/// `lag` is shown whole, and so is a slow consumer's backlog while it stays small.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkipBehind {
    /// How long unread bytes may wait.
    pub lag: Duration,
    /// How many unread bytes all sources together may hold.
    pub budget: u64,
}

impl SkipBehind {
    /// The least backlog a source may hold, however many sources there are.
    pub const MIN_SHARE: u64 = 64 << 10;

    /// The backlog each of `sources` may hold.
    fn share(&self, sources: usize) -> u64 {
        (self.budget / sources.max(1) as u64).max(Self::MIN_SHARE)
    }
}

impl Default for SkipBehind {
    /// A second of lag and 16 MiB in all: 4 MiB each for four sources, 80 KiB each for two
    /// hundred.
    fn default() -> Self {
        Self {
            lag: Duration::from_secs(1),
            budget: 16 << 20,
        }
    }
}

/// Where following starts in the files that exist when it starts (files appearing later
/// are always read from their first byte).
#[derive(Debug)]
pub enum Start {
    /// After the last complete line of each file: only new lines.
    End,
    /// From the first byte of each current file.
    Beginning,
    /// Where a [`crate::History`] ended, so history and follow join without a gap or a
    /// repeated line.
    Resume(Resume),
}

/// What the watcher tells the reader thread. Changed paths are coalesced into a set and
/// the thread is woken through a one-slot channel, so a flood of write events while the
/// consumer is slow costs no memory: only which files changed is remembered.
#[derive(Debug, Default)]
struct Signals {
    changed: Mutex<HashSet<PathBuf>>,
    rescan: AtomicBool,
    stop: AtomicBool,
}

/// Lines of a changing set of log files as they are written.
///
/// Lines arrive in batches (one per reading round) through a bounded tokio channel:
/// within a source they are in file order, complete, and never repeated; across sources
/// they interleave in the order they were read. Dropping the `Follow` stops its thread.
#[derive(Debug)]
pub struct Follow {
    rx: mpsc::Receiver<Vec<LogLine>>,
    queue: VecDeque<LogLine>,
    signals: Arc<Signals>,
    wake: std_mpsc::SyncSender<()>,
    thread: Option<JoinHandle<()>>,
}

impl Follow {
    /// Starts following the selected files of `logs_dir` (which must exist), including
    /// files that appear later (new replicas, restarts).
    pub fn start(
        logs_dir: &Path,
        selection: Selection,
        start: Start,
        options: FollowOptions,
    ) -> Result<Self> {
        let (wake_tx, wake_rx) = std_mpsc::sync_channel(1);
        let signals = Arc::new(Signals::default());
        let (events, wake) = (Arc::clone(&signals), wake_tx.clone());
        let mut watcher = notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
            match ev {
                // Our own opens and reads show up as access events: ignore them.
                Ok(ev) if matches!(ev.kind, EventKind::Access(_)) => return,
                Ok(ev) => lock_set(&events.changed).extend(ev.paths),
                Err(e) => {
                    tracing::debug!(error = %e, "watch error; rescanning");
                    events.rescan.store(true, Ordering::SeqCst);
                }
            }
            let _ = wake.try_send(());
        })
        .map_err(|source| LogsError::Watch {
            path: logs_dir.to_path_buf(),
            source,
        })?;
        // Watch before listing, so a file created in between is not missed.
        watcher
            .watch(logs_dir, RecursiveMode::NonRecursive)
            .map_err(|source| LogsError::Watch {
                path: logs_dir.to_path_buf(),
                source,
            })?;
        let existing = discover(logs_dir, &selection)?;
        let cursors = match start {
            Start::Resume(resume) => {
                // Files the history did not cover appeared after it was read (a replica
                // started in between): every line of theirs is new, so read them from their
                // first byte, or the lines written in that gap would be lost.
                let mut cursors = resume.cursors;
                let uncovered: Vec<Cursor> = existing
                    .into_iter()
                    .filter(|s| cursors.iter().all(|c| c.source.path != s.path))
                    .map(Cursor::new_file)
                    .collect();
                cursors.extend(uncovered);
                cursors
            }
            Start::End => {
                read_limited(&existing, Some(0), &Query::new())?
                    .resume
                    .cursors
            }
            Start::Beginning => existing.into_iter().map(Cursor::new_file).collect(),
        };
        let (tx, rx) = mpsc::channel(options.channel_batches.max(1));
        let mut engine = Engine {
            logs_dir: logs_dir.to_path_buf(),
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
        let thread_signals = Arc::clone(&signals);
        let thread = std::thread::Builder::new()
            .name("orchestra-logs-follow".into())
            .spawn(move || {
                let _watcher = watcher;
                engine.run(&thread_signals, &wake_rx, &tx);
            })
            .map_err(|e| LogsError::io("start a reader thread for", logs_dir, e))?;
        Ok(Self {
            rx,
            queue: VecDeque::new(),
            signals,
            wake: wake_tx,
            thread: Some(thread),
        })
    }

    /// The next batch of lines; `None` once the reader has stopped.
    pub async fn recv_batch(&mut self) -> Option<Vec<LogLine>> {
        if !self.queue.is_empty() {
            return Some(self.queue.drain(..).collect());
        }
        self.rx.recv().await
    }

    /// The next line; `None` once the reader has stopped.
    pub async fn recv(&mut self) -> Option<LogLine> {
        loop {
            if let Some(line) = self.queue.pop_front() {
                return Some(line);
            }
            self.queue.extend(self.rx.recv().await?);
        }
    }

    /// [`Follow::recv_batch`] for code outside an async runtime.
    pub fn blocking_recv_batch(&mut self) -> Option<Vec<LogLine>> {
        if !self.queue.is_empty() {
            return Some(self.queue.drain(..).collect());
        }
        self.rx.blocking_recv()
    }
}

impl Drop for Follow {
    fn drop(&mut self) {
        // Closing first unblocks a reader waiting for room in the channel.
        self.rx.close();
        self.signals.stop.store(true, Ordering::SeqCst);
        let _ = self.wake.try_send(());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Engine {
    logs_dir: PathBuf,
    selection: Selection,
    cursors: Vec<Cursor>,
    dirty: Vec<bool>,
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

    fn run(
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
fn lock_set(set: &Mutex<HashSet<PathBuf>>) -> MutexGuard<'_, HashSet<PathBuf>> {
    set.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
