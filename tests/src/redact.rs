//! Making command output stable enough to compare or snapshot: the fleet's temporary path,
//! pids, timestamps, durations and the fleet's ports differ from run to run.

use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use crate::Fleet;

/// `text` with the fleet's root replaced by `[ROOT]`, pids by `[PID]`, timestamps by
/// `[TS]`, durations (`1.23s`, `45ms`, `1m30s`) by `[DUR]`, and every value registered
/// with [`Fleet::redact_as`] (ports from [`Fleet::ports`]) by its placeholder.
pub fn redact(text: &str, fleet: &Fleet) -> String {
    redact_with(text, fleet.root(), &fleet.redactions())
}

/// [`redact`] for a given root and list of `(value, placeholder)` pairs.
pub fn redact_with(text: &str, root: &Path, values: &[(String, String)]) -> String {
    // Timestamps: RFC 3339 (`2024-05-01T10:00:00.123Z`) and Go's log (`2024/05/01 10:00:00.123`).
    static TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"\d{4}[-/]\d{2}[-/]\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?")
            .expect("valid regex")
    });
    // "pid 123", "pid=123", "pgid: 123", JSON `"pid": 123`.
    static PID: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"(?i)\b(pids?|pgid)("?\s*[:=]?\s*)\d+"#).expect("valid regex")
    });
    static DURATION: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"\b(\d+(\.\d+)?(ms|µs|us|ns|h|m|s))+\b").expect("valid regex")
    });

    let mut text = text.to_owned();
    // The root may be printed as given or resolved through symlinks; longest first.
    let mut roots = vec![root.display().to_string()];
    if let Ok(canonical) = root.canonicalize() {
        roots.push(canonical.display().to_string());
    }
    roots.sort_by_key(|r| std::cmp::Reverse(r.len()));
    for r in roots.iter().filter(|r| r.len() > 1) {
        text = text.replace(r.as_str(), "[ROOT]");
    }
    text = TIMESTAMP.replace_all(&text, "[TS]").into_owned();
    text = PID.replace_all(&text, "${1}${2}[PID]").into_owned();
    text = DURATION.replace_all(&text, "[DUR]").into_owned();
    for (value, placeholder) in values {
        let whole = Regex::new(&format!(r"\b{}\b", regex::escape(value))).expect("escaped regex");
        text = whole
            .replace_all(&text, regex::NoExpand(placeholder))
            .into_owned();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redacted(text: &str) -> String {
        redact_with(
            text,
            Path::new("/tmp/fleet-x1"),
            &[("20001".into(), "[PORT+1]".into())],
        )
    }

    #[test]
    fn paths_pids_and_durations() {
        assert_eq!(
            redacted("/tmp/fleet-x1/users started (pid 4242) in 1.23s, ready after 45ms"),
            "[ROOT]/users started (pid [PID]) in [DUR], ready after [DUR]",
        );
        assert_eq!(
            redacted(r#"{"pid": 77,"uptime":"1m30s"}"#),
            r#"{"pid": [PID],"uptime":"[DUR]"}"#
        );
        assert_eq!(redacted("pgid=12 pids: 5"), "pgid=[PID] pids: [PID]");
    }

    #[test]
    fn timestamps() {
        assert_eq!(redacted("2026/11/26 02:27:55.813178 GET /"), "[TS] GET /");
        assert_eq!(redacted("at 2024-05-01T10:00:00.5+02:00."), "at [TS].");
    }

    #[test]
    fn registered_values_match_whole_words_only() {
        assert_eq!(
            redacted("listening on :20001, not 200010"),
            "listening on :[PORT+1], not 200010"
        );
    }

    #[test]
    fn words_that_merely_contain_units_are_kept() {
        let plain = "restarts 3 times; 5 minutes; version 1.2.3; users.0";
        assert_eq!(redacted(plain), plain);
    }
}
