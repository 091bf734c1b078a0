//! The rerun pipeline: batches of changes in, builds, then replacements (see the module docs
//! of [`rerun`](super)).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use orchestra_core::ServiceName;
use orchestra_core::spec::{Dependency, ProjectSpec};
use tokio::sync::mpsc;

use super::RerunRuntime;
use super::builds::{BuildResult, Builds};
use super::report::describe;
use crate::engine::Outcome;
use crate::watch::{Changes, WatchEvent};

/// How long a batch waits for the rest of a burst it was told of (see
/// [`WatchEvent::Stale`]) before it goes on without the service: the watcher sends it
/// within a few seconds, unless the service stopped being watched meanwhile.
const REST_OF_BURST: Duration = Duration::from_secs(30);

/// Takes the watcher's changes until the runtime or the watcher goes away. Changes that
/// arrive while a batch runs are merged and make the next batch.
pub(super) async fn run(runtime: Weak<RerunRuntime>, mut rx: mpsc::UnboundedReceiver<WatchEvent>) {
    let mut pending = Changes::new();
    loop {
        if pending.is_empty() {
            match rx.recv().await {
                Some(WatchEvent::Changed(changes)) => merge(&mut pending, changes),
                // Nothing is building: nothing turns stale.
                Some(WatchEvent::Stale(_)) => continue,
                None => return,
            }
        }
        // Services told stale after their changes came, and before the rest came: their
        // build waits for the rest.
        let mut stale = BTreeSet::new();
        while let Ok(event) = rx.try_recv() {
            match event {
                WatchEvent::Changed(changes) => {
                    stale.retain(|s| !changes.contains_key(s));
                    merge(&mut pending, changes);
                }
                WatchEvent::Stale(names) => stale.extend(names),
            }
        }
        let Some(runtime) = runtime.upgrade() else {
            return;
        };
        pending = runtime
            .run_batch(std::mem::take(&mut pending), stale, &mut rx)
            .await;
    }
}

fn merge(into: &mut Changes, changes: Changes) {
    for (service, files) in changes {
        into.entry(service).or_default().extend(files);
    }
}

/// How each service's build (with its tests) went.
type Built = BTreeMap<ServiceName, BuildResult>;

impl RerunRuntime {
    /// Runs one batch; returns the changes of other services that arrived meanwhile.
    async fn run_batch(
        self: &Arc<Self>,
        batch: Changes,
        stale: BTreeSet<ServiceName>,
        rx: &mut mpsc::UnboundedReceiver<WatchEvent>,
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
        let mut builds = Builds::new(self.state.clone(), Arc::clone(&project));
        // Services whose build was dropped as stale, until the rest of their burst comes.
        let mut waiting: BTreeSet<ServiceName> = stale
            .into_iter()
            .filter(|s| batch.contains_key(s))
            .collect();
        builds.start(batch.keys().filter(|s| !waiting.contains(*s)));
        let mut watching = true;
        while !builds.is_empty() || !waiting.is_empty() {
            tokio::select! {
                Some((name, result)) = builds.next(), if !builds.is_empty() => {
                    built.insert(name, result);
                }
                event = rx.recv(), if watching => match event {
                    Some(WatchEvent::Stale(names)) => {
                        for name in names.iter().filter(|n| batch.contains_key(*n)) {
                            builds.stop(name);
                            built.remove(name);
                            waiting.insert(name.clone());
                        }
                    }
                    Some(WatchEvent::Changed(changes)) => {
                        let (ours, others): (Changes, Changes) =
                            changes.into_iter().partition(|(s, _)| batch.contains_key(s));
                        merge(&mut later, others);
                        if ours.is_empty() {
                            continue;
                        }
                        for name in ours.keys() {
                            waiting.remove(name);
                            built.remove(name);
                        }
                        builds.start(ours.keys());
                        self.announce(&ours, "building again");
                        merge(&mut batch, ours);
                    }
                    None => {
                        watching = false;
                        waiting.clear();
                    }
                },
                () = tokio::time::sleep(REST_OF_BURST), if builds.is_empty() => {
                    tracing::warn!(services = ?waiting, "the rest of a burst never came");
                    waiting.clear();
                }
            }
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
