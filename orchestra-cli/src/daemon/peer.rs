//! Who is at the other end of `.orchestra/daemon.sock`, checked before anything is sent:
//! the state folder is trusted, the socket is a socket, and the process listening on it
//! runs as this user (SO_PEERCRED, as the daemon checks its clients). Also: telling a
//! busy daemon from a frozen one, and ending a daemon that no longer answers.

use std::fmt;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use orchestra_core::spec::ProjectSpec;
use orchestra_core::{ProcessIdentity, StateDir};
use orchestra_supervisor::unix::identity::{IdentityExt, Liveness, start_time_and_state};
use tokio::net::UnixStream;

use crate::error::{CliError, DaemonError, error_chain};

/// How long a daemon may stay silent before a client gives up on it: without having
/// acknowledged the request, or while its process is stopped (`kill -STOP`, a debugger).
pub const ANSWER_DEADLINE: Duration = Duration::from_secs(5);

/// How long a killed daemon may take to disappear.
const KILL_DEADLINE: Duration = Duration::from_secs(5);

/// The project's state folder, once it is known to be safe to read and connect to.
pub fn trusted_state(project: &ProjectSpec) -> Result<StateDir, CliError> {
    let state = StateDir::at(&project.state_dir);
    check_state(&state)?;
    Ok(state)
}

/// Refuses a state folder that is not a private folder of this user (exit 2).
pub fn check_state(state: &StateDir) -> Result<(), CliError> {
    state
        .check_trusted()
        .map_err(|e| CliError::usage(error_chain(&e), e.help()))
}

/// Refuses a socket path that holds something else than a socket (a folder, a file): the
/// daemon could never listen there, so say it now rather than wait for it.
pub fn check_socket(socket: &Path) -> Result<(), CliError> {
    let Ok(meta) = std::fs::symlink_metadata(socket) else {
        return Ok(());
    };
    let kind = meta.file_type();
    let what = if kind.is_socket() {
        return Ok(());
    } else if kind.is_dir() {
        "Is a directory"
    } else if kind.is_symlink() {
        "is a symbolic link"
    } else {
        "is a file"
    };
    Err(CliError::usage(
        format!(
            "{}: {what}, not the orchestra daemon's socket",
            socket.display()
        ),
        format!(
            "remove it (`rm -r {}`) and run the command again",
            socket.display()
        ),
    ))
}

/// The daemon process at the other end of a connection.
#[derive(Debug, Clone)]
pub struct DaemonPeer {
    /// Its pid.
    pub pid: i32,
    /// Its identity when it connected, so that it is never mistaken for a later process.
    identity: Option<ProcessIdentity>,
}

impl DaemonPeer {
    /// Checks who listens on `socket`: a process of another user is refused (exit 2)
    /// before a byte is sent to it.
    pub fn of(stream: &UnixStream, socket: &Path) -> Result<Self, CliError> {
        let cred = stream.peer_cred().map_err(CliError::io(format!(
            "asking who listens on {}",
            socket.display()
        )))?;
        let me = nix::unistd::getuid().as_raw();
        if cred.uid() != me {
            return Err(CliError::usage(
                format!(
                    "{} is served by a process of uid {} (pid {}), not by your orchestra daemon (uid {me}); nothing was sent to it",
                    socket.display(),
                    cred.uid(),
                    cred.pid().map_or_else(|| "?".into(), |p| p.to_string()),
                ),
                "another user's program listens there: stop it, remove the socket and run the command again",
            ));
        }
        let pid = cred.pid().unwrap_or(0);
        Ok(Self {
            pid,
            identity: ProcessIdentity::of(pid).ok(),
        })
    }

    /// Waits until its process has exited, up to `patience`; false when it still runs then
    /// (it took new work meanwhile, or it was never identified).
    pub async fn wait_gone(&self, patience: Duration) -> bool {
        let Some(identity) = &self.identity else {
            return false;
        };
        let deadline = Instant::now() + patience;
        let mut pause = Duration::from_millis(1);
        while identity.liveness() == Liveness::Alive {
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(50));
        }
        true
    }

    /// Whether its process is stopped (`kill -STOP`, a debugger): it cannot answer then.
    pub fn is_stopped(&self) -> bool {
        let Some(identity) = &self.identity else {
            return false;
        };
        start_time_and_state(identity.pid).is_some_and(|(start, state)| {
            start == identity.start_time && matches!(state, 'T' | 't')
        })
    }
}

/// A daemon that took the connection but does not answer.
#[derive(Debug, Clone)]
pub struct Unresponsive {
    /// The daemon.
    pub daemon: DaemonPeer,
    /// Whether its process was stopped when given up on.
    pub stopped: bool,
}

impl fmt::Display for Unresponsive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pid = self.daemon.pid;
        write!(
            f,
            "the orchestra daemon (pid {pid}) did not answer within {}s",
            ANSWER_DEADLINE.as_secs()
        )?;
        if self.stopped {
            write!(f, " (it is stopped: `kill -CONT {pid}` resumes it)")
        } else {
            f.write_str(" (it is stuck; see .orchestra/daemon.log)")
        }
    }
}

impl Unresponsive {
    /// Kills the daemon of `state` (SIGKILL reaches a stopped process too), after checking
    /// it is still the process that took the connection and an orchestra daemon of this
    /// folder, and waits until it is gone. Its replicas live on, each in its own process
    /// group, for the caller to stop from their records. Any other program listening there is left
    /// alone, and that is an error.
    pub async fn kill(&self, state: &StateDir) -> Result<(), CliError> {
        let Some(identity) = &self.daemon.identity else {
            return Ok(());
        };
        if identity.liveness() == Liveness::Alive
            && !super::rivals::is_daemon_of(identity.pid, state)
        {
            return Err(DaemonError::NotOurs {
                pid: identity.pid,
                socket: state.socket(),
            }
            .into());
        }
        if identity.liveness() == Liveness::Alive {
            match kill(Pid::from_raw(identity.pid), Signal::SIGKILL) {
                Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
                Err(source) => {
                    return Err(DaemonError::Kill {
                        pid: identity.pid,
                        source,
                    }
                    .into());
                }
            }
        }
        let deadline = Instant::now() + KILL_DEADLINE;
        while identity.liveness() == Liveness::Alive {
            if Instant::now() >= deadline {
                return Err(DaemonError::Unkillable { pid: identity.pid }.into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }
}
