//! The task that owns one replica: one run of it (spawn, readiness, supervision, stop);
//! `life` strings the runs together.

mod life;

use std::sync::Arc;
use std::time::Duration;

use orchestra_core::chain::error_chain;
use orchestra_core::{HumanDuration, ProcessEnd, ReplicaId, ReplicaState};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::{Control, JobConfig, Snapshot};
use crate::backend::{RunningReplica, Supervisor};
use crate::error::SupervisorError;
use crate::event::{EventBus, FleetEvent};
use crate::records::{ReplicaRecord, unix_now};
use crate::stop::{StopPlan, stop_replica};

/// How one run of the replica finished.
pub(super) enum RunEnd {
    /// The process ended (or could not start) after running this long.
    Ended(ProcessEnd, Duration, String),
    /// It was given up on: not ready in time, not recorded, or past its deadline.
    GaveUp(String),
    /// A stop was asked for and carried out.
    Stopped,
    /// A restart was asked for: the run was stopped, the next one starts at once.
    Restart,
}

pub(super) struct Task {
    backend: Arc<dyn Supervisor>,
    config: JobConfig,
    inbox: mpsc::UnboundedReceiver<Control>,
    publish: watch::Sender<Snapshot>,
    events: Option<EventBus>,
    restarts: u32,
    /// Answered once the run a restart asked for has begun.
    restart_reply: Option<oneshot::Sender<()>>,
    /// A stop failed (something survived, or `/proc` could not be read): the record
    /// stays, so that a later `stop` finds what may be left.
    stop_failed: bool,
    /// How the last run ended and how long it lasted, for `ps`.
    last_exit: Option<(ProcessEnd, Duration)>,
    /// Set when the restart policy gave up, for `ps`.
    gave_up_after: Option<u32>,
}

impl Task {
    pub(super) fn new(
        backend: Arc<dyn Supervisor>,
        config: JobConfig,
        inbox: mpsc::UnboundedReceiver<Control>,
        publish: watch::Sender<Snapshot>,
        events: Option<EventBus>,
    ) -> Self {
        let restarts = config.restarts;
        Self {
            backend,
            config,
            inbox,
            publish,
            events,
            restarts,
            restart_reply: None,
            stop_failed: false,
            last_exit: None,
            gave_up_after: None,
        }
    }

    fn emit(&self, event: impl FnOnce(ReplicaId) -> FleetEvent) {
        if let Some(events) = &self.events {
            events.emit(event(self.config.spec.id.clone()));
        }
    }

    fn set(
        &self,
        state: ReplicaState,
        running: Option<&Arc<dyn RunningReplica>>,
        started_at: Option<u64>,
        reason: Option<String>,
    ) {
        self.publish.send_replace(Snapshot {
            state,
            running: running.cloned(),
            restarts: self.restarts,
            started_at,
            reason,
            last_exit: self.last_exit,
            gave_up_after: self.gave_up_after,
        });
    }

    fn plan(&self) -> StopPlan {
        StopPlan {
            signal: self.config.spec.stop_signal,
            timeout: self.config.spec.stop_timeout,
        }
    }

    fn remove_record(&self) {
        if self.stop_failed {
            return;
        }
        if let Err(e) = ReplicaRecord::remove(&self.config.state, &self.config.spec.id) {
            tracing::warn!(replica = %self.config.spec.id, error = %e, "cannot remove record");
        }
    }

    /// Writes the replica's record; the error says why not, for people.
    fn write_record(
        &self,
        running: &Arc<dyn RunningReplica>,
        started_at: u64,
    ) -> Result<(), String> {
        let spec = &self.config.spec;
        let record = ReplicaRecord {
            identity: running.identity().clone(),
            instance: running.instance().to_owned(),
            spec_hash: self.config.spec_hash.clone(),
            service: spec.id.service.clone(),
            replica: spec.id.index,
            port: spec.port,
            started_at,
            restarts: self.restarts,
            stop_signal: spec.stop_signal,
        };
        record.write(&self.config.state).map_err(|e| match &e {
            SupervisorError::Record { path, source } => format!(
                "cannot write {}: {}",
                path.display(),
                orchestra_core::paths::describe_io_error(source)
            ),
            other => error_chain(other),
        })
    }

    async fn spawn_and_supervise(&mut self) -> RunEnd {
        let spec = &self.config.spec.clone();
        let log_path = self.config.state.replica_log(&spec.id);
        self.set(ReplicaState::Starting, None, None, None);
        self.restarted();
        let log = match self.config.log_opener.open(&spec.id, &log_path) {
            Ok(f) => f,
            Err(e) => {
                let reason = format!("cannot open log {}: {e}", log_path.display());
                self.emit(|replica| FleetEvent::SpawnFailed {
                    replica,
                    reason: reason.clone(),
                });
                return RunEnd::Ended(ProcessEnd::Unknown, Duration::ZERO, reason);
            }
        };
        let offset = log.metadata().map_or(0, |m| m.len());
        let running = match self.backend.spawn(spec, log).await {
            Ok(r) => r,
            Err(e) => {
                let reason = error_chain(&e);
                self.emit(|replica| FleetEvent::SpawnFailed {
                    replica,
                    reason: reason.clone(),
                });
                return RunEnd::Ended(ProcessEnd::Exited(127), Duration::ZERO, reason);
            }
        };
        let started_at = unix_now();
        let started = Instant::now();
        let (pid, restarts) = (running.identity().pid, self.restarts);
        self.emit(|replica| FleetEvent::Started {
            replica,
            pid,
            restarts,
        });
        self.set(
            ReplicaState::Starting,
            Some(&running),
            Some(started_at),
            None,
        );
        // Unrecorded, the replica would be invisible to `ps` and `stop` without this
        // daemon, and never adopted by the next one: it may not run.
        if let Err(reason) = self.write_record(&running, started_at) {
            tracing::warn!(replica = %spec.id, %reason, "stopping an unrecorded replica");
            self.stop_tree(&running).await;
            return RunEnd::GaveUp(reason);
        }
        if let Some(probe) = spec.ready.clone() {
            let spec = spec.clone();
            // Why it is not ready yet, when another program answers its probe: shown as the
            // replica's reason while it starts.
            let (note, mut noted) = watch::channel(None);
            let prober = super::ready::Prober {
                owner: running.as_ref(),
                note: &note,
            };
            let ready = super::ready::wait_ready(&probe, &spec, (&log_path, offset), prober);
            tokio::pin!(ready);
            let deadline = deadline(self.config.deadline, started);
            tokio::pin!(deadline);
            loop {
                tokio::select! {
                    Ok(()) = noted.changed() => {
                        let reason = noted.borrow_and_update().clone();
                        self.set(ReplicaState::Starting, Some(&running), Some(started_at), reason);
                    }
                    result = &mut ready => match result {
                        Ok(()) => break,
                        Err(reason) => {
                            self.stop_tree(&running).await;
                            return RunEnd::GaveUp(reason);
                        }
                    },
                    () = &mut deadline => return self.outran(&running).await,
                    end = running.wait() => return self.ended(&running, end, started).await,
                    msg = self.inbox.recv() => {
                        if let Some(end) = self.on_control(msg, &running).await {
                            return end;
                        }
                    }
                }
            }
        }
        self.supervise(running, started_at, Some(started)).await
    }

    /// Runs a ready replica until it ends or is stopped; `started` is when it was
    /// spawned, `None` for an adopted one (which started at `started_at`, Unix seconds).
    async fn supervise(
        &mut self,
        running: Arc<dyn RunningReplica>,
        started_at: u64,
        started: Option<Instant>,
    ) -> RunEnd {
        let adopted = started.is_none();
        let started = started.unwrap_or_else(|| {
            Instant::now()
                .checked_sub(Duration::from_secs(unix_now().saturating_sub(started_at)))
                .unwrap_or_else(Instant::now)
        });
        if adopted && let Err(reason) = self.write_record(&running, started_at) {
            // The record the previous daemon wrote still names it.
            tracing::warn!(replica = %self.config.spec.id, %reason, "cannot update the record");
        }
        self.set(
            ReplicaState::Running,
            Some(&running),
            Some(started_at),
            None,
        );
        let pid = running.identity().pid;
        self.emit(|replica| FleetEvent::Ready { replica, pid });
        let deadline = deadline(self.config.deadline, started);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                end = running.wait() => return self.ended(&running, end, started).await,
                () = &mut deadline => return self.outran(&running).await,
                msg = self.inbox.recv() => {
                    if let Some(end) = self.on_control(msg, &running).await {
                        return end;
                    }
                }
            }
        }
    }

    /// A run outlasted its deadline: stop its whole tree and give up on it.
    async fn outran(&self, running: &Arc<dyn RunningReplica>) -> RunEnd {
        let limit = self.config.deadline.unwrap_or_default();
        let reason = format!(
            "still running after its timeout of {}; stopped",
            HumanDuration(limit)
        );
        self.stop_tree(running).await;
        RunEnd::GaveUp(reason)
    }

    /// Handles a message while a process runs; `Some` when the replica was stopped.
    async fn on_control(
        &mut self,
        msg: Option<Control>,
        running: &Arc<dyn RunningReplica>,
    ) -> Option<RunEnd> {
        match msg {
            Some(Control::Signal(signal, reply)) => {
                let _ = reply.send(running.signal(signal).await);
                None
            }
            Some(Control::Restart(reply)) => {
                self.stop_with_escalation(running).await;
                self.restart_reply = Some(reply);
                Some(RunEnd::Restart)
            }
            // No handle left: nobody can stop it later, so stop it now.
            Some(Control::Stop) | None => {
                self.stop_with_escalation(running).await;
                Some(RunEnd::Stopped)
            }
        }
    }

    /// The stop ladder, listening for a second stop (kill now) meanwhile; a restart asked
    /// for meanwhile is dropped, as the stop was asked first.
    async fn stop_with_escalation(&mut self, running: &Arc<dyn RunningReplica>) {
        self.set(ReplicaState::Stopping, Some(running), None, None);
        self.emit(|replica| FleetEvent::Stopping { replica });
        let (kill_tx, kill_rx) = watch::channel(false);
        let plan = self.plan();
        let stopping = stop_replica(running.as_ref(), plan, kill_rx);
        tokio::pin!(stopping);
        loop {
            tokio::select! {
                result = &mut stopping => {
                    if let Err(e) = result {
                        tracing::error!(replica = %self.config.spec.id, error = %e, "stop failed");
                        self.stop_failed = true;
                    }
                    return;
                }
                msg = self.inbox.recv() => match msg {
                    Some(Control::Stop) => { let _ = kill_tx.send(true); }
                    Some(Control::Signal(_, reply)) => { let _ = reply.send(Ok(0)); }
                    Some(Control::Restart(_)) | None => {}
                },
            }
        }
    }

    /// Stops whatever is left of the tree after a failed start.
    async fn stop_tree(&self, running: &Arc<dyn RunningReplica>) {
        let (_tx, rx) = watch::channel(false);
        if let Err(e) = stop_replica(running.as_ref(), self.plan(), rx).await {
            tracing::error!(replica = %self.config.spec.id, error = %e, "stop failed");
        }
    }

    /// The main process ended by itself: its leftovers (children it did not wait for) go
    /// too, so a restart finds its port free.
    async fn ended(
        &self,
        running: &Arc<dyn RunningReplica>,
        end: ProcessEnd,
        started: Instant,
    ) -> RunEnd {
        let ran = started.elapsed();
        self.emit(|replica| FleetEvent::Exited { replica, end, ran });
        if running.alive().await {
            self.stop_tree(running).await;
        }
        RunEnd::Ended(end, ran, end.to_string())
    }

    /// A run a restart asked for has begun: its caller may now wait for it.
    fn restarted(&mut self) {
        if let Some(reply) = self.restart_reply.take() {
            let _ = reply.send(());
        }
    }
}

/// Resolves once a run that began at `started` has lasted `limit`; never without a limit.
async fn deadline(limit: Option<Duration>, started: Instant) {
    match limit {
        Some(limit) => tokio::time::sleep_until(started + limit).await,
        None => std::future::pending().await,
    }
}
