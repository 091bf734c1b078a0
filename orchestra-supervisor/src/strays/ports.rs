//! Who listens on a TCP port: LISTEN sockets from `/proc/net/tcp{,6}`, found by inode among
//! the processes' open file descriptors.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use procfs::net::TcpState;
use procfs::process::{FDTarget, Process};

use super::proc::{self, Ancestry, canonical};

/// A process listening on a TCP port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortHolder {
    /// The port.
    pub port: u16,
    /// The process holding it; 0 when the socket's owner cannot be seen (a process of
    /// another user, without the privilege to read its file descriptors).
    pub pid: i32,
    /// Its command line, arguments joined by spaces.
    pub cmdline: String,
    /// Its working directory, when readable.
    pub cwd: Option<PathBuf>,
}

impl fmt::Display for PortHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pid == 0 {
            write!(f, "port {} is held by a process of another user", self.port)
        } else {
            write!(
                f,
                "port {} is held by pid {}: {}",
                self.port, self.pid, self.cmdline
            )
        }
    }
}

impl PortHolder {
    fn of(port: u16, pid: i32) -> Self {
        Self {
            port,
            pid,
            cmdline: proc::shown(&proc::argv(pid)),
            cwd: proc::cwd(pid),
        }
    }
}

/// Socket inode → port of every TCP socket (IPv4 and IPv6) in LISTEN state.
fn listening() -> HashMap<u64, u16> {
    [procfs::net::tcp(), procfs::net::tcp6()]
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.state == TcpState::Listen)
        .map(|e| (e.inode, e.local_address.port()))
        .collect()
}

/// The socket inodes `pid` has open.
fn sockets(pid: i32) -> Vec<u64> {
    let Ok(fds) = Process::new(pid).and_then(|p| p.fd()) else {
        return Vec::new();
    };
    fds.flatten()
        .filter_map(|fd| match fd.target {
            FDTarget::Socket(inode) => Some(inode),
            _ => None,
        })
        .collect()
}

/// Who listens on TCP `port` (IPv4 or IPv6, any address), or `None` when nobody does.
///
/// When several processes share the socket (a forking server), the lowest pid is named.
/// A listener whose owner cannot be seen is reported with pid 0.
pub fn port_holder(port: u16) -> Option<PortHolder> {
    port_holders(&[port]).pop()
}

/// [`port_holder`] for many ports in one pass over `/proc` (checking a fleet's ports
/// before starting it): the held ones, sorted by port.
pub fn port_holders(ports: &[u16]) -> Vec<PortHolder> {
    // Reading the kernel's tables walks its whole TCP hash (milliseconds on a machine
    // with much memory, however few sockets it has): not for nothing.
    if ports.is_empty() {
        return Vec::new();
    }
    let inodes: HashMap<u64, u16> = listening()
        .into_iter()
        .filter(|(_, p)| ports.contains(p))
        .collect();
    let held: BTreeSet<u16> = inodes.values().copied().collect();
    let mut owners: BTreeMap<u16, i32> = BTreeMap::new();
    if !held.is_empty() {
        let mut pids = proc::pids();
        pids.sort_unstable();
        for pid in pids {
            for inode in sockets(pid) {
                if let Some(&port) = inodes.get(&inode) {
                    owners.entry(port).or_insert(pid);
                }
            }
            if owners.len() == held.len() {
                break;
            }
        }
    }
    held.into_iter()
        .map(|port| match owners.get(&port) {
            Some(&pid) => PortHolder::of(port, pid),
            None => PortHolder {
                port,
                pid: 0,
                cmdline: String::new(),
                cwd: None,
            },
        })
        .collect()
}

/// The inodes of the sockets listening on TCP `port` (IPv4 or IPv6, any address), from the
/// kernel's tables read after this call began.
///
/// Every readiness probe that reaches a port asks this, often hundreds at once as a fleet
/// comes up, and the tables list every socket of the machine (thousands on a busy one). So
/// concurrent callers share one read, as [`Table::fresh`](crate::unix::table::Table::fresh) does for the
/// process table: whoever asked before a read began is served by it, and a read keeps only
/// the LISTEN lines, picked by their state before anything else of them is parsed.
pub(crate) async fn listening_on(port: u16) -> HashSet<u64> {
    /// The latest read, and when it began.
    type Read = Option<(Instant, Arc<HashMap<u64, u16>>)>;
    static LAST: tokio::sync::Mutex<Read> = tokio::sync::Mutex::const_new(None);
    let asked = Instant::now();
    let mut last = LAST.lock().await;
    let table = match last.as_ref() {
        Some((began, table)) if *began >= asked => Arc::clone(table),
        _ => {
            let began = Instant::now();
            let table = Arc::new(
                tokio::task::spawn_blocking(listen_lines)
                    .await
                    .unwrap_or_else(|_| listen_lines()),
            );
            *last = Some((began, Arc::clone(&table)));
            table
        }
    };
    drop(last);
    table
        .iter()
        .filter(|&(_, &p)| p == port)
        .map(|(&inode, _)| inode)
        .collect()
}

/// Socket inode → port of every LISTEN line of `/proc/net/tcp{,6}`: `sl local rem st … inode`,
/// with the local address ending in the port in hex and state `0A` for LISTEN.
fn listen_lines() -> HashMap<u64, u16> {
    let mut out = HashMap::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let mut fields = line.split_whitespace();
            let (Some(local), Some("0A")) = (fields.nth(1), fields.nth(1)) else {
                continue;
            };
            // After the state: queues, timer, retransmits, uid, timeout, then the inode.
            let port = local
                .rsplit_once(':')
                .and_then(|(_, hex)| u16::from_str_radix(hex, 16).ok());
            let inode = fields.nth(5).and_then(|i| i.parse().ok());
            if let (Some(port), Some(inode)) = (port, inode) {
                out.insert(inode, port);
            }
        }
    }
    out
}

/// Whether `pid` has one of the sockets `inodes` open.
pub(crate) fn holds_any(pid: i32, inodes: &HashSet<u64>) -> bool {
    sockets(pid).iter().any(|i| inodes.contains(i))
}

/// Every TCP port listened on by a process whose working directory is inside `root` and
/// which is neither in `exclude` nor a descendant of a member, sorted by port then pid.
/// This process and its ancestors are left out too.
#[expect(
    clippy::implicit_hasher,
    reason = "a pid set is a plain HashSet everywhere in Orchestra"
)]
pub fn ports_held_under(root: &Path, exclude: &HashSet<i32>) -> Vec<PortHolder> {
    let listening = listening();
    if listening.is_empty() {
        return Vec::new();
    }
    let root = canonical(root);
    let mut ancestry = Ancestry::default();
    let mine = ancestry.of_self();
    let mut out = Vec::new();
    for pid in proc::pids() {
        if mine.contains(&pid) || !proc::cwd(pid).is_some_and(|c| c.starts_with(&root)) {
            continue;
        }
        let mut ports: Vec<u16> = sockets(pid)
            .iter()
            .filter_map(|i| listening.get(i).copied())
            .collect();
        if ports.is_empty() || ancestry.within(pid, exclude) {
            continue;
        }
        ports.sort_unstable();
        ports.dedup();
        out.extend(ports.into_iter().map(|port| PortHolder::of(port, pid)));
    }
    out.sort_by_key(|h| (h.port, h.pid));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_this_process_as_the_holder_of_its_listener() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let holder = port_holder(port).unwrap();
        assert_eq!(holder.pid, std::process::id() as i32);
        assert!(
            holder
                .to_string()
                .starts_with(&format!("port {port} is held by pid {}: ", holder.pid))
        );
        let other = std::net::TcpListener::bind("[::1]:0").unwrap();
        let v6 = other.local_addr().unwrap().port();
        let both = port_holders(&[v6, port, 1]);
        assert_eq!(both.iter().map(|h| h.port).collect::<Vec<_>>(), {
            let mut v = vec![port, v6];
            v.sort_unstable();
            v
        });
        drop(l);
        assert_eq!(port_holder(port), None);
    }

    #[tokio::test]
    async fn a_listener_belongs_to_the_processes_holding_its_socket() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let me = std::process::id() as i32;
        let inodes = listening_on(port).await;
        assert_eq!(inodes.len(), 1, "{inodes:?}");
        let parsed: HashSet<u64> = listening()
            .into_iter()
            .filter(|&(_, p)| p == port)
            .map(|(inode, _)| inode)
            .collect();
        assert_eq!(inodes, parsed, "the quick scan agrees with procfs");
        let v6 = std::net::TcpListener::bind("[::1]:0").unwrap();
        let v6_port = v6.local_addr().unwrap().port();
        assert_eq!(
            listening_on(v6_port).await.len(),
            1,
            "IPv6 listeners count too"
        );
        assert!(holds_any(me, &inodes));
        assert!(!holds_any(1, &inodes), "another process does not hold it");
        drop(l);
        assert!(
            listening_on(port).await.is_empty(),
            "nobody listens any more"
        );
    }

    #[test]
    fn an_unseen_owner_reads_well() {
        let h = PortHolder {
            port: 80,
            pid: 0,
            cmdline: String::new(),
            cwd: None,
        };
        assert_eq!(
            h.to_string(),
            "port 80 is held by a process of another user"
        );
    }
}
