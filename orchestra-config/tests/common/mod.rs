//! Fixture projects written to a temporary folder, and rendering of diagnostics with the
//! folder's path redacted so snapshots are stable.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme};
use orchestra_config::{ConfigError, Project};

/// A project folder (`<tmp>/project`) with files written into it.
pub struct Fixture {
    _tmp: tempfile::TempDir,
    pub root: PathBuf,
}

impl Fixture {
    /// An empty project folder, without orchestra.yml.
    pub fn empty() -> Self {
        let tmp = tempfile::Builder::new()
            .prefix("orchestra-config-")
            .tempdir()
            .expect("temp dir");
        let root = tmp.path().join("project");
        fs::create_dir(&root).expect("project dir");
        Self { _tmp: tmp, root }
    }

    /// A project with these files (paths relative to the project folder). An orchestra.yml is
    /// added, empty, when not given.
    pub fn new(files: &[(&str, &str)]) -> Self {
        let f = Self::empty();
        if !files.iter().any(|(p, _)| *p == "orchestra.yml") {
            f.write("orchestra.yml", "");
        }
        for (path, text) in files {
            f.write(path, text);
        }
        f
    }

    /// Writes `contents` at `path` in the project, creating folders.
    pub fn write(&self, path: &str, contents: impl AsRef<[u8]>) {
        let p = self.root.join(path);
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        fs::write(p, contents).expect("write");
    }

    pub fn config(&self) -> PathBuf {
        self.root.join("orchestra.yml")
    }

    pub fn load(&self) -> Result<Project, ConfigError> {
        Project::load(&self.config())
    }

    /// Replaces the fixture's folders in `text` by `[ROOT]` / `[TMP]`.
    pub fn redact(&self, text: &str) -> String {
        let root = self
            .root
            .canonicalize()
            .unwrap_or_else(|_| self.root.clone());
        let tmp = root.parent().map(Path::to_path_buf).unwrap_or_default();
        text.replace(&root.display().to_string(), "[ROOT]")
            .replace(&self.root.display().to_string(), "[ROOT]")
            .replace(&tmp.display().to_string(), "[TMP]")
    }

    /// The error of loading (or, if loading passes, of resolving for `start`), rendered.
    pub fn error(&self) -> String {
        let err = match self.load() {
            Ok(project) => {
                match project.resolve_with(orchestra_config::Section::Start, &|_| None) {
                    Ok(_) => panic!("expected the configuration to be refused"),
                    Err(e) => e,
                }
            }
            Err(e) => e,
        };
        self.redact(&render(&err))
    }
}

/// Renders a diagnostic as a terminal would show it, without colours.
pub fn render(diagnostic: &dyn Diagnostic) -> String {
    let mut out = String::new();
    GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .render_report(&mut out, diagnostic)
        .expect("render");
    out
}
