//! What to show: `--grep RE` and `--since DUR|TIME`.

use std::time::SystemTime;

use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use regex::Regex;

use crate::error::{LogsError, Result};

/// A filter on lines: a regular expression they must match, and a time they must not be
/// older than.
#[derive(Debug, Clone, Default)]
pub struct Query {
    grep: Option<Regex>,
    since: Option<SystemTime>,
}

impl Query {
    /// Every line.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only lines matching `pattern` (Rust `regex` syntax, unanchored).
    pub fn grep(mut self, pattern: &str) -> Result<Self> {
        self.grep = Some(Regex::new(pattern).map_err(|e| LogsError::Grep {
            pattern: pattern.to_owned(),
            source: Box::new(e),
        })?);
        Ok(self)
    }

    /// Only lines written at or after `since` (see [`crate::read_history`] for lines whose
    /// time is unknown).
    #[must_use]
    pub fn since(mut self, since: SystemTime) -> Self {
        self.since = Some(since);
        self
    }

    /// The `--since` cut-off, if any.
    pub fn since_time(&self) -> Option<SystemTime> {
        self.since
    }

    /// Whether a line's text passes the `--grep` filter.
    pub fn matches(&self, text: &str) -> bool {
        self.grep.as_ref().is_none_or(|re| re.is_match(text))
    }
}

/// Parses a `--since` value relative to `now`:
///
/// - a duration back from now: `10m`, `1h30m`, `90s`;
/// - an RFC 3339 time: `2026-11-26T10:00:00Z`, `2026-11-26T10:00:00.5+01:00`;
/// - a local date and time: `2026-11-26T10:00:00`, `2026-11-26 10:00`, `2026-11-26`;
/// - a local time today: `10:00`, `10:00:30`.
pub fn parse_since(value: &str, now: SystemTime) -> Result<SystemTime> {
    let s = value.trim();
    let bad = || LogsError::Since(value.to_owned());
    if s.starts_with(|c: char| c.is_ascii_digit())
        && let Ok(d) = orchestra_core::parse_duration(s)
    {
        return now.checked_sub(d).ok_or_else(bad);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.into());
    }
    let local = |naive: NaiveDateTime| {
        Local
            .from_local_datetime(&naive)
            .earliest()
            .map(SystemTime::from)
            .ok_or_else(bad)
    };
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(s, fmt) {
            return local(naive);
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return local(date.and_time(NaiveTime::MIN));
    }
    for fmt in ["%H:%M:%S%.f", "%H:%M"] {
        if let Ok(time) = NaiveTime::parse_from_str(s, fmt) {
            let today = DateTime::<Local>::from(now).date_naive();
            return local(today.and_time(time));
        }
    }
    Err(bad())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn since_accepts_durations_and_times() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        assert_eq!(
            parse_since("10m", now).unwrap(),
            now - Duration::from_secs(600)
        );
        assert_eq!(
            parse_since("1h30m", now).unwrap(),
            now - Duration::from_secs(5400)
        );
        assert_eq!(
            parse_since("2026-11-26T10:00:00Z", now).unwrap(),
            UNIX_EPOCH + Duration::from_secs(1_795_687_200)
        );
        assert_eq!(
            parse_since("2026-11-26T11:00:00.500+01:00", now).unwrap(),
            UNIX_EPOCH + Duration::from_millis(1_795_687_200_500)
        );
        let local = parse_since("2026-11-26T10:00:00", now).unwrap();
        let expected = Local.with_ymd_and_hms(2026, 11, 26, 10, 0, 0).unwrap();
        assert_eq!(local, SystemTime::from(expected));
        assert_eq!(parse_since("2026-11-26 10:00", now).unwrap(), local);
        let today = parse_since("10:00", now).unwrap();
        let expected = DateTime::<Local>::from(now)
            .date_naive()
            .and_hms_opt(10, 0, 0)
            .unwrap();
        assert_eq!(
            today,
            SystemTime::from(Local.from_local_datetime(&expected).unwrap())
        );
    }

    #[test]
    fn since_rejects_nonsense() {
        let err = parse_since("yesterday-ish", SystemTime::now()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid --since value `yesterday-ish`")
        );
        assert!(parse_since("25:00", SystemTime::now()).is_err());
    }

    #[test]
    fn grep_filters_and_reports_bad_patterns() {
        let q = Query::new().grep("err(or)?").unwrap();
        assert!(q.matches("an error here"));
        assert!(!q.matches("all fine"));
        assert!(Query::new().matches("anything"));
        let err = Query::new().grep("(").unwrap_err();
        assert_eq!(err.to_string(), "invalid --grep pattern `(`");
    }
}
