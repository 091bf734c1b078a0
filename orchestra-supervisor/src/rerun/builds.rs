//! The builds of a rerun batch, each one droppable on its own when its sources turn stale.
//!
//! Go services of one module whose builds are the default `go build` are built together by
//! one `go build` (see [`GoBatch`]): an edit in a shared package compiles it once, not once
//! per service. Dropping one service of such a build drops the whole `go build` and starts
//! it again for the others.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use orchestra_core::spec::{ProjectSpec, ServiceSpec};
use orchestra_core::{ServiceName, StateDir};
use tokio::sync::Semaphore;
use tokio::task::{AbortHandle, Id, JoinSet};

use super::report::run_tests;
use crate::engine::build::{GoBatch, build, plan_go_batches};

/// How a service's build (with its tests) went: `Err` says why it failed.
pub(super) type BuildResult = Result<(), String>;

/// What one build task says of each of its services: `None` for a service a batch left to
/// be built alone.
type TaskResults = Vec<(ServiceName, Option<BuildResult>)>;

/// Builds running for a batch, one per core at a time (a batched `go build` counts as one).
pub(super) struct Builds {
    state: StateDir,
    project: Arc<ProjectSpec>,
    permits: Arc<Semaphore>,
    set: JoinSet<TaskResults>,
    /// The current build of each service (services built together share one); a result
    /// from an older one is not its result.
    running: HashMap<ServiceName, (Id, AbortHandle)>,
    /// Results of a batched build not yet taken.
    done: VecDeque<(ServiceName, BuildResult)>,
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
            done: VecDeque::new(),
        }
    }

    /// Starts (again) the tests, when asked, and the builds of `names`: together where one
    /// `go build` does the same as each alone.
    pub(super) fn start<'a>(&mut self, names: impl IntoIterator<Item = &'a ServiceName>) {
        let mut wanted: Vec<ServiceName> = names.into_iter().cloned().collect();
        // Services built with one of these are built again with them.
        let mut partners = Vec::new();
        for name in &wanted {
            partners.extend(self.drop_build(name));
        }
        for partner in partners {
            if !wanted.contains(&partner) {
                wanted.push(partner);
            }
        }
        let specs = wanted
            .iter()
            .filter_map(|name| self.project.services.get(name).cloned());
        // Tests run before their own service's build: such a build stays on its own.
        let (tested, untested): (Vec<ServiceSpec>, Vec<ServiceSpec>) =
            specs.partition(|s| s.rerun.test);
        let (batches, alone) = plan_go_batches(untested);
        for spec in tested.into_iter().chain(alone) {
            self.start_alone(spec);
        }
        for batch in batches {
            self.start_batch(batch);
        }
    }

    fn start_alone(&mut self, spec: ServiceSpec) {
        let name = spec.name.clone();
        let permits = Arc::clone(&self.permits);
        let state = self.state.clone();
        let handle = self.set.spawn(async move {
            let _permit = permits.acquire().await;
            let result = test_and_build(&spec, &state).await;
            vec![(spec.name, Some(result))]
        });
        self.running.insert(name, (handle.id(), handle));
    }

    fn start_batch(&mut self, batch: GoBatch) {
        let names: Vec<ServiceName> = batch.services().cloned().collect();
        let permits = Arc::clone(&self.permits);
        let state = self.state.clone();
        let handle = self.set.spawn(async move {
            let _permit = permits.acquire().await;
            batch
                .build(&state)
                .await
                .into_iter()
                .map(|(name, result)| (name, result.map(|r| r.map_err(|f| f.to_string()))))
                .collect()
        });
        for name in names {
            self.running.insert(name, (handle.id(), handle.clone()));
        }
    }

    /// Drops the build of `name`: aborting its task drops the build, which kills its whole
    /// session (the compiler included). The other services of a batched build are built
    /// again without it.
    pub(super) fn stop(&mut self, name: &ServiceName) {
        let partners = self.drop_build(name);
        self.start(&partners);
    }

    /// Drops the build of `name` (see [`Builds::stop`]); returns the services that were
    /// built with it, whose build is dropped too.
    fn drop_build(&mut self, name: &ServiceName) -> Vec<ServiceName> {
        self.done.retain(|(n, _)| n != name);
        let Some((id, handle)) = self.running.remove(name) else {
            return Vec::new();
        };
        handle.abort();
        self.take_built_by(id)
    }

    /// Takes out the services whose current build is the task `id`.
    fn take_built_by(&mut self, id: Id) -> Vec<ServiceName> {
        let names: Vec<ServiceName> = self
            .running
            .iter()
            .filter(|(_, (task, _))| *task == id)
            .map(|(name, _)| name.clone())
            .collect();
        for name in &names {
            self.running.remove(name);
        }
        names
    }

    /// Whether no build is running and no result is waiting to be taken.
    pub(super) fn is_empty(&self) -> bool {
        self.running.is_empty() && self.done.is_empty()
    }

    /// The next build to finish, with its result; `None` when none runs. Cancel-safe.
    pub(super) async fn next(&mut self) -> Option<(ServiceName, BuildResult)> {
        loop {
            if let Some(done) = self.done.pop_front() {
                return Some(done);
            }
            if self.running.is_empty() {
                return None;
            }
            let (id, outcome) = match self.set.join_next_with_id().await? {
                Ok((id, results)) => (id, Ok(results)),
                Err(e) if e.is_cancelled() => continue,
                Err(e) => (e.id(), Err(e)),
            };
            // Only the services this build is still current for; an older build of a
            // service built again since says nothing.
            let current = self.take_built_by(id);
            match outcome {
                Ok(results) => {
                    for (name, result) in results {
                        if !current.contains(&name) {
                            continue;
                        }
                        match result {
                            Some(result) => self.done.push_back((name, result)),
                            // The batch failed before this one's binary: its own build
                            // says why, in its own log.
                            None => {
                                if let Some(spec) = self.project.services.get(&name).cloned() {
                                    self.start_alone(spec);
                                }
                            }
                        }
                    }
                }
                Err(e) => self.done.extend(
                    current
                        .into_iter()
                        .map(|name| (name, Err(format!("build failed: {e}")))),
                ),
            }
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
