//! `orchestra init --from FILE`: a project written from a docker-compose.yml or a Procfile.
//!
//! Conversion is pure (file text in, [`Conversion`] out) and says what it could not carry
//! over in its notes, which `init` prints: nothing is dropped silently. Writing refuses to
//! replace any existing file unless `--force` is given, and checks every target before
//! writing the first, so a refusal leaves the folder as it was.

mod compose;
mod procfile;
mod values;

use std::io::Write;
use std::path::{Path, PathBuf};

use yaml_serde::{Mapping, Value};

use super::schema;
use crate::error::CliError;

/// The files a conversion writes, and what it could not convert.
#[derive(Debug, Default)]
pub struct Conversion {
    /// orchestra.yml's settings.
    pub project: Mapping,
    /// One service.yml per service.
    pub services: Vec<ServiceFile>,
    /// What was not converted, or converted with a change the user should know about.
    pub notes: Vec<String>,
}

/// A service.yml to write.
#[derive(Debug)]
pub struct ServiceFile {
    /// Its folder, relative to the project root.
    pub folder: PathBuf,
    /// Its settings.
    pub settings: Mapping,
}

/// What kind of file `--from` names: a Procfile by its name, anything else is read as a
/// compose file.
fn is_procfile(path: &Path) -> bool {
    path.file_name().is_some_and(|n| {
        n.to_string_lossy()
            .to_ascii_lowercase()
            .starts_with("procfile")
    })
}

/// Converts `from` and writes the result into `root`, printing what was written and the
/// notes.
pub fn run(root: &Path, from: &Path, force: bool, quiet: bool) -> Result<(), CliError> {
    let text = std::fs::read_to_string(from)
        .map_err(CliError::io(format!("reading {}", from.display())))?;
    let conversion = if is_procfile(from) {
        procfile::convert(&text, port_base()?)
    } else {
        compose::convert(&text, root).map_err(|e| {
            CliError::usage(
                format!(
                    "{} is not a compose file Orchestra can read: {e}",
                    from.display()
                ),
                "pass a docker-compose.yml (with `services:`) or a Procfile",
            )
        })?
    };
    let written = write(root, &conversion, force)?;
    let mut out = std::io::stdout().lock();
    if quiet {
        return Ok(());
    }
    let _ = writeln!(out, "converted {}:", from.display());
    for path in &written {
        let shown = path.strip_prefix(root).unwrap_or(path);
        let _ = writeln!(out, "  wrote {}", shown.display());
    }
    if conversion.notes.is_empty() {
        let _ = writeln!(out, "everything was converted");
    } else {
        let _ = writeln!(out, "not converted as is ({}):", conversion.notes.len());
        for note in &conversion.notes {
            let _ = writeln!(out, "  - {note}");
        }
    }
    Ok(())
}

/// Procfile services that use `$PORT` get ports from this base up, 100 apart, as foreman
/// gives them: `$PORT` when set, else 5000.
fn port_base() -> Result<u16, CliError> {
    match std::env::var("PORT") {
        Ok(text) => text.trim().parse().map_err(|_| {
            CliError::usage(
                format!("PORT={text} is not a port"),
                "unset PORT, or set it to the first port the Procfile's services should get",
            )
        }),
        Err(_) => Ok(5000),
    }
}

/// Writes orchestra.yml and each service.yml, after checking that none exists (unless
/// `force`). Returns the paths written.
fn write(root: &Path, conversion: &Conversion, force: bool) -> Result<Vec<PathBuf>, CliError> {
    let project_file = root.join("orchestra.yml");
    let mut targets = vec![project_file.clone()];
    targets.extend(
        conversion
            .services
            .iter()
            .map(|s| root.join(&s.folder).join("service.yml")),
    );
    if !force {
        let existing: Vec<String> = targets
            .iter()
            .chain([&root.join("orchestra.yaml")])
            .filter(|p| p.exists())
            .map(|p| p.display().to_string())
            .collect();
        if !existing.is_empty() {
            return Err(CliError::usage(
                format!("{} already exist(s)", existing.join(", ")),
                "pass --force to overwrite, or move them away first",
            ));
        }
    }
    schema::write(root)?;
    let header = format!(
        "{}# Written by `orchestra init --from`; the README's configuration reference lists every key.\n",
        schema::modeline(root, root, schema::PROJECT_SCHEMA)
    );
    write_yaml(&project_file, &header, &conversion.project)?;
    for service in &conversion.services {
        let folder = root.join(&service.folder);
        std::fs::create_dir_all(&folder)
            .map_err(CliError::io(format!("creating {}", folder.display())))?;
        let header = schema::modeline(root, &folder, schema::SERVICE_SCHEMA);
        write_yaml(&folder.join("service.yml"), &header, &service.settings)?;
    }
    Ok(targets)
}

fn write_yaml(path: &Path, header: &str, settings: &Mapping) -> Result<(), CliError> {
    let body = if settings.is_empty() {
        String::new()
    } else {
        yaml_serde::to_string(settings)
            .map_err(CliError::encode("the imported settings as YAML"))?
    };
    std::fs::write(path, format!("{header}{body}"))
        .map_err(CliError::io(format!("writing {}", path.display())))
}

/// `key: value` into `map`.
fn set(map: &mut Mapping, key: &str, value: impl Into<Value>) {
    map.insert(Value::String(key.to_owned()), value.into());
}

/// A name Orchestra accepts: letters, digits, `-` and `_`; anything else becomes `-`.
fn sanitize_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        out.insert(0, 's');
    }
    out.truncate(orchestra_core::name::MAX_NAME_LEN);
    out
}
