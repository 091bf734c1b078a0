//! A whole project: its services, vendors, hooks and log settings.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{CommandSpec, Env, ServiceSpec, VendorSpec};
use crate::name::{ProjectName, ServiceName, VendorName};

/// `before` and `after` hooks.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Hooks {
    /// Run before the command; a failure aborts it.
    pub before: Vec<CommandSpec>,
    /// Run after the command.
    pub after: Vec<CommandSpec>,
}

impl Hooks {
    /// Whether there is nothing to run.
    pub fn is_empty(&self) -> bool {
        self.before.is_empty() && self.after.is_empty()
    }
}

/// Log file settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogSettings {
    /// Size above which a running replica's log is rotated.
    pub max_size: u64,
    /// Rotated files kept (`.log.1` … `.log.N`).
    pub keep: u32,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            max_size: 100 * 1024 * 1024,
            keep: 5,
        }
    }
}

/// A whole project, resolved for one command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectSpec {
    /// Its name (used for container, network and volume names).
    pub name: ProjectName,
    /// The folder holding orchestra.yml.
    pub root: PathBuf,
    /// The orchestra.yml file.
    pub file: PathBuf,
    /// The `.orchestra` folder.
    pub state_dir: PathBuf,
    /// Project-wide env (env_file, global env, the command's section env) and every
    /// vendor's address, for hooks and the project's own tests.
    pub env: Env,
    /// Hooks of the command being run: global ones first, then the command's.
    pub hooks: Hooks,
    /// Services by name.
    pub services: BTreeMap<ServiceName, ServiceSpec>,
    /// Vendors by name.
    pub vendors: BTreeMap<VendorName, VendorSpec>,
    /// Log settings.
    pub logs: LogSettings,
    /// Project-wide acceptance command.
    pub acceptance: Option<CommandSpec>,
}

impl ProjectSpec {
    /// A project in `root` (its `orchestra.yml` there, its state in `root/.orchestra`) with
    /// no services, vendors, env or hooks yet.
    pub fn empty(name: ProjectName, root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        Self {
            name,
            file: root.join("orchestra.yml"),
            state_dir: root.join(".orchestra"),
            root,
            env: Env::new(),
            hooks: Hooks::default(),
            services: BTreeMap::new(),
            vendors: BTreeMap::new(),
            logs: LogSettings::default(),
            acceptance: None,
        }
    }
}
