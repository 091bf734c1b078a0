//! `orchestra completions`: shell completion, including the project's service names.
//!
//! Completion is dynamic: the script a shell loads calls `orchestra` back with
//! `COMPLETE=<shell>` set, and the binary answers from its own command definition and from
//! the project found in the shell's current folder. So completions never go stale when a
//! flag is added or a service folder appears.

use std::ffi::OsStr;
use std::io::Write;

use clap_complete::engine::CompletionCandidate;
use clap_complete::env::EnvCompleter;

use crate::args::{CompletionsArgs, Shell};
use crate::error::CliError;

/// The environment variable through which shells ask for completions.
pub const COMPLETE_VAR: &str = "COMPLETE";

/// Prints the registration script for `shell`.
pub fn run(args: &CompletionsArgs) -> Result<(), CliError> {
    let shell: &dyn EnvCompleter = match args.shell {
        Shell::Bash => &clap_complete::env::Bash,
        Shell::Zsh => &clap_complete::env::Zsh,
        Shell::Fish => &clap_complete::env::Fish,
    };
    // The script calls whichever `orchestra` is on PATH, so it survives a reinstall.
    let mut buf = Vec::new();
    shell
        .write_registration(
            COMPLETE_VAR,
            "orchestra",
            "orchestra",
            "orchestra",
            &mut buf,
        )
        .map_err(CliError::io("writing the completion script"))?;
    std::io::stdout()
        .lock()
        .write_all(&buf)
        .map_err(CliError::io("writing to stdout"))
}

/// Completes a service argument: the project's service names, or `~name` once `~` is typed.
pub fn complete_service(current: &OsStr) -> Vec<CompletionCandidate> {
    let current = current.to_string_lossy();
    let Some(names) = project_service_names() else {
        return Vec::new();
    };
    let (prefix, typed) = match current.strip_prefix('~') {
        Some(rest) => ("~", rest),
        None => ("", current.as_ref()),
    };
    names
        .into_iter()
        .filter(|n| n.starts_with(typed))
        .map(|n| CompletionCandidate::new(format!("{prefix}{n}")))
        .collect()
}

fn project_service_names() -> Option<Vec<String>> {
    let mode = match std::env::var_os("ORCHESTRA_CONFIG") {
        Some(file) => orchestra_config::Discovery::File(file.into()),
        None => orchestra_config::Discovery::WalkUp(std::env::current_dir().ok()?),
    };
    let file = orchestra_config::discover(&mode).ok()?;
    let project = orchestra_config::Project::load(&file).ok()?;
    Some(
        project
            .service_names()
            .into_iter()
            .map(String::from)
            .collect(),
    )
}
