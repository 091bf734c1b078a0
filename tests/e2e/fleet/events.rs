//! `{"protocol":2,"request":{"request":"subscribe"}}` on the daemon's socket streams the
//! fleet's events as they happen — a restart asked for by another client, a replica killed
//! from outside — until the client hangs up.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use orchestra_tests::PATIENCE;
use serde_json::Value;

use super::{pid, ps, sleeping_fleet};

/// Reads event lines until one matches `until`; returns them all. Fails after PATIENCE.
fn read_until(
    lines: &mut impl Iterator<Item = std::io::Result<String>>,
    what: &str,
    until: impl Fn(&Value) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + PATIENCE;
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else {
            panic!("the stream ended before {what}: {seen:#?}");
        };
        let event: Value = serde_json::from_str(&line).expect("one JSON event per line");
        let done = until(&event);
        seen.push(event);
        if done {
            return seen;
        }
    }
    panic!("no {what} within {PATIENCE:?}: {seen:#?}");
}

fn kinds(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["event"] == "fleet")
        .map(|e| e["kind"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn a_subscriber_sees_a_restart_and_a_kill_as_they_happen() {
    let (fleet, first) = sleeping_fleet();
    let socket = UnixStream::connect(fleet.path(".orchestra/daemon.sock")).expect("connect");
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("a read timeout");
    (&socket)
        .write_all(b"{\"protocol\":2,\"request\":{\"request\":\"subscribe\"}}\n")
        .expect("the request is sent");
    let mut lines = BufReader::new(&socket).lines();
    let accepted = read_until(&mut lines, "accepted", |e| e["event"] == "accepted");
    assert_eq!(accepted.len(), 1, "{accepted:?}");

    // Another client restarts the worker: the subscriber sees each step.
    fleet.cmd(["restart", "worker"]).assert_success();
    let seen = read_until(&mut lines, "the new replica ready", |e| {
        e["kind"] == "ready"
    });
    assert_eq!(kinds(&seen), ["stopping", "stopped", "started", "ready"]);
    let second = pid(&ps(&fleet), "worker", 0).expect("the worker runs again");
    assert_ne!(second, first);
    assert_eq!(seen[3]["pid"], second, "{seen:?}");
    assert_eq!(seen[3]["replica"]["service"], "worker");

    // Killed from outside: its exit and restart are pushed, not found by polling.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(second).expect("a pid")),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("the worker is killed");
    let seen = read_until(&mut lines, "the restarted replica ready", |e| {
        e["kind"] == "ready"
    });
    assert_eq!(kinds(&seen), ["exited", "restarting", "started", "ready"]);
    assert_eq!(seen[0]["end"]["kind"], "signalled");
    assert_eq!(seen[0]["end"]["value"], 9);

    drop(lines);
    drop(socket);
    fleet.cmd(["stop"]).assert_success();
}
