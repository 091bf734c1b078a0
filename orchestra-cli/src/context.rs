//! What every project command needs: the project found, loaded and resolved, and the
//! services selected on the command line.

use std::path::PathBuf;

use orchestra_config::{Discovery, Project, Section};
use orchestra_core::ServiceName;
use orchestra_core::spec::ProjectSpec;

use crate::error::CliError;
use crate::output::Output;

/// The global options and the lazily loaded project.
pub struct Context {
    /// How to print.
    pub out: Output,
    config: Option<PathBuf>,
    project: Option<Project>,
}

impl Context {
    /// A context for the given `-c` option (after `-C` has been applied).
    pub fn new(out: Output, config: Option<PathBuf>) -> Self {
        Self {
            out,
            config,
            project: None,
        }
    }

    /// Finds and loads the project, once.
    pub fn project(&mut self) -> Result<&Project, CliError> {
        if self.project.is_none() {
            let mode = match &self.config {
                Some(file) => Discovery::File(file.clone()),
                None => Discovery::WalkUp(
                    std::env::current_dir().map_err(CliError::io("reading the current folder"))?,
                ),
            };
            let file = orchestra_config::discover(&mode)?;
            self.project = Some(Project::load(&file)?);
        }
        Ok(self.project.as_ref().expect("loaded above"))
    }

    /// The project resolved for the command being run (its section's env and hooks apply).
    pub fn resolve(&mut self, section: Section) -> Result<ProjectSpec, CliError> {
        Ok(self.project()?.resolve(section)?)
    }

    /// The services named on the command line: all when none, `~name` excludes.
    pub fn select(&mut self, args: &[String]) -> Result<Vec<ServiceName>, CliError> {
        let all = self.project()?.service_names();
        Ok(orchestra_config::select_services(&all, args)?)
    }
}
