//! History: last lines across rotated files, `--since`, `--grep`, time-ordered merging.

use std::time::{Duration, UNIX_EPOCH};

use orchestra_logs::{
    FollowOptions, IndexWriter, LogSource, Query, Start, read_history, rotate_on_start,
    rotated_path,
};

use crate::support::{Collector, append};

fn texts(lines: &[orchestra_logs::LogLine]) -> Vec<String> {
    lines.iter().map(|l| l.line.clone()).collect()
}

#[test]
fn last_lines_reach_back_through_rotated_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.0.log");
    for run in 0..3 {
        for i in 0..10 {
            append(&path, format!("run {run} line {i}\n"));
        }
        if run < 2 {
            rotate_on_start(&path, 5).unwrap();
        }
    }
    append(&path, "unfinished");
    let src = [LogSource::from_path(&path).unwrap()];
    let h = read_history(&src, 3, &Query::new()).unwrap();
    assert_eq!(
        texts(&h.lines),
        ["run 2 line 7", "run 2 line 8", "run 2 line 9"]
    );
    let h = read_history(&src, 12, &Query::new()).unwrap();
    assert_eq!(h.lines.len(), 12);
    assert_eq!(h.lines[0].line, "run 1 line 8");
    let all = read_history(&src, 0, &Query::new()).unwrap();
    assert_eq!(all.lines.len(), 30);
    assert_eq!(all.lines[0].line, "run 0 line 0");

    // Following from where history ended gets the unfinished line once it is finished;
    // a file that appeared after the history was read (a replica started in between) is
    // followed from its first line, so nothing written in that gap is lost.
    let other = dir.path().join("other.0.log");
    append(&other, "written in the gap\n");
    let mut c = Collector::start(
        dir.path(),
        Start::Resume(all.resume),
        FollowOptions::default(),
    );
    append(&path, " now\nnext\n");
    c.until_count(3, Duration::from_secs(10));
    append(&other, "fresh\n");
    c.until_count(4, Duration::from_secs(10));
    let texts = c.texts();
    let from = |wanted: &[&str]| -> Vec<String> {
        texts
            .iter()
            .filter(|t| wanted.contains(&t.as_str()))
            .cloned()
            .collect()
    };
    assert_eq!(
        from(&["unfinished now", "next"]),
        ["unfinished now", "next"]
    );
    assert_eq!(
        from(&["written in the gap", "fresh"]),
        ["written in the gap", "fresh"]
    );
    assert_eq!(texts.len(), 4);
}

#[test]
fn lines_split_across_a_rotated_file_are_joined_and_huge_lines_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.0.log");
    let big = "é".repeat(600_000);
    std::fs::write(rotated_path(&path, 2), "a\nb\n").unwrap();
    std::fs::write(rotated_path(&path, 1), format!("c\n{big}")).unwrap();
    let mut main = format!("{big}\n").into_bytes();
    main.extend_from_slice(b"d \xff\xfe\ne\r\n");
    std::fs::write(&path, main).unwrap();
    let src = [LogSource::from_path(&path).unwrap()];
    let h = read_history(&src, 0, &Query::new()).unwrap();
    let got = texts(&h.lines);
    assert_eq!(got.len(), 6);
    assert_eq!(got[..3], ["a", "b", "c"]);
    assert_eq!(got[3].len(), big.len() * 2);
    assert!(got[3] == format!("{big}{big}"));
    assert_eq!(got[4..], ["d \u{FFFD}\u{FFFD}", "e"]);
    // The last two lines only: the huge line is not read.
    let h = read_history(&src, 2, &Query::new()).unwrap();
    assert_eq!(texts(&h.lines), ["d \u{FFFD}\u{FFFD}", "e"]);
}

#[test]
fn since_uses_the_index_and_grep_filters() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.0.log");
    let orders = dir.path().join("orders.0.log");
    let mut index = IndexWriter::new();
    let t = |s| UNIX_EPOCH + Duration::from_secs(1_700_000_000 + s);
    // Two services writing alternately, one second apart.
    for s in 0..10u64 {
        let (path, name) = if s % 2 == 0 {
            (&users, "users")
        } else {
            (&orders, "orders")
        };
        append(path, format!("{name} event {s}\n"));
        index.record_at(path, t(s)).unwrap();
    }
    let sources = [
        LogSource::from_path(&users).unwrap(),
        LogSource::from_path(&orders).unwrap(),
    ];
    // Every line has a time: merged in time order.
    let h = read_history(&sources, 0, &Query::new()).unwrap();
    let got: Vec<String> = texts(&h.lines);
    let expected: Vec<String> = (0..10)
        .map(|s| format!("{} event {s}", if s % 2 == 0 { "users" } else { "orders" }))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(h.lines[3].ts, Some(t(3)));

    let since = Query::new().since(t(6));
    let h = read_history(&sources, 0, &since).unwrap();
    assert_eq!(
        texts(&h.lines),
        [
            "users event 6",
            "orders event 7",
            "users event 8",
            "orders event 9"
        ]
    );
    let grep = Query::new().since(t(3)).grep("users").unwrap();
    let h = read_history(&sources, 2, &grep).unwrap();
    assert_eq!(texts(&h.lines), ["users event 6", "users event 8"]);
}

#[test]
fn without_an_index_sources_come_one_after_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.0.log");
    let b = dir.path().join("b.0.log");
    append(&a, "a1\na2\n");
    append(&b, "b1\nb2\n");
    // An unindexed file's lines are placed at its modification time, which the two writes
    // above may or may not share (the clock ticks in milliseconds): b's is set first.
    let set_mtime = |path: &std::path::Path, at: std::time::SystemTime| {
        let file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
        file.set_modified(at).unwrap();
    };
    let now = std::time::SystemTime::now();
    set_mtime(&b, now - std::time::Duration::from_secs(2));
    set_mtime(&a, now - std::time::Duration::from_secs(1));
    let sources = [
        LogSource::from_path(&b).unwrap(),
        LogSource::from_path(&a).unwrap(),
    ];
    let h = read_history(&sources, 0, &Query::new()).unwrap();
    assert_eq!(texts(&h.lines), ["b1", "b2", "a1", "a2"]);
    // Only the last line of a file has a time: the file's modification time.
    assert!(h.lines[0].ts.is_none());
    assert_eq!(
        h.lines[1].ts,
        std::fs::metadata(&b).unwrap().modified().ok()
    );
}

#[test]
fn last_lines_of_a_huge_file_read_only_its_end() {
    // A 64 GiB sparse file: reading it whole would take minutes; reading its end, no time.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.0.log");
    let file = crate::support::appender(&path);
    file.set_len(64 << 30).unwrap();
    append(&path, "\nfirst\nsecond\nthird\n");
    let src = [LogSource::from_path(&path).unwrap()];
    let h = read_history(&src, 2, &Query::new()).unwrap();
    assert_eq!(texts(&h.lines), ["second", "third"]);
    // Following from the end does not read it either.
    let mut c = Collector::start(dir.path(), Start::End, FollowOptions::default());
    append(&path, "fourth\n");
    c.until_count(1, Duration::from_secs(10));
    assert_eq!(c.texts(), ["fourth"]);
}
