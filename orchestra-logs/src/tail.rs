//! Following one log file: a cursor that reads what was appended since last time, and
//! finds its way through rotations without losing or repeating a line.
//!
//! Every read happens under the file's shared rotation lock (see [`crate::rotate`]), after
//! checking two identities: the file the path names (a restart renames it to `.log.1`)
//! and the file `.log.1` names (every rotation makes a new one). When either changed, the
//! cursor walks the rotated files newer than the `.log.1` it knew, oldest first:
//!
//! - the file it was reading, renamed away: read to its end (its writer is gone);
//! - a head moved out of the file it is reading (collapse or copy + truncate) of `c`
//!   bytes: if the cursor was at `x <= c`, read `x..c` from it and continue at 0, else
//!   continue at `x - c`;
//! - a file it never saw (several rotations since the last look): read it whole.
//!
//! The unfinished tail of a line survives these steps, so a line split by a collapse is
//! joined again; it is flushed when its writer is gone or after the grace period.
//!
//! Walking a rotation only queues those reads: each step reads one chunk, from the queue
//! first, so a cursor far behind (a rotated file of a flooding writer is megabytes of
//! short lines) never turns more than a chunk into lines at once.
//!
//! A cursor also knows how far behind its writer it is (see [`Cursor::lag`]); a follower
//! that cannot keep up may [`Cursor::skip_ahead`] to the end of what is written, leaving a
//! line that says how many bytes were skipped.

use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::file::{FileId, file_id, last_line_end, lock, read_full_at};
use crate::line::{LineSplitter, LogLine};
use crate::source::{LogSource, Tag, rotated_path};

/// How far a cursor looks for rotated files (`.log.1` … `.log.N`).
pub(crate) const MAX_ROTATED: u32 = 1000;

/// The reading state of one source.
#[derive(Debug)]
pub(crate) struct Cursor {
    pub(crate) source: LogSource,
    tag: Tag,
    file: Option<(File, FileId)>,
    offset: u64,
    /// The identity of `.log.1` when last looked at: how a rotation is noticed.
    rotated: Option<FileId>,
    splitter: LineSplitter,
    /// Reads owed to rotated (or replaced) files, oldest first, before the current file.
    queue: VecDeque<Pending>,
    /// Every byte of the source read or skipped so far: a position in the source's whole
    /// output, whichever file holds it now.
    consumed: u64,
    /// Since when the cursor has been behind, and the position it had to reach then.
    behind: Option<(Instant, u64)>,
}

/// A read a rotation left owing: `file` from `from` to `to` (or its end), after which the
/// unfinished line is flushed when `then_flush` (its writer is gone).
#[derive(Debug)]
struct Pending {
    file: File,
    from: u64,
    to: Option<u64>,
    then_flush: bool,
}

impl Pending {
    fn remaining(&self) -> io::Result<u64> {
        let end = match self.to {
            Some(to) => to,
            None => self.file.metadata()?.len(),
        };
        Ok(end.saturating_sub(self.from))
    }
}

impl Cursor {
    /// A cursor over an open file at `offset`, knowing `.log.1` as `rotated`.
    pub(crate) fn at(
        source: LogSource,
        file: Option<(File, FileId)>,
        offset: u64,
        rotated: Option<FileId>,
    ) -> Self {
        Self {
            tag: source.tag(),
            source,
            file,
            offset,
            rotated,
            splitter: LineSplitter::default(),
            queue: VecDeque::new(),
            consumed: 0,
            behind: None,
        }
    }

    /// A cursor for a file that appeared while following: read from its start.
    pub(crate) fn new_file(source: LogSource) -> Self {
        Self::at(source, None, 0, None)
    }

    fn path(&self) -> &Path {
        &self.source.path
    }

    /// Reads at most `buf.len()` new bytes, pushing completed lines to `out`. Returns
    /// whether more may be waiting.
    pub(crate) fn step(&mut self, buf: &mut [u8], out: &mut Vec<LogLine>) -> io::Result<bool> {
        if !self.queue.is_empty() {
            // What rotations left owing comes before the current file.
            self.step_queue(buf, out)?;
            return Ok(true);
        }
        if self.file.is_none() {
            let Some(file) = open_existing(self.path())? else {
                return Ok(false);
            };
            let guard = lock(&file, false)?;
            let id = FileId::of(&guard.metadata()?);
            self.rotated = file_id(&rotated_path(self.path(), 1))?;
            drop(guard);
            self.file = Some((file, id));
            self.offset = 0;
        }
        let Some((file, id)) = &self.file else {
            return Ok(false);
        };
        let guard = lock(file, false)?;
        if file_id(self.path())? != Some(*id)
            || file_id(&rotated_path(self.path(), 1))? != self.rotated
        {
            drop(guard);
            self.catch_up()?;
            return Ok(true);
        }
        let n = read_full_at(file, buf, self.offset)?;
        if n == 0 {
            let len = file.metadata()?.len();
            drop(guard);
            if len < self.offset {
                tracing::warn!(
                    path = %self.source.path.display(),
                    "log file was truncated without rotation; reading from its start"
                );
                self.offset = 0;
                return Ok(true);
            }
            return Ok(false);
        }
        drop(guard);
        self.offset += n as u64;
        self.consumed += n as u64;
        self.feed(&buf[..n], out);
        Ok(n == buf.len())
    }

    /// Reads one chunk of the oldest queued read.
    fn step_queue(&mut self, buf: &mut [u8], out: &mut Vec<LogLine>) -> io::Result<()> {
        let Some(pending) = self.queue.front_mut() else {
            return Ok(());
        };
        let want = pending.to.map_or(buf.len(), |to| {
            buf.len().min(to.saturating_sub(pending.from) as usize)
        });
        let n = if want == 0 {
            0
        } else {
            read_full_at(&pending.file, &mut buf[..want], pending.from)?
        };
        pending.from += n as u64;
        let done = n == 0 || pending.to.is_some_and(|to| pending.from >= to);
        let then_flush = pending.then_flush;
        self.consumed += n as u64;
        self.feed(&buf[..n], out);
        if done {
            self.queue.pop_front();
            if then_flush {
                self.flush(out);
            }
        }
        Ok(())
    }

    /// How long the cursor has been behind its writer (since when the oldest byte it has
    /// not read yet was first seen waiting; zero when it has read everything it saw), and
    /// how many bytes wait.
    pub(crate) fn lag(&mut self, now: Instant) -> io::Result<(Duration, u64)> {
        let backlog = self.backlog()?;
        if backlog == 0 {
            self.behind = None;
            return Ok((Duration::ZERO, 0));
        }
        match self.behind {
            Some((since, target)) if self.consumed < target => Ok((now - since, backlog)),
            _ => {
                // Caught up with what was waiting at the last mark: mark what waits now.
                self.behind = Some((now, self.consumed + backlog));
                Ok((Duration::ZERO, backlog))
            }
        }
    }

    /// How many bytes are written and not read yet (as far as a look without the rotation
    /// lock can tell).
    pub(crate) fn backlog(&self) -> io::Result<u64> {
        let mut bytes = 0;
        for pending in &self.queue {
            bytes += pending.remaining()?;
        }
        if let Some((file, _)) = &self.file {
            bytes += file.metadata()?.len().saturating_sub(self.offset);
        }
        Ok(bytes)
    }

    /// Skips everything written and not read yet, up to the end of the last whole line,
    /// and pushes a line saying how many bytes were skipped: what a follower does when its
    /// reader cannot keep up, rather than fall further behind.
    pub(crate) fn skip_ahead(&mut self, out: &mut Vec<LogLine>) -> io::Result<()> {
        if self.file.is_some() && self.moved()? {
            // Walk the rotations first, so their bytes are skipped too.
            self.catch_up()?;
        }
        let mut skipped = self.splitter.discard() as u64;
        for pending in self.queue.drain(..) {
            skipped += pending.remaining()?;
        }
        if let Some((file, _)) = &self.file {
            let guard = lock(file, false)?;
            let len = guard.metadata()?.len();
            let end = last_line_end(file, len)?.unwrap_or(0).max(self.offset);
            drop(guard);
            skipped += end - self.offset;
            self.offset = end;
        }
        self.consumed += skipped;
        self.behind = None;
        if skipped > 0 {
            let notice = format!(
                "[orchestra] {}: skipped {skipped} bytes",
                self.source.label()
            );
            out.push(LogLine::from_bytes(
                &self.tag,
                notice.as_bytes(),
                Some(SystemTime::now()),
            ));
        }
        Ok(())
    }

    /// Whether the file the path names, or `.log.1`, is not the one last seen.
    fn moved(&self) -> io::Result<bool> {
        let Some((_, id)) = &self.file else {
            return Ok(false);
        };
        Ok(file_id(self.path())? != Some(*id)
            || file_id(&rotated_path(self.path(), 1))? != self.rotated)
    }

    /// Emits the unfinished line if its writer has been silent for `grace`.
    pub(crate) fn flush_stale(&mut self, now: Instant, grace: Duration, out: &mut Vec<LogLine>) {
        if self.splitter.due_at(grace).is_some_and(|due| due <= now) {
            self.flush(out);
        }
    }

    /// When the unfinished line, if any, becomes due.
    pub(crate) fn due_at(&self, grace: Duration) -> Option<Instant> {
        self.splitter.due_at(grace)
    }

    fn feed(&mut self, bytes: &[u8], out: &mut Vec<LogLine>) {
        let ts = Some(SystemTime::now());
        let tag = &self.tag;
        self.splitter
            .feed(bytes, |l| out.push(LogLine::from_bytes(tag, l, ts)));
    }

    fn flush(&mut self, out: &mut Vec<LogLine>) {
        let ts = Some(SystemTime::now());
        let tag = &self.tag;
        self.splitter
            .flush(|l| out.push(LogLine::from_bytes(tag, l, ts)));
    }

    /// Walks the rotations that happened since the last look (see the module docs),
    /// queueing the reads they leave owing.
    fn catch_up(&mut self) -> io::Result<()> {
        let path = self.source.path.clone();
        // Lock whatever the path names now, so no rotation runs while we look.
        let main = open_existing(&path)?;
        let guard = main.as_ref().map(|f| lock(f, false)).transpose()?;
        let main_id = match &main {
            Some(f) => Some(FileId::of(&f.metadata()?)),
            None => None,
        };
        let mut rotated: Vec<(PathBuf, FileId)> = Vec::new();
        for n in 1..=MAX_ROTATED {
            let p = rotated_path(&path, n);
            match file_id(&p)? {
                Some(id) => rotated.push((p, id)),
                None => break,
            }
        }
        let newer = match self.rotated {
            None => rotated.len(),
            Some(known) => rotated
                .iter()
                .position(|(_, id)| *id == known)
                .unwrap_or_else(|| {
                    tracing::warn!(
                        path = %path.display(),
                        "fell behind more rotations than are kept; some lines may be missing"
                    );
                    rotated.len()
                }),
        };
        let mut current = self.file.take();
        let mut x = self.offset;
        for (p, id) in rotated[..newer].iter().rev() {
            if let Some((cf, _)) = current.take_if(|(_, cur)| cur == id) {
                // The file we were reading, renamed away by a restart.
                self.owe(cf, x, None, true);
                x = 0;
                continue;
            }
            let Some(f) = open_existing(p)? else { continue };
            if current.is_some() {
                // A head moved out of the file we are reading.
                let c = f.metadata()?.len();
                if x <= c {
                    self.owe(f, x, Some(c), false);
                    x = 0;
                } else {
                    x -= c;
                }
            } else {
                // A file we never saw: all of it is new.
                self.owe(f, 0, None, false);
                x = 0;
            }
        }
        match current {
            Some((cf, cur)) if main_id == Some(cur) => {
                self.file = Some((cf, cur));
                self.offset = x;
            }
            current => {
                if let Some((cf, _)) = current {
                    // Deleted or replaced without a rotation: what it still holds is ours.
                    self.owe(cf, x, None, true);
                }
                self.file = main.zip(main_id);
                self.offset = 0;
            }
        }
        self.rotated = rotated.first().map(|(_, id)| *id);
        drop(guard);
        Ok(())
    }

    fn owe(&mut self, file: File, from: u64, to: Option<u64>, then_flush: bool) {
        self.queue.push_back(Pending {
            file,
            from,
            to,
            then_flush,
        });
    }
}

fn open_existing(path: &Path) -> io::Result<Option<File>> {
    match File::open(path) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}
