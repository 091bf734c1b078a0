//! All of the history of several sources, streamed: each source read forward (see
//! `forward.rs`) and the sources merged by time, one line at a time, in constant memory.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::SystemTime;

use crate::error::{LogsError, Result};
use crate::forward::Forward;
use crate::history::{Resume, snapshot};
use crate::line::LogLine;
use crate::query::Query;
use crate::source::LogSource;
use crate::tail::Cursor;

/// The most each source reads at once; with many sources the chunks shrink so that the
/// buffers together stay near [`BUFFER_BUDGET`].
const CHUNK: usize = 256 << 10;
const MIN_CHUNK: usize = 16 << 10;
const BUFFER_BUDGET: usize = 16 << 20;

/// Every line of the history of a set of sources, oldest first, without holding it in
/// memory: see [`stream_history`].
pub struct HistoryStream {
    query: Query,
    readers: Vec<Forward>,
    /// The sources with a line ready, keyed by that line's time (or, without one, its
    /// file's last write) and then by their order, so equal times come out in the order
    /// the sources were given.
    heap: BinaryHeap<Reverse<(Option<SystemTime>, usize)>>,
    /// The source whose line was handed out last: it reads its next one on the next call.
    handed_out: Option<usize>,
    resume: Resume,
}

/// Streams every line of `sources` that matches `query`, oldest first, reaching into
/// rotated files: what [`crate::read_history`] returns for `lines = 0`, in constant
/// memory however long the history is.
///
/// The history of each source is fixed when this is called (its files and the last
/// complete line of its current file); rotations while the lines are being read are
/// followed, and do not wait for the reader.
///
/// Each source's lines come in file order. Sources are merged by time: a line without a
/// time (see the crate docs) counts as written when its file was last modified, the
/// latest it can have been written (so a file without an index sorts as one block at its
/// last write), and equal times come out in the order of `sources`. With `--since`
/// (`query.since`), the lines before the last one known to be older are skipped without
/// being read, lines without a time after it are kept, and a rotated file last modified
/// before the cut-off is not read.
///
/// Read the lines with [`HistoryStream::next_line`], then hand
/// [`HistoryStream::into_resume`] to [`crate::Follow`] to continue without a gap or a
/// repeated line.
///
/// ```
/// use orchestra_logs::{LogSource, Query, stream_history};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("users.0.log");
/// std::fs::write(orchestra_logs::rotated_path(&path, 1), "booted\n")?;
/// std::fs::write(&path, "ready\nserving\nhalf a li")?;
///
/// let sources = [LogSource::from_path(&path).expect("a log file name")];
/// let mut stream = stream_history(&sources, &Query::new())?;
/// let mut shown = Vec::new();
/// while let Some(line) = stream.next_line()? {
///     shown.push(line.line.clone());
/// }
/// // The unfinished line is left to a follower, which starts at it.
/// assert_eq!(shown, ["booted", "ready", "serving"]);
/// let resume = stream.into_resume();
/// assert_eq!(resume.sources().count(), 1);
/// # Ok(())
/// # }
/// ```
pub fn stream_history(sources: &[LogSource], query: &Query) -> Result<HistoryStream> {
    let chunk = (BUFFER_BUDGET / sources.len().max(1)).clamp(MIN_CHUNK, CHUNK);
    let mut readers = Vec::with_capacity(sources.len());
    let mut cursors = Vec::with_capacity(sources.len());
    for source in sources {
        let io = |e| LogsError::io("read", &source.path, e);
        let Some((snap, guard)) = snapshot(source).map_err(io)? else {
            cursors.push(Cursor::at(source.clone(), None, 0, None));
            continue;
        };
        cursors.push(snap.cursor(source).map_err(io)?);
        // Where `--since` starts is looked up under the lock too; after that the lock is
        // let go: the snapshot's rotated files never change, and the current file is read
        // under the lock one chunk at a time.
        readers.push(Forward::new(source, snap, query, chunk).map_err(io)?);
        drop(guard);
    }
    let mut stream = HistoryStream {
        query: query.clone(),
        heap: BinaryHeap::with_capacity(readers.len()),
        readers,
        handed_out: None,
        resume: Resume { cursors },
    };
    for i in 0..stream.readers.len() {
        stream.advance(i)?;
    }
    Ok(stream)
}

impl std::fmt::Debug for HistoryStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HistoryStream")
            .field("sources", &self.readers.len())
            .field("queued", &self.heap.len())
            .finish_non_exhaustive()
    }
}

impl HistoryStream {
    /// The next line, or `None` at the end of the history.
    pub fn next_line(&mut self) -> Result<Option<&LogLine>> {
        if let Some(i) = self.handed_out.take() {
            self.advance(i)?;
        }
        let Some(Reverse((_, i))) = self.heap.pop() else {
            return Ok(None);
        };
        self.handed_out = Some(i);
        Ok(Some(&self.readers[i].line))
    }

    /// Where following should pick each source up: just after its history. Lines not
    /// read yet with [`HistoryStream::next_line`] are skipped.
    pub fn into_resume(self) -> Resume {
        self.resume
    }

    /// Reads source `i`'s next line and queues it.
    fn advance(&mut self, i: usize) -> Result<()> {
        let reader = &mut self.readers[i];
        let more = reader
            .advance(&self.query)
            .map_err(|e| LogsError::io("read", reader.path(), e))?;
        if more {
            self.heap.push(Reverse((reader.last_ts, i)));
        }
        Ok(())
    }
}
