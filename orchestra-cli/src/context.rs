//! What every project command needs: the project found, loaded and resolved, and the
//! services selected on the command line.

use std::path::{Path, PathBuf};

use orchestra_config::{ConfigError, Discovery, Groups, Project, Section};
use orchestra_core::address::Addressing;
use orchestra_core::spec::{Hooks, ProjectSpec};
use orchestra_core::{ProjectName, ServiceName, StateDir};

use crate::error::CliError;
use crate::last_known;
use crate::output::Output;
use crate::runtime::FleetMode;

/// The global options and the lazily loaded project.
pub struct Context {
    /// How to print.
    pub out: Output,
    config: Option<PathBuf>,
    /// The project file discovery found, kept even when it does not load.
    file: Option<PathBuf>,
    project: Option<Project>,
    /// The project as it last ran, standing in for files that do not load.
    last_known: Option<ProjectSpec>,
}

impl Context {
    /// A context for the given `-c` option (after `-C` has been applied).
    pub fn new(out: Output, config: Option<PathBuf>) -> Self {
        Self {
            out,
            config,
            file: None,
            project: None,
            last_known: None,
        }
    }

    /// A context with the same options that loads the files again: a command that runs
    /// for long (`ui`) acts on the files as they are at each action.
    #[must_use]
    pub fn reloaded(&self) -> Self {
        Self::new(self.out, self.config.clone())
    }

    /// Finds and loads the project, once.
    pub fn project(&mut self) -> Result<&Project, CliError> {
        if self.project.is_none() {
            let file = self.discover()?;
            self.project = Some(Project::load(&file)?);
        }
        Ok(self.project.as_ref().expect("loaded above"))
    }

    /// The folder of the project file, found without loading it.
    pub fn project_root(&mut self) -> Result<PathBuf, CliError> {
        let file = self.discover()?;
        Ok(file.parent().unwrap_or(Path::new(".")).to_path_buf())
    }

    fn discover(&mut self) -> Result<PathBuf, CliError> {
        if let Some(file) = &self.file {
            return Ok(file.clone());
        }
        let mode = match &self.config {
            Some(file) => Discovery::File(file.clone()),
            None => Discovery::WalkUp(
                std::env::current_dir().map_err(CliError::io("reading the current folder"))?,
            ),
        };
        let file = orchestra_config::discover(&mode)?;
        self.file = Some(file.clone());
        Ok(file)
    }

    /// The project resolved for the command being run (its section's env and hooks apply).
    pub fn resolve(&mut self, section: Section) -> Result<ProjectSpec, CliError> {
        Ok(self.project()?.resolve(section)?)
    }

    /// [`Context::resolve`] for a fleet that runs where `addressing` says (`--docker`, an
    /// export), which decides the address variables of each service's dependencies.
    pub fn resolve_for(
        &mut self,
        section: Section,
        addressing: Addressing,
    ) -> Result<ProjectSpec, CliError> {
        let lookup = |k: &str| std::env::var(k).ok();
        Ok(self.project()?.resolve_for(section, addressing, &lookup)?)
    }

    /// The project for a command that changes the running fleet (`restart`, `scale`):
    /// addressed as the fleet runs, on the host or in containers, so that its replicas keep
    /// the addresses they started with.
    pub fn resolve_as_running(&mut self, section: Section) -> Result<ProjectSpec, CliError> {
        let file = self.discover()?;
        let root = file.parent().unwrap_or(Path::new("."));
        let addressing = match FleetMode::saved(&StateDir::for_project(root)) {
            FleetMode::Docker => Addressing::Containers,
            FleetMode::Host => Addressing::Host,
        };
        self.resolve_for(section, addressing)
    }

    /// The project for a command that acts on what runs (`stop`, `ps`, `logs`, `vendors
    /// down`): resolved from the files, or, when they do not load, the project as the fleet
    /// last ran it (see [`last_known`]), after a warning that names the problem. Its hooks
    /// are not run then: they belong to files that do not load.
    pub fn resolve_running(&mut self, section: Section) -> Result<ProjectSpec, CliError> {
        let error = match self.resolve(section) {
            Err(CliError::Config(e)) if !e.is_not_found() => e,
            other => return other,
        };
        let file = self.discover()?;
        let root = file.parent().unwrap_or(Path::new(".")).to_path_buf();
        let mut project =
            last_known::load(&StateDir::for_project(&root)).unwrap_or_else(|| empty_project(&root));
        project.hooks = Hooks::default();
        self.warn_ignored(&error);
        self.last_known = Some(project.clone());
        Ok(project)
    }

    /// One line for the problem, one for what is done instead: the full diagnostic is for
    /// the commands that need the files (`orchestra config` shows it).
    fn warn_ignored(&self, error: &ConfigError) {
        let first = &error.problems()[0];
        let place = first
            .location()
            .map(|l| format!("{l}: "))
            .unwrap_or_default();
        let more = match error.problems().len() {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        eprintln!(
            "{} {place}{}{more}",
            self.out.yellow("warning:"),
            first.message()
        );
        eprintln!(
            "  the configuration does not load: acting on the fleet as it last ran (`orchestra config` shows every problem)"
        );
    }

    /// The services named on the command line: all when none, `@group` stands for its
    /// services, `~name` and `~@group` exclude.
    pub fn select(&mut self, args: &[String]) -> Result<Vec<ServiceName>, CliError> {
        let all = match &self.last_known {
            Some(project) => project.services.keys().cloned().collect(),
            None => self.project()?.service_names(),
        };
        let groups = self.groups()?;
        Ok(orchestra_config::select_services(&all, &groups, args)?)
    }

    /// The project's `groups:`. A fleet acted on as it last ran has none: they live in the
    /// files that do not load.
    pub fn groups(&mut self) -> Result<Groups, CliError> {
        if self.last_known.is_some() {
            return Ok(Groups::default());
        }
        Ok(self.project()?.groups())
    }
}

/// A project with no services or vendors, for a fleet whose files never loaded.
fn empty_project(root: &Path) -> ProjectSpec {
    let folder = root.file_name().map(|n| n.to_string_lossy().into_owned());
    ProjectSpec::empty(
        ProjectName::sanitize(folder.as_deref().unwrap_or("project")),
        root,
    )
}
