//! Following: throughput, completeness, partial lines, huge lines, bytes that are not UTF-8.

use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use orchestra_logs::{FollowOptions, Query, Start};

use crate::support::{Collector, append, appender};

/// Writes `per_writer` numbered lines into each of `writers` files with big buffered
/// writes (so lines are split across writes), while following them.
fn run_writers(writers: usize, per_writer: usize) -> (Duration, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<_> = (0..writers)
        .map(|w| dir.path().join(format!("w{w}.0.log")))
        .collect();
    let options = FollowOptions {
        // Generous: a writer thread descheduled mid-line on a busy machine must not get
        // its line cut in two.
        grace: Duration::from_secs(30),
        ..FollowOptions::default()
    };
    let mut c = Collector::start(dir.path(), Start::End, options);
    let started = Instant::now();
    let handles: Vec<_> = paths
        .iter()
        .cloned()
        .enumerate()
        .map(|(w, path)| {
            std::thread::spawn(move || {
                let mut out = BufWriter::with_capacity(64 << 10, appender(&path));
                for i in 0..per_writer {
                    writeln!(out, "writer {w} line {i}").unwrap();
                }
                out.flush().unwrap();
                started.elapsed()
            })
        })
        .collect();
    let mut next: HashMap<std::sync::Arc<str>, usize> = HashMap::new();
    let total = writers * per_writer;
    let mut seen = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    while seen < total {
        let batch = c
            .next_batch(deadline)
            .unwrap_or_else(|| panic!("timed out with {seen} of {total} lines"));
        for line in batch {
            let n: usize = line.line.rsplit(' ').next().unwrap().parse().unwrap();
            let expected = next.entry(std::sync::Arc::clone(&line.unit)).or_default();
            assert_eq!(n, *expected, "{}: `{}`", line.unit, line.line);
            *expected += 1;
            seen += 1;
        }
    }
    let elapsed = started.elapsed();
    let writing = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .max()
        .unwrap_or_default();
    assert_eq!(next.len(), writers);
    assert!(next.values().all(|n| *n == per_writer));
    // Nothing more, nothing repeated.
    assert!(
        c.next_batch(Instant::now() + Duration::from_millis(200))
            .is_none()
    );
    (elapsed, writing)
}

#[test]
fn numbered_lines_from_four_writers_arrive_complete_and_in_order() {
    // 200,000 lines in debug builds, the full million in release builds.
    let total = if cfg!(debug_assertions) {
        200_000
    } else {
        1_000_000
    };
    let (elapsed, writing) = run_writers(4, total / 4);
    eprintln!(
        "{total} lines from 4 concurrent writers followed in {elapsed:?}: {:.2} M lines/s \
         (the writers alone took {writing:?})",
        total as f64 / elapsed.as_secs_f64() / 1e6
    );
}

/// Reading speed alone: a file written beforehand, followed from its beginning.
#[test]
#[ignore = "throughput figure; run with --release -- --ignored"]
fn read_throughput_of_one_prewritten_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.0.log");
    let total = 5_000_000;
    {
        let mut out = BufWriter::with_capacity(1 << 20, appender(&path));
        for i in 0..total {
            writeln!(out, "2026-11-26T10:00:00Z INFO request served id={i}").unwrap();
        }
    }
    let started = Instant::now();
    let mut c = Collector::start(dir.path(), Start::Beginning, FollowOptions::default());
    let mut seen = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    while seen < total {
        seen += c.next_batch(deadline).expect("lines").len();
    }
    let elapsed = started.elapsed();
    eprintln!(
        "{total} lines read in {elapsed:?}: {:.2} M lines/s",
        total as f64 / elapsed.as_secs_f64() / 1e6
    );
}

#[test]
fn files_appearing_vanishing_and_reappearing_are_followed() {
    let dir = tempfile::tempdir().unwrap();
    let users0 = dir.path().join("users.0.log");
    append(&users0, "before start\n");
    let mut c = Collector::start(dir.path(), Start::End, FollowOptions::default());
    append(&users0, "one\n");
    c.until_count(1, Duration::from_secs(10));
    // A new replica (scale up) and a vendor appear.
    let users1 = dir.path().join("users.1.log");
    append(&users1, "replica one\n");
    append(&dir.path().join("vendor.pg.log"), "pg ready\n");
    c.until_count(3, Duration::from_secs(10));
    // A file written then removed: what it held is still read.
    append(&users1, "last words\n");
    std::fs::remove_file(&users1).unwrap();
    c.until_count(4, Duration::from_secs(10));
    // It comes back (restart): read from its first byte.
    append(&users1, "reborn\n");
    c.until_count(5, Duration::from_secs(10));
    let mut got: Vec<(String, String)> = c
        .lines
        .iter()
        .map(|l| (l.label(), l.line.clone()))
        .collect();
    got.sort();
    let expected = [
        ("pg", "pg ready"),
        ("users.0", "one"),
        ("users.1", "last words"),
        ("users.1", "reborn"),
        ("users.1", "replica one"),
    ];
    assert_eq!(got, expected.map(|(a, b)| (a.to_owned(), b.to_owned())));
}

#[test]
fn a_partial_line_waits_for_its_newline() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.0.log");
    append(&path, "");
    let options = FollowOptions {
        grace: Duration::from_secs(30),
        ..FollowOptions::default()
    };
    let mut c = Collector::start(dir.path(), Start::End, options);
    let mut w = appender(&path);
    w.write_all(b"first ha").unwrap();
    // A line from another source, received after the half line was written: the half
    // line was there to be read, and was held back.
    append(&dir.path().join("other.0.log"), "marker\n");
    c.until_count(1, Duration::from_secs(10));
    assert_eq!(c.texts(), ["marker"]);
    w.write_all(b"lf\nsecond").unwrap();
    c.until_count(2, Duration::from_secs(10));
    w.write_all(b" line\n").unwrap();
    c.until_count(3, Duration::from_secs(10));
    assert_eq!(c.texts(), ["marker", "first half", "second line"]);
}

#[test]
fn a_partial_line_is_flushed_after_the_grace() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.0.log");
    append(&path, "");
    let grace = Duration::from_millis(300);
    let options = FollowOptions {
        grace,
        ..FollowOptions::default()
    };
    let mut c = Collector::start(dir.path(), Start::End, options);
    let written = Instant::now();
    append(&path, "no newline yet");
    c.until_count(1, Duration::from_secs(10));
    assert!(written.elapsed() >= grace, "flushed before the grace");
    append(&path, ", the rest\n");
    c.until_count(2, Duration::from_secs(10));
    assert_eq!(c.texts(), ["no newline yet", ", the rest"]);
}

#[test]
fn huge_lines_and_invalid_utf8_come_through_intact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.0.log");
    append(&path, "");
    let mut c = Collector::start(dir.path(), Start::End, FollowOptions::default());
    let big: String = (0..(1 << 20) + 12345)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (path, big, stop) = (path.clone(), big.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut w = appender(&path);
            // Written in pieces, so the reader sees it grow.
            for piece in big.as_bytes().chunks(100_000) {
                w.write_all(piece).unwrap();
            }
            w.write_all(b"\n").unwrap();
            w.write_all(b"ok \xff\xfe end\r\n").unwrap();
            w.write_all(big.as_bytes()).unwrap();
            w.write_all(b"\n").unwrap();
            stop.store(true, Ordering::SeqCst);
        })
    };
    c.until_count(3, Duration::from_secs(20));
    writer.join().unwrap();
    assert!(stop.load(Ordering::SeqCst));
    assert_eq!(c.lines[0].line.len(), big.len());
    assert!(c.lines[0].line == big);
    assert_eq!(c.lines[1].line, "ok \u{FFFD}\u{FFFD} end");
    assert!(c.lines[2].line == big);
}

#[test]
fn grep_applies_while_following() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.0.log");
    append(&path, "");
    let options = FollowOptions {
        query: Query::new().grep("ERROR|panic").unwrap(),
        ..FollowOptions::default()
    };
    let mut c = Collector::start(dir.path(), Start::End, options);
    append(&path, "INFO fine\nERROR broken\nINFO fine\npanic: oh no\n");
    c.until_count(2, Duration::from_secs(10));
    assert_eq!(c.texts(), ["ERROR broken", "panic: oh no"]);
}
