//! What a replica's tree uses: CPU, resident memory and listening TCP ports, summed over
//! its live members (for `ps` and readiness).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use procfs::process::{FDTarget, Process};

use super::table::{Entry, Slot, shared};
use crate::backend::TreeStats;

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

    #[test]
    fn finds_listening_ports_of_this_process() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let ports = listening_ports(std::iter::once(std::process::id() as i32));
        assert!(ports.contains(&port), "{ports:?} lacks {port}");
    }
}
