//! Stopping strays with the same ladder as `stop`: stop signal, grace, SIGKILL.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use orchestra_core::{ProcessIdentity, Signal};
use tokio::time::Instant;

use super::Stray;
use crate::error::SupervisorError;
use crate::stop::{KILL_GIVE_UP, LadderState, POLL_INTERVAL, Step, StopPlan, next_step};
use crate::unix::signal_members;
use crate::unix::table::{Entry, Table};
use crate::unix::tree::{Roots, discover};

/// How stopping one stray went.
#[derive(Debug)]
pub struct StrayStopped {
    /// The stray.
    pub stray: Stray,
    /// What happened to it.
    pub outcome: StrayOutcome,
}

/// What happened to a stray and its descendants.
#[derive(Debug)]
pub enum StrayOutcome {
    /// It had already ended (or its pid belongs to another process now): nothing was sent.
    AlreadyGone,
    /// It ended after the stop signal.
    Stopped,
    /// It needed SIGKILL.
    Killed,
    /// These pids survived SIGKILL (uninterruptible sleep, most likely).
    Unkillable {
        /// What was still alive.
        pids: Vec<i32>,
    },
    /// A signal could not be sent (another user's process, say).
    Failed(SupervisorError),
}

impl fmt::Display for StrayOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AlreadyGone => f.write_str("already gone"),
            Self::Stopped => f.write_str("stopped"),
            Self::Killed => f.write_str("killed"),
            Self::Unkillable { pids } => write!(f, "survived SIGKILL: pids {pids:?}"),
            Self::Failed(e) => write!(f, "cannot be stopped: {e}"),
        }
    }
}

impl StrayOutcome {
    /// Whether nothing of the stray is left.
    pub const fn is_gone(&self) -> bool {
        matches!(self, Self::AlreadyGone | Self::Stopped | Self::Killed)
    }
}

/// One stray being stopped.
struct Work {
    /// The stray, with the group it may signal: its own, or that of a stray of the same
    /// service which leads it (`go run`'s child is in `go run`'s group); otherwise none.
    leader: ProcessIdentity,
    /// Members seen so far (pid → start time): one reparented away is still found.
    known: HashMap<i32, u64>,
    ladder: LadderState,
    outcome: Option<StrayOutcome>,
}

impl Work {
    fn new(stray: &Stray, all: &[Stray]) -> Self {
        let pgid = stray.identity.pgid;
        let own_group = nix::unistd::getpgrp().as_raw();
        let group_ok = pgid != own_group
            && (pgid == stray.pid
                || all
                    .iter()
                    .any(|o| o.pid == pgid && o.service == stray.service));
        Self {
            leader: ProcessIdentity {
                // No process has group -1: the group is left alone.
                pgid: if group_ok { pgid } else { -1 },
                ..stray.identity.clone()
            },
            known: HashMap::new(),
            ladder: LadderState::default(),
            outcome: None,
        }
    }

    fn members(&mut self, table: &Table) -> Vec<Entry> {
        let members = discover(
            table,
            Roots {
                leader: &self.leader,
                instance: None,
                known: &self.known,
            },
        );
        self.known = members
            .iter()
            .filter(|e| !e.is_zombie())
            .map(|e| (e.pid, e.start_time))
            .collect();
        members
    }
}

/// Stops every stray with its descendants (and its process group when it leads it, or a
/// stray of the same service does): `signal` first, SIGKILL after `timeout`, SIGKILL again
/// while something survives, and a give-up after ten seconds of that. Every pid's start
/// time is checked before each signal, so a pid recycled meanwhile is never signalled.
/// The strays are stopped together; the result is in the order given.
pub async fn stop_strays(strays: &[Stray], signal: Signal, timeout: Duration) -> Vec<StrayStopped> {
    let plan = StopPlan { signal, timeout };
    let mut work: Vec<Work> = strays.iter().map(|s| Work::new(s, strays)).collect();
    let started = Instant::now();
    loop {
        let now = started.elapsed();
        let table = match Table::read() {
            Ok(table) => table,
            // Unreadable is not gone: look again, up to as long as a stop may last.
            Err(e) if now < plan.timeout + KILL_GIVE_UP => {
                tracing::debug!(error = %e, "cannot read /proc; looking again");
                tokio::time::sleep(POLL_INTERVAL).await;
                continue;
            }
            Err(e) => {
                for w in work.iter_mut().filter(|w| w.outcome.is_none()) {
                    w.outcome = Some(StrayOutcome::Failed(SupervisorError::ProcessTable {
                        source: std::io::Error::new(e.kind(), e.to_string()),
                    }));
                }
                break;
            }
        };
        let mut waiting = false;
        for w in work.iter_mut().filter(|w| w.outcome.is_none()) {
            let members = w.members(&table);
            let live: Vec<i32> = members
                .iter()
                .filter(|e| !e.is_zombie())
                .map(|e| e.pid)
                .collect();
            if w.ladder == LadderState::default() && live.is_empty() {
                w.outcome = Some(StrayOutcome::AlreadyGone);
                continue;
            }
            match next_step(&plan, &w.ladder, now, !live.is_empty(), false) {
                Step::Done if w.ladder.killed_at.is_some() => {
                    w.outcome = Some(StrayOutcome::Killed);
                }
                Step::Done => w.outcome = Some(StrayOutcome::Stopped),
                Step::GiveUp => w.outcome = Some(StrayOutcome::Unkillable { pids: live }),
                Step::Poll => waiting = true,
                Step::Send(sig) => match signal_members(&w.leader, &members, sig) {
                    Ok(_) => {
                        waiting = true;
                        if sig == Signal::KILL {
                            let first = w.ladder.killed_at.map_or(now, |(first, _)| first);
                            w.ladder.killed_at = Some((first, now));
                        } else {
                            w.ladder.signalled_at = Some(now);
                        }
                        tracing::debug!(pid = w.leader.pid, signal = %sig, "signalled a stray");
                    }
                    Err(e) => w.outcome = Some(StrayOutcome::Failed(e)),
                },
            }
        }
        if !waiting {
            break;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    strays
        .iter()
        .zip(work)
        .map(|(stray, w)| StrayStopped {
            stray: stray.clone(),
            outcome: w.outcome.unwrap_or(StrayOutcome::AlreadyGone),
        })
        .collect()
}
