//! `orchestra export`: a service's environment as shell `export` lines.

use std::io::Write;

use orchestra_config::Section;
use orchestra_core::spec::Env;

use crate::args::{ExportArgs, ExportFormat};
use crate::context::Context;
use crate::error::CliError;

/// Prints `export KEY='value'` lines: the project's env, or a service's (as its replica 0
/// sees it, with PORT and the vendor addresses).
pub fn run(cx: &mut Context, args: &ExportArgs) -> Result<(), CliError> {
    // When these formats come, a task (`task: true`) maps as `TaskSpec`'s docs describe.
    match args.format {
        ExportFormat::Env => {}
        ExportFormat::Compose => return Err(CliError::NotImplemented("export --format compose")),
        ExportFormat::Kubernetes => {
            return Err(CliError::NotImplemented("export --format kubernetes"));
        }
    }
    let project = cx.resolve(Section::Export)?;
    let env = match &args.service {
        None => project.env.clone(),
        Some(name) => {
            let selected = cx.select(std::slice::from_ref(name))?;
            let service = selected
                .first()
                .and_then(|n| project.services.get(n))
                .ok_or_else(|| {
                    CliError::usage(
                        format!("`{name}` selects no single service"),
                        "name one service, as in `orchestra export users`",
                    )
                })?;
            service.replica(0).env
        }
    };
    crate::hooks::run(&project, crate::hooks::When::Before)?;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(render(&env).as_bytes())
        .map_err(CliError::io("writing to stdout"))?;
    crate::hooks::run(&project, crate::hooks::When::After)
}

/// The `export` lines for `env`, each value single-quoted so that quotes, spaces, `$`,
/// backticks, backslashes, newlines and empty values come back unchanged through `eval`.
pub fn render(env: &Env) -> String {
    let mut out = String::new();
    for (key, value) in env {
        out.push_str("export ");
        out.push_str(key);
        out.push('=');
        out.push_str(&shell_quote(value));
        out.push('\n');
    }
    out
}

/// Quotes `s` for POSIX shells: inside single quotes nothing is special but the single quote
/// itself, which is written as `'\''` (close, escaped quote, reopen).
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_everything_that_matters_to_a_shell() {
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("$HOME `x` \\n"), "'$HOME `x` \\n'");
    }

    #[test]
    fn renders_one_line_per_variable() {
        let env = Env::from([("A".into(), "1".into()), ("B".into(), "x y".into())]);
        assert_eq!(render(&env), "export A='1'\nexport B='x y'\n");
    }
}
