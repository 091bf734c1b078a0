//! A follower that falls behind: batches stay small whatever the backlog (also behind a
//! rotation), and with [`SkipBehind`] a source written faster than it is read is skipped
//! ahead with a line saying so.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use orchestra_logs::{FollowOptions, LogLine, Query, SkipBehind, Start, rotate_if_larger};

use crate::support::{Collector, appender};

/// The most lines a batch may hold with the default options: a full batch (1 MiB at
/// about 100 bytes a line) plus the lines of one more 64 KiB chunk of two-byte lines.
const MAX_BATCH_LINES: usize = (1 << 20) / 96 + (64 << 10) / 2;

/// Writes numbered lines `from..to` (`"n\n"`, the shortest lines a flood writes).
fn write_numbers(path: &std::path::Path, from: usize, to: usize) {
    let mut w = BufWriter::with_capacity(1 << 20, appender(path));
    for n in from..to {
        writeln!(w, "{n}").unwrap();
    }
    w.flush().unwrap();
}

/// Receives until `total` lines came, checking every batch's size and that each source's
/// numbers come in order.
fn receive_numbers(c: &mut Collector, sources: usize, total: usize) {
    let mut next = std::collections::HashMap::new();
    let mut seen = 0;
    let deadline = Instant::now() + Duration::from_secs(240);
    let mut largest = 0;
    while seen < total {
        let batch = c
            .next_batch(deadline)
            .unwrap_or_else(|| panic!("timed out with {seen} of {total} lines"));
        largest = largest.max(batch.len());
        assert!(
            batch.len() <= MAX_BATCH_LINES,
            "a batch of {} lines (at most {MAX_BATCH_LINES} expected)",
            batch.len()
        );
        for line in batch {
            let n: usize = line.line.parse().unwrap();
            let expected = next.entry(line.unit.clone()).or_insert(0);
            assert_eq!(n, *expected, "{}", line.unit);
            *expected += 1;
            seen += 1;
        }
    }
    assert_eq!(next.len(), sources);
    eprintln!("{total} lines, largest batch {largest}");
}

#[test]
fn a_backlog_of_many_sources_comes_in_small_batches() {
    let dir = tempfile::tempdir().unwrap();
    let (sources, per_source) = (40, 200_000);
    for s in 0..sources {
        write_numbers(&dir.path().join(format!("w{s}.0.log")), 0, per_source);
    }
    let mut c = Collector::start(dir.path(), Start::Beginning, FollowOptions::default());
    receive_numbers(&mut c, sources, sources * per_source);
}

#[test]
fn a_rotation_far_behind_the_reader_comes_in_small_batches() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.0.log");
    write_numbers(&path, 0, 10);
    let mut c = Collector::start(dir.path(), Start::Beginning, FollowOptions::default());
    // The reader stops once the channel is full, since nothing is received: megabytes
    // written and rotated meanwhile are all behind it.
    let total = 1_000_000;
    write_numbers(&path, 10, total - 10);
    assert!(rotate_if_larger(&path, 1 << 20, 5).unwrap().is_some());
    write_numbers(&path, total - 10, total);
    receive_numbers(&mut c, 1, total);
}

/// How much the writers write while the slow reader looks at one batch.
const WRITTEN_PER_BATCH: u64 = 256 << 10;

/// The slow reader: a terminal that takes its next screenful only once the writers of
/// `paths` wrote [`WRITTEN_PER_BATCH`] more, however fast or loaded the machine is.
fn wait_for_writers(paths: &[&std::path::Path]) {
    let written = || -> u64 {
        paths
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum()
    };
    let target = written() + WRITTEN_PER_BATCH;
    let deadline = Instant::now() + Duration::from_secs(60);
    while written() < target {
        assert!(Instant::now() < deadline, "the writers stopped writing");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// A shell looping `echo line` into `path`: a writer as fast as a process can be.
fn busy_writer(path: &std::path::Path) -> Child {
    busy_writer_of(path, "line")
}

/// A shell looping `echo <text>` into `path`.
fn busy_writer_of(path: &std::path::Path, text: &str) -> Child {
    Command::new("sh")
        .arg("-c")
        .arg(format!("while :; do echo {text}; done"))
        .stdout(appender(path))
        .stdin(Stdio::null())
        .spawn()
        .unwrap()
}

struct Writers(Vec<Child>);

impl Drop for Writers {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn a_source_written_faster_than_it_is_read_is_skipped_ahead() {
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<_> = (0..4)
        .map(|w| dir.path().join(format!("busy{w}.0.log")))
        .collect();
    let _writers = Writers(paths.iter().map(|p| busy_writer(p)).collect());
    let skip = SkipBehind {
        lag: Duration::from_millis(200),
        budget: 256 << 10,
    };
    let options = FollowOptions {
        skip: Some(skip),
        ..FollowOptions::default()
    };
    let mut c = Collector::start(dir.path(), Start::End, options);
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut skipped: Option<LogLine> = None;
    let mut after_skip = 0;
    while after_skip < 1000 {
        let batch = c
            .next_batch(deadline)
            .unwrap_or_else(|| panic!("timed out; a skip seen: {skipped:?}"));
        for line in batch {
            if line.line.starts_with("[orchestra]") {
                skipped.get_or_insert(line);
            } else {
                assert_eq!(line.line, "line");
                if skipped.is_some() {
                    after_skip += 1;
                }
            }
        }
        wait_for_writers(&paths.iter().map(PathBuf::as_path).collect::<Vec<_>>());
    }
    let skipped = skipped.unwrap();
    let label = format!("{}.0", skipped.unit);
    let bytes: u64 = skipped
        .line
        .strip_prefix(&format!("[orchestra] {label}: skipped "))
        .and_then(|rest| rest.strip_suffix(" bytes"))
        .unwrap_or_else(|| panic!("{:?}", skipped.line))
        .parse()
        .unwrap();
    assert!(bytes > skip.budget / 4, "skipped {bytes} bytes");
}

#[test]
fn a_skip_is_told_even_when_grep_hides_the_skipped_lines() {
    let dir = tempfile::tempdir().unwrap();
    let errors = dir.path().join("errors.0.log");
    let quiet = dir.path().join("quiet.0.log");
    let _writers = Writers(vec![
        busy_writer_of(&errors, "ERROR boom"),
        busy_writer_of(&quiet, "fine"),
    ]);
    let options = FollowOptions {
        query: Query::new().grep("ERROR").unwrap(),
        skip: Some(SkipBehind {
            lag: Duration::from_millis(200),
            budget: 128 << 10,
        }),
        ..FollowOptions::default()
    };
    let mut c = Collector::start(dir.path(), Start::End, options);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let batch = c
            .next_batch(deadline)
            .unwrap_or_else(|| panic!("no skip notice for `quiet` within the deadline"));
        let mut told = false;
        for line in batch {
            match line.line.as_str() {
                "ERROR boom" => {}
                text if text.starts_with("[orchestra] errors.0: skipped ") => {}
                text if text.starts_with("[orchestra] quiet.0: skipped ") => told = true,
                text => panic!("grep let through {text:?}"),
            }
        }
        if told {
            break;
        }
        // The matching lines fill the channel.
        wait_for_writers(&[&errors, &quiet]);
    }
}
