//! Arguments of the commands about the project rather than its running fleet: `init`,
//! `vendors`, `export`, `config`, `schema`, `completions`, `daemon`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// `init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Also write a service.yml in each detected service folder.
    #[arg(long)]
    pub services: bool,
    /// Overwrite an existing orchestra.yml (and, with --from, the service.yml files it writes).
    #[arg(long)]
    pub force: bool,
    /// Convert a docker-compose.yml or a Procfile instead of writing the template.
    #[arg(long, value_name = "FILE", conflicts_with = "services")]
    pub from: Option<PathBuf>,
}

/// `vendors`.
#[derive(Debug, Args)]
pub struct VendorsArgs {
    /// What to do with the vendors.
    #[arg(value_enum, default_value_t = VendorsAction::Ps)]
    pub action: VendorsAction,
    /// Vendors to act on (all when none).
    #[arg(value_name = "VENDOR")]
    pub vendors: Vec<String>,
    /// With `down`: also remove the named volumes.
    #[arg(long)]
    pub volumes: bool,
    /// With `logs`: keep following new lines.
    #[arg(short, long)]
    pub follow: bool,
    /// With `logs`: lines of history per vendor, the last N (0 for none; all when not given).
    #[arg(short = 'n', long = "lines", value_name = "N")]
    pub lines: Option<usize>,
    /// With `logs`: show when each line was written.
    #[arg(short, long)]
    pub timestamps: bool,
}

/// The `vendors` sub-actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VendorsAction {
    /// Create and start the vendor containers (idempotent).
    Up,
    /// Stop and remove them.
    Down,
    /// Show their state.
    Ps,
    /// Show their logs.
    Logs,
}

/// `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The service whose environment to print (the project's when none); `--format env` only.
    #[arg(value_name = "SERVICE")]
    pub service: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Env)]
    pub format: ExportFormat,
    /// Write to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Build the images the export names first, with the builder `start --docker` uses.
    #[arg(long)]
    pub build_images: bool,
    /// The Kubernetes namespace (the project's name when not given).
    #[arg(long, value_name = "NAME")]
    pub namespace: Option<String>,
}

/// Formats of `export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// `export KEY='value'` lines for `eval`.
    Env,
    /// A docker compose file.
    Compose,
    /// Kubernetes manifests.
    Kubernetes,
}

/// `config`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Print JSON instead of YAML.
    #[arg(long)]
    pub json: bool,
}

/// `schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// The schema of service.yml instead of orchestra.yml.
    #[arg(long)]
    pub service: bool,
    /// Write both schemas into the project's .orchestra/ folder instead of printing one.
    #[arg(long, conflicts_with = "service")]
    pub write: bool,
}

/// `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Shells with completion scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    /// GNU bash.
    Bash,
    /// Z shell.
    Zsh,
    /// fish.
    Fish,
}

/// `daemon`.
#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// The project's state folder.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}
