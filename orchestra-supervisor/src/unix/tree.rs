//! A replica's process tree as `/proc` shows it, found from what we know is ours.
//!
//! A replica is more than its main process: shells fork, `go run` spawns the real binary,
//! daemons double-fork and call `setsid`. The tree is the union of
//! - the main process, when its identity still matches;
//! - members of its process group (it leads it), and of the session it leads (a replica
//!   adopted from an older daemon that started each replica in a session of its own),
//!   started after it;
//! - processes carrying its `ORCHESTRA_INSTANCE` token in their environment (found even
//!   after they left the group and were reparented), when the table was read with the
//!   tokens ([`Table::read_with_tokens`]);
//! - earlier members whose start time still matches;
//! - every descendant (by parent pid) of the above.
//!
//! A recycled pid never joins: every member is matched by pid *and* start time.

use std::collections::{BTreeSet, HashMap};
use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use orchestra_core::ProcessIdentity;
use procfs::process::{FDTarget, Process};

use super::identity::{io_means_gone, means_gone};
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
    /// Pids by parent pid.
    children: HashMap<i32, Vec<i32>>,
    /// Each live process's `ORCHESTRA_INSTANCE` token, when read with the tokens.
    tokens: Option<HashMap<i32, Arc<str>>>,
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
}

/// Where to look for a replica's processes. The instance token is looked for only in a
/// table read with the tokens.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Roots<'a> {
    pub leader: &'a ProcessIdentity,
    pub instance: Option<&'a str>,
    pub known: &'a HashMap<i32, u64>,
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
    if let (Some(token), Some(tokens)) = (roots.instance, table.tokens.as_ref()) {
        for (&pid, held) in tokens {
            if **held == *token
                && !members.contains(&pid)
                && table.get(pid).is_some_and(started_after)
            {
                members.insert(pid);
            }
        }
    }
    // Descendants, by parent pid, to a fixed point.
    let mut stack: Vec<i32> = members.iter().copied().collect();
    while let Some(pid) = stack.pop() {
        for &child in table
            .children
            .get(&pid)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
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

/// A `/proc` read error as an I/O error, keeping its OS error where it has one.
fn proc_error(e: procfs::ProcError) -> io::Error {
    match e {
        procfs::ProcError::Io(e, _) => e,
        other => io::Error::other(other.to_string()),
    }
}

/// The value of `ORCHESTRA_INSTANCE` in a process's environment, if it has one (none when
/// it is gone or another user's); an error when it cannot be read now.
fn instance_token(pid: i32) -> io::Result<Option<Arc<str>>> {
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
        let table = Table::read().unwrap();
        let members = discover(
            &table,
            Roots {
                leader: &me,
                instance: None,
                known: &HashMap::new(),
            },
        );
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(members.iter().any(|e| e.pid == child.id() as i32));
        assert!(members.iter().all(|e| e.pid != me.pid));
    }

    /// An orphan in another process group, related to us only by its token.
    fn orphan_with_token(token: &str) -> i32 {
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

    fn found(table: &Table, instance: &str, pid: i32) -> bool {
        let me = ProcessIdentity::of(std::process::id() as i32).unwrap();
        discover(
            table,
            Roots {
                leader: &me,
                instance: Some(instance),
                known: &HashMap::new(),
            },
        )
        .iter()
        .any(|e| e.pid == pid)
    }

    #[test]
    fn finds_an_orphan_by_its_token_only_when_tokens_are_read() {
        let token = format!("tree-test-{}", std::process::id());
        let orphan = orphan_with_token(&token);
        let plain = Table::read().unwrap();
        let with_tokens = Table::read_with_tokens().unwrap();
        // Read again: the second read takes the tokens from what the first one learnt.
        let again = Table::read_with_tokens().unwrap();
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(orphan),
            nix::sys::signal::Signal::SIGKILL,
        );
        assert!(plain.get(orphan).is_some(), "the orphan is in the table");
        assert!(!found(&plain, &token, orphan), "no tokens read: not found");
        assert!(found(&with_tokens, &token, orphan));
        assert!(found(&again, &token, orphan));
        assert!(!found(&with_tokens, "another-token", orphan));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_fresh_table_is_read_after_it_was_asked_for() {
        // Concurrent askers share reads, yet each sees a process started before it asked.
        let mut set = tokio::task::JoinSet::new();
        for n in 0..8 {
            set.spawn(async move {
                let token = format!("fresh-test-{}-{n}", std::process::id());
                let orphan = orphan_with_token(&token);
                let table = Table::fresh().await.unwrap();
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(orphan),
                    nix::sys::signal::Signal::SIGKILL,
                );
                found(&table, &token, orphan)
            });
        }
        while let Some(seen) = set.join_next().await {
            assert!(
                seen.unwrap(),
                "a process started before asking is in the table"
            );
        }
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

    #[test]
    fn finds_listening_ports_of_this_process() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let ports = listening_ports(std::iter::once(std::process::id() as i32));
        assert!(ports.contains(&port), "{ports:?} lacks {port}");
    }
}
