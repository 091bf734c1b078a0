//! `before` and `after` hooks: shell commands around a command, run in the project folder
//! with the project's environment.

use std::os::fd::AsFd;
use std::process::{Command, Stdio};

use orchestra_core::spec::{CommandSpec, ProjectSpec};

use crate::error::{CliError, HookError};

/// Which side of the command.
#[derive(Debug, Clone, Copy)]
pub enum When {
    /// Before: a failure aborts the command.
    Before,
    /// After: a failure is reported and makes the command fail.
    After,
}

/// Runs the project's hooks for one side, stopping at the first failure. Their output goes
/// to stderr, so that a command's own stdout (`export`, `ps --json`) stays clean.
pub fn run(project: &ProjectSpec, when: When) -> Result<(), CliError> {
    let hooks = match when {
        When::Before => &project.hooks.before,
        When::After => &project.hooks.after,
    };
    for hook in hooks {
        run_one(project, hook, when)?;
    }
    Ok(())
}

fn run_one(project: &ProjectSpec, hook: &CommandSpec, when: When) -> Result<(), CliError> {
    let argv = hook.argv();
    let (program, args) = argv.split_first().ok_or(HookError::Empty)?;
    let side = match when {
        When::Before => "before",
        When::After => "after",
    };
    tracing::debug!(hook = %hook, side, "running hook");
    let stderr = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map_err(CliError::io("duplicating stderr for a hook"))?;
    let status = Command::new(program)
        .args(args)
        .current_dir(&project.root)
        .envs(&project.env)
        .stdin(Stdio::null())
        .stdout(Stdio::from(stderr))
        .status()
        .map_err(CliError::io(format!("running the {side} hook `{hook}`")))?;
    if status.success() {
        return Ok(());
    }
    let how = status.code().map_or_else(
        || "was killed by a signal".to_owned(),
        |c| format!("exited with code {c}"),
    );
    Err(HookError::Failed {
        side,
        hook: hook.to_string(),
        how,
        before: matches!(when, When::Before),
    }
    .into())
}
