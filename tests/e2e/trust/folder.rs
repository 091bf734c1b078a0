//! The state folder is trusted only when it is a private folder of the user, the daemon
//! behind its socket runs as the user, and a record names a process of the fleet.

use std::fs;
use std::path::Path;

use orchestra_tests::{Fleet, PATIENCE, orchestra_bin, process_alive, wait_until};
use serde_json::json;

use super::{chmod, sleeping_fleet};
use crate::fleet::socket::{NOBODY, can_switch_user, setpriv_as_nobody};
use crate::fleet::{assert_nothing_left, bystander, pid, ps};

#[test]
fn a_state_folder_others_can_write_is_refused_naming_its_mode() {
    let (fleet, worker) = sleeping_fleet();
    let state = fleet.path(".orchestra");
    chmod(&state, 0o777);
    for command in ["ps", "stop", "start", "logs"] {
        let out = fleet.cmd([command]).assert_exit(2);
        assert!(
            out.stderr.contains("is writable by other users (mode 0777"),
            "{command}: {out}"
        );
        assert!(out.stderr.contains(&state.display().to_string()), "{out}");
        assert!(out.stderr.contains("chmod 700"), "{out}");
    }
    assert!(process_alive(worker), "a refused stop stopped nothing");
    chmod(&state, 0o700);
    fleet.cmd(["stop"]).assert_success();
    assert_nothing_left(&fleet, &[worker]);
}

#[test]
fn a_symlinked_state_folder_is_refused() {
    let fleet = Fleet::new()
        .orchestra_yml("")
        .service("worker", "run: \"exec sleep 1000\"\n");
    let elsewhere = tempfile::tempdir().expect("a temporary folder");
    std::os::unix::fs::symlink(elsewhere.path(), fleet.path(".orchestra")).unwrap();
    let out = fleet.cmd(["start"]).assert_exit(2);
    assert!(out.stderr.contains("is a symbolic link"), "{out}");
    assert_eq!(
        fs::read_dir(elsewhere.path()).unwrap().count(),
        0,
        "nothing was written through the link"
    );
}

/// Writes a record for `worker.0` naming `pid` with its true start time and boot id, as
/// anyone can read them in /proc: only the instance token cannot be forged onto it.
fn forge_record(fleet: &Fleet, pid: u32) {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).expect("the bystander runs");
    let after_name = &stat[stat.rfind(')').expect("a stat line") + 2..];
    let start_time: u64 = after_name
        .split(' ')
        .nth(19)
        .and_then(|f| f.parse().ok())
        .expect("field 22 of stat is the start time");
    let boot_id =
        fs::read_to_string("/proc/sys/kernel/random/boot_id").expect("the boot id is readable");
    let record = json!({
        "identity": {"pid": pid, "pgid": pid, "start_time": start_time, "boot_id": boot_id.trim()},
        "instance": "forged-token",
        "spec_hash": "0000000000000000",
        "service": "worker",
        "replica": 0,
        "port": null,
        "started_at": 1,
        "restarts": 0,
        "stop_signal": "SIGTERM",
    });
    let run = fleet.path(".orchestra/run");
    fs::create_dir_all(&run).expect("cannot create the run folder");
    for dir in [fleet.path(".orchestra"), run.clone()] {
        chmod(&dir, 0o700);
    }
    fleet.append_record(&record);
}

#[test]
fn a_forged_record_naming_a_process_of_the_user_is_neither_listed_nor_stopped() {
    let fleet = Fleet::new()
        .orchestra_yml("")
        .service("worker", "run: \"exec sleep 1000\"\n");
    let mut victim = bystander();
    let victim_pid = victim.id();

    // Without a daemon: `ps` and `stop` read the records themselves.
    forge_record(&fleet, victim_pid);
    let rows = ps(&fleet);
    assert_ne!(pid(&rows, "worker", 0), Some(victim_pid), "{rows:?}");
    fleet.cmd(["stop"]).assert_success();
    assert!(
        process_alive(victim_pid),
        "`stop` killed an unrelated process"
    );

    // A daemon adopts what the records name when a start brings the project.
    forge_record(&fleet, victim_pid);
    fleet.cmd(["start"]).assert_success();
    let rows = ps(&fleet);
    let worker = pid(&rows, "worker", 0).expect("the worker was started");
    assert_ne!(worker, victim_pid, "{rows:?}");
    fleet.cmd(["stop"]).assert_success();
    assert!(
        process_alive(victim_pid),
        "the daemon stopped an unrelated process"
    );

    victim.kill().unwrap();
    victim.wait().unwrap();
    assert_nothing_left(&fleet, &[worker]);
}

/// `orchestra daemon` run as uid 65534 with its state folder in `dir` (made theirs).
fn daemon_of_nobody(dir: &Path) -> orchestra_tests::Running {
    let uid = NOBODY.parse().expect("a uid");
    nix::unistd::chown(dir, Some(nix::unistd::Uid::from_raw(uid)), None)
        .expect("root can give a folder away");
    let bin = orchestra_bin().display().to_string();
    let state = dir.join("state").display().to_string();
    setpriv_as_nobody(&[&bin, "daemon", "--state-dir", &state], dir)
        .env("HOME", "/")
        .spawn()
}

#[test]
fn a_socket_served_by_another_user_is_refused_before_anything_is_sent() {
    if !can_switch_user() {
        return;
    }
    let fleet = Fleet::new()
        .orchestra_yml("")
        .service("worker", "run: \"exec sleep 1000\"\n");
    // The other user's daemon listens in a folder of theirs; its socket is then moved
    // into ours, where it keeps listening (a socket is found by its inode).
    let theirs = tempfile::tempdir_in(fleet.root().parent().unwrap()).unwrap();
    let other = daemon_of_nobody(theirs.path());
    let their_socket = theirs.path().join("state/daemon.sock");
    wait_until(PATIENCE, "the other user's daemon to listen", || {
        their_socket.exists()
    });
    let state = fleet.path(".orchestra");
    fs::create_dir(&state).unwrap();
    chmod(&state, 0o700);
    if let Err(e) = fs::rename(&their_socket, state.join("daemon.sock")) {
        eprintln!("skipped: cannot move the other user's socket here ({e})");
        return;
    }

    for command in ["ps", "start", "stop"] {
        let out = fleet.cmd([command]).assert_exit(2);
        assert!(
            out.stderr
                .contains(&format!("is served by a process of uid {NOBODY}")),
            "{command}: {out}"
        );
        assert!(out.stderr.contains("nothing was sent"), "{out}");
    }
    other.signal(nix::sys::signal::Signal::SIGKILL);
    drop(other);
    fs::remove_file(state.join("daemon.sock")).unwrap();
    fleet.cmd(["stop"]).assert_success();
}
