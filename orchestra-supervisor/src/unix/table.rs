//! A snapshot of the process table from `/proc`: every process's parent, group, session,
//! start time and use, and (when asked for) its instance token.
//!
//! Reading `/proc` is what every decision about a replica's processes starts from, and a
//! fleet asks for it all at once (a stop signals every replica; `ps` counts every tree):
//! concurrent askers share reads ([`Table::fresh`] for decisions, [`Table::recent`] for
//! statistics), and a process's token is read once in its life.

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::identity::means_gone;
use super::token::instance_token;

/// One row of the process table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    pub pid: i32,
    pub ppid: i32,
    pub pgrp: i32,
    pub session: i32,
    pub start_time: u64,
    pub state: char,
    pub cpu_ticks: u64,
    pub rss_pages: u64,
}

impl Entry {
    pub fn is_zombie(&self) -> bool {
        self.state == 'Z' || self.state == 'X'
    }
}

/// A snapshot of every process.
#[derive(Debug, Default)]
pub(crate) struct Table {
    entries: HashMap<i32, Entry>,
    /// Pids by parent pid.
    children: HashMap<i32, Vec<i32>>,
    /// Each live process's `ORCHESTRA_INSTANCE` token, when read with the tokens.
    tokens: Option<HashMap<i32, Arc<str>>>,
}

/// A snapshot and when it was taken.
pub(super) type Slot<T> = Mutex<Option<(Instant, Arc<T>)>>;

/// How long a snapshot serves statistics. `ps` asks every replica for its numbers at
/// once: one scan of `/proc` answers all of them instead of one scan each. Signals never
/// use a shared snapshot; they read `/proc` afresh.
const STATS_SNAPSHOT_AGE: Duration = Duration::from_millis(250);

/// A recent snapshot shared by statistics readers.
pub(super) fn shared<T>(slot: &Slot<T>, read: impl FnOnce() -> T) -> Arc<T> {
    let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((at, value)) = slot.as_ref()
        && at.elapsed() < STATS_SNAPSHOT_AGE
    {
        return Arc::clone(value);
    }
    let value = Arc::new(read());
    *slot = Some((Instant::now(), Arc::clone(&value)));
    value
}

impl Table {
    /// A snapshot at most [`STATS_SNAPSHOT_AGE`] old, for statistics only.
    ///
    /// A table that cannot be read is empty: statistics may be missing for a moment,
    /// nothing is decided from them.
    pub fn recent() -> Arc<Self> {
        static SLOT: Slot<Table> = Mutex::new(None);
        shared(&SLOT, || Self::read().unwrap_or_default())
    }

    /// A table with the tokens, read after this call began: fresh enough to signal from.
    ///
    /// A fleet stops all at once, and every replica wants `/proc` read before its signal
    /// and again before it is declared gone. Concurrent callers share one read: whoever
    /// asked before a read began is served by it, and the rest by the next one, which
    /// starts as soon as the current one ends. The read runs on the blocking pool. An
    /// error when `/proc` cannot be read whole (see [`Table::read`]).
    pub async fn fresh() -> io::Result<Arc<Self>> {
        static LAST: tokio::sync::Mutex<Option<(Instant, Arc<Table>)>> =
            tokio::sync::Mutex::const_new(None);
        let asked = Instant::now();
        let mut last = LAST.lock().await;
        if let Some((began, table)) = last.as_ref()
            && *began >= asked
        {
            return Ok(Arc::clone(table));
        }
        let began = Instant::now();
        let table = match tokio::task::spawn_blocking(Self::read_with_tokens).await {
            Ok(table) => Arc::new(table?),
            // The read panicked or the runtime is shutting down: read here instead.
            Err(_) => Arc::new(Self::read_with_tokens()?),
        };
        *last = Some((began, Arc::clone(&table)));
        Ok(table)
    }

    /// Reads `/proc`; processes that end while being read are skipped. An error when it
    /// cannot be read whole (too many open files, …): a table missing live processes
    /// would make them look gone.
    pub fn read() -> io::Result<Self> {
        let mut entries = HashMap::new();
        for process in procfs::process::all_processes().map_err(proc_error)? {
            let stat = match process.and_then(|p| p.stat()) {
                Ok(stat) => stat,
                Err(e) if means_gone(&e) => continue,
                Err(e) => return Err(proc_error(e)),
            };
            entries.insert(
                stat.pid,
                Entry {
                    pid: stat.pid,
                    ppid: stat.ppid,
                    pgrp: stat.pgrp,
                    session: stat.session,
                    start_time: stat.starttime,
                    state: stat.state,
                    cpu_ticks: stat.utime + stat.stime,
                    rss_pages: stat.rss,
                },
            );
        }
        let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
        for e in entries.values() {
            children.entry(e.ppid).or_default().push(e.pid);
        }
        Ok(Self {
            entries,
            children,
            tokens: None,
        })
    }

    /// Reads `/proc` and every live process's instance token. A process's environment is
    /// read once in its life (the token is inherited at fork and kept across exec), so a
    /// fleet of hundreds costs one read of each environment, not one per replica and scan.
    pub fn read_with_tokens() -> io::Result<Self> {
        /// Tokens by pid and start time (`None`: the process has none), kept for the
        /// processes that still exist.
        type Known = HashMap<(i32, u64), Option<Arc<str>>>;
        static KNOWN: Mutex<Option<Known>> = Mutex::new(None);

        let mut table = Self::read()?;
        let me = std::process::id() as i32;
        let mut known = KNOWN.lock().unwrap_or_else(PoisonError::into_inner);
        let before = known.take().unwrap_or_default();
        let mut now = Known::with_capacity(table.entries.len());
        let mut tokens = HashMap::new();
        for e in table
            .entries
            .values()
            .filter(|e| !e.is_zombie() && e.pid != me)
        {
            let key = (e.pid, e.start_time);
            let token = match before.get(&key) {
                Some(token) => token.clone(),
                // Unreadable (out of descriptors) is not "has none": that would be
                // remembered for the process's whole life.
                None => instance_token(e.pid)?,
            };
            if let Some(token) = &token {
                tokens.insert(e.pid, Arc::clone(token));
            }
            now.insert(key, token);
        }
        *known = Some(now);
        table.tokens = Some(tokens);
        Ok(table)
    }

    pub fn get(&self, pid: i32) -> Option<&Entry> {
        self.entries.get(&pid)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    /// The pids whose parent is `pid`.
    pub fn children_of(&self, pid: i32) -> &[i32] {
        self.children
            .get(&pid)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Each live process's instance token; `None` when the table was read without them.
    pub fn tokens(&self) -> Option<&HashMap<i32, Arc<str>>> {
        self.tokens.as_ref()
    }
}

/// A `/proc` read error as an I/O error, keeping its OS error where it has one.
fn proc_error(e: procfs::ProcError) -> io::Error {
    match e {
        procfs::ProcError::Io(e, _) => e,
        other => io::Error::other(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_and_its_parent_are_in_the_table() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let table = Table::read().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        let me = std::process::id() as i32;
        let pid = child.id() as i32;
        assert_eq!(table.get(pid).map(|e| e.ppid), Some(me));
        assert!(table.children_of(me).contains(&pid));
        assert!(table.tokens().is_none(), "read without the tokens");
    }
}
