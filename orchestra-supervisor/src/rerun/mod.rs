//! Rerun: rebuild, test and replace a service when its files change — and never serve a
//! broken build.
//!
//! # How it works
//!
//! A [`FleetWatcher`] reports which services' files changed, and which files: a saved file
//! at once, the rest of a burst once it is quiet. For a Go service that includes the
//! packages it imports anywhere in the repository, so an edit in a shared `pkg/auth` reruns
//! exactly the services that import it. One pipeline takes the changes, all the services
//! that changed together as one batch:
//!
//! 1. one line in each service's log says why: `users, orders: pkg/auth/token.go changed →
//!    rebuilding`;
//! 2. each service runs its tests first when `rerun: {test: true}` (so a failing test never
//!    replaces a good binary), then its build — all of the batch at once, one per core; the
//!    Go services of one module with the default build are built by one `go build`, which
//!    compiles what they share once (a service it could not build is built alone, so its
//!    failure is its own);
//! 3. if more changes of a service arrive meanwhile (the rest of a `git checkout`, a
//!    formatter rewriting the file), its build is dropped at once (its compiler killed) and
//!    starts again on the rest of the burst, once that is quiet: a burst is still served by
//!    one replacement;
//! 4. the services whose build passed have their replicas replaced through the engine's
//!    restart path without a second build, in dependency order, a scaled service one
//!    replica at a time.
//!
//! On failure the old replicas keep running, the compiler or test output lands in the
//! service's log with one clear line, and [`RerunRuntime::failure`] (shown by `ps`) says why
//! until a rerun succeeds. Changes that arrive while replicas are being replaced make the
//! next batch.
//!
//! A task (`task: true`) is run again the same way; once it has exited 0, the services
//! running that depend on it are restarted, so they start over on what it prepared.
//!
//! # Using it
//!
//! Make one [`RerunRuntime`] per [`Engine`], then say which services of a project to watch
//! (all those named with `all`, or only those whose `rerun.enabled` is set); stop watching
//! them as they stop. [`RerunRuntime::failure`] says why a service's last rerun failed.
//!
//! ```no_run
//! # async fn demo(project: orchestra_core::spec::ProjectSpec) {
//! use orchestra_core::StateDir;
//! use orchestra_supervisor::{Engine, RerunRuntime, StartOptions};
//!
//! let state = StateDir::at(&project.state_dir);
//! let engine = Engine::new(state.clone());
//! let rerun = RerunRuntime::new(engine.clone(), state);
//! let services: Vec<_> = project.services.keys().cloned().collect();
//! let (progress, _) = tokio::sync::mpsc::unbounded_channel();
//! engine.start(&project, &services, StartOptions::default(), progress).await;
//! rerun.watch(&project, &services, true).await;
//! // … every saved change now rebuilds and replaces the services it concerns …
//! rerun.unwatch(&[]).await;
//! # }
//! ```

mod builds;
mod pipeline;
mod report;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use orchestra_core::spec::{ProjectSpec, ServiceSpec};
use orchestra_core::{ServiceName, StateDir};
use tokio::sync::{Mutex, mpsc};

use crate::engine::Engine;
use crate::watch::{FleetWatcher, WatchEvent};

/// The rerun state of one engine: which services are watched, and what the last run said.
pub struct RerunRuntime {
    engine: Engine,
    state: StateDir,
    inner: Mutex<Inner>,
    changed: mpsc::UnboundedSender<WatchEvent>,
}

impl std::fmt::Debug for RerunRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RerunRuntime")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Inner {
    watcher: Option<FleetWatcher>,
    project: Option<Arc<ProjectSpec>>,
    watched: BTreeSet<ServiceName>,
    /// The services of the batch in progress.
    running: BTreeSet<ServiceName>,
    /// Why the last run of a service failed, shown by `ps` until a run succeeds.
    failures: BTreeMap<ServiceName, String>,
}

impl RerunRuntime {
    /// A runtime driving `engine`; call [`RerunRuntime::watch`] to start watching. Make it
    /// inside a tokio runtime: its pipeline is a task.
    pub fn new(engine: Engine, state: StateDir) -> Arc<Self> {
        let (tx, rx) = mpsc::unbounded_channel::<WatchEvent>();
        let runtime = Arc::new(Self {
            engine,
            state,
            inner: Mutex::new(Inner::default()),
            changed: tx,
        });
        tokio::spawn(pipeline::run(Arc::downgrade(&runtime), rx));
        runtime
    }

    /// Watches `services` of `project` when `all` is set (`start --rerun`), and any of them
    /// whose service.yml says `rerun: true`. Services watched before stay watched.
    pub async fn watch(&self, project: &ProjectSpec, services: &[ServiceName], all: bool) {
        let mut inner = self.inner.lock().await;
        inner.project = Some(Arc::new(project.clone()));
        for name in services {
            if let Some(spec) = project.services.get(name)
                && (all || spec.rerun.enabled)
            {
                inner.watched.insert(name.clone());
            }
        }
        inner
            .watched
            .retain(|name| project.services.contains_key(name));
        self.apply(&mut inner, project);
    }

    /// Stops watching `services` (all when empty), as they are stopped.
    pub async fn unwatch(&self, services: &[ServiceName]) {
        let mut inner = self.inner.lock().await;
        if services.is_empty() {
            inner.watched.clear();
        } else {
            inner.watched.retain(|s| !services.contains(s));
        }
        if let Some(project) = inner.project.clone() {
            self.apply(&mut inner, &project);
        }
    }

    /// Why the last rerun of `service` failed, if it did.
    pub async fn failure(&self, service: &str) -> Option<String> {
        let inner = self.inner.lock().await;
        inner
            .failures
            .iter()
            .find(|(name, _)| name.as_str() == service)
            .map(|(_, why)| why.clone())
    }

    /// Whether no rerun is in progress (the daemon must not exit in the middle of one).
    pub async fn is_idle(&self) -> bool {
        self.inner.lock().await.running.is_empty()
    }

    fn apply(&self, inner: &mut Inner, project: &ProjectSpec) {
        let specs: Vec<ServiceSpec> = inner
            .watched
            .iter()
            .filter_map(|name| project.services.get(name).cloned())
            .collect();
        let result = match &mut inner.watcher {
            Some(watcher) => watcher.set_services(&specs),
            None if specs.is_empty() => Ok(()),
            None => FleetWatcher::start(&specs, &project.state_dir, self.changed.clone())
                .map(|w| inner.watcher = Some(w)),
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "cannot watch every service folder; rerun may miss changes");
        }
    }
}
