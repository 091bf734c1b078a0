//! A process that escapes its replica's tree — a new session, `/` as its folder, an empty
//! environment, its parent gone — was reparented to the daemon, and goes with the fleet.

use std::fs;

use orchestra_tests::{
    Fleet, PATIENCE, Signal, cmdline, parent_pid, poll_until, process_alive, send_signal,
    wait_until,
};

use super::{daemon_pid, stat_fields};

/// Kills the escapee when the test ends, whatever happened: the fleet's own clean-up looks
/// for processes inside the project folder, and this one left it.
struct KillOnDrop(u32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        send_signal(self.0, Signal::SIGKILL);
    }
}

/// The live process whose command line is exactly `command`.
fn find(command: &str) -> Option<u32> {
    fs::read_dir("/proc")
        .ok()?
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .find(|&pid| process_alive(pid) && cmdline(pid).as_deref() == Some(command))
}

/// Starts `fleet` and waits until the escapee running `marker` is a child of the daemon;
/// returns the escapee's guard and the daemon's pid.
fn start_until_reparented(fleet: &Fleet, marker: &str) -> (KillOnDrop, u32) {
    fleet.cmd(["start"]).assert_success();
    let escapee = poll_until(PATIENCE, "the escapee to run", || find(marker));
    let guard = KillOnDrop(escapee);
    let daemon = daemon_pid(fleet).expect("the daemon runs");
    wait_until(
        PATIENCE,
        "the escapee to be reparented to the daemon",
        || parent_pid(escapee) == Some(daemon),
    );
    (guard, daemon)
}

#[test]
fn a_grandchild_that_escaped_with_setsid_and_an_empty_environment_is_stopped_with_the_fleet() {
    // A duration no other process of the machine uses, to find the escapee by.
    let marker = format!("sleep {}", 3_000_000 + std::process::id());
    let run =
        format!("run: \"setsid -f env -i sh -c 'cd / && exec {marker}'; exec sleep 100000\"\n");
    let fleet = Fleet::new().orchestra_yml("").service("z", &run);
    let (guard, _daemon) = start_until_reparented(&fleet, &marker);
    let escapee = guard.0;
    // It left everything that ties it to the replica: its session, folder and token.
    assert_eq!(
        stat_fields(escapee).get(3),
        Some(&escapee.to_string()),
        "it leads a session of its own"
    );
    assert_eq!(
        fs::read_link(format!("/proc/{escapee}/cwd")).ok(),
        Some("/".into())
    );
    let environ = fs::read(format!("/proc/{escapee}/environ")).unwrap_or_default();
    let environ = String::from_utf8_lossy(&environ);
    assert!(
        !environ.contains("ORCHESTRA_"),
        "it has no token: {environ:?}"
    );

    let out = fleet.cmd(["stop"]).assert_success();
    assert!(
        out.stdout.contains(&format!("pid {escapee}")),
        "`stop` names what it stopped: {out}"
    );
    wait_until(PATIENCE, "the escapee to be stopped", || {
        !process_alive(escapee)
    });
}

#[test]
fn an_escapee_outliving_its_exited_replica_goes_when_the_daemon_leaves() {
    let marker = format!("sleep {}", 4_000_000 + std::process::id());
    // The replica ends by itself once the test has seen the escapee (file `go`).
    let run = format!(
        "run: \"setsid -f env -i sh -c 'cd / && exec {marker}'; \
         until [ -e go ]; do sleep 0.05; done\"\nrestart: never\n"
    );
    let fleet = Fleet::new().orchestra_yml("").service("z", &run);
    let (guard, daemon) = start_until_reparented(&fleet, &marker);
    let escapee = guard.0;
    fleet.write("z/go", "");
    // The replica exited; nothing is left to supervise but the escapee: the daemon stops
    // it before it exits, instead of leaving it to init.
    wait_until(PATIENCE, "the daemon to exit", || !process_alive(daemon));
    assert!(!process_alive(escapee), "the escapee outlived the daemon");
}
