//! `test --affected`: the files changed since a git revision, and the services they affect.
//!
//! The revision is `--since REF`, or else where the current branch left the default branch
//! (its merge base with `origin/HEAD`, `main` or `master`, the first that exists), so a
//! branch's tests cover all of its commits. Uncommitted changes count too: edits, deletions
//! and new files git does not ignore. Which services a file affects is the rerun's rule
//! ([`orchestra_supervisor::watch::affected`]): Go services by their package graph, others
//! by their folder and globs.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use orchestra_core::ServiceName;
use orchestra_core::spec::ProjectSpec;
use orchestra_supervisor::watch::{WatchError, affected};

use crate::args::TestArgs;
use crate::output::Output;

/// Branches tried, in order, as the default branch when `--since` is not given.
const DEFAULT_BRANCHES: &[&str] = &["origin/HEAD", "main", "master"];

/// Why the changed files or the services they affect could not be found.
#[derive(Debug, thiserror::Error)]
pub enum AffectedError {
    /// `git` could not be run at all.
    #[error("cannot run git: --affected reads what changed from git")]
    Spawn(#[source] std::io::Error),
    /// The project is not in a git repository.
    #[error("{} is not in a git repository: --affected needs one (or name the services to test)", .0.display())]
    NotARepository(PathBuf),
    /// No default branch to compare with.
    #[error(
        "cannot tell the default branch to compare with (none of {}): pass --since REF",
        DEFAULT_BRANCHES.join(", ")
    )]
    NoDefaultBranch,
    /// A git command failed (a revision that does not exist, most often).
    #[error("git {args} failed: {stderr}")]
    Git {
        /// The arguments given to git.
        args: String,
        /// What git said.
        stderr: String,
    },
    /// The services' watch rules (their globs) could not be read.
    #[error("cannot read the services' watch rules")]
    Rules(#[source] WatchError),
}

/// `selected` narrowed to the affected services under `--affected` (as is without it);
/// `None` when nothing is left to run: `--list` printed them, or none is affected.
pub fn narrow(
    project: &ProjectSpec,
    selected: Vec<ServiceName>,
    args: &TestArgs,
    out: Output,
) -> Result<Option<Vec<ServiceName>>, AffectedError> {
    if !args.affected {
        return Ok(Some(selected));
    }
    let (hit, base) = affected_services(project, &selected, args.since.as_deref())?;
    let selected: Vec<ServiceName> = selected.into_iter().filter(|s| hit.contains(s)).collect();
    if args.list {
        for name in &selected {
            println!("{name}");
        }
        return Ok(None);
    }
    if selected.is_empty() {
        if !out.quiet {
            eprintln!("no service is affected by the changes since {base}");
        }
        return Ok(None);
    }
    Ok(Some(selected))
}

/// The services among `selected` that the changes since `since` (or the default branch's
/// merge base) affect, with what they were compared with, as people read it.
pub fn affected_services(
    project: &ProjectSpec,
    selected: &[ServiceName],
    since: Option<&str>,
) -> Result<(BTreeSet<ServiceName>, String), AffectedError> {
    let top = PathBuf::from(
        git(&project.root, &["rev-parse", "--show-toplevel"])
            .map_err(|e| match e {
                AffectedError::Git { .. } => AffectedError::NotARepository(project.root.clone()),
                other => other,
            })?
            .trim_end_matches('\n'),
    );
    let (base, described) = if let Some(reference) = since {
        (reference.to_owned(), reference.to_owned())
    } else {
        let (branch, base) = merge_base(&top)?;
        let short = base.get(..12).unwrap_or(&base).to_owned();
        (base, format!("the merge base with {branch} ({short})"))
    };
    let files = changed_files(&top, &base)?;
    let files = rebase_paths(files, &top, &project.root);
    let services: Vec<_> = selected
        .iter()
        .filter_map(|name| project.services.get(name).cloned())
        .collect();
    let hit = affected(&services, &project.state_dir, &files).map_err(AffectedError::Rules)?;
    Ok((hit, described))
}

/// The first default branch that exists, and its merge base with HEAD.
fn merge_base(top: &Path) -> Result<(&'static str, String), AffectedError> {
    let branch = DEFAULT_BRANCHES
        .iter()
        .copied()
        .find(|b| {
            let commit = format!("{b}^{{commit}}");
            git(top, &["rev-parse", "--verify", "--quiet", &commit]).is_ok()
        })
        .ok_or(AffectedError::NoDefaultBranch)?;
    let base = git(top, &["merge-base", "HEAD", branch])?;
    Ok((branch, base.trim().to_owned()))
}

/// The files that differ between `base` and the working tree (committed since, or not
/// committed yet), and the untracked files git does not ignore; absolute, under `top`.
fn changed_files(top: &Path, base: &str) -> Result<Vec<PathBuf>, AffectedError> {
    let revision = format!("{base}^{{commit}}");
    git(top, &["rev-parse", "--verify", "--quiet", &revision]).map_err(|_| AffectedError::Git {
        args: format!("rev-parse {base}"),
        stderr: format!("no commit named `{base}`"),
    })?;
    let diff = git(
        top,
        &["diff", "--name-only", "--no-renames", "-z", base, "--"],
    )?;
    let untracked = git(top, &["ls-files", "--others", "--exclude-standard", "-z"])?;
    Ok(diff
        .split('\0')
        .chain(untracked.split('\0'))
        .filter(|f| !f.is_empty())
        .map(|f| top.join(f))
        .collect())
}

/// Paths under the repository's real folder, written under the project root as the config
/// resolved it (which may go through a symbolic link), so they compare with service folders.
fn rebase_paths(files: Vec<PathBuf>, top: &Path, root: &Path) -> Vec<PathBuf> {
    let Ok(real_root) = root.canonicalize() else {
        return files;
    };
    let real_top = top.canonicalize().unwrap_or_else(|_| top.to_path_buf());
    files
        .into_iter()
        .map(|f| {
            let real = real_top.join(f.strip_prefix(top).unwrap_or(&f));
            match real.strip_prefix(&real_root) {
                Ok(rel) => root.join(rel),
                Err(_) => real,
            }
        })
        .collect()
}

/// Runs git in `dir`; its stdout, or why it failed.
fn git(dir: &Path, args: &[&str]) -> Result<String, AffectedError> {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(AffectedError::Spawn)?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    Err(AffectedError::Git {
        args: args.join(" "),
        stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
    })
}
