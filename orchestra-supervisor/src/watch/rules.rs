//! Which paths of a service folder count as a change of that service.
//!
//! One [`ServiceRules`] per watched service, compiled once from its spec: its `watch` and
//! `ignore` globs (relative to the service folder), the paths that are never sources (`.git`,
//! the state dir, the build output) and the `.gitignore` files from the project root down to
//! the service folder. [`Fleet`] maps a changed path to the deepest service folder holding it.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use orchestra_core::name::ServiceName;
use orchestra_core::spec::ServiceSpec;

use super::WatchError;

/// Files editors write beside the one being edited (lock, swap, probe and backup files),
/// matched against the file name: never a change, whatever the `watch` globs say. Emacs' lock
/// `.#main.go` would otherwise match `**/*.go` as soon as editing starts.
const EDITOR_ARTIFACTS: &[&str] = &[
    ".#*",
    "#*#",
    "*~",
    "*.swp",
    "*.swo",
    "*.swx",
    "4913",
    "*.kate-swp",
    "*___jb_tmp___",
    "*___jb_old___",
    ".DS_Store",
];

/// The compiled filter of one service.
#[derive(Debug)]
pub(crate) struct ServiceRules {
    pub(crate) name: ServiceName,
    pub(crate) dir: PathBuf,
    pub(crate) debounce: Duration,
    /// `None` when the service's `watch` list is empty: every file counts.
    watch: Option<GlobSet>,
    ignore: GlobSet,
    /// Paths that are never sources: the state dir and the build output.
    excluded: Vec<PathBuf>,
    /// Deepest folder first, so a nearer `.gitignore` overrides a farther one as in git.
    gitignores: Vec<Gitignore>,
}

impl ServiceRules {
    /// Compiles the rules of `spec`; `project_root` bounds the `.gitignore` files read.
    pub(crate) fn new(
        spec: &ServiceSpec,
        project_root: &Path,
        state_dir: &Path,
    ) -> Result<Self, WatchError> {
        let watch = if spec.watch.is_empty() {
            None
        } else {
            Some(glob_set(&spec.name, &spec.watch)?)
        };
        let mut excluded = vec![state_dir.to_path_buf()];
        excluded.extend(spec.binary.iter().cloned());
        Ok(Self {
            name: spec.name.clone(),
            dir: spec.dir.clone(),
            debounce: spec.rerun.debounce,
            watch,
            ignore: glob_set(&spec.name, &spec.ignore)?,
            excluded,
            gitignores: gitignores(&spec.dir, project_root),
        })
    }

    /// Whether a change of `path` (inside this service's folder) concerns the service.
    pub(crate) fn is_relevant(&self, path: &Path, is_dir: bool) -> bool {
        !self.is_excluded(path, is_dir) && self.matches_watch(path)
    }

    /// Whether `path` is out of bounds whatever the `watch` globs say: under `.git`, the
    /// state dir (or any `.orchestra` folder: a fleet run from inside a service folder
    /// keeps its logs there) or the build output, matched by an `ignore` glob or ignored by
    /// git.
    pub(crate) fn is_excluded(&self, path: &Path, is_dir: bool) -> bool {
        let Ok(rel) = path.strip_prefix(&self.dir) else {
            return true;
        };
        if rel.as_os_str().is_empty()
            || rel.components().any(|c| {
                c == Component::Normal(".git".as_ref())
                    || c == Component::Normal(".orchestra".as_ref())
            })
            || self.excluded.iter().any(|e| path.starts_with(e))
        {
            return true;
        }
        if rel
            .file_name()
            .is_some_and(|name| editor_artifacts().is_match(name))
        {
            return true;
        }
        // `ignore: [vendor]` and `ignore: [vendor/**]` both mean the folder and what it holds.
        if rel
            .ancestors()
            .any(|a| !a.as_os_str().is_empty() && self.ignore.is_match(a))
        {
            return true;
        }
        git_ignores(&self.gitignores, path, is_dir)
    }

    fn matches_watch(&self, path: &Path) -> bool {
        let Some(watch) = &self.watch else {
            return true;
        };
        path.strip_prefix(&self.dir)
            .is_ok_and(|rel| watch.is_match(rel))
    }
}

/// Whether a file name is an editor's lock, swap, probe or backup file.
pub(crate) fn editor_artifact(name: &std::ffi::OsStr) -> bool {
    editor_artifacts().is_match(name)
}

fn editor_artifacts() -> &'static GlobSet {
    static SET: OnceLock<GlobSet> = OnceLock::new();
    SET.get_or_init(|| {
        let mut set = GlobSetBuilder::new();
        for glob in EDITOR_ARTIFACTS {
            if let Ok(glob) = Glob::new(glob) {
                set.add(glob);
            }
        }
        set.build().unwrap_or_else(|_| GlobSet::empty())
    })
}

/// Git's reading of several `.gitignore` files (deepest first): the nearest file that has an
/// opinion on the path, or on a folder holding it, decides.
fn git_ignores(gitignores: &[Gitignore], path: &Path, is_dir: bool) -> bool {
    gitignores
        .iter()
        .find_map(|g| {
            let m = g.matched_path_or_any_parents(path, is_dir);
            (!m.is_none()).then(|| m.is_ignore())
        })
        .unwrap_or(false)
}

fn glob_set(service: &ServiceName, globs: &[String]) -> Result<GlobSet, WatchError> {
    let mut set = GlobSetBuilder::new();
    for glob in globs {
        set.add(compile(service, glob)?);
    }
    set.build().map_err(|source| WatchError::Glob {
        service: service.clone(),
        glob: globs.join(", "),
        source,
    })
}

fn compile(service: &ServiceName, glob: &str) -> Result<Glob, WatchError> {
    // `*` stops at `/` as in a shell, so `*.go` means the folder's own files and
    // `**/*.go` every Go file below it (the Go default).
    GlobBuilder::new(glob.trim_start_matches("./"))
        .literal_separator(true)
        .build()
        .map_err(|source| WatchError::Glob {
            service: service.clone(),
            glob: glob.to_owned(),
            source,
        })
}

/// The `.gitignore` matchers that apply inside `dir`, deepest first: `dir`'s own and those of
/// its ancestors up to `project_root` (only `dir`'s own if it lies outside the project).
fn gitignores(dir: &Path, project_root: &Path) -> Vec<Gitignore> {
    let folders: Vec<&Path> = if dir.starts_with(project_root) {
        dir.ancestors()
            .take_while(|a| a.starts_with(project_root))
            .collect()
    } else {
        vec![dir]
    };
    folders
        .into_iter()
        .filter_map(|folder| {
            let file = folder.join(".gitignore");
            if !file.is_file() {
                return None;
            }
            let mut builder = GitignoreBuilder::new(folder);
            if let Some(err) = builder.add(&file) {
                tracing::warn!(file = %file.display(), "skipping bad lines of .gitignore: {err}");
            }
            match builder.build() {
                Ok(g) => Some(g),
                Err(err) => {
                    tracing::warn!(file = %file.display(), "cannot read .gitignore: {err}");
                    None
                }
            }
        })
        .collect()
}

/// The rules of every watched service, found by folder.
#[derive(Debug, Default)]
pub(crate) struct Fleet {
    by_dir: HashMap<PathBuf, ServiceRules>,
}

impl Fleet {
    pub(crate) fn new(rules: Vec<ServiceRules>) -> Self {
        Self {
            by_dir: rules.into_iter().map(|r| (r.dir.clone(), r)).collect(),
        }
    }

    /// The service owning `path`: the one with the deepest folder holding it, so a service
    /// nested in another's folder owns its own files.
    pub(crate) fn owner(&self, path: &Path) -> Option<&ServiceRules> {
        path.ancestors().find_map(|a| self.by_dir.get(a))
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &ServiceRules> {
        self.by_dir.values()
    }

    pub(crate) fn get(&self, name: &ServiceName) -> Option<&ServiceRules> {
        self.by_dir.values().find(|r| &r.name == name)
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use orchestra_core::spec::{CommandSpec, ServiceKind};

    use super::*;

    fn spec(dir: &Path, watch: &[&str], ignore: &[&str]) -> ServiceSpec {
        ServiceSpec {
            kind: ServiceKind::Go,
            binary: Some(dir.join("users-bin")),
            stop_timeout: Duration::from_secs(1),
            watch: watch.iter().map(|s| (*s).to_owned()).collect(),
            ignore: ignore.iter().map(|s| (*s).to_owned()).collect(),
            ..ServiceSpec::command(
                ServiceName::new("users").expect("valid name"),
                dir,
                CommandSpec::Shell("{bin}".into()),
            )
        }
    }

    const GO: &[&str] = &["**/*.go", "go.mod", "go.sum"];

    #[test]
    fn go_globs_take_sources_and_leave_the_rest() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = root.path().join("users");
        fs::create_dir_all(&dir).expect("mkdir");
        let rules = ServiceRules::new(
            &spec(&dir, GO, &[]),
            root.path(),
            &root.path().join(".orchestra"),
        )
        .expect("rules");
        for yes in ["main.go", "internal/db/db.go", "go.mod", "go.sum"] {
            assert!(rules.is_relevant(&dir.join(yes), false), "{yes}");
        }
        for no in [
            "README.md",
            "main.go~",
            ".#main.go",
            ".main.go.swp",
            "4913",
            "sub/go.mod",
            "users-bin",
            ".git/x.go",
            ".orchestra/logs/users.0.log",
            "tools/.orchestra/x.go",
        ] {
            assert!(!rules.is_relevant(&dir.join(no), false), "{no}");
        }
        assert!(!rules.is_relevant(&dir, true), "the folder itself");
        assert!(
            !rules.is_relevant(&root.path().join("other/main.go"), false),
            "outside"
        );
    }

    #[test]
    fn ignore_globs_and_gitignore_files_exclude() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = root.path().join("users");
        fs::create_dir_all(&dir).expect("mkdir");
        fs::write(root.path().join(".gitignore"), "/users/gen/\n*.pb.go\n").expect("write");
        fs::write(dir.join(".gitignore"), "tmp/\n!keep.pb.go\n").expect("write");
        let rules = ServiceRules::new(
            &spec(&dir, &[], &["vendor", "**/*_test.go"]),
            root.path(),
            &root.path().join(".orchestra"),
        )
        .expect("rules");
        assert!(
            rules.is_relevant(&dir.join("notes.txt"), false),
            "empty watch means all"
        );
        for no in [
            "notes.txt~",
            ".#notes.txt",
            "#notes.txt#",
            ".notes.txt.swp",
            "a/4913",
        ] {
            assert!(!rules.is_relevant(&dir.join(no), false), "{no}");
        }
        for no in [
            "vendor/a/b.go",
            "x_test.go",
            "a/x_test.go",
            "gen/api.go",
            "tmp/a.go",
            "api.pb.go",
        ] {
            assert!(!rules.is_relevant(&dir.join(no), false), "{no}");
        }
        assert!(
            rules.is_relevant(&dir.join("keep.pb.go"), false),
            "a nearer .gitignore wins"
        );
    }

    #[test]
    fn the_deepest_service_folder_owns_a_path() {
        let root = tempfile::tempdir().expect("tempdir");
        let outer = root.path().join("api");
        let inner = outer.join("admin");
        let state = root.path().join(".orchestra");
        let mut nested = spec(&inner, GO, &[]);
        nested.name = ServiceName::new("admin").expect("valid name");
        let fleet = Fleet::new(vec![
            ServiceRules::new(&spec(&outer, GO, &[]), root.path(), &state).expect("rules"),
            ServiceRules::new(&nested, root.path(), &state).expect("rules"),
        ]);
        let owner = |p: &str| {
            fleet
                .owner(&root.path().join(p))
                .map(|r| r.name.to_string())
        };
        assert_eq!(owner("api/main.go").as_deref(), Some("users"));
        assert_eq!(owner("api/admin/main.go").as_deref(), Some("admin"));
        assert_eq!(owner("api/admin/x/main.go").as_deref(), Some("admin"));
        assert_eq!(owner("web/main.go"), None);
    }

    #[test]
    fn a_bad_glob_names_the_service() {
        let err = ServiceRules::new(
            &spec(Path::new("/p/users"), &["a/{b"], &[]),
            Path::new("/p"),
            Path::new("/p/.orchestra"),
        )
        .expect_err("bad glob");
        assert!(err.to_string().contains("users"), "{err}");
    }
}
