//! A container as the supervisor sees a process: its identity (the container's main pid on
//! the host) and how it ended (from the engine's exit code).

use orchestra_core::{ProcessEnd, ProcessIdentity};
use orchestra_supervisor::IdentityExt;
use orchestra_supervisor::unix::identity::boot_id;

use crate::inspect::unix_time;

/// Linux's USER_HZ: the unit of a process's start time in `/proc/<pid>/stat`.
const TICKS_PER_SECOND: u64 = 100;

/// The identity of the container's main process (`State.Pid`). Read from `/proc` when the
/// engine runs on this machine — then it is exactly what the replica records and the
/// adoption check compare — and otherwise derived from `State.StartedAt`, which is stable
/// for the container's life.
pub(crate) fn identity_of(pid: i64, started_at: Option<&str>) -> ProcessIdentity {
    let pid = i32::try_from(pid).unwrap_or(0);
    if pid > 0
        && let Ok(identity) = ProcessIdentity::of(pid)
    {
        return identity;
    }
    let start_time = started_at.and_then(unix_time).map_or(0, |(secs, centis)| {
        let since_boot = secs.saturating_sub(boot_time().unwrap_or(0));
        since_boot * TICKS_PER_SECOND + centis
    });
    ProcessIdentity {
        pid,
        pgid: pid,
        start_time,
        boot_id: boot_id().to_owned(),
    }
}

/// How a container ended, from its exit code. The engine reports a main process ended by
/// signal n as `128 + n` (as a shell does), and an out-of-memory kill as 137 with
/// `OOMKilled` set; a code above 128 is therefore read as a signal — a program that exits
/// with 130 on its own is reported as killed by SIGINT, which is what a shell would say.
pub(crate) fn process_end(code: Option<i64>, oom_killed: bool) -> ProcessEnd {
    if oom_killed {
        return ProcessEnd::Signalled(9);
    }
    match code.and_then(|c| i32::try_from(c).ok()) {
        None => ProcessEnd::Unknown,
        Some(c @ 129..=192) => ProcessEnd::Signalled(c - 128),
        Some(c) => ProcessEnd::Exited(c),
    }
}

/// When the machine booted, in seconds since the epoch (`btime` of `/proc/stat`).
fn boot_time() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    stat.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_become_ends() {
        assert_eq!(process_end(Some(0), false), ProcessEnd::Exited(0));
        assert_eq!(process_end(Some(3), false), ProcessEnd::Exited(3));
        assert_eq!(process_end(Some(137), false), ProcessEnd::Signalled(9));
        assert_eq!(process_end(Some(143), false), ProcessEnd::Signalled(15));
        assert_eq!(process_end(Some(1), true), ProcessEnd::Signalled(9));
        assert_eq!(process_end(None, false), ProcessEnd::Unknown);
        assert_eq!(process_end(Some(255), false), ProcessEnd::Exited(255));
    }

    #[test]
    fn a_pid_not_on_this_machine_gets_an_identity_from_its_start() {
        let id = identity_of(i64::from(i32::MAX), Some("2024-03-01T12:34:56.5Z"));
        assert_eq!(id.pid, i32::MAX);
        assert_eq!(id.boot_id, boot_id());
        let mine = identity_of(i64::from(std::process::id()), None);
        assert_eq!(mine, ProcessIdentity::of(mine.pid).unwrap());
    }
}
