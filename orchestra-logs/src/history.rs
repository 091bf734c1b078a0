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

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::time::SystemTime;

use crate::error::{LogsError, Result};
use crate::file::{FileId, file_id, lock, read_full_at};
use crate::index::Timeline;
use crate::line::LogLine;
use crate::query::Query;
use crate::source::{LogSource, Tag, rotated_path};
use crate::tail::Cursor;

const BLOCK: usize = 64 << 10;

/// The history of a set of sources.
#[derive(Debug)]
pub struct History {
    /// The lines, oldest first: merged in time order when every line has a time (an
    /// index covers every source), otherwise source by source in the order given.
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
    let all_timed = per_source.iter().flatten().all(|l| l.ts.is_some());
    let mut lines: Vec<LogLine> = per_source.into_iter().flatten().collect();
    if all_timed {
        // Stable: equal times keep each source's own order, and the sources' order.
        lines.sort_by_key(|l| l.ts);
    }
    Ok(History {
        lines,
        resume: Resume { cursors },
    })
}

struct Segment {
    file: File,
    len: u64,
    timeline: Timeline,
    mtime: Option<SystemTime>,
}

fn read_source(
    source: &LogSource,
    limit: Option<usize>,
    query: &Query,
) -> io::Result<(Vec<LogLine>, Cursor)> {
    let Some(main) = open_existing(&source.path)? else {
        return Ok((Vec::new(), Cursor::at(source.clone(), None, 0, None)));
    };
    // Hold the rotation lock while the set of files is looked at and read.
    let guard = lock(&main, false)?;
    let main_id = FileId::of(&guard.metadata()?);
    let rotated_id = file_id(&rotated_path(&source.path, 1))?;
    let len = guard.metadata()?.len();
    let lines_end = last_line_end(&main, len)?;
    let mut segments = Vec::new();
    let mut n = 1;
    let mut paths: Vec<PathBuf> = vec![source.path.clone()];
    loop {
        let p = rotated_path(&source.path, n);
        if !p.exists() || n > 1000 {
            break;
        }
        paths.push(p);
        n += 1;
    }
    // Newest first: the current file, then .1, .2…
    for (i, p) in paths.iter().enumerate() {
        let file = if i == 0 {
            main.try_clone()?
        } else {
            match open_existing(p)? {
                Some(f) => f,
                None => break,
            }
        };
        let meta = file.metadata()?;
        let timeline = Timeline::load(p, &file).map_err(io::Error::other)?;
        segments.push(Segment {
            len: if i == 0 { lines_end } else { meta.len() },
            mtime: meta.modified().ok(),
            timeline,
            file,
        });
    }
    let lines = if limit == Some(0) {
        Vec::new()
    } else {
        read_backwards(&segments, &source.tag(), limit, query)?
    };
    drop(guard);
    let cursor = Cursor::at(source.clone(), Some((main, main_id)), lines_end, rotated_id);
    Ok((lines, cursor))
}

/// The offset just after the last newline before `len` (0 when there is none).
fn last_line_end(file: &File, len: u64) -> io::Result<u64> {
    let mut buf = vec![0u8; BLOCK];
    let mut end = len;
    while end > 0 {
        let start = end.saturating_sub(BLOCK as u64);
        let n = read_full_at(file, &mut buf[..(end - start) as usize], start)?;
        if let Some(i) = memchr::memrchr(b'\n', &buf[..n]) {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

/// Collects lines newest first, then returns them oldest first.
fn read_backwards(
    segments: &[Segment],
    tag: &Tag,
    limit: Option<usize>,
    query: &Query,
) -> io::Result<Vec<LogLine>> {
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
    let full = |out: &Vec<LogLine>| limit.is_some_and(|l| out.len() >= l);
    // Emits the assembled line; returns false when reading should stop.
    let emit =
        |out: &mut Vec<LogLine>, head: &[u8], end: (usize, u64), parts: &mut Vec<Vec<u8>>| {
            let ts = segments[end.0].timeline.time_of(end.1);
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
                out.push(log_line);
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

fn open_existing(path: &std::path::Path) -> io::Result<Option<File>> {
    match File::open(path) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}
