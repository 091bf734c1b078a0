//! Talking to the project's daemon: connect (starting it when needed), send one request,
//! read the stream of events until `done`.

use std::path::Path;
use std::time::{Duration, Instant};

use orchestra_core::StateDir;
use orchestra_core::protocol::{Event, Failure, Request};
use orchestra_supervisor::unix::identity::start_time_and_state;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

use crate::error::CliError;

/// How long a freshly spawned daemon may take to answer on its socket.
const SPAWN_DEADLINE: Duration = Duration::from_secs(10);

/// A connection to the daemon.
pub struct Client {
    stream: BufReader<UnixStream>,
}

/// The end of a request: whether it succeeded, and what failed.
#[derive(Debug, Default)]
pub struct Reply {
    /// Everything asked for succeeded.
    pub ok: bool,
    /// What failed, with log tails.
    pub failures: Vec<Failure>,
}

impl Client {
    /// Connects to a running daemon, or returns `None` when none answers.
    pub async fn connect(state: &StateDir) -> Option<Self> {
        let stream = connect_live(&state.socket()).await?;
        Some(Self {
            stream: BufReader::new(stream),
        })
    }

    /// Connects to the daemon, starting one first if none answers. Two clients racing here
    /// both spawn a daemon, but only one wins the lock; the other exits at once and both
    /// clients reach the winner.
    pub async fn connect_or_spawn(state: &StateDir) -> Result<Self, CliError> {
        if let Some(client) = Self::connect(state).await {
            return Ok(client);
        }
        state
            .create()
            .map_err(CliError::io(format!("creating {}", state.root().display())))?;
        spawn_daemon(state)?;
        let deadline = Instant::now() + SPAWN_DEADLINE;
        let mut pause = Duration::from_millis(2);
        loop {
            if let Some(client) = Self::connect(state).await {
                return Ok(client);
            }
            if Instant::now() >= deadline {
                return Err(CliError::Failed(format!(
                    "the orchestra daemon did not answer on {} within {}s; see {}",
                    state.socket().display(),
                    SPAWN_DEADLINE.as_secs(),
                    state.daemon_log().display()
                )));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    /// Sends `request` and hands every event to `on_event` until the daemon says `done`.
    pub async fn request(
        self,
        request: &Request,
        on_event: impl FnMut(&Event),
    ) -> Result<Reply, CliError> {
        self.request_unless(request, on_event, std::future::pending())
            .await
    }

    /// [`Client::request`], giving the request up when `cancel` completes: this side of the
    /// connection is closed, which the daemon takes as the client hanging up (a start is
    /// then cancelled), and the events that follow are still read until `done`.
    pub async fn request_unless(
        mut self,
        request: &Request,
        mut on_event: impl FnMut(&Event),
        cancel: impl Future<Output = ()>,
    ) -> Result<Reply, CliError> {
        let mut line = serde_json::to_string(request)
            .map_err(|e| CliError::Failed(format!("cannot encode the request: {e}")))?;
        line.push('\n');
        // Not `CliError::Io`: a broken pipe here is a lost daemon, not a closed stdout.
        let lost = |e: std::io::Error| {
            CliError::Failed(format!(
                "lost the connection to the orchestra daemon ({e}); see .orchestra/daemon.log"
            ))
        };
        // A daemon that refuses the request may close before reading it: its answer is
        // still there to read, so a failed write is reported only if nothing came back.
        let sent = self.stream.get_mut().write_all(line.as_bytes()).await;
        let (read, mut write) = self.stream.into_inner().into_split();
        // `next_line` is cancel-safe: no event is lost to the cancel branch.
        let mut lines = BufReader::new(read).lines();
        let mut cancel = std::pin::pin!(cancel);
        let mut cancelled = false;
        loop {
            let read = tokio::select! {
                read = lines.next_line() => read,
                () = &mut cancel, if !cancelled => {
                    cancelled = true;
                    let _ = write.shutdown().await;
                    continue;
                }
            };
            let buf = match read {
                Ok(Some(line)) => line,
                Ok(None) => {
                    if let Err(e) = sent {
                        return Err(lost(e));
                    }
                    return Err(CliError::Failed(
                        "the orchestra daemon closed the connection before finishing; see .orchestra/daemon.log".into(),
                    ));
                }
                Err(e) => return Err(lost(sent.err().unwrap_or(e))),
            };
            let event: Event = serde_json::from_str(buf.trim_end()).map_err(|e| {
                CliError::Failed(format!(
                    "the orchestra daemon sent an unreadable event: {e}"
                ))
            })?;
            match event {
                Event::Done { ok, failures } => return Ok(Reply { ok, failures }),
                Event::Error { message } => return Err(CliError::Failed(message)),
                Event::Refused { message, help } => {
                    return Err(CliError::Usage { message, help });
                }
                other => on_event(&other),
            }
        }
    }
}

/// Connects to the daemon listening on `socket`, unless it is dying.
///
/// A daemon killed a moment ago can still hold its socket while its last threads exit
/// (closing an inotify watch can take tens of milliseconds): connections are accepted and
/// then reset. Its main thread is a zombie by then, and such a daemon counts as none.
pub async fn connect_live(socket: &Path) -> Option<UnixStream> {
    let stream = UnixStream::connect(socket).await.ok()?;
    let exiting = stream
        .peer_cred()
        .ok()
        .and_then(|cred| cred.pid())
        .is_some_and(is_exiting);
    (!exiting).then_some(stream)
}

/// Whether `pid` has ended or is ending (its main thread a zombie).
fn is_exiting(pid: i32) -> bool {
    start_time_and_state(pid).is_none_or(|(_, state)| matches!(state, 'Z' | 'X'))
}

/// Starts `orchestra daemon` detached (see [`super::startup::spawn_detached`]): its own
/// session, no stdin, output to daemon.log.
fn spawn_daemon(state: &StateDir) -> Result<(), CliError> {
    let exe = std::env::current_exe().map_err(CliError::io("finding the orchestra binary"))?;
    let log = orchestra_core::paths::open_append(&state.daemon_log()).map_err(CliError::io(
        format!("opening {}", state.daemon_log().display()),
    ))?;
    super::startup::spawn_detached(&exe, state.root(), log)
        .map_err(CliError::io("starting the orchestra daemon"))
}
