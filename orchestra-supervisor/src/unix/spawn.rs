//! Spawning a command as the leader of a process group of its own, registered as an owned
//! child.
//!
//! Why a process group and not a session: Linux's scheduler (with autogroup, the default
//! of desktop distributions) shares the CPU between *sessions* first. A replica leading a
//! session of its own weighs as much as the developer's whole terminal, and 200 busy
//! replicas left the terminal (and `orchestra logs -f` in it) one part in 201 of the
//! machine: Ctrl-C waited for its turn. Lowering each replica session's weight
//! (`/proc/<pid>/autogroup`) is refused to an unprivileged user more than once per 100 ms
//! system-wide, so it cannot keep up with a fleet. As groups inside the daemon's session,
//! the replicas and the daemon share one session, which weighs as one against the rest
//! of the system; inside it, the daemon's log care runs at the priority it may raise
//! (see the daemon's `priority` module).
//!
//! Inside the shared session, the replicas run [`FLEET_NICE`] levels below the thread that
//! spawned them, so that the supervisor's own work (spawning the rest of a fleet, probing,
//! rotating logs, stopping) comes first: 200 busy replicas at the daemon's priority took
//! the daemon's turns and stretched the start of the rest of the fleet to minutes. Raising
//! a nice value needs no privilege. With autogroup on, this only orders the fleet's
//! session within itself; without it, the services yield to other work of the machine
//! as background jobs do.
//!
//! The group still isolates what matters: signals go to the group, no terminal reaches
//! it (the daemon has no controlling terminal), and every descendant that does not leave
//! it carries its id. Descendants that do leave are found by their parent links and token
//! (see [`super::tree`]), or, once orphaned, by the subreaper ([`super::orphans`]).
//!
//! Why this is fast: with nothing to run between `fork` and `exec` (no `pre_exec`
//! closure; the group is a spawn attribute), the standard library spawns through glibc's
//! `posix_spawn`, which shares the daemon's memory until the `exec` (`CLONE_VM |
//! CLONE_VFORK`) instead of copying the page tables of a daemon of ~13 MB for every
//! replica. Its stdout and stderr are set by the spawn's file actions; every other
//! descriptor of the daemon is close-on-exec (the daemon's startup sees to the inherited
//! ones).
//!
//! We wait for the leader only: a replica ends when its main process ends, and its
//! leftovers are the stop ladder's job, not a reason to hang.

use std::process::{ExitStatus, Stdio};

use tokio::process::{Child, Command};

use super::owned::{OwnedPid, Spawning};

/// A spawned child and its registration.
#[derive(Debug)]
pub(crate) struct OwnedChild {
    child: Child,
    pub pid: i32,
    _owned: OwnedPid,
}

impl OwnedChild {
    /// Waits for the leader to end (cancel-safe, as tokio's wait is).
    pub async fn wait(&mut self) -> std::io::Result<ExitStatus> {
        self.child.wait().await
    }
}

/// How many nice levels below the spawning thread a child runs: a busy replica then weighs
/// about a tenth of the supervisor's thread (scheduler weights fall by about 1.25× a level).
pub const FLEET_NICE: i32 = 10;

/// Spawns `command` as the leader of a new process group, stdin from /dev/null, at
/// [`FLEET_NICE`] levels below the calling thread.
pub(crate) fn spawn_group(mut command: Command) -> std::io::Result<OwnedChild> {
    command.stdin(Stdio::null()).process_group(0);
    let spawning = Spawning::begin();
    let child = command.spawn()?;
    let pid = child.id().and_then(|p| i32::try_from(p).ok()).unwrap_or(0);
    let registration = spawning.register(pid);
    drop(spawning);
    lower_priority(pid);
    Ok(OwnedChild {
        child,
        pid,
        _owned: registration,
    })
}

/// Sets the nice value of the just spawned child's group (`pid` leads it and is our
/// un-reaped child, so the group is ours) to [`FLEET_NICE`] below ours. It is done after
/// the `exec` (no spawn attribute says it) and for the whole group, which reaches every
/// thread and process the program started in the microseconds between (a per-process
/// nice would reach one thread only). A failure leaves the child at our priority.
fn lower_priority(pid: i32) {
    use rustix::process::{Pid, getpriority_process, setpriority_pgrp};
    let Some(group) = Pid::from_raw(pid) else {
        return;
    };
    let result = getpriority_process(None)
        .and_then(|ours| setpriority_pgrp(Some(group), (ours + FLEET_NICE).min(19)));
    if let Err(e) = result {
        tracing::debug!(pid, error = %e, "cannot lower the priority of a child");
    }
}
