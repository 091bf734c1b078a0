//! The Linux process table, read from /proc: which processes run inside a folder, whether a
//! pid is alive, who its parent is. Tests use it to prove that nothing was leaked.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::signal::{self, Signal};
use nix::unistd::Pid;

/// Pids of the processes whose working directory is `dir` or below it, except this one.
///
/// Zombies have no working directory and are never listed; neither are processes of other
/// users that /proc will not show.
pub fn pids_with_cwd_under(dir: &Path) -> Vec<u32> {
    let me = std::process::id();
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut pids: Vec<u32> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != me)
        .filter(|pid| {
            fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd.starts_with(dir))
        })
        .collect();
    pids.sort_unstable();
    pids
}

/// Whether `pid` is a live process: it exists and is not a zombie waiting to be reaped.
pub fn process_alive(pid: u32) -> bool {
    stat_fields(pid)
        .is_some_and(|fields| !matches!(fields.first().map(String::as_str), Some("Z" | "X")))
}

/// The parent of `pid`, if it is running.
pub fn parent_pid(pid: u32) -> Option<u32> {
    stat_fields(pid)?.get(1)?.parse().ok()
}

/// The process group of `pid`, if it is running.
pub fn process_group(pid: u32) -> Option<u32> {
    stat_fields(pid)?.get(2)?.parse().ok()
}

/// The command line of `pid`, arguments joined by spaces.
pub fn cmdline(pid: u32) -> Option<String> {
    let raw = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let args: Vec<String> = raw
        .split(|&b| b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    Some(args.join(" "))
}

/// Sends `signal` to `pid`; false when the process is gone (or not ours).
pub fn send_signal(pid: u32, signal: Signal) -> bool {
    i32::try_from(pid).is_ok_and(|pid| signal::kill(Pid::from_raw(pid), signal).is_ok())
}

/// SIGKILLs every process running under `dir` until none is left or `deadline` passes, and
/// returns the pids it killed. Repeats because a dying parent may have just forked.
pub fn kill_all_under(dir: &Path, deadline: Duration) -> Vec<u32> {
    let start = Instant::now();
    let mut killed = Vec::new();
    loop {
        let pids = pids_with_cwd_under(dir);
        if pids.is_empty() || start.elapsed() > deadline {
            return killed;
        }
        for pid in pids {
            if send_signal(pid, Signal::SIGKILL) && !killed.contains(&pid) {
                killed.push(pid);
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The fields of /proc/<pid>/stat after the command name: state, ppid, pgrp, session, …
/// (the name is skipped because it may itself hold spaces and parentheses).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn this_process_is_alive_and_has_a_parent() {
        let me = std::process::id();
        assert!(process_alive(me));
        assert!(parent_pid(me).is_some_and(|p| p > 0));
        assert!(cmdline(me).is_some_and(|c| !c.is_empty()));
    }

    #[test]
    fn a_reaped_child_is_not_alive_and_a_zombie_is_not_either() {
        let mut child = Command::new("sleep").arg("60").spawn().unwrap();
        let pid = child.id();
        assert!(process_alive(pid));
        assert_eq!(parent_pid(pid), Some(std::process::id()));
        assert!(send_signal(pid, Signal::SIGKILL));
        // Until reaped the child is a zombie, which does not count as alive.
        crate::wait_until(Duration::from_secs(5), "the killed child to die", || {
            !process_alive(pid)
        });
        child.wait().unwrap();
        assert!(!process_alive(pid));
    }
}
