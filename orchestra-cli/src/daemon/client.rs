//! Talking to the project's daemon: connect (starting it when needed), send one request,
//! read the stream of events until `done`.

use std::path::Path;
use std::time::{Duration, Instant};

use orchestra_core::StateDir;
use orchestra_core::protocol::{Envelope, Event, Failure, PROTOCOL_VERSION, Request};
use orchestra_supervisor::unix::identity::start_time_and_state;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

use super::peer::{self, ANSWER_DEADLINE, DaemonPeer, Unresponsive};
use super::version::StopHint;
use crate::error::{CliError, DaemonError};

/// How long a freshly spawned daemon may take to answer on its socket.
const SPAWN_DEADLINE: Duration = Duration::from_secs(10);

/// For how long after spawning a daemon the client tries its socket every
/// [`QUICK_POLL`], before backing off.
const QUICK_POLLS: Duration = Duration::from_millis(250);

/// A new daemon listens within a few milliseconds and a refused connect costs
/// microseconds: polled every 2 ms, the client lost a millisecond on average of every start
/// that began one.
const QUICK_POLL: Duration = Duration::from_micros(250);

/// A connection to the daemon.
pub struct Client {
    stream: BufReader<UnixStream>,
    daemon: DaemonPeer,
}

/// How a request ended: answered, or given up on because the daemon went silent.
#[derive(Debug)]
pub enum Answer {
    /// The daemon finished the request.
    Replied(Reply),
    /// The daemon stopped answering (see [`Unresponsive`]).
    Unresponsive(Unresponsive),
}

/// What reading the next event gave.
enum Heard {
    /// A line of this many bytes (0: the daemon closed the connection).
    Line(usize),
    /// Nothing within [`ANSWER_DEADLINE`], from a daemon that never acknowledged the
    /// request or whose process is stopped.
    Silence { stopped: bool },
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
    /// Connects to a running daemon, or returns `None` when none answers. A state folder
    /// that is not private to this user, a socket path holding something else, or a
    /// listener of another user is an error: nothing is sent there.
    pub async fn connect(state: &StateDir) -> Result<Option<Self>, CliError> {
        peer::check_state(state)?;
        let socket = state.socket();
        peer::check_socket(&socket)?;
        let Some(stream) = connect_live(&socket).await else {
            return Ok(None);
        };
        let daemon = DaemonPeer::of(&stream, &socket)?;
        Ok(Some(Self {
            stream: BufReader::new(stream),
            daemon,
        }))
    }

    /// Connects to the daemon, starting one first if none answers. Two clients racing here
    /// both spawn a daemon, but only one wins the lock; the other exits at once and both
    /// clients reach the winner.
    pub async fn connect_or_spawn(state: &StateDir) -> Result<Self, CliError> {
        if let Some(client) = Self::connect(state).await? {
            return Ok(client);
        }
        state
            .create()
            .map_err(CliError::io(format!("creating {}", state.root().display())))?;
        spawn_daemon(state)?;
        let spawned = Instant::now();
        let deadline = spawned + SPAWN_DEADLINE;
        let mut pause = QUICK_POLL;
        loop {
            if let Some(client) = Self::connect(state).await? {
                return Ok(client);
            }
            if Instant::now() >= deadline {
                return Err(DaemonError::NoAnswer {
                    socket: state.socket(),
                    waited: SPAWN_DEADLINE,
                    log: state.daemon_log(),
                }
                .into());
            }
            if pause < Duration::from_millis(1) {
                // Below the async timer's millisecond: the client has nothing else to do
                // while its daemon starts.
                std::thread::sleep(pause);
            } else {
                tokio::time::sleep(pause).await;
            }
            if spawned.elapsed() >= QUICK_POLLS {
                pause = (pause * 2).clamp(Duration::from_millis(2), Duration::from_millis(50));
            }
        }
    }

    /// The daemon at the other end.
    pub fn daemon(&self) -> &DaemonPeer {
        &self.daemon
    }

    /// Sends `request` and hands every event to `on_event` until the daemon says `done`.
    /// A daemon that stops answering is an error naming its pid.
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
        self,
        request: &Request,
        on_event: impl FnMut(&Event),
        cancel: impl Future<Output = ()>,
    ) -> Result<Reply, CliError> {
        match self.request_watched(request, on_event, cancel).await? {
            Answer::Replied(reply) => Ok(reply),
            Answer::Unresponsive(silent) => Err(DaemonError::Unresponsive(silent).into()),
        }
    }

    /// [`Client::request`], but a daemon that stops answering — one that does not
    /// acknowledge the request within [`ANSWER_DEADLINE`], or whose process is stopped
    /// that long — is handed back to the caller, who may fall back to the records.
    pub async fn request_or_silence(
        self,
        request: &Request,
        on_event: impl FnMut(&Event),
    ) -> Result<Answer, CliError> {
        self.request_watched(request, on_event, std::future::pending())
            .await
    }

    async fn request_watched(
        mut self,
        request: &Request,
        mut on_event: impl FnMut(&Event),
        cancel: impl Future<Output = ()>,
    ) -> Result<Answer, CliError> {
        let mut line =
            serde_json::to_string(&Envelope::new(request)).map_err(DaemonError::Encode)?;
        line.push('\n');
        // Not `CliError::Io`: a broken pipe here is a lost daemon, not a closed stdout.
        let lost = |e: std::io::Error| CliError::from(DaemonError::Lost(e));
        // A daemon that refuses the request may close before reading it: its answer is
        // still there to read, so a failed write is reported only if nothing came back.
        let sent = self.stream.get_mut().write_all(line.as_bytes()).await;
        let daemon = self.daemon;
        let (read, mut write) = self.stream.into_inner().into_split();
        let mut read = BufReader::new(read);
        let mut cancel = std::pin::pin!(cancel);
        let mut cancelled = false;
        let mut acknowledged = false;
        // Kept across a cancel: `next_line` leaves what it read so far here.
        let mut buf = Vec::new();
        loop {
            let heard = tokio::select! {
                heard = next_line(&mut read, &mut buf, &daemon, acknowledged) => heard,
                () = &mut cancel, if !cancelled => {
                    cancelled = true;
                    let _ = write.shutdown().await;
                    continue;
                }
            };
            let n = match heard {
                Ok(Heard::Line(n)) => n,
                Ok(Heard::Silence { stopped }) => {
                    return Ok(Answer::Unresponsive(Unresponsive { daemon, stopped }));
                }
                Err(e) => return Err(lost(sent.err().unwrap_or(e))),
            };
            if n == 0 {
                if let Err(e) = sent {
                    return Err(lost(e));
                }
                return Err(DaemonError::Closed.into());
            }
            let event: Event =
                serde_json::from_slice(buf.trim_ascii_end()).map_err(DaemonError::Unreadable)?;
            buf.clear();
            match event {
                // Hanging up on a daemon of another version gives up what it started.
                Event::Accepted { protocol } if protocol != PROTOCOL_VERSION => {
                    return Err(other_protocol(&daemon, protocol));
                }
                Event::Accepted { .. } => acknowledged = true,
                Event::Done { ok, failures } => return Ok(Answer::Replied(Reply { ok, failures })),
                // Protocol 1 did not say its version; it could not read the request either.
                Event::Error { protocol, .. } if protocol != Some(PROTOCOL_VERSION) => {
                    return Err(other_protocol(&daemon, protocol.unwrap_or(1)));
                }
                Event::Error { message, .. } => return Err(DaemonError::Said(message).into()),
                Event::Refused { message, help } => {
                    return Err(CliError::Usage { message, help });
                }
                other => on_event(&other),
            }
        }
    }
}

/// The refusal of a daemon that speaks protocol `theirs`, saying how to stop it.
fn other_protocol(daemon: &DaemonPeer, theirs: u32) -> CliError {
    DaemonError::OtherProtocol {
        theirs,
        stop: StopHint::of(daemon.pid),
    }
    .into()
}

/// Reads the next line into `buf`, watching the daemon while it is silent: it must
/// acknowledge a request within [`ANSWER_DEADLINE`], and after that may take as long as the
/// work takes (a build, a stop ladder) unless its process is stopped that long. Cancel-safe:
/// what was read stays in `buf`.
async fn next_line(
    read: &mut (impl AsyncBufRead + Unpin),
    buf: &mut Vec<u8>,
    daemon: &DaemonPeer,
    acknowledged: bool,
) -> std::io::Result<Heard> {
    /// How often a silent daemon's process is looked at.
    const LOOK: Duration = Duration::from_millis(500);
    let mut silent_since = Instant::now();
    loop {
        if let Ok(read) = tokio::time::timeout(LOOK, read.read_until(b'\n', buf)).await {
            return read.map(Heard::Line);
        }
        let stopped = daemon.is_stopped();
        if acknowledged && !stopped {
            silent_since = Instant::now();
        } else if silent_since.elapsed() >= ANSWER_DEADLINE {
            return Ok(Heard::Silence { stopped });
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
