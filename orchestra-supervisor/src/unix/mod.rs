//! The Unix process backend (Linux: it reads `/proc`).

mod exit;
pub mod identity;
pub mod orphans;
pub(crate) mod owned;
pub(crate) mod spawn;
pub mod subreaper;
pub(crate) mod table;
pub(crate) mod token;
pub(crate) mod tree;
pub(crate) mod usage;

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::process::ExitStatusExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use nix::errno::Errno;
use nix::sys::signal::{kill, killpg};
use nix::unistd::Pid;
use orchestra_core::spec::ReplicaSpec;
use orchestra_core::{ProcessEnd, ProcessIdentity, Signal};
use tokio::process::Command;
use tokio::sync::watch;

use crate::backend::{RunningReplica, Supervisor, TreeStats};
use crate::error::SupervisorError;
use identity::{IdentityExt, Liveness, start_time_and_state};
use table::{Entry, Table};
use tree::Roots;

pub use exit::ADOPTED_POLL;
pub use spawn::FLEET_NICE;
pub use token::INSTANCE_ENV;

/// Runs replicas as local processes, each leading its own process group.
#[derive(Debug, Clone, Copy, Default)]
pub struct UnixSupervisor;

/// A fresh token for `ORCHESTRA_INSTANCE`: this process, the time, a counter. Every
/// backend gives each run of a replica one, so a new daemon finds exactly that run again.
pub fn new_instance() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{:x}-{:x}-{:x}",
        std::process::id(),
        nanos,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Converts a wait status into how the process ended.
pub(crate) fn process_end(status: std::process::ExitStatus) -> ProcessEnd {
    match (status.code(), status.signal()) {
        (Some(code), _) => ProcessEnd::Exited(code),
        (None, Some(sig)) => ProcessEnd::Signalled(sig),
        (None, None) => ProcessEnd::Unknown,
    }
}

#[async_trait]
impl Supervisor for UnixSupervisor {
    async fn spawn(
        &self,
        spec: &ReplicaSpec,
        log: File,
    ) -> Result<Arc<dyn RunningReplica>, SupervisorError> {
        let spawn_error = |source| SupervisorError::Spawn {
            replica: spec.id.clone(),
            command: spec.command.to_string(),
            source,
        };
        let argv = spec.command.argv();
        let Some((program, args)) = argv.split_first() else {
            return Err(spawn_error(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "empty command",
            )));
        };
        let stderr = log.try_clone().map_err(spawn_error)?;
        let instance = new_instance();
        let mut command = Command::new(program);
        command
            .args(args)
            .current_dir(&spec.dir)
            .envs(&spec.env)
            .env(INSTANCE_ENV, &instance)
            .stdout(log)
            .stderr(stderr);
        let mut child = spawn::spawn_group(command).map_err(spawn_error)?;
        let pid = child.pid;
        let identity = ProcessIdentity::of(pid).unwrap_or_else(|_| ProcessIdentity {
            pid,
            pgid: pid,
            start_time: 0,
            boot_id: identity::boot_id().to_owned(),
        });
        let (tx, rx) = watch::channel(None);
        tokio::spawn(async move {
            let end = match child.wait().await {
                Ok(status) => process_end(status),
                Err(e) => {
                    tracing::warn!(pid, error = %e, "cannot wait for replica");
                    ProcessEnd::Unknown
                }
            };
            let _ = tx.send(Some(end));
        });
        tracing::debug!(replica = %spec.id, pid, "spawned");
        Ok(Arc::new(UnixReplica::new(identity, instance, rx, true)))
    }

    async fn adopt(
        &self,
        identity: &ProcessIdentity,
        instance: &str,
    ) -> Option<Arc<dyn RunningReplica>> {
        // Unreadable is not gone: the process is adopted, and its end watched for. A record
        // is a hint: a process that can be read must also carry the run's token.
        let liveness = identity.liveness();
        if matches!(liveness, Liveness::Gone | Liveness::Zombie)
            || (liveness == Liveness::Alive && !token::carries_token(identity.pid, instance))
        {
            return None;
        }
        let (tx, rx) = watch::channel(None);
        let watched = identity.clone();
        tokio::spawn(async move {
            // Not our child: no SIGCHLD and no status, only the fact that it ended.
            tokio::select! {
                () = exit::ended(&watched) => {
                    let _ = tx.send(Some(ProcessEnd::Unknown));
                }
                () = tx.closed() => {}
            }
        });
        Some(Arc::new(UnixReplica::new(
            identity.clone(),
            instance.to_owned(),
            rx,
            false,
        )))
    }
}

/// A replica run by [`UnixSupervisor`].
#[derive(Debug)]
pub struct UnixReplica {
    identity: ProcessIdentity,
    instance: String,
    end: watch::Receiver<Option<ProcessEnd>>,
    /// Whether the leader is our own child (spawned here, not adopted).
    child: bool,
    /// Members seen so far (pid → start time), so that one which left the group is still
    /// found while its identity holds.
    known: Mutex<HashMap<i32, u64>>,
}

impl UnixReplica {
    fn new(
        identity: ProcessIdentity,
        instance: String,
        end: watch::Receiver<Option<ProcessEnd>>,
        child: bool,
    ) -> Self {
        Self {
            identity,
            instance,
            end,
            child,
            known: Mutex::new(HashMap::new()),
        }
    }

    /// Its members in a table read just now (shared with concurrent callers); an error
    /// when `/proc` cannot be read whole.
    async fn members(&self) -> std::io::Result<Vec<Entry>> {
        Ok(self.members_in(&*Table::fresh().await?))
    }

    fn members_in(&self, table: &Table) -> Vec<Entry> {
        let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        let members = tree::discover(
            table,
            Roots {
                leader: &self.identity,
                // A tree without a token (an orphan's) has none to look for.
                instance: Some(self.instance.as_str()).filter(|i| !i.is_empty()),
                known: &known,
            },
        );
        known.clear();
        known.extend(
            members
                .iter()
                .filter(|e| !e.is_zombie())
                .map(|e| (e.pid, e.start_time)),
        );
        members
    }
}

#[async_trait]
impl RunningReplica for UnixReplica {
    fn identity(&self) -> &ProcessIdentity {
        &self.identity
    }

    fn instance(&self) -> &str {
        &self.instance
    }

    async fn signal(&self, signal: Signal) -> Result<usize, SupervisorError> {
        match self.members().await {
            Ok(members) => signal_members(&self.identity, &members, signal),
            Err(e) => self.signal_unseen(signal, &e),
        }
    }

    async fn wait(&self) -> ProcessEnd {
        let mut end = self.end.clone();
        match end.wait_for(Option::is_some).await {
            Ok(v) => v.unwrap_or(ProcessEnd::Unknown),
            Err(_) => ProcessEnd::Unknown,
        }
    }

    fn end(&self) -> Option<ProcessEnd> {
        *self.end.borrow()
    }

    async fn alive(&self) -> bool {
        // Our own child that has not been reaped is alive (or a zombie about to be reaped):
        // no need to read `/proc` to know it, which a stop would do before its signal.
        if self.child && self.end.borrow().is_none() {
            return true;
        }
        let quick = {
            let known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
            known.iter().any(|(&pid, &start)| {
                start_time_and_state(pid).is_some_and(|(s, st)| s == start && st != 'Z')
            })
        };
        // A tree that cannot be seen may be alive: a stop goes on (and tries again)
        // rather than declaring it gone.
        quick
            || self
                .members()
                .await
                .map_or(true, |members| members.iter().any(|e| !e.is_zombie()))
    }

    async fn stats(&self) -> TreeStats {
        let table = Table::recent();
        let members = self.members_in(&table);
        usage::stats(&members, self.identity.start_time)
    }

    /// A socket listening on `port` is open in a live process of the tree (found in a
    /// fresh read of `/proc`, so a child forked a moment ago counts).
    /// Most often the main process holds the socket itself, which costs a look at its
    /// descriptors; otherwise the whole tree is found in a fresh read of `/proc` (a `go run`
    /// child, a server forked by a shell). A `/proc` that cannot be read says nothing: not
    /// yet, and the probe tries again.
    async fn listens_on(&self, port: u16) -> bool {
        use crate::strays::ports::{holds_any, listening_on};
        let inodes = listening_on(port).await;
        if inodes.is_empty() {
            return false;
        }
        let leader = self.identity.pid;
        if holds_any(leader, &inodes)
            && start_time_and_state(leader)
                .is_some_and(|(start, _)| start == self.identity.start_time)
        {
            return true;
        }
        let Ok(members) = self.members().await else {
            return false;
        };
        members
            .iter()
            .filter(|e| !e.is_zombie())
            .any(|e| holds_any(e.pid, &inodes))
    }
}

/// Signals each live member after checking its identity once more, then the leader's
/// process group while a verified member still belongs to it (a group id cannot be reused
/// while it has members), which also reaches anything forked since the scan.
pub(crate) fn signal_members(
    leader: &ProcessIdentity,
    members: &[Entry],
    signal: Signal,
) -> Result<usize, SupervisorError> {
    let sig = signal.as_nix();
    let mut sent = 0;
    let mut group_live = false;
    for e in members.iter().filter(|e| !e.is_zombie()) {
        if start_time_and_state(e.pid).is_none_or(|(start, _)| start != e.start_time) {
            continue;
        }
        group_live |= e.pgrp == leader.pgid;
        match kill(Pid::from_raw(e.pid), sig) {
            Ok(()) => sent += 1,
            Err(Errno::ESRCH) => {}
            Err(source) => {
                return Err(SupervisorError::Signal {
                    signal: signal.name().to_owned(),
                    pid: e.pid,
                    source,
                });
            }
        }
    }
    if group_live && leader.pgid > 1 {
        match killpg(Pid::from_raw(leader.pgid), sig) {
            Ok(()) | Err(Errno::ESRCH | Errno::EPERM) => {}
            Err(source) => {
                return Err(SupervisorError::Signal {
                    signal: signal.name().to_owned(),
                    pid: -leader.pgid,
                    source,
                });
            }
        }
    }
    tracing::debug!(pid = leader.pid, %signal, sent, "signalled replica tree");
    Ok(sent)
}

impl UnixReplica {
    /// Signals the tree without seeing it, `/proc` being unreadable (`why`): only its
    /// process group, and only while the leader is our child not yet reaped — its group
    /// id cannot be reused before. That reaches every member that did not leave the
    /// group; the next look at `/proc` that succeeds finds the others.
    fn signal_unseen(
        &self,
        signal: Signal,
        why: &std::io::Error,
    ) -> Result<usize, SupervisorError> {
        tracing::warn!(pid = self.identity.pid, error = %why, "cannot read /proc; signalling the process group only");
        if !self.child || self.end().is_some() || self.identity.pgid <= 1 {
            return Ok(0);
        }
        match killpg(Pid::from_raw(self.identity.pgid), signal.as_nix()) {
            Ok(()) => Ok(1),
            Err(Errno::ESRCH) => Ok(0),
            Err(source) => Err(SupervisorError::Signal {
                signal: signal.name().to_owned(),
                pid: -self.identity.pgid,
                source,
            }),
        }
    }

    /// What is left of a replica whose main process already ended (or whose pid was
    /// recycled): its group members and token holders, if any.
    pub(crate) fn leftovers(identity: ProcessIdentity, instance: String) -> Self {
        let (_tx, rx) = watch::channel(Some(ProcessEnd::Unknown));
        Self::new(identity, instance, rx, false)
    }
}
