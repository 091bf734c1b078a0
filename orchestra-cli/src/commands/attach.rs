//! `start --attach` and `start --logs`: start the fleet and stay with its output.
//!
//! Both follow the log files from the moment the request is sent, so the stream begins with
//! the first line the fleet writes. `--attach` owns the fleet's life: Ctrl-C (or SIGTERM)
//! stops every service gracefully, a second Ctrl-C kills what is left, and the exit code
//! says whether the fleet stopped cleanly; a Ctrl-C before the start is done also cancels
//! the start (its builds are killed rather than finished). `--logs` only watches: once the
//! fleet is up (a line says so) Ctrl-C detaches and the fleet keeps running; before, it
//! cancels the start as for a detached `start`.

use std::io::{BufWriter, Write};
use std::time::{Duration, Instant};

use orchestra_core::StateDir;
use orchestra_core::protocol::{Event, Request};
use orchestra_core::spec::ProjectSpec;
use orchestra_logs::{Follow, FollowOptions, Formatter, LogKind, LogLine, Selection, Start};
use tokio::signal::unix::{SignalKind, signal};

use super::fleet;
use crate::daemon::client::{Client, Reply};
use crate::error::CliError;
use crate::output::Output;

/// What Ctrl-C means: the difference between `--attach` and `--logs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CtrlC {
    /// `--attach`: Ctrl-C stops the fleet.
    StopsFleet,
    /// `--logs`: Ctrl-C leaves it running.
    LeavesFleet,
}

/// Sends `request` (a start) and streams progress and logs until Ctrl-C.
pub async fn run(
    state: &StateDir,
    request: Request,
    out: Output,
    ctrl_c: CtrlC,
) -> Result<(), CliError> {
    let io = |what: &str| CliError::io(what.to_owned());
    state.create().map_err(io("creating the state folder"))?;
    let selection = Selection::all().kinds(&[LogKind::Service, LogKind::Vendor]);
    let mut follow = Follow::start(
        &state.logs_dir(),
        selection,
        Start::End,
        FollowOptions::default(),
    )
    .map_err(CliError::logs("cannot follow the logs"))?;
    let mut formatter = Formatter::new(&[], out.color, false);
    if let Request::Start(start) = &request {
        super::logs::expect_replicas(
            &mut formatter,
            state,
            &start.project,
            &start.services,
            &start.scale,
        );
    }
    let mut interrupt = signal(SignalKind::interrupt()).map_err(io("handling Ctrl-C"))?;
    let mut terminate = signal(SignalKind::terminate()).map_err(io("handling SIGTERM"))?;

    let client = Client::connect_or_spawn(state).await?;
    let started = Instant::now();
    let (progress_tx, mut progress_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut starting: ReplyFuture<'_> = Box::pin(client.request(&request, move |event| {
        if let Event::Progress(p) = event {
            let _ = progress_tx.send(p.clone());
        }
    }));
    let project = match &request {
        Request::Start(start) => Some(start.project.as_ref().clone()),
        _ => None,
    };
    let mut start_done = false;
    let mut stopping: Option<StopFuture> = None;
    let mut interrupts = 0u32;

    loop {
        tokio::select! {
            batch = follow.recv_batch() => {
                let Some(batch) = batch else { break };
                print_batch(&batch, &mut formatter)?;
            }
            Some(p) = progress_rx.recv() => {
                if !out.quiet {
                    let _ = writeln!(std::io::stdout(), "{}", fleet::progress_line(&p, out, started));
                }
            }
            reply = &mut starting, if !start_done => {
                start_done = true;
                let reply = reply?;
                if !reply.ok {
                    for failure in &reply.failures {
                        fleet::print_failure(failure, out);
                    }
                    if ctrl_c == CtrlC::StopsFleet {
                        // A half-started fleet is worse than none: take it down again.
                        eprintln!("{}", out.yellow("start failed: stopping the fleet"));
                        stopping = Some(Box::pin(stop_fleet(state.clone(), project.clone(), out)));
                    } else {
                        return Err(CliError::NotDone {
                            verb: "started",
                            units: fleet::failed_units(&reply.failures),
                        });
                    }
                } else if ctrl_c == CtrlC::LeavesFleet && !out.quiet {
                    // From here on Ctrl-C no longer cancels anything: say so.
                    eprintln!("{}", out.dim("the fleet is up; Ctrl-C stops following its logs and leaves it running"));
                }
            }
            stopped = async { stopping.as_mut().expect("guarded").await }, if stopping.is_some() => {
                let clean = stopped?;
                print_last_words(&mut follow, &mut formatter).await?;
                return if clean && interrupts < 2 {
                    Ok(())
                } else {
                    Err(CliError::NotDone { verb: "stopped cleanly", units: Vec::new() })
                };
            }
            () = async { tokio::select! { _ = interrupt.recv() => {}, _ = terminate.recv() => {} } } => {
                interrupts += 1;
                match (ctrl_c, interrupts) {
                    // Hanging up before the start is done cancels it, as for a detached
                    // start; the supervisor finishes the cancel on its own.
                    (CtrlC::LeavesFleet, _) if !start_done => {
                        return Err(CliError::Interrupted(
                            "start cancelled: its builds are killed and what it launched is stopped; `orchestra ps` shows what runs".into(),
                        ));
                    }
                    (CtrlC::LeavesFleet, _) => return Ok(()),
                    (CtrlC::StopsFleet, 1) => {
                        eprintln!("{}", out.yellow("stopping the fleet (Ctrl-C again to kill it)"));
                        if !start_done {
                            // Hanging up cancels the start: its builds are killed at once
                            // rather than finished before the stop.
                            start_done = true;
                            starting = Box::pin(async { Ok(Reply::default()) });
                        }
                        stopping = Some(Box::pin(stop_fleet(state.clone(), project.clone(), out)));
                    }
                    (CtrlC::StopsFleet, _) => {
                        eprintln!("{}", out.red("killing the fleet"));
                        orchestra_supervisor::stop_from_records(state, &[], std::time::Duration::ZERO)
                            .await
                            .map_err(|source| CliError::Supervisor {
                                action: "cannot kill the fleet",
                                source,
                            })?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// How long the follower may stay silent before the fleet's last lines count as shown.
const LAST_WORDS_QUIET: Duration = Duration::from_millis(250);
/// The most the last lines are waited for.
const LAST_WORDS_MAX: Duration = Duration::from_secs(2);

/// Prints the lines the fleet wrote as it stopped ("got terminated, stopping") that the
/// follower has not delivered yet: its reader runs on a thread of its own and may lag
/// behind the stop on a busy machine.
async fn print_last_words(follow: &mut Follow, formatter: &mut Formatter) -> Result<(), CliError> {
    let give_up = Instant::now() + LAST_WORDS_MAX;
    while Instant::now() < give_up {
        match tokio::time::timeout(LAST_WORDS_QUIET, follow.recv_batch()).await {
            Ok(Some(batch)) => print_batch(&batch, formatter)?,
            Ok(None) | Err(_) => break,
        }
    }
    Ok(())
}

fn print_batch(batch: &[LogLine], formatter: &mut Formatter) -> Result<(), CliError> {
    let stdout = std::io::stdout();
    let mut w = BufWriter::with_capacity(256 << 10, stdout.lock());
    for line in batch {
        formatter
            .write_line(line, &mut w)
            .map_err(CliError::io("writing to stdout"))?;
    }
    w.flush().map_err(CliError::io("writing to stdout"))
}

/// The start in progress.
type ReplyFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Reply, CliError>> + 'a>>;

/// The stop in progress.
type StopFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Result<bool, CliError>>>>;

/// Asks the daemon to stop everything, then cleans up as `stop` does (vendors down,
/// `--docker` images and network removed); returns whether every replica stopped cleanly.
async fn stop_fleet(
    state: StateDir,
    project: Option<ProjectSpec>,
    out: Output,
) -> Result<bool, CliError> {
    let Some(client) = Client::connect(&state).await? else {
        return Ok(true);
    };
    let whole = project.map(|p| (super::stop::WholeStop::before(&p, &state), p));
    let started = Instant::now();
    let reply = client
        .request(
            &Request::Stop {
                services: Vec::new(),
            },
            |event| {
                if let Event::Progress(p) = event
                    && !out.quiet
                {
                    let _ = writeln!(
                        std::io::stdout(),
                        "{}",
                        fleet::progress_line(p, out, started)
                    );
                }
            },
        )
        .await?;
    if let Some((whole, project)) = whole.filter(|_| reply.ok) {
        whole.clean_up(&project, out).await?;
    }
    Ok(reply.ok)
}
