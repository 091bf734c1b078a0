//! Which services a set of changed files affects: what `orchestra test --affected` tests.
//!
//! The same rules as the rerun's, applied to a list of files instead of file events: a file
//! affects the service owning its folder when the service's `watch`/`ignore` globs and
//! `.gitignore` files count it, and a Go service whose package graph holds it (a package of
//! its build, wherever it lies in the repository, or a module file it is built under). Unlike
//! the rerun, a Go test file counts too: it changes what the tests run, not the binary.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use orchestra_core::name::ServiceName;
use orchestra_core::spec::ServiceSpec;

use super::WatchError;
use super::gograph::GoGraph;
use super::rules::{Fleet, ServiceRules};

/// The services among `services` that one of `files` (absolute paths; they need not exist,
/// a deleted file counts) affects. `state_dir` is the project's `.orchestra` folder, as for
/// [`FleetWatcher::start`](super::FleetWatcher::start). Reads the Go services' package graph
/// (`go list`) once.
pub fn affected(
    services: &[ServiceSpec],
    state_dir: &Path,
    files: &[PathBuf],
) -> Result<BTreeSet<ServiceName>, WatchError> {
    let project_root = state_dir.parent().unwrap_or(state_dir);
    let rules = services
        .iter()
        .map(|s| ServiceRules::new(s, project_root, state_dir))
        .collect::<Result<Vec<_>, _>>()?;
    let fleet = Fleet::new(rules);
    let graph = GoGraph::read(services, project_root);
    let mut hit = BTreeSet::new();
    for file in files {
        if let Some(rules) = fleet.owner(file)
            && rules.is_relevant(file, false)
        {
            hit.insert(rules.name.clone());
        }
        hit.extend(graph.tested_by(file).into_iter().flatten().cloned());
    }
    Ok(hit)
}
