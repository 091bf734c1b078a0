//! Spawning a command in a session of its own, registered as an owned child.
//!
//! process-wrap's `ProcessSession` wrapper does the `setsid` (in `pre_exec`, which would need
//! `unsafe` here). We then unwrap to the plain tokio child and wait for the leader only:
//! process-wrap's group child would, after the leader ends, block in a `waitpid(-pgid)`
//! until every member of the group is gone — but a replica ends when its main process ends,
//! and its leftovers are the stop ladder's job, not a reason to hang.
//!
//! Why a session and not only a process group: every descendant then carries the replica's
//! session id, which also tells the orphan reaper that an adopted zombie came from a
//! replica and not from another part of this program; and no terminal can signal it.

use std::process::{ExitStatus, Stdio};

use process_wrap::tokio::{ChildWrapper, CommandWrap, ProcessSession};
use tokio::process::Command;

use super::owned::{Owned, OwnedPid};

/// A spawned child and its registration.
#[derive(Debug)]
pub(crate) struct OwnedChild {
    child: Box<dyn ChildWrapper>,
    pub pid: i32,
    _owned: OwnedPid,
}

impl OwnedChild {
    /// Waits for the leader to end (cancel-safe, as tokio's wait is).
    pub async fn wait(&mut self) -> std::io::Result<ExitStatus> {
        self.child.wait().await
    }
}

/// Spawns `command` as the leader of a new session, stdin from /dev/null.
pub(crate) fn spawn_session(command: Command) -> std::io::Result<OwnedChild> {
    let mut wrap = CommandWrap::from(command);
    wrap.command_mut().stdin(Stdio::null());
    wrap.wrap(ProcessSession);
    let mut owned = Owned::lock();
    let child = wrap.spawn()?.into_inner();
    let pid = child.id().and_then(|p| i32::try_from(p).ok()).unwrap_or(0);
    let registration = owned.insert(pid);
    Ok(OwnedChild {
        child,
        pid,
        _owned: registration,
    })
}
