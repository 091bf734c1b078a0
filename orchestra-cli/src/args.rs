//! The command line, declared with clap's derive API.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The heading of the options every command takes, shown after the command's own so that
/// `orchestra start --help` opens with what is particular to `start`.
const GLOBAL: &str = "Global options";

/// Runs a fleet of services on your machine from one place.
#[derive(Debug, Parser)]
#[command(
    name = "orchestra",
    version,
    about = "Build, run, watch, test and stop a fleet of services from one place",
    long_about = "Orchestra finds the services of a project (each folder with a service.yml), builds \
them, starts them in dependency order with the containers they need, checks their health, \
restarts them when they crash, gathers their logs into one stream and stops them completely.\n\n\
The project is the folder holding orchestra.yml, found by walking up from the current folder.",
    after_help = "Examples:\n  orchestra start            build and start every service\n  orchestra logs -f users    follow the logs of one service\n  orchestra stop             stop everything, leaving nothing behind",
    propagate_version = true
)]
pub struct Cli {
    /// Use this orchestra.yml instead of searching for one.
    #[arg(
        short = 'c',
        long = "config",
        global = true,
        env = "ORCHESTRA_CONFIG",
        value_name = "FILE",
        help_heading = GLOBAL,
        display_order = 1
    )]
    pub config: Option<PathBuf>,

    /// Change to this folder before doing anything.
    #[arg(
        short = 'C',
        long = "directory",
        global = true,
        value_name = "DIR",
        help_heading = GLOBAL,
        display_order = 2
    )]
    pub directory: Option<PathBuf>,

    /// Never print colours (also implied by NO_COLOR or output that is not a terminal).
    #[arg(long, global = true, help_heading = GLOBAL, display_order = 3)]
    pub no_color: bool,

    /// Print only errors.
    #[arg(
        short,
        long,
        global = true,
        conflicts_with = "verbose",
        help_heading = GLOBAL,
        display_order = 4
    )]
    pub quiet: bool,

    /// Print more about what happens (repeat for more); with `test`, stream test output.
    #[arg(
        short,
        long,
        global = true,
        action = clap::ArgAction::Count,
        help_heading = GLOBAL,
        display_order = 5
    )]
    pub verbose: u8,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write orchestra.yml, list the services found, and ignore .orchestra/ in git.
    #[command(
        long_about = "Write a commented orchestra.yml in the current folder, list the services \
it detects (folders with go.mod or a main package), and add .orchestra/ to .gitignore.",
        after_help = "Examples:\n  orchestra init\n  orchestra init --services    also write a service.yml in each detected folder\n  orchestra init --from docker-compose.yml\n  orchestra init --from Procfile"
    )]
    Init(InitArgs),

    /// Build and start services (and the vendors they need); return when all are ready.
    #[command(
        after_help = "Examples:\n  orchestra start\n  orchestra start users orders\n  orchestra start ~gateway          everything but the gateway\n  orchestra start --scale users=3\n  orchestra start -a                 stay attached to the logs; Ctrl-C stops"
    )]
    Start(StartArgs),

    /// Stop services gracefully, with their whole process tree.
    #[command(after_help = "Examples:\n  orchestra stop\n  orchestra stop users")]
    Stop(SelectArgs),

    /// Rebuild and restart services.
    #[command(after_help = "Examples:\n  orchestra restart users")]
    Restart(SelectArgs),

    /// Show the state of every replica and vendor.
    #[command(
        after_help = "Examples:\n  orchestra ps\n  orchestra ps --json | jq '.[] | select(.state != \"running\")'"
    )]
    Ps(PsArgs),

    /// A live view of the fleet and its logs in the terminal, with keys to restart, stop,
    /// start and scale.
    #[command(
        long_about = "A live view of the fleet in the terminal: every service replica and vendor \
with its state, health, CPU, memory, ports, restarts and the reason for its state, above the \
logs of the whole fleet or of the selection. Keys act on the selection (r restart, s stop, \
u start, +/- scale); ? lists them all; q quits and leaves the fleet running.",
        after_help = "Examples:\n  orchestra ui\n  orchestra -C ~/src/shop ui"
    )]
    Ui,

    /// Show the logs of services, from history then (with -f) live.
    #[command(
        after_help = "Examples:\n  orchestra logs -f\n  orchestra logs users -n 50 --grep ERROR\n  orchestra logs --since 10m --timestamps"
    )]
    Logs(LogsArgs),

    /// Run every selected service's tests.
    #[command(
        after_help = "Examples:\n  orchestra test\n  orchestra test users --race -v\n  orchestra test --acceptance --junit report.xml"
    )]
    Test(TestArgs),

    /// Explain why a service is in its state: its probe, its exit, its build, its port.
    #[command(
        long_about = "Explain in a few lines why a service (or vendor) is in its state, from what \
the daemon knows and what its logs say: the dependency it waits for and that dependency's probe, \
how it crashed and how often it was restarted, its build's first error, the process holding its \
port; with the last lines of its log. Exits 0 when the service is healthy, 1 otherwise.",
        after_help = "Examples:\n  orchestra why users\n  orchestra why users || orchestra logs users -n 50"
    )]
    Why(WhyArgs),

    /// Run a command with a service's environment, or inside a vendor's container.
    #[command(
        long_about = "Run CMD in the service's folder with exactly the environment its replica 0 \
gets from `start` (the merged env, PORT, the addresses of what it depends on), with the \
terminal, stdin and exit code its own; whether or not the fleet runs. For a vendor, CMD runs \
inside its container (brought up first if needed), as `docker exec -it` would run it.",
        after_help = "Examples:\n  orchestra exec users -- go run ./cmd/migrate\n  orchestra exec users -- env\n  orchestra exec postgres -- psql -U postgres\n  orchestra exec redis -- redis-cli ping"
    )]
    Exec(ExecArgs),

    /// Change the number of replicas of running services.
    #[command(after_help = "Examples:\n  orchestra scale users=3 orders=1")]
    Scale(ScaleArgs),

    /// Manage vendor containers (PostgreSQL, Redis…).
    #[command(after_help = "Examples:\n  orchestra vendors up\n  orchestra vendors down --volumes")]
    Vendors(VendorsArgs),

    /// Print a service's environment as shell `export` lines, or the fleet as a Compose file
    /// or Kubernetes manifests.
    #[command(
        after_help = "Examples:\n  eval \"$(orchestra export users)\"\n  orchestra export --format compose --build-images -o docker-compose.yml\n  orchestra export --format kubernetes | kubectl apply -f -"
    )]
    Export(ExportArgs),

    /// Print the resolved configuration.
    #[command(
        after_help = "Examples:\n  orchestra config\n  orchestra config --json | jq .services"
    )]
    Config(ConfigArgs),

    /// Print the JSON Schema of orchestra.yml (or service.yml), for editors.
    #[command(
        long_about = "Print the JSON Schema (draft 2020-12) of orchestra.yml, or of service.yml \
with --service. Editors using yaml-language-server (VS Code, Neovim) read a \
`# yaml-language-server: $schema=PATH` line: `orchestra init` writes both schemas into \
.orchestra/ and that line into the files it writes; --write writes the schemas again (after \
an upgrade, or in a fresh clone).",
        after_help = "Examples:\n  orchestra schema > orchestra.schema.json\n  orchestra schema --service\n  orchestra schema --write    refresh .orchestra/orchestra.schema.json and service.schema.json"
    )]
    Schema(SchemaArgs),

    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  orchestra completions bash > /etc/bash_completion.d/orchestra\n  orchestra completions zsh > \"${fpath[1]}/_orchestra\"\n  orchestra completions fish > ~/.config/fish/completions/orchestra.fish"
    )]
    Completions(CompletionsArgs),

    /// Run the project's supervisor (started by `start`; not for direct use).
    #[command(hide = true)]
    Daemon(DaemonArgs),

    /// List the services of the project (used by shell completions).
    #[command(hide = true, name = "__services")]
    ListServices,
}

/// Selects services: names, or `~name` to exclude. None means all.
#[derive(Debug, Clone, Args, Default)]
pub struct SelectArgs {
    /// Services to act on (all when none); `~name` excludes one.
    #[arg(
        value_name = "SERVICE",
        add = clap_complete::engine::ArgValueCompleter::new(crate::commands::completions::complete_service)
    )]
    pub services: Vec<String>,
}

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

/// `start`.
#[derive(Debug, Args)]
pub struct StartArgs {
    /// Services to start.
    #[command(flatten)]
    pub select: SelectArgs,
    /// Stay in the foreground with the aggregated logs; Ctrl-C stops the fleet.
    #[arg(short, long, conflicts_with = "logs")]
    pub attach: bool,
    /// Follow the logs once started; Ctrl-C leaves the fleet running.
    #[arg(short, long)]
    pub logs: bool,
    /// Rebuild, test (if configured) and restart a service when its files change.
    #[arg(short, long)]
    pub rerun: bool,
    /// Override a service's replica count (repeatable).
    #[arg(long, value_name = "SERVICE=N", value_parser = parse_scale)]
    pub scale: Vec<(String, u32)>,
    /// Start without building first.
    #[arg(long)]
    pub no_build: bool,
    /// Run the services in Docker containers.
    #[arg(long)]
    pub docker: bool,
    /// Refuse to start when copies of a service already run outside Orchestra, instead of
    /// stopping them.
    #[arg(long)]
    pub keep_strays: bool,
}

/// `ps`.
#[derive(Debug, Args)]
pub struct PsArgs {
    /// Services to show.
    #[command(flatten)]
    pub select: SelectArgs,
    /// Print one JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Also list copies of services running outside Orchestra.
    #[arg(long)]
    pub strays: bool,
    /// Also list ports held by processes of the project outside the fleet.
    #[arg(long)]
    pub ports: bool,
    /// Redraw every second until Ctrl-C (in place on a terminal).
    #[arg(long, short)]
    pub watch: bool,
}

/// `logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Services to show.
    #[command(flatten)]
    pub select: SelectArgs,
    /// Keep following new lines.
    #[arg(short, long)]
    pub follow: bool,
    /// Lines of history per replica and vendor: the last N (0 for none; all when not given).
    #[arg(short = 'n', long = "lines", value_name = "N")]
    pub lines: Option<usize>,
    /// Only lines written since a duration ago (10m) or a time (2026-01-31T10:00:00).
    #[arg(long, value_name = "DUR|TIME")]
    pub since: Option<String>,
    /// Only lines matching this regular expression.
    #[arg(long, value_name = "RE")]
    pub grep: Option<String>,
    /// Show when each line was written.
    #[arg(short, long)]
    pub timestamps: bool,
    /// Print one JSON object per line.
    #[arg(long)]
    pub json: bool,
}

/// `test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// Services to test.
    #[command(flatten)]
    pub select: SelectArgs,
    /// Run Go tests with the race detector.
    #[arg(long)]
    pub race: bool,
    /// Also bring the fleet up and run the acceptance tests.
    #[arg(long)]
    pub acceptance: bool,
    /// Write a JUnit XML report.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Services tested at once (default: the number of cores).
    #[arg(short = 'j', long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Only the services a change affects: files changed since the merge base with the
    /// default branch (or --since), uncommitted ones included; Go services by the packages
    /// they import.
    #[arg(long)]
    pub affected: bool,
    /// With --affected: the git revision to compare with.
    #[arg(long, value_name = "REF", requires = "affected")]
    pub since: Option<String>,
    /// With --affected: print the affected services, one a line, and test nothing.
    #[arg(long, requires = "affected")]
    pub list: bool,
}

/// `why`.
#[derive(Debug, Args)]
pub struct WhyArgs {
    /// The service (or vendor) to explain.
    #[arg(
        value_name = "SERVICE",
        add = clap_complete::engine::ArgValueCompleter::new(crate::commands::completions::complete_service)
    )]
    pub service: String,
}

/// `exec`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The service (or vendor) whose environment or container to run in.
    #[arg(
        value_name = "SERVICE",
        add = clap_complete::engine::ArgValueCompleter::new(crate::commands::completions::complete_service)
    )]
    pub target: String,
    /// The command and its arguments, after `--`.
    #[arg(
        value_name = "CMD",
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<String>,
}

/// `scale`.
#[derive(Debug, Args)]
pub struct ScaleArgs {
    /// New replica counts.
    #[arg(value_name = "SERVICE=N", required = true, value_parser = parse_scale)]
    pub scale: Vec<(String, u32)>,
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

/// Parses `users=3`.
fn parse_scale(s: &str) -> Result<(String, u32), String> {
    let (name, n) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not SERVICE=N (for example users=3)"))?;
    let n = n.parse().map_err(|_| {
        format!("`{n}` is not a replica count: use a whole number ≥ 0, as in {name}=2")
    })?;
    if name.is_empty() {
        return Err(format!("`{s}` names no service (for example users=3)"));
    }
    // The engine checks the limit too; saying it here spares a daemon the request.
    let n = orchestra_core::scale::replica_count(n).map_err(|e| format!("{name}: {e}"))?;
    Ok((name.to_owned(), n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn scale_pairs_parse() {
        assert_eq!(parse_scale("users=3"), Ok(("users".into(), 3)));
        assert!(parse_scale("users").is_err());
        assert!(parse_scale("users=-1").is_err());
        assert!(parse_scale("=2").is_err());
        assert_eq!(parse_scale("users=1000"), Ok(("users".into(), 1000)));
        assert_eq!(
            parse_scale("users=100000000"),
            Err("users: 100000000 replicas is over the limit of 1000 per service".into())
        );
    }
}
