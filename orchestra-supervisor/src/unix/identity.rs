//! Process identity: a pid plus its start time and the boot it belongs to, so that a
//! recycled pid is never mistaken for the process that was written down.

use std::io;
use std::sync::OnceLock;

use orchestra_core::ProcessIdentity;
use procfs::process::Process;

/// Where a written-down process stands now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// The same process, running.
    Alive,
    /// The same process, ended but not yet reaped by its parent: harmless to signal.
    Zombie,
    /// It ended, or its pid now belongs to another process, or the machine rebooted.
    Gone,
}

impl Liveness {
    /// Whether the process may still be signalled (it is the same one).
    pub const fn is_same(self) -> bool {
        matches!(self, Self::Alive | Self::Zombie)
    }
}

/// Identity helpers for [`ProcessIdentity`], read from `/proc`.
pub trait IdentityExt: Sized {
    /// The identity of the live process `pid`.
    fn of(pid: i32) -> io::Result<Self>;
    /// Whether the process is still the one written down.
    fn liveness(&self) -> Liveness;
}

impl IdentityExt for ProcessIdentity {
    fn of(pid: i32) -> io::Result<Self> {
        let stat = Process::new(pid)
            .and_then(|p| p.stat())
            .map_err(io::Error::other)?;
        Ok(Self {
            pid,
            pgid: stat.pgrp,
            start_time: stat.starttime,
            boot_id: boot_id().to_owned(),
        })
    }

    fn liveness(&self) -> Liveness {
        if self.boot_id != boot_id() {
            return Liveness::Gone;
        }
        match start_time_and_state(self.pid) {
            Some((start, state)) if start == self.start_time => {
                if state == 'Z' || state == 'X' {
                    Liveness::Zombie
                } else {
                    Liveness::Alive
                }
            }
            _ => Liveness::Gone,
        }
    }
}

/// `/proc/sys/kernel/random/boot_id`, read once: it changes only with a reboot.
pub fn boot_id() -> &'static str {
    static BOOT_ID: OnceLock<String> = OnceLock::new();
    BOOT_ID.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .map(|s| s.trim().to_owned())
            .unwrap_or_default()
    })
}

/// Field 22 (start time in clock ticks since boot) and the state letter of `pid`.
pub fn start_time_and_state(pid: i32) -> Option<(u64, char)> {
    let stat = Process::new(pid).ok()?.stat().ok()?;
    Some((stat.starttime, stat.state))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_identity_is_alive_and_a_wrong_start_time_is_gone() {
        let me = ProcessIdentity::of(std::process::id() as i32).unwrap();
        assert_eq!(me.liveness(), Liveness::Alive);
        assert!(!me.boot_id.is_empty());
        let other = ProcessIdentity {
            start_time: me.start_time + 1,
            ..me.clone()
        };
        assert_eq!(other.liveness(), Liveness::Gone);
        let rebooted = ProcessIdentity {
            boot_id: "another-boot".into(),
            ..me
        };
        assert_eq!(rebooted.liveness(), Liveness::Gone);
    }
}
