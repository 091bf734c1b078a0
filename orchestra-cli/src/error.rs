//! The one error type of the command line, and how it maps to exit codes.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use orchestra_core::exit;

use crate::daemon::peer::Unresponsive;

/// Exit code of `exec` when its command is not found, as a shell reports it.
const NOT_FOUND: u8 = 127;
/// Exit code of `exec` when its command is found but cannot be run.
const NOT_EXECUTABLE: u8 = 126;

/// Why a command did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The configuration is wrong: nothing was started. Exit 2.
    #[error(transparent)]
    Config(#[from] orchestra_config::ConfigError),
    /// The service selection on the command line is wrong. Exit 2.
    #[error(transparent)]
    Select(#[from] orchestra_config::SelectError),
    /// Bad usage that clap could not catch. Exit 2.
    #[error("{message}")]
    Usage {
        /// What is wrong.
        message: String,
        /// How to fix it.
        help: Option<String>,
    },
    /// Units of a request failed; each was reported above with its reason. Exit 1.
    #[error("{}", not_done(verb, units))]
    NotDone {
        /// What did not happen: "started", "stopped", "up"…
        verb: &'static str,
        /// The services and vendors that failed, each once.
        units: Vec<String>,
    },
    /// The engine reported a unit that could not be stopped or started. Exit 1.
    #[error("{unit}: {reason}")]
    Unit {
        /// The service, replica or vendor.
        unit: String,
        /// The engine's reason.
        reason: String,
    },
    /// Talking to the daemon failed. Exit 1.
    #[error(transparent)]
    Daemon(#[from] DaemonError),
    /// A hook failed. Exit 1.
    #[error(transparent)]
    Hook(#[from] HookError),
    /// Tests failed. Exit 1.
    #[error("tests failed: {}", .0.join(", "))]
    TestsFailed(Vec<String>),
    /// The Docker side of vendors or of a `--docker` fleet failed. Exit 1.
    #[error("{action}")]
    Vendor {
        /// What was being done.
        action: &'static str,
        /// Why, with the engine's own reason as its cause.
        #[source]
        source: orchestra_vendors::VendorError,
    },
    /// `export --build-images` could not build an image. Exit 1.
    #[error(transparent)]
    ExportImages(#[from] orchestra_vendors::backend::export::BuildError),
    /// Stopping the fleet's processes failed. Exit 1.
    #[error("{action}")]
    Supervisor {
        /// What was being done.
        action: &'static str,
        /// Why.
        #[source]
        source: orchestra_supervisor::SupervisorError,
    },
    /// Reading the log files failed. Exit 1.
    #[error("{action}")]
    Logs {
        /// What was being done.
        action: &'static str,
        /// Why.
        #[source]
        source: orchestra_logs::LogsError,
    },
    /// Something could not be written as JSON or YAML. Exit 1.
    #[error("cannot encode {what}")]
    Encode {
        /// What.
        what: &'static str,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A thread or task of this command ended without an answer (it panicked). Exit 1.
    #[error("{0} ended unexpectedly")]
    Lost(&'static str),
    /// Ctrl-C gave the command up; the message says what was left how. Exit 130.
    #[error("{0}")]
    Interrupted(String),
    /// `test --affected` could not tell what changed. Exit 2.
    #[error(transparent)]
    Affected(#[from] crate::commands::affected::AffectedError),
    /// The outcome was already told (by the command of `orchestra exec`, or by `why`'s
    /// explanation): only this exit code is left to pass on.
    #[error("the command exited with code {0}")]
    Exited(u8),
    /// The command of `orchestra exec` could not be run. Exit 127 when it is not found, 126
    /// otherwise, as a shell says.
    #[error("cannot run `{program}`")]
    Exec {
        /// The program as given.
        program: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An I/O error talking to the system. Exit 1.
    #[error("{context}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl CliError {
    /// A usage error with a help line.
    pub fn usage(message: impl Into<String>, help: impl Into<String>) -> Self {
        Self::Usage {
            message: message.into(),
            help: Some(help.into()),
        }
    }

    /// Wraps a vendor error with what was being done.
    pub fn vendor(action: &'static str) -> impl Fn(orchestra_vendors::VendorError) -> Self + Copy {
        move |source| Self::Vendor { action, source }
    }

    /// Wraps a log error with what was being done.
    pub fn logs(action: &'static str) -> impl Fn(orchestra_logs::LogsError) -> Self + Copy {
        move |source| Self::Logs { action, source }
    }

    /// Wraps an encoding error with what was being encoded.
    pub fn encode<E: std::error::Error + Send + Sync + 'static>(
        what: &'static str,
    ) -> impl Fn(E) -> Self + Copy {
        move |source| Self::Encode {
            what,
            source: Box::new(source),
        }
    }

    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let context = context.into();
        move |source| Self::Io { context, source }
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            Self::Config(_) | Self::Select(_) | Self::Usage { .. } | Self::Affected(_) => {
                exit::USAGE
            }
            Self::NotDone { .. }
            | Self::Unit { .. }
            | Self::Daemon(_)
            | Self::Hook(_)
            | Self::TestsFailed(_)
            | Self::Vendor { .. }
            | Self::ExportImages(_)
            | Self::Supervisor { .. }
            | Self::Logs { .. }
            | Self::Encode { .. }
            | Self::Lost(_)
            | Self::Io { .. } => exit::FAILURE,
            Self::Interrupted(_) => exit::INTERRUPTED,
            Self::Exited(code) => *code,
            Self::Exec { source, .. } if source.kind() == std::io::ErrorKind::NotFound => NOT_FOUND,
            Self::Exec { .. } => NOT_EXECUTABLE,
        })
    }

    /// Prints the error to stderr: diagnostics as miette reports, the rest with its causes.
    pub fn report(self, color: bool) {
        let handler = if color {
            miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode())
        } else {
            miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        };
        let mut out = String::new();
        let rendered = match &self {
            Self::Config(e) => handler.render_report(&mut out, e),
            Self::Select(e) => handler.render_report(&mut out, e),
            _ => Err(std::fmt::Error),
        };
        if rendered.is_ok() {
            eprint!("{out}");
            return;
        }
        if let Self::Interrupted(message) = &self {
            // Asked for, so no `error:`.
            eprintln!("{message}");
            return;
        }
        eprintln!("error: {}", error_chain(&self));
        if let Self::Usage {
            help: Some(help), ..
        } = self
        {
            eprintln!("help: {help}");
        }
    }
}

pub(crate) use orchestra_core::chain::error_chain;

fn not_done(verb: &str, units: &[String]) -> String {
    if units.is_empty() {
        format!("the fleet was not {verb}")
    } else {
        format!("not {verb}: {}", units.join(", "))
    }
}

/// Talking to the daemon went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DaemonError {
    /// A spawned daemon never answered.
    #[error(
        "the orchestra daemon did not answer on {} within {}s; see {}",
        socket.display(),
        waited.as_secs(),
        log.display()
    )]
    NoAnswer {
        /// Its socket.
        socket: PathBuf,
        /// How long it was given.
        waited: Duration,
        /// Its log file.
        log: PathBuf,
    },
    /// It stopped answering in the middle of a request.
    #[error("{0}")]
    Unresponsive(Unresponsive),
    /// The connection broke.
    #[error("lost the connection to the orchestra daemon; see .orchestra/daemon.log")]
    Lost(#[source] std::io::Error),
    /// It hung up before saying it was done.
    #[error(
        "the orchestra daemon closed the connection before finishing; see .orchestra/daemon.log"
    )]
    Closed,
    /// A request could not be written.
    #[error("cannot encode the request")]
    Encode(#[source] serde_json::Error),
    /// An answer could not be read.
    #[error("the orchestra daemon sent an unreadable event")]
    Unreadable(#[source] serde_json::Error),
    /// The daemon reported an error of its own.
    #[error("{0}")]
    Said(String),
    /// The daemon speaks another protocol version: another version of orchestra started
    /// it (before an upgrade, typically).
    #[error(
        "the orchestra daemon of this project (pid {}) speaks protocol {theirs} and this orchestra protocol {}: another version of orchestra started it; {stop}",
        stop.pid,
        orchestra_core::protocol::PROTOCOL_VERSION
    )]
    OtherProtocol {
        /// The daemon's version.
        theirs: u32,
        /// How to stop it.
        stop: crate::daemon::version::StopHint,
    },
    /// Another program holds the daemon's socket.
    #[error(
        "pid {pid} listens on {} but is not an orchestra daemon of this project; it was left alone",
        socket.display()
    )]
    NotOurs {
        /// The program.
        pid: i32,
        /// The socket.
        socket: PathBuf,
    },
    /// A stuck daemon could not be killed.
    #[error("cannot kill the orchestra daemon (pid {pid})")]
    Kill {
        /// The daemon.
        pid: i32,
        /// Why.
        #[source]
        source: nix::Error,
    },
    /// A stuck daemon outlived SIGKILL.
    #[error("the orchestra daemon (pid {pid}) is still there after SIGKILL")]
    Unkillable {
        /// The daemon.
        pid: i32,
    },
    /// The daemon's lock could not be taken.
    #[error(transparent)]
    Lock(#[from] crate::daemon::lock::LockError),
}

/// A `before` or `after` hook failed.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// The hook is an empty command.
    #[error("a hook has an empty command")]
    Empty,
    /// It ran and failed.
    #[error("the {side} hook `{hook}` {how}{}", if *.before { "; the command was not run" } else { "" })]
    Failed {
        /// `before` or `after`.
        side: &'static str,
        /// The command as written.
        hook: String,
        /// `exited with code 1`, `was killed by a signal`.
        how: String,
        /// Whether it ran before the command (which then did not run).
        before: bool,
    },
}
