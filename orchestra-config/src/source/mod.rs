//! A configuration file kept with its text, and the way back from a key path to a place in
//! that text ([`locate`]).

use std::fs;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::{NamedSource, SourceSpan};

mod locate;

use locate::token_len;
pub(crate) use locate::{floor_boundary, locate};

/// The largest configuration file read: far above any real one, low enough to never hang.
pub const MAX_FILE_SIZE: u64 = 1024 * 1024;

/// One step of a key path inside a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

/// A path from the document root to a node.
pub(crate) type KeyPath = Vec<Seg>;

/// Extends `path` by one key.
pub(crate) fn child(path: &[Seg], key: &str) -> KeyPath {
    let mut p = path.to_vec();
    p.push(Seg::Key(key.to_owned()));
    p
}

/// Extends `path` by one list index.
pub(crate) fn item(path: &[Seg], index: usize) -> KeyPath {
    let mut p = path.to_vec();
    p.push(Seg::Index(index));
    p
}

/// What of a map entry a diagnostic points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// The key itself (`depend_on` in `depend_on: [x]`).
    Key,
    /// The value the path leads to.
    Value,
}

/// A configuration file: where it is, how it is named in messages, and its text.
#[derive(Debug, Clone)]
pub(crate) struct SourceFile {
    pub path: PathBuf,
    pub name: String,
    pub text: Arc<str>,
}

/// Why a file could not be read as text.
pub(crate) enum ReadFailure {
    Io(std::io::Error),
    /// A folder, FIFO, socket or device where a file was expected: what it is.
    NotAFile(&'static str),
    TooLarge(u64),
    NotUtf8 {
        lossy: String,
        at: usize,
    },
}

impl SourceFile {
    /// Reads `path`, refusing files above [`MAX_FILE_SIZE`] and bytes that are not UTF-8.
    pub fn read(path: &Path, name: String) -> Result<Self, (String, ReadFailure)> {
        let fail = |f| (name.clone(), f);
        // Non-blocking, so that opening a FIFO nobody writes to returns at once; it is
        // refused below with every other kind of file that is not a regular one.
        let file = fs::OpenOptions::new()
            .read(true)
            .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
            .open(path)
            .map_err(|e| fail(ReadFailure::Io(e)))?;
        let kind = file
            .metadata()
            .map_err(|e| fail(ReadFailure::Io(e)))?
            .file_type();
        if !kind.is_file() {
            return Err(fail(ReadFailure::NotAFile(describe(kind))));
        }
        let mut bytes = Vec::new();
        // Read one byte past the limit rather than trusting metadata (a FIFO has no size).
        file.take(MAX_FILE_SIZE + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| fail(ReadFailure::Io(e)))?;
        if bytes.len() as u64 > MAX_FILE_SIZE {
            let size = fs::metadata(path).map_or(bytes.len() as u64, |m| m.len());
            return Err(fail(ReadFailure::TooLarge(size)));
        }
        match String::from_utf8(bytes) {
            Ok(text) => Ok(Self::new(path.to_owned(), name, text)),
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
                Err(fail(ReadFailure::NotUtf8 { lossy, at }))
            }
        }
    }

    /// A file from text already in memory.
    pub fn new(path: PathBuf, name: String, text: String) -> Self {
        Self {
            path,
            name,
            text: Arc::from(text),
        }
    }

    /// The text under its display name, for a diagnostic.
    pub fn named(&self) -> NamedSource<Arc<str>> {
        NamedSource::new(&self.name, Arc::clone(&self.text)).with_language("yaml")
    }

    /// The span of the key or value at `path`, if the path exists in the document.
    pub fn span_of(&self, path: &[Seg], target: Target) -> Option<SourceSpan> {
        if self.text.trim().is_empty() {
            return None;
        }
        let start = locate(&self.text, path, target)?;
        let len = token_len(&self.text, start, target);
        Some(SourceSpan::new(start.into(), len))
    }
}

/// What a file that is not a regular file is, in a message.
fn describe(kind: fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_dir() {
        "a folder"
    } else if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else {
        "not a regular file"
    }
}
