//! `orchestra daemon`: the project's supervisor process.
//!
//! One per project, guarded by the flock on `.orchestra/daemon.lock`. It listens on
//! `.orchestra/daemon.sock` (0600, and the peer's uid is checked), takes one JSON request per
//! connection and answers with a stream of JSON events. It exits when it supervises nothing;
//! SIGTERM or SIGINT stop the fleet first.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use orchestra_core::StateDir;
use orchestra_core::protocol::{Event, Progress, Request};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{Notify, mpsc, watch};

use super::dispatch::run_request;
use super::hold::{self, Hold};
use super::lock::DaemonLock;
use super::{incoming, listen, rivals, startup, version};
use crate::error::{CliError, DaemonError};
use crate::runtime::Runtime;

/// How often the daemon checks whether it still supervises anything. Slow on purpose: an
/// idle daemon should cost nothing.
const IDLE_CHECK: Duration = Duration::from_secs(1);

/// How long a daemon that finds the lock taken waits for its holder to answer or leave.
const LOCK_PATIENCE: Duration = Duration::from_secs(5);

/// Grace of the processes that escaped their replicas, when the daemon leaves.
const ORPHAN_STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Shared by the connection handlers.
struct Daemon {
    runtime: Runtime,
    state: StateDir,
    /// Requests being answered right now: the daemon never exits in the middle of one.
    in_flight: AtomicUsize,
    /// Told when a request that may have left nothing to supervise (a stop, a shutdown,
    /// vendors taken down; a stop only when no vendors are to be taken down after it) has
    /// been answered, so that the daemon leaves at once rather
    /// than at its next idle check: `stop` waits for it to be gone before it returns.
    /// Only those: a connection that merely checks the daemon answers must not make a
    /// fresh daemon leave before the request of the client that started it arrives.
    emptied: Notify,
}

/// Runs the daemon until it has nothing left to supervise.
pub async fn serve(state: StateDir) -> Result<(), CliError> {
    // Started by a client, the daemon already leads its own session; started by hand, it
    // leaves the terminal's here, so that closing it does not hang up the fleet.
    let _ = nix::unistd::setsid();
    startup::keep_only_stdio_across_exec();
    match startup::raise_descriptor_limit() {
        Ok(limit) => tracing::debug!(limit, "open descriptor limit"),
        Err(e) => tracing::warn!(error = %e, "cannot raise the open descriptor limit"),
    }
    state
        .create()
        .map_err(CliError::io(format!("creating {}", state.root().display())))?;
    let socket = state.socket();
    let lock = match DaemonLock::acquire_or_defer(&state.lock(), &socket, LOCK_PATIENCE).await {
        Ok(Some(lock)) => lock,
        Ok(None) => {
            tracing::info!("another daemon serves the project; leaving it the project");
            return Ok(());
        }
        Err(e) => return Err(DaemonError::Lock(e).into()),
    };
    if let Err(e) = orchestra_supervisor::enable_subreaper() {
        tracing::warn!(error = %e, "cannot become a child subreaper; orphaned grandchildren may escape");
    }
    // A daemon whose state folder was removed may still run this project's fleet: it
    // stops its fleet and leaves before this one serves anything.
    rivals::retire(&state).await;
    // We hold the lock, so a socket file left here belongs to a dead daemon.
    let listen_error = || CliError::io(format!("listening on {}", socket.display()));
    let mut listener = listen::bind_private(&socket).map_err(listen_error())?;
    let mut hold = Hold::new(lock, &state);
    tracing::info!(pid = std::process::id(), socket = %socket.display(), "daemon listening");

    let daemon = Arc::new(Daemon {
        runtime: Runtime::new(state.clone()),
        state: state.clone(),
        in_flight: AtomicUsize::new(0),
        emptied: Notify::new(),
    });
    let mut sigterm = signal(SignalKind::terminate()).map_err(CliError::io("handling SIGTERM"))?;
    let mut sigint = signal(SignalKind::interrupt()).map_err(CliError::io("handling SIGINT"))?;
    let mut idle_check = tokio::time::interval(IDLE_CHECK);
    idle_check.tick().await;
    let mut served_any = false;
    let mut accept_pause = listen::AcceptPause::default();

    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    accept_pause.reset();
                    served_any = true;
                    serve_connection(&daemon, stream);
                }
                // Out of descriptors (EMFILE) the failure repeats at once for as long as
                // the connection waits: pause instead of spinning on a core.
                Err(e) => accept_pause.after_failure(&e).await,
            },
            _ = sigterm.recv() => { tracing::info!("SIGTERM: stopping the fleet"); break; }
            _ = sigint.recv() => { tracing::info!("SIGINT: stopping the fleet"); break; }
            _ = idle_check.tick() => {
                if !hold.is_intact(&state) {
                    match take_back(&mut hold, &daemon).await {
                        Ok(reclaimed) => listener = reclaimed,
                        Err(lost) => {
                            tracing::warn!(error = %lost, "lost the state folder: stopping the fleet");
                            break;
                        }
                    }
                }
                if served_any && leave_if_idle(&daemon, &mut listener, &mut hold).await? {
                    return Ok(());
                }
            }
            () = daemon.emptied.notified() => {
                if leave_if_idle(&daemon, &mut listener, &mut hold).await? {
                    return Ok(());
                }
            }
        }
    }
    // Stop before removing the socket so that clients keep reaching a daemon that can
    // answer `ps` while the fleet goes down.
    daemon.runtime.shutdown(mpsc::unbounded_channel().0).await;
    // Not a socket another daemon bound in a recreated folder.
    if hold.owns_socket(&state) {
        let _ = std::fs::remove_file(&socket);
    }
    Ok(())
}

/// Leaves when nothing is supervised and no request is being answered: stops what escaped
/// the replicas and closes the socket. Clients that connected meanwhile are served and the
/// daemon stays (false), as it does when it still supervises something.
async fn leave_if_idle(
    daemon: &Arc<Daemon>,
    listener: &mut UnixListener,
    hold: &mut Hold,
) -> Result<bool, CliError> {
    if daemon.in_flight.load(Ordering::SeqCst) != 0 || !daemon.runtime.is_idle().await {
        return Ok(false);
    }
    // Leftovers of replicas that ended by themselves go with the fleet.
    let _ = orchestra_supervisor::unix::orphans::stop_orphans(
        orchestra_core::Signal::TERM,
        ORPHAN_STOP_TIMEOUT,
    )
    .await;
    let socket = daemon.state.socket();
    let queued = listen::close(listener, &socket).await;
    if queued.is_empty() {
        tracing::info!("nothing left to supervise; exiting");
        // What the stop forgot is history: the next start reads what runs, not all of it.
        orchestra_supervisor::tidy_records(&daemon.state);
        return Ok(true);
    }
    // Clients came as we were leaving: stay for them.
    *listener = listen::bind_private(&socket)
        .map_err(CliError::io(format!("listening on {}", socket.display())))?;
    hold.rebound(&daemon.state);
    for stream in queued {
        serve_connection(daemon, stream);
    }
    Ok(false)
}

/// The state folder was removed or replaced: takes it back and writes the fleet down again.
async fn take_back(hold: &mut Hold, daemon: &Daemon) -> Result<UnixListener, hold::Lost> {
    let listener = hold.reclaim(&daemon.state)?;
    hold::reopen_log(&daemon.state);
    let written = daemon.runtime.rewrite_records().await;
    tracing::warn!(
        records = written,
        "the state folder was removed or replaced; recreated it and wrote the records again"
    );
    Ok(listener)
}

/// Answers one connection on a task of its own, counted as in flight meanwhile.
fn serve_connection(daemon: &Arc<Daemon>, stream: UnixStream) {
    let daemon = Arc::clone(daemon);
    daemon.in_flight.fetch_add(1, Ordering::SeqCst);
    tokio::spawn(async move {
        let mut may_empty = false;
        if let Err(e) = handle(&daemon, stream, &mut may_empty).await {
            tracing::warn!(error = %e, "request failed");
        }
        daemon.in_flight.fetch_sub(1, Ordering::SeqCst);
        if may_empty {
            daemon.emptied.notify_one();
        }
    });
}

/// Answers the connection's request; `may_empty` is set when the request may leave the
/// daemon nothing to supervise.
async fn handle(daemon: &Daemon, stream: UnixStream, may_empty: &mut bool) -> std::io::Result<()> {
    let peer = stream.peer_cred()?;
    let me = nix::unistd::getuid().as_raw();
    if peer.uid() != me {
        tracing::warn!(
            peer_uid = peer.uid(),
            "refused a connection from another user"
        );
        // Read the request first, so the client is not cut off while it writes it.
        let mut stream = BufReader::new(stream);
        let _ = incoming::read_request(&mut stream, Duration::from_secs(1)).await;
        let mut stream = stream.into_inner();
        let refusal = Event::error(format!(
            "this orchestra daemon belongs to uid {me}; uid {} may not control it",
            peer.uid()
        ));
        return write_event(&mut stream, &refusal).await;
    }
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let line = match incoming::read_request(&mut read, incoming::REQUEST_TIMEOUT).await? {
        incoming::Incoming::Line(line) => line,
        // Only checking that a daemon answers (as a starting daemon does).
        incoming::Incoming::Closed => return Ok(()),
        incoming::Incoming::Idle => {
            tracing::info!("dropped a connection that sent no request");
            return Ok(());
        }
        incoming::Incoming::TooLong => {
            let error = Event::error(format!(
                "the request is longer than {} KiB; the daemon did not read it",
                incoming::MAX_REQUEST_BYTES / 1024
            ));
            return write_event(&mut write, &error).await;
        }
    };
    let request = match version::read_request(line.trim_ascii_end()) {
        Ok(envelope) => envelope.request,
        Err(refusal) => return write_event(&mut write, &refusal).await,
    };
    *may_empty = match request {
        Request::Stop { .. } => !daemon.runtime.vendors_follow_a_stop(),
        Request::Shutdown | Request::VendorsDown { .. } => true,
        _ => false,
    };
    // At once, before any work: the client can tell a busy daemon from a frozen one.
    write_event(&mut write, &Event::accepted()).await?;
    if request == Request::Subscribe {
        // A watcher does not keep an idle daemon alive: its stream ends when the daemon
        // leaves.
        daemon.in_flight.fetch_sub(1, Ordering::SeqCst);
        let engine = daemon.runtime.engine().await;
        let streamed = super::subscribe::stream(&engine, &mut read, &mut write).await;
        daemon.in_flight.fetch_add(1, Ordering::SeqCst);
        return streamed;
    }

    let (tx, mut rx) = mpsc::unbounded_channel::<Progress>();
    let (status_tx, status_rx) = tokio::sync::oneshot::channel();
    // A client that closes its side of the connection (Ctrl-C, or killed) gives up its
    // start; any other request runs to its end.
    let (hang_up, hung_up) = watch::channel(false);
    let work = run_request(&daemon.runtime, request, tx, status_tx, hung_up);
    tokio::pin!(work);
    // Forward progress while the request runs; a client that hung up does not stop the work.
    let mut client_gone = false;
    let final_event = loop {
        tokio::select! {
            done = &mut work => break done,
            read = incoming::discard(&mut read), if !*hang_up.borrow() => {
                if !matches!(read, Ok(n) if n > 0) {
                    hang_up.send_replace(true);
                }
            }
            Some(progress) = rx.recv() => {
                if !client_gone && write_progress(&mut write, progress, &mut rx).await.is_err() {
                    client_gone = true;
                }
            }
        }
    };
    while let Ok(progress) = rx.try_recv() {
        if !client_gone && write_progress(&mut write, progress, &mut rx).await.is_err() {
            client_gone = true;
        }
    }
    if client_gone {
        return Ok(());
    }
    if let Ok(replicas) = status_rx.await {
        if let Some(message) = crate::diagnostics::unwritable() {
            write_event(&mut write, &Event::Warning { message }).await?;
        }
        write_event(&mut write, &Event::Status { replicas }).await?;
    }
    write_event(&mut write, &final_event).await
}

/// Writes `first` and whatever progress is already queued behind it in one write: a start
/// of 200 replicas reports three steps of each, and a write (and a wake-up of the client)
/// per step cost more than the lines themselves.
async fn write_progress(
    write: &mut (impl AsyncWriteExt + Unpin),
    first: Progress,
    queued: &mut mpsc::UnboundedReceiver<Progress>,
) -> std::io::Result<()> {
    /// Lines sent at most in one write, so that a long queue still streams.
    const BATCH: usize = 256;
    let mut lines = Vec::new();
    let mut next = Some(first);
    let mut count = 0;
    while let Some(progress) = next.take() {
        serde_json::to_writer(&mut lines, &Event::Progress(progress))
            .map_err(std::io::Error::other)?;
        lines.push(b'\n');
        count += 1;
        if count < BATCH {
            next = queued.try_recv().ok();
        }
    }
    write.write_all(&lines).await?;
    write.flush().await
}

pub(super) async fn write_event(
    write: &mut (impl AsyncWriteExt + Unpin),
    event: &Event,
) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(event).map_err(std::io::Error::other)?;
    line.push(b'\n');
    write.write_all(&line).await?;
    write.flush().await
}
