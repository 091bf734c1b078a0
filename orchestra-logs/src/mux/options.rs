//! How a [`Follow`](super::Follow) reads: where it starts, its buffers, and when it skips a
//! source that falls behind.

use std::time::Duration;

use crate::history::Resume;
use crate::query::Query;

/// Tuning of a [`Follow`](super::Follow).
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
    pub(super) fn share(&self, sources: usize) -> u64 {
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
