//! The builds of a rerun batch, each one droppable on its own when its sources turn stale.

use std::collections::HashMap;
use std::sync::Arc;

use orchestra_core::spec::{ProjectSpec, ServiceSpec};
use orchestra_core::{ServiceName, StateDir};
use tokio::sync::Semaphore;
use tokio::task::{AbortHandle, Id, JoinSet};

use super::report::run_tests;
use crate::engine::build::build;

/// How a service's build (with its tests) went: `Err` says why it failed.
pub(super) type BuildResult = Result<(), String>;

/// Builds running for a batch, one per core at a time.
pub(super) struct Builds {
    state: StateDir,
    project: Arc<ProjectSpec>,
    permits: Arc<Semaphore>,
    set: JoinSet<(ServiceName, BuildResult)>,
    /// The current build of each service; a result from an older one is not its result.
    running: HashMap<ServiceName, (Id, AbortHandle)>,
}

impl Builds {
    pub(super) fn new(state: StateDir, project: Arc<ProjectSpec>) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Self {
            state,
            project,
            permits: Arc::new(Semaphore::new(cores)),
            set: JoinSet::new(),
            running: HashMap::new(),
        }
    }

    /// Starts (again) the tests, when asked, and the build of `name`.
    pub(super) fn start(&mut self, name: &ServiceName) {
        self.stop(name);
        let Some(spec) = self.project.services.get(name).cloned() else {
            return;
        };
        let permits = Arc::clone(&self.permits);
        let state = self.state.clone();
        let handle = self.set.spawn(async move {
            let _permit = permits.acquire().await;
            let result = test_and_build(&spec, &state).await;
            (spec.name, result)
        });
        self.running.insert(name.clone(), (handle.id(), handle));
    }

    /// Drops the build of `name`: aborting its task drops the build, which kills its whole
    /// session (the compiler included).
    pub(super) fn stop(&mut self, name: &ServiceName) {
        if let Some((_, handle)) = self.running.remove(name) {
            handle.abort();
        }
    }

    /// Whether no build is running.
    pub(super) fn is_empty(&self) -> bool {
        self.running.is_empty()
    }

    /// The next build to finish, with its result; `None` when none runs. Cancel-safe.
    pub(super) async fn next(&mut self) -> Option<(ServiceName, BuildResult)> {
        loop {
            if self.running.is_empty() {
                return None;
            }
            let (id, outcome) = match self.set.join_next_with_id().await? {
                Ok((id, (name, result))) => (id, Ok((name, result))),
                Err(e) if e.is_cancelled() => continue,
                Err(e) => (e.id(), Err(e)),
            };
            let Some(name) = self
                .running
                .iter()
                .find(|(_, (current, _))| *current == id)
                .map(|(name, _)| name.clone())
            else {
                // An older build of a service built again since.
                continue;
            };
            self.running.remove(&name);
            return Some(match outcome {
                Ok((_, result)) => (name, result),
                Err(e) => (name, Err(format!("build failed: {e}"))),
            });
        }
    }
}

/// Runs the unit tests when `rerun.test` asks (their output goes into the service's log
/// when they fail), then the build.
async fn test_and_build(spec: &ServiceSpec, state: &StateDir) -> BuildResult {
    if spec.rerun.test {
        run_tests(spec, state).await?;
    }
    build(spec, state).await.map_err(|f| f.to_string())
}
