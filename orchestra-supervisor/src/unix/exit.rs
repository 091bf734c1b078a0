//! Waiting for a process that is not our child to end.
//!
//! An adopted replica (started by an earlier daemon) sends us no SIGCHLD. A pidfd does the
//! job instead: it becomes readable when its process ends, so a fleet of adopted replicas
//! costs no wake-up at all while it runs. Where pidfds are missing (Linux before 5.3, or a
//! seccomp filter), the identity is checked every [`ADOPTED_POLL`].

use std::os::fd::OwnedFd;
use std::time::Duration;

use orchestra_core::ProcessIdentity;
use rustix::process::{Pid, PidfdFlags, pidfd_open};
use tokio::io::unix::AsyncFd;

use super::identity::{IdentityExt, Liveness};

/// How often an adopted replica is checked for its end when no pidfd can be had.
pub const ADOPTED_POLL: Duration = Duration::from_secs(1);

/// Returns once the process `identity` names has ended (or its pid belongs to another
/// process, which means the same).
pub(crate) async fn ended(identity: &ProcessIdentity) {
    let pidfd = Pid::from_raw(identity.pid)
        .and_then(|pid| pidfd_open(pid, PidfdFlags::empty()).ok())
        .and_then(watchable);
    // The pidfd names whatever holds the pid now: check it is still ours only after
    // opening it, so a process that ended in between is not waited for forever.
    if !still_running(identity) {
        return;
    }
    match pidfd {
        Some(fd) => {
            if fd.readable().await.is_err() {
                poll_until_ended(identity).await;
            }
        }
        None => poll_until_ended(identity).await,
    }
}

/// Registers a pidfd with the runtime.
//
// `AsyncFd::new` is deprecated because a `T` that does not own its descriptor could have it
// closed while registered. An `OwnedFd` owns it for the `AsyncFd`'s whole life, which is
// exactly the contract the unsafe `AsyncFd::register` asks callers to uphold; the
// deprecated safe call keeps this crate free of `unsafe`.
#[allow(deprecated)]
fn watchable(fd: OwnedFd) -> Option<AsyncFd<OwnedFd>> {
    AsyncFd::new(fd).ok()
}

async fn poll_until_ended(identity: &ProcessIdentity) {
    while still_running(identity) {
        tokio::time::sleep(ADOPTED_POLL).await;
    }
}

/// Alive, or `/proc` cannot say: an unreadable process has not ended.
fn still_running(identity: &ProcessIdentity) -> bool {
    matches!(identity.liveness(), Liveness::Alive | Liveness::Unreadable)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;
    use std::time::Instant;

    #[tokio::test]
    async fn wakes_when_a_process_that_is_not_our_child_ends() {
        // `sh` forks the sleep and exits: the sleep is nobody's child of ours.
        let out = Command::new("sh")
            .args(["-c", "sleep 0.3 >/dev/null 2>&1 & echo $!"])
            .output()
            .expect("sh");
        let pid: i32 = String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("a pid");
        let identity = ProcessIdentity::of(pid).expect("the sleep's identity");
        let started = Instant::now();
        tokio::time::timeout(Duration::from_secs(10), ended(&identity))
            .await
            .expect("the end is noticed");
        assert!(identity.liveness() != Liveness::Alive);
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_process_already_gone_returns_at_once() {
        let mut child = Command::new("true").spawn().expect("true");
        let identity = ProcessIdentity::of(child.id() as i32).expect("identity");
        child.wait().expect("wait");
        tokio::time::timeout(Duration::from_secs(5), ended(&identity))
            .await
            .expect("returns");
    }
}
