//! A frozen or stuck daemon hangs no client, and no connection keeps it alive or fills
//! its memory.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::Duration;

use orchestra_tests::{Fleet, PATIENCE, Signal, process_alive, send_signal, wait_until};

use super::{chmod, sleeping_fleet};
use crate::fleet::{assert_nothing_left, daemon_pid, pid, ps};

/// Long enough for the client's own deadline, short enough that a hang fails the test
/// rather than the whole run.
const HANG: Duration = Duration::from_secs(90);

#[test]
fn a_frozen_daemon_does_not_hang_ps_or_stop() {
    let (fleet, worker) = sleeping_fleet();
    let daemon = daemon_pid(&fleet).expect("the daemon runs");
    assert!(send_signal(daemon, Signal::SIGSTOP));

    let out = fleet.cmd(["ps", "--json"]).timeout(HANG).assert_success();
    assert!(
        out.stderr.contains(&format!(
            "the orchestra daemon (pid {daemon}) did not answer"
        )),
        "{out}"
    );
    assert!(
        out.stderr.contains(&format!("kill -CONT {daemon}")),
        "{out}"
    );
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out.stdout).expect("JSON rows");
    assert_eq!(
        pid(&rows, "worker", 0),
        Some(worker),
        "from the records: {out}"
    );

    let out = fleet.cmd(["stop"]).timeout(HANG).assert_success();
    assert!(
        out.stderr.contains(&format!(
            "the orchestra daemon (pid {daemon}) did not answer"
        )),
        "{out}"
    );
    assert!(out.stdout.contains("worker.0"), "{out}");
    // The frozen daemon went first: resumed, it could only have restarted the worker.
    assert_nothing_left(&fleet, &[worker, daemon]);
}

#[test]
fn a_listener_that_never_answers_is_given_up_on_and_left_alone_when_not_the_daemon() {
    let fleet = Fleet::new()
        .orchestra_yml("")
        .service("worker", "run: \"exec sleep 1000\"\n");
    let state = fleet.path(".orchestra");
    fs::create_dir(&state).unwrap();
    chmod(&state, 0o700);
    // This test process listens and never accepts: the kernel queues the connection, so
    // the client gets in and then hears nothing.
    let stuck = UnixListener::bind(state.join("daemon.sock")).unwrap();
    let me = std::process::id();

    let out = fleet.cmd(["ps"]).timeout(HANG).assert_success();
    assert!(
        out.stderr.contains(&format!(
            "the orchestra daemon (pid {me}) did not answer within 5s (it is stuck"
        )),
        "{out}"
    );
    assert!(out.stdout.contains("nothing is running"), "{out}");
    let out = fleet.cmd(["stop"]).timeout(HANG).assert_exit(1);
    assert!(
        out.stderr.contains(&format!(
            "pid {me} listens on {}",
            state.join("daemon.sock").display()
        )),
        "{out}"
    );
    assert!(out.stderr.contains("it was left alone"), "{out}");
    drop(stuck);
}

#[test]
fn a_connection_that_never_sends_does_not_keep_the_daemon_alive() {
    let (fleet, worker) = sleeping_fleet();
    let daemon = daemon_pid(&fleet).expect("the daemon runs");
    let silent = UnixStream::connect(fleet.path(".orchestra/daemon.sock")).expect("connects");
    fleet.cmd(["stop"]).assert_success();
    // The daemon drops the silent connection after its request timeout, then leaves.
    wait_until(PATIENCE, "the daemon to exit", || !process_alive(daemon));
    drop(silent);
    assert_nothing_left(&fleet, &[worker]);
}

#[test]
fn a_request_line_past_the_cap_gets_an_error_and_is_not_buffered() {
    let (fleet, worker) = sleeping_fleet();
    let socket = fleet.path(".orchestra/daemon.sock");
    let stream = UnixStream::connect(&socket).expect("connects");
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut writer = stream.try_clone().unwrap();
    // 100 MiB and no newline; the daemon stops reading long before the end.
    let flood = std::thread::spawn(move || {
        let chunk = vec![b'x'; 1024 * 1024];
        for _ in 0..100 {
            if writer.write_all(&chunk).is_err() {
                return;
            }
        }
    });
    let mut line = String::new();
    BufReader::new(&stream)
        .read_line(&mut line)
        .expect("the daemon answers before the read timeout");
    assert!(line.contains(r#""event":"error""#), "{line}");
    assert!(line.contains("the request is longer than"), "{line}");
    drop(stream);
    flood.join().unwrap();

    // The daemon is unharmed.
    assert_eq!(pid(&ps(&fleet), "worker", 0), Some(worker));
    fleet.cmd(["stop"]).assert_success();
    assert_nothing_left(&fleet, &[worker]);
}
