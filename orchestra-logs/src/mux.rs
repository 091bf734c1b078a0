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
//!
//! Here: the [`Follow`] handle, which sets up the watch and the thread. The thread's
//! reading is in `engine`; what a caller may tune ([`FollowOptions`], [`SkipBehind`],
//! [`Start`]) in `options`.

mod engine;
mod options;

use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, mpsc as std_mpsc};
use std::thread::JoinHandle;

use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::mpsc;

use crate::error::{LogsError, Result};
use crate::history::read_limited;
use crate::line::LogLine;
use crate::query::Query;
use crate::source::{Selection, discover};
use crate::tail::Cursor;
use engine::{Engine, Signals, lock_set};
pub use options::{FollowOptions, SkipBehind, Start};

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
        let mut engine = Engine::new(logs_dir.to_path_buf(), selection, cursors, options);
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
