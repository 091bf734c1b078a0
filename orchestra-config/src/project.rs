//! [`Project`]: orchestra.yml and every service.yml, read and checked, ready to be resolved
//! for a command.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use orchestra_core::name::{ServiceName, VendorName};
use orchestra_core::spec::ServiceKind;

use crate::discover::{self, FolderFacts};
use crate::error::{ConfigError, Problem};
use crate::groups::Groups;
use crate::load;
use crate::raw::project::{self as raw_project, RawProject};
use crate::raw::service::{self as raw_service, RawService};
use crate::read::{Ctx, EnvEntry};
use crate::source::{SourceFile, Target};
use crate::validate;

/// A project read from disk: orchestra.yml and every service.yml, parsed and validated, kept
/// with their text so later problems (at resolution) still point into the files.
#[derive(Debug, Clone)]
pub struct Project {
    pub(crate) root: PathBuf,
    pub(crate) file: PathBuf,
    pub(crate) raw: RawProject,
    pub(crate) env_file: Vec<EnvEntry>,
    pub(crate) vendor_env_files: BTreeMap<VendorName, Vec<EnvEntry>>,
    pub(crate) services: Vec<LoadedService>,
}

/// One service as loaded: its settings merged with `defaults:`.
#[derive(Debug, Clone)]
pub(crate) struct LoadedService {
    pub name: ServiceName,
    pub dir: PathBuf,
    pub file: Arc<SourceFile>,
    pub kind: ServiceKind,
    pub raw: RawService,
    pub env_file: Vec<EnvEntry>,
}

impl Project {
    /// Reads `config_file` and every service.yml its `services:` globs reach, and checks
    /// everything; all problems found are returned together.
    pub fn load(config_file: &Path) -> Result<Project, ConfigError> {
        let mut problems = Vec::new();
        let file = config_file
            .canonicalize()
            .unwrap_or_else(|_| config_file.to_path_buf());
        let root = file
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let name = file.file_name().map_or_else(
            || "orchestra.yml".to_owned(),
            |n| n.to_string_lossy().into_owned(),
        );
        let Some((source, node)) = load::load_yaml(&file, name, &mut problems) else {
            return Err(ConfigError::new(problems));
        };
        let raw = raw_project::read(&mut Ctx::new(source, &mut problems), &node);
        let env_file = load::env_files(&root, &root, &raw.env_file, &mut problems);
        let vendor_env_files = raw
            .vendors
            .iter()
            .map(|v| {
                let vars = v
                    .env_file
                    .iter()
                    .flat_map(|e| load::env_file(&root, &root, e, &mut problems))
                    .collect();
                (v.name.value.clone(), vars)
            })
            .collect();
        let mut project = Project {
            services: Vec::new(),
            root,
            file,
            raw,
            env_file,
            vendor_env_files,
        };
        let dirs = project.service_dirs(&mut problems);
        for (service, mut found) in project.load_services(&dirs) {
            problems.append(&mut found);
            project.services.extend(service);
        }
        project
            .services
            .sort_by(|a, b| a.name.cmp(&b.name).then(a.dir.cmp(&b.dir)));
        validate::project(&project, &mut problems);
        if problems.is_empty() {
            tracing::debug!(
                root = %project.root.display(),
                services = project.services.len(),
                vendors = project.raw.vendors.len(),
                "configuration loaded"
            );
            Ok(project)
        } else {
            Err(ConfigError::new(problems))
        }
    }

    /// The folder holding orchestra.yml.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The orchestra.yml file.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The names of every service, sorted.
    pub fn service_names(&self) -> Vec<ServiceName> {
        self.services.iter().map(|s| s.name.clone()).collect()
    }

    /// The `groups:` of orchestra.yml, for `@group` on the command line.
    pub fn groups(&self) -> Groups {
        let file = self.file.file_name().map_or_else(
            || "orchestra.yml".to_owned(),
            |n| n.to_string_lossy().into_owned(),
        );
        Groups::from_raw(&file, &self.raw.groups)
    }

    /// The names of every vendor, sorted.
    pub fn vendor_names(&self) -> Vec<VendorName> {
        self.vendor_env_files.keys().cloned().collect()
    }

    /// The folders the `services:` globs match that hold a service file.
    fn service_dirs(&self, problems: &mut Vec<Problem>) -> Vec<(PathBuf, FolderFacts)> {
        let globs: Vec<&str> = match &self.raw.services {
            Some(globs) => globs.iter().map(|g| g.value.as_str()).collect(),
            None => vec!["*"],
        };
        let mut dirs = Vec::new();
        let mut seen = HashSet::new();
        for glob in globs {
            // Bad globs were reported while reading orchestra.yml.
            let Ok(matched) = discover::expand(&self.root, glob) else {
                continue;
            };
            let before = dirs.len();
            for dir in matched {
                let dir = dir.canonicalize().unwrap_or(dir);
                if dir.ends_with(orchestra_core::paths::STATE_DIR_NAME) {
                    continue;
                }
                let facts = FolderFacts::of(&dir);
                if facts.service_files.len() > 1 {
                    problems.push(
                        Problem::new(format!(
                            "both service.yml and service.yaml exist in {}",
                            discover::display_name(&self.root, &dir)
                        ))
                        .help("keep one of them"),
                    );
                    continue;
                }
                if !facts.service_files.is_empty() && seen.insert(dir.clone()) {
                    dirs.push((dir, facts));
                }
            }
            if dirs.len() == before && self.raw.services.is_some() {
                tracing::warn!(glob, "services glob matched no service folder");
            }
        }
        dirs
    }

    /// Loads the service of each of `dirs`, with the problems of each, in their order. A
    /// project of many services is read on a few threads: each file costs a dozen system
    /// calls and a parse, and a start waits for all of them before anything else happens.
    fn load_services(
        &self,
        dirs: &[(PathBuf, FolderFacts)],
    ) -> Vec<(Option<LoadedService>, Vec<Problem>)> {
        /// Services per thread below which another thread costs more than it saves.
        const PER_THREAD: usize = 32;
        let load = |(dir, facts): &(PathBuf, FolderFacts)| {
            let mut problems = Vec::new();
            let service = self.load_service(dir, facts, &mut problems);
            (service, problems)
        };
        let threads = std::thread::available_parallelism()
            .map_or(1, std::num::NonZero::get)
            .min(dirs.len() / PER_THREAD)
            .min(4);
        if threads < 2 {
            return dirs.iter().map(load).collect();
        }
        std::thread::scope(|scope| {
            let parts: Vec<_> = dirs
                .chunks(dirs.len().div_ceil(threads))
                .map(|part| scope.spawn(move || part.iter().map(load).collect::<Vec<_>>()))
                .collect();
            parts
                .into_iter()
                .flat_map(|part| part.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        })
    }

    fn load_service(
        &self,
        dir: &Path,
        facts: &FolderFacts,
        problems: &mut Vec<Problem>,
    ) -> Option<LoadedService> {
        let path = dir.join(facts.service_files.first()?);
        let display = discover::display_name(&self.root, &path);
        let (file, node) = load::load_yaml(&path, display, problems)?;
        let mut ctx = Ctx::new(Arc::clone(&file), problems);
        let raw = raw_service::read(&mut ctx, &node, &[])?.with_defaults(&self.raw.defaults);
        let name = if let Some(n) = &raw.name {
            n.value.clone()
        } else {
            let folder = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            match ServiceName::new(folder.clone()) {
                Ok(n) => n,
                Err(e) => {
                    ctx.report(|f| {
                        Problem::at(
                            f,
                            &[],
                            Target::Key,
                            format!("the folder name `{folder}` is not a valid service name"),
                            "no `name:` in this file",
                        )
                        .help(format!(
                            "{e}; set `name:` in {} or rename the folder",
                            f.name
                        ))
                    });
                    return None;
                }
            }
        };
        let named = raw.env_file.as_deref().unwrap_or_default();
        let env_file = load::env_files_with(dir, &self.root, named, facts.dotenv, problems);
        let kind = if facts.go {
            ServiceKind::Go
        } else {
            ServiceKind::Command
        };
        Some(LoadedService {
            name,
            dir: dir.to_path_buf(),
            file,
            kind,
            raw,
            env_file,
        })
    }
}
