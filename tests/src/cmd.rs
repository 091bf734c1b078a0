//! Running a command (usually `orchestra`) with a deadline and collecting its output.

use std::ffi::OsStr;
use std::fmt;
use std::io::{self, Read, Write};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::procs::send_signal;
use crate::wait::wait_until;

/// How long a command may run before the harness kills it and fails the test: long enough
/// for a fleet to build its Go services on a slow machine.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(180);

/// A command to run, built like [`std::process::Command`]; see [`crate::Fleet::cmd`].
pub struct Cmd {
    command: Command,
    stdin: Option<Vec<u8>>,
    timeout: Duration,
}

/// What a finished command did.
#[derive(Debug)]
pub struct Output {
    /// How it ended.
    pub status: ExitStatus,
    /// Everything written to stdout (lossily decoded).
    pub stdout: String,
    /// Everything written to stderr (lossily decoded).
    pub stderr: String,
}

impl Output {
    /// The exit code, or `None` when a signal ended the command.
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

impl Cmd {
    /// `program args…` run in `cwd`, with a clean Orchestra environment: no inherited
    /// `ORCHESTRA_*` settings that could point it at another project, and no colour.
    pub fn new<I, S>(program: impl AsRef<OsStr>, args: I, cwd: &Path) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new(program);
        command.args(args).current_dir(cwd).env("NO_COLOR", "1");
        for (key, _) in std::env::vars_os() {
            let is_orchestra = key.to_str().is_some_and(|k| k.starts_with("ORCHESTRA_"));
            if is_orchestra && key != "ORCHESTRA_REQUIRE_DOCKER" {
                command.env_remove(key);
            }
        }
        Cmd {
            command,
            stdin: None,
            timeout: COMMAND_TIMEOUT,
        }
    }

    /// Sets an environment variable.
    #[must_use]
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.command.env(key, value);
        self
    }

    /// Removes an environment variable.
    #[must_use]
    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.command.env_remove(key);
        self
    }

    /// Runs in `dir` instead of the fleet's root.
    #[must_use]
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.command.current_dir(dir);
        self
    }

    /// Feeds `input` to the command's stdin (otherwise stdin is empty).
    #[must_use]
    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(input.into());
        self
    }

    /// Changes how long the command may run (default [`COMMAND_TIMEOUT`]).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Runs to completion; panics if it cannot start or outlives its timeout.
    pub fn run(self) -> Output {
        let shown = format!("{:?}", self.command);
        self.try_run().unwrap_or_else(|e| panic!("{shown}: {e}"))
    }

    /// Runs to completion; an error when it cannot start or outlives its timeout (it is then
    /// killed). For clean-up code that must not panic.
    pub fn try_run(self) -> io::Result<Output> {
        let timeout = self.timeout;
        self.try_spawn()?.finish(timeout)
    }

    /// Runs and asserts it exited with 0; returns the output.
    pub fn assert_success(self) -> Output {
        self.assert_exit(0)
    }

    /// Runs and asserts it exited with `code`; returns the output.
    pub fn assert_exit(self, code: i32) -> Output {
        let shown = format!("{:?}", self.command);
        let output = self.run();
        assert_eq!(
            output.code(),
            Some(code),
            "{shown} exited unexpectedly: {output}"
        );
        output
    }

    /// Starts the command in the background (for `start --attach`, `logs -f`…).
    pub fn spawn(self) -> Running {
        let shown = format!("{:?}", self.command);
        self.try_spawn()
            .unwrap_or_else(|e| panic!("cannot start {shown}: {e}"))
    }

    fn try_spawn(mut self) -> io::Result<Running> {
        let stdin = if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        };
        let mut child = self
            .command
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        // Write stdin from a thread: a command that does not read it must not block us.
        if let (Some(input), Some(mut pipe)) = (self.stdin.take(), child.stdin.take()) {
            thread::spawn(move || pipe.write_all(&input));
        }
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let readers = vec![
            collect(child.stdout.take(), Arc::clone(&stdout)),
            collect(child.stderr.take(), Arc::clone(&stderr)),
        ];
        Ok(Running {
            child,
            stdout,
            stderr,
            readers,
        })
    }
}

/// A command running in the background; killed if dropped while still running.
pub struct Running {
    child: Child,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
}

impl Running {
    /// Its pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its stdout so far.
    pub fn stdout(&self) -> String {
        text(&self.stdout)
    }

    /// Its stderr so far.
    pub fn stderr(&self) -> String {
        text(&self.stderr)
    }

    /// Waits until its stdout or stderr contains `needle`.
    pub fn wait_for_output(&self, needle: &str, deadline: Duration) {
        wait_until(deadline, &format!("output containing {needle:?}"), || {
            self.stdout().contains(needle) || self.stderr().contains(needle)
        });
    }

    /// Sends it `signal` (e.g. SIGINT, as Ctrl-C would).
    pub fn signal(&self, signal: Signal) {
        assert!(
            send_signal(self.pid(), signal),
            "cannot send {signal} to {}",
            self.pid()
        );
    }

    /// Whether it has exited (and if so, it is reaped).
    pub fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Waits for it to exit within `deadline` and returns everything it wrote; panics (after
    /// killing it) if it is still running then.
    pub fn wait(self, deadline: Duration) -> Output {
        self.finish(deadline).unwrap_or_else(|e| panic!("{e}"))
    }

    fn finish(mut self, deadline: Duration) -> io::Result<Output> {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait()? {
                break status;
            }
            if start.elapsed() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "still running after {deadline:?}, killed\n--- stdout ---\n{}\n--- stderr ---\n{}",
                        self.stdout(),
                        self.stderr()
                    ),
                ));
            }
            thread::sleep(Duration::from_millis(10));
        };
        // The readers end when every writer of the pipes is gone. A daemon started by the
        // command may inherit the pipes and keep them open: do not wait for it forever.
        let readers_done = Instant::now();
        while self.readers.iter().any(|r| !r.is_finished())
            && readers_done.elapsed() < Duration::from_secs(2)
        {
            thread::sleep(Duration::from_millis(5));
        }
        Ok(Output {
            status,
            stdout: self.stdout(),
            stderr: self.stderr(),
        })
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Copies everything from `pipe` into `sink` as it arrives.
fn collect(pipe: Option<impl Read + Send + 'static>, sink: Arc<Mutex<Vec<u8>>>) -> JoinHandle<()> {
    thread::spawn(move || {
        let Some(mut pipe) = pipe else { return };
        let mut buf = [0u8; 8192];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend_from_slice(&buf[..n]);
        }
    })
}

fn text(buf: &Mutex<Vec<u8>>) -> String {
    String::from_utf8_lossy(&buf.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Cmd {
        Cmd::new("sh", ["-c", script], Path::new("/"))
    }

    #[test]
    fn run_collects_both_streams_and_the_code() {
        let out = sh("echo out; echo err >&2; exit 3").assert_exit(3);
        assert_eq!(
            (out.stdout.as_str(), out.stderr.as_str()),
            ("out\n", "err\n")
        );
    }

    #[test]
    fn stdin_and_env_reach_the_command() {
        let out = sh("cat; printf %s \"$X\"")
            .env("X", "a b")
            .stdin("piped ")
            .assert_success();
        assert_eq!(out.stdout, "piped a b");
    }

    #[test]
    fn orchestra_settings_are_not_inherited() {
        let out = sh("echo \"${NO_COLOR:-}|${ORCHESTRA_CONFIG:-unset}\"").assert_success();
        assert_eq!(out.stdout, "1|unset\n");
    }

    #[test]
    fn a_command_past_its_timeout_is_killed() {
        let err = sh("echo started; exec sleep 30")
            .timeout(Duration::from_millis(300))
            .try_run()
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(err.to_string().contains("started"), "{err}");
    }

    #[test]
    fn a_running_command_can_be_watched_and_signalled() {
        let running =
            sh("trap 'echo bye; exit 0' TERM; echo ready; while :; do sleep 0.05; done").spawn();
        running.wait_for_output("ready", Duration::from_secs(5));
        running.signal(Signal::SIGTERM);
        let out = running.wait(Duration::from_secs(5));
        assert!(out.status.success(), "{out}");
        assert_eq!(out.stdout, "ready\nbye\n");
    }
}
