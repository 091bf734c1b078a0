//! Small file primitives shared by readers and the rotator: file identity, the reader /
//! rotator lock, and positioned reads.

use std::fs::{File, Metadata};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::time::SystemTime;

use nix::fcntl::{Flock, FlockArg};

/// What makes a file the same file across renames: device and inode, plus the birth
/// time where the filesystem has one, so that an inode number reused by a new file after
/// the old one was deleted is not mistaken for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileId {
    dev: u64,
    ino: u64,
    born: Option<SystemTime>,
}

impl FileId {
    pub(crate) fn of(meta: &Metadata) -> Self {
        Self {
            dev: meta.dev(),
            ino: meta.ino(),
            born: meta.created().ok(),
        }
    }
}

/// The identity of the file at `path`, `None` when there is none.
pub(crate) fn file_id(path: &Path) -> io::Result<Option<FileId>> {
    match std::fs::metadata(path) {
        Ok(m) => Ok(Some(FileId::of(&m))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Takes the rotation lock of an open log file: readers take it shared while they look
/// at the file and its rotated siblings, rotation takes it exclusive, so a reader sees a
/// rotation either not at all or complete. It is an advisory `flock` on the file itself
/// (on a duplicate of the descriptor, released when the guard drops); the services
/// writing the file never take it, so they are never slowed.
pub(crate) fn lock(file: &File, exclusive: bool) -> io::Result<Flock<File>> {
    let arg = if exclusive {
        FlockArg::LockExclusive
    } else {
        FlockArg::LockShared
    };
    Flock::lock(file.try_clone()?, arg).map_err(|(_, errno)| io::Error::from(errno))
}

/// Reads as much of `buf` as the file holds from `offset`, retrying short reads; returns
/// the number of bytes read (less than `buf.len()` only at the end of the file).
pub(crate) fn read_full_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// The offset just after the last newline before `len`, read backwards in blocks; `None`
/// when there is no newline at all.
pub(crate) fn last_line_end(file: &File, len: u64) -> io::Result<Option<u64>> {
    let mut buf = vec![0u8; 64 << 10];
    let mut end = len;
    while end > 0 {
        let start = end.saturating_sub(buf.len() as u64);
        let chunk = &mut buf[..(end - start) as usize];
        let n = read_full_at(file, chunk, start)?;
        if let Some(i) = memchr::memrchr(b'\n', &chunk[..n]) {
            return Ok(Some(start + i as u64 + 1));
        }
        end = start;
    }
    Ok(None)
}
