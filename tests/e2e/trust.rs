//! Hostile conditions around the state folder and the daemon: a folder another user could
//! write, forged records, a socket served by another user, a frozen daemon, connections
//! that never send or send too much, a state folder removed under a running fleet.

mod folder;
mod frozen;
mod messages;
mod removed;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use orchestra_tests::Fleet;

use crate::fleet::{pid, ps};

/// A fleet running one `sleep` replica, and the replica's pid.
fn sleeping_fleet() -> (Fleet, u32) {
    let fleet = Fleet::new()
        .orchestra_yml("")
        .service("worker", "run: \"exec sleep 1000\"\n");
    fleet.cmd(["start"]).assert_success();
    let worker = pid(&ps(&fleet), "worker", 0).expect("worker runs");
    (fleet, worker)
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("cannot chmod");
}
