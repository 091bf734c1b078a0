//! How the daemon leaves its caller behind and prepares its own process.
//!
//! The daemon outlives the command that started it, so nothing of that command may stay
//! attached to it: not its terminal (the daemon leads a session of its own, with no
//! controlling terminal), and not its open files (only stdin, stdout and stderr cross into
//! the daemon and from there into the replicas). A pipe inherited on fd 7 and held by the
//! daemon for hours would keep `{ orchestra start; } 7>&1 | cat` waiting for ever.
//!
//! A fleet of hundreds of replicas also needs more descriptors than a desktop's default
//! soft limit of 1024, so the daemon raises its soft limit to the hard one.

use std::path::Path;
use std::process::Stdio;

use nix::sys::resource::{Resource, getrlimit, setrlimit};
use process_wrap::tokio::{CommandWrap, ProcessSession};

/// The descriptors every process keeps: stdin, stdout and stderr.
const STDIO: i32 = 3;

/// Marks every descriptor past stderr close-on-exec, so that no program this process
/// starts inherits them. Descriptors Orchestra opens itself already are; the ones it
/// inherited from its caller are not.
pub fn keep_only_stdio_across_exec() {
    close_fds::CloseFdsBuilder::new().cloexecfrom(STDIO);
}

/// Starts `orchestra daemon --state-dir <state>` from `exe`: the leader of a new session
/// (so no terminal can signal it or hang it up), stdin from /dev/null, stdout and stderr
/// to `log`, and no other descriptor of ours. It is not waited for: it outlives us.
pub fn spawn_detached(exe: &Path, state: &Path, log: std::fs::File) -> std::io::Result<()> {
    keep_only_stdio_across_exec();
    let log_err = log.try_clone()?;
    let mut command = tokio::process::Command::new(exe);
    command
        .arg("daemon")
        .arg("--state-dir")
        .arg(state)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err);
    let mut wrap = CommandWrap::from(command);
    wrap.wrap(ProcessSession);
    wrap.spawn()?;
    Ok(())
}

/// Raises the soft limit on open descriptors to the hard limit; returns the new soft
/// limit. Each replica costs the daemon descriptors while it runs (its pidfd, reads of
/// `/proc`, its log while it starts), and running out turns into failed spawns.
pub fn raise_descriptor_limit() -> nix::Result<u64> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard)?;
    }
    Ok(hard)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_descriptor_limit_reaches_the_hard_one() {
        let raised = raise_descriptor_limit().unwrap();
        let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        assert_eq!((soft, hard), (raised, raised));
    }
}
