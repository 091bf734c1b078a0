//! A replica run's instance token: `ORCHESTRA_INSTANCE` in the environment of every
//! process of the run.
//!
//! A process inherits its environment at fork and keeps it across `exec`, so the token
//! follows a replica's descendants wherever they go: out of its process group, out of its
//! session, reparented to init. It is also what makes a written-down identity trustworthy
//! (see [`carries_token`]).

use std::io;
use std::sync::Arc;

use procfs::process::Process;

use super::identity::io_means_gone;

/// The environment variable holding a replica run's unique token.
pub const INSTANCE_ENV: &str = "ORCHESTRA_INSTANCE";

/// The value of `ORCHESTRA_INSTANCE` in a process's environment, if it has one (none when
/// it is gone or another user's); an error when it cannot be read now.
pub(super) fn instance_token(pid: i32) -> io::Result<Option<Arc<str>>> {
    let env = match std::fs::read(format!("/proc/{pid}/environ")) {
        Ok(env) => env,
        Err(e) if io_means_gone(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    let key = format!("{INSTANCE_ENV}=");
    Ok(env
        .split(|&b| b == 0)
        .find_map(|var| var.strip_prefix(key.as_bytes()))
        .map(|value| Arc::from(String::from_utf8_lossy(value).as_ref())))
}

/// Whether the process `pid` carries the replica run's `instance` token, and so may be
/// taken for the process a record names. Pid, start time and boot id are public in /proc:
/// anyone who can write a record can copy them from an unrelated process; the token lives
/// only in the environment of the run's processes. A process whose environment cannot be
/// read (another user's, such as a container's root process) vouches for itself when it is
/// indeed another user's: it cannot be one of this user's processes passed off as a replica,
/// and signalling it takes the rights to read it.
pub(crate) fn carries_token(pid: i32, instance: &str) -> bool {
    if instance.is_empty() {
        return false;
    }
    match std::fs::read(format!("/proc/{pid}/environ")) {
        Ok(env) => {
            let wanted = format!("{INSTANCE_ENV}={instance}");
            env.split(|&b| b == 0).any(|var| var == wanted.as_bytes())
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Process::new(pid)
            .and_then(|p| p.uid())
            .is_ok_and(|uid| uid != nix::unistd::geteuid().as_raw()),
        Err(_) => false,
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// An orphan in another process group, related to us only by its token.
    pub(in crate::unix) fn orphan_with_token(token: &str) -> i32 {
        use std::os::unix::process::CommandExt;
        let out = std::process::Command::new("sh")
            .args(["-c", "sleep 30 >/dev/null 2>&1 & echo $!"])
            .env(INSTANCE_ENV, token)
            .process_group(0)
            .output()
            .unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }

    #[test]
    fn only_a_process_holding_the_token_carries_it() {
        let token = format!("carries-test-{}", std::process::id());
        let orphan = orphan_with_token(&token);
        let carries = carries_token(orphan, &token);
        let other = carries_token(orphan, "another-token");
        let me = carries_token(std::process::id() as i32, &token);
        let empty = carries_token(orphan, "");
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(orphan),
            nix::sys::signal::Signal::SIGKILL,
        );
        assert!(carries);
        assert!(!other && !me && !empty);
    }
}
