//! The package graph of Go services: which folders of the repository each one's build reads.
//!
//! A Go service's binary is made of its own package and every package it imports,
//! transitively — a shared `pkg/auth` two folders away included. `go list -deps -json` knows
//! that set; it is asked once per Go workspace or module (the nearest `go.work`, else the
//! nearest `go.mod`, above the service's folder) for all the services under it at once, so a
//! repository with one root `go.mod` and many `cmd/` mains costs one `go list`. Standard
//! packages and those outside the repository (the module cache) never change and are left
//! out. The graph also names the module files (`go.mod`, `go.sum`, `go.work`) each service is
//! built under.
//!
//! It is read again when a module file changes or a source file of a known package imports
//! something its package did not (see [`GoGraph::needs_refresh`]). An import removed is
//! noticed at the next refresh: until then the graph is larger than needed, which costs at
//! most a rebuild, never a missed one.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use orchestra_core::name::ServiceName;
use orchestra_core::spec::{ServiceKind, ServiceSpec};
use serde::Deserialize;

use super::imports::file_imports;

/// What the watcher knows of the Go services' builds.
#[derive(Debug, Default)]
pub(crate) struct GoGraph {
    /// Package folder → the services whose build reads it (their own package included).
    packages: HashMap<PathBuf, BTreeSet<ServiceName>>,
    /// `go.mod`, `go.sum`, `go.work` → the services built under it.
    module_files: HashMap<PathBuf, BTreeSet<ServiceName>>,
    /// Package folder → what it imports, as `go list` saw it.
    imports: HashMap<PathBuf, BTreeSet<String>>,
}

/// One package as `go list -json` prints it (the fields asked for).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Package {
    import_path: String,
    dir: PathBuf,
    standard: bool,
    imports: Vec<String>,
    deps: Vec<String>,
    module: Option<Module>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Module {
    go_mod: Option<PathBuf>,
}

/// A build root, its services, and what `go list` said of them.
type Listed<'a> = (PathBuf, Vec<&'a ServiceSpec>, Option<Vec<Package>>);

/// Whether `name` is a Go source that goes into a binary (not a test).
fn is_go_source(name: &str) -> bool {
    Path::new(name)
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("go"))
        && !name.ends_with("_test.go")
}

const FIELDS: &str = "-json=ImportPath,Dir,Standard,Imports,Deps,Module";

impl GoGraph {
    /// Reads the graph of the Go services among `services`; `project_root` bounds what
    /// counts as the repository (with the workspace or module root, if it lies above). A
    /// service whose graph cannot be read keeps its globs only (logged).
    pub(crate) fn read(services: &[ServiceSpec], project_root: &Path) -> Self {
        let mut groups: HashMap<PathBuf, Vec<&ServiceSpec>> = HashMap::new();
        for spec in services.iter().filter(|s| s.kind == ServiceKind::Go) {
            if let Some(root) = build_root(&spec.dir) {
                groups.entry(root).or_default().push(spec);
            }
        }
        let listed: Vec<Listed<'_>> = std::thread::scope(|scope| {
            let running: Vec<_> = groups
                .into_iter()
                .map(|(root, specs)| {
                    let job = scope.spawn({
                        let root = root.clone();
                        let specs = specs.clone();
                        move || go_list(&root, &specs)
                    });
                    (root, specs, job)
                })
                .collect();
            running
                .into_iter()
                .map(|(root, specs, job)| (root, specs, job.join().ok().flatten()))
                .collect()
        });
        let mut graph = Self::default();
        for (root, specs, packages) in listed {
            if let Some(packages) = packages {
                graph.add(&root, project_root, &specs, &packages);
            }
        }
        graph
    }

    fn add(&mut self, root: &Path, project_root: &Path, specs: &[&ServiceSpec], pkgs: &[Package]) {
        let by_path: HashMap<&str, &Package> =
            pkgs.iter().map(|p| (p.import_path.as_str(), p)).collect();
        let in_repo = |p: &Package| {
            !p.standard && (p.dir.starts_with(project_root) || p.dir.starts_with(root))
        };
        for spec in specs {
            let Some(main) = pkgs.iter().find(|p| p.dir == spec.dir) else {
                tracing::debug!(service = %spec.name, "go list did not list the service's package");
                continue;
            };
            let read = std::iter::once(main).chain(
                main.deps
                    .iter()
                    .filter_map(|d| by_path.get(d.as_str()).copied())
                    .filter(|p| in_repo(p)),
            );
            for pkg in read {
                self.packages
                    .entry(pkg.dir.clone())
                    .or_default()
                    .insert(spec.name.clone());
                self.imports
                    .entry(pkg.dir.clone())
                    .or_insert_with(|| pkg.imports.iter().cloned().collect());
                let go_mod = pkg.module.as_ref().and_then(|m| m.go_mod.clone());
                let files = go_mod
                    .iter()
                    .flat_map(|m| [m.clone(), m.with_file_name("go.sum")])
                    .chain(Some(root.join("go.work")).filter(|w| w.is_file()));
                for file in files {
                    self.module_files
                        .entry(file)
                        .or_default()
                        .insert(spec.name.clone());
                }
            }
        }
    }

    /// The services whose build reads `file` (a package's source, or a module file); none
    /// for a test file, which no binary contains.
    pub(crate) fn services_of(&self, file: &Path) -> Option<&BTreeSet<ServiceName>> {
        let name = file.file_name()?.to_str()?;
        if matches!(name, "go.mod" | "go.sum" | "go.work") {
            return self.module_files.get(file);
        }
        if !is_go_source(name) {
            return None;
        }
        self.packages.get(file.parent()?)
    }

    /// The services whose tests read `file`: those whose build reads it, and for a test
    /// file (`_test.go`), those whose graph holds its package.
    pub(crate) fn tested_by(&self, file: &Path) -> Option<&BTreeSet<ServiceName>> {
        let name = file.file_name()?.to_str()?;
        if name.ends_with("_test.go") {
            return self.packages.get(file.parent()?);
        }
        self.services_of(file)
    }

    /// Whether a change of `file` may change the graph: a module file, or a source of a
    /// known package that imports what its package did not (read from the file).
    pub(crate) fn needs_refresh(&self, file: &Path) -> bool {
        let Some(name) = file.file_name().and_then(|n| n.to_str()) else {
            return false;
        };
        if matches!(name, "go.mod" | "go.work") {
            return true;
        }
        if !is_go_source(name) {
            return false;
        }
        let Some(known) = file.parent().and_then(|dir| self.imports.get(dir)) else {
            return false;
        };
        let Ok(src) = std::fs::read_to_string(file) else {
            return false;
        };
        file_imports(&src).is_none_or(|imports| !imports.is_subset(known))
    }

    /// The folders holding the graph's packages and module files.
    pub(crate) fn folders(&self) -> BTreeSet<PathBuf> {
        let files = self.module_files.keys().filter_map(|f| f.parent());
        self.packages
            .keys()
            .map(PathBuf::as_path)
            .chain(files)
            .map(Path::to_path_buf)
            .collect()
    }

    /// How many package folders the graph knows.
    pub(crate) fn len(&self) -> usize {
        self.packages.len()
    }
}

/// Where `go` resolves the imports of a package in `dir`: the nearest folder above it with
/// a `go.work`, else with a `go.mod`; `None` outside any module (globs only then).
pub(crate) fn build_root(dir: &Path) -> Option<PathBuf> {
    let nearest = |file: &str| dir.ancestors().find(|a| a.join(file).is_file());
    nearest("go.work")
        .or_else(|| nearest("go.mod"))
        .map(Path::to_path_buf)
}

/// `go list -e -deps` of the packages in the folders of `specs`, run in `root` with the
/// first service's environment (GOFLAGS, GOWORK…); `None` when it cannot run.
fn go_list(root: &Path, specs: &[&ServiceSpec]) -> Option<Vec<Package>> {
    let args = specs.iter().filter_map(|s| {
        let rel = s.dir.strip_prefix(root).ok()?;
        Some(format!("./{}", rel.display()))
    });
    let env = specs.first().map(|s| s.env.clone()).unwrap_or_default();
    let output = Command::new("go")
        .args(["list", "-e", "-deps", FIELDS])
        .args(args)
        .current_dir(root)
        .envs(env)
        // Go takes $PWD as its folder when it is one: the folders it prints then start
        // with `root` as given, even through a symbolic link.
        .env("PWD", root)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .output();
    let output = match output {
        Ok(output) if output.status.success() => output,
        Ok(output) => {
            let err = String::from_utf8_lossy(&output.stderr);
            tracing::warn!(folder = %root.display(), "go list failed; watching globs only: {}", err.trim());
            return None;
        }
        Err(err) => {
            tracing::warn!(folder = %root.display(), "cannot run go list; watching globs only: {err}");
            return None;
        }
    };
    let packages = serde_json::Deserializer::from_slice(&output.stdout)
        .into_iter::<Package>()
        .collect::<Result<Vec<_>, _>>();
    match packages {
        Ok(packages) => Some(packages),
        Err(err) => {
            tracing::warn!(folder = %root.display(), "cannot read go list's output: {err}");
            None
        }
    }
}
