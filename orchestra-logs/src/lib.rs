//! Log files for Orchestra: finding them, reading their history, following them as they
//! grow and rotate, and formatting the merged stream.
//!
//! The crate knows nothing of processes: it works on a folder of line files named after
//! what wrote them (`users.0.log`, `vendor.postgres.log`, `users.build.log`).
//!
//! **For** `orchestra logs` and anything else that shows a fleet's output: history, follow,
//! merge, filter, format. **Not for** writing logs: a replica's stdout and stderr *are* its
//! file (the supervisor opens it), so nothing here sits on the write path; nor for shipping
//! logs elsewhere or parsing what they say.
//!
//! The shortest use: `read_history(&discover(dir, &Selection::all())?, 10, &Query::new())?`
//! for the last ten lines of each source, [`Follow::start`] for what comes next (the
//! example below).
//!
//! # How it works
//!
//! - [`discover`] lists the [`LogSource`]s of a logs folder for a [`Selection`].
//! - [`read_history`] reads the last lines of each source backwards from the end (rotated
//!   files included) and returns them with a [`Resume`] point.
//! - [`stream_history`] streams all of the history instead (`logs`): each source read
//!   forward in large chunks, the sources merged by time one line at a time, in constant
//!   memory however large the files; it ends with the same [`Resume`] point.
//!   [`history_end`] gives that point without reading anything (`logs -f -n 0`).
//! - [`Follow`] watches the folder with inotify and reads appended bytes on one thread in
//!   fair rounds, surviving rotations (see [`rotate`]) without losing or repeating a line;
//!   lines arrive in batches of bounded size through a bounded tokio channel, so memory
//!   stays flat however fast the files grow. With [`SkipBehind`], a source written faster
//!   than the consumer reads is skipped ahead, with a line saying how many bytes.
//! - [`LogCare`] (run by the daemon) watches the folder and keeps a sidecar `.idx` per
//!   file mapping byte offsets to times ([`IndexWriter`]), entered within milliseconds of
//!   each write; that gives history lines their time and their order across files, and
//!   makes `--since` cheap. It also rotates logs that pass their size limit. Without an
//!   index, only a file's last line has a time (its modification time). Followed lines are
//!   stamped with the moment they were read.
//! - [`Formatter`] and [`json_line`] ([`write_json_line`] to a writer) turn lines into
//!   text; [`Query`] and [`parse_since`] implement `--grep` and `--since`.
//!
//! # Example
//!
//! Tail two files: print their last line, then follow what is appended.
//!
//! ```
//! use std::io::Write;
//! use orchestra_logs::*;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join("users.0.log"), "old\nready\n")?;
//! std::fs::write(dir.path().join("vendor.postgres.log"), "listening\n")?;
//!
//! let sources = discover(dir.path(), &Selection::all())?;
//! let history = read_history(&sources, 1, &Query::new())?;
//! let mut fmt = Formatter::new(&sources, false, false);
//! let shown: Vec<String> = history.lines.iter().map(|l| fmt.format(l)).collect();
//! assert_eq!(shown, ["users    | ready", "postgres | listening"]);
//!
//! let mut follow = Follow::start(
//!     dir.path(),
//!     Selection::all(),
//!     Start::Resume(history.resume),
//!     FollowOptions::default(),
//! )?;
//! let mut log = orchestra_core::paths::open_append(&dir.path().join("users.0.log"))?;
//! writeln!(log, "request 1")?;
//! let line = follow.recv().await.expect("a line");
//! fmt.observe(&line);
//! assert_eq!(fmt.format(&line), "users    | request 1");
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

pub mod care;
mod error;
mod file;
pub mod format;
mod forward;
mod history;
pub mod index;
mod line;
mod mux;
pub mod query;
pub mod rotate;
mod source;
mod stream;
mod tail;

pub use care::{LogCare, SharedSettings};
pub use error::{LogsError, Result};
pub use format::{Formatter, json_line, write_json_line};
pub use history::{History, Resume, history_end, read_history};
pub use index::{Index, IndexEntry, IndexWriter, Timeline, index_path, line_times};
pub use line::{LogLine, MAX_LINE_BYTES};
pub use mux::{Follow, FollowOptions, SkipBehind, Start};
pub use query::{Query, parse_since};
pub use rotate::{
    DEFAULT_KEEP, RotateMethod, RotateStrategy, Rotation, rotate_if_larger, rotate_if_larger_with,
    rotate_on_start,
};
pub use source::{LogKind, LogSource, Selection, discover, rotated_path};
pub use stream::{HistoryStream, stream_history};
