//! Orchestra's configuration: finding `orchestra.yml`, reading it and every `service.yml`,
//! checking them with precise diagnostics, and resolving them into the
//! [`ProjectSpec`](orchestra_core::spec::ProjectSpec) a command runs.
//!
//! **For** any program that reads Orchestra projects: the CLI, an editor or CI check, another
//! runner. It reports every problem of every file at once, each with its file, line and fix.
//! **Not for** running anything (`orchestra-supervisor` runs the spec, `orchestra-vendors`
//! the containers) nor for writing configuration files; it never touches the `.orchestra`
//! state folder.
//!
//! The shortest use:
//! `Project::load(&discover(&Discovery::WalkUp(dir))?)?.resolve(Section::Start)?`; see the
//! example below, and `examples/validate.rs` for printing the problems as the CLI does.
//!
//! # How it works
//!
//! 1. [`discover`] finds the project file by walking up from a folder (like git), or takes
//!    the file given with `-c` / `ORCHESTRA_CONFIG`.
//! 2. [`Project::load`] reads orchestra.yml, expands its `services:` globs and reads each
//!    service.yml. Each file is parsed in two stages: YAML text into a small tree (syntax
//!    errors, tabs and repeated keys are caught here, with yaml_serde's line and column),
//!    then the tree into raw settings, key by key, against the list of valid keys of each
//!    level (unknown keys get "did you mean"). Reading goes on after a problem, so every
//!    problem of every file is reported at once. Cross-file checks follow: unique names,
//!    known dependencies, no cycles.
//! 3. [`Project::resolve`] merges environments in their order of precedence, interpolates
//!    `$VAR`s (once each; a variable set nowhere is a problem, `${VAR:-default}` a way
//!    out), gives each service the addresses of the vendors it depends on, fills Go
//!    defaults and checks that no port is claimed twice.
//!
//! Every problem is a [`miette::Diagnostic`] naming the file, with the offending key or
//! value labelled in a snippet and a hint at the fix. To find where a value sits, the file is
//! walked again by a serde seed that stops with an error at that value: yaml_serde stamps
//! errors with their position, and nothing else in its API gives one.
//!
//! # Notes on the format
//!
//! - `vendors:` is both the list of vendors and the section of `orchestra vendors`: its
//!   `env`, `before` and `after` entries are the section, every other entry a vendor.
//! - `logs:` is both the section of `orchestra logs` and the log settings (`max_size`,
//!   `keep`).
//! - `defaults:` takes any service.yml key but `name`; env maps merge, other keys are
//!   replaced by the service's own value. Its `env_file` is read relative to each service.
//! - Files above [`MAX_FILE_SIZE`] are refused rather than parsed, and so are flow
//!   collections nested more than 64 deep (the YAML scanner is quadratic in that depth).
//!
//! # Example
//!
//! ```
//! use orchestra_config::{Discovery, Project, Section, discover, select_services};
//!
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join("orchestra.yml"), "env: { LOG_LEVEL: debug }\n")?;
//! std::fs::create_dir(dir.path().join("users"))?;
//! std::fs::write(dir.path().join("users/service.yml"), "run: ./users\nport: 8080\n")?;
//!
//! let file = discover(&Discovery::WalkUp(dir.path().join("users")))?;
//! let project = Project::load(&file)?;
//! let chosen = select_services(&project.service_names(), &project.groups(), &[])?;
//! let spec = project.resolve(Section::Start)?;
//! let users = &spec.services[&chosen[0]];
//! assert_eq!(users.port, Some(8080));
//! assert_eq!(users.env["LOG_LEVEL"], "debug");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod discover;
mod dotenv;
mod error;
mod groups;
mod load;
mod nesting;
mod node;
mod ports;
mod project;
mod raw;
mod read;
mod resolve;
mod schema;
mod select;
mod source;
mod suggest;
mod validate;

pub use discover::{Discovery, PROJECT_FILE_NAMES, SERVICE_FILE_NAMES, discover, is_go_service};
pub use error::{ConfigError, Problem, SelectError};
pub use groups::Groups;
pub use project::Project;
pub use resolve::Section;
pub use schema::{project_schema, service_schema};
pub use select::{Sources, select_services, select_sources, select_vendors};
pub use source::MAX_FILE_SIZE;
