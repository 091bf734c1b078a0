//! A replica's job that panics never leaves its process running unsupervised.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::fs::File;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use common::{running, shell_replica, wait_until};
use orchestra_core::policy::{BackoffPolicy, RestartPolicy};
use orchestra_core::spec::ReplicaSpec;
use orchestra_core::{ProcessEnd, ProcessIdentity, ReplicaState, Signal, StateDir};
use orchestra_supervisor::{
    JobConfig, LogOpener, ReplicaHandle, RunningReplica, Supervisor, SupervisorError, TreeStats,
    UnixSupervisor, read_records, spec_hash,
};

/// Real processes, whose first wait panics in the job's task, as a write to a full disk
/// through a panicking logger once did.
#[derive(Debug)]
struct PanicsInWait;

#[derive(Debug)]
struct Replica {
    inner: Arc<dyn RunningReplica>,
    panicked: AtomicBool,
}

#[async_trait]
impl Supervisor for PanicsInWait {
    async fn spawn(
        &self,
        spec: &ReplicaSpec,
        log: File,
    ) -> Result<Arc<dyn RunningReplica>, SupervisorError> {
        let inner = UnixSupervisor.spawn(spec, log).await?;
        Ok(Arc::new(Replica {
            inner,
            panicked: AtomicBool::new(false),
        }))
    }

    async fn adopt(&self, _: &ProcessIdentity, _: &str) -> Option<Arc<dyn RunningReplica>> {
        None
    }
}

#[async_trait]
impl RunningReplica for Replica {
    fn identity(&self) -> &ProcessIdentity {
        self.inner.identity()
    }
    fn instance(&self) -> &str {
        self.inner.instance()
    }
    async fn signal(&self, signal: Signal) -> Result<usize, SupervisorError> {
        self.inner.signal(signal).await
    }
    async fn wait(&self) -> ProcessEnd {
        let first = !self.panicked.swap(true, Ordering::SeqCst);
        assert!(!first, "failed printing to stderr: No space left on device");
        self.inner.wait().await
    }
    fn end(&self) -> Option<ProcessEnd> {
        self.inner.end()
    }
    async fn alive(&self) -> bool {
        self.inner.alive().await
    }
    async fn stats(&self) -> TreeStats {
        self.inner.stats().await
    }
    async fn listens_on(&self, port: u16) -> bool {
        self.inner.listens_on(port).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_panics_after_the_spawn_stops_its_process_and_says_why() {
    let tmp = tempfile::tempdir().unwrap();
    let state = StateDir::for_project(tmp.path());
    state.create().unwrap();
    // Durations no other process uses, to find these by.
    let marker = format!("sleep 7{}", std::process::id());
    let script = format!("{marker}1 & exec {marker}2");
    let spec = shell_replica("z", 0, tmp.path(), &script);
    let config = JobConfig {
        spec_hash: spec_hash(&spec),
        spec,
        restart: RestartPolicy::Always,
        backoff: BackoffPolicy::default(),
        state: state.clone(),
        restarts: 0,
        log_opener: LogOpener::default(),
        deadline: None,
    };
    let handle = ReplicaHandle::start(Arc::new(PanicsInWait), config, None);
    assert_eq!(handle.wait_final().await, ReplicaState::Crashed);
    let snapshot = handle.snapshot();
    let reason = snapshot.reason.unwrap();
    assert!(reason.contains("failed printing to stderr"), "{reason}");
    wait_until(10, "the replica's processes to be stopped", || {
        common::pids_with_cmdline(&marker)
            .into_iter()
            .all(|p| !running(p))
    })
    .await;
    assert!(read_records(&state).is_empty(), "its record is removed");
}
