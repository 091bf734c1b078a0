//! The fleet's replica records as one journal: `.orchestra/run/replicas.jsonl`, a JSON line
//! each time a replica is recorded or forgotten.
//!
//! Why one journal and not a file per replica: a start of 200 replicas created 200 record
//! files (each a temporary file renamed into place) and the stop before had deleted as
//! many. A filesystem that will not reuse an inode freed in the last half minute (ext4
//! without a journal) scans past every one of them at each create, and writing the records
//! took more of the daemon's time than spawning the processes. Appending a line creates
//! nothing.
//!
//! The rules that keep it truthful:
//! - A line says `{"up": record}` (the replica runs, as recorded) or `{"down": {"service",
//!   "replica"}}` (it does not any more); the last line about a replica wins.
//! - A writer appends its line with one `write` while it holds the file's `flock`
//!   exclusively. A line never continues a torn one: a newline goes first when the file
//!   does not end with one, and a write cut short (a full disk) is cut off again.
//! - A reader holds the lock shared, so it never sees a line half-written: a line that does
//!   not parse is damage (a crash mid-write, a hand edit), and the replicas it may have
//!   named are found by their processes' tokens ([`crate::unrecorded`]).
//! - Once the file has grown to four times its size after the last compaction, the writer
//!   compacts it: the live records (and any damage, which only a stop may clear) go to a
//!   temporary file renamed over it. A writer still holding the old file notices the rename
//!   under the lock and reopens.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use orchestra_core::{ReplicaId, ServiceName, StateDir};
use rustix::fs::{FlockOperation, flock};
use serde::{Deserialize, Serialize};

use crate::records::ReplicaRecord;

mod legacy;

/// A journal smaller than this is never compacted.
const COMPACT_FLOOR: u64 = 64 * 1024;

/// One line of the journal, as written.
#[derive(Serialize)]
#[serde(rename_all = "lowercase")]
enum Written<'a> {
    Up(&'a ReplicaRecord),
    Down(&'a Forgotten),
}

/// One line of the journal, as read.
#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum Line {
    Up(ReplicaRecord),
    Down(Forgotten),
}

/// A replica whose record is gone.
#[derive(Serialize, Deserialize)]
struct Forgotten {
    service: ServiceName,
    replica: u32,
}

/// What the journal says now.
#[derive(Debug, Default)]
pub(crate) struct Contents {
    /// The live records, sorted by replica.
    pub records: Vec<ReplicaRecord>,
    /// Lines that could not be read (or the file itself, counted once).
    pub damaged: usize,
}

/// Records `record` as the replica's current run.
pub(crate) fn record(state: &StateDir, record: &ReplicaRecord) -> io::Result<()> {
    append(state, &Written::Up(record))
}

/// Forgets the record of `id`.
pub(crate) fn forget(state: &StateDir, id: &ReplicaId) -> io::Result<()> {
    append(
        state,
        &Written::Down(&Forgotten {
            service: id.service.clone(),
            replica: id.index,
        }),
    )
}

/// Reads the journal under a shared lock. A missing journal records nothing; one that
/// cannot be read is damage.
pub(crate) fn read(state: &StateDir) -> Contents {
    let legacy_damage = legacy::migrate(state);
    let mut contents = read_journal(state);
    contents.damaged += legacy_damage;
    contents
}

fn read_journal(state: &StateDir) -> Contents {
    let path = state.run_journal();
    let text = (|| {
        let mut file = OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(&path)?;
        lock_shared_within(&file, READ_LOCK_PATIENCE)?;
        let mut text = Vec::new();
        file.read_to_end(&mut text)?;
        Ok::<_, io::Error>(text)
    })();
    match text {
        Ok(text) => replay(&text).0,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Contents::default(),
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "cannot read the replica records");
            Contents {
                records: Vec::new(),
                damaged: 1,
            }
        }
    }
}

/// How long a reader waits for a writer's lock before it reads without it.
const READ_LOCK_PATIENCE: Duration = Duration::from_secs(1);

/// Takes the shared lock, waiting at most `patience`: a writer holds the lock for a
/// moment, but a writer stopped in that moment (a daemon frozen with SIGSTOP) would hold it
/// for good, and `ps` and `stop` must not hang on it. Past the patience the file is read
/// as it is: a line being written then reads as damage, which sends `stop` looking for the
/// replica by its processes, never past it.
fn lock_shared_within(file: &File, patience: Duration) -> io::Result<()> {
    let deadline = Instant::now() + patience;
    loop {
        match flock(file, FlockOperation::NonBlockingLockShared) {
            Ok(()) => return Ok(()),
            Err(e) if e == rustix::io::Errno::WOULDBLOCK && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) if e == rustix::io::Errno::WOULDBLOCK => {
                tracing::warn!(
                    "the replica records stay locked by a writer; reading them as they are"
                );
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Drops the damaged lines (and record files of an earlier version that do not read),
/// once the replicas they may have named were dealt with.
pub(crate) fn clear_damage(state: &StateDir) -> io::Result<()> {
    legacy::remove_unreadable(state)?;
    compact_now(state, false)
}

/// Compacts the journal now, keeping its live records and its damage.
pub(crate) fn tidy(state: &StateDir) -> io::Result<()> {
    compact_now(state, true)
}

fn compact_now(state: &StateDir, keep_damage: bool) -> io::Result<()> {
    let path = state.run_journal();
    let file = match OpenOptions::new()
        .read(true)
        .append(true)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(&path)
    {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        opened => opened?,
    };
    flock(&file, FlockOperation::LockExclusive)?;
    compact(&path, &file, keep_damage).map(|_| ())
}

/// The live records of `text` and the lines to keep at a compaction.
fn replay(text: &[u8]) -> (Contents, Vec<&[u8]>) {
    let mut live: BTreeMap<ReplicaId, ReplicaRecord> = BTreeMap::new();
    let mut damage = Vec::new();
    for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        match serde_json::from_slice::<Line>(line) {
            Ok(Line::Up(record)) => {
                live.insert(record.id(), record);
            }
            Ok(Line::Down(gone)) => {
                live.remove(&ReplicaId::new(gone.service, gone.replica));
            }
            Err(error) => {
                tracing::warn!(%error, "skipping a damaged replica record");
                damage.push(line);
            }
        }
    }
    let contents = Contents {
        records: live.into_values().collect(),
        damaged: damage.len(),
    };
    (contents, damage)
}

/// An open journal of this process, and when it is due for compaction.
struct Writer {
    file: File,
    compact_at: u64,
}

/// The journals this process appends to, by path: one descriptor each, kept open.
static WRITERS: Mutex<Option<HashMap<PathBuf, Writer>>> = Mutex::new(None);

fn append(state: &StateDir, line: &Written<'_>) -> io::Result<()> {
    let path = state.run_journal();
    let mut text = serde_json::to_vec(line).map_err(io::Error::other)?;
    text.push(b'\n');
    let mut writers = WRITERS.lock().unwrap_or_else(PoisonError::into_inner);
    let writers = writers.get_or_insert_with(HashMap::new);
    let mut writer = match writers.remove(&path) {
        Some(writer) => writer,
        None => open(&path)?,
    };
    let result = append_locked(&path, &mut writer, &text);
    if result.is_ok() {
        writers.insert(path, writer);
    }
    result
}

/// Opens (creating the file, and the folder if it is missing) the journal for appending.
fn open(path: &Path) -> io::Result<Writer> {
    let open = || {
        OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o600)
            // Never written through a link planted in its place.
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(path)
    };
    let file = match open() {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent() {
                orchestra_core::paths::create_private_dir(dir)?;
            }
            open()?
        }
        opened => opened?,
    };
    // Whatever its size, a journal this process has not compacted yet is compacted once it
    // passes the floor: what it holds may be mostly forgotten records.
    Ok(Writer {
        file,
        compact_at: COMPACT_FLOOR,
    })
}

/// Appends `text` under the lock, reopening first if the file was replaced or removed.
fn append_locked(path: &Path, writer: &mut Writer, text: &[u8]) -> io::Result<()> {
    loop {
        flock(&writer.file, FlockOperation::LockExclusive)?;
        let ours = writer.file.metadata()?;
        let current = match fs::metadata(path) {
            Ok(meta) => meta.ino() == ours.ino() && meta.dev() == ours.dev(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(e) => return Err(e),
        };
        if !current {
            // Compacted or removed under us: the lock we hold is on a file nobody reads.
            *writer = open(path)?;
            continue;
        }
        let result = write_line(&writer.file, ours.len(), text);
        let result = result.and_then(|end| {
            if end < writer.compact_at {
                return Ok(());
            }
            let kept = compact(path, &writer.file, true)?;
            writer.compact_at = (kept * 4).max(COMPACT_FLOOR);
            Ok(())
        });
        let unlocked = flock(&writer.file, FlockOperation::Unlock);
        return result.and(unlocked.map_err(io::Error::from));
    }
}

/// Writes `text` at the end (`len`) of the file, after a newline if the last line is
/// torn; cuts a failed write off again. Returns the new length.
fn write_line(mut file: &File, len: u64, text: &[u8]) -> io::Result<u64> {
    let mut last = [b'\n'];
    if len > 0 {
        file.read_exact_at(&mut last, len - 1)?;
    }
    let line: std::borrow::Cow<'_, [u8]> = if last[0] == b'\n' {
        text.into()
    } else {
        [b"\n", text].concat().into()
    };
    if let Err(e) = file.write_all(&line) {
        // Half a line would read as damage until the next stop: take it back.
        let _ = file.set_len(len);
        return Err(e);
    }
    Ok(len + line.len() as u64)
}

/// The whole file, whatever the descriptor's offset (an appending one sits at the end).
fn read_from_start(file: &File) -> io::Result<Vec<u8>> {
    let mut text = vec![0; usize::try_from(file.metadata()?.len()).unwrap_or(0)];
    let mut done = 0;
    while done < text.len() {
        match file.read_at(&mut text[done..], done as u64)? {
            0 => break,
            n => done += n,
        }
    }
    text.truncate(done);
    Ok(text)
}

/// Rewrites the journal (whose lock the caller holds on `file`) with its live records,
/// and its damage when `keep_damage`. Returns the new size.
fn compact(path: &Path, file: &File, keep_damage: bool) -> io::Result<u64> {
    let text = read_from_start(file)?;
    let (contents, damage) = replay(&text);
    let mut kept = Vec::new();
    for record in &contents.records {
        serde_json::to_writer(&mut kept, &Written::Up(record)).map_err(io::Error::other)?;
        kept.push(b'\n');
    }
    if keep_damage {
        for line in damage {
            kept.extend_from_slice(line);
            kept.push(b'\n');
        }
    }
    if kept.is_empty() {
        // Nothing to keep: emptied in place, with no new file to create.
        file.set_len(0)?;
        return Ok(0);
    }
    orchestra_core::paths::atomic_replace(path, &kept)?;
    Ok(kept.len() as u64)
}

#[cfg(test)]
mod tests;
