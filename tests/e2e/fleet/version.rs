//! The daemon and the client refuse each other's protocol version: a daemon outlives the
//! binary that started it, so after an upgrade the new `orchestra` meets the old daemon
//! (and an old binary may meet a new one). Each side says how to stop the daemon.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::Duration;

use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
use orchestra_tests::{Fleet, process_alive};
use serde_json::Value;

use super::{assert_nothing_left, sleeping_fleet};

/// Sends `line` on `socket` as a client written by hand and returns the first event.
fn first_answer(socket: &UnixStream, line: &str) -> Value {
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("a read timeout");
    (&*socket)
        .write_all(format!("{line}\n").as_bytes())
        .expect("the request is sent");
    let mut answer = String::new();
    BufReader::new(socket)
        .read_line(&mut answer)
        .expect("the daemon answers");
    serde_json::from_str(&answer).expect("one JSON event")
}

#[test]
fn the_daemon_refuses_a_client_of_another_version_and_says_how_to_stop_it() {
    let (fleet, worker) = sleeping_fleet();
    let connect = || UnixStream::connect(fleet.path(".orchestra/daemon.sock")).expect("connect");

    // Protocol 1 sent the bare request, with no version.
    let socket = connect();
    let daemon = getsockopt(&socket, PeerCredentials)
        .expect("the daemon's pid")
        .pid();
    let old = first_answer(&socket, r#"{"request":"stop","services":[]}"#);
    assert_eq!(old["event"], "error", "{old}");
    assert_eq!(old["protocol"], 2, "{old}");
    let message = old["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("speaks protocol 2 and the client protocol 1"),
        "{message}"
    );
    assert!(message.contains("stop the daemon with `"), "{message}");
    assert!(message.contains(&format!("`kill {daemon}`")), "{message}");

    // A newer client, whose request this daemon may not understand.
    let newer = first_answer(
        &connect(),
        r#"{"protocol":3,"request":{"request":"stop","services":[]}}"#,
    );
    assert_eq!(newer["event"], "error", "{newer}");
    assert!(
        newer["message"]
            .as_str()
            .is_some_and(|m| m.contains("the client protocol 3")),
        "{newer}"
    );

    assert!(process_alive(worker), "a refused stop did nothing");
    // This version's client is served.
    fleet.cmd(["stop"]).assert_success();
    assert_nothing_left(&fleet, &[worker]);
}

#[test]
fn the_client_refuses_a_daemon_of_another_version_and_says_how_to_stop_it() {
    let fleet = Fleet::new()
        .orchestra_yml("")
        .service("worker", "run: \"exec sleep 1000\"\n");
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(fleet.path(".orchestra"))
        .expect("the state folder");
    // A daemon of protocol 1, played by this test: it cannot read a request in an
    // envelope and says so, without a version.
    let listener = UnixListener::bind(fleet.path(".orchestra/daemon.sock")).expect("bind");
    let old_daemon = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("the client connects");
        let mut line = String::new();
        BufReader::new(&stream)
            .read_line(&mut line)
            .expect("the request");
        (&stream)
            .write_all(
                b"{\"event\":\"error\",\"message\":\"the daemon cannot read this request: \
                  invalid type: map, expected variant identifier\"}\n",
            )
            .expect("the answer");
        line
    });

    let out = fleet.cmd(["ps"]).run();
    let sent = old_daemon.join().expect("the old daemon answered");
    assert!(sent.starts_with(r#"{"protocol":2,"request":"#), "{sent}");
    assert_eq!(out.code(), Some(1), "{out}");
    assert!(
        out.stderr
            .contains("speaks protocol 1 and this orchestra protocol 2"),
        "{out}"
    );
    assert!(
        out.stderr
            .contains(&format!("`kill {}`", std::process::id())),
        "{out}"
    );
    assert!(out.stderr.contains("stop the daemon with `"), "{out}");
}
