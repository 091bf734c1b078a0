//! Resolution: a loaded [`Project`] turned into the [`ProjectSpec`] of one command, with
//! environments merged and interpolated, defaults filled and ports checked.
//!
//! One file per part: the [services](service), the [vendors](vendor), and the variables
//! [left for each replica](per_replica) to fill.

use std::collections::BTreeMap;

use orchestra_core::ProjectName;
use orchestra_core::StateDir;
use orchestra_core::address::Addressing;
use orchestra_core::name::VendorName;
use orchestra_core::spec::{Env, Hooks, ProjectSpec, ServiceSpec, VendorSpec};

use crate::error::ConfigError;
use crate::ports::PortClaims;
use crate::project::{LoadedService, Project};
use crate::read::merge_env;

mod per_replica;
mod service;
mod vendor;

/// The command being run, which picks its section of orchestra.yml (env and hooks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    /// `orchestra start`.
    Start,
    /// `orchestra stop`.
    Stop,
    /// `orchestra restart`.
    Restart,
    /// `orchestra ps`.
    Ps,
    /// `orchestra logs`.
    Logs,
    /// `orchestra test`.
    Test,
    /// `orchestra export`.
    Export,
    /// `orchestra vendors`.
    Vendors,
    /// `orchestra config` (no section).
    Config,
    /// `orchestra init` (no section).
    Init,
    /// `orchestra scale` (no section).
    Scale,
}

impl Section {
    /// The key of this command's section in orchestra.yml, if it has one.
    pub fn key(self) -> Option<&'static str> {
        Some(match self {
            Self::Start => "start",
            Self::Stop => "stop",
            Self::Restart => "restart",
            Self::Ps => "ps",
            Self::Logs => "logs",
            Self::Test => "test",
            Self::Export => "export",
            Self::Vendors => "vendors",
            Self::Config | Self::Init | Self::Scale => return None,
        })
    }
}
impl Project {
    /// The project as the command `section` sees it, interpolating from Orchestra's own
    /// environment where the configuration does not set a variable.
    pub fn resolve(&self, section: Section) -> Result<ProjectSpec, ConfigError> {
        self.resolve_with(section, &|k| std::env::var(k).ok())
    }

    /// [`Project::resolve`] with `lookup` standing for Orchestra's environment.
    pub fn resolve_with(
        &self,
        section: Section,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ProjectSpec, ConfigError> {
        self.resolve_for(section, Addressing::Host, lookup)
    }

    /// [`Project::resolve_with`] for a fleet that runs where `addressing` says: the address
    /// variables of each service's dependencies (`USERS_ADDR`), and every env value built
    /// from them, name the dependency as seen from there.
    pub fn resolve_for(
        &self,
        section: Section,
        addressing: Addressing,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ProjectSpec, ConfigError> {
        let mut problems = Vec::new();
        let raw_section = section.key().and_then(|k| self.raw.sections.get(k));
        let mut env = Env::new();
        merge_env(&mut env, &self.env_file, lookup, &mut problems);
        merge_env(&mut env, &self.raw.env, lookup, &mut problems);
        let mut hooks = Hooks {
            before: self.raw.global.before.clone(),
            after: self.raw.global.after.clone(),
        };
        if let Some(s) = raw_section {
            merge_env(&mut env, &s.env, lookup, &mut problems);
            hooks.before.extend(s.before.iter().cloned());
            hooks.after.extend(s.after.iter().cloned());
        }
        let state_dir = StateDir::for_project(&self.root);
        let project_lookup = |k: &str| env.get(k).cloned().or_else(|| lookup(k));
        let mut claims = PortClaims::default();
        let mut vendors = BTreeMap::new();
        for v in &self.raw.vendors {
            let spec = self.vendor(v, &project_lookup, &mut claims, &mut problems);
            vendors.insert(spec.name.clone(), spec);
        }
        let name = self.raw.name.as_ref().map_or_else(
            || {
                let folder = self
                    .root
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned());
                ProjectName::sanitize(folder.as_deref().unwrap_or("project"))
            },
            |n| n.value.clone(),
        );
        let mut services = BTreeMap::new();
        // Dependencies first, so that a service's address variables can name the port of
        // each service it depends on (validation refused cycles).
        for s in dependency_order(&self.services) {
            let addresses = Addresses {
                addressing,
                project: &name,
                vendors: &vendors,
                services: &services,
            };
            let spec = service::service(
                s,
                &env,
                &addresses,
                &state_dir,
                lookup,
                &mut claims,
                &mut problems,
            );
            if let Some(spec) = spec {
                services.insert(spec.name.clone(), spec);
            }
        }
        if !problems.is_empty() {
            return Err(ConfigError::new(problems));
        }
        // Hooks and the project's own tests may reach any vendor; a service only those it
        // depends on (added in `service`).
        env.extend(vendors.values().flat_map(|v| v.address_env(false)));
        Ok(ProjectSpec {
            name,
            root: self.root.clone(),
            file: self.file.clone(),
            state_dir: state_dir.root().to_path_buf(),
            env,
            hooks,
            services,
            vendors,
            logs: self.raw.logs,
            acceptance: self.raw.acceptance.clone(),
        })
    }
}

/// What a service's address variables are made from: the vendors and the services resolved
/// so far, and where the fleet runs.
struct Addresses<'a> {
    addressing: Addressing,
    project: &'a ProjectName,
    vendors: &'a BTreeMap<VendorName, VendorSpec>,
    services: &'a BTreeMap<orchestra_core::ServiceName, ServiceSpec>,
}

impl Addresses<'_> {
    /// The address variables of dependency `name`, when it is a vendor or a service
    /// resolved already.
    fn of(&self, name: &str) -> Env {
        if let Some(v) = self.vendors.values().find(|v| v.name.as_str() == name) {
            return self.addressing.vendor(v);
        }
        self.services
            .values()
            .find(|s| s.name.as_str() == name)
            .map(|s| self.addressing.service(self.project, &s.name, s.port))
            .unwrap_or_default()
    }
}

/// The services with every service before those that depend on it, in their configured
/// order otherwise; services caught in a cycle come last, as they are.
fn dependency_order(services: &[LoadedService]) -> Vec<&LoadedService> {
    let mut placed: Vec<&LoadedService> = Vec::with_capacity(services.len());
    let mut waiting: Vec<&LoadedService> = services.iter().collect();
    while !waiting.is_empty() {
        let before = waiting.len();
        waiting.retain(|s| {
            let ready = s.raw.depends_on.iter().flatten().all(|d| {
                placed.iter().any(|p| p.name.as_str() == d.value)
                    || !services.iter().any(|o| o.name.as_str() == d.value)
            });
            if ready {
                placed.push(s);
            }
            !ready
        });
        if waiting.len() == before {
            placed.append(&mut waiting);
        }
    }
    placed
}
