//! What is never a stray: a shell, an editor-like program or a `sleep` in a service's
//! folder, and the fleet's own processes with their descendants.

use std::collections::HashSet;
use std::process::Command;

use orchestra_core::ServiceName;
use orchestra_core::spec::{CommandSpec, ServiceKind};
use orchestra_supervisor::strays::{find_strays, port_holder};

use crate::common::{free_port, running};
use crate::support::{
    Procs, all, answers, go_service, install, pids, project, service, wait_until,
};

#[tokio::test]
async fn a_shell_an_editor_like_program_and_sleep_in_the_folder_are_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let users = go_service(root, "users");
    let run = CommandSpec::Shell("./start.sh {port}".into());
    let worker = service(root, "worker", ServiceKind::Command, run);
    std::fs::write(worker.dir.join("start.sh"), "#!/bin/sh\nexec sleep 1000\n").unwrap();
    let project = project(root, vec![users.clone(), worker.clone()]);
    let mut procs = Procs::default();
    let mut started = Vec::new();
    for dir in [&users.dir, &worker.dir] {
        std::fs::write(dir.join("notes.txt"), "a file someone follows\n").unwrap();
        started.push(procs.start(Command::new("bash").current_dir(dir)));
        started.push(procs.start(Command::new("sleep").arg("1000").current_dir(dir)));
        started.push(
            procs.start(
                Command::new("sh")
                    .args(["-c", "sleep 1000; true"])
                    .current_dir(dir),
            ),
        );
        started.push(
            procs.start(
                Command::new("tail")
                    .args(["-f", "notes.txt"])
                    .current_dir(dir),
            ),
        );
    }
    let canonical_root = root.canonicalize().unwrap();
    wait_until(10, "the processes to settle in their folders", || {
        started.iter().all(|&pid| {
            running(pid)
                && std::fs::read_link(format!("/proc/{pid}/cwd"))
                    .is_ok_and(|c| c.starts_with(&canonical_root))
        })
    });

    let strays = find_strays(&project, &all(&project), &HashSet::new());
    assert!(strays.is_empty(), "{strays:#?}");
    assert!(started.iter().all(|&pid| running(pid)));
}

#[tokio::test]
async fn processes_of_the_fleet_and_their_descendants_are_not_strays() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let users = go_service(root, "users");
    let bin = users.binary.clone().unwrap();
    install(&bin);
    let project = project(root, vec![users.clone()]);
    let mut procs = Procs::default();
    let (p1, p2) = (free_port(), free_port());
    let direct = procs.start(
        Command::new(&bin)
            .current_dir(&users.dir)
            .env("PORT", p1.to_string()),
    );
    // A fleet replica is often a shell running the binary as its child.
    let wrapper = procs.start(
        Command::new("sh")
            .args(["-c", &format!("{}; true", bin.display())])
            .current_dir(&users.dir)
            .env("PORT", p2.to_string()),
    );
    wait_until(20, "both to listen", || answers(p1) && answers(p2));
    let grandchild = port_holder(p2).unwrap().pid;
    assert_ne!(grandchild, wrapper);
    let every = find_strays(&project, &all(&project), &HashSet::new());
    let mut expected = vec![direct, grandchild];
    expected.sort_unstable();
    assert_eq!(pids(&every), expected);

    let fleet = HashSet::from([direct, wrapper]);
    let strays = find_strays(&project, &all(&project), &fleet);
    assert!(strays.is_empty(), "{strays:#?}");
    // Asking about another service finds nothing either.
    let none = find_strays(
        &project,
        &[ServiceName::new("other").unwrap()],
        &HashSet::new(),
    );
    assert!(none.is_empty());
}
