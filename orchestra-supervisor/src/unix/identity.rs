//! Process identity: a pid plus its start time and the boot it belongs to, so that a
//! recycled pid is never mistaken for the process that was written down.

use std::io;
use std::sync::OnceLock;

use orchestra_core::ProcessIdentity;
use procfs::ProcError;
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
    /// `/proc` cannot tell right now (too many open files, …): it may well be alive, and
    /// must be treated as such.
    Unreadable,
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
        match read_start_time_and_state(self.pid) {
            Ok(Some((start, state))) if start == self.start_time => {
                if state == 'Z' || state == 'X' {
                    Liveness::Zombie
                } else {
                    Liveness::Alive
                }
            }
            Ok(_) => Liveness::Gone,
            Err(e) => {
                tracing::debug!(pid = self.pid, error = %e, "cannot read /proc");
                Liveness::Unreadable
            }
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

/// Field 22 (start time in clock ticks since boot) and the state letter of `pid`; `None`
/// when it is gone or cannot be read (see [`read_start_time_and_state`] to tell which).
pub fn start_time_and_state(pid: i32) -> Option<(u64, char)> {
    read_start_time_and_state(pid).ok().flatten()
}

/// Field 22 and the state letter of `pid`: `Ok(None)` when the process is gone, an error
/// when `/proc` cannot tell (see [`means_gone`]).
pub fn read_start_time_and_state(pid: i32) -> Result<Option<(u64, char)>, ProcError> {
    match Process::new(pid).and_then(|p| p.stat()) {
        Ok(stat) => Ok(Some((stat.starttime, stat.state))),
        Err(e) if means_gone(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether a failed read of `/proc/<pid>/…` means that the process is gone for us: it
/// ended (ENOENT, or ESRCH while reading), or its pid is held by a process we may not
/// read (`/proc` mounted with `hidepid`), which is then another user's and none of ours.
/// Anything else — too many open files (EMFILE, ENFILE), out of memory — says nothing
/// about the process, and taking it for "gone" would leave a live process unsupervised
/// with its record deleted.
pub fn means_gone(e: &ProcError) -> bool {
    matches!(e, ProcError::NotFound(_) | ProcError::PermissionDenied(_))
}

/// [`means_gone`] for a plain read of a `/proc` file.
pub fn io_means_gone(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied
    ) || e.raw_os_error() == Some(nix::libc::ESRCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_missing_or_foreign_process_reads_as_gone() {
        assert!(means_gone(&ProcError::NotFound(None)));
        assert!(means_gone(&ProcError::PermissionDenied(None)));
        let emfile = io::Error::from_raw_os_error(nix::libc::EMFILE);
        assert!(!means_gone(&ProcError::Io(emfile, None)));
        assert!(!means_gone(&ProcError::Incomplete(None)));

        assert!(io_means_gone(&io::Error::from_raw_os_error(
            nix::libc::ENOENT
        )));
        assert!(io_means_gone(&io::Error::from_raw_os_error(
            nix::libc::ESRCH
        )));
        for errno in [nix::libc::EMFILE, nix::libc::ENFILE, nix::libc::ENOMEM] {
            assert!(!io_means_gone(&io::Error::from_raw_os_error(errno)));
        }
    }

    #[test]
    fn a_reaped_child_is_gone_and_this_process_is_not() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        child.wait().unwrap();
        assert!(matches!(read_start_time_and_state(pid), Ok(None)));
        let me = std::process::id() as i32;
        assert!(matches!(
            read_start_time_and_state(me),
            Ok(Some((_, 'R' | 'S')))
        ));
    }

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
