//! Replica records: what `.orchestra/run/replicas.jsonl` says of each live replica (see
//! the journal module, `journal.rs`, for how it is written and read).
//!
//! They let `ps` and `stop` work when no daemon runs (it died, or was never needed), and
//! let a new daemon adopt what an old one started. A record is a hint, never trusted alone:
//! its pid is used only while the recorded start time and boot id still match.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use orchestra_core::spec::ReplicaSpec;
use orchestra_core::state::UnitKind;
use orchestra_core::{
    ProcessIdentity, ReplicaId, ReplicaState, ReplicaStatus, ServiceName, Signal, StateDir,
};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::backend::{RunningReplica, Supervisor};
use crate::error::SupervisorError;
use crate::journal;
use crate::stop::{StopPlan, stop_replica};
use crate::unix::identity::{IdentityExt, Liveness};
use crate::unix::table::Table;
use crate::unix::tree::{self, Roots};
use crate::unix::{UnixReplica, UnixSupervisor};
use crate::unix::{token, usage};
use crate::unrecorded::find_runs;

/// What is written down about a live replica.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaRecord {
    /// Who its main process is.
    pub identity: ProcessIdentity,
    /// Its `ORCHESTRA_INSTANCE` token.
    #[serde(default)]
    pub instance: String,
    /// [`spec_hash`] of the spec it was started from.
    pub spec_hash: String,
    /// Its service.
    pub service: ServiceName,
    /// Its index.
    pub replica: u32,
    /// Its port.
    pub port: Option<u16>,
    /// When its current process started (Unix seconds).
    pub started_at: u64,
    /// Restarts so far.
    pub restarts: u32,
    /// The signal that stops it gracefully.
    #[serde(default)]
    pub stop_signal: Signal,
}

impl ReplicaRecord {
    /// Which replica this is.
    pub fn id(&self) -> ReplicaId {
        ReplicaId::new(self.service.clone(), self.replica)
    }

    /// Records the replica as running, in one line appended to the state folder's journal.
    pub fn write(&self, state: &StateDir) -> Result<(), SupervisorError> {
        journal::record(state, self).map_err(|source| SupervisorError::Record {
            path: state.run_journal(),
            source,
        })
    }

    /// Forgets the record of `id`; forgetting one that is not there is fine.
    pub fn remove(state: &StateDir, id: &ReplicaId) -> Result<(), SupervisorError> {
        journal::forget(state, id).map_err(|source| SupervisorError::Record {
            path: state.run_journal(),
            source,
        })
    }
}

/// The current Unix time in seconds.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A stable hash of a replica's spec (FNV-1a over its JSON, whose maps are ordered): two
/// starts with the same spec leave the replica alone, a changed spec replaces it.
pub fn spec_hash(spec: &ReplicaSpec) -> String {
    let json = serde_json::to_vec(spec).unwrap_or_default();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in json {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// Every record in the state folder, sorted by replica; damaged lines are skipped (and
/// logged).
pub fn read_records(state: &StateDir) -> Vec<ReplicaRecord> {
    journal::read(state).records
}

/// The status of every recorded replica, checked against `/proc`: a live one shows as
/// `running` with its tree's ports, CPU and memory; one whose pid ended or now belongs to
/// another process shows as `crashed` without a pid, and its record is otherwise ignored.
pub fn status_from_records(state: &StateDir) -> Vec<ReplicaStatus> {
    let records = read_records(state);
    // Unreadable, the table gives no statistics; the rows still say what runs.
    let table = Table::read().unwrap_or_default();
    let now = unix_now();
    records
        .into_iter()
        .map(|r| {
            // Unreadable now is not gone: shown running, as it most likely is. A process
            // that is readable must also carry the run's token to be this replica.
            let alive = match r.identity.liveness() {
                Liveness::Alive => token::carries_token(r.identity.pid, &r.instance),
                Liveness::Unreadable => true,
                Liveness::Zombie | Liveness::Gone => false,
            };
            let mut status = ReplicaStatus {
                service: r.service.to_string(),
                replica: r.replica,
                kind: UnitKind::Service,
                state: ReplicaState::Crashed,
                pid: None,
                ports: Vec::new(),
                restarts: r.restarts,
                uptime_s: None,
                cpu_percent: None,
                rss_bytes: None,
                reason: Some(format!("pid {} ended while unsupervised", r.identity.pid)),
                health: None,
                exit_code: None,
                signal: None,
                last_exit_s: None,
                gave_up_after: None,
            };
            if !alive && r.identity.liveness() == Liveness::Alive {
                status.reason = Some(format!(
                    "pid {} is not this replica (its record does not match the process)",
                    r.identity.pid
                ));
            }
            if alive {
                let members = tree::discover(
                    &table,
                    Roots {
                        leader: &r.identity,
                        instance: Some(&r.instance),
                        known: &HashMap::new(),
                    },
                );
                let stats = usage::stats(&members, r.identity.start_time);
                status.state = ReplicaState::Running;
                status.pid = Some(r.identity.pid);
                status.ports = stats.ports;
                status.uptime_s = Some(now.saturating_sub(r.started_at));
                status.cpu_percent = Some(stats.cpu_percent);
                status.rss_bytes = Some(stats.rss_bytes);
                status.reason = None;
            }
            status
        })
        .collect()
}

/// Stops the recorded replicas of `services` (all when empty) without a daemon: each goes
/// through the stop ladder (its recorded stop signal, then SIGKILL after `timeout`),
/// signalling only processes whose identity is verified; leftovers of a replica whose
/// main process already ended are found through its process group and instance token.
/// Records are removed. Returns the replicas that had processes to stop.
pub async fn stop_from_records(
    state: &StateDir,
    services: &[ServiceName],
    timeout: Duration,
) -> Result<Vec<ReplicaId>, SupervisorError> {
    let selected = |id: &ReplicaId| services.is_empty() || services.contains(&id.service);
    let contents = journal::read(state);
    let recorded = instances(&contents.records);
    let records: Vec<ReplicaRecord> = contents
        .records
        .into_iter()
        .filter(|r| selected(&r.id()))
        .collect();
    let mut tasks = tokio::task::JoinSet::new();
    for record in records {
        tasks.spawn(async move {
            let replica: Arc<dyn RunningReplica> = match UnixSupervisor
                .adopt(&record.identity, &record.instance)
                .await
            {
                Some(r) => r,
                // The process named is alive but lacks the run's token: not the fleet's,
                // whatever the record says, and neither are its session or group.
                None if record.identity.liveness() == Liveness::Alive => {
                    tracing::warn!(
                        replica = %record.id(),
                        pid = record.identity.pid,
                        "ignoring a record whose process does not carry its instance token"
                    );
                    return (record, false, Ok(false));
                }
                None => Arc::new(UnixReplica::leftovers(
                    record.identity.clone(),
                    record.instance.clone(),
                )),
            };
            let had_processes = replica.alive().await;
            let (_kill_tx, kill_rx) = watch::channel(false);
            let plan = StopPlan {
                signal: record.stop_signal,
                timeout,
            };
            let result = stop_replica(replica.as_ref(), plan, kill_rx).await;
            (record, had_processes, result.map(|_| true))
        });
    }
    let mut stopped = Vec::new();
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        let Ok((record, had_processes, result)) = joined else {
            continue;
        };
        match result {
            // Kept: a record whose process could not be vouched for is left as it is.
            Ok(false) => {}
            Ok(true) => {
                ReplicaRecord::remove(state, &record.id())?;
                if had_processes {
                    stopped.push(record.id());
                }
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if contents.damaged > 0 {
        let unrecorded = stop_unrecorded(state, &selected, &recorded, timeout).await?;
        stopped.extend(unrecorded);
        // Whatever the damage named is stopped now, unless it was of a service left running.
        if services.is_empty() {
            clear_damage(state)?;
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    stopped.sort();
    stopped.dedup();
    Ok(stopped)
}

/// The run tokens of `records`.
fn instances(records: &[ReplicaRecord]) -> HashSet<String> {
    records.iter().map(|r| r.instance.clone()).collect()
}

fn clear_damage(state: &StateDir) -> Result<(), SupervisorError> {
    journal::clear_damage(state).map_err(|source| SupervisorError::Record {
        path: state.run_journal(),
        source,
    })
}

/// The readable records, once the replicas that damaged lines of the journal may have
/// named are stopped (see [`stop_unrecorded`]) and those lines dropped: a new daemon
/// cannot adopt what it cannot read, and starting a second copy beside them would make two
/// fleets. The journal is read once when it is whole (it is, nearly always).
pub(crate) async fn adoptable_records(state: &StateDir, timeout: Duration) -> Vec<ReplicaRecord> {
    let contents = journal::read(state);
    if contents.damaged == 0 {
        return contents.records;
    }
    let recorded = instances(&contents.records);
    match stop_unrecorded(state, &|_: &ReplicaId| true, &recorded, timeout).await {
        Ok(stopped) if !stopped.is_empty() => {
            tracing::warn!(?stopped, "stopped replicas whose records were unreadable");
        }
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(error = %e, "cannot stop replicas whose records are unreadable");
            // Kept: the damage still says something may run unrecorded.
            return contents.records;
        }
    }
    if let Err(e) = clear_damage(state) {
        tracing::warn!(error = %e, "cannot drop the damaged replica records");
    }
    contents.records
}

/// Rewrites the journal with its live records only (emptied when there are none), so that
/// the next start reads what runs and not the history of every start and stop before.
pub fn tidy_records(state: &StateDir) {
    if let Err(e) = journal::tidy(state) {
        tracing::debug!(error = %e, "cannot tidy the replica records");
    }
}

/// Stops the runs of the `selected` replicas that no readable record names (their tokens
/// are not in `recorded`), found by their processes' environment ([`crate::unrecorded`]),
/// with SIGTERM then SIGKILL after `timeout` (the record that said otherwise is lost).
/// Returns the replicas that had processes to stop.
async fn stop_unrecorded(
    state: &StateDir,
    selected: &(dyn Fn(&ReplicaId) -> bool + Sync),
    recorded: &HashSet<String>,
    timeout: Duration,
) -> Result<Vec<ReplicaId>, SupervisorError> {
    let runs: Vec<_> = find_runs(state, selected)
        .into_iter()
        .filter(|run| !recorded.contains(&run.instance))
        .collect();
    let mut tasks = tokio::task::JoinSet::new();
    for run in runs {
        tasks.spawn(async move {
            let Some(replica) = UnixSupervisor.adopt(&run.identity, &run.instance).await else {
                return Ok(None);
            };
            tracing::info!(replica = %run.id, pid = run.identity.pid, "stopping a replica whose record is unreadable");
            let (_kill_tx, kill_rx) = watch::channel(false);
            let plan = StopPlan {
                signal: Signal::default(),
                timeout,
            };
            stop_replica(replica.as_ref(), plan, kill_rx)
                .await
                .map(|_| Some(run.id))
        });
    }
    let mut stopped = Vec::new();
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(Some(id))) => stopped.push(id),
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
            }
            Ok(Ok(None)) | Err(_) => {}
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    Ok(stopped)
}
