//! The task that owns one replica.

use std::sync::Arc;
use std::time::Duration;

use orchestra_core::chain::error_chain;
use orchestra_core::policy::Backoff;
use orchestra_core::protocol::{Phase, Progress};
use orchestra_core::{HumanDuration, ProcessEnd, ReplicaState};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::{Control, JobConfig, Snapshot};
use crate::backend::{RunningReplica, Supervisor};
use crate::error::SupervisorError;
use crate::records::{ReplicaRecord, unix_now};
use crate::stop::{StopPlan, stop_replica};

/// How one run of the replica finished.
enum RunEnd {
    /// The process ended (or could not start) after running this long.
    Ended(ProcessEnd, Duration, String),
    /// It was given up on: not ready in time, not recorded, or past its deadline.
    GaveUp(String),
    /// A stop was asked for and carried out.
    Stopped,
}

pub(super) struct Task {
    backend: Arc<dyn Supervisor>,
    config: JobConfig,
    inbox: mpsc::UnboundedReceiver<Control>,
    publish: watch::Sender<Snapshot>,
    events: Option<mpsc::UnboundedSender<Progress>>,
    restarts: u32,
    /// A stop failed (something survived, or `/proc` could not be read): the record
    /// stays, so that a later `stop` finds what may be left.
    stop_failed: bool,
}

impl Task {
    pub(super) fn new(
        backend: Arc<dyn Supervisor>,
        config: JobConfig,
        inbox: mpsc::UnboundedReceiver<Control>,
        publish: watch::Sender<Snapshot>,
        events: Option<mpsc::UnboundedSender<Progress>>,
    ) -> Self {
        let restarts = config.restarts;
        Self {
            backend,
            config,
            inbox,
            publish,
            events,
            restarts,
            stop_failed: false,
        }
    }

    fn emit(&self, phase: Phase, message: Option<String>) {
        if let Some(events) = &self.events {
            let _ = events.send(Progress {
                unit: self.config.spec.id.service.to_string(),
                replica: Some(self.config.spec.id.index),
                phase,
                message,
            });
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

    pub(super) async fn run(mut self, mut adopted: Option<(Arc<dyn RunningReplica>, u64)>) {
        let mut backoff = Backoff::new(self.config.backoff);
        let final_state = loop {
            let end = match adopted.take() {
                Some((running, started_at)) => self.supervise(running, started_at, true).await,
                None => self.spawn_and_supervise().await,
            };
            let (end, uptime, reason) = match end {
                RunEnd::Stopped => break (ReplicaState::Stopped, None),
                RunEnd::GaveUp(reason) => break (ReplicaState::Crashed, Some(reason)),
                RunEnd::Ended(end, uptime, reason) => (end, uptime, reason),
            };
            if !self.config.restart.should_restart(end) {
                if end.success() {
                    break (ReplicaState::Exited, Some(reason));
                }
                break (ReplicaState::Crashed, Some(reason));
            }
            let Some(delay) = backoff.after_exit(uptime) else {
                break (
                    ReplicaState::Crashed,
                    Some(format!(
                        "{reason}; gave up after {} restarts in a row",
                        backoff.consecutive()
                    )),
                );
            };
            self.set(ReplicaState::Backoff, None, None, Some(reason.clone()));
            self.emit(
                Phase::Backoff,
                Some(format!("{reason}; restarting in {delay:?}")),
            );
            if self.wait_out(delay).await {
                break (ReplicaState::Stopped, None);
            }
            self.restarts += 1;
        };
        self.remove_record();
        let (state, reason) = final_state;
        self.set(state, None, None, reason.clone());
        let phase = match state {
            ReplicaState::Stopped => Phase::Stopped,
            ReplicaState::Exited => Phase::Exited,
            _ => Phase::Crashed,
        };
        self.emit(phase, reason);
        // Stay to answer late messages until every handle is gone.
        while let Some(msg) = self.inbox.recv().await {
            if let Control::Signal(_, reply) = msg {
                let _ = reply.send(Ok(0));
            }
        }
    }

    /// Sleeps through a backoff delay; `true` when a stop arrived meanwhile.
    async fn wait_out(&mut self, delay: Duration) -> bool {
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                () = &mut sleep => return false,
                msg = self.inbox.recv() => match msg {
                    Some(Control::Stop) | None => return true,
                    Some(Control::Signal(_, reply)) => { let _ = reply.send(Ok(0)); }
                },
            }
        }
    }

    async fn spawn_and_supervise(&mut self) -> RunEnd {
        let spec = &self.config.spec;
        let log_path = self.config.state.replica_log(&spec.id);
        let log = match self.config.log_opener.open(&spec.id, &log_path) {
            Ok(f) => f,
            Err(e) => {
                let reason = format!("cannot open log {}: {e}", log_path.display());
                self.emit(Phase::Failed, Some(reason.clone()));
                return RunEnd::Ended(ProcessEnd::Unknown, Duration::ZERO, reason);
            }
        };
        let offset = log.metadata().map_or(0, |m| m.len());
        self.set(ReplicaState::Starting, None, None, None);
        let running = match self.backend.spawn(spec, log).await {
            Ok(r) => r,
            Err(e) => {
                let reason = error_chain(&e);
                self.emit(Phase::Failed, Some(reason.clone()));
                return RunEnd::Ended(ProcessEnd::Exited(127), Duration::ZERO, reason);
            }
        };
        let started_at = unix_now();
        self.emit(
            Phase::Starting,
            Some(format!("pid {}", running.identity().pid)),
        );
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
            self.emit(Phase::Failed, Some(reason.clone()));
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
            let started = Instant::now();
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
                            self.emit(Phase::Failed, Some(reason.clone()));
                            self.stop_tree(&running).await;
                            return RunEnd::GaveUp(reason);
                        }
                    },
                    () = &mut deadline => return self.outran(&running).await,
                    end = running.wait() => {
                        self.cleanup_after_end(&running).await;
                        return RunEnd::Ended(end, started.elapsed(), end.to_string());
                    }
                    msg = self.inbox.recv() => {
                        if let Some(end) = self.on_control(msg, &running).await {
                            return end;
                        }
                    }
                }
            }
        }
        self.supervise(running, started_at, false).await
    }

    /// Runs a ready replica until it ends or is stopped.
    async fn supervise(
        &mut self,
        running: Arc<dyn RunningReplica>,
        started_at: u64,
        adopted: bool,
    ) -> RunEnd {
        let started = Instant::now()
            .checked_sub(Duration::from_secs(unix_now().saturating_sub(started_at)))
            .unwrap_or_else(Instant::now);
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
        self.emit(
            Phase::Ready,
            Some(format!("pid {}", running.identity().pid)),
        );
        let deadline = deadline(self.config.deadline, started);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                end = running.wait() => {
                    self.cleanup_after_end(&running).await;
                    return RunEnd::Ended(end, started.elapsed(), end.to_string());
                }
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
        self.emit(Phase::Failed, Some(reason.clone()));
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
            // No handle left: nobody can stop it later, so stop it now.
            Some(Control::Stop) | None => {
                self.set(ReplicaState::Stopping, Some(running), None, None);
                self.emit(Phase::Stopping, None);
                self.stop_with_escalation(running).await;
                Some(RunEnd::Stopped)
            }
        }
    }

    /// The stop ladder, listening for a second stop (kill now) meanwhile.
    async fn stop_with_escalation(&mut self, running: &Arc<dyn RunningReplica>) {
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
                    None => {}
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

    /// The main process ended: its leftovers (children it did not wait for) go too, so a
    /// restart finds its port free.
    async fn cleanup_after_end(&self, running: &Arc<dyn RunningReplica>) {
        if running.alive().await {
            self.stop_tree(running).await;
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
