//! Rotation while following: nothing lost, nothing repeated.

use std::io::Write;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use orchestra_logs::{
    FollowOptions, IndexWriter, Query, RotateMethod, RotateStrategy, Start, index_path,
    read_history, rotate_if_larger, rotate_if_larger_with, rotate_on_start, rotated_path,
};

use crate::support::{Collector, append, appender, assert_sequence};

fn source(path: &Path) -> orchestra_logs::LogSource {
    orchestra_logs::LogSource::from_path(path).unwrap()
}

#[test]
fn rotating_a_running_file_during_follow_loses_and_repeats_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.0.log");
    append(&path, "");
    let mut c = Collector::start(dir.path(), Start::End, FollowOptions::default());
    let total = 40_000;
    let writer = {
        let path = path.clone();
        std::thread::spawn(move || {
            let mut w = appender(&path);
            for i in 0..total {
                // One write per line, as a service's logger does.
                w.write_all(format!("users request line {i}\n").as_bytes())
                    .unwrap();
            }
        })
    };
    let mut methods = Vec::new();
    while !writer.is_finished() {
        if let Some(r) = rotate_if_larger(&path, 32 << 10, 200).unwrap() {
            methods.push(r.method);
        }
    }
    writer.join().unwrap();
    c.until_count(total, Duration::from_secs(60));
    assert_sequence(&c.texts(), total);
    assert!(!methods.is_empty(), "no rotation happened");
    eprintln!("{} rotations: {:?}", methods.len(), methods.first());

    // History reads the same lines back through every rotated file, split lines joined.
    let history = read_history(&[source(&path)], 0, &Query::new()).unwrap();
    let texts: Vec<String> = history.lines.into_iter().map(|l| l.line).collect();
    assert_sequence(&texts, total);
}

#[test]
fn copy_truncate_during_follow_loses_and_repeats_nothing_between_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.0.log");
    append(&path, "");
    let mut c = Collector::start(dir.path(), Start::End, FollowOptions::default());
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let bursts = 20;
    let per_burst = 1_000;
    let writer = {
        let path = path.clone();
        std::thread::spawn(move || {
            let mut w = appender(&path);
            for b in 0..bursts {
                for i in 0..per_burst {
                    let n = b * per_burst + i;
                    w.write_all(format!("line {n}\n").as_bytes()).unwrap();
                }
                done_tx.send(()).unwrap();
                // The documented window of copy + truncate: pause while rotating.
                go_rx.recv().unwrap();
            }
        })
    };
    let mut rotations = 0;
    for _ in 0..bursts {
        done_rx.recv().unwrap();
        if let Some(r) =
            rotate_if_larger_with(&path, 4 << 10, 100, RotateStrategy::CopyTruncate).unwrap()
        {
            assert_eq!(r.method, RotateMethod::CopyTruncate);
            rotations += 1;
        }
        go_tx.send(()).unwrap();
    }
    writer.join().unwrap();
    let total = bursts * per_burst;
    c.until_count(total, Duration::from_secs(60));
    assert_sequence(&c.texts(), total);
    assert_eq!(rotations, bursts);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
}

#[test]
fn restarts_during_follow_lose_and_repeat_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.0.log");
    append(&path, "");
    let mut c = Collector::start(dir.path(), Start::End, FollowOptions::default());
    let per_run = 5_000;
    let runs = 4;
    for run in 0..runs {
        let mut w = appender(&path);
        for i in 0..per_run {
            let n = run * per_run + i;
            if i + 1 == per_run {
                // The process dies mid-line: the rotation ends the line for it.
                w.write_all(format!("line {n}").as_bytes()).unwrap();
            } else {
                w.write_all(format!("line {n}\n").as_bytes()).unwrap();
            }
        }
        drop(w);
        assert!(rotate_on_start(&path, 5).unwrap());
    }
    let total = runs * per_run;
    c.until_count(total, Duration::from_secs(60));
    assert_sequence(&c.texts(), total);
    assert!(!path.exists(), "the next process creates the file");
    assert!(rotated_path(&path, 4).exists());
    assert!(!rotated_path(&path, 5).exists());
}

#[test]
fn rotate_on_start_shifts_history_and_moves_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.0.log");
    let mut index = IndexWriter::new();
    for run in 0..4 {
        append(&path, format!("run {run}\n"));
        assert!(index.record(&path).unwrap());
        assert!(rotate_on_start(&path, 2).unwrap());
    }
    assert!(!rotate_on_start(&path, 2).unwrap(), "nothing to rotate");
    let read = |n| std::fs::read_to_string(rotated_path(&path, n)).unwrap();
    assert_eq!(read(1), "run 3\n");
    assert_eq!(read(2), "run 2\n");
    assert!(!rotated_path(&path, 3).exists());
    assert!(index_path(&rotated_path(&path, 1)).exists());
    assert!(index_path(&rotated_path(&path, 2)).exists());
    assert!(!index_path(&path).exists());
}

#[test]
fn collapse_moves_index_entries_with_their_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.0.log");
    let line = format!("{}\n", "x".repeat(99));
    let mut index = IndexWriter::new();
    let t0 = std::time::UNIX_EPOCH + Duration::from_secs(1_000);
    for s in 0..100 {
        append(&path, line.repeat(10));
        index.record_at(&path, t0 + Duration::from_secs(s)).unwrap();
    }
    let Some(r) = rotate_if_larger(&path, 50_000, 3).unwrap() else {
        panic!("100,000 bytes is larger than 50,000")
    };
    let head = orchestra_logs::Index::load(&rotated_path(&path, 1)).unwrap();
    let tail = orchestra_logs::Index::load(&path).unwrap();
    assert_eq!(head.entries().len() + tail.entries().len(), 100);
    assert!(head.entries().iter().all(|e| e.len <= r.bytes));
    assert_eq!(
        std::fs::metadata(rotated_path(&path, 1)).unwrap().len(),
        r.bytes
    );
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 100_000 - r.bytes);
    assert_eq!(tail.entries().last().unwrap().len, 100_000 - r.bytes);
    // Lines keep their times across the cut.
    let history = read_history(&[source(&path)], 0, &Query::new()).unwrap();
    assert_eq!(history.lines.len(), 1_000);
    assert_eq!(history.lines[0].ts, Some(t0));
    assert_eq!(history.lines[999].ts, Some(t0 + Duration::from_secs(99)));
}
