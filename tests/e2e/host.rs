//! A hostile host: a full disk, a low limit on open descriptors, descriptors and a
//! terminal inherited from the caller, processes that escape their replica's tree. Each
//! test drives the real binary into the condition and checks that nothing is orphaned and
//! nothing leaks.

mod descriptors;
mod disk;
mod escapees;
mod limits;

use std::fs;

use orchestra_tests::{Fleet, cmdline, pids_with_cwd_under};

/// The project's daemon, found by its working folder (the project) and command line.
fn daemon_pid(fleet: &Fleet) -> Option<u32> {
    pids_with_cwd_under(fleet.root())
        .into_iter()
        .find(|&p| cmdline(p).is_some_and(|c| c.contains("orchestra") && c.contains(" daemon")))
}

/// The fields of `/proc/<pid>/stat` after the command name: state, ppid, pgrp, session,
/// tty_nr, …
fn stat_fields(pid: u32) -> Vec<String> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rfind(')').map_or("", |i| &stat[i + 1..]);
    rest.split_whitespace().map(str::to_owned).collect()
}
