//! A replica's process tree as `/proc` shows it, found from what we know is ours.
//!
//! A replica is more than its main process: shells fork, `go run` spawns the real binary,
//! daemons double-fork and call `setsid`. The tree is the union of
//! - the main process, when its identity still matches;
//! - members of its session and process group (it leads both), started after it;
//! - processes carrying its `ORCHESTRA_INSTANCE` token in their environment (found even
//!   after they left the session and were reparented), when asked for — it costs a read of
//!   every candidate's environment;
//! - earlier members whose start time still matches;
//! - every descendant (by parent pid) of the above.
//!
//! A recycled pid never joins: every member is matched by pid *and* start time.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use orchestra_core::ProcessIdentity;
use procfs::process::{FDTarget, Process};

use crate::backend::TreeStats;

/// The environment variable holding a replica run's unique token.
pub const INSTANCE_ENV: &str = "ORCHESTRA_INSTANCE";

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
}

/// A snapshot and when it was taken.
type Slot<T> = Mutex<Option<(Instant, Arc<T>)>>;

/// How long a snapshot serves statistics. `ps` asks every replica for its numbers at
/// once: one scan of `/proc` answers all of them instead of one scan each. Signals never
/// use a shared snapshot; they read `/proc` afresh.
const STATS_SNAPSHOT_AGE: Duration = Duration::from_millis(250);

/// A recent snapshot shared by statistics readers.
fn shared<T>(slot: &Slot<T>, read: impl FnOnce() -> T) -> Arc<T> {
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
    pub fn recent() -> Arc<Self> {
        static SLOT: Slot<Table> = Mutex::new(None);
        shared(&SLOT, Self::read)
    }

    /// Reads `/proc`; processes that vanish while being read are skipped.
    pub fn read() -> Self {
        let mut entries = HashMap::new();
        if let Ok(all) = procfs::process::all_processes() {
            for stat in all.flatten().filter_map(|p| p.stat().ok()) {
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
        }
        Self { entries }
    }

    pub fn get(&self, pid: i32) -> Option<&Entry> {
        self.entries.get(&pid)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }
}

/// Where to look for a replica's processes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Roots<'a> {
    pub leader: &'a ProcessIdentity,
    pub instance: Option<&'a str>,
    pub known: &'a HashMap<i32, u64>,
    pub scan_env: bool,
}

/// The members of a replica's tree in `table`, zombies included (callers skip them when
/// signalling). Never includes this process or pid 1.
pub(crate) fn discover(table: &Table, roots: Roots<'_>) -> Vec<Entry> {
    let leader = roots.leader;
    let me = std::process::id() as i32;
    let started_after = |e: &Entry| e.start_time >= leader.start_time;
    let mut members: BTreeSet<i32> = BTreeSet::new();

    let leader_row = table.get(leader.pid);
    let leader_same = leader_row.is_some_and(|e| e.start_time == leader.start_time);
    // A pid in use as a session or group id cannot be handed out again, so the session
    // and group are ours while the leader lives, or while it is gone and nothing took its
    // pid. A leader pid now held by another process means the ids are that process's.
    let group_trusted = leader_same || leader_row.is_none();
    if leader_same && leader.boot_id == super::identity::boot_id() {
        members.insert(leader.pid);
    }
    if group_trusted && leader.boot_id == super::identity::boot_id() {
        for e in table.iter() {
            if (e.session == leader.pid || e.pgrp == leader.pgid) && started_after(e) {
                members.insert(e.pid);
            }
        }
    }
    for (&pid, &start) in roots.known {
        if table.get(pid).is_some_and(|e| e.start_time == start) {
            members.insert(pid);
        }
    }
    if let (Some(token), true) = (roots.instance, roots.scan_env) {
        let needle = format!("{INSTANCE_ENV}={token}\0");
        for e in table.iter() {
            if !members.contains(&e.pid)
                && started_after(e)
                && !e.is_zombie()
                && e.pid != me
                && environ_contains(e.pid, needle.as_bytes())
            {
                members.insert(e.pid);
            }
        }
    }
    // Descendants, by parent pid, to a fixed point.
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    for e in table.iter() {
        children.entry(e.ppid).or_default().push(e.pid);
    }
    let mut stack: Vec<i32> = members.iter().copied().collect();
    while let Some(pid) = stack.pop() {
        for &child in children.get(&pid).map(Vec::as_slice).unwrap_or_default() {
            if members.insert(child) {
                stack.push(child);
            }
        }
    }
    members
        .into_iter()
        .filter(|&pid| pid != me && pid > 1)
        .filter_map(|pid| table.get(pid).copied())
        .collect()
}

fn environ_contains(pid: i32, needle: &[u8]) -> bool {
    let Ok(env) = std::fs::read(format!("/proc/{pid}/environ")) else {
        return false;
    };
    // Each variable ends with NUL; prefix one so the first variable matches too.
    let mut hay = Vec::with_capacity(env.len() + 1);
    hay.push(0);
    hay.extend_from_slice(&env);
    let mut full = Vec::with_capacity(needle.len() + 1);
    full.push(0);
    full.extend_from_slice(needle);
    hay.windows(full.len()).any(|w| w == full.as_slice())
}

/// Sums the live members' use and finds their listening ports.
pub(crate) fn stats(members: &[Entry], leader_start: u64) -> TreeStats {
    let live: Vec<&Entry> = members.iter().filter(|e| !e.is_zombie()).collect();
    let ticks: u64 = live.iter().map(|e| e.cpu_ticks).sum();
    let hz = procfs::ticks_per_second().max(1);
    let now_ticks = uptime_secs().map_or(0.0, |s| s * hz as f64);
    let elapsed = (now_ticks - leader_start as f64).max(1.0);
    TreeStats {
        pids: live.iter().map(|e| e.pid).collect(),
        cpu_percent: (ticks as f64 / elapsed * 1000.0).round() / 10.0,
        rss_bytes: live.iter().map(|e| e.rss_pages).sum::<u64>() * procfs::page_size(),
        ports: listening_ports(live.iter().map(|e| e.pid)),
    }
}

fn uptime_secs() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/uptime").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// TCP ports (v4 and v6) in LISTEN state whose socket is open in one of `pids`.
pub(crate) fn listening_ports(pids: impl Iterator<Item = i32>) -> Vec<u16> {
    let mut inodes = BTreeSet::new();
    for pid in pids {
        let Ok(fds) = Process::new(pid).and_then(|p| p.fd()) else {
            continue;
        };
        for fd in fds.flatten() {
            if let FDTarget::Socket(inode) = fd.target {
                inodes.insert(inode);
            }
        }
    }
    if inodes.is_empty() {
        return Vec::new();
    }
    let listening = listening_sockets();
    let ports: BTreeSet<u16> = inodes
        .iter()
        .filter_map(|inode| listening.get(inode).copied())
        .collect();
    ports.into_iter().collect()
}

/// Listening TCP sockets (v4 and v6) by inode, from a recent read of the kernel's tables.
fn listening_sockets() -> Arc<HashMap<u64, u16>> {
    static SLOT: Slot<HashMap<u64, u16>> = Mutex::new(None);
    shared(&SLOT, || {
        [procfs::net::tcp(), procfs::net::tcp6()]
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.state == procfs::net::TcpState::Listen)
            .map(|e| (e.inode, e.local_address.port()))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unix::identity::IdentityExt;

    #[test]
    fn finds_children_and_skips_itself() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let me = ProcessIdentity::of(std::process::id() as i32).unwrap();
        let table = Table::read();
        let members = discover(
            &table,
            Roots {
                leader: &me,
                instance: None,
                known: &HashMap::new(),
                scan_env: false,
            },
        );
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(members.iter().any(|e| e.pid == child.id() as i32));
        assert!(members.iter().all(|e| e.pid != me.pid));
    }

    #[test]
    fn finds_listening_ports_of_this_process() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let ports = listening_ports(std::iter::once(std::process::id() as i32));
        assert!(ports.contains(&port), "{ports:?} lacks {port}");
    }
}
