//! `orchestra completions`: shell completion, including the project's service names.
//!
//! Completion is dynamic: the script a shell loads calls `orchestra` back with
//! `COMPLETE=<shell>` set, and the binary answers from its own command definition and from
//! the project found in the shell's current folder. So completions never go stale when a
//! flag is added or a service folder appears.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::PathBuf;

use clap_complete::engine::CompletionCandidate;
use clap_complete::env::EnvCompleter;
use orchestra_config::Discovery;

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

/// Completes a service argument: the project's service names and `@group`s, with a `~`
/// in front once `~` is typed.
pub fn complete_service(current: &OsStr) -> Vec<CompletionCandidate> {
    let current = current.to_string_lossy();
    let Some(names) = project_selectors() else {
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

/// Every service name, then every group as `@name`.
fn project_selectors() -> Option<Vec<String>> {
    let typed: Vec<OsString> = std::env::args_os().skip_while(|a| a != "--").collect();
    let mode = discovery(&typed, std::env::var_os("ORCHESTRA_CONFIG"))?;
    let file = orchestra_config::discover(&mode).ok()?;
    let project = orchestra_config::Project::load(&file).ok()?;
    let services = project.service_names().into_iter().map(String::from);
    let groups = project.groups();
    let groups = groups.names().map(|g| format!("@{g}"));
    Some(services.chain(groups).collect())
}

/// How the command being completed would find its project: the shell passes the words
/// typed so far, so `orchestra -C shop start <TAB>` completes the services of `shop/`, as
/// running that command would use them.
fn discovery(typed: &[OsString], env_config: Option<OsString>) -> Option<Discovery> {
    let mut dir: Option<PathBuf> = None;
    let mut config = env_config.map(PathBuf::from);
    let mut words = typed.iter().map(|w| w.to_string_lossy());
    while let Some(word) = words.next() {
        let (flag, inline) = match word.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (word.clone().into_owned(), None),
        };
        let target = match flag.as_str() {
            "-C" | "--directory" => &mut dir,
            "-c" | "--config" => &mut config,
            short if short.len() > 2 && (short.starts_with("-C") || short.starts_with("-c")) => {
                let target = if short.starts_with("-C") {
                    &mut dir
                } else {
                    &mut config
                };
                *target = Some(PathBuf::from(&short[2..]));
                continue;
            }
            _ => continue,
        };
        if let Some(value) = inline.or_else(|| words.next().map(std::borrow::Cow::into_owned)) {
            *target = Some(PathBuf::from(value));
        }
    }
    let base = std::env::current_dir().ok()?;
    let base = dir.map_or_else(|| base.clone(), |d| base.join(d));
    Some(match config {
        Some(file) => Discovery::File(base.join(file)),
        None => Discovery::WalkUp(base),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(words: &[&str], env: Option<&str>) -> Discovery {
        let typed: Vec<OsString> = words.iter().map(OsString::from).collect();
        discovery(&typed, env.map(OsString::from)).expect("a current folder")
    }

    #[test]
    fn completion_discovers_the_project_as_the_typed_command_would() {
        let cwd = std::env::current_dir().unwrap();
        let words = ["--", "orchestra", "start", "u"];
        assert_eq!(mode(&words, None), Discovery::WalkUp(cwd.clone()));
        let in_shop = Discovery::WalkUp(cwd.join("shop"));
        for words in [
            &["--", "orchestra", "-C", "shop", "start", ""][..],
            &["--", "orchestra", "-Cshop", "start", ""],
            &["--", "orchestra", "--directory=shop", "start", ""],
            &["--", "orchestra", "--directory", "shop", "start", ""],
        ] {
            assert_eq!(mode(words, None), in_shop, "{words:?}");
        }
        let file = Discovery::File(cwd.join("shop/o.yml"));
        let words = ["--", "orchestra", "-C", "shop", "-c", "o.yml", "ps", ""];
        assert_eq!(mode(&words, None), file);
        let words = ["--", "orchestra", "-C", "shop", "ps", ""];
        assert_eq!(mode(&words, Some("o.yml")), file);
    }
}
