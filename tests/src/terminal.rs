//! A real terminal for tests of what Orchestra draws on one (spinners, tables redrawn in
//! place, the terminal UI): a detached tmux session of a fixed size, driven with
//! `send-keys` and read with `capture-pane`.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A tmux session running one command; killed when dropped.
pub struct Terminal {
    session: String,
}

impl Terminal {
    /// Runs `command` (a shell line) in `cwd` in a new `width`×`height` terminal. The shell
    /// stays open after the command ends, so its last screen can still be read.
    ///
    /// Panics when tmux is missing: scripts/setup installs it.
    pub fn open(cwd: &Path, command: &str, width: u16, height: u16) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let session = format!(
            "orchestra-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let line = format!("{command}; echo '[exited' $?']'; exec sleep 3600");
        let status = Command::new("tmux")
            .args(["new-session", "-d", "-s", &session])
            .args(["-x", &width.to_string(), "-y", &height.to_string()])
            .arg("-c")
            .arg(cwd)
            .arg(line)
            .status()
            .expect("tmux runs (scripts/setup installs it)");
        assert!(status.success(), "tmux could not open session {session}");
        Self { session }
    }

    /// The visible screen, as text.
    pub fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.session])
            .output()
            .expect("tmux capture-pane runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Types `keys` as tmux key names (`"q"`, `"Enter"`, `"C-c"`).
    pub fn send_keys(&self, keys: &[&str]) {
        let status = Command::new("tmux")
            .args(["send-keys", "-t", &self.session])
            .args(keys)
            .status()
            .expect("tmux send-keys runs");
        assert!(status.success(), "tmux send-keys {keys:?} failed");
    }

    /// Whether the program in the terminal draws on the alternate screen (a full-screen
    /// UI does; the shell's screen is the main one).
    pub fn alternate_screen(&self) -> bool {
        self.display("#{alternate_on}") == "1"
    }

    /// The pid of the shell running the command (the command is its child).
    pub fn shell_pid(&self) -> u32 {
        self.display("#{pane_pid}")
            .parse()
            .expect("tmux gives the pane's pid")
    }

    /// A tmux format of the session's pane, e.g. `#{pane_pid}`.
    fn display(&self, format: &str) -> String {
        let out = Command::new("tmux")
            .args(["display-message", "-p", "-t", &self.session, format])
            .output()
            .expect("tmux display-message runs");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Polls the screen until `found` accepts it; panics with the last screen after `deadline`.
    pub fn wait_for(&self, deadline: Duration, what: &str, found: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if found(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < deadline,
                "timed out after {deadline:?} waiting for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The screen once the command has ended, with its exit code.
    pub fn wait_exit(&self, deadline: Duration) -> (i32, String) {
        let screen = self.wait_for(deadline, "the command to end", |s| s.contains("[exited "));
        let code = screen
            .split("[exited ")
            .nth(1)
            .and_then(|rest| rest.split(']').next())
            .and_then(|code| code.trim().parse().ok())
            .unwrap_or(-1);
        (code, screen)
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.session])
            .status();
    }
}
