//! A configuration file kept with its text, and the way back from a key path to a place in
//! that text.
//!
//! yaml_serde gives a location only with an error. So to find where a value sits, the
//! document is walked again by a seed that raises an error the moment it reaches the wanted
//! key or value: yaml_serde stamps that error with the line and column of the event it was
//! reading. This is exact for block and flow styles alike, and costs a re-parse only when a
//! diagnostic is being built.

use std::fmt;
use std::fs;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::{NamedSource, SourceSpan};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

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

/// The byte offset where the node at `path` starts, found by walking the document again.
pub(crate) fn locate(text: &str, path: &[Seg], target: Target) -> Option<usize> {
    if path.is_empty() {
        return Some(first_content(text));
    }
    let de = yaml_serde::Deserializer::from_str(text);
    let seed = Walk { rest: path, target };
    match seed.deserialize(de) {
        Err(e) if e.to_string().contains(FOUND) => {
            e.location().map(|l| floor_boundary(text, l.index()))
        }
        _ => None,
    }
}

/// `offset` clamped into `text` and moved back to a character boundary: yaml_serde's indexes
/// are not always byte offsets (a byte-order mark is skipped without being counted).
pub(crate) fn floor_boundary(text: &str, offset: usize) -> usize {
    let mut o = offset.min(text.len());
    while !text.is_char_boundary(o) {
        o -= 1;
    }
    o
}

/// Offset of the first character that is not blank or comment.
fn first_content(text: &str) -> usize {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if !trimmed.is_empty() && !trimmed.starts_with('#') && !trimmed.starts_with("---") {
            return offset + (line.len() - trimmed.len());
        }
        offset += line.len();
    }
    0
}

/// Length of the token at `start`: a quoted or plain scalar, a flow collection on one line,
/// or the rest of the line for a block collection.
fn token_len(text: &str, start: usize, target: Target) -> usize {
    let rest = &text[start..];
    let line = rest.split('\n').next().unwrap_or("");
    let mut chars = line.char_indices();
    let len = match chars.next() {
        Some((_, q @ ('"' | '\''))) => {
            let mut escaped = false;
            line.char_indices()
                .skip(1)
                .find(|&(_, c)| {
                    let end = c == q && !escaped;
                    escaped = q == '"' && c == '\\' && !escaped;
                    end
                })
                .map_or(line.len(), |(i, _)| i + 1)
        }
        Some((_, open @ ('[' | '{'))) => {
            let close = if open == '[' { ']' } else { '}' };
            let mut depth = 0i32;
            line.char_indices()
                .find(|&(_, c)| {
                    if c == open {
                        depth += 1;
                    } else if c == close {
                        depth -= 1;
                    }
                    depth == 0
                })
                .map_or(line.len(), |(i, _)| i + 1)
        }
        Some(_) => {
            let in_flow = open_flow_depth(&text[..start]) > 0;
            plain_len(line, target, in_flow)
        }
        None => 0,
    };
    len.max(1).min(rest.len().max(1))
}

/// Whether the text before the token, on the token's line, leaves a flow collection open.
fn open_flow_depth(before: &str) -> i32 {
    let line = before.rsplit('\n').next().unwrap_or("");
    line.chars().fold(0, |d, c| match c {
        '[' | '{' => d + 1,
        ']' | '}' => d - 1,
        _ => d,
    })
}

/// Length of a plain scalar: up to a comment, the key's `:` or, in a flow, a `,`/`]`/`}`.
fn plain_len(line: &str, target: Target, in_flow: bool) -> usize {
    let bytes = line.as_bytes();
    let mut end = line.len();
    for (i, &b) in bytes.iter().enumerate() {
        let next_blank = bytes.get(i + 1).is_none_or(|n| *n == b' ' || *n == b'\t');
        let prev_blank = i > 0 && (bytes[i - 1] == b' ' || bytes[i - 1] == b'\t');
        if (b == b'#' && prev_blank)
            || (b == b':' && (target == Target::Key || in_flow) && next_blank)
            || (in_flow && matches!(b, b',' | b']' | b'}'))
        {
            end = i;
            break;
        }
    }
    line[..end].trim_end().len()
}

const FOUND: &str = "\u{1}orchestra: located\u{1}";

fn found<E: de::Error>() -> E {
    E::custom(FOUND)
}

/// Walks toward `rest`, raising [`FOUND`] at the target so its mark gets recorded.
struct Walk<'p> {
    rest: &'p [Seg],
    target: Target,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let wanted = match self.rest.split_first() {
            None => return Err(found()),
            Some((Seg::Key(wanted), tail)) => (wanted.as_str(), tail),
            Some((Seg::Index(_), _)) => return Ok(()),
        };
        let (wanted, tail) = wanted;
        let key_is_target = tail.is_empty() && self.target == Target::Key;
        let check = |k: &str| {
            if key_is_target && k == wanted {
                Err(FOUND.to_owned())
            } else {
                Ok(())
            }
        };
        while let Some(key) = map.next_key_seed(crate::node::CheckedKey {
            check: &check,
            refuse_complex: false,
        })? {
            if key.as_deref() == Some(wanted) {
                return map.next_value_seed(Walk {
                    rest: tail,
                    target: self.target,
                });
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let (wanted, tail) = match self.rest.split_first() {
            None => return Err(found()),
            Some((Seg::Index(wanted), tail)) => (wanted, tail),
            Some((Seg::Key(_), _)) => return Ok(()),
        };
        for _ in 0..*wanted {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Ok(());
            }
        }
        seq.next_element_seed(Walk {
            rest: tail,
            target: self.target,
        })?;
        Ok(())
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        if self.rest.is_empty() {
            Err(found())
        } else {
            Ok(())
        }
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.scalar()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.scalar()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.scalar()
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.scalar()
    }
}

impl Walk<'_> {
    fn scalar<E: de::Error>(&self) -> Result<(), E> {
        if self.rest.is_empty() {
            Err(found())
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> Seg {
        Seg::Key(k.into())
    }

    fn text_at(text: &str, path: &[Seg], target: Target) -> String {
        let f = SourceFile::new("x".into(), "x".into(), text.into());
        let span = f.span_of(path, target).expect("located");
        text[span.offset()..span.offset() + span.len()].to_owned()
    }

    #[test]
    fn finds_block_keys_and_values() {
        let t = "port: 8080\ndepend_on: [postgres]  # x\nready:\n  tcp: \"$PORT\"\n";
        assert_eq!(text_at(t, &[key("depend_on")], Target::Key), "depend_on");
        assert_eq!(text_at(t, &[key("depend_on")], Target::Value), "[postgres]");
        assert_eq!(
            text_at(t, &[key("depend_on"), Seg::Index(0)], Target::Value),
            "postgres"
        );
        assert_eq!(
            text_at(t, &[key("ready"), key("tcp")], Target::Value),
            "\"$PORT\""
        );
        assert_eq!(text_at(t, &[key("port")], Target::Value), "8080");
    }

    #[test]
    fn finds_flow_values() {
        let t = "ready: { tcp: 80, timeout: 5x }\n";
        assert_eq!(
            text_at(t, &[key("ready"), key("timeout")], Target::Value),
            "5x"
        );
        assert_eq!(
            text_at(t, &[key("ready"), key("timeout")], Target::Key),
            "timeout"
        );
    }

    #[test]
    fn missing_paths_are_none() {
        assert_eq!(locate("a: 1\n", &[key("b")], Target::Value), None);
        assert_eq!(locate("- 1\n", &[key("b")], Target::Value), None);
    }
}
