//! Rerun: rebuild, test and replace a service when its files change — and never serve a
//! broken build.
//!
//! A [`FleetWatcher`] reports debounced changes per service. For each change the pipeline
//! runs the service's tests first when `rerun: {test: true}` (so a failing test never
//! replaces a good binary), then the engine's restart path — the same one `orchestra
//! restart` takes: build, and only if the build passes, replace the replicas. On failure the
//! old replicas keep running, the compiler or test output lands in the service's log with
//! one clear line, and `ps` shows the reason. One pipeline per service at a time; a change
//! during a run queues exactly one more run after it.
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
//! // … every saved change now rebuilds and replaces the service it belongs to …
//! rerun.unwatch(&[]).await;
//! # }
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use orchestra_core::spec::{Dependency, ProjectSpec, ServiceSpec};
use orchestra_core::{ReplicaId, ServiceName, StateDir};
use tokio::sync::{Mutex, mpsc};

use crate::engine::{Engine, Outcome};
use crate::watch::FleetWatcher;

/// The daemon's rerun state: which services are watched, and what the last run said.
pub struct RerunRuntime {
    engine: Engine,
    state: StateDir,
    inner: Mutex<Inner>,
    changed: mpsc::UnboundedSender<ServiceName>,
}

#[derive(Default)]
struct Inner {
    watcher: Option<FleetWatcher>,
    project: Option<Arc<ProjectSpec>>,
    watched: BTreeSet<ServiceName>,
    running: BTreeSet<ServiceName>,
    dirty: BTreeSet<ServiceName>,
    /// Why the last run of a service failed, shown by `ps` until a run succeeds.
    failures: BTreeMap<ServiceName, String>,
}

impl RerunRuntime {
    /// A runtime driving `engine`; call [`RerunRuntime::watch`] to start watching.
    pub fn new(engine: Engine, state: StateDir) -> Arc<Self> {
        let (tx, mut rx) = mpsc::unbounded_channel::<ServiceName>();
        let runtime = Arc::new(Self {
            engine,
            state,
            inner: Mutex::new(Inner::default()),
            changed: tx,
        });
        let weak = Arc::downgrade(&runtime);
        tokio::spawn(async move {
            while let Some(service) = rx.recv().await {
                let Some(runtime) = weak.upgrade() else { break };
                runtime.on_change(service).await;
            }
        });
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

    async fn on_change(self: Arc<Self>, service: ServiceName) {
        {
            let mut inner = self.inner.lock().await;
            if !inner.watched.contains(&service) {
                return;
            }
            if inner.running.contains(&service) {
                // Exactly one more run after the current one, however many changes arrive.
                inner.dirty.insert(service);
                return;
            }
            inner.running.insert(service.clone());
        }
        tokio::spawn(async move {
            loop {
                let project = self.inner.lock().await.project.clone();
                if let Some(project) = project {
                    self.run_once(&project, &service).await;
                }
                let mut inner = self.inner.lock().await;
                if !inner.dirty.remove(&service) {
                    inner.running.remove(&service);
                    break;
                }
            }
        });
    }

    async fn run_once(&self, project: &ProjectSpec, service: &ServiceName) {
        let Some(spec) = project.services.get(service) else {
            return;
        };
        let started = Instant::now();
        self.say(service, "change detected: rebuilding");
        if spec.rerun.test
            && let Err(why) = self.run_tests(spec).await
        {
            self.fail(service, why).await;
            return;
        }
        let (events, mut rx) = mpsc::unbounded_channel();
        let drain = tokio::spawn(async move {
            while let Some(p) = rx.recv().await {
                // The time since the change was taken up shows where a slow rerun spends it.
                let ms = started.elapsed().as_millis();
                tracing::debug!(?p, ms, "rerun progress");
            }
        });
        let outcome = self
            .engine
            .restart(project, std::slice::from_ref(service), events)
            .await;
        let _ = drain.await;
        let dependants = if outcome.is_ok() && spec.is_task() {
            self.restart_dependants(project, service).await
        } else {
            None
        };
        let outcome = dependants.unwrap_or(outcome);
        if outcome.is_ok() {
            self.inner.lock().await.failures.remove(service);
            self.say(
                service,
                &format!(
                    "rebuilt and restarted in {:.1}s: serving the new build",
                    started.elapsed().as_secs_f64()
                ),
            );
        } else {
            let why = outcome
                .failures
                .first()
                .map_or_else(|| "the rebuild failed".to_owned(), ToString::to_string);
            self.fail(service, format!("{why}; still running the previous build"))
                .await;
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

    /// Runs the unit tests; on failure their output goes into the service's log.
    async fn run_tests(&self, spec: &ServiceSpec) -> Result<(), String> {
        let Some(command) = &spec.test else {
            return Ok(());
        };
        let argv = command.argv();
        let output = tokio::process::Command::new(&argv[0])
            .args(&argv[1..])
            .current_dir(&spec.dir)
            .envs(&spec.env)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output()
            .await
            .map_err(|e| format!("cannot run the tests `{command}`: {e}"))?;
        if output.status.success() {
            return Ok(());
        }
        let mut text = output.stdout;
        text.extend_from_slice(&output.stderr);
        self.append(&spec.name, &text);
        Err("tests failed; still running the previous build".into())
    }

    async fn fail(&self, service: &ServiceName, why: String) {
        self.say(service, &why);
        self.inner
            .lock()
            .await
            .failures
            .insert(service.clone(), why);
    }

    /// One clear line in the service's log, so the aggregated stream says what happened.
    fn say(&self, service: &ServiceName, line: &str) {
        self.append(
            service,
            format!("[orchestra] {service}: {line}\n").as_bytes(),
        );
    }

    fn append(&self, service: &ServiceName, bytes: &[u8]) {
        let path = self.state.replica_log(&ReplicaId::new(service.clone(), 0));
        let written = orchestra_core::paths::open_append(&path).and_then(|mut f| {
            f.write_all(bytes)?;
            if !bytes.ends_with(b"\n") {
                f.write_all(b"\n")?;
            }
            Ok(())
        });
        if let Err(e) = written {
            tracing::warn!(error = %e, path = %path.display(), "cannot write to a service log");
        }
    }
}
