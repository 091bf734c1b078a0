//! Turning lines into text: aligned, coloured `name.n |` prefixes, an optional time
//! column, or one JSON object per line.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::sync::Arc;
use std::time::SystemTime;

use chrono::{DateTime, Local, SecondsFormat, Utc};

use crate::line::LogLine;
use crate::source::{LogKind, LogSource};

/// ANSI 256-colour indices of mid-brightness hues, readable on dark and light terminals
/// alike (no pure yellow, no near-white, no near-black).
pub const PALETTE: [u8; 12] = [31, 37, 64, 97, 130, 133, 166, 167, 172, 69, 71, 168];

/// The stable colour of a unit: an FNV-1a hash of its name into [`PALETTE`], so a service
/// keeps its colour across runs and machines.
pub fn color_of(unit: &str) -> u8 {
    let mut h: u32 = 0x811c_9dc5;
    for b in unit.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    PALETTE[h as usize % PALETTE.len()]
}

/// Formats lines for a terminal or a pipe.
#[derive(Debug, Clone)]
pub struct Formatter {
    color: bool,
    timestamps: bool,
    utc: bool,
    width: usize,
    /// Sources seen, per unit: a service with one replica is labelled `name`, with several
    /// `name.n`.
    seen: BTreeMap<String, BTreeSet<(LogKind, Option<u32>)>>,
    /// Each source's rendered prefix, for [`Formatter::write_line`]; emptied whenever a
    /// new source changes the labels or their width.
    prefixes: HashMap<PrefixKey, Arc<[u8]>>,
    /// The prefix used last: lines come in runs from one source, so this answers most
    /// lines with a pointer comparison.
    last: Option<(PrefixKey, Arc<[u8]>)>,
}

/// A source, as far as its prefix goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PrefixKey {
    unit: Arc<str>,
    kind: LogKind,
    replica: Option<u32>,
}

impl PrefixKey {
    fn of(line: &LogLine) -> Self {
        Self {
            unit: Arc::clone(&line.unit),
            kind: line.kind,
            replica: line.replica,
        }
    }

    /// Whether `line` is of this source; the unit is compared by pointer first, since
    /// the lines of a source share their unit's allocation.
    fn is_of(&self, line: &LogLine) -> bool {
        self.kind == line.kind
            && self.replica == line.replica
            && (Arc::ptr_eq(&self.unit, &line.unit) || self.unit == line.unit)
    }
}

impl Formatter {
    /// A formatter for lines of `sources` (used to align the prefixes and decide whether a
    /// service shows its replica number). The caller decides about colour (TTY and
    /// `NO_COLOR`); `timestamps` adds a local-time column.
    pub fn new(sources: &[LogSource], color: bool, timestamps: bool) -> Self {
        let mut f = Self {
            color,
            timestamps,
            utc: false,
            width: 0,
            seen: BTreeMap::new(),
            prefixes: HashMap::new(),
            last: None,
        };
        for s in sources {
            f.add_source(s);
        }
        f
    }

    /// Shows times in UTC instead of local time.
    #[must_use]
    pub fn utc(mut self, utc: bool) -> Self {
        self.utc = utc;
        self
    }

    /// Takes a source that appeared while following into account (a new replica may widen
    /// the prefix, or turn `users` into `users.0` and `users.1`).
    pub fn add_source(&mut self, source: &LogSource) {
        self.add(source.kind, &source.unit, source.replica);
    }

    /// Takes the source of `line` into account if it is new (see [`Formatter::add_source`]).
    pub fn observe(&mut self, line: &LogLine) {
        let seen = self
            .seen
            .get(&*line.unit)
            .is_some_and(|s| s.contains(&(line.kind, line.replica)));
        if !seen {
            self.add(line.kind, &line.unit, line.replica);
        }
    }

    fn add(&mut self, kind: LogKind, unit: &str, replica: Option<u32>) {
        self.prefixes.clear();
        self.last = None;
        self.seen
            .entry(unit.to_owned())
            .or_default()
            .insert((kind, replica));
        self.width = self
            .seen
            .iter()
            .flat_map(|(unit, s)| s.iter().map(move |(k, r)| (unit, *k, *r)))
            .map(|(unit, kind, replica)| self.label_of(kind, unit, replica).len())
            .max()
            .unwrap_or(0);
    }

    /// The prefix label of a line: `users.1`, or `users` when the service has one replica,
    /// `postgres` for a vendor, `users.build` for a build log.
    pub fn label(&self, line: &LogLine) -> String {
        self.label_of(line.kind, &line.unit, line.replica)
    }

    fn label_of(&self, kind: LogKind, unit: &str, replica: Option<u32>) -> String {
        match (kind, replica) {
            (LogKind::Service, Some(n)) => {
                let replicas = self.seen.get(unit).map_or(0, |s| {
                    s.iter()
                        .filter(|(k, r)| *k == LogKind::Service && r.is_some())
                        .count()
                });
                if replicas == 1 {
                    unit.to_owned()
                } else {
                    format!("{unit}.{n}")
                }
            }
            (LogKind::Build, _) => format!("{unit}.build"),
            _ => unit.to_owned(),
        }
    }

    /// The line as text, without a trailing newline.
    pub fn format(&self, line: &LogLine) -> String {
        let mut out = String::with_capacity(line.line.len() + self.width + 32);
        if self.timestamps {
            out.push_str(&self.time_column(line.ts));
        }
        out.push_str(&self.prefix(line.kind, &line.unit, line.replica));
        match self.note_style(&line.line) {
            Some(style) => {
                out.push_str("\x1b[");
                out.push_str(style);
                out.push('m');
                out.push_str(&line.line);
                out.push_str("\x1b[0m");
            }
            None => out.push_str(&line.line),
        }
        out
    }

    /// Writes the line and its newline to `out`, taking its source into account first
    /// (as [`Formatter::observe`] does). This is the fast path for streams: a source's
    /// prefix is rendered once, not once per line, and nothing is allocated per line.
    pub fn write_line(&mut self, line: &LogLine, out: &mut impl io::Write) -> io::Result<()> {
        let prefix = match &self.last {
            Some((key, prefix)) if key.is_of(line) => Arc::clone(prefix),
            _ => self.lookup(line),
        };
        if self.timestamps {
            out.write_all(self.time_column(line.ts).as_bytes())?;
        }
        out.write_all(&prefix)?;
        match self.note_style(&line.line) {
            Some(style) => write!(out, "\x1b[{style}m{}\x1b[0m", line.line)?,
            None => out.write_all(line.line.as_bytes())?,
        }
        out.write_all(b"\n")
    }

    /// The colour of a line Orchestra wrote into a log itself (`[orchestra] users, orders:
    /// pkg/auth/token.go changed → rebuilding`), so a rerun stands out among the services'
    /// output: bold cyan when a rebuild starts, green when the new build serves, red when
    /// the previous build stays, yellow for any other note. `None` without colours or for a
    /// service's own line.
    fn note_style(&self, line: &str) -> Option<&'static str> {
        if !self.color {
            return None;
        }
        let note = line.strip_prefix("[orchestra] ")?;
        Some(
            if note.ends_with("→ rebuilding") || note.ends_with("→ building again") {
                "1;36"
            } else if note.ends_with("serving the new build") {
                "32"
            } else if note.ends_with("still running the previous build") {
                "31"
            } else {
                "33"
            },
        )
    }

    /// The cached prefix of `line`'s source, rendered when missing; remembered as the last.
    fn lookup(&mut self, line: &LogLine) -> Arc<[u8]> {
        self.observe(line);
        let key = PrefixKey::of(line);
        let prefix = if let Some(prefix) = self.prefixes.get(&key) {
            Arc::clone(prefix)
        } else {
            let rendered: Arc<[u8]> =
                Arc::from(self.prefix(line.kind, &line.unit, line.replica).as_bytes());
            self.prefixes.insert(key.clone(), Arc::clone(&rendered));
            rendered
        };
        self.last = Some((key, Arc::clone(&prefix)));
        prefix
    }

    /// `users.1 | `, padded to the widest label and coloured when asked.
    fn prefix(&self, kind: LogKind, unit: &str, replica: Option<u32>) -> String {
        let label = self.label_of(kind, unit, replica);
        if self.color {
            let c = color_of(unit);
            format!("\x1b[38;5;{c}m{label:<w$} |\x1b[0m ", w = self.width)
        } else {
            format!("{label:<w$} | ", w = self.width)
        }
    }

    /// The time column (`2026-11-26 10:00:00.123 `), `-` for a line without a time.
    fn time_column(&self, ts: Option<SystemTime>) -> String {
        let ts = match ts {
            Some(ts) if self.utc => DateTime::<Utc>::from(ts)
                .format("%Y-%m-%d %H:%M:%S%.3f")
                .to_string(),
            Some(ts) => DateTime::<Local>::from(ts)
                .format("%Y-%m-%d %H:%M:%S%.3f")
                .to_string(),
            None => format!("{:23}", "-"),
        };
        if self.color {
            format!("\x1b[2m{ts}\x1b[0m ")
        } else {
            format!("{ts} ")
        }
    }
}

/// The line as one JSON object, `{"ts","service","replica","line"}`: `ts` in RFC 3339 UTC
/// with milliseconds or `null`, `service` the service or vendor name, `replica` the index
/// or `null`.
pub fn json_line(line: &LogLine) -> String {
    let mut out = Vec::with_capacity(line.line.len() + 96);
    // Writing into a Vec cannot fail.
    let _ = write_json(line, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// Writes [`json_line`] and a newline to `out`, without building the text first: the
/// streaming path of `logs --json`.
pub fn write_json_line(line: &LogLine, out: &mut impl io::Write) -> io::Result<()> {
    write_json(line, out)?;
    out.write_all(b"\n")
}

/// The JSON form of a line; the fields serialize in the documented order.
#[derive(serde::Serialize)]
struct JsonLine<'a> {
    ts: Option<String>,
    service: &'a str,
    replica: Option<u32>,
    line: &'a str,
}

fn write_json(line: &LogLine, out: &mut impl io::Write) -> io::Result<()> {
    let json = JsonLine {
        ts: line.ts.map(rfc3339),
        service: &line.unit,
        replica: line.replica,
        line: &line.line,
    };
    serde_json::to_writer(out, &json).map_err(io::Error::from)
}

/// `ts` in RFC 3339, UTC, with milliseconds.
pub fn rfc3339(ts: SystemTime) -> String {
    DateTime::<Utc>::from(ts).to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rerun_line(text: &str) -> LogLine {
        LogLine {
            unit: Arc::from("users"),
            kind: LogKind::Service,
            replica: Some(0),
            ts: None,
            line: text.to_owned(),
        }
    }

    fn written(f: &mut Formatter, line: &LogLine) -> String {
        let mut out = Vec::new();
        f.write_line(line, &mut out).expect("writing to a Vec");
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn orchestra_notes_are_coloured_on_a_terminal_only() {
        let note = rerun_line("[orchestra] users, orders: pkg/auth/token.go changed → rebuilding");
        let mut plain = Formatter::new(&[], false, false);
        assert_eq!(
            written(&mut plain, &note),
            "users | [orchestra] users, orders: pkg/auth/token.go changed → rebuilding\n"
        );
        let mut colour = Formatter::new(&[], true, false);
        let text = written(&mut colour, &note);
        assert!(
            text.ends_with(
                "\x1b[1;36m[orchestra] users, orders: pkg/auth/token.go changed → rebuilding\x1b[0m\n"
            ),
            "{text:?}"
        );
        assert_eq!(colour.format(&note), text.trim_end_matches('\n'));
        let failed = rerun_line(
            "[orchestra] users: build failed (exit 1); still running the previous build",
        );
        assert!(written(&mut colour, &failed).contains("\x1b[31m[orchestra]"));
        let own = rerun_line("listening on 8080");
        assert!(
            written(&mut colour, &own).ends_with("\x1b[0m listening on 8080\n"),
            "only the prefix is coloured"
        );
    }
}
