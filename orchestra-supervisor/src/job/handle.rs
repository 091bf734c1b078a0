//! The cloneable handle of a replica job.

use std::sync::Arc;

use orchestra_core::state::UnitKind;
use orchestra_core::{ProcessEnd, ReplicaId, ReplicaState, ReplicaStatus, Signal};
use tokio::sync::{mpsc, oneshot, watch};

use super::guard::Guard;
use super::task::Task;
use super::{Control, JobConfig, Snapshot};
use crate::backend::{RunningReplica, Supervisor};
use crate::error::SupervisorError;
use crate::event::EventBus;
use crate::records::{ReplicaRecord, unix_now};
use crate::stop::StopPlan;

/// How a run of a replica turned out, as seen by [`ReplicaHandle::wait_started`].
#[derive(Debug, Clone)]
pub enum Started {
    /// It is running (ready).
    Ready(Snapshot),
    /// It ended first: `backoff` (it will be restarted), `crashed`, `exited` or `stopped`,
    /// with the reason.
    Ended(Snapshot),
}

/// A handle on one replica's job: clone it freely; the job lives until the replica is
/// stopped or done, whether or not handles remain.
#[derive(Debug, Clone)]
pub struct ReplicaHandle {
    id: ReplicaId,
    spec_hash: String,
    /// What its record says besides the snapshot: port and stop signal.
    port: Option<u16>,
    stop_signal: Signal,
    control: mpsc::UnboundedSender<Control>,
    snapshot: watch::Receiver<Snapshot>,
}

impl ReplicaHandle {
    /// Starts a job that spawns the replica now. Each step it takes is emitted into
    /// `events` when given.
    pub fn start(
        backend: Arc<dyn Supervisor>,
        config: JobConfig,
        events: Option<EventBus>,
    ) -> Self {
        Self::launch(backend, config, None, events)
    }

    /// Starts a job that supervises an already running replica (adopted after a daemon
    /// restart): it counts as ready, and is restarted by policy when it ends.
    pub fn adopt(
        backend: Arc<dyn Supervisor>,
        config: JobConfig,
        running: Arc<dyn RunningReplica>,
        started_at: u64,
        events: Option<EventBus>,
    ) -> Self {
        Self::launch(backend, config, Some((running, started_at)), events)
    }

    fn launch(
        backend: Arc<dyn Supervisor>,
        config: JobConfig,
        adopted: Option<(Arc<dyn RunningReplica>, u64)>,
        events: Option<EventBus>,
    ) -> Self {
        let (control, inbox) = mpsc::unbounded_channel();
        let (publish, snapshot) = watch::channel(Snapshot {
            state: ReplicaState::Starting,
            running: None,
            restarts: config.restarts,
            started_at: None,
            last_exit: None,
            gave_up_after: None,
            reason: None,
        });
        let id = config.spec.id.clone();
        let spec_hash = config.spec_hash.clone();
        let guard = Guard {
            id: id.clone(),
            state: config.state.clone(),
            plan: StopPlan {
                signal: config.spec.stop_signal,
                timeout: config.spec.stop_timeout,
            },
            publish: publish.clone(),
            events: events.clone(),
        };
        let (port, stop_signal) = (config.spec.port, config.spec.stop_signal);
        let task = Task::new(backend, config, inbox, publish, events);
        tokio::spawn(guard.watch(tokio::spawn(task.run(adopted))));
        Self {
            id,
            spec_hash,
            port,
            stop_signal,
            control,
            snapshot,
        }
    }

    /// Which replica this is.
    pub fn id(&self) -> &ReplicaId {
        &self.id
    }

    /// Whether `other` is a handle on this very job, not on a later job of the same replica.
    pub(crate) fn same_job(&self, other: &Self) -> bool {
        self.control.same_channel(&other.control)
    }

    /// The hash of the spec it runs.
    pub fn spec_hash(&self) -> &str {
        &self.spec_hash
    }

    /// What the job last published.
    pub fn snapshot(&self) -> Snapshot {
        self.snapshot.borrow().clone()
    }

    /// Its current state.
    pub fn state(&self) -> ReplicaState {
        self.snapshot.borrow().state
    }

    /// Waits until it is `running` (`Ok`) or given up on (`Err` with the reason). A replica
    /// that crashes while starting keeps being waited for through its backoff restarts.
    pub async fn wait_ready(&self) -> Result<(), String> {
        let mut rx = self.snapshot.clone();
        let seen = rx
            .wait_for(|s| s.state == ReplicaState::Running || s.state.is_final())
            .await
            .map(|s| (s.state, s.reason.clone()));
        match seen {
            Ok((ReplicaState::Running, _)) => Ok(()),
            Ok((state, reason)) => Err(reason.unwrap_or_else(|| state.to_string())),
            Err(_) => Err("the replica's job ended".into()),
        }
    }

    /// Waits until this run of the replica is `running`, or ended before that: unlike
    /// [`wait_ready`](Self::wait_ready) it does not wait through backoff restarts, so a start
    /// can report a replica that crashes while starting at once.
    pub async fn wait_started(&self) -> Started {
        let mut rx = self.snapshot.clone();
        let seen = rx
            .wait_for(|s| {
                matches!(s.state, ReplicaState::Running | ReplicaState::Backoff)
                    || s.state.is_final()
            })
            .await
            .map(|s| s.clone());
        match seen {
            Ok(s) if s.state == ReplicaState::Running => Started::Ready(s),
            Ok(s) => Started::Ended(s),
            Err(_) => Started::Ended(Snapshot {
                state: ReplicaState::Stopped,
                running: None,
                restarts: 0,
                started_at: None,
                reason: Some("the replica's job ended".into()),
                last_exit: None,
                gave_up_after: None,
            }),
        }
    }

    /// Waits until the job is done (stopped, crashed or exited).
    pub async fn wait_final(&self) -> ReplicaState {
        let mut rx = self.snapshot.clone();
        let state = rx.wait_for(|s| s.state.is_final()).await.map(|s| s.state);
        state.unwrap_or(ReplicaState::Stopped)
    }

    /// Stops the replica (stop signal, grace, SIGKILL) and waits until it is done. Calling
    /// it again while a stop runs kills at once.
    pub async fn stop(&self) -> ReplicaState {
        let _ = self.control.send(Control::Stop);
        self.wait_final().await
    }

    /// Restarts the replica, as `systemctl restart` does: stops its process tree if one
    /// runs (the stop ladder), then starts it again at once, without backoff and counting
    /// one restart; a replica in backoff starts at once, and a crashed or exited one comes
    /// back. Waits until the new run is ready or ended. A stopped replica stays stopped
    /// (its stop was meant), as does one whose stop is in progress: `Ended` with its state.
    pub async fn restart(&self) -> Started {
        let (tx, rx) = oneshot::channel();
        if self.control.send(Control::Restart(tx)).is_err() || rx.await.is_err() {
            self.wait_final().await;
            return Started::Ended(self.snapshot());
        }
        self.wait_started().await
    }

    /// Asks for an immediate stop without waiting.
    pub fn request_stop(&self) {
        let _ = self.control.send(Control::Stop);
    }

    /// Sends `signal` to the replica's process tree; returns how many processes got it.
    pub async fn signal(&self, signal: Signal) -> Result<usize, SupervisorError> {
        let (tx, rx) = oneshot::channel();
        if self.control.send(Control::Signal(signal, tx)).is_err() {
            return Ok(0);
        }
        rx.await.unwrap_or(Ok(0))
    }

    /// The record of its current process, as its job wrote it, while one runs.
    pub fn record(&self) -> Option<ReplicaRecord> {
        let snap = self.snapshot();
        let running = snap.running.filter(|_| snap.state.is_alive())?;
        Some(ReplicaRecord {
            identity: running.identity().clone(),
            instance: running.instance().to_owned(),
            spec_hash: self.spec_hash.clone(),
            service: self.id.service.clone(),
            replica: self.id.index,
            port: self.port,
            started_at: snap.started_at?,
            restarts: snap.restarts,
            stop_signal: self.stop_signal,
        })
    }

    /// Its `ps` row, with the process tree's ports, CPU and memory while it runs.
    pub async fn status(&self) -> ReplicaStatus {
        let snap = self.snapshot();
        let mut status = ReplicaStatus {
            service: self.id.service.to_string(),
            replica: self.id.index,
            kind: UnitKind::Service,
            state: snap.state,
            pid: None,
            ports: Vec::new(),
            restarts: snap.restarts,
            uptime_s: None,
            cpu_percent: None,
            rss_bytes: None,
            reason: snap.reason.clone(),
            health: None,
            exit_code: None,
            signal: None,
            last_exit_s: snap.last_exit.map(|(_, ran)| ran.as_secs_f64()),
            gave_up_after: snap.gave_up_after,
        };
        match snap.last_exit {
            Some((ProcessEnd::Exited(code), _)) => status.exit_code = Some(code),
            Some((ProcessEnd::Signalled(n), _)) => {
                status.signal = Some(
                    Signal::from_number(n).map_or_else(|| format!("signal {n}"), |s| s.to_string()),
                );
            }
            _ => {}
        }
        if let Some(running) = snap.running.filter(|_| snap.state.is_alive()) {
            let stats = running.stats().await;
            status.pid = Some(running.identity().pid);
            status.ports = stats.ports;
            status.cpu_percent = Some(stats.cpu_percent);
            status.rss_bytes = Some(stats.rss_bytes);
            status.uptime_s = snap.started_at.map(|t| unix_now().saturating_sub(t));
        }
        status
    }
}
