//! Rotation rules: when and how a log file's history moves to `.log.1`, `.log.2`…
//!
//! Two situations differ in who holds the file open:
//!
//! - [`rotate_on_start`]: the replica is (re)starting, so nobody writes the old file any
//!   more. It is renamed to `.log.1` (older history shifting to `.2`… and the oldest
//!   beyond `keep` deleted) and the new process gets a fresh file.
//! - [`rotate_if_larger`]: the replica is running and holds an `O_APPEND` descriptor that
//!   nobody else can reopen. A rename would leave it writing into `.log.1` forever, so the
//!   head of the file is moved out instead, in place:
//!   1. **Collapse** (ext4, XFS): the head, up to the last whole line rounded down to the
//!      filesystem block size, is copied to `.log.1`, then removed from the file with
//!      `fallocate(FALLOC_FL_COLLAPSE_RANGE)`. The writer's descriptor stays valid and
//!      its appends land at the new end: **nothing is lost**. The line straddling the
//!      cut begins at the end of `.log.1` and continues at the start of the file; readers
//!      join it again (a rotated file that does not end with a newline continues in the
//!      next one).
//!   2. **Copy + truncate** (other filesystems, e.g. tmpfs): everything up to the current
//!      end is copied to `.log.1`, re-checking the length until it is stable, then the
//!      file is truncated to zero. Bytes the service appends between the last length check
//!      and the truncation (a window of a few microseconds) are **lost**; this is the
//!      classic `copytruncate` trade-off, and the reason collapse is tried first.
//!
//! Both take the file's rotation lock exclusively, so a follower never observes half a
//! rotation, and both move the `.idx` sidecar with the bytes it describes.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{FallocateFlags, fallocate};

use crate::error::{LogsError, Result};
use crate::file::{last_line_end, lock, read_full_at};
use crate::index::{Index, index_path, write_index};
use crate::source::rotated_path;

/// How many rotated files are kept when the configuration says nothing.
pub const DEFAULT_KEEP: u32 = 5;

/// How [`rotate_if_larger_with`] may move the head of a running file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RotateStrategy {
    /// Collapse where the filesystem supports it, copy + truncate otherwise.
    #[default]
    Auto,
    /// Always copy + truncate (loses the bytes written during the truncation window).
    CopyTruncate,
}

/// How a running file was rotated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotateMethod {
    /// The head was removed in place with `FALLOC_FL_COLLAPSE_RANGE`.
    Collapse,
    /// The file was copied and truncated to zero.
    CopyTruncate,
}

/// What [`rotate_if_larger`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// How.
    pub method: RotateMethod,
    /// How many bytes of the file moved to `.log.1`.
    pub bytes: u64,
}

/// Rotates the log of a replica that is about to (re)start: `path` becomes `path.1`
/// (with its index), older files shift up, at most `keep` are kept (`keep = 0` deletes the
/// old log). An unfinished last line gets its newline, since its writer is gone. Returns
/// whether anything was rotated (a missing or empty file is left alone).
pub fn rotate_on_start(path: &Path, keep: u32) -> Result<bool> {
    let file = match OpenOptions::new().read(true).append(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(LogsError::io("open", path, e)),
    };
    let mut guard = lock(&file, true).map_err(|e| LogsError::io("lock", path, e))?;
    let len = guard
        .metadata()
        .map_err(|e| LogsError::io("read", path, e))?
        .len();
    if len == 0 {
        return Ok(false);
    }
    let mut last = [0u8; 1];
    read_full_at(&guard, &mut last, len - 1).map_err(|e| LogsError::io("read", path, e))?;
    if last[0] != b'\n' {
        guard
            .write_all(b"\n")
            .map_err(|e| LogsError::io("write", path, e))?;
    }
    if keep == 0 {
        remove_if_exists(path)?;
        remove_if_exists(&index_path(path))?;
        return Ok(true);
    }
    shift(path, keep)?;
    rename_if_exists(path, &rotated_path(path, 1))?;
    rename_if_exists(&index_path(path), &index_path(&rotated_path(path, 1)))?;
    tracing::debug!(path = %path.display(), "rotated log on start");
    Ok(true)
}

/// Rotates a running replica's log when it is larger than `max_size` bytes, keeping
/// `keep` rotated files (at least 1: followers need `.log.1` to find the moved lines).
pub fn rotate_if_larger(path: &Path, max_size: u64, keep: u32) -> Result<Option<Rotation>> {
    rotate_if_larger_with(path, max_size, keep, RotateStrategy::Auto)
}

/// [`rotate_if_larger`] with an explicit strategy.
pub fn rotate_if_larger_with(
    path: &Path,
    max_size: u64,
    keep: u32,
    strategy: RotateStrategy,
) -> Result<Option<Rotation>> {
    let keep = keep.max(1);
    let file = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(LogsError::io("open", path, e)),
    };
    let guard = lock(&file, true).map_err(|e| LogsError::io("lock", path, e))?;
    let meta = guard
        .metadata()
        .map_err(|e| LogsError::io("read", path, e))?;
    if meta.len() <= max_size {
        return Ok(None);
    }
    let index = Index::load(path)?;
    let tmp = temp_path(path);
    let mut rotation = None;
    if strategy == RotateStrategy::Auto {
        rotation = try_collapse(&guard, path, &tmp, meta.blksize().max(512), meta.len())?;
    }
    let rotation = match rotation {
        Some(r) => r,
        None => copy_truncate(&guard, path, &tmp)?,
    };
    let (head, tail) = index.split(rotation.bytes);
    let tail = match rotation.method {
        RotateMethod::Collapse => tail,
        RotateMethod::CopyTruncate => Index::default(),
    };
    shift(path, keep)?;
    let first = rotated_path(path, 1);
    fs::rename(&tmp, &first).map_err(|e| LogsError::io("rename", &tmp, e))?;
    write_index(&first, &head)?;
    write_index(path, &tail)?;
    drop(guard);
    tracing::debug!(path = %path.display(), ?rotation, "rotated running log");
    Ok(Some(rotation))
}

/// Moves the head of the file out with `FALLOC_FL_COLLAPSE_RANGE`; `None` when the
/// filesystem cannot, or the file has no whole block of whole lines.
fn try_collapse(
    file: &File,
    path: &Path,
    tmp: &Path,
    block: u64,
    len: u64,
) -> Result<Option<Rotation>> {
    let Some(lines_end) = last_line_end(file, len).map_err(|e| LogsError::io("read", path, e))?
    else {
        return Ok(None);
    };
    let mut cut = lines_end / block * block;
    if cut >= len {
        // The range may not reach the end of the file.
        cut = cut.saturating_sub(block);
    }
    if cut == 0 {
        return Ok(None);
    }
    let mut out = create_temp(tmp)?;
    copy_range(file, path, &mut out, tmp, 0, cut)?;
    out.sync_data()
        .map_err(|e| LogsError::io("write", tmp, e))?;
    match fallocate(
        file,
        FallocateFlags::FALLOC_FL_COLLAPSE_RANGE,
        0,
        cut as i64,
    ) {
        Ok(()) => Ok(Some(Rotation {
            method: RotateMethod::Collapse,
            bytes: cut,
        })),
        Err(errno @ (Errno::EOPNOTSUPP | Errno::EINVAL | Errno::ENOSYS | Errno::EPERM)) => {
            tracing::debug!(path = %path.display(), %errno, "collapse unsupported, copying");
            remove_if_exists(tmp)?;
            Ok(None)
        }
        Err(errno) => Err(LogsError::io("collapse", path, errno.into())),
    }
}

/// Copies the whole file to `tmp` up to its current end, then truncates it.
fn copy_truncate(file: &File, path: &Path, tmp: &Path) -> Result<Rotation> {
    let mut out = create_temp(tmp)?;
    let len_of = || {
        file.metadata()
            .map(|m| m.len())
            .map_err(|e| LogsError::io("read", path, e))
    };
    let mut copied = 0;
    // Chase the writer until a length check finds nothing new, so the window between
    // the last copy and the truncation is as short as possible.
    for _ in 0..16 {
        let end = len_of()?;
        if end == copied {
            break;
        }
        copy_range(file, path, &mut out, tmp, copied, end)?;
        copied = end;
    }
    file.set_len(0)
        .map_err(|e| LogsError::io("truncate", path, e))?;
    let mut last = [0u8; 1];
    if copied > 0 {
        read_full_at(&out, &mut last, copied - 1).map_err(|e| LogsError::io("read", tmp, e))?;
        if last[0] != b'\n' {
            // The line was cut by the truncation: end it here rather than glue it to
            // whatever the writer appends next.
            out.write_all(b"\n")
                .map_err(|e| LogsError::io("write", tmp, e))?;
        }
    }
    Ok(Rotation {
        method: RotateMethod::CopyTruncate,
        bytes: copied,
    })
}

fn copy_range(
    file: &File,
    path: &Path,
    out: &mut File,
    tmp: &Path,
    from: u64,
    to: u64,
) -> Result<()> {
    let mut buf = vec![0u8; (1 << 20).min((to - from) as usize)];
    let mut at = from;
    while at < to {
        let want = buf.len().min((to - at) as usize);
        let n =
            read_full_at(file, &mut buf[..want], at).map_err(|e| LogsError::io("read", path, e))?;
        if n == 0 {
            break;
        }
        out.write_all(&buf[..n])
            .map_err(|e| LogsError::io("write", tmp, e))?;
        at += n as u64;
    }
    Ok(())
}

/// Shifts `.n` to `.n+1` for every kept file, deleting the one that would pass `keep`.
fn shift(path: &Path, keep: u32) -> Result<()> {
    remove_if_exists(&rotated_path(path, keep))?;
    remove_if_exists(&index_path(&rotated_path(path, keep)))?;
    for n in (1..keep).rev() {
        let (from, to) = (rotated_path(path, n), rotated_path(path, n + 1));
        rename_if_exists(&from, &to)?;
        rename_if_exists(&index_path(&from), &index_path(&to))?;
    }
    Ok(())
}

/// A hidden name beside `path` for the head being copied: discovery ignores it.
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.1.tmp"))
}

fn create_temp(tmp: &Path) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(tmp)
        .map_err(|e| LogsError::io("create", tmp, e))
}

fn rename_if_exists(from: &Path, to: &Path) -> Result<()> {
    match fs::rename(from, to) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(LogsError::io("rename", from, e)),
        _ => Ok(()),
    }
}

fn remove_if_exists(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(LogsError::io("remove", path, e)),
        _ => Ok(()),
    }
}
