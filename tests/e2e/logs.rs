//! `orchestra logs`, `start --attach` and `start --logs` through the real binary: volume
//! (numbered lines from several replicas, complete and in order, from history and while
//! being written, across a restart), awkward content (partial lines, 1 MiB lines, bytes
//! that are not UTF-8, a closed pipe), the daemon's time index, the filters (`-n`,
//! `--since`, `--grep`, a service selection), the formatted output, and the life of an
//! attached fleet under Ctrl-C.

mod attach;
mod busy;
mod content;
mod format;
mod index;
mod lines;
mod query;
mod times;
mod vendors;
mod volume;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use orchestra_tests::{Fleet, Output, fixture_binary, orchestra_bin, poll_until};
use serde_json::Value;

/// Snapshots of these tests live in `tests/e2e/snapshots/`, beside the other e2e modules'.
fn snapshots() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(true);
    settings
}

/// A replica's label as the tests key lines: `("flood", 2)`.
type Replica = (String, u64);

/// One line of `logs --json`: its service, replica and text (`ts` is checked apart).
fn parse_json_lines(out: &Output) -> Vec<(Replica, String)> {
    out.stdout
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| {
                panic!("`logs --json` printed a line that is not JSON ({e}): {l:?}")
            });
            let service = v["service"]
                .as_str()
                .unwrap_or_else(|| panic!("no service: {l}"));
            let replica = v["replica"]
                .as_u64()
                .unwrap_or_else(|| panic!("no replica: {l}"));
            let line = v["line"].as_str().unwrap_or_else(|| panic!("no line: {l}"));
            ((service.to_owned(), replica), line.to_owned())
        })
        .collect()
}

/// Lines grouped by replica, each group in the order printed.
fn by_replica(
    lines: impl IntoIterator<Item = (Replica, String)>,
) -> BTreeMap<Replica, Vec<String>> {
    let mut groups: BTreeMap<Replica, Vec<String>> = BTreeMap::new();
    for (replica, line) in lines {
        groups.entry(replica).or_default().push(line);
    }
    groups
}

/// What the flood fixture writes: `line 1` … `line n`, then `flood done`.
fn flood_output(n: usize) -> Vec<String> {
    (1..=n)
        .map(|i| format!("line {i}"))
        .chain(["flood done".to_owned()])
        .collect()
}

/// A service.yml running the flood fixture's `scale` replicas of `lines` lines each, which
/// start writing only once the file `trigger` exists: the test decides when the flood
/// begins (after its reader is in place), without sleeping.
fn gated_flood(trigger: &Path, scale: u32, lines: usize) -> String {
    let bin = fixture_binary("flood");
    let script = format!(
        "until [ -e '{}' ]; do sleep 0.01; done; exec '{}'",
        trigger.display(),
        bin.display()
    );
    format!("run: {script:?}\nscale: {scale}\nenv: {{ LINES: \"{lines}\" }}\n")
}

/// A service.yml running the scribe fixture in `mode`, with extra `env` entries.
fn scribe(mode: &str, env: &str) -> String {
    let bin = fixture_binary("scribe");
    format!(
        "run: [{:?}]\nenv: {{ MODE: {mode}{env} }}\n",
        bin.display().to_string()
    )
}

/// `orchestra args…` running in the background whose stdout is split into lines as they
/// arrive and handed to a consumer on a reader thread, so a test can watch a million lines
/// without keeping or rescanning them.
struct Stream<S> {
    child: Child,
    state: Arc<Mutex<S>>,
    reader: Option<JoinHandle<()>>,
}

impl<S: Send + 'static> Stream<S> {
    /// Spawns `orchestra args…` in the fleet's folder (no colour, no inherited settings)
    /// and feeds each stdout line, without its newline, to `consume(state, line)`.
    fn spawn(
        fleet: &Fleet,
        args: &[&str],
        state: S,
        consume: impl Fn(&mut S, &str) + Send + 'static,
    ) -> Self {
        let mut command = Command::new(orchestra_bin());
        command
            .args(args)
            .current_dir(fleet.root())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (key, _) in std::env::vars_os() {
            if key.to_str().is_some_and(|k| k.starts_with("ORCHESTRA_")) {
                command.env_remove(key);
            }
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start orchestra {args:?}: {e}"));
        let stdout = child.stdout.take().expect("stdout is piped");
        let state = Arc::new(Mutex::new(state));
        let shared = Arc::clone(&state);
        let reader = thread::spawn(move || {
            let mut reader = BufReader::with_capacity(1 << 20, stdout);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let line = String::from_utf8_lossy(&buf);
                        let line = line.strip_suffix('\n').unwrap_or(&line);
                        consume(
                            &mut shared.lock().unwrap_or_else(PoisonError::into_inner),
                            line,
                        );
                    }
                }
            }
        });
        Stream {
            child,
            state,
            reader: Some(reader),
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Polls the consumer's state until `f` returns a value; panics naming `what` after
    /// `deadline`.
    fn wait_for<T>(&self, deadline: Duration, what: &str, mut f: impl FnMut(&S) -> Option<T>) -> T {
        poll_until(deadline, what, || {
            f(&self.state.lock().unwrap_or_else(PoisonError::into_inner))
        })
    }

    /// Runs `f` on the consumer's state now.
    fn with<T>(&self, f: impl FnOnce(&S) -> T) -> T {
        f(&self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Stops the command (SIGINT, as Ctrl-C) and waits for it and its reader to finish.
    fn interrupt(self) -> std::process::ExitStatus {
        self.interrupt_within(Duration::from_secs(30))
    }

    /// Stops the command (SIGINT, as Ctrl-C) and waits for it and its reader to finish;
    /// panics when it still runs after `deadline`.
    fn interrupt_within(mut self, deadline: Duration) -> std::process::ExitStatus {
        orchestra_tests::send_signal(self.pid(), orchestra_tests::Signal::SIGINT);
        let status = poll_until(deadline, "logs -f to exit on SIGINT", || {
            self.child.try_wait().ok().flatten()
        });
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        status
    }
}

impl<S> Drop for Stream<S> {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Splits a formatted line `label | text` (no colour) into its label and text.
fn split_formatted(line: &str) -> Option<(&str, &str)> {
    let (label, text) = line.split_once(" | ")?;
    Some((label.trim_end(), text))
}

/// Waits until `logs -f` (running as `pid`) follows the logs folder: its reader thread
/// exists only once the folder is watched and listed, so any log file created afterwards
/// is read from its first byte.
fn wait_until_following(pid: u32) {
    poll_until(
        Duration::from_secs(60),
        "`logs -f` to start its follow thread",
        || {
            let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
            tasks
                .flatten()
                .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
                .any(|comm| comm.starts_with("orchestra-logs"))
                .then_some(())
        },
    );
}
