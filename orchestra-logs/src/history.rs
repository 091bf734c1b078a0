//! Reading history: the last lines of each source, backwards from the end.
//!
//! A source's history is its rotated files and the current file, oldest first, read as one
//! byte stream (a rotated file that does not end with a newline continues in the next).
//! It is read backwards in 64 KiB blocks from the end, so printing the last 100 lines of a
//! 1 GB file reads a few blocks, not the file; a line longer than a block is assembled
//! from its pieces without quadratic copying.
//!
//! The unfinished last line of the current file is not history yet: the [`Resume`] point
//! handed to a follower is its start, so a follower prints it once it is finished.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io;
use std::time::SystemTime;

use nix::fcntl::Flock;

use crate::error::{LogsError, Result};
use crate::file::{FileId, file_id, last_line_end, lock, read_full_at};
use crate::index::Timeline;
use crate::line::LogLine;
use crate::query::Query;
use crate::source::{LogSource, Tag, rotated_path};
use crate::tail::{Cursor, MAX_ROTATED};

const BLOCK: usize = 64 << 10;

/// The history of a set of sources.
#[derive(Debug)]
pub struct History {
    /// The lines, oldest first: the sources merged in the order their lines were
    /// written, as [`crate::stream_history`] merges them (a line without a time counts as
    /// written when its file last was; equal times keep the order of the sources).
    pub lines: Vec<LogLine>,
    /// Where each source's history ends, to follow from there.
    pub resume: Resume,
}

/// Where a follower should pick each source up: just after its history, with the file
/// already open (so a rotation between history and following loses nothing).
#[derive(Debug, Default)]
pub struct Resume {
    pub(crate) cursors: Vec<Cursor>,
}

impl Resume {
    /// The sources covered.
    pub fn sources(&self) -> impl Iterator<Item = &LogSource> {
        self.cursors.iter().map(|c| &c.source)
    }
}

/// Reads the last `lines` lines of each source that match `query` (`lines = 0`: all of
/// them), reaching into rotated files when needed.
///
/// With `--since` (`query.since`), reading stops at the first line known to be older;
/// lines without a time are kept, and a rotated file last modified before the cut-off is
/// not read at all.
pub fn read_history(sources: &[LogSource], lines: usize, query: &Query) -> Result<History> {
    read_limited(sources, (lines > 0).then_some(lines), query)
}

/// Where each source's history ends, without reading it: what a follower that shows no
/// history (`logs -f -n 0`) starts from.
pub fn history_end(sources: &[LogSource]) -> Result<Resume> {
    Ok(read_limited(sources, Some(0), &Query::new())?.resume)
}

/// Like [`read_history`], with `None` meaning every line and `Some(0)` none (used to start
/// following at the end).
pub(crate) fn read_limited(
    sources: &[LogSource],
    limit: Option<usize>,
    query: &Query,
) -> Result<History> {
    let mut per_source = Vec::with_capacity(sources.len());
    let mut cursors = Vec::with_capacity(sources.len());
    for source in sources {
        let (lines, cursor) = read_source(source, limit, query)
            .map_err(|e| LogsError::io("read", &source.path, e))?;
        per_source.push(lines);
        cursors.push(cursor);
    }
    Ok(History {
        lines: merge(per_source),
        resume: Resume { cursors },
    })
}

/// Merges the sources' lines, each source kept in its own order, taking next the line
/// written first among the sources' next lines, as [`crate::stream_history`] does; equal
/// times come out in the order of the sources.
fn merge(per_source: Vec<Vec<Written>>) -> Vec<LogLine> {
    let mut out = Vec::with_capacity(per_source.iter().map(Vec::len).sum());
    let mut queues: Vec<std::vec::IntoIter<Written>> =
        per_source.into_iter().map(Vec::into_iter).collect();
    let mut heap = BinaryHeap::with_capacity(queues.len());
    let mut heads: Vec<Option<LogLine>> = Vec::with_capacity(queues.len());
    for (i, queue) in queues.iter_mut().enumerate() {
        heads.push(queue.next().map(|(written, line)| {
            heap.push(Reverse((written, i)));
            line
        }));
    }
    while let Some(Reverse((_, i))) = heap.pop() {
        if let Some(line) = heads[i].take() {
            out.push(line);
        }
        if let Some((written, line)) = queues[i].next() {
            heads[i] = Some(line);
            heap.push(Reverse((written, i)));
        }
    }
    out
}

/// One file of a source's history, as found under the rotation lock.
pub(crate) struct Segment {
    pub(crate) file: File,
    /// Its identity, to find it again after later rotations renamed it.
    pub(crate) id: FileId,
    /// Its place in the rotation chain: 0 for the current file, `n` for `.log.n`.
    pub(crate) n: u32,
    /// The bytes that are history: the whole of a rotated file, the current file up to
    /// its last complete line.
    pub(crate) len: u64,
    pub(crate) timeline: Timeline,
    pub(crate) mtime: Option<SystemTime>,
}

/// A source's files as they were at one moment: what history is read from, and where a
/// follower picks up after it.
pub(crate) struct Snapshot {
    /// Newest first: the current file, then `.log.1`, `.log.2`…
    pub(crate) segments: Vec<Segment>,
    main: File,
    main_id: FileId,
    rotated_id: Option<FileId>,
}

impl Snapshot {
    /// Where the history ends: just after the current file's last complete line.
    pub(crate) fn lines_end(&self) -> u64 {
        self.segments.first().map_or(0, |s| s.len)
    }

    /// The identity `.log.1` had.
    pub(crate) fn rotated_id(&self) -> Option<FileId> {
        self.rotated_id
    }

    /// A cursor that follows the source from the end of its history, with the current
    /// file already open and `.log.1` as it was, so that a rotation since the snapshot
    /// is noticed and walked through.
    pub(crate) fn cursor(&self, source: &LogSource) -> io::Result<Cursor> {
        let main = self.main.try_clone()?;
        Ok(Cursor::at(
            source.clone(),
            Some((main, self.main_id)),
            self.lines_end(),
            self.rotated_id,
        ))
    }
}

/// Opens the files of `source` under its shared rotation lock, which is returned still
/// held: the caller decides how long the current file must stay still. `None` when the
/// source has no current file.
pub(crate) fn snapshot(source: &LogSource) -> io::Result<Option<(Snapshot, Flock<File>)>> {
    let Some(main) = open_existing(&source.path)? else {
        return Ok(None);
    };
    // Hold the rotation lock while the set of files is looked at.
    let guard = lock(&main, false)?;
    let main_meta = guard.metadata()?;
    let main_id = FileId::of(&main_meta);
    let rotated_id = file_id(&rotated_path(&source.path, 1))?;
    let lines_end = last_line_end(&main, main_meta.len())?.unwrap_or(0);
    let mut segments = Vec::new();
    for n in 0..=MAX_ROTATED {
        let path = rotated_path(&source.path, n);
        let file = if n == 0 {
            main.try_clone()?
        } else {
            match open_existing(&path)? {
                Some(f) => f,
                None => break,
            }
        };
        let meta = file.metadata()?;
        let timeline = Timeline::load(&path, &file).map_err(io::Error::other)?;
        segments.push(Segment {
            id: FileId::of(&meta),
            n,
            len: if n == 0 { lines_end } else { meta.len() },
            mtime: meta.modified().ok(),
            timeline,
            file,
        });
    }
    let snapshot = Snapshot {
        segments,
        main,
        main_id,
        rotated_id,
    };
    Ok(Some((snapshot, guard)))
}

/// A line with when it was surely written (see [`Timeline::written_by`]), what lines are
/// merged by.
type Written = (Option<SystemTime>, LogLine);

fn read_source(
    source: &LogSource,
    limit: Option<usize>,
    query: &Query,
) -> io::Result<(Vec<Written>, Cursor)> {
    let Some((snapshot, guard)) = snapshot(source)? else {
        return Ok((Vec::new(), Cursor::at(source.clone(), None, 0, None)));
    };
    // The lock stays held while reading: a rotation would move the current file's bytes.
    let lines = if limit == Some(0) {
        Vec::new()
    } else {
        read_backwards(&snapshot.segments, &source.tag(), limit, query)?
    };
    drop(guard);
    Ok((lines, snapshot.cursor(source)?))
}

/// Collects lines newest first, then returns them oldest first.
fn read_backwards(
    segments: &[Segment],
    tag: &Tag,
    limit: Option<usize>,
    query: &Query,
) -> io::Result<Vec<Written>> {
    let mut out = Vec::new();
    let Some(first) = segments.first() else {
        return Ok(out);
    };
    if first.len == 0 && segments.len() == 1 {
        return Ok(out);
    }
    let since = query.since_time();
    let mut buf = vec![0u8; BLOCK];
    // The line being assembled: where it ends (segment, offset after its newline) and its
    // pieces found so far, newest piece first.
    let mut end: Option<(usize, u64)> = None;
    let mut parts: Vec<Vec<u8>> = Vec::new();
    let full = |out: &Vec<Written>| limit.is_some_and(|l| out.len() >= l);
    // Emits the assembled line; returns false when reading should stop.
    let emit =
        |out: &mut Vec<Written>, head: &[u8], end: (usize, u64), parts: &mut Vec<Vec<u8>>| {
            let timeline = &segments[end.0].timeline;
            let ts = timeline.time_of(end.1);
            if let (Some(since), Some(ts)) = (since, ts)
                && ts < since
            {
                return false;
            }
            let mut bytes;
            let line: &[u8] = if parts.is_empty() {
                head
            } else {
                bytes = head.to_vec();
                for p in parts.iter().rev() {
                    bytes.extend_from_slice(p);
                }
                &bytes
            };
            let log_line = LogLine::from_bytes(tag, line, ts);
            if query.matches(&log_line.line) {
                out.push((timeline.written_by(end.1), log_line));
            }
            parts.clear();
            true
        };
    'segments: for (si, seg) in segments.iter().enumerate() {
        if si > 0
            && let (Some(since), Some(mtime)) = (since, seg.mtime)
            && mtime < since
        {
            break;
        }
        let mut pos = seg.len;
        if si == 0 {
            if pos == 0 {
                continue;
            }
            // Skip the final newline: it ends the first line we assemble.
            end = Some((0, pos));
            pos -= 1;
        }
        while pos > 0 {
            let start = pos.saturating_sub(BLOCK as u64);
            let chunk = &mut buf[..(pos - start) as usize];
            let n = read_full_at(&seg.file, chunk, start)?;
            let chunk = &chunk[..n];
            let mut upto = chunk.len();
            for nl in memchr::memrchr_iter(b'\n', chunk) {
                if let Some(e) = end {
                    let keep = emit(&mut out, &chunk[nl + 1..upto], e, &mut parts);
                    if !keep || full(&out) {
                        end = None;
                        break 'segments;
                    }
                }
                end = Some((si, start + nl as u64 + 1));
                upto = nl;
            }
            if end.is_some() {
                parts.push(chunk[..upto].to_vec());
            }
            pos = start;
        }
    }
    if let Some(e) = end
        && !full(&out)
    {
        emit(&mut out, &[], e, &mut parts);
    }
    out.reverse();
    Ok(out)
}

pub(crate) fn open_existing(path: &std::path::Path) -> io::Result<Option<File>> {
    match File::open(path) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}
