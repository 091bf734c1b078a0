//! The UI's data feed, all of it from the places every other command reads: the daemon's
//! event stream (`Request::Subscribe`) and its status answer, on the project's socket;
//! the replica records when no daemon runs; and the log files, read and followed by
//! orchestra-logs as `logs -f` does.
//!
//! Events say at once that something changed; a status answer, asked for shortly after
//! any event and every few seconds anyway, brings what events do not carry (CPU, memory,
//! ports) and puts right anything an event could not say.

use std::sync::Arc;
use std::time::Duration;

use orchestra_core::protocol::{Event, Request};
use orchestra_core::{ReplicaStatus, StateDir};
use orchestra_logs::{Follow, FollowOptions, LogKind, LogLine, Selection, SkipBehind, Start};
use tokio::sync::Notify;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use super::app::Msg;
use super::logs::CAPACITY;
use crate::daemon::client::{Answer, Client};
use crate::error::CliError;

/// How often the status is read when nothing happens: CPU and memory figures age, and a
/// daemon that was started elsewhere is noticed.
const STATUS_EVERY: Duration = Duration::from_secs(2);

/// How long after an event the status is read: a burst of events (a restart is four)
/// costs one status request.
const SETTLE: Duration = Duration::from_millis(150);

/// How often a UI without a daemon looks for one to subscribe to.
const RECONNECT_EVERY: Duration = Duration::from_secs(2);

/// The history each log source contributes at most, however few sources there are.
const HISTORY_PER_SOURCE: usize = 500;

/// The tasks that feed the UI; dropping it stops them.
pub(super) struct Feed {
    refresh: Arc<Notify>,
    reconnect: Arc<Notify>,
    tasks: Vec<JoinHandle<()>>,
}

impl Feed {
    /// Starts reading the status and subscribing to the events of the daemon of `state`.
    pub(super) fn start(state: &StateDir, tx: &UnboundedSender<Msg>) -> Self {
        let refresh = Arc::new(Notify::new());
        let reconnect = Arc::new(Notify::new());
        let tasks = vec![
            tokio::spawn(status_loop(state.clone(), tx.clone(), refresh.clone())),
            tokio::spawn(subscription(
                state.clone(),
                tx.clone(),
                refresh.clone(),
                reconnect.clone(),
            )),
        ];
        Self {
            refresh,
            reconnect,
            tasks,
        }
    }

    /// Reads the status again shortly (after an event).
    pub(super) fn refresh(&self) {
        self.refresh.notify_one();
    }

    /// Subscribes again now if the subscription ended (an action may have started a
    /// daemon), and reads the status.
    pub(super) fn reconnect(&self) {
        self.reconnect.notify_one();
        self.refresh.notify_one();
    }
}

impl Feed {
    /// What an action notifies once it reached a daemon (which it may have started).
    pub(super) fn waker(&self) -> Arc<Notify> {
        Arc::clone(&self.reconnect)
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Sends a status now, then again after each refresh or every [`STATUS_EVERY`].
async fn status_loop(state: StateDir, tx: UnboundedSender<Msg>, refresh: Arc<Notify>) {
    loop {
        let (rows, live) = status(&state).await;
        if tx.send(Msg::Status { rows, live }).is_err() {
            return;
        }
        tokio::select! {
            () = refresh.notified() => tokio::time::sleep(SETTLE).await,
            () = tokio::time::sleep(STATUS_EVERY) => {}
        }
    }
}

/// Every replica's status: the daemon's answer, or the records when no daemon answers
/// (as `ps` falls back to them).
async fn status(state: &StateDir) -> (Vec<ReplicaStatus>, bool) {
    if let Ok(Some(client)) = Client::connect(state).await {
        let mut rows = Vec::new();
        let answer = client
            .request_or_silence(&Request::Status, |event| {
                if let Event::Status { replicas } = event {
                    rows.clone_from(replicas);
                }
            })
            .await;
        if let Ok(Answer::Replied(_)) = answer {
            return (rows, true);
        }
    }
    (orchestra_supervisor::status_from_records(state), false)
}

/// Forwards the daemon's fleet events while one runs; without one, looks again every
/// [`RECONNECT_EVERY`] or when asked.
async fn subscription(
    state: StateDir,
    tx: UnboundedSender<Msg>,
    refresh: Arc<Notify>,
    reconnect: Arc<Notify>,
) {
    loop {
        if let Ok(Some(client)) = Client::connect(&state).await {
            // What happened before the subscription is in the next status.
            refresh.notify_one();
            let _ = client
                .request(&Request::Subscribe, |event| match event {
                    Event::Fleet(event) => {
                        let _ = tx.send(Msg::Fleet(event.clone()));
                    }
                    Event::Missed { count } => {
                        let _ = tx.send(Msg::Missed(*count));
                    }
                    _ => {}
                })
                .await;
            // The daemon left: the records say what still runs.
            refresh.notify_one();
        }
        if tx.is_closed() {
            return;
        }
        tokio::select! {
            () = reconnect.notified() => {}
            () = tokio::time::sleep(RECONNECT_EVERY) => {}
        }
    }
}

/// The last lines of every service, build and vendor log, oldest first, and a follower
/// that goes on from there without a gap: what `logs -f -n N` reads.
pub(super) fn logs(state: &StateDir) -> Result<(Vec<LogLine>, Follow), CliError> {
    let failed = CliError::logs("cannot read the logs");
    let logs_dir = state.logs_dir();
    if !logs_dir.exists() {
        state
            .create()
            .map_err(CliError::io("creating the state folder"))?;
    }
    let selection = Selection::all().kinds(&[LogKind::Service, LogKind::Vendor, LogKind::Build]);
    let sources = orchestra_logs::discover(&logs_dir, &selection).map_err(failed)?;
    let per_source = (CAPACITY / sources.len().max(1)).clamp(1, HISTORY_PER_SOURCE);
    let history = orchestra_logs::read_history(&sources, per_source, &orchestra_logs::Query::new())
        .map_err(failed)?;
    let options = FollowOptions {
        // A screen shows what happens now, not a backlog that only grows.
        skip: Some(SkipBehind::default()),
        ..FollowOptions::default()
    };
    let follow = Follow::start(&logs_dir, selection, Start::Resume(history.resume), options)
        .map_err(CliError::logs("cannot follow the logs"))?;
    Ok((history.lines, follow))
}
