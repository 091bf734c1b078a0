//! The sidecar time index: when each part of a log file was written.
//!
//! A log file is written by the service itself, so its lines carry no time Orchestra can
//! trust. Instead the log care (see [`crate::care`]), as it watches the logs folder, calls
//! [`IndexWriter::record_len`] for each file that grew, within a few milliseconds of the
//! write. Each call appends an observation "by time `t` the file was `len` bytes long" to
//! `<file>.idx`. A line occupying bytes `[start, end)` was therefore complete at the first
//! observation with `len >= end`: that observation's time is the line's time, never before
//! the line was written and late by at most the time between two looks.
//!
//! Format: a sequence of 16-byte records, each a little-endian `u64` length and a
//! little-endian `i64` Unix time in milliseconds. Fixed-size records make a torn write (a
//! crash mid-record) easy to ignore, and the file small: at most one record per look, and
//! a busy file is looked at no more than 200 times a second.
//!
//! Without an index (a file written while no daemon watched it), only the last line of a
//! file has a time: the file's modification time.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{LogsError, Result};

const RECORD: u64 = 16;

/// The sidecar index path of a log file: `users.0.log` → `users.0.log.idx`.
pub fn index_path(log: &Path) -> PathBuf {
    let mut s = log.as_os_str().to_owned();
    s.push(".idx");
    PathBuf::from(s)
}

/// One observation: at `time` the file was `len` bytes long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexEntry {
    /// The file's length.
    pub len: u64,
    /// When it had that length (millisecond precision).
    pub time: SystemTime,
}

impl IndexEntry {
    fn to_bytes(self) -> [u8; 16] {
        let ms = self.millis();
        let mut b = [0; 16];
        b[..8].copy_from_slice(&self.len.to_le_bytes());
        b[8..].copy_from_slice(&ms.to_le_bytes());
        b
    }

    fn from_bytes(b: &[u8]) -> Self {
        let mut len = [0; 8];
        let mut ms = [0; 8];
        len.copy_from_slice(&b[..8]);
        ms.copy_from_slice(&b[8..16]);
        let ms = i64::from_le_bytes(ms);
        let time = if ms >= 0 {
            UNIX_EPOCH + Duration::from_millis(ms as u64)
        } else {
            UNIX_EPOCH - Duration::from_millis(ms.unsigned_abs())
        };
        Self {
            len: u64::from_le_bytes(len),
            time,
        }
    }

    fn millis(self) -> i64 {
        match self.time.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_millis() as i64,
            Err(e) => -(e.duration().as_millis() as i64),
        }
    }
}

/// Appends observations to index sidecars. Stateless between calls (everything it needs is
/// in the sidecar), so it survives rotations and daemon restarts without coordination.
#[derive(Debug, Default)]
pub struct IndexWriter {}

impl IndexWriter {
    /// A writer.
    pub fn new() -> Self {
        Self {}
    }

    /// Records the current length of `log` now. Returns whether an entry was written:
    /// nothing is written when the file did not grow.
    pub fn record(&mut self, log: &Path) -> Result<bool> {
        self.record_at(log, SystemTime::now())
    }

    /// Records the current length of `log` as observed at `now`.
    pub fn record_at(&mut self, log: &Path, now: SystemTime) -> Result<bool> {
        let len = match fs::metadata(log) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(LogsError::io("read", log, e)),
        };
        self.record_len(log, len, now)
    }

    /// Records that `log` was `len` bytes long by `time`. Nothing is written when it did
    /// not grow since the last entry; a time before the last entry's (the clock was set
    /// back) is raised to it, so the index stays in order.
    pub fn record_len(&mut self, log: &Path, len: u64, time: SystemTime) -> Result<bool> {
        let path = index_path(log);
        let io_err = |e| LogsError::io("write", &path, e);
        // An empty log has nothing to index, so its sidecar is not created: a fleet start
        // opens hundreds of empty logs, and every file created is an inode allocated while
        // the replicas spawn. An existing sidecar is still opened, to be reset below.
        let opened = OpenOptions::new()
            .read(true)
            .append(true)
            .create(len > 0)
            .mode(0o600)
            .open(&path);
        let mut file = match opened {
            Ok(file) => file,
            Err(e) if len == 0 && e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(io_err(e)),
        };
        let size = file.metadata().map_err(io_err)?.len();
        let whole = size - size % RECORD;
        if whole != size {
            // A torn record from a crash: drop it.
            file.set_len(whole).map_err(io_err)?;
        }
        let mut entry = IndexEntry { len, time };
        if whole >= RECORD {
            let mut b = [0; 16];
            file.read_exact_at(&mut b, whole - RECORD).map_err(io_err)?;
            let last = IndexEntry::from_bytes(&b);
            if len < last.len {
                // Shrunk without the index being rewritten (truncated by hand): the old
                // offsets mean nothing any more.
                file.set_len(0).map_err(io_err)?;
            } else if len == last.len {
                return Ok(false);
            } else if entry.millis() < last.millis() {
                entry.time = last.time;
            }
        }
        if len == 0 {
            return Ok(false);
        }
        file.write_all(&entry.to_bytes()).map_err(io_err)?;
        Ok(true)
    }
}

/// The observations of one log file, in increasing length.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Index {
    entries: Vec<IndexEntry>,
}

impl Index {
    /// Loads the sidecar of `log`; a missing sidecar is an empty index.
    pub fn load(log: &Path) -> Result<Self> {
        let path = index_path(log);
        match fs::read(&path) {
            Ok(bytes) => Ok(Self::from_bytes(&bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(LogsError::io("read", path, e)),
        }
    }

    fn from_bytes(bytes: &[u8]) -> Self {
        let mut entries: Vec<IndexEntry> = bytes
            .chunks_exact(RECORD as usize)
            .map(IndexEntry::from_bytes)
            .collect();
        // Keep the last increasing run: anything before a decrease describes bytes that
        // are no longer in the file.
        if let Some(cut) = entries.windows(2).rposition(|w| w[1].len < w[0].len) {
            entries.drain(..=cut);
        }
        Self { entries }
    }

    /// An index made of these entries (sorted by the caller).
    pub fn from_entries(entries: Vec<IndexEntry>) -> Self {
        Self { entries }
    }

    /// The entries, in increasing length.
    pub fn entries(&self) -> &[IndexEntry] {
        &self.entries
    }

    /// When the bytes before `end` had all been written: the time of the first
    /// observation at least `end` long.
    pub fn time_of(&self, end: u64) -> Option<SystemTime> {
        let i = self.entries.partition_point(|e| e.len < end);
        self.entries.get(i).map(|e| e.time)
    }

    /// An offset before which every byte was written before `t` (0 when unknown).
    pub fn offset_before(&self, t: SystemTime) -> u64 {
        let i = self.entries.partition_point(|e| e.time < t);
        i.checked_sub(1).map_or(0, |i| self.entries[i].len)
    }

    /// Splits at byte `cut`: entries describing bytes before `cut` (for the rotated head),
    /// and the rest with lengths shifted down by `cut` (for what stays in the file).
    pub(crate) fn split(&self, cut: u64) -> (Self, Self) {
        let i = self.entries.partition_point(|e| e.len <= cut);
        let head = self.entries[..i].to_vec();
        let tail = self.entries[i..]
            .iter()
            .map(|e| IndexEntry {
                len: e.len - cut,
                time: e.time,
            })
            .collect();
        (Self { entries: head }, Self { entries: tail })
    }

    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        self.entries.iter().flat_map(|e| e.to_bytes()).collect()
    }
}

/// The times of a file's lines: its index plus the file's length and modification time,
/// which stands in for the time of the last line when the index does not reach it.
#[derive(Debug, Clone)]
pub struct Timeline {
    index: Index,
    len: u64,
    mtime: Option<SystemTime>,
}

impl Timeline {
    /// Loads the index of `file` (already open, at `path`).
    pub fn load(path: &Path, file: &File) -> Result<Self> {
        let meta = file
            .metadata()
            .map_err(|e| LogsError::io("read", path, e))?;
        Ok(Self {
            index: Index::load(path)?,
            len: meta.len(),
            mtime: meta.modified().ok(),
        })
    }

    /// The time of the line occupying bytes `[start, end)` (newline included).
    pub fn time_of(&self, end: u64) -> Option<SystemTime> {
        self.index
            .time_of(end)
            .or_else(|| (end >= self.len).then_some(self.mtime).flatten())
    }

    /// When the line ending at `end` was surely written: its own time, or for a line the
    /// index does not cover, the file's modification time. What merging by time sorts an
    /// untimed line by, so a file without an index sorts as a block at its last write
    /// rather than before everything else.
    pub fn written_by(&self, end: u64) -> Option<SystemTime> {
        self.index.time_of(end).or(self.mtime)
    }

    /// The index.
    pub fn index(&self) -> &Index {
        &self.index
    }
}

/// The start offset and time of every line of `log` (the last, unfinished line included),
/// using its sidecar index.
pub fn line_times(log: &Path) -> Result<Vec<(u64, Option<SystemTime>)>> {
    let bytes = fs::read(log).map_err(|e| LogsError::io("read", log, e))?;
    let file = File::open(log).map_err(|e| LogsError::io("open", log, e))?;
    let timeline = Timeline::load(log, &file)?;
    let mut out = Vec::new();
    let mut start = 0u64;
    for nl in memchr::memchr_iter(b'\n', &bytes) {
        let end = nl as u64 + 1;
        out.push((start, timeline.time_of(end)));
        start = end;
    }
    if start < bytes.len() as u64 {
        out.push((start, timeline.time_of(bytes.len() as u64)));
    }
    Ok(out)
}

/// Writes `index` as the sidecar of `log` (removing the sidecar when empty).
pub(crate) fn write_index(log: &Path, index: &Index) -> Result<()> {
    let path = index_path(log);
    if index.entries.is_empty() {
        return match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(LogsError::io("remove", path, e)),
            _ => Ok(()),
        };
    }
    orchestra_core::paths::atomic_write(&path, &index.to_bytes())
        .map_err(|e| LogsError::io("write", path, e))
}

#[cfg(test)]
mod tests;
