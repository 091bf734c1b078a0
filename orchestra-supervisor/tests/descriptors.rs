//! Out of descriptors, `/proc` cannot be read: a live replica must not be taken for gone.
//! One test in its own binary: it lowers this process's descriptor limit and uses it up.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::fs::File;

use common::{running, shell_replica, wait_until};
use nix::sys::resource::{Resource, getrlimit, setrlimit};
use orchestra_core::Signal;
use orchestra_supervisor::{IdentityExt, Liveness, Supervisor, UnixSupervisor};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_descriptors_a_live_replica_is_never_taken_for_gone() {
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    setrlimit(Resource::RLIMIT_NOFILE, 256, hard).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let spec = shell_replica("z", 0, tmp.path(), "exec sleep 1000");
    let log = File::create(tmp.path().join("z.log")).unwrap();
    let replica = UnixSupervisor.spawn(&spec, log).await.unwrap();
    let pid = replica.identity().pid;
    assert!(replica.alive().await);

    // Use up every descriptor left.
    let mut held = Vec::new();
    let exhausted = loop {
        match File::open("/dev/null") {
            Ok(f) => held.push(f),
            Err(e) => break e,
        }
    };
    assert_eq!(exhausted.raw_os_error(), Some(nix::libc::EMFILE));
    assert_eq!(replica.identity().liveness(), Liveness::Unreadable);
    assert!(
        replica.alive().await,
        "an unreadable /proc is not a gone replica"
    );
    // A stop still reaches it, through its process group.
    assert!(replica.signal(Signal::KILL).await.unwrap() > 0);
    drop(held);

    wait_until(10, "the replica to die", || !running(pid)).await;
    wait_until(10, "the replica to be seen gone", || {
        replica.identity().liveness() == Liveness::Gone
    })
    .await;
    // Reaped is not yet reported: the task that reaped it hands its status over next.
    tokio::time::timeout(std::time::Duration::from_secs(10), replica.wait())
        .await
        .expect("the end of the replica is reported");
    assert!(!replica.alive().await);
}
