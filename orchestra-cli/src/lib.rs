//! The `orchestra` command line.
//!
//! `main.rs` calls [`run`]; everything else lives here, one module per command under
//! [`commands`]. The CLI composes the libraries: `orchestra-config` finds and resolves the
//! project, `orchestra-supervisor` runs it, `orchestra-logs` shows its output.
//!
//! # How it works
//!
//! Arguments are parsed with clap ([`args`]); a [`context::Context`] loads the project on
//! first use; each command returns `Result<(), CliError>` and [`error::CliError`] maps the
//! outcome to the exit codes of the contract: 0 success, 1 a service, hook or test failed,
//! 2 bad usage or configuration.

pub mod args;
pub mod commands;
pub mod context;
pub mod daemon;
pub mod diagnostics;
pub mod error;
pub mod export;
pub mod hooks;
pub mod last_known;
pub mod output;
pub mod runtime;
mod table;

use std::process::ExitCode;

use clap::CommandFactory;

use crate::args::{Cli, Command};
use crate::context::Context;
use crate::error::CliError;
use crate::output::Output;

/// Runs the command line and returns the process exit code.
pub fn run() -> ExitCode {
    clap_complete::CompleteEnv::with_factory(Cli::command)
        .var(commands::completions::COMPLETE_VAR)
        .complete();

    let cli = match parse_args() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                orchestra_core::exit::USAGE
            } else {
                orchestra_core::exit::SUCCESS
            });
        }
    };
    let out = Output::new(cli.no_color, cli.quiet, cli.verbose);
    init_tracing(out);

    match dispatch(cli, out) {
        Ok(()) => ExitCode::SUCCESS,
        // `orchestra config | head` closes the pipe early: that is not an error.
        Err(CliError::Io { source, context })
            if source.kind() == std::io::ErrorKind::BrokenPipe && context.contains("stdout") =>
        {
            ExitCode::SUCCESS
        }
        // Already said (by `exec`'s command, or `why`'s explanation): only the code is left.
        Err(CliError::Exited(code)) => ExitCode::from(code),
        Err(e) => {
            let code = e.exit_code();
            e.report(out.color_err);
            code
        }
    }
}

/// Parses the command line; clap's own help and errors are uncoloured under `--no-color`
/// or NO_COLOR, like everything else Orchestra prints.
fn parse_args() -> Result<Cli, clap::Error> {
    use clap::FromArgMatches;
    let no_color = std::env::args_os().any(|a| a == "--no-color")
        || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let mut command = Cli::command();
    if no_color {
        command = command.color(clap::ColorChoice::Never);
    }
    let matches = command.try_get_matches()?;
    Cli::from_arg_matches(&matches)
}

fn dispatch(cli: Cli, out: Output) -> Result<(), CliError> {
    if let Some(dir) = &cli.directory {
        std::env::set_current_dir(dir).map_err(|e| {
            CliError::usage(
                format!("cannot change to {}: {e}", dir.display()),
                "pass an existing folder to -C",
            )
        })?;
    }
    let mut cx = Context::new(out, cli.config);
    match cli.command {
        Command::Init(args) => commands::init::run(&cx, &args),
        Command::Config(args) => commands::config::run(&mut cx, &args),
        Command::Schema(args) => commands::schema::run(&mut cx, &args),
        Command::Export(args) => block_on(commands::export::run(&mut cx, &args)),
        Command::Exec(args) => commands::exec::run(&mut cx, &args),
        Command::Why(args) => block_on(commands::why::why(&mut cx, &args)),
        Command::Completions(args) => commands::completions::run(&args),
        Command::ListServices => {
            for name in cx.project()?.service_names() {
                println!("{name}");
            }
            Ok(())
        }
        Command::Start(args) => block_on(commands::start::start(&mut cx, &args)),
        Command::Stop(args) => block_on(commands::stop::stop(&mut cx, &args)),
        Command::Restart(args) => block_on(commands::restart::restart(&mut cx, &args)),
        Command::Ps(args) => block_on(commands::ps::ps(&mut cx, &args)),
        Command::Scale(args) => block_on(commands::scale::scale(&mut cx, &args)),
        Command::Logs(args) => block_on(commands::logs::run(&mut cx, &args)),
        Command::Test(args) => block_on(commands::test::run(&mut cx, &args)),
        Command::Vendors(args) => block_on(commands::vendors::run(&mut cx, &args)),
        Command::Ui => block_on(commands::ui::run(&mut cx)),
        Command::Daemon(args) => {
            let state = match args.state_dir {
                Some(dir) => orchestra_core::StateDir::at(dir),
                None => orchestra_core::StateDir::at(
                    cx.resolve(orchestra_config::Section::Start)?.state_dir,
                ),
            };
            daemon_runtime()?.block_on(daemon::server::serve(state))
        }
    }
}

/// Runs a client command's future: one thread is plenty to wait on a socket.
pub(crate) fn block_on<T, F: std::future::Future<Output = Result<T, CliError>>>(
    future: F,
) -> Result<T, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::io("starting the async runtime"))?
        .block_on(future)
}

/// The daemon supervises many replicas at once: two workers match the machines it runs on
/// without wasting memory on idle threads.
fn daemon_runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(CliError::io("starting the async runtime"))
}

/// Diagnostics of Orchestra itself go to stderr: warnings by default, more with `-v`,
/// or exactly what `ORCHESTRA_LOG` asks for (`ORCHESTRA_LOG=orchestra_supervisor=debug`).
fn init_tracing(out: Output) {
    let default = match (out.quiet, out.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("ORCHESTRA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(diagnostics::SafeStderr)
        // A failed write is counted by the writer: never reported with a panicking eprint!.
        .log_internal_errors(false)
        .with_ansi(out.color_err)
        .without_time()
        .try_init();
}
