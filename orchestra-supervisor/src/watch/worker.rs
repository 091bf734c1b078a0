//! The watcher's thread: turns raw file-system events into one name per burst.
//!
//! notify's inotify thread hands every event to [`Msg::Fs`]; this thread classifies it
//! against the [`Fleet`]'s rules, feeds the [`Debouncer`], and sleeps until the next burst is
//! due or the next message arrives. With nothing changing it is blocked in `recv`: no timer,
//! no polling.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Instant;

use notify::Event;
use notify::event::{EventKind, ModifyKind, RenameMode};
use orchestra_core::name::ServiceName;
use orchestra_core::spec::ServiceSpec;
use tokio::sync::mpsc::UnboundedSender;

use super::debounce::{Change, Debouncer, Due};
use super::rules::{Fleet, ServiceRules};

/// What the thread is told.
pub(crate) enum Msg {
    /// An event (or error) from notify.
    Fs(notify::Result<Event>),
    /// The watched services changed: their compiled rules, and the specs to recompile them
    /// from when a `.gitignore` changes.
    Fleet(Fleet, Vec<ServiceSpec>),
    /// The watcher was dropped.
    Stop,
}

/// Where the rules come from, to recompile them.
pub(crate) struct Bounds {
    pub(crate) project_root: PathBuf,
    pub(crate) state_dir: PathBuf,
}

/// Runs until [`Msg::Stop`], the sender side going away, or `changed` being closed.
pub(crate) fn run(rx: &Receiver<Msg>, changed: &UnboundedSender<ServiceName>, bounds: &Bounds) {
    let mut fleet = Fleet::default();
    let mut specs = Vec::new();
    let mut bursts = Debouncer::default();
    loop {
        let now = Instant::now();
        for due in bursts.take_due(now) {
            if fires(&fleet, &due) {
                tracing::debug!(service = %due.name, "files changed");
                if changed.send(due.name).is_err() {
                    return;
                }
            }
        }
        let msg = match bursts.next_deadline() {
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
            Msg::Fleet(new, new_specs) => {
                for rules in fleet.iter() {
                    if new.get(&rules.name).is_none() {
                        bursts.forget(&rules.name);
                    }
                }
                fleet = new;
                specs = new_specs;
            }
            Msg::Fs(Err(err)) => {
                tracing::warn!("file watcher: {err}");
            }
            Msg::Fs(Ok(event)) => {
                if event.paths.iter().any(|p| p.ends_with(".gitignore")) {
                    fleet = recompile(&specs, bounds).unwrap_or(fleet);
                }
                classify(&fleet, &event, Instant::now(), &mut bursts);
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

/// Records what `event` means for the services owning its paths.
fn classify(fleet: &Fleet, event: &Event, now: Instant, bursts: &mut Debouncer) {
    if event.need_rescan() {
        // The kernel's queue overflowed: changes were lost, so any service may have changed.
        tracing::warn!("file watcher overflowed; treating every service as changed");
        for rules in fleet.iter() {
            bursts.record(&rules.name, rules.debounce, now, Change::Relevant);
        }
        return;
    }
    let renamed_away = matches!(
        event.kind,
        EventKind::Modify(ModifyKind::Name(RenameMode::From))
    );
    let may_add_folder = matches!(
        event.kind,
        EventKind::Create(_) | EventKind::Modify(ModifyKind::Name(_))
    );
    // Opening, reading and closing (a build reading every source) change nothing. A folder
    // is removed only once empty, and the removals of its files were seen one by one.
    if matches!(
        event.kind,
        EventKind::Access(_) | EventKind::Remove(notify::event::RemoveKind::Folder)
    ) {
        return;
    }
    for path in &event.paths {
        let Some(rules) = fleet.owner(path) else {
            continue;
        };
        let is_dir = path.is_dir();
        let change = if rules.is_relevant(path, is_dir) {
            Change::Relevant
        } else if is_dir && may_add_folder && !rules.is_excluded(path, true) {
            Change::NewFolder(path.clone())
        } else if renamed_away && looks_like_folder(path) && !rules.is_excluded(path, true) {
            // A folder moved out of the watched tree takes its sources with it, but only its
            // own name is reported and it can no longer be inspected.
            Change::Relevant
        } else {
            continue;
        };
        bursts.record(&rules.name, rules.debounce, now, change);
    }
}

/// A path that is gone and has no extension was most likely a folder.
fn looks_like_folder(path: &Path) -> bool {
    !path.exists() && path.extension().is_none()
}

/// Whether a closed burst is worth a rerun: a relevant change, or a new folder that turned out
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
