//! Only stdin, stdout and stderr cross from the caller into the daemon and the replicas,
//! the daemon leads a session of its own with no controlling terminal, and the replicas
//! are process groups inside it.

use std::path::Path;
use std::time::Duration;

use orchestra_tests::{Cmd, Fleet, PATIENCE, orchestra_bin, poll_until};

use super::{daemon_pid, stat_fields};

/// `sh -c script` in the fleet's folder, with `$0` the orchestra binary.
fn shell(fleet: &Fleet, script: &str) -> Cmd {
    let bin = orchestra_bin();
    Cmd::new(
        "sh",
        ["-c", script, &bin.display().to_string()],
        fleet.root(),
    )
}

#[test]
fn a_descriptor_of_the_caller_reaches_neither_the_daemon_nor_the_replicas() {
    let fleet = Fleet::new().orchestra_yml("").service(
        "z",
        "run: \"ls /proc/self/fd > fds.txt; exec sleep 100000\"\n",
    );
    // fd 7 is the write end of the pipe to `cat`: were it held by the daemon, `cat` would
    // wait for ever.
    let out = shell(&fleet, "{ \"$0\" start >/dev/null; } 7>&1 | cat")
        .timeout(Duration::from_secs(60))
        .try_run();
    let out = out.expect("start in a pipeline ends, although the fleet runs on");
    assert!(out.status.success(), "{out}");

    let listed = poll_until(PATIENCE, "the replica to list its descriptors", || {
        std::fs::read_to_string(fleet.path("z/fds.txt"))
            .ok()
            .filter(|s| s.ends_with('\n'))
    });
    let fds: Vec<&str> = listed.lines().collect();
    // 0, 1 and 2, and the folder `ls` opened to list them.
    assert_eq!(fds, ["0", "1", "2", "3"], "the replica's descriptors");

    let daemon = daemon_pid(&fleet).expect("the daemon runs");
    let daemon_fds = Path::new("/proc").join(daemon.to_string()).join("fd");
    let pipe_held = std::fs::read_dir(&daemon_fds)
        .expect("the daemon's descriptors are readable")
        .flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .any(|target| target.to_string_lossy().starts_with("pipe:"));
    assert!(!pipe_held, "the daemon holds a pipe it inherited");
}

#[test]
fn the_daemon_leads_its_own_session_without_a_terminal() {
    let fleet = Fleet::new()
        .orchestra_yml("")
        .service("z", "run: sleep 100000\n");
    if !Path::new("/usr/bin/script").exists() {
        eprintln!("skipped: `script` (util-linux) is needed to give the client a terminal");
        return;
    }
    // Under `script` the client has a terminal of its own, as in an interactive shell. The
    // terminal's session must outlive the check: when its leader exits, the kernel takes
    // the terminal from every process of the session anyway.
    let session = shell(
        &fleet,
        "script -qec \"$0 start && echo client-finished && exec sleep 100000\" /dev/null",
    )
    .spawn();
    session.wait_for_output("client-finished", Duration::from_secs(60));
    let daemon = daemon_pid(&fleet).expect("the daemon runs");
    let fields = stat_fields(daemon);
    assert_eq!(
        fields.get(3),
        Some(&daemon.to_string()),
        "the daemon's session id is its pid: {fields:?}"
    );
    assert_eq!(
        fields.get(4).map(String::as_str),
        Some("0"),
        "the daemon has no controlling terminal: {fields:?}"
    );
}

#[test]
fn every_replica_leads_a_process_group_inside_the_daemons_session() {
    // One session for the fleet: the scheduler weighs sessions against each other, and a
    // session per replica made a busy fleet of 200 weigh as 200 terminals.
    let run = "run: \"echo $$ > pid.txt; exec sleep 100000\"\n";
    let fleet = Fleet::new()
        .orchestra_yml("")
        .service("a", run)
        .service("b", run);
    fleet.cmd(["start"]).assert_success();
    let daemon = daemon_pid(&fleet).expect("the daemon runs");
    let daemon_session = stat_fields(daemon).get(3).cloned();
    for service in ["a", "b"] {
        let pid = poll_until(PATIENCE, "the replica to write its pid", || {
            std::fs::read_to_string(fleet.path(format!("{service}/pid.txt")))
                .ok()
                .and_then(|s| s.trim().parse::<u32>().ok())
        });
        let fields = stat_fields(pid);
        assert_eq!(
            fields.get(2),
            Some(&pid.to_string()),
            "{service} leads its own process group: {fields:?}"
        );
        assert_eq!(
            fields.get(3),
            daemon_session.as_ref(),
            "{service} is in the daemon's session: {fields:?}"
        );
    }
}
