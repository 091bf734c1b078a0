//! Validates project folders as `orchestra` does before running anything, and prints every
//! problem as the CLI does: a diagnostic with its file, line, snippet and fix.
//!
//! ```sh
//! cargo run -p orchestra-config --example validate -- examples/shop
//! cargo run -p orchestra-config --example validate -- orchestra-config/tests/fixtures/broken
//! ```
//!
//! Each argument is a folder holding `orchestra.yml`, or below one. Exits 0 when every
//! project is valid (listing what it runs), 2 (the CLI's code for bad configuration) when
//! one is not.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use orchestra_config::{Discovery, Project, Section, discover};
use orchestra_core::exit;

fn main() -> ExitCode {
    let folders: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if folders.is_empty() {
        eprintln!("usage: validate FOLDER…  (a folder holding orchestra.yml, or below one)");
        return ExitCode::from(exit::USAGE);
    }
    let mut valid = true;
    for folder in folders {
        match validate(folder.clone()) {
            Ok(summary) => println!("{}: valid; {summary}", folder.display()),
            Err(report) => {
                valid = false;
                eprintln!("{}: invalid", folder.display());
                eprint!("{report}");
            }
        }
    }
    ExitCode::from(if valid { exit::SUCCESS } else { exit::USAGE })
}

/// Finds, reads, checks and resolves the project at `folder` (as `orchestra start` would):
/// what it runs, or every problem rendered as a report.
fn validate(folder: PathBuf) -> Result<String, String> {
    let file = discover(&Discovery::WalkUp(folder)).map_err(|e| render(&e))?;
    let project = Project::load(&file).map_err(|e| render(&e))?;
    let spec = project.resolve(Section::Start).map_err(|e| render(&e))?;
    let services: Vec<String> = spec.services.keys().map(ToString::to_string).collect();
    let vendors: Vec<String> = spec.vendors.keys().map(ToString::to_string).collect();
    Ok(format!(
        "services: {}; vendors: {}",
        list(&services),
        list(&vendors)
    ))
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

/// A diagnostic as miette draws it: in colour on a terminal, plain for logs and CI.
fn render(diagnostic: &dyn miette::Diagnostic) -> String {
    let theme = if std::io::stderr().is_terminal() {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    let mut out = String::new();
    if miette::GraphicalReportHandler::new_themed(theme)
        .render_report(&mut out, diagnostic)
        .is_err()
    {
        out = format!("{diagnostic}\n");
    }
    out
}
