//! Reading one source's whole history forward, line by line, in constant memory.
//!
//! The files are taken from a [`Snapshot`] (rotated files oldest first, then the current
//! file up to its last complete line) and read in large chunks; lines are cut with
//! `memchr` and handed out one at a time in a reused [`LogLine`]. Only the bytes of a line
//! that spans chunks (or files) are copied aside.
//!
//! Unlike the backward reader, this one does not hold the rotation lock while the lines
//! are used: the caller may be printing into a pager that stays open for minutes, and a
//! rotation (or a replica's restart) must not wait for it. Rotated files never change
//! once written, so they are read without the lock (reopened by identity when their turn
//! comes, so a fleet of sources does not hold every rotated file open at once). The
//! current file is read chunk by chunk under the lock, see [`LiveFile`].

use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::file::last_line_end;
use crate::file::{FileId, file_id, lock, read_full_at};
use crate::history::{Segment, Snapshot, open_existing};
use crate::index::Timeline;
use crate::line::{LogLine, MAX_LINE_BYTES};
use crate::query::Query;
use crate::source::{LogSource, rotated_path};
use crate::tail::MAX_ROTATED;

/// One source's history, read forward.
pub(crate) struct Forward {
    path: PathBuf,
    /// The files still to read, oldest first; the front one is being read.
    parts: VecDeque<Part>,
    /// The front part, once opened.
    open: Option<Reader>,
    /// Where the next chunk is read from in the front part, and where its history ends.
    pos: u64,
    end: u64,
    buf: Vec<u8>,
    /// The unread window of `buf`, and the offset in the part of `buf[0]`.
    lo: usize,
    hi: usize,
    buf_at: u64,
    /// The start of a line whose newline is in a later chunk or file.
    pending: Vec<u8>,
    since: Option<SystemTime>,
    /// The line handed out last, refilled for each line.
    pub(crate) line: LogLine,
    /// What the line handed out last sorts by: its time, or when its file was surely
    /// written ([`crate::Timeline::written_by`]).
    pub(crate) last_ts: Option<SystemTime>,
}

/// A file of the history, not opened yet.
struct Part {
    /// 0 for the current file, `n` for `.log.n` at the time of the snapshot.
    n: u32,
    id: FileId,
    /// Where reading starts (after the lines `--since` skips) and ends.
    start: u64,
    len: u64,
    timeline: Timeline,
    /// The current file, kept open from the snapshot on, and `.log.1` as it was then.
    live: Option<(File, Option<FileId>)>,
}

enum Reader {
    Rotated(File),
    Live(LiveFile),
}

impl Forward {
    /// A reader of the history in `snapshot` of `source`, skipping what `query.since`
    /// rules out.
    pub(crate) fn new(
        source: &LogSource,
        snapshot: Snapshot,
        query: &Query,
        chunk: usize,
    ) -> io::Result<Self> {
        let since = query.since_time();
        let rotated_id = snapshot.rotated_id();
        let mut segments = snapshot.segments;
        segments.reverse();
        let (first, offset) = match since {
            Some(since) => since_start(&segments, since)?,
            None => (0, 0),
        };
        let parts = segments
            .into_iter()
            .enumerate()
            .skip(first)
            .map(|(i, seg)| Part {
                n: seg.n,
                id: seg.id,
                start: if i == first { offset } else { 0 },
                len: seg.len,
                timeline: seg.timeline,
                // Rotated files are closed until their turn (see the module docs).
                live: (seg.n == 0).then_some((seg.file, rotated_id)),
            })
            .collect();
        Ok(Self {
            path: source.path.clone(),
            parts,
            open: None,
            pos: 0,
            end: 0,
            buf: vec![0; chunk],
            lo: 0,
            hi: 0,
            buf_at: 0,
            pending: Vec::new(),
            since,
            line: LogLine::new(source, String::new(), None),
            last_ts: None,
        })
    }
}

/// Where reading starts with `--since` (`segments` oldest first): the segment and the
/// offset of a line start just after the last line known to be older. These are the lines
/// the backward reader stops at, found from the indexes (whose times grow with the
/// offsets) instead of by reading: a rotated file last modified before `since` and
/// everything before it, the lines an index entry older than `since` covers, and a whole
/// file whose last line (timed by its modification time) is older.
fn since_start(segments: &[Segment], since: SystemTime) -> io::Result<(usize, u64)> {
    for (i, seg) in segments.iter().enumerate().rev() {
        if seg.n > 0 && seg.mtime.is_some_and(|m| m < since) {
            return Ok((i + 1, 0));
        }
        let cut = if seg.timeline.time_of(seg.len).is_some_and(|t| t < since) {
            seg.len
        } else {
            seg.timeline.index().offset_before(since).min(seg.len)
        };
        if cut > 0 {
            // The line straddling the cut ends after it, so it is not older: keep it whole.
            return Ok((i, last_line_end(&seg.file, cut)?.unwrap_or(0)));
        }
    }
    Ok((0, 0))
}

impl Forward {
    /// The source's current path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the next line that passes `query` into [`Forward::line`]; `false` at the end
    /// of the history.
    pub(crate) fn advance(&mut self, query: &Query) -> io::Result<bool> {
        while self.next_raw()? {
            if let (Some(since), Some(ts)) = (self.since, self.line.ts)
                && ts < since
            {
                continue;
            }
            if query.matches(&self.line.line) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Reads the next line, whatever it holds.
    fn next_raw(&mut self) -> io::Result<bool> {
        loop {
            let window = &self.buf[self.lo..self.hi];
            if let Some(nl) = memchr::memchr(b'\n', window) {
                let end = self.buf_at + (self.lo + nl + 1) as u64;
                let ts = self.time_of(end);
                if self.pending.is_empty() {
                    self.line.refill(&window[..nl], ts);
                } else {
                    self.pending.extend_from_slice(&window[..nl]);
                    self.line.refill(&self.pending, ts);
                    self.pending.clear();
                }
                self.lo += nl + 1;
                self.last_ts = self.written_by(end).or(self.last_ts);
                return Ok(true);
            }
            self.pending.extend_from_slice(window);
            self.lo = self.hi;
            if self.pending.len() >= MAX_LINE_BYTES {
                // A run of bytes without a newline is cut as the follower cuts it.
                let ts = self.time_of(self.buf_at + self.hi as u64);
                self.line.refill(&self.pending[..MAX_LINE_BYTES], ts);
                self.pending.drain(..MAX_LINE_BYTES);
                self.last_ts = self
                    .written_by(self.buf_at + self.hi as u64)
                    .or(self.last_ts);
                return Ok(true);
            }
            if !self.fill()? {
                // A rotated file's unfinished last line with nothing after it is not
                // history yet, as for the backward reader.
                return Ok(false);
            }
        }
    }

    /// The time of the line ending at `end` in the front part.
    fn time_of(&self, end: u64) -> Option<SystemTime> {
        self.parts.front().and_then(|p| p.timeline.time_of(end))
    }

    fn written_by(&self, end: u64) -> Option<SystemTime> {
        self.parts.front().and_then(|p| p.timeline.written_by(end))
    }

    /// Reads the next chunk, moving on to the next file at the end of one; `false` when
    /// every file was read.
    fn fill(&mut self) -> io::Result<bool> {
        loop {
            if let Some(reader) = &mut self.open
                && self.pos < self.end
            {
                let want = self.buf.len().min((self.end - self.pos) as usize);
                let n = reader.read(&self.path, &mut self.buf[..want], self.pos)?;
                if n > 0 {
                    (self.buf_at, self.lo, self.hi) = (self.pos, 0, n);
                    self.pos += n as u64;
                    return Ok(true);
                }
                // Shorter than at the snapshot: its bytes went where we cannot follow.
                tracing::warn!(path = %self.path.display(), "log file shrank while its history was read");
            }
            if self.open.take().is_some() {
                self.parts.pop_front();
            }
            let Some(part) = self.parts.front_mut() else {
                return Ok(false);
            };
            (self.pos, self.end) = (part.start, part.len);
            self.open = match part.live.take() {
                Some((file, rotated)) => Some(Reader::Live(LiveFile::new(file, part.id, rotated))),
                None => reopen(&self.path, part.n, part.id)?.map(Reader::Rotated),
            };
            if self.open.is_none() {
                tracing::warn!(
                    path = %rotated_path(&self.path, part.n).display(),
                    "rotated log was deleted before its history was read"
                );
                self.parts.pop_front();
            }
        }
    }
}

impl Reader {
    fn read(&mut self, path: &Path, buf: &mut [u8], at: u64) -> io::Result<usize> {
        match self {
            Reader::Rotated(file) => read_full_at(file, buf, at),
            Reader::Live(live) => live.read(path, buf, at),
        }
    }
}

/// Opens the rotated file that was `.log.n` at the snapshot: rotations since may have
/// renamed it further up the chain, so it is looked for by identity. `None` when it is
/// gone (deleted as the oldest beyond what is kept).
fn reopen(path: &Path, n: u32, id: FileId) -> io::Result<Option<File>> {
    // No rotation may shift the chain while we look.
    let current = open_existing(path)?;
    let _guard = current.as_ref().map(|f| lock(f, false)).transpose()?;
    for m in n..=MAX_ROTATED {
        let Some(file) = open_existing(&rotated_path(path, m))? else {
            break;
        };
        if FileId::of(&file.metadata()?) == id {
            return Ok(Some(file));
        }
    }
    Ok(None)
}

/// The current file of a source while its history is read: each chunk is read under the
/// rotation lock, so a rotation is never seen half done, but the lock is let go between
/// chunks. A rotation in between moves the head of the file to a new `.log.1` (collapse,
/// copy + truncate) or renames the whole file away (restart); the bytes not read yet are
/// then found where they went, the way a follower's cursor finds them.
struct LiveFile {
    file: File,
    id: FileId,
    /// The identity of `.log.1` when last looked at: how a rotation is noticed.
    rotated: Option<FileId>,
    /// A restart renamed the file away: nothing moves its bytes any more.
    renamed: bool,
    /// How many bytes rotations moved out of the file's head: what was at offset `x`
    /// when the history was opened is now at `x - moved`.
    moved: u64,
    /// Heads moved out that hold bytes not read yet: the file, the offset its first byte
    /// had when the history was opened, and its length.
    detours: VecDeque<(File, u64, u64)>,
}

impl LiveFile {
    /// The current file as it was at the snapshot, when `.log.1` was `rotated`: any
    /// rotation since (while older files were read) is walked through on the first read.
    fn new(file: File, id: FileId, rotated: Option<FileId>) -> Self {
        Self {
            file,
            id,
            rotated,
            renamed: false,
            moved: 0,
            detours: VecDeque::new(),
        }
    }

    /// Reads the bytes that were at offset `at` when the history was opened.
    fn read(&mut self, path: &Path, buf: &mut [u8], at: u64) -> io::Result<usize> {
        loop {
            while let Some((file, base, len)) = self.detours.front() {
                if at < base + len {
                    let want = buf.len().min((base + len - at) as usize);
                    return read_full_at(file, &mut buf[..want], at - base);
                }
                self.detours.pop_front();
            }
            if self.renamed {
                return self.read_moved(buf, at);
            }
            let guard = lock(&self.file, false)?;
            if file_id(&rotated_path(path, 1))? == self.rotated {
                let n = self.read_moved(buf, at);
                drop(guard);
                return n;
            }
            drop(guard);
            self.relocate(path, at)?;
        }
    }

    fn read_moved(&self, buf: &mut [u8], at: u64) -> io::Result<usize> {
        match at.checked_sub(self.moved) {
            Some(x) => read_full_at(&self.file, buf, x),
            // Moved out and deleted before we got to it.
            None => Ok(0),
        }
    }

    /// Walks the rotations since the last look, oldest first.
    fn relocate(&mut self, path: &Path, at: u64) -> io::Result<()> {
        let current = open_existing(path)?;
        let _guard = current.as_ref().map(|f| lock(f, false)).transpose()?;
        let mut chain = Vec::new();
        for n in 1..=MAX_ROTATED {
            let p = rotated_path(path, n);
            match file_id(&p)? {
                Some(id) => chain.push((p, id)),
                None => break,
            }
        }
        let known = self
            .rotated
            .and_then(|known| chain.iter().position(|(_, id)| *id == known));
        if known.is_none() && self.rotated.is_some() {
            tracing::warn!(
                path = %path.display(),
                "fell behind more rotations than are kept while reading history; some lines may be missing"
            );
        }
        let newer = known.unwrap_or(chain.len());
        for (p, id) in chain[..newer].iter().rev() {
            if *id == self.id {
                // Renamed away by a restart: later heads are another file's.
                self.renamed = true;
                break;
            }
            let Some(head) = open_existing(p)? else {
                continue;
            };
            let len = head.metadata()?.len();
            if at < self.moved + len {
                self.detours.push_back((head, self.moved, len));
            }
            self.moved += len;
        }
        self.rotated = chain.first().map(|(_, id)| *id);
        Ok(())
    }
}
