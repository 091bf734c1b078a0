//! Finding the files: orchestra.yml by walking up from a folder (like git) or as given, and
//! the service folders its `services:` globs match.

use std::fs;
use std::path::{Component, Path, PathBuf};

use crate::error::{ConfigError, Problem};

/// The names orchestra.yml may have, in order of preference.
pub const PROJECT_FILE_NAMES: [&str; 2] = ["orchestra.yml", "orchestra.yaml"];
/// The names a service's file may have.
pub const SERVICE_FILE_NAMES: [&str; 2] = ["service.yml", "service.yaml"];

/// How to find orchestra.yml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Discovery {
    /// Look in this folder, then in each parent up to the filesystem root.
    WalkUp(PathBuf),
    /// Use this file (`-c FILE`, `ORCHESTRA_CONFIG`); a folder means the project file in it.
    File(PathBuf),
}

/// Finds the project file; the path returned is absolute.
pub fn discover(mode: &Discovery) -> Result<PathBuf, ConfigError> {
    match mode {
        Discovery::File(path) => {
            let path = absolute(path);
            if path.is_dir() {
                return in_dir(&path)?.ok_or_else(|| not_found(&path, false));
            }
            if path.is_file() {
                return Ok(path);
            }
            Err(ConfigError::new(vec![
                Problem::new(format!("config file `{}` does not exist", path.display()))
                    .help("check the path given with `-c` or in ORCHESTRA_CONFIG"),
            ]))
        }
        Discovery::WalkUp(start) => {
            let start = absolute(start);
            for dir in start.ancestors() {
                if let Some(found) = in_dir(dir)? {
                    tracing::debug!(file = %found.display(), "found the project file");
                    return Ok(found);
                }
            }
            Err(not_found(&start, true))
        }
    }
}

/// The project file in `dir`, refusing two of them.
fn in_dir(dir: &Path) -> Result<Option<PathBuf>, ConfigError> {
    let found: Vec<PathBuf> = PROJECT_FILE_NAMES
        .iter()
        .map(|n| dir.join(n))
        .filter(|p| p.is_file())
        .collect();
    match found.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.clone())),
        [a, b, ..] => Err(ConfigError::new(vec![
            Problem::new(format!(
                "both `{}` and `{}` exist: which one is the project file?",
                a.display(),
                b.display()
            ))
            .help("keep one of them, e.g. merge orchestra.yaml into orchestra.yml and delete it"),
        ])),
    }
}

fn not_found(start: &Path, walked: bool) -> ConfigError {
    let where_ = if walked {
        format!("`{}` or any folder above it", start.display())
    } else {
        format!("`{}`", start.display())
    };
    ConfigError::not_found(
        Problem::new(format!("no orchestra.yml in {where_}"))
            .help("run `orchestra init` in the folder that holds your services, or pass `-c FILE`"),
    )
}

/// `path` made absolute against the current folder, lexically cleaned.
fn absolute(path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map_or_else(|_| path.to_path_buf(), |cwd| cwd.join(path))
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// What a project loading needs to know of a folder, from one listing of it: a start of
/// 200 services otherwise asked the filesystem five times per folder (each service file
/// name, `.env`, `go.mod`) before listing it anyway for `.go` files.
#[derive(Debug, Default)]
pub(crate) struct FolderFacts {
    /// The service files present (of [`SERVICE_FILE_NAMES`], in that order).
    pub service_files: Vec<&'static str>,
    /// Whether it holds a Go package: a go.mod file or a `.go` file.
    pub go: bool,
    /// Whether `.env` is a file (or a link to one).
    pub dotenv: bool,
}

impl FolderFacts {
    /// Lists `dir` once; an unreadable folder has no facts.
    pub(crate) fn of(dir: &Path) -> Self {
        let mut facts = Self::default();
        let Ok(entries) = fs::read_dir(dir) else {
            return facts;
        };
        // A link is followed, as `is_file` would; the type of anything else comes with
        // the listing.
        let is_file = |e: &fs::DirEntry| match e.file_type() {
            Ok(t) if t.is_symlink() => e.path().is_file(),
            Ok(t) => t.is_file(),
            Err(_) => false,
        };
        let mut present = [false; SERVICE_FILE_NAMES.len()];
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(i) = SERVICE_FILE_NAMES.iter().position(|n| *n == name) {
                present[i] = true;
            } else if name == "go.mod" {
                facts.go |= is_file(&entry);
            } else if name == crate::load::DOTENV {
                facts.dotenv = is_file(&entry);
            } else if Path::new(name).extension().is_some_and(|x| x == "go") {
                facts.go |= entry.file_type().is_ok_and(|t| t.is_file());
            }
        }
        facts.service_files = SERVICE_FILE_NAMES
            .into_iter()
            .zip(present)
            .filter_map(|(name, here)| here.then_some(name))
            .collect();
        facts
    }
}

/// Whether `dir` holds a Go package: a go.mod or a `.go` file.
pub fn is_go_service(dir: &Path) -> bool {
    FolderFacts::of(dir).go
}

/// How deep `**` descends: far enough for any real layout, bounded against symlink loops.
const MAX_GLOB_DEPTH: usize = 8;

/// The folders `pattern` (relative to `root`, `/`-separated) matches. Each component is
/// matched against one level of folders, so `*` never crosses a `/`; `**` matches any depth.
/// Hidden folders are skipped unless the pattern names them.
pub(crate) fn expand(root: &Path, pattern: &str) -> Result<Vec<PathBuf>, globset::Error> {
    let mut current = vec![if pattern.starts_with('/') {
        PathBuf::from("/")
    } else {
        root.to_path_buf()
    }];
    for comp in pattern.split('/').filter(|c| !c.is_empty() && *c != ".") {
        let mut next = Vec::new();
        if comp == "**" {
            for dir in &current {
                subdirs_deep(dir, MAX_GLOB_DEPTH, &mut next);
            }
        } else if comp == ".." {
            next.extend(
                current
                    .iter()
                    .map(|d| d.parent().unwrap_or(d).to_path_buf()),
            );
        } else if !comp.contains(['*', '?', '[', '{']) {
            next.extend(current.iter().map(|d| d.join(comp)).filter(|p| p.is_dir()));
        } else {
            let matcher = globset::Glob::new(comp)?.compile_matcher();
            for dir in &current {
                for sub in subdirs(dir) {
                    let name = sub.file_name().map(|n| n.to_string_lossy().into_owned());
                    let Some(name) = name else { continue };
                    if skipped(&name) && !comp.starts_with('.') {
                        continue;
                    }
                    if matcher.is_match(&name) {
                        next.push(sub);
                    }
                }
            }
        }
        current = next;
    }
    current.sort();
    current.dedup();
    Ok(current)
}

fn skipped(name: &str) -> bool {
    name.starts_with('.')
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    // The listing says what each entry is; only a link needs a look at what it points to.
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| match e.file_type() {
            Ok(t) if t.is_symlink() => e.path().is_dir(),
            Ok(t) => t.is_dir(),
            Err(_) => false,
        })
        .map(|e| e.path())
        .collect();
    dirs.sort();
    dirs
}

fn subdirs_deep(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    out.push(dir.to_path_buf());
    if depth == 0 {
        return;
    }
    for sub in subdirs(dir) {
        let hidden = sub
            .file_name()
            .is_some_and(|n| skipped(&n.to_string_lossy()));
        if !hidden {
            subdirs_deep(&sub, depth - 1, out);
        }
    }
}

/// How a file is named in messages: relative to the project root when possible.
pub(crate) fn display_name(root: &Path, file: &Path) -> String {
    for (ups, base) in root.ancestors().enumerate() {
        if let Ok(rest) = file.strip_prefix(base) {
            let mut name = "../".repeat(ups);
            name.push_str(&rest.to_string_lossy());
            return name;
        }
    }
    file.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(p: &Path) {
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, "").unwrap();
    }

    #[test]
    fn walks_up_to_the_project_file() {
        let t = tempfile::tempdir().unwrap();
        touch(&t.path().join("orchestra.yml"));
        fs::create_dir_all(t.path().join("users/internal")).unwrap();
        let found = discover(&Discovery::WalkUp(t.path().join("users/internal"))).unwrap();
        assert_eq!(found, t.path().join("orchestra.yml"));
    }

    #[test]
    fn accepts_yaml_but_not_both() {
        let t = tempfile::tempdir().unwrap();
        touch(&t.path().join("orchestra.yaml"));
        let found = discover(&Discovery::WalkUp(t.path().into())).unwrap();
        assert_eq!(found, t.path().join("orchestra.yaml"));
        touch(&t.path().join("orchestra.yml"));
        let err = discover(&Discovery::WalkUp(t.path().into())).unwrap_err();
        assert!(err.to_string().contains("orchestra.yml"), "{err}");
        assert!(err.to_string().contains("orchestra.yaml"), "{err}");
    }

    #[test]
    fn an_explicit_file_is_used_as_is() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("elsewhere.yml");
        touch(&f);
        assert_eq!(discover(&Discovery::File(f.clone())).unwrap(), f);
        let missing = discover(&Discovery::File(t.path().join("nope.yml"))).unwrap_err();
        assert!(missing.to_string().contains("does not exist"));
        assert!(!missing.is_not_found());
    }

    #[test]
    fn nothing_found_suggests_init() {
        let t = tempfile::tempdir().unwrap();
        let err = discover(&Discovery::File(t.path().into())).unwrap_err();
        assert!(err.is_not_found());
        assert!(
            err.problems()[0]
                .help_text()
                .unwrap()
                .contains("orchestra init")
        );
    }

    #[test]
    fn globs_match_one_level_and_skip_hidden() {
        let t = tempfile::tempdir().unwrap();
        for d in ["a", "b/c", ".hidden", ".orchestra"] {
            fs::create_dir_all(t.path().join(d)).unwrap();
        }
        let names = |pat: &str| -> Vec<String> {
            expand(t.path(), pat)
                .unwrap()
                .iter()
                .map(|p| display_name(t.path(), p))
                .collect()
        };
        assert_eq!(names("*"), ["a", "b"]);
        assert_eq!(names("b/*"), ["b/c"]);
        assert_eq!(names("**"), ["", "a", "b", "b/c"]);
        fs::create_dir_all(t.path().join("a/x")).unwrap();
        let inner = t.path().join("b");
        let outside: Vec<String> = expand(&inner, "../a/*")
            .unwrap()
            .iter()
            .map(|p| display_name(&inner, p))
            .collect();
        assert_eq!(outside, ["../a/x"]);
    }

    #[test]
    fn go_services_are_detected() {
        let t = tempfile::tempdir().unwrap();
        assert!(!is_go_service(t.path()));
        touch(&t.path().join("main.go"));
        assert!(is_go_service(t.path()));
    }
}
