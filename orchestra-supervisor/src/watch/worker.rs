//! The watcher's thread: turns raw file-system events into one batch of changes per edge.
//!
//! notify's inotify thread hands every event to [`Msg::Fs`]; this thread classifies it
//! against the [`Fleet`]'s rules and the Go services' [`GoGraph`], feeds the [`Debouncer`],
//! and sleeps until the next burst is due or the next message arrives. With nothing changing
//! it is blocked in `recv`: no timer, no polling.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use notify::Event;
use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind, RemoveKind, RenameMode};
use orchestra_core::spec::ServiceSpec;
use tokio::sync::mpsc::UnboundedSender;

use super::debounce::{Change, Debouncer, Due};
use super::gograph::GoGraph;
use super::rules::{Fleet, ServiceRules, editor_artifact};
use super::{Changes, WatchEvent, Watching};

/// What the thread is told.
pub(crate) enum Msg {
    /// An event (or error) from notify.
    Fs(notify::Result<Event>),
    /// The watched services changed: their compiled rules, the specs to recompile them from
    /// when a `.gitignore` changes, and the Go services' package graph.
    Fleet(Fleet, Vec<ServiceSpec>, GoGraph),
    /// The watcher was dropped.
    Stop,
}

/// Where the rules come from, to recompile them.
pub(crate) struct Bounds {
    pub(crate) project_root: PathBuf,
    pub(crate) state_dir: PathBuf,
}

/// What the thread keeps.
struct State {
    fleet: Fleet,
    specs: Vec<ServiceSpec>,
    graph: GoGraph,
    bursts: Debouncer,
}

/// Runs until [`Msg::Stop`], the sender side going away, or `changed` being closed.
pub(crate) fn run(
    rx: &Receiver<Msg>,
    changed: &UnboundedSender<WatchEvent>,
    bounds: &Bounds,
    watching: &Arc<Mutex<Watching>>,
) {
    let mut state = State {
        fleet: Fleet::default(),
        specs: Vec::new(),
        graph: GoGraph::default(),
        bursts: Debouncer::default(),
    };
    loop {
        let now = Instant::now();
        let stale = state.bursts.take_stale();
        if !stale.is_empty() && changed.send(WatchEvent::Stale(stale)).is_err() {
            return;
        }
        let mut batch = Changes::new();
        for due in state.bursts.take_due(now) {
            if fires(&state.fleet, &due) {
                batch.insert(due.name, due.files);
            }
        }
        if !batch.is_empty() {
            tracing::debug!(services = ?batch.keys().collect::<Vec<_>>(), "files changed");
            if changed.send(WatchEvent::Changed(batch)).is_err() {
                return;
            }
        }
        let msg = match state.bursts.next_deadline() {
            Some(deadline) => match rx.recv_timeout(deadline.saturating_duration_since(now)) {
                Ok(msg) => msg,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return,
            },
            None => match rx.recv() {
                Ok(msg) => msg,
                Err(_) => return,
            },
        };
        match msg {
            Msg::Stop => return,
            Msg::Fleet(new, new_specs, graph) => {
                for rules in state.fleet.iter() {
                    if new.get(&rules.name).is_none() {
                        state.bursts.forget(&rules.name);
                    }
                }
                state.fleet = new;
                state.specs = new_specs;
                state.graph = graph;
            }
            Msg::Fs(Err(err)) => {
                tracing::warn!("file watcher: {err}");
            }
            Msg::Fs(Ok(event)) => {
                if event.paths.iter().any(|p| p.ends_with(".gitignore")) {
                    state.fleet = recompile(&state.specs, bounds).unwrap_or(state.fleet);
                }
                if is_complete(event.kind)
                    && event.paths.iter().any(|p| state.graph.needs_refresh(p))
                {
                    refresh(&mut state, bounds, watching);
                }
                let now = Instant::now();
                classify(&state.fleet, &state.graph, &event, now, &mut state.bursts);
            }
        }
    }
}

fn recompile(specs: &[ServiceSpec], bounds: &Bounds) -> Option<Fleet> {
    let rules: Result<Vec<_>, _> = specs
        .iter()
        .map(|s| ServiceRules::new(s, &bounds.project_root, &bounds.state_dir))
        .collect();
    rules.ok().map(Fleet::new)
}

/// Reads the Go package graph again (a module file or an import changed) and watches the
/// folders it now names.
fn refresh(state: &mut State, bounds: &Bounds, watching: &Arc<Mutex<Watching>>) {
    let started = Instant::now();
    state.graph = GoGraph::read(&state.specs, &bounds.project_root);
    tracing::debug!(packages = state.graph.len(), elapsed = ?started.elapsed(), "go package graph read again");
    let folders = state.graph.folders();
    if let Err(err) = watching
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .set_extra(folders)
    {
        tracing::warn!("cannot watch a package folder: {err}");
    }
}

/// Whether the file an event names is in its final state: closed after writing, renamed or
/// removed. Data written to a file still open is not.
fn is_complete(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::Access(AccessKind::Close(AccessMode::Write))
            | EventKind::Modify(ModifyKind::Name(_))
            | EventKind::Remove(_)
    )
}

/// Records what `event` means for the services owning its paths, and for the Go services
/// whose package graph holds them.
fn classify(fleet: &Fleet, graph: &GoGraph, event: &Event, now: Instant, bursts: &mut Debouncer) {
    if event.need_rescan() {
        // The kernel's queue overflowed: changes were lost, so any service may have changed.
        tracing::warn!("file watcher overflowed; treating every service as changed");
        for rules in fleet.iter() {
            let change = Change::Relevant {
                file: rules.dir.clone(),
                complete: false,
            };
            bursts.record(&rules.name, rules.debounce, now, change);
        }
        return;
    }
    let complete = is_complete(event.kind);
    let renamed_away = matches!(
        event.kind,
        EventKind::Modify(ModifyKind::Name(RenameMode::From))
    );
    let may_add_folder = matches!(
        event.kind,
        EventKind::Create(_) | EventKind::Modify(ModifyKind::Name(_))
    );
    // Opening, reading and closing (a build reading every source) change nothing; closing
    // after writing completes a change. A folder is removed only once empty, and the
    // removals of its files were seen one by one.
    // A rename within the watched folders is reported as its two halves, then once more as
    // both: that last report would count as a second change.
    if matches!(event.kind, EventKind::Access(_) if !complete)
        || matches!(
            event.kind,
            EventKind::Remove(RemoveKind::Folder)
                | EventKind::Modify(ModifyKind::Name(RenameMode::Both))
        )
    {
        return;
    }
    for path in &event.paths {
        let is_dir = path.is_dir();
        if let Some(rules) = fleet.owner(path) {
            let change = if rules.is_relevant(path, is_dir) {
                Some(Change::Relevant {
                    file: path.clone(),
                    complete,
                })
            } else if is_dir && may_add_folder && !rules.is_excluded(path, true) {
                Some(Change::NewFolder(path.clone()))
            } else if renamed_away && looks_like_folder(path) && !rules.is_excluded(path, true) {
                // A folder moved out of the watched tree takes its sources with it, but only
                // its own name is reported and it can no longer be inspected.
                Some(Change::Relevant {
                    file: path.clone(),
                    complete,
                })
            } else {
                None
            };
            if let Some(change) = change {
                bursts.record(&rules.name, rules.debounce, now, change);
            }
        }
        if is_dir || path.file_name().is_some_and(editor_artifact) {
            continue;
        }
        // The Go services importing the file's package, wherever it lies.
        for name in graph.services_of(path).into_iter().flatten() {
            if let Some(rules) = fleet.get(name) {
                let change = Change::Relevant {
                    file: path.clone(),
                    complete,
                };
                bursts.record(name, rules.debounce, now, change);
            }
        }
    }
}

/// A path that is gone and has no extension was most likely a folder.
fn looks_like_folder(path: &Path) -> bool {
    !path.exists() && path.extension().is_none()
}

/// Whether a due burst is worth a rerun: a relevant change, or a new folder that turned out
/// to hold a relevant file.
fn fires(fleet: &Fleet, due: &Due) -> bool {
    if due.relevant {
        return true;
    }
    let Some(rules) = fleet.get(&due.name) else {
        return false;
    };
    due.folders.iter().any(|f| holds_relevant(fleet, rules, f))
}

/// Walks `folder` for a file relevant to `rules`, skipping excluded folders and folders of
/// other (nested) services.
fn holds_relevant(fleet: &Fleet, rules: &ServiceRules, folder: &Path) -> bool {
    let mut stack = vec![folder.to_path_buf()];
    let mut budget = 10_000_u32;
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            budget = budget.saturating_sub(1);
            if budget == 0 {
                // A huge new tree with no relevant file so far: better one rebuild too many.
                return true;
            }
            let path = entry.path();
            if fleet.owner(&path).map(|r| &r.name) != Some(&rules.name) {
                continue;
            }
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if is_dir {
                if !rules.is_excluded(&path, true) {
                    stack.push(path);
                }
            } else if rules.is_relevant(&path, false) {
                return true;
            }
        }
    }
    false
}
