//! The time index the daemon keeps beside each log, learnt from inotify.

use std::path::Path;

use orchestra_tests::{Fleet, PATIENCE, wait_until};

/// The index's entries: (log length, Unix time in milliseconds).
pub(super) fn index_entries(idx: &Path) -> Vec<(u64, i64)> {
    let bytes = std::fs::read(idx).unwrap_or_default();
    bytes
        .chunks_exact(16)
        .map(|r| {
            let len = u64::from_le_bytes(r[..8].try_into().expect("8 bytes"));
            let ms = i64::from_le_bytes(r[8..].try_into().expect("8 bytes"));
            (len, ms)
        })
        .collect()
}

pub(super) fn log_len(log: &Path) -> u64 {
    std::fs::metadata(log).map_or(0, |m| m.len())
}

/// A line written after the log was quiet is indexed too: the log's watch is armed again
/// after each look, and a quiet fleet needs no timer for it.
#[test]
fn a_line_written_after_a_quiet_spell_is_indexed() {
    let fleet = Fleet::new().orchestra_yml("").service(
        "talker",
        "run: sh -c 'echo first; while [ ! -e go ]; do sleep 0.05; done; echo second; exec sleep 1000'\n",
    );
    fleet.cmd(["start"]).assert_success();
    let log = fleet.path(".orchestra/logs/talker.0.log");
    let idx = fleet.path(".orchestra/logs/talker.0.log.idx");
    wait_until(PATIENCE, "the first line to be indexed", || {
        let len = log_len(&log);
        len > 0 && index_entries(&idx).last().is_some_and(|&(l, _)| l == len)
    });
    let before = index_entries(&idx);

    let trigger_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64;
    std::fs::write(fleet.path("talker/go"), "").expect("the trigger file");
    wait_until(PATIENCE, "the second line to be indexed", || {
        let len = log_len(&log);
        std::fs::read_to_string(&log).is_ok_and(|t| t.contains("second"))
            && index_entries(&idx).last().is_some_and(|&(l, _)| l == len)
    });
    let after = index_entries(&idx);
    assert_eq!(after.len(), before.len() + 1, "one new entry: {after:?}");
    let (first, second) = (before[before.len() - 1], after[after.len() - 1]);
    assert!(second.0 > first.0, "{after:?}");
    assert!(
        second.1 >= trigger_ms,
        "the second line was written after the trigger, and is not stamped before it: {after:?}, trigger at {trigger_ms}"
    );

    let out = fleet.cmd(["logs", "--timestamps"]).assert_success();
    assert!(
        out.stdout.contains("first") && out.stdout.contains("second"),
        "{out}"
    );
    fleet.cmd(["stop"]).assert_success();
}
