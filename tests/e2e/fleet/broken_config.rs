//! A file that stops loading while the fleet runs: the commands that act on what runs
//! (`stop`, `ps`, `logs`, `vendors down`) still work, from the daemon or the records,
//! with the problem as a one-line warning; those that need the new files refuse.

use orchestra_tests::{Fleet, Output, PATIENCE, Signal, process_alive, send_signal, wait_until};

use super::{
    assert_nothing_left, daemon_pid, pid, running_web_and_worker, service_processes, state,
};

/// A running fleet of two services, with a service.yml that does not parse added after.
fn running_then_broken() -> Fleet {
    let fleet = running_web_and_worker("run: \"echo worker up; exec sleep 1000\"\n");
    fleet.write("broken/service.yml", "run: ./broken\nport: [8080\n");
    fleet
}

/// The warning: the problem on one line naming the file, then what is done instead.
fn assert_warned(out: &Output) {
    let warning = out
        .stderr
        .lines()
        .find(|l| l.starts_with("warning:"))
        .unwrap_or_else(|| panic!("no warning on stderr:\n{out}"));
    assert!(warning.contains("broken/service.yml:"), "{out}");
    assert!(out.stderr.contains("as it last ran"), "{out}");
}

/// `ps --json`, parsed, asserting the warning.
fn ps_warned(fleet: &Fleet) -> Vec<serde_json::Value> {
    let out = fleet.cmd(["ps", "--json"]).assert_success();
    assert_warned(&out);
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("no JSON ({e}): {out}"))
}

#[test]
fn a_broken_file_leaves_ps_logs_and_stop_working_through_the_daemon() {
    let fleet = running_then_broken();
    let rows = ps_warned(&fleet);
    let web = pid(&rows, "web", 0).expect("web runs");
    let worker = pid(&rows, "worker", 0).expect("worker runs");
    assert_eq!(state(&rows, "worker", 0), "running", "{rows:?}");

    let logs = fleet.cmd(["logs", "worker"]).assert_success();
    assert!(logs.stdout.contains("worker up"), "{logs}");
    assert_warned(&logs);

    // What needs the new files refuses, with the whole diagnostic.
    for command in [
        &["start"][..],
        &["restart"],
        &["config"],
        &["scale", "web=2"],
    ] {
        let refused = fleet.cmd(command).assert_exit(2);
        assert!(
            refused.stderr.contains("broken/service.yml") && !refused.stderr.contains("warning:"),
            "{command:?}: {refused}"
        );
    }
    assert_eq!(pid(&ps_warned(&fleet), "web", 0), Some(web));

    let stopped = fleet.cmd(["stop"]).assert_success();
    assert_warned(&stopped);
    assert_nothing_left(&fleet, &[web, worker]);
}

#[test]
fn a_broken_file_leaves_ps_and_stop_working_from_the_records() {
    let fleet = running_then_broken();
    let daemon = daemon_pid(&fleet).expect("the daemon runs");
    assert!(send_signal(daemon, Signal::SIGKILL));
    wait_until(PATIENCE, "the daemon to die", || !process_alive(daemon));

    let rows = ps_warned(&fleet);
    let web = pid(&rows, "web", 0).expect("web runs");
    let worker = pid(&rows, "worker", 0).expect("worker runs");
    assert_eq!(service_processes(&fleet).len(), 2);

    let stopped = fleet.cmd(["stop", "worker"]).assert_success();
    assert_warned(&stopped);
    wait_until(PATIENCE, "worker to be stopped", || !process_alive(worker));
    assert!(process_alive(web), "stop worker stopped only worker");

    fleet.cmd(["stop"]).assert_success();
    assert_nothing_left(&fleet, &[web, worker]);
}

#[test]
fn a_fleet_whose_files_never_loaded_here_is_still_stopped_gracefully_from_the_records() {
    let fleet = running_then_broken();
    let daemon = daemon_pid(&fleet).expect("the daemon runs");
    assert!(send_signal(daemon, Signal::SIGKILL));
    wait_until(PATIENCE, "the daemon to die", || !process_alive(daemon));
    // As if the fleet had been started by a version that kept no project.
    std::fs::remove_file(fleet.path(".orchestra/project.json")).expect("the last known project");

    let rows = ps_warned(&fleet);
    let web = pid(&rows, "web", 0).expect("web runs");
    let stopped = fleet.cmd(["stop"]).assert_success();
    assert_warned(&stopped);
    assert_nothing_left(&fleet, &[web]);
    // SIGTERM and its grace, not SIGKILL at once: the http fixture says goodbye.
    let log = fleet.read(".orchestra/logs/web.0.log");
    assert!(log.contains("got terminated, stopping"), "{log}\n{stopped}");
}
