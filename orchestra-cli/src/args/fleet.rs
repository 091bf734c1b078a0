//! Arguments of the commands that run, watch and look into the fleet: `start`, `ps`, `logs`,
//! `test`, `why`, `exec`, `scale`.

use std::path::PathBuf;

use clap::Args;

use super::SelectArgs;

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

/// Parses `users=3`.
pub(super) fn parse_scale(s: &str) -> Result<(String, u32), String> {
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
