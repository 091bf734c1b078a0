//! A stray that ignores the stop signal is killed once the timeout passes.

use std::collections::HashSet;
use std::process::Command;
use std::time::{Duration, Instant};

use orchestra_core::Signal;
use orchestra_core::spec::{CommandSpec, ServiceKind};
use orchestra_supervisor::strays::{StrayOutcome, find_strays, stop_strays};

use crate::common::running;
use crate::support::{Procs, all, project, running_in, service, wait_until};

#[tokio::test]
async fn a_stray_ignoring_the_stop_signal_is_killed_after_the_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let run = CommandSpec::Shell("./stubborn.sh".into());
    let svc = service(root, "stubborn", ServiceKind::Command, run);
    let script = svc.dir.join("stubborn.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\ntrap '' TERM\nwhile :; do sleep 0.05; done\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let project = project(root, vec![svc.clone()]);
    let mut procs = Procs::default();
    let pid = procs.start(Command::new("./stubborn.sh").current_dir(&svc.dir));
    wait_until(10, "the script to run", || {
        find_strays(&project, &all(&project), &HashSet::new()).len() == 1
    });
    let strays = find_strays(&project, &all(&project), &HashSet::new());
    assert_eq!(strays[0].pid, pid);
    let began = Instant::now();
    let stopped = stop_strays(&strays, Signal::TERM, Duration::from_millis(300)).await;
    assert!(
        matches!(stopped[0].outcome, StrayOutcome::Killed),
        "{}",
        stopped[0].outcome
    );
    assert!(began.elapsed() >= Duration::from_millis(300));
    assert!(!running(pid));
    assert_eq!(running_in(&svc.dir), Vec::<i32>::new());
    // Stopping it again finds nothing to do.
    let again = stop_strays(&strays, Signal::TERM, Duration::from_secs(1)).await;
    assert!(matches!(again[0].outcome, StrayOutcome::AlreadyGone));
}
