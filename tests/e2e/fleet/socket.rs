//! The daemon's socket answers its owner only: the folder and socket modes keep other
//! users out, and behind them the daemon checks the peer's uid (SO_PEERCRED).

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use orchestra_tests::{Cmd, Fleet, Output, orchestra_bin};

use super::{assert_nothing_left, chmod, sleeping_fleet};

/// The uid tests run other users' clients as.
pub(crate) const NOBODY: &str = "65534";

/// Whether this test can run a command as another user; prints why not when it cannot.
pub(crate) fn can_switch_user() -> bool {
    if !nix::unistd::getuid().is_root() {
        eprintln!("skipped: running a client as another user needs root");
        return false;
    }
    let works = Command::new("setpriv")
        .args([
            "--reuid",
            NOBODY,
            "--regid",
            NOBODY,
            "--clear-groups",
            "true",
        ])
        .status()
        .is_ok_and(|s| s.success());
    if !works {
        eprintln!("skipped: `setpriv` cannot switch to uid {NOBODY} here");
    }
    works
}

/// `orchestra args…` in the fleet's folder, run as uid 65534.
pub(crate) fn as_nobody(fleet: &Fleet, args: &[&str]) -> Output {
    let bin = orchestra_bin().display().to_string();
    let mut argv = vec![bin.as_str()];
    argv.extend_from_slice(args);
    setpriv_as_nobody(&argv, fleet.root())
        .env("HOME", "/")
        .run()
}

/// `argv` run in `cwd` as uid and gid 65534 with no supplementary groups, through `setpriv`.
pub(crate) fn setpriv_as_nobody(argv: &[&str], cwd: &Path) -> Cmd {
    let mut args = vec!["--reuid", NOBODY, "--regid", NOBODY, "--clear-groups", "--"];
    args.extend_from_slice(argv);
    Cmd::new("setpriv", args, cwd)
}

/// Sends `line` to `socket` as uid 65534 with a few lines of Perl (no orchestra client in
/// the way) and prints the answer.
fn raw_request_as_nobody(fleet: &Fleet, socket: &Path, line: &str) -> Output {
    let script = "use IO::Socket::UNIX; \
        my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die \"connect: $!\"; \
        print $s \"$ARGV[1]\\n\"; print scalar <$s>;";
    let socket = socket.display().to_string();
    setpriv_as_nobody(&["perl", "-e", script, &socket, line], fleet.root()).run()
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path)
        .expect("cannot stat")
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn the_state_folder_and_socket_are_private_and_keep_other_users_out() {
    let (fleet, worker) = sleeping_fleet();
    let state = fleet.path(".orchestra");
    let socket = state.join("daemon.sock");
    assert_eq!(mode(&state), 0o700);
    assert_eq!(mode(&socket), 0o600);
    assert_eq!(
        fs::metadata(&socket).unwrap().uid(),
        nix::unistd::getuid().as_raw()
    );

    if can_switch_user() {
        // Let the other user read the project, but not the state folder.
        chmod(fleet.root(), 0o755);
        let out = as_nobody(&fleet, &["ps", "--json"]);
        assert!(
            !out.stdout.contains(&worker.to_string()),
            "another user saw the fleet: {out}"
        );
        let log = fleet.read(".orchestra/daemon.log");
        assert!(
            !log.contains("refused a connection"),
            "it never got that far: {log}"
        );
    }
    fleet.cmd(["stop"]).assert_success();
    assert_nothing_left(&fleet, &[worker]);
}

#[test]
fn the_daemon_refuses_a_peer_of_another_uid() {
    if !can_switch_user() {
        // The check behind the permissions still has its unit of proof: the owner gets in.
        let (fleet, worker) = sleeping_fleet();
        fleet.cmd(["stop"]).assert_success();
        assert_nothing_left(&fleet, &[worker]);
        return;
    }
    let (fleet, worker) = sleeping_fleet();
    let state = fleet.path(".orchestra");
    let socket = state.join("daemon.sock");
    // Open the way for the test only: the daemon itself must still say no.
    chmod(fleet.root(), 0o755);
    chmod(&state, 0o755);
    chmod(&socket, 0o666);
    // The other user's orchestra refuses a state folder that is not theirs before it
    // connects; a program of theirs that writes to the socket directly meets the daemon's
    // own check.
    let client = as_nobody(&fleet, &["stop"]);
    let raw = raw_request_as_nobody(
        &fleet,
        &socket,
        r#"{"protocol":2,"request":{"request":"stop","services":[]}}"#,
    );
    chmod(&socket, 0o600);
    chmod(&state, 0o700);
    assert_eq!(client.code(), Some(2), "{client}");
    assert!(client.stderr.contains("permission denied"), "{client}");
    assert!(raw.stdout.contains("may not control it"), "{raw}");
    assert!(
        orchestra_tests::process_alive(worker),
        "the refused stop did nothing"
    );
    let log = fleet.read(".orchestra/daemon.log");
    assert!(
        log.contains("refused a connection from another user"),
        "{log}"
    );

    fleet.cmd(["stop"]).assert_success();
    assert_nothing_left(&fleet, &[worker]);
}
