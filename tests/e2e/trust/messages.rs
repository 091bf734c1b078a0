//! What goes wrong is said at once and acted on: a socket path that is a folder, another
//! user's command, corrupt records.

use std::fs;
use std::time::Duration;

use orchestra_tests::{Fleet, process_alive};

use super::{chmod, sleeping_fleet};
use crate::fleet::socket::{as_nobody, can_switch_user};
use crate::fleet::{assert_nothing_left, orphaned_workers};

#[test]
fn a_socket_replaced_by_a_folder_is_named_at_once() {
    let fleet = Fleet::new()
        .orchestra_yml("")
        .service("worker", "run: \"exec sleep 1000\"\n");
    let socket = fleet.path(".orchestra/daemon.sock");
    fs::create_dir_all(&socket).unwrap();
    chmod(&fleet.path(".orchestra"), 0o700);
    // Well under the 10 s the client used to wait for a daemon that could never listen.
    let out = fleet
        .cmd(["start"])
        .timeout(Duration::from_secs(8))
        .assert_exit(2);
    assert!(
        out.stderr
            .contains(&format!("{}: Is a directory", socket.display())),
        "{out}"
    );
    assert!(out.stderr.contains("rm -r"), "{out}");
    fs::remove_dir(&socket).unwrap();
    fleet.cmd(["start"]).assert_success();
    fleet.cmd(["stop"]).assert_success();
}

#[test]
fn another_users_ps_and_stop_are_denied_naming_the_folder() {
    if !can_switch_user() {
        return;
    }
    let (fleet, worker) = sleeping_fleet();
    // The other user may read the project, not the state folder.
    chmod(fleet.root(), 0o755);
    for command in ["ps", "stop"] {
        let out = as_nobody(&fleet, &[command]);
        assert_eq!(out.code(), Some(2), "{command}: {out}");
        assert!(
            out.stderr.contains(&format!(
                "permission denied: {} belongs to uid",
                fleet.path(".orchestra").display()
            )),
            "{command}: {out}"
        );
        assert!(!out.stdout.contains("nothing is running"), "{out}");
    }
    assert!(process_alive(worker));
    fleet.cmd(["stop"]).assert_success();
    assert_nothing_left(&fleet, &[worker]);
}

#[test]
fn replicas_behind_corrupt_records_are_found_by_their_token_and_stopped() {
    // The daemon dies; its replicas live on, and one record is damaged.
    let (fleet, workers) = orphaned_workers();
    // The line recording worker.0 is torn halfway.
    let journal = fs::read_to_string(fleet.journal()).unwrap();
    let damaged: Vec<String> = journal
        .lines()
        .map(|line| {
            let of_worker0 = line.contains("\"replica\":0") && line.starts_with("{\"up\"");
            if of_worker0 {
                line[..line.len() / 2].to_owned()
            } else {
                line.to_owned()
            }
        })
        .collect();
    assert_ne!(
        damaged.join("\n"),
        journal.trim_end(),
        "worker.0 was recorded"
    );
    fs::write(fleet.journal(), damaged.join("\n") + "\n").unwrap();
    assert!(fleet.record("worker", 0).is_none());

    let out = fleet.cmd(["stop"]).assert_success();
    assert!(out.stdout.contains("worker.0"), "{out}");
    assert!(out.stdout.contains("worker.1"), "{out}");
    assert_nothing_left(&fleet, &workers);
    let left = fs::read_to_string(fleet.journal()).unwrap_or_default();
    assert!(
        left.lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
        "the damaged line is gone with its replica: {left}"
    );
    assert!(fleet.records().is_empty(), "{left}");
}
