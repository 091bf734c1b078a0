//! The fleet's file watcher for rerun: which services' sources changed, and which files.
//!
//! # How it works
//!
//! One inotify instance (notify's recommended watcher; no polling) watches each service folder
//! recursively, so folders created later are watched too. Nested folders are watched once,
//! through the outermost one. The folders of the Go services' package graph that lie outside
//! every service folder (a shared `pkg/auth`, the module root's `go.mod`) are watched too,
//! each on its own. A dedicated thread receives every event and:
//!
//! 1. drops reads (open, close without writing: a build reads every source);
//! 2. gives each path to the service with the deepest folder holding it (a service nested in
//!    another's folder owns its own files), and keeps it only if it matches the service's
//!    `watch` globs (all files when the list is empty), none of its `ignore` globs, is not
//!    under `.git`, the state dir or the build output, and is not ignored by the `.gitignore`
//!    files from the project root down to the service folder (git's rules, nearest first);
//! 3. gives a Go source (not a test) or module file to every Go service whose package graph
//!    holds it, wherever it lies ([`gograph`](self) reads the graph with `go list -deps`, once
//!    per module or workspace, and again when a `go.mod`, a `go.work` or an import changes);
//!    an edit in a package no service imports concerns none;
//! 4. debounces per service on the leading edge: a file closed after writing (or renamed
//!    into place) is sent at once; what follows is sent once, `rerun.debounce` after the last
//!    change of the burst, or every [`max(10 × debounce, 2 s)`](MAX_WAIT_FLOOR) while it lasts.
//!
//! Editors' lock, swap, probe and backup files (`.#main.go`, `.main.go.swp`, vim's `4913`,
//! `main.go~`) never count. A new folder counts when, at the end of its burst, it holds a
//! relevant file: files written into it before its watch was in place are not missed. A
//! folder moved out of a service takes its sources along, so a name reported as moved away
//! that no longer exists and has no extension counts. A kernel queue overflow (changes lost)
//! counts as a change of every service. A `.gitignore` inside a watched folder that changes is
//! read again.
//!
//! # Using it
//!
//! Give it the services that rerun (`--rerun`, or `rerun.enabled`), and call
//! [`FleetWatcher::set_services`] when the fleet changes. Each [`WatchEvent::Changed`] names
//! the services to rebuild with the files that changed; [`WatchEvent::Stale`] says at once
//! that more of a burst is being written. The rerun pipeline
//! ([`RerunRuntime`](crate::RerunRuntime)) starts a build at once and drops it when it
//! turns stale, building again on the rest of the burst.
//!
//! ```no_run
//! # async fn demo(services: Vec<orchestra_core::spec::ServiceSpec>) -> Result<(), Box<dyn std::error::Error>> {
//! use orchestra_supervisor::watch::FleetWatcher;
//!
//! let (tx, mut changed) = tokio::sync::mpsc::unbounded_channel();
//! let _watcher = FleetWatcher::start(&services, std::path::Path::new("/p/.orchestra"), tx)?;
//! while let Some(event) = changed.recv().await {
//!     if let orchestra_supervisor::watch::WatchEvent::Changed(changes) = event {
//!         for (service, files) in changes {
//!             println!("{service}: {files:?} changed: rebuild it");
//!         }
//!     }
//! }
//! # Ok(()) }
//! ```

mod affected;
mod debounce;
mod gograph;
mod imports;
mod rules;
mod worker;

pub use affected::affected;
pub(crate) use gograph::build_root;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use orchestra_core::name::ServiceName;
use orchestra_core::spec::ServiceSpec;
use tokio::sync::mpsc::UnboundedSender;

use self::gograph::GoGraph;
use self::rules::{Fleet, ServiceRules};
use self::worker::{Bounds, Msg};

/// The shortest cap on how long a never-ending stream of changes holds a rerun back.
pub const MAX_WAIT_FLOOR: Duration = Duration::from_secs(2);

/// What changed, by service: the files of the edge or burst that concern it (the first
/// few dozen; a service folder when changes were lost, empty when a new folder of sources
/// appeared).
pub type Changes = BTreeMap<ServiceName, BTreeSet<PathBuf>>;

/// What the watcher sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent {
    /// These services' sources changed: rebuild them.
    Changed(Changes),
    /// These services changed again since they were sent: more of a burst is being written,
    /// so what was started for them works on stale sources. A [`WatchEvent::Changed`]
    /// follows once they are quiet.
    Stale(BTreeSet<ServiceName>),
}

/// Why the watcher could not start or follow the fleet.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The operating system's watcher could not be created (inotify instances exhausted).
    #[error("cannot create the file watcher")]
    Start(#[source] notify::Error),
    /// The watcher's thread could not be spawned.
    #[error("cannot start the file watcher's thread")]
    Thread(#[source] std::io::Error),
    /// A service folder could not be watched (missing, or inotify watches exhausted: raise
    /// `fs.inotify.max_user_watches`).
    #[error("cannot watch `{}`", path.display())]
    Watch {
        /// The folder.
        path: PathBuf,
        /// What notify said.
        #[source]
        source: notify::Error,
    },
    /// A `watch` or `ignore` glob does not parse.
    #[error("service `{service}`: bad glob `{glob}`")]
    Glob {
        /// The service.
        service: ServiceName,
        /// The glob (or globs) at fault.
        glob: String,
        /// What globset said.
        #[source]
        source: globset::Error,
    },
}

/// The operating system's watcher and what it watches; shared with the thread, which
/// watches the package folders a new graph names.
pub(crate) struct Watching {
    watcher: RecommendedWatcher,
    /// Service folders not inside another one, watched recursively.
    roots: BTreeSet<PathBuf>,
    /// Package folders outside every root, each watched on its own.
    extra: BTreeSet<PathBuf>,
}

impl Watching {
    /// Watches exactly `folders` (those outside the roots) on their own; the first failure
    /// is returned, the other folders are watched.
    pub(crate) fn set_extra(&mut self, folders: BTreeSet<PathBuf>) -> Result<(), WatchError> {
        let wanted: BTreeSet<PathBuf> = folders
            .into_iter()
            .filter(|f| !self.roots.iter().any(|r| f.starts_with(r)))
            .collect();
        for gone in self.extra.difference(&wanted) {
            let _ = self.watcher.unwatch(gone);
        }
        self.extra.retain(|f| wanted.contains(f));
        let mut failure = None;
        for new in wanted {
            if self.extra.contains(&new) {
                continue;
            }
            match self.watcher.watch(&new, RecursiveMode::NonRecursive) {
                Ok(()) => {
                    self.extra.insert(new);
                }
                Err(source) => {
                    failure.get_or_insert(WatchError::Watch { path: new, source });
                }
            }
        }
        failure.map_or(Ok(()), Err)
    }
}

/// One watcher for the whole fleet. Dropping it stops watching.
pub struct FleetWatcher {
    watching: Arc<Mutex<Watching>>,
    bounds: Bounds,
    worker: mpsc::Sender<Msg>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for FleetWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetWatcher")
            .field("roots", &self.watched_folders().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl FleetWatcher {
    /// Watches each service's folder recursively (and the Go services' package graphs) and
    /// sends the services whose sources changed on `changed`, with the files (see the module
    /// docs for what is relevant and when it is sent).
    ///
    /// `state_dir` is the project's `.orchestra` folder; its parent is the project root, whose
    /// `.gitignore` applies too. Service folders should be absolute, as the config crate
    /// resolves them. Pass only the services that rerun.
    ///
    /// When it returns, the folders are watched: a change made afterwards is seen.
    pub fn start(
        services: &[ServiceSpec],
        state_dir: &Path,
        changed: UnboundedSender<WatchEvent>,
    ) -> Result<FleetWatcher, WatchError> {
        let (tx, rx) = mpsc::channel();
        let events = tx.clone();
        let watcher = notify::recommended_watcher(move |event| {
            // The worker only goes away when the watcher is being dropped.
            let _ = events.send(Msg::Fs(event));
        })
        .map_err(WatchError::Start)?;
        let watching = Arc::new(Mutex::new(Watching {
            watcher,
            roots: BTreeSet::new(),
            extra: BTreeSet::new(),
        }));
        let bounds = Bounds {
            project_root: state_dir.parent().unwrap_or(state_dir).to_path_buf(),
            state_dir: state_dir.to_path_buf(),
        };
        let worker_bounds = Bounds {
            project_root: bounds.project_root.clone(),
            state_dir: bounds.state_dir.clone(),
        };
        let worker_watching = Arc::clone(&watching);
        let thread = std::thread::Builder::new()
            .name("orchestra-watch".into())
            .spawn(move || worker::run(&rx, &changed, &worker_bounds, &worker_watching))
            .map_err(WatchError::Thread)?;
        let mut this = FleetWatcher {
            watching,
            bounds,
            worker: tx,
            thread: Some(thread),
        };
        this.set_services(services)?;
        Ok(this)
    }

    /// Follows a fleet that changed: watches the folders of new services, stops watching
    /// those of removed ones, applies the new rules of the others, and reads the Go
    /// services' package graph again.
    ///
    /// Folders that can be watched are, even when another one fails; the first failure is
    /// returned. Globs are checked first: a bad one changes nothing.
    pub fn set_services(&mut self, services: &[ServiceSpec]) -> Result<(), WatchError> {
        let rules = services
            .iter()
            .map(|s| ServiceRules::new(s, &self.bounds.project_root, &self.bounds.state_dir))
            .collect::<Result<Vec<_>, _>>()?;
        let wanted = outermost(services.iter().map(|s| s.dir.as_path()));
        let started = std::time::Instant::now();
        let graph = GoGraph::read(services, &self.bounds.project_root);
        tracing::debug!(
            services = services.len(),
            packages = graph.len(),
            elapsed_ms = started.elapsed().as_millis(),
            "go package graph read"
        );
        let package_folders = graph.folders();

        // The new rules go first, so the first event of a new folder finds its service, and
        // events still queued from a removed one find none. The worker has gone only if
        // `changed` was closed: nobody is listening then.
        let _ = self
            .worker
            .send(Msg::Fleet(Fleet::new(rules), services.to_vec(), graph));
        let mut watching = self.watching.lock().unwrap_or_else(PoisonError::into_inner);
        // Unwatch first: a folder that becomes nested in a new root must not be watched twice.
        let gone: Vec<PathBuf> = watching.roots.difference(&wanted).cloned().collect();
        for gone in gone {
            if let Err(err) = watching.watcher.unwatch(&gone) {
                tracing::debug!(folder = %gone.display(), "unwatch: {err}");
            }
        }
        watching.roots.retain(|r| wanted.contains(r));
        let mut failure = None;
        for new in &wanted {
            if watching.roots.contains(new) {
                continue;
            }
            // A package folder watched on its own becomes part of a root.
            if watching.extra.remove(new) {
                let _ = watching.watcher.unwatch(new);
            }
            match watching.watcher.watch(new, RecursiveMode::Recursive) {
                Ok(()) => {
                    watching.roots.insert(new.clone());
                }
                Err(source) => {
                    tracing::warn!(folder = %new.display(), "cannot watch: {source}");
                    failure.get_or_insert(WatchError::Watch {
                        path: new.clone(),
                        source,
                    });
                }
            }
        }
        if let Err(err) = watching.set_extra(package_folders) {
            tracing::warn!("cannot watch a package folder: {err}");
        }
        failure.map_or(Ok(()), Err)
    }

    /// The service folders given to the operating system's watcher (recursively).
    pub fn watched_folders(&self) -> impl Iterator<Item = PathBuf> {
        let watching = self.watching.lock().unwrap_or_else(PoisonError::into_inner);
        watching.roots.clone().into_iter()
    }

    /// The folders of the Go services' package graphs watched on their own: those outside
    /// every service folder.
    pub fn package_folders(&self) -> impl Iterator<Item = PathBuf> {
        let watching = self.watching.lock().unwrap_or_else(PoisonError::into_inner);
        watching.extra.clone().into_iter()
    }
}

impl Drop for FleetWatcher {
    fn drop(&mut self) {
        let _ = self.worker.send(Msg::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The folders of `dirs` that are not inside another one of them.
fn outermost<'a>(dirs: impl Iterator<Item = &'a Path>) -> BTreeSet<PathBuf> {
    let all: BTreeSet<&Path> = dirs.collect();
    all.iter()
        .filter(|d| !all.iter().any(|o| o != *d && d.starts_with(o)))
        .map(|d| d.to_path_buf())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_folders_are_watched_through_the_outermost() {
        let dirs = [
            Path::new("/p/api/admin"),
            Path::new("/p/api"),
            Path::new("/p/users"),
            Path::new("/p/users-v2"),
        ];
        let roots: Vec<_> = outermost(dirs.into_iter()).into_iter().collect();
        assert_eq!(
            roots,
            [
                PathBuf::from("/p/api"),
                PathBuf::from("/p/users"),
                PathBuf::from("/p/users-v2")
            ]
        );
    }
}
