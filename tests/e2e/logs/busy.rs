//! `logs -f` on a fleet of busy writers (`while :; do echo …; done`) piped to a reader
//! slower than they write: history, then live lines, a source skipped ahead with a line
//! saying so rather than buffered, memory bounded, and Ctrl-C ends it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use orchestra_tests::{Fleet, PATIENCE, poll_until, wait_until};

use super::{Stream, split_formatted};

const WRITERS: u32 = 20;

/// What the slow reader's writers write, over and over. Long enough that the megabytes
/// `logs -f` must fall behind by before it skips (its budget, 16 MiB in all) take few
/// writes: the writers run niced below the daemon, so on a loaded machine they get little
/// CPU, and five-byte lines took minutes to fill the budget there.
const LONG_LINE: &str = "line of a busy writer, long enough to fill the budget of a \
    follower that falls behind within a few thousand writes rather than millions of them; \
    the text does not matter, only its length and that the reader can tell it apart";

/// The bound for two hundred busy sources; twenty must stay well within it.
const MAX_RSS_KIB: u64 = 64 << 10;

/// How many lines the slow reader takes before it waits for the writers again: about
/// 100 KB, a tenth of [`WRITTEN_PER_TURN`].
const LINES_PER_TURN: usize = 450;

/// How far the writers get ahead of the reader at each of its turns: the reader takes a
/// tenth of what they write, however fast or loaded the machine is. Ten times slower falls
/// behind by the skip budget soon, yet drains the lines `logs -f` holds in flight before
/// its skip notice after tens of megabytes, not hundreds.
const WRITTEN_PER_TURN: u64 = 1 << 20;

/// What the slow reader saw.
#[derive(Debug)]
struct Seen {
    /// The fleet's log folder: the reader paces itself by what the writers wrote there.
    logs: PathBuf,
    lines: usize,
    /// The first `[orchestra] busy.N: skipped M bytes` line, and how many lines came after.
    skipped: Option<String>,
    after_skip: usize,
    strange: Vec<String>,
}

impl Seen {
    fn new(logs: PathBuf) -> Self {
        Self {
            logs,
            lines: 0,
            skipped: None,
            after_skip: 0,
            strange: Vec::new(),
        }
    }

    fn consume(&mut self, line: &str) {
        self.lines += 1;
        match split_formatted(line) {
            Some((_, LONG_LINE)) => {
                if self.skipped.is_some() {
                    self.after_skip += 1;
                }
            }
            Some((_, text)) if text.starts_with("[orchestra] ") && text.contains(": skipped ") => {
                self.skipped.get_or_insert_with(|| text.to_owned());
            }
            _ => self.strange.push(line.to_owned()),
        }
        if self.lines.is_multiple_of(LINES_PER_TURN) {
            // The slow reader: a terminal that takes its lines only after the writers
            // wrote ten times as much.
            let target = written(&self.logs) + WRITTEN_PER_TURN;
            wait_until(PATIENCE, "the writers to get ahead of the reader", || {
                written(&self.logs) >= target
            });
        }
    }
}

/// The bytes in the writers' log files, rotated ones included.
fn written(logs: &Path) -> u64 {
    std::fs::read_dir(logs)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with("busy.") && !name.ends_with(".idx")
        })
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

/// The high-water mark of a process's resident memory, from /proc.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM for {pid}:\n{status}"))
}

#[test]
fn follow_of_busy_writers_to_a_slow_reader_skips_ahead_in_bounded_memory_and_stops_on_ctrl_c() {
    let fleet = Fleet::new().orchestra_yml("").service(
        "busy",
        &format!("run: \"while :; do echo '{LONG_LINE}'; done\"\nscale: {WRITERS}\n"),
    );
    fleet.cmd(["start"]).assert_success();
    let logs = fleet.path(".orchestra/logs");
    let hundred_lines = 100 * (LONG_LINE.len() as u64 + 1);
    poll_until(PATIENCE * 3, "every writer to have 100 lines", || {
        (0..WRITERS)
            .all(|i| {
                std::fs::metadata(logs.join(format!("busy.{i}.log")))
                    .is_ok_and(|m| m.len() >= hundred_lines)
            })
            .then_some(())
    });

    let follow = Stream::spawn(
        &fleet,
        &["logs", "-f", "-n", "100"],
        Seen::new(logs.clone()),
        Seen::consume,
    );
    let history = (WRITERS * 100) as usize;
    follow.wait_for(
        Duration::from_secs(180),
        "a skipped line and a thousand live lines after it",
        |s| (s.lines > history && s.after_skip >= 1000).then_some(()),
    );
    let (skipped, strange) = follow.with(|s| (s.skipped.clone(), s.strange.clone()));
    assert!(strange.is_empty(), "unexpected lines: {strange:?}");
    let skipped = skipped.unwrap_or_default();
    let bytes: u64 = skipped
        .rsplit_once(": skipped ")
        .and_then(|(who, n)| who.starts_with("[orchestra] busy.").then_some(n))
        .and_then(|n| n.strip_suffix(" bytes"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a skip notice: {skipped:?}"));
    assert!(bytes > 0, "{skipped}");

    let peak = peak_rss_kib(follow.pid());
    assert!(
        peak <= MAX_RSS_KIB,
        "`logs -f` peaked at {peak} KiB of resident memory (at most {MAX_RSS_KIB} KiB expected)"
    );
    let status = follow.interrupt();
    assert!(status.success(), "`logs -f` ended with {status} on Ctrl-C");
    eprintln!("skipped: {skipped:?}, peak RSS {peak} KiB");
}

/// Sources in the stalled case: with history, `logs -f` of sixty busy services
/// printed the history, then nothing live for 10 s, and ignored Ctrl-C for over a minute.
const SOURCES: u32 = 60;

#[test]
fn follow_with_history_of_sixty_busy_sources_goes_live_and_ends_soon_after_ctrl_c() {
    let fleet = Fleet::new().orchestra_yml("").service(
        "busy",
        &format!("run: \"while :; do echo line; done\"\nscale: {SOURCES}\n"),
    );
    fleet.cmd(["start"]).assert_success();
    let logs = fleet.path(".orchestra/logs");
    poll_until(PATIENCE * 3, "every writer to have 100 lines", || {
        (0..SOURCES)
            .all(|i| {
                std::fs::metadata(logs.join(format!("busy.{i}.log"))).is_ok_and(|m| m.len() > 500)
            })
            .then_some(())
    });

    let follow = Stream::spawn(&fleet, &["logs", "-f", "-n", "100"], 0usize, |n, _| {
        *n += 1;
    });
    let history = (SOURCES * 100) as usize;
    follow.wait_for(PATIENCE * 3, "live lines after the history", |&n| {
        (n > history + 10_000).then_some(())
    });
    let peak = peak_rss_kib(follow.pid());
    assert!(
        peak <= MAX_RSS_KIB,
        "`logs -f` peaked at {peak} KiB of resident memory (at most {MAX_RSS_KIB} KiB expected)"
    );
    // Generous: the figure (well under a second) is measured by bench/load.py; before, it
    // took minutes.
    let status = follow.interrupt_within(Duration::from_secs(10));
    assert!(status.success(), "`logs -f` ended with {status} on Ctrl-C");
    fleet.cmd(["stop"]).assert_success();
}
