//! Streaming all of the history: rotated files oldest first, merging by time, `--since`
//! and `--grep`, awkward bytes, rotations while it is read, and joining a follower.

use std::fmt::Write;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use orchestra_logs::{
    FollowOptions, HistoryStream, IndexWriter, LogLine, LogSource, Query, RotateStrategy, Start,
    read_history, rotate_if_larger_with, rotate_on_start, rotated_path, stream_history,
};

use crate::support::{Collector, append};

/// Reads the stream to its end: the lines, and the stream (for its resume point).
fn drain(mut stream: HistoryStream) -> (Vec<LogLine>, HistoryStream) {
    let mut lines = Vec::new();
    while let Some(line) = stream.next_line().unwrap() {
        lines.push(line.clone());
    }
    (lines, stream)
}

fn all(sources: &[LogSource], query: &Query) -> Vec<LogLine> {
    drain(stream_history(sources, query).unwrap()).0
}

fn texts(lines: &[LogLine]) -> Vec<String> {
    lines.iter().map(|l| l.line.clone()).collect()
}

/// Lines `{word} {i}\n` for `i` in `range`, zero-padded to 8 digits when `padded`.
fn numbered(word: &str, range: std::ops::Range<usize>, padded: bool) -> String {
    range.fold(String::new(), |mut out, i| {
        if padded {
            writeln!(out, "{word} {i:08}").unwrap();
        } else {
            writeln!(out, "{word} {i}").unwrap();
        }
        out
    })
}

fn source(path: &Path) -> LogSource {
    LogSource::from_path(path).unwrap()
}

fn at(s: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000 + s)
}

#[test]
fn every_line_of_every_source_in_order_then_the_follower_joins() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.0.log");
    let orders = dir.path().join("orders.0.log");
    for run in 0..3 {
        append(&users, numbered("users", run * 10..run * 10 + 10, false));
        if run < 2 {
            rotate_on_start(&users, 5).unwrap();
        }
    }
    append(&orders, "orders 0\norders 1\n");
    append(&users, "unfinished");
    let sources = [source(&users), source(&orders)];
    let (lines, stream) = drain(stream_history(&sources, &Query::new()).unwrap());
    let of = |unit: &str| -> Vec<String> {
        lines
            .iter()
            .filter(|l| &*l.unit == unit)
            .map(|l| l.line.clone())
            .collect()
    };
    let expected: Vec<String> = (0..30).map(|i| format!("users {i}")).collect();
    assert_eq!(of("users"), expected);
    assert_eq!(of("orders"), ["orders 0", "orders 1"]);
    assert_eq!(lines.len(), 32, "the unfinished line is not history yet");
    // The follower starts at the unfinished line and prints it once it is finished.
    let mut c = Collector::start(
        dir.path(),
        Start::Resume(stream.into_resume()),
        FollowOptions::default(),
    );
    append(&users, " now\nnext\n");
    c.until_count(2, Duration::from_secs(10));
    assert_eq!(c.texts(), ["unfinished now", "next"]);
}

#[test]
fn indexed_sources_merge_in_time_order_with_since_and_grep() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.0.log");
    let orders = dir.path().join("orders.0.log");
    let mut index = IndexWriter::new();
    // Two services writing alternately, one second apart; users rotates half way.
    for s in 0..12u64 {
        let (path, name) = if s % 2 == 0 {
            (&users, "users")
        } else {
            (&orders, "orders")
        };
        append(path, format!("{name} event {s}\n"));
        index.record_at(path, at(s)).unwrap();
        if s == 6 {
            rotate_on_start(&users, 5).unwrap();
        }
    }
    let sources = [source(&users), source(&orders)];
    let lines = all(&sources, &Query::new());
    let expected: Vec<String> = (0..12)
        .map(|s| format!("{} event {s}", if s % 2 == 0 { "users" } else { "orders" }))
        .collect();
    assert_eq!(texts(&lines), expected);
    assert_eq!(lines[3].ts, Some(at(3)));
    // The same lines as the backward reader.
    assert_eq!(
        lines,
        read_history(&sources, 0, &Query::new()).unwrap().lines
    );

    let since = Query::new().since(at(5));
    assert_eq!(texts(&all(&sources, &since)), expected[5..]);
    let grep = Query::new().since(at(3)).grep("users").unwrap();
    assert_eq!(
        texts(&all(&sources, &grep)),
        [
            "users event 4",
            "users event 6",
            "users event 8",
            "users event 10"
        ]
    );
}

fn set_mtime(path: &Path, t: SystemTime) {
    std::fs::File::options()
        .append(true)
        .open(path)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

#[test]
fn lines_without_a_time_sort_at_their_files_last_write_and_keep_their_place() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.0.log");
    let b = dir.path().join("b.0.log");
    let mut index = IndexWriter::new();
    append(&a, "a0\n");
    index.record_at(&a, at(1)).unwrap();
    // Written after the last index entry: no time of their own.
    append(&a, "a1\na2\n");
    append(&b, "b0\n");
    index.record_at(&b, at(2)).unwrap();
    append(&b, "b1\n");
    set_mtime(&a, at(3));
    set_mtime(&b, at(4));
    let lines = all(&[source(&a), source(&b)], &Query::new());
    // a1 and a2 were surely written by a's last write (3 s), b1 by b's (4 s).
    assert_eq!(texts(&lines), ["a0", "b0", "a1", "a2", "b1"]);
    assert_eq!(lines[2].ts, None, "the sort time is only for ordering");
    assert_eq!(lines[3].ts, Some(at(3)), "a file's last line has its mtime");

    // Without any index, a file sorts as one block at its last write.
    let c = dir.path().join("c.0.log");
    let d = dir.path().join("d.0.log");
    append(&c, "c0\nc1\nc2\n");
    append(&d, "d0\nd1\nd2\n");
    let grep = Query::new().grep("[cd][01]").unwrap();
    set_mtime(&c, at(6));
    set_mtime(&d, at(5));
    let lines = all(&[source(&c), source(&d)], &grep);
    assert_eq!(texts(&lines), ["d0", "d1", "c0", "c1"]);
    set_mtime(&d, at(7));
    let lines = all(&[source(&c), source(&d)], &grep);
    assert_eq!(texts(&lines), ["c0", "c1", "d0", "d1"]);
}

#[test]
fn huge_lines_bad_bytes_and_lines_split_by_a_rotation_come_out_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.0.log");
    let big = "é".repeat(512 << 10); // 1 MiB, longer than a read
    std::fs::write(rotated_path(&path, 2), "a\nb\n").unwrap();
    std::fs::write(rotated_path(&path, 1), format!("c\n{big}")).unwrap();
    let mut main = format!("{big}\n").into_bytes();
    main.extend_from_slice(b"d \xff\xfe\ne\r\nnot yet");
    std::fs::write(&path, main).unwrap();
    let src = [source(&path)];
    let got = texts(&all(&src, &Query::new()));
    assert_eq!(got.len(), 6);
    assert_eq!(got[..3], ["a", "b", "c"]);
    assert!(
        got[3] == format!("{big}{big}"),
        "the split huge line is joined"
    );
    assert_eq!(got[4..], ["d \u{FFFD}\u{FFFD}", "e"]);
}

/// Reads the first `n` lines, lets `rotate` run, then reads the rest: every line of the
/// history comes once, in order, and the follower picks up what was written since.
fn rotation_while_reading(rotate: impl FnOnce(&Path)) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.0.log");
    let total = 40_000; // ~1.3 MB: several reads
    append(&path, numbered("line", 0..total, true));
    append(&path, "unfinished");
    let src = [source(&path)];
    let mut stream = stream_history(&src, &Query::new()).unwrap();
    let mut got = Vec::new();
    for _ in 0..10 {
        got.push(stream.next_line().unwrap().unwrap().line.clone());
    }
    rotate(&path);
    append(&path, " now\nafter\n");
    while let Some(line) = stream.next_line().unwrap() {
        got.push(line.line.clone());
    }
    let expected: Vec<String> = (0..total).map(|i| format!("line {i:08}")).collect();
    assert_eq!(got.len(), expected.len());
    assert!(got == expected, "lines lost, repeated or reordered");
    let mut c = Collector::start(
        dir.path(),
        Start::Resume(stream.into_resume()),
        FollowOptions::default(),
    );
    // (Copy + truncate ends the unfinished line where it cut it; collapse keeps it whole.)
    c.until(Duration::from_secs(10), |l| {
        l.iter().any(|l| l.line == "after")
    });
    let followed = c.texts();
    assert!(followed[0].starts_with("unfinished"), "{followed:?}");
    assert_eq!(followed.last().map(String::as_str), Some("after"));
}

#[test]
fn a_head_moved_out_while_reading_is_found_in_the_rotated_file() {
    rotation_while_reading(|p| {
        rotate_if_larger_with(p, 0, 5, RotateStrategy::Auto)
            .unwrap()
            .unwrap();
    });
}

#[test]
fn a_copy_and_truncate_while_reading_loses_nothing() {
    rotation_while_reading(|p| {
        rotate_if_larger_with(p, 0, 5, RotateStrategy::CopyTruncate)
            .unwrap()
            .unwrap();
    });
}

#[test]
fn a_restart_while_reading_leaves_the_old_file_to_finish() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.0.log");
    append(&path, numbered("line", 0..40_000, true));
    let src = [source(&path)];
    let mut stream = stream_history(&src, &Query::new()).unwrap();
    assert_eq!(stream.next_line().unwrap().unwrap().line, "line 00000000");
    rotate_on_start(&path, 5).unwrap();
    append(&path, "new run\n");
    let mut n = 1;
    let mut last = String::new();
    while let Some(line) = stream.next_line().unwrap() {
        n += 1;
        last.clone_from(&line.line);
    }
    assert_eq!((n, last.as_str()), (40_000, "line 00039999"));
}
