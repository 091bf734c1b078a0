//! What the watcher tests share: a project folder of services, and the events its watcher
//! sends, awaited with a deadline.

use std::collections::{BTreeSet, VecDeque};
use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use orchestra_core::name::ServiceName;
use orchestra_core::spec::{CommandSpec, RerunSpec, ServiceKind, ServiceSpec};
use orchestra_supervisor::watch::{FleetWatcher, WatchEvent};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

pub const GO: &[&str] = &["**/*.go", "go.mod", "go.sum"];
pub const QUIET: Duration = Duration::from_millis(100);
/// Generous: the machine running the tests may be busy building.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// A project folder with its state dir.
pub struct Project {
    pub root: tempfile::TempDir,
}

impl Project {
    pub fn new() -> Self {
        let root = tempfile::tempdir().expect("tempdir");
        fs::create_dir_all(root.path().join(".orchestra/logs")).expect("state dir");
        Self { root }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }

    pub fn state_dir(&self) -> PathBuf {
        self.path(".orchestra")
    }

    /// A Go service in `rel` (created), its binary built inside its folder as `<name>-bin`.
    pub fn go(&self, name: &str, rel: &str) -> ServiceSpec {
        self.service(name, rel, GO)
    }

    pub fn service(&self, name: &str, rel: &str, watch: &[&str]) -> ServiceSpec {
        let dir = self.path(rel);
        fs::create_dir_all(&dir).expect("service dir");
        ServiceSpec {
            kind: ServiceKind::Go,
            binary: Some(dir.join(format!("{name}-bin"))),
            stop_timeout: Duration::from_secs(1),
            watch: watch.iter().map(|s| (*s).to_owned()).collect(),
            rerun: RerunSpec {
                enabled: true,
                test: false,
                debounce: QUIET,
            },
            ..ServiceSpec::command(
                ServiceName::new(name).expect("valid name"),
                dir,
                CommandSpec::Shell("{bin}".into()),
            )
        }
    }

    pub fn write(&self, rel: &str) {
        let path = self.path(rel);
        fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        fs::write(&path, format!("package main // {:?}\n", Instant::now())).expect("write");
    }

    pub fn watch(&self, services: &[ServiceSpec]) -> (FleetWatcher, Events) {
        let (tx, rx) = unbounded_channel();
        let watcher = FleetWatcher::start(services, &self.state_dir(), tx).expect("watcher");
        (
            watcher,
            Events {
                rx,
                queued: VecDeque::new(),
                stale: Vec::new(),
            },
        )
    }
}

pub struct Events {
    rx: UnboundedReceiver<WatchEvent>,
    /// Services of a batch not yet looked at, with their files.
    queued: VecDeque<(String, BTreeSet<PathBuf>)>,
    /// The services told stale so far.
    pub stale: Vec<String>,
}

impl Events {
    /// The next service sent and its files, waiting at most [`DEADLINE`].
    pub async fn next_with_files(&mut self) -> (String, BTreeSet<PathBuf>) {
        while self.queued.is_empty() {
            let event = tokio::time::timeout(DEADLINE, self.rx.recv())
                .await
                .expect("an event before the deadline")
                .expect("the watcher is alive");
            match event {
                WatchEvent::Changed(batch) => self.queued.extend(
                    batch
                        .into_iter()
                        .map(|(name, files)| (name.to_string(), files)),
                ),
                WatchEvent::Stale(names) => {
                    self.stale.extend(names.iter().map(ToString::to_string));
                }
            }
        }
        self.queued.pop_front().expect("a batch names a service")
    }

    /// The next service sent.
    pub async fn next(&mut self) -> String {
        self.next_with_files().await.0
    }

    /// Asserts that the next name is `sentinel`'s, so that nothing was sent before it, and that
    /// nothing is queued behind it.
    pub async fn next_is_only(&mut self, sentinel: &str) {
        assert_eq!(
            self.next().await,
            sentinel,
            "an event came before the sentinel's"
        );
        assert!(
            self.queued.is_empty() && self.rx.try_recv().is_err(),
            "an event came with the sentinel's"
        );
    }
}
