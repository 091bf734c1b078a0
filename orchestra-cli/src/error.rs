//! The one error type of the command line, and how it maps to exit codes.

use std::process::ExitCode;

use orchestra_core::exit;

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
    /// The command is declared but not built yet. Exit 2.
    #[error("`orchestra {0}` is not implemented yet")]
    NotImplemented(&'static str),
    /// Something the user asked for failed (a service, a hook, a test). Exit 1.
    #[error("{0}")]
    Failed(String),
    /// Ctrl-C gave the command up; the message says what was left how. Exit 130.
    #[error("{0}")]
    Interrupted(String),
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

    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let context = context.into();
        move |source| Self::Io { context, source }
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            Self::Config(_) | Self::Select(_) | Self::Usage { .. } | Self::NotImplemented(_) => {
                exit::USAGE
            }
            Self::Failed(_) | Self::Io { .. } => exit::FAILURE,
            Self::Interrupted(_) => exit::INTERRUPTED,
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
        match self {
            Self::Usage {
                help: Some(help), ..
            } => eprintln!("help: {help}"),
            Self::NotImplemented(_) => {
                eprintln!(
                    "help: this command is planned; until then, see `orchestra --help` for what works today"
                );
            }
            _ => {}
        }
    }
}

pub(crate) use orchestra_core::chain::error_chain;
