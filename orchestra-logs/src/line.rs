//! Log lines, and cutting a byte stream into whole lines.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::source::{LogKind, LogSource, Tag};

/// The longest line kept whole. A longer run of bytes without a newline is emitted in
/// pieces of this size, so a binary blob in a log cannot exhaust memory.
pub const MAX_LINE_BYTES: usize = 16 << 20;

/// One line of a log file, without its newline (a trailing `\r` is dropped too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// The service or vendor name; shared between the lines of a source.
    pub unit: Arc<str>,
    /// The replica index, for service logs.
    pub replica: Option<u32>,
    /// What produced the line.
    pub kind: LogKind,
    /// The text; bytes that are not UTF-8 are shown as U+FFFD.
    pub line: String,
    /// When the line was written, when known: from the sidecar index for history, the
    /// moment it was read for followed lines (see the crate docs for the precision).
    pub ts: Option<SystemTime>,
}

impl LogLine {
    /// Builds a line of `source` (for callers making lines of their own, and tests).
    pub fn new(source: &LogSource, line: impl Into<String>, ts: Option<SystemTime>) -> Self {
        let tag = source.tag();
        Self {
            unit: tag.unit,
            replica: tag.replica,
            kind: tag.kind,
            line: line.into(),
            ts,
        }
    }

    /// The label of its source: `users.0`, `users.build` or `postgres`.
    pub fn label(&self) -> String {
        match (self.kind, self.replica) {
            (LogKind::Service, Some(n)) => format!("{}.{n}", self.unit),
            (LogKind::Build, _) => format!("{}.build", self.unit),
            _ => self.unit.to_string(),
        }
    }

    pub(crate) fn from_bytes(tag: &Tag, bytes: &[u8], ts: Option<SystemTime>) -> Self {
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        Self {
            unit: Arc::clone(&tag.unit),
            replica: tag.replica,
            kind: tag.kind,
            line: text_of(bytes),
            ts,
        }
    }

    /// Makes this line hold `bytes` (as [`LogLine::from_bytes`] would), reusing its text
    /// buffer: a reader handing out one line after another allocates nothing per line.
    pub(crate) fn refill(&mut self, bytes: &[u8], ts: Option<SystemTime>) {
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        self.line.clear();
        push_text(&mut self.line, bytes);
        self.ts = ts;
    }
}

/// The bytes as text: valid UTF-8 (nearly every line) is checked by the fast validator
/// and copied; anything else is converted lossily.
fn text_of(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len());
    push_text(&mut text, bytes);
    text
}

/// Appends the bytes as text to `out` (see [`text_of`]).
fn push_text(out: &mut String, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(text) => out.push_str(text),
        Err(_) => out.push_str(&String::from_utf8_lossy(bytes)),
    }
}

/// Cuts bytes read in arbitrary chunks into whole lines. Complete lines inside a chunk are
/// handed out as slices of it (no copy); only the unfinished tail is kept.
#[derive(Debug, Default)]
pub(crate) struct LineSplitter {
    pending: Vec<u8>,
    /// When `pending` last grew: a writer silent for the grace period mid-line gets its
    /// partial line flushed.
    grew_at: Option<Instant>,
}

impl LineSplitter {
    /// Feeds `data`, calling `emit` with each completed line (without its `\n`).
    pub(crate) fn feed(&mut self, mut data: &[u8], mut emit: impl FnMut(&[u8])) {
        if !self.pending.is_empty() {
            let Some(nl) = memchr::memchr(b'\n', data) else {
                self.pending.extend_from_slice(data);
                self.grew_at = Some(Instant::now());
                self.cap(&mut emit);
                return;
            };
            self.pending.extend_from_slice(&data[..nl]);
            emit(&self.pending);
            self.pending.clear();
            self.grew_at = None;
            data = &data[nl + 1..];
        }
        let mut start = 0;
        for nl in memchr::memchr_iter(b'\n', data) {
            emit(&data[start..nl]);
            start = nl + 1;
        }
        if start < data.len() {
            self.pending.extend_from_slice(&data[start..]);
            self.grew_at = Some(Instant::now());
            self.cap(&mut emit);
        }
    }

    fn cap(&mut self, emit: &mut impl FnMut(&[u8])) {
        while self.pending.len() >= MAX_LINE_BYTES {
            emit(&self.pending[..MAX_LINE_BYTES]);
            self.pending.drain(..MAX_LINE_BYTES);
        }
    }

    /// Emits the unfinished line, if any, as a line of its own.
    pub(crate) fn flush(&mut self, mut emit: impl FnMut(&[u8])) {
        if !self.pending.is_empty() {
            emit(&self.pending);
            self.pending.clear();
        }
        self.grew_at = None;
    }

    /// Drops the unfinished line, returning how many bytes it held.
    pub(crate) fn discard(&mut self) -> usize {
        let n = self.pending.len();
        self.pending.clear();
        self.grew_at = None;
        n
    }

    /// When the unfinished line becomes due for flushing, if there is one.
    pub(crate) fn due_at(&self, grace: Duration) -> Option<Instant> {
        self.grew_at.map(|t| t + grace)
    }

    /// Whether bytes of an unfinished line are held.
    #[cfg(test)]
    pub(crate) fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> (Vec<String>, bool) {
        let mut s = LineSplitter::default();
        let mut out = Vec::new();
        for c in chunks {
            s.feed(c, |l| out.push(String::from_utf8_lossy(l).into_owned()));
        }
        (out, s.has_pending())
    }

    #[test]
    fn joins_lines_across_chunks() {
        let (lines, pending) = split(&[b"a\nb", b"c", b"d\ne\n", b"f"]);
        assert_eq!(lines, ["a", "bcd", "e"]);
        assert!(pending);
        let (lines, pending) = split(&[b"\n\n"]);
        assert_eq!(lines, ["", ""]);
        assert!(!pending);
    }

    #[test]
    fn flush_emits_the_partial_line() {
        let mut s = LineSplitter::default();
        s.feed(b"half", |_| panic!("no line yet"));
        assert!(s.due_at(Duration::from_millis(500)).is_some());
        let mut out = Vec::new();
        s.flush(|l| out.push(l.to_vec()));
        assert_eq!(out, [b"half".to_vec()]);
        assert!(s.due_at(Duration::ZERO).is_none());
    }
}
