//! The command line, declared with clap's derive API: the commands here, the arguments of
//! each in `fleet` (what runs, watches and looks into the fleet) and `project` (the rest).

mod fleet;
mod project;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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

pub use fleet::{ExecArgs, LogsArgs, PsArgs, ScaleArgs, StartArgs, TestArgs, WhyArgs};
pub use project::{
    CompletionsArgs, ConfigArgs, DaemonArgs, ExportArgs, ExportFormat, InitArgs, SchemaArgs, Shell,
    VendorsAction, VendorsArgs,
};

#[cfg(test)]
mod tests {
    use super::fleet::parse_scale;
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
