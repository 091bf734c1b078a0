//! Helpers: appending writers and a collector that waits for lines with a deadline.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use orchestra_logs::{Follow, FollowOptions, LogLine, Selection, Start};
use tokio::runtime::Runtime;

/// Opens (creating) a log file the way the supervisor does: O_APPEND, 0600.
pub fn appender(path: &Path) -> File {
    orchestra_core::paths::open_append(path).unwrap()
}

/// Appends `text` to `path`.
pub fn append(path: &Path, text: impl AsRef<[u8]>) {
    appender(path).write_all(text.as_ref()).unwrap();
}

/// Receives lines from a follower, waiting with deadlines.
pub struct Collector {
    pub follow: Follow,
    rt: Runtime,
    pub lines: Vec<LogLine>,
}

impl Collector {
    pub fn start(dir: &Path, start: Start, options: FollowOptions) -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let follow = Follow::start(dir, Selection::all(), start, options).unwrap();
        Self {
            follow,
            rt,
            lines: Vec::new(),
        }
    }

    /// Receives the next batch, or `None` when nothing came before `deadline`.
    pub fn next_batch(&mut self, deadline: Instant) -> Option<Vec<LogLine>> {
        let left = deadline.saturating_duration_since(Instant::now());
        let follow = &mut self.follow;
        match self
            .rt
            .block_on(async { tokio::time::timeout(left, follow.recv_batch()).await })
        {
            Ok(Some(batch)) => Some(batch),
            Ok(None) => panic!("the follower stopped"),
            Err(_) => None,
        }
    }

    /// Collects lines until `done` holds of them, failing after `within`.
    pub fn until(&mut self, within: Duration, done: impl Fn(&[LogLine]) -> bool) {
        let deadline = Instant::now() + within;
        while !done(&self.lines) {
            match self.next_batch(deadline) {
                Some(batch) => self.lines.extend(batch),
                None => panic!(
                    "timed out after {within:?} with {} lines: {:?}",
                    self.lines.len(),
                    self.texts().iter().rev().take(5).collect::<Vec<_>>()
                ),
            }
        }
    }

    /// Collects until `n` lines arrived.
    pub fn until_count(&mut self, n: usize, within: Duration) {
        self.until(within, |l| l.len() >= n);
    }

    pub fn texts(&self) -> Vec<String> {
        self.lines.iter().map(|l| l.line.clone()).collect()
    }
}

/// Checks that `lines` of one unit are `0..n` numbered in order, each once.
pub fn assert_sequence(lines: &[String], n: usize) {
    let numbers: Vec<usize> = lines
        .iter()
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    for (i, got) in numbers.iter().enumerate() {
        assert_eq!(*got, i, "line {i} is `{}`", lines[i]);
    }
    assert_eq!(numbers.len(), n);
}
