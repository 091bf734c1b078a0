//! [`DockerReplica`]: one running container as the supervisor's [`RunningReplica`].
//!
//! Two tasks serve each container while its handle lives:
//! - the log task follows the container's stdout and stderr (the Engine API's log stream)
//!   and appends them to the replica's log file. Unlike a host process, a container cannot
//!   write to that file itself, so the daemon *is* on the write path here; the engine keeps
//!   its own copy of the output meanwhile, which is how a re-attached handle catches up on
//!   what it missed while nobody followed.
//! - the wait task waits for the container to stop (the engine's wait API), reads its exit
//!   code and whether it was killed for lack of memory, lets the log task write the last
//!   lines, removes the container, and only then publishes the end. So when `wait` returns
//!   the container is gone and a restart can reuse its name and port.
//!
//! Dropping the handle aborts both tasks and leaves the container running, as a daemon
//! that dies leaves its host processes: a new daemon adopts it by its instance label.

use std::fs::File;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bollard::models::ContainerInspectResponse;
use bollard::query_parameters::{
    KillContainerOptions, LogsOptionsBuilder, RemoveContainerOptionsBuilder, StatsOptions,
    WaitContainerOptions,
};
use futures_util::StreamExt;
use orchestra_core::{ProcessEnd, ProcessIdentity, Signal};
use orchestra_supervisor::{RunningReplica, SupervisorError, TreeStats};
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;
use tokio::task::{AbortHandle, JoinHandle};

use super::identity::{identity_of, process_end};
use crate::client::Docker;
use crate::error::{is_conflict, is_not_found};
use crate::inspect::{published_ports, unix_time};

/// How long the last lines of a stopped container may take to reach its log file.
const LOG_DRAIN: Duration = Duration::from_secs(5);
/// How long removing a stopped container may take before the end is published anyway.
const REMOVE_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause before asking again when the engine's wait stream broke off.
const WAIT_RETRY: Duration = Duration::from_secs(1);
/// How long `stats` waits for the engine's one-shot numbers.
const STATS_TIMEOUT: Duration = Duration::from_secs(2);

/// A replica running in a container, supervised through the Engine API.
#[derive(Debug)]
pub struct DockerReplica {
    docker: Docker,
    identity: ProcessIdentity,
    instance: String,
    id: String,
    name: String,
    ports: Vec<u16>,
    started_at: Option<u64>,
    end: watch::Receiver<Option<ProcessEnd>>,
    tasks: [AbortHandle; 2],
}

impl DockerReplica {
    /// Starts serving the started container `info`: its output goes to `log` (from `since`,
    /// seconds since the epoch, when given; else from its first line).
    pub(crate) fn attach(
        docker: Docker,
        info: &ContainerInspectResponse,
        instance: String,
        log: File,
        since: Option<i32>,
    ) -> Self {
        let id = info.id.clone().unwrap_or_default();
        let name = info
            .name
            .as_deref()
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_owned();
        let state = info.state.clone().unwrap_or_default();
        let identity = identity_of(state.pid.unwrap_or(0), state.started_at.as_deref());
        let started_at = state
            .started_at
            .as_deref()
            .and_then(unix_time)
            .map(|(s, _)| s);
        let logs = follow_logs(docker.clone(), id.clone(), log, since);
        let logs_abort = logs.abort_handle();
        let (tx, end) = watch::channel(None);
        let waiter = tokio::spawn(wait_and_remove(docker.clone(), id.clone(), logs, tx));
        tracing::debug!(container = %name, pid = identity.pid, "attached to container");
        Self {
            docker,
            identity,
            instance,
            id,
            name,
            ports: published_ports(info),
            started_at,
            end,
            tasks: [waiter.abort_handle(), logs_abort],
        }
    }

    /// The container's id.
    pub fn container_id(&self) -> &str {
        &self.id
    }

    /// The container's name, `orchestra-<project>-<service>-<n>`.
    pub fn container_name(&self) -> &str {
        &self.name
    }

    /// The host ports published for it.
    pub fn ports(&self) -> &[u16] {
        &self.ports
    }
}

impl Drop for DockerReplica {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

#[async_trait]
impl RunningReplica for DockerReplica {
    fn identity(&self) -> &ProcessIdentity {
        &self.identity
    }

    fn instance(&self) -> &str {
        &self.instance
    }

    /// Sends `signal` through the engine's kill API (to the container's init, which passes
    /// it on). A container that already stopped counts as nothing signalled.
    async fn signal(&self, signal: Signal) -> Result<usize, SupervisorError> {
        if self.end().is_some() {
            return Ok(0);
        }
        let options = KillContainerOptions {
            signal: signal.name().to_owned(),
        };
        match self
            .docker
            .api()
            .kill_container(&self.id, Some(options))
            .await
        {
            Ok(()) => {
                tracing::debug!(container = %self.name, %signal, "signalled container");
                Ok(1)
            }
            Err(e) if is_not_found(&e) || is_conflict(&e) => Ok(0),
            Err(e) => {
                // The supervisor's error carries an errno; the engine's reason is logged.
                tracing::warn!(container = %self.name, %signal, error = %e, "the engine refused to signal the container");
                Err(SupervisorError::Signal {
                    signal: signal.name().to_owned(),
                    pid: self.identity.pid,
                    source: nix::errno::Errno::EIO,
                })
            }
        }
    }

    async fn wait(&self) -> ProcessEnd {
        let mut end = self.end.clone();
        match end.wait_for(Option::is_some).await {
            Ok(v) => v.unwrap_or(ProcessEnd::Unknown),
            Err(_) => ProcessEnd::Unknown,
        }
    }

    fn end(&self) -> Option<ProcessEnd> {
        *self.end.borrow()
    }

    /// Whether the container still exists: in a container nothing outlives its main process,
    /// and the end is published once the container is removed.
    async fn alive(&self) -> bool {
        self.end().is_none()
    }

    /// The host ports are the engine's to publish, and it publishes the container's only:
    /// a port the container publishes is the replica's.
    async fn listens_on(&self, port: u16) -> bool {
        self.end().is_none() && self.ports.contains(&port)
    }

    /// The main pid, the published ports, and the engine's one-shot numbers: memory in use
    /// by the container, and its CPU time over its life (as the Unix backend averages it).
    async fn stats(&self) -> TreeStats {
        if self.end().is_some() {
            return TreeStats::default();
        }
        let mut stats = TreeStats {
            pids: vec![self.identity.pid],
            ports: self.ports.clone(),
            ..TreeStats::default()
        };
        let options = StatsOptions {
            stream: false,
            one_shot: true,
        };
        let mut stream = self.docker.api().stats(&self.id, Some(options));
        if let Ok(Some(Ok(sample))) = tokio::time::timeout(STATS_TIMEOUT, stream.next()).await {
            stats.rss_bytes = sample
                .memory_stats
                .and_then(|m| m.usage)
                .unwrap_or_default();
            let cpu_ns = sample
                .cpu_stats
                .and_then(|c| c.cpu_usage)
                .and_then(|u| u.total_usage);
            if let (Some(cpu_ns), Some(started)) = (cpu_ns, self.started_at) {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                let life = now.saturating_sub(started).max(1);
                #[expect(clippy::cast_precision_loss, reason = "a percentage for display")]
                let percent = cpu_ns as f64 / (life as f64 * 1e9) * 100.0;
                stats.cpu_percent = percent;
            }
        }
        stats
    }
}

/// The container's output, appended to `log` as it comes.
fn follow_logs(docker: Docker, id: String, log: File, since: Option<i32>) -> JoinHandle<()> {
    let mut options = LogsOptionsBuilder::new()
        .follow(true)
        .stdout(true)
        .stderr(true);
    if let Some(since) = since {
        options = options.since(since);
    }
    let options = options.build();
    tokio::spawn(async move {
        let mut file = tokio::fs::File::from_std(log);
        let mut stream = docker.api().logs(&id, Some(options));
        while let Some(item) = stream.next().await {
            let chunk = match item {
                Ok(chunk) => chunk.into_bytes(),
                Err(e) => {
                    tracing::warn!(container = %id, error = %e, "container log stream ended with an error");
                    break;
                }
            };
            if let Err(e) = file.write_all(&chunk).await {
                tracing::warn!(container = %id, error = %e, "cannot write the replica log");
                break;
            }
        }
        let _ = file.flush().await;
    })
}

/// Waits for the container to stop, lets its last output through, removes it, then
/// publishes how it ended.
async fn wait_and_remove(
    docker: Docker,
    id: String,
    logs: JoinHandle<()>,
    end: watch::Sender<Option<ProcessEnd>>,
) {
    let code = wait_exit(&docker, &id).await;
    let oom = match docker.api().inspect_container(&id, None).await {
        Ok(info) => info.state.and_then(|s| s.oom_killed).unwrap_or(false),
        Err(_) => false,
    };
    let result = process_end(code, oom);
    if tokio::time::timeout(LOG_DRAIN, logs).await.is_err() {
        tracing::warn!(container = %id, "the log stream did not end with the container");
    }
    let options = RemoveContainerOptionsBuilder::new().force(true).build();
    match tokio::time::timeout(
        REMOVE_TIMEOUT,
        docker.api().remove_container(&id, Some(options)),
    )
    .await
    {
        Ok(Ok(())) => tracing::debug!(container = %id, "removed container"),
        Ok(Err(e)) if is_not_found(&e) => {}
        Ok(Err(e)) => tracing::warn!(container = %id, error = %e, "cannot remove container"),
        Err(_) => tracing::warn!(container = %id, "removing the container timed out"),
    }
    let _ = end.send(Some(result));
}

/// The container's exit code once it stopped; `None` when it vanished unseen.
async fn wait_exit(docker: &Docker, id: &str) -> Option<i64> {
    loop {
        let options = WaitContainerOptions {
            condition: "not-running".into(),
        };
        let mut stream = docker.api().wait_container(id, Some(options));
        match stream.next().await {
            Some(Ok(answer)) => return Some(answer.status_code),
            Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => {
                return Some(code);
            }
            Some(Err(e)) if is_not_found(&e) => return None,
            Some(Err(e)) => {
                tracing::debug!(container = %id, error = %e, "container wait broke off");
            }
            None => {}
        }
        // The stream broke (engine restarted, request timed out): look before waiting again.
        match docker.api().inspect_container(id, None).await {
            Ok(info) => {
                let state = info.state.unwrap_or_default();
                if state.running != Some(true) {
                    return state.exit_code;
                }
            }
            Err(e) if is_not_found(&e) => return None,
            Err(_) => {}
        }
        tokio::time::sleep(WAIT_RETRY).await;
    }
}
