//! Other daemons of the same project. The lock makes one daemon per lock file; a daemon
//! whose state folder was removed under it still runs its fleet while a command that came
//! in the moment after starts a new daemon on the recreated folder. The new daemon finds
//! such a rival before it serves anything and asks it to stop its fleet and leave (SIGTERM,
//! which a daemon answers by stopping its fleet), then starts afresh: one fleet, never two.

use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use orchestra_core::{ProcessIdentity, StateDir};
use orchestra_supervisor::{IdentityExt, Liveness};

/// How long a rival may take to stop its fleet before it is killed (its replicas are then
/// left to the stray search).
const RIVAL_PATIENCE: Duration = Duration::from_secs(30);

/// The other processes of this user running `orchestra daemon --state-dir <state>`.
pub fn find(state: &StateDir) -> Vec<ProcessIdentity> {
    use std::os::unix::fs::MetadataExt;
    let me = nix::unistd::geteuid().as_raw();
    let own = std::process::id() as i32;
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse::<i32>().ok()?, e.path())))
        // One read of a link per process rules out nearly all of them: the start of every
        // new daemon waits for this pass.
        .filter(|(pid, dir)| *pid != own && runs_orchestra(dir))
        .filter(|(pid, dir)| {
            dir.metadata().is_ok_and(|m| m.uid() == me) && is_daemon_of(*pid, state)
        })
        .filter_map(|(pid, _)| ProcessIdentity::of(pid).ok())
        .collect()
}

/// Whether the program of the process whose `/proc` folder is `dir` may be orchestra (its
/// file is named `orchestra…`, as [`serves`] asks of the command line). Kernel threads and
/// ended processes have none; a process whose program may not be read is looked at further.
fn runs_orchestra(dir: &Path) -> bool {
    match std::fs::read_link(dir.join("exe")) {
        Ok(exe) => exe
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("orchestra")),
        Err(e) => e.kind() != std::io::ErrorKind::NotFound,
    }
}

/// Whether the process `pid` is an orchestra daemon of `state`, by its command line.
pub(super) fn is_daemon_of(pid: i32, state: &StateDir) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|raw| {
        let argv: Vec<String> = raw
            .split(|&b| b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        serves(&argv, state.root())
    })
}

/// Whether `argv` is that of an orchestra daemon of the state folder `root`.
pub(super) fn serves(argv: &[String], root: &Path) -> bool {
    let program = argv
        .first()
        .and_then(|a| Path::new(a).file_name())
        .and_then(|n| n.to_str());
    let is_orchestra = program.is_some_and(|n| n.starts_with("orchestra"));
    let state_dir = argv
        .iter()
        .position(|a| a == "--state-dir")
        .and_then(|i| argv.get(i + 1));
    is_orchestra
        && argv.get(1).is_some_and(|a| a == "daemon")
        && state_dir.is_some_and(|dir| Path::new(dir) == root)
}

/// Asks every rival to stop its fleet and leave, and waits until they are gone (killing
/// those that take longer than [`RIVAL_PATIENCE`]).
pub async fn retire(state: &StateDir) {
    let rivals = find(state);
    for rival in &rivals {
        tracing::warn!(
            pid = rival.pid,
            "another daemon of this project runs (its state folder was removed); stopping it and its fleet"
        );
        signal(rival, Signal::SIGTERM);
    }
    let deadline = Instant::now() + RIVAL_PATIENCE;
    for rival in &rivals {
        while rival.liveness() == Liveness::Alive {
            if Instant::now() >= deadline {
                tracing::warn!(
                    pid = rival.pid,
                    "the other daemon did not leave; killing it"
                );
                signal(rival, Signal::SIGKILL);
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Sends `signal` to `rival` if it is still the same process.
fn signal(rival: &ProcessIdentity, signal: Signal) {
    if rival.liveness() == Liveness::Alive {
        let _ = kill(Pid::from_raw(rival.pid), signal);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn only_a_daemon_of_the_same_folder_is_a_rival() {
        let root = Path::new("/p/.orchestra");
        assert!(serves(
            &argv(&[
                "/usr/bin/orchestra",
                "daemon",
                "--state-dir",
                "/p/.orchestra"
            ]),
            root
        ));
        for other in [
            &[
                "/usr/bin/orchestra",
                "daemon",
                "--state-dir",
                "/q/.orchestra",
            ][..],
            &["/usr/bin/orchestra", "ps", "--state-dir", "/p/.orchestra"],
            &["/usr/bin/vim", "daemon", "--state-dir", "/p/.orchestra"],
            &["/usr/bin/orchestra", "daemon"],
        ] {
            assert!(!serves(&argv(other), root), "{other:?}");
        }
    }
}
