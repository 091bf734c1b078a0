//! Process hygiene: copies of a service running outside Orchestra ("strays"), and who holds
//! a port.
//!
//! Before a service starts, [`find_strays`] looks for processes that run it behind
//! Orchestra's back — someone's `go run .` in the service folder, a binary started by hand, a
//! replica left by a crashed tool — and [`stop_strays`] stops them with the same ladder as
//! `stop`, so the fleet is exactly what Orchestra says it is. [`port_holder`] names the
//! process listening on a port a replica needs ([`port_holders`] for many ports at once);
//! [`ports_held_under`] lists the listeners started from inside the project that the fleet
//! does not own.
//!
//! # How it works
//!
//! - One pass over `/proc` serves every service: each process's working directory and
//!   executable (two `readlink`s) are looked up, folder by folder upwards, in a map of the
//!   services' folders, so most processes cost nothing more. Only those located in a service
//!   folder (or running a service's built binary) have their command line read and matched.
//! - A process is a stray of a service when it is located there *and* runs the service:
//!   its built binary (also when that file was since deleted or replaced), `go run`, the
//!   temporary `go-build…/exe/…` binary `go run` spawns, or the program of the service's
//!   `run` command (for a string command, also its `sh -c` wrapper). The cwd alone never
//!   matches: a shell, an editor or `sleep` in the folder is left alone.
//! - Never a stray: this process and its ancestors, the fleet's processes and their
//!   descendants, other users' processes, zombies and kernel threads.
//! - Stopping signals the stray, its descendants and — when it leads it, or its leader is a
//!   stray of the same service (`go run` and its child) — its process group, re-checking
//!   each pid's start time before every signal; SIGKILL follows after the timeout.
//! - Ports come from `/proc/net/tcp` and `/proc/net/tcp6`: the inodes of LISTEN sockets,
//!   found again among the processes' open file descriptors.
//!
//! # Example
//!
//! ```no_run
//! use std::collections::HashSet;
//! use std::time::Duration;
//!
//! use orchestra_core::Signal;
//! use orchestra_core::spec::ProjectSpec;
//! use orchestra_supervisor::strays::{find_strays, port_holder, stop_strays};
//!
//! # async fn demo(project: &ProjectSpec) {
//! let services: Vec<_> = project.services.keys().cloned().collect();
//! let strays = find_strays(project, &services, &HashSet::new());
//! for stray in &strays {
//!     println!("pid {} {}: {}", stray.pid, stray.reason, stray.cmdline);
//! }
//! stop_strays(&strays, Signal::TERM, Duration::from_secs(5)).await;
//! if let Some(holder) = port_holder(8080) {
//!     eprintln!("{holder}"); // port 8080 is held by pid 4242: python3 -m http.server 8080
//! }
//! # }
//! ```

mod matcher;
pub(crate) mod ports;
pub(crate) mod proc;
mod scan;
mod stop;
mod words;

use std::fmt;
use std::path::PathBuf;

use orchestra_core::{ProcessIdentity, ServiceName};

pub use ports::{PortHolder, port_holder, port_holders, ports_held_under};
pub use scan::find_strays;
pub use stop::{StrayOutcome, StrayStopped, stop_strays};

/// A process running a service outside Orchestra.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stray {
    /// Its pid.
    pub pid: i32,
    /// Its identity when found: nothing is signalled unless it still matches.
    pub identity: ProcessIdentity,
    /// Its command line, arguments joined by spaces.
    pub cmdline: String,
    /// Its working directory.
    pub cwd: PathBuf,
    /// The service it runs.
    pub service: ServiceName,
    /// How it was recognised.
    pub reason: StrayReason,
}

/// How a process was recognised as running a service. Paths are shown relative to the
/// project root when they are inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StrayReason {
    /// It runs the service's built binary (`.orchestra/bin/<name>`), or, for a Go service,
    /// a binary that lives in the service folder (`go build` there, then `./users`).
    BuiltBinary {
        /// The binary.
        binary: PathBuf,
    },
    /// It is `go run` with its working directory in the service folder.
    GoRun {
        /// The service folder.
        dir: PathBuf,
    },
    /// It is the temporary binary `go run` builds and spawns (`…/go-build…/exe/…`).
    GoBuildTemp,
    /// It runs the program of the service's `run` command, or `sh -c` of the command.
    RunCommand {
        /// The program as written in `run` (its first word).
        program: String,
        /// The service, for the message.
        service: ServiceName,
    },
}

impl fmt::Display for StrayReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BuiltBinary { binary } => {
                write!(f, "runs the built binary {}", binary.display())
            }
            Self::GoRun { dir } => write!(f, "`go run` in {}", dir.display()),
            Self::GoBuildTemp => f.write_str("the temporary binary `go run` built"),
            Self::RunCommand { program, service } => {
                write!(f, "runs `{program}` of {service}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_read_well() {
        let users = ServiceName::new("users").unwrap();
        let shown = [
            StrayReason::BuiltBinary {
                binary: ".orchestra/bin/users".into(),
            },
            StrayReason::GoRun {
                dir: "users/".into(),
            },
            StrayReason::GoBuildTemp,
            StrayReason::RunCommand {
                program: "./start.sh".into(),
                service: users,
            },
        ]
        .map(|r| r.to_string());
        assert_eq!(
            shown,
            [
                "runs the built binary .orchestra/bin/users",
                "`go run` in users/",
                "the temporary binary `go run` built",
                "runs `./start.sh` of users",
            ]
        );
    }
}
