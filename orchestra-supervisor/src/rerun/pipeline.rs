//! The rerun pipeline: batches of changes in, builds, then replacements (see the module docs
//! of [`rerun`](super)).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Weak};
use std::time::Instant;

use orchestra_core::spec::{Dependency, ProjectSpec, ServiceSpec};
use orchestra_core::{ServiceName, StateDir};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

use super::RerunRuntime;
use super::report::{describe, run_tests};
use crate::engine::Outcome;
use crate::engine::build::build;
use crate::watch::Changes;

/// Takes the watcher's changes until the runtime or the watcher goes away. Changes that
/// arrive while a batch runs are merged and make the next batch.
pub(super) async fn run(runtime: Weak<RerunRuntime>, mut rx: mpsc::UnboundedReceiver<Changes>) {
    let mut pending = Changes::new();
    loop {
        if pending.is_empty() {
            match rx.recv().await {
                Some(changes) => merge(&mut pending, changes),
                None => return,
            }
        }
        while let Ok(changes) = rx.try_recv() {
            merge(&mut pending, changes);
        }
        let Some(runtime) = runtime.upgrade() else {
            return;
        };
        pending = runtime
            .run_batch(std::mem::take(&mut pending), &mut rx)
            .await;
    }
}

fn merge(into: &mut Changes, changes: Changes) {
    for (service, files) in changes {
        into.entry(service).or_default().extend(files);
    }
}

/// How a service's build (with its tests) went: `Err` says why it failed.
type Built = BTreeMap<ServiceName, Result<(), String>>;

impl RerunRuntime {
    /// Runs one batch; returns the changes of other services that arrived meanwhile.
    async fn run_batch(
        self: &Arc<Self>,
        batch: Changes,
        rx: &mut mpsc::UnboundedReceiver<Changes>,
    ) -> Changes {
        let (project, mut batch) = {
            let mut inner = self.inner.lock().await;
            let Some(project) = inner.project.clone() else {
                return Changes::new();
            };
            let batch: Changes = batch
                .into_iter()
                .filter(|(name, _)| {
                    inner.watched.contains(name) && project.services.contains_key(name)
                })
                .collect();
            inner.running = batch.keys().cloned().collect();
            (project, batch)
        };
        if batch.is_empty() {
            return Changes::new();
        }
        let started = Instant::now();
        self.announce(&batch, "rebuilding");
        let mut later = Changes::new();
        let mut built = Built::new();
        loop {
            let to_build = batch.keys().filter(|s| !built.contains_key(*s));
            let mut builds = build_all(&self.state, &project, to_build);
            let newer = loop {
                tokio::select! {
                    joined = builds.join_next() => match joined {
                        None => break None,
                        Some(Ok((name, result))) => {
                            built.insert(name, result);
                        }
                        Some(Err(e)) => tracing::warn!("a rerun build task failed: {e}"),
                    },
                    Some(changes) = rx.recv() => {
                        let (ours, others): (Changes, Changes) =
                            changes.into_iter().partition(|(s, _)| batch.contains_key(s));
                        merge(&mut later, others);
                        if !ours.is_empty() {
                            break Some(ours);
                        }
                    }
                }
            };
            let Some(ours) = newer else { break };
            // Dropping the builds kills their compilers; those whose sources changed again
            // build again, with the ones that had not finished.
            drop(builds);
            for service in ours.keys() {
                built.remove(service);
            }
            self.announce(&ours, "building again");
            merge(&mut batch, ours);
        }
        self.replace(&project, &built, started).await;
        self.inner.lock().await.running.clear();
        later
    }

    /// Replaces the replicas of the services built, and says how each service's rerun went.
    async fn replace(&self, project: &ProjectSpec, built: &Built, started: Instant) {
        let ready: Vec<ServiceName> = built
            .iter()
            .filter(|(_, r)| r.is_ok())
            .map(|(n, _)| n.clone())
            .collect();
        let outcome = if ready.is_empty() {
            Outcome::from_failures(Vec::new())
        } else {
            let (events, mut rx) = mpsc::unbounded_channel();
            let drain = tokio::spawn(async move {
                while let Some(p) = rx.recv().await {
                    // The time since the change was taken up shows where a slow rerun spends it.
                    let ms = started.elapsed().as_millis();
                    tracing::debug!(?p, ms, "rerun progress");
                }
            });
            let outcome = self.engine.replace(project, &ready, events).await;
            let _ = drain.await;
            outcome
        };
        for (service, result) in built {
            let failed = match result {
                Err(why) => Some(why.clone()),
                Ok(()) => outcome
                    .failures
                    .iter()
                    .find(|f| f.service() == Some(service))
                    .map(ToString::to_string),
            };
            if let Some(why) = failed {
                self.fail(service, format!("{why}; still running the previous build"))
                    .await;
                continue;
            }
            if let Some(spec) = project.services.get(service)
                && spec.is_task()
                && let Some(outcome) = self.restart_dependants(project, service).await
                && let Some(f) = outcome.failures.first()
            {
                self.fail(service, f.to_string()).await;
                continue;
            }
            self.inner.lock().await.failures.remove(service);
            self.say(
                service,
                &format!(
                    "rebuilt and restarted in {:.1}s: serving the new build",
                    started.elapsed().as_secs_f64()
                ),
            );
        }
    }

    /// Restarts the services that depend on the task `task` and run now; `None` when
    /// there are none.
    async fn restart_dependants(
        &self,
        project: &ProjectSpec,
        task: &ServiceName,
    ) -> Option<Outcome> {
        let running: BTreeSet<String> = self
            .engine
            .status()
            .await
            .into_iter()
            .filter(|r| r.state.is_alive())
            .map(|r| r.service)
            .collect();
        let dependants: Vec<ServiceName> = project
            .services
            .values()
            .filter(|s| running.contains(s.name.as_str()))
            .filter(|s| s.depends_on.contains(&Dependency::Service(task.clone())))
            .map(|s| s.name.clone())
            .collect();
        if dependants.is_empty() {
            return None;
        }
        let names: Vec<&str> = dependants.iter().map(ServiceName::as_str).collect();
        self.say(task, &format!("finished: restarting {}", names.join(", ")));
        let (events, _ignored) = mpsc::unbounded_channel();
        Some(self.engine.restart(project, &dependants, events).await)
    }

    /// Says in each service's log which files changed and what happens now.
    fn announce(&self, changes: &Changes, what: &str) {
        let root = self.state.root().parent().unwrap_or(self.state.root());
        // Services that changed for the same files are named together.
        let mut by_files: BTreeMap<String, Vec<&ServiceName>> = BTreeMap::new();
        for (service, files) in changes {
            by_files
                .entry(describe(files, root))
                .or_default()
                .push(service);
        }
        for (files, services) in by_files {
            let names: Vec<&str> = services.iter().map(|s| s.as_str()).collect();
            let line = format!("[orchestra] {}: {files} → {what}\n", names.join(", "));
            tracing::info!("{}", line.trim_end());
            for service in services {
                self.append(service, line.as_bytes());
            }
        }
    }
}

/// Tests (when asked) and builds `services`, one per core.
fn build_all<'a>(
    state: &StateDir,
    project: &ProjectSpec,
    services: impl Iterator<Item = &'a ServiceName>,
) -> JoinSet<(ServiceName, Result<(), String>)> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let permits = Arc::new(Semaphore::new(cores));
    let mut builds = JoinSet::new();
    for name in services {
        let Some(spec) = project.services.get(name).cloned() else {
            continue;
        };
        let permits = Arc::clone(&permits);
        let state = state.clone();
        builds.spawn(async move {
            let _permit = permits.acquire().await;
            let result = test_and_build(&spec, &state).await;
            (spec.name, result)
        });
    }
    builds
}

/// Runs the unit tests when `rerun.test` asks (their output goes into the service's log
/// when they fail), then the build.
async fn test_and_build(spec: &ServiceSpec, state: &StateDir) -> Result<(), String> {
    if spec.rerun.test {
        run_tests(spec, state).await?;
    }
    build(spec, state).await.map_err(|f| f.to_string())
}
