//! Replicas whose record cannot be read (a torn write, a hand edit), found by what their
//! processes carry, so that a damaged record never leaves a replica running unseen by
//! `stop`.
//!
//! Every process of a replica inherits `ORCHESTRA_INSTANCE` (the run's token),
//! `ORCHESTRA_SERVICE` and `ORCHESTRA_REPLICA`. A process of this user that holds a token
//! and works inside the project folder belongs to the replica it names; the caller leaves
//! out the runs whose tokens a readable record names. Processes sharing a token are one run: the earliest of
//! them stands for it, the tree search finds the rest.

use std::collections::HashMap;
use std::ffi::OsString;

use orchestra_core::{ProcessIdentity, ReplicaId, ServiceName, StateDir};
use procfs::process::Process;

use crate::unix::INSTANCE_ENV;
use crate::unix::identity::boot_id;

/// A run of a replica found by its processes' environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FoundRun {
    /// The replica.
    pub id: ReplicaId,
    /// Its earliest live process.
    pub identity: ProcessIdentity,
    /// Its token.
    pub instance: String,
}

/// The live runs of the replicas `wanted` says yes to, by one pass over `/proc`. Only
/// processes of this user working inside the project that owns `state` are looked at.
pub(crate) fn find_runs(state: &StateDir, wanted: &dyn Fn(&ReplicaId) -> bool) -> Vec<FoundRun> {
    let Some(root) = state.root().parent().and_then(|p| p.canonicalize().ok()) else {
        return Vec::new();
    };
    let me = nix::unistd::geteuid().as_raw();
    let own = std::process::id() as i32;
    // The earliest process of each token.
    let mut runs: HashMap<String, FoundRun> = HashMap::new();
    let Ok(all) = procfs::process::all_processes() else {
        return Vec::new();
    };
    for process in all.flatten() {
        if process.pid == own || process.uid().ok() != Some(me) {
            continue;
        }
        if !process.cwd().is_ok_and(|cwd| cwd.starts_with(&root)) {
            continue;
        }
        let Some((id, instance)) = replica_of(&process) else {
            continue;
        };
        if !wanted(&id) {
            continue;
        }
        let Ok(stat) = process.stat() else { continue };
        if matches!(stat.state, 'Z' | 'X') {
            continue;
        }
        let identity = ProcessIdentity {
            pid: stat.pid,
            pgid: stat.pgrp,
            start_time: stat.starttime,
            boot_id: boot_id().to_owned(),
        };
        let earlier = runs
            .get(&instance)
            .is_none_or(|run| identity.start_time < run.identity.start_time);
        if earlier {
            runs.insert(
                instance.clone(),
                FoundRun {
                    id,
                    identity,
                    instance,
                },
            );
        }
    }
    let mut found: Vec<FoundRun> = runs.into_values().collect();
    found.sort_by(|a, b| (&a.id, a.identity.pid).cmp(&(&b.id, b.identity.pid)));
    found
}

/// The replica and token a process's environment names, if it holds a token.
fn replica_of(process: &Process) -> Option<(ReplicaId, String)> {
    let env = process.environ().ok()?;
    let var = |name: &str| env.get(&OsString::from(name))?.to_str();
    let instance = var(INSTANCE_ENV).filter(|t| !t.is_empty())?;
    let service = ServiceName::new(var("ORCHESTRA_SERVICE")?).ok()?;
    let index = var("ORCHESTRA_REPLICA")?.parse().ok()?;
    Some((ReplicaId::new(service, index), instance.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;
    use std::path::Path;

    #[test]
    fn finds_a_replica_by_its_environment_inside_the_project_only() {
        let project = tempfile::tempdir().unwrap();
        let state = StateDir::for_project(project.path());
        let elsewhere = tempfile::tempdir().unwrap();
        let token = format!("unrecorded-test-{}", std::process::id());
        let spawn = |dir: &Path, replica: &str| {
            std::process::Command::new("sleep")
                .arg("30")
                .current_dir(dir)
                .env(INSTANCE_ENV, &token)
                .env("ORCHESTRA_SERVICE", "worker")
                .env("ORCHESTRA_REPLICA", replica)
                .process_group(0)
                .spawn()
                .unwrap()
        };
        let mut inside = spawn(project.path(), "0");
        let mut other_replica = spawn(project.path(), "1");
        let mut outside = spawn(elsewhere.path(), "0");
        let worker0 = ReplicaId::new(ServiceName::new("worker").unwrap(), 0);
        let found = find_runs(&state, &|id| *id == worker0);
        for child in [&mut inside, &mut other_replica, &mut outside] {
            child.kill().unwrap();
            child.wait().unwrap();
        }
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].id, worker0);
        assert_eq!(found[0].identity.pid, inside.id() as i32);
        assert_eq!(found[0].instance, token);
    }
}
