//! `orchestra init`: start a project in the current folder.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::schema;
use crate::args::InitArgs;
use crate::context::Context;
use crate::error::CliError;

const ORCHESTRA_YML: &str = "\
# orchestra.yml — the project file of an Orchestra fleet. Every key is optional.
# Every key is described in the configuration reference of the README.

# Environment for every service, hook and test (a service's own env wins).
# env:
#   LOG_LEVEL: debug
# env_file: .env

# Folders holding a service.yml are services. Default: every folder here (\"*\").
# services: [\"*\"]

# Defaults for every service.yml key.
# defaults:
#   stop_timeout: 10s
#   restart: on-failure

# Third-party software the services depend on, run in Docker.
# vendors:
#   postgres:
#     image: postgres:16
#     ports: [\"5432:5432\"]
#     env: { POSTGRES_PASSWORD: dev }
#     volumes: [\"pgdata:/var/lib/postgresql/data\"]
#     ready: { exec: \"pg_isready -U postgres\" }

# Commands run around every command, or around one (start, stop, restart, ps, logs, test,
# export, vendors).
# before: [\"./scripts/check.sh\"]
# start: { before: [], after: [] }
";

const SERVICE_YML: &str = "\
# service.yml — this folder is a service. Every key is optional: an empty file is a Go
# service built with `go build` and run from its binary.
# port: 8080                 # replica n gets PORT=8080+n
# depends_on: []             # services or vendors started (and ready) first
# ready: { tcp: $PORT }      # or http: URL, exec: CMD, log: REGEX
# restart: on-failure        # always | on-failure | never
";

/// Writes orchestra.yml (and service.yml files with `--services`), lists detected services and
/// makes git ignore `.orchestra/`.
pub fn run(cx: &Context, args: &InitArgs) -> Result<(), CliError> {
    let root = std::env::current_dir().map_err(CliError::io("reading the current folder"))?;
    if let Some(from) = &args.from {
        return super::import::run(&root, from, args.force, cx.out.quiet);
    }
    let project_file = root.join("orchestra.yml");
    let existing = [root.join("orchestra.yml"), root.join("orchestra.yaml")]
        .into_iter()
        .find(|p| p.exists());
    // `--services` in a project that has its orchestra.yml adds the service files and
    // keeps the project file; only `--force` replaces it.
    let keep = match &existing {
        Some(_) if args.force => None,
        Some(file) if args.services => Some(file.clone()),
        Some(file) => {
            return Err(CliError::usage(
                format!("{} already exists", file.display()),
                "pass --force to overwrite it, or --services to add service.yml files to this project",
            ));
        }
        None => None,
    };
    let services = detect_services(&root).map_err(CliError::io("listing the project folder"))?;
    schema::write(&root)?;
    if keep.is_none() {
        let header = schema::modeline(&root, &root, schema::PROJECT_SCHEMA);
        write_file(&project_file, &format!("{header}{ORCHESTRA_YML}"))?;
    }
    let mut out = std::io::stdout().lock();
    let say = |out: &mut std::io::StdoutLock<'_>, line: String| {
        if !cx.out.quiet {
            let _ = writeln!(out, "{line}");
        }
    };
    match &keep {
        Some(file) => say(
            &mut out,
            format!("kept {} (--force replaces it)", file.display()),
        ),
        None => say(&mut out, format!("wrote {}", project_file.display())),
    }
    say(
        &mut out,
        format!(
            "wrote .orchestra/{} and {} for editors (`orchestra schema --write` refreshes them)",
            schema::PROJECT_SCHEMA,
            schema::SERVICE_SCHEMA
        ),
    );
    if services.is_empty() {
        say(
            &mut out,
            "no services found yet: a service is a folder with a service.yml (or, for --services, go.mod or a main package)".into(),
        );
    } else {
        say(&mut out, format!("found {} service(s):", services.len()));
    }
    for dir in &services {
        let name = dir
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let service_file = dir.join("service.yml");
        // `--force` is about orchestra.yml only: an existing service.yml holds that
        // service's own settings, and the all-comments template would erase them (and turn
        // a non-Go service into an invalid one).
        let note = if service_file.exists() {
            "has a service.yml"
        } else if args.services {
            let header = schema::modeline(&root, dir, schema::SERVICE_SCHEMA);
            write_file(&service_file, &format!("{header}{SERVICE_YML}"))?;
            "wrote service.yml"
        } else {
            "add a service.yml (or run `orchestra init --services`)"
        };
        say(&mut out, format!("  {name:<20} {note}"));
    }
    if add_to_gitignore(&root).map_err(CliError::io("updating .gitignore"))? {
        say(&mut out, "added .orchestra/ to .gitignore".into());
    }
    Ok(())
}

/// Folders (depth 1, not hidden) that look like services: a service.yml, go.mod, or a Go
/// main package.
pub fn detect_services(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(root)? {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') || !entry.file_type()?.is_dir() {
            continue;
        }
        let dir = entry.path();
        if dir.join("service.yml").exists() || dir.join("go.mod").exists() || has_main_package(&dir)
        {
            found.push(dir);
        }
    }
    found.sort();
    Ok(found)
}

fn has_main_package(dir: &Path) -> bool {
    let Ok(entries) = fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        let path = e.path();
        path.extension().is_some_and(|x| x == "go")
            && fs::read_to_string(&path)
                .is_ok_and(|src| src.lines().any(|l| l.trim() == "package main"))
    })
}

/// Appends `.orchestra/` to .gitignore unless some line already ignores it. Returns whether
/// it wrote.
fn add_to_gitignore(root: &Path) -> std::io::Result<bool> {
    let path = root.join(".gitignore");
    let current = match fs::read_to_string(&path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    if current.lines().any(|l| {
        matches!(
            l.trim(),
            ".orchestra" | ".orchestra/" | "/.orchestra" | "/.orchestra/"
        )
    }) {
        return Ok(false);
    }
    let mut file = fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)?;
    if !current.is_empty() && !current.ends_with('\n') {
        file.write_all(b"\n")?;
    }
    file.write_all(b".orchestra/\n")?;
    Ok(true)
}

fn write_file(path: &Path, contents: &str) -> Result<(), CliError> {
    fs::write(path, contents).map_err(CliError::io(format!("writing {}", path.display())))
}
