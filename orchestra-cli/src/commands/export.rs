//! `orchestra export`: a service's environment as shell `export` lines, or the whole fleet
//! as a Compose file or Kubernetes manifests (see [`crate::export`]).

use std::io::Write;

use orchestra_config::Section;
use orchestra_core::address::Addressing;
use orchestra_core::spec::{Env, ProjectSpec};

use crate::args::{ExportArgs, ExportFormat};
use crate::context::Context;
use crate::error::CliError;
use crate::export::{Exported, compose, kubernetes};

/// Prints `export KEY='value'` lines (the project's env, or a service's as its replica 0
/// sees it, with PORT and the addresses of what it depends on), or the fleet in another
/// engine's format.
pub async fn run(cx: &mut Context, args: &ExportArgs) -> Result<(), CliError> {
    if args.format == ExportFormat::Env {
        return env(cx, args);
    }
    if let Some(service) = &args.service {
        return Err(CliError::usage(
            format!(
                "`--format {}` exports the whole fleet, not `{service}`",
                format_name(args.format)
            ),
            "leave the service out, or use `--format env` for one service's environment",
        ));
    }
    let project = cx.resolve_for(Section::Export, Addressing::Names)?;
    crate::hooks::run(&project, crate::hooks::When::Before)?;
    if args.build_images {
        build_images(&project).await?;
    }
    // `--format env` returned above.
    let exported = if args.format == ExportFormat::Compose {
        compose::export(&project)
    } else {
        kubernetes::export(&project, args.namespace.as_deref())
    }
    .map_err(|e| CliError::Encode {
        what: "the export",
        source: Box::new(e),
    })?;
    write(args, &exported)?;
    crate::hooks::run(&project, crate::hooks::When::After)
}

fn format_name(format: ExportFormat) -> &'static str {
    match format {
        ExportFormat::Env => "env",
        ExportFormat::Compose => "compose",
        ExportFormat::Kubernetes => "kubernetes",
    }
}

/// Builds the images the export names, saying which on stderr (stdout holds the export).
async fn build_images(project: &ProjectSpec) -> Result<(), CliError> {
    let docker = orchestra_vendors::connect()
        .await
        .map_err(|source| CliError::Vendor {
            action: "connecting to Docker to build the export's images",
            source,
        })?;
    let built = orchestra_vendors::backend::export::build_export_images(&docker, project).await?;
    for tag in built {
        eprintln!("built {tag}");
    }
    Ok(())
}

/// Writes the document to `-o FILE` or stdout, and each note to stderr.
fn write(args: &ExportArgs, exported: &Exported) -> Result<(), CliError> {
    for note in &exported.notes {
        eprintln!("warning: {note}");
    }
    match &args.output {
        Some(path) => std::fs::write(path, &exported.text)
            .map_err(CliError::io(format!("writing {}", path.display()))),
        None => std::io::stdout()
            .lock()
            .write_all(exported.text.as_bytes())
            .map_err(CliError::io("writing to stdout")),
    }
}

/// `--format env`: the `export` lines of the project's or one service's environment.
fn env(cx: &mut Context, args: &ExportArgs) -> Result<(), CliError> {
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
    let exported = Exported {
        text: render(&env),
        notes: Vec::new(),
    };
    write(args, &exported)?;
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
