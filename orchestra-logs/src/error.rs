//! The crate's error type.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong reading, following, rotating or querying log files.
#[derive(Debug, thiserror::Error)]
pub enum LogsError {
    /// A file or folder could not be read, written, renamed or locked.
    #[error("cannot {action} `{}`", path.display())]
    Io {
        /// What was being done, as a verb phrase (`read`, `rename`, `lock`…).
        action: &'static str,
        /// The file or folder concerned.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: io::Error,
    },
    /// The logs folder could not be watched for changes.
    #[error("cannot watch `{}` for new log lines", path.display())]
    Watch {
        /// The folder that was to be watched.
        path: PathBuf,
        /// The watcher's reason.
        #[source]
        source: notify::Error,
    },
    /// A `--grep` pattern is not a valid regular expression.
    #[error("invalid --grep pattern `{pattern}`")]
    Grep {
        /// The pattern as given.
        pattern: String,
        /// The regex parser's reason.
        #[source]
        source: Box<regex::Error>,
    },
    /// A `--since` value is neither a duration nor a time.
    #[error(
        "invalid --since value `{0}`: expected a duration (`10m`, `1h30m`) or a time \
         (`2026-11-26T10:00:00Z`, `2026-11-26T10:00:00`, `10:00`)"
    )]
    Since(String),
}

impl LogsError {
    /// Wraps an I/O error with what was being done and to which path.
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// The crate's result type.
pub type Result<T, E = LogsError> = std::result::Result<T, E>;
