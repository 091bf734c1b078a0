//! Adopting the replicas a previous daemon left running: their records are read, checked
//! against the processes they name, and each live one gets a job that supervises it again.

use std::collections::BTreeMap;

use orchestra_core::spec::ProjectSpec;
use orchestra_core::{ReplicaId, ServiceName};

use super::super::{lock, lock_scaled};
use super::{Fleet, UNSUPERVISED_STOP_TIMEOUT};
use crate::job::{JobConfig, ReplicaHandle};
use crate::records::{ReplicaRecord, adoptable_records};
use crate::unix::identity::{IdentityExt, Liveness};

impl Fleet {
    /// After an adoption, a service running another count than its file's was scaled by
    /// the daemon that died: its count holds here too.
    fn remember_adopted_counts(&self, project: &ProjectSpec) {
        let mut counts: BTreeMap<ServiceName, u32> = BTreeMap::new();
        for id in lock(&self.replicas).keys() {
            let count = counts.entry(id.service.clone()).or_default();
            *count = (*count).max(id.index + 1);
        }
        let mut scaled = lock_scaled(&self.scaled);
        for (name, count) in counts {
            if project
                .services
                .get(&name)
                .is_some_and(|s| s.scale != count)
            {
                scaled.entry(name).or_insert(count);
            }
        }
    }

    pub(super) async fn adopt(&self, project: &ProjectSpec) -> Vec<ReplicaId> {
        let mut adopted = Vec::new();
        for record in adoptable_records(&self.state, UNSUPERVISED_STOP_TIMEOUT).await {
            let id = record.id();
            if lock(&self.replicas).contains_key(&id) {
                continue;
            }
            let Some(service) = project.services.get(&record.service) else {
                continue;
            };
            if matches!(
                record.identity.liveness(),
                Liveness::Gone | Liveness::Zombie
            ) {
                let _ = ReplicaRecord::remove(&self.state, &id);
                continue;
            }
            let Some(running) = self.backend.adopt(&record.identity, &record.instance).await else {
                continue;
            };
            let config = JobConfig {
                spec: service.replica(record.replica),
                restart: service.restart,
                backoff: service.backoff,
                state: self.state.clone(),
                // The recorded hash: a changed spec is replaced by the next start.
                spec_hash: record.spec_hash.clone(),
                restarts: record.restarts,
                log_opener: self.log_opener(),
                deadline: service.task.map(|t| t.timeout),
            };
            let handle = ReplicaHandle::adopt(
                self.backend.clone(),
                config,
                running,
                record.started_at,
                Some(self.bus.clone()),
            );
            lock(&self.replicas).insert(id.clone(), handle.clone());
            // Adopted replicas count as ready; this only waits for the job to say so.
            let _ = handle.wait_ready().await;
            tracing::info!(replica = %id, pid = record.identity.pid, "adopted");
            adopted.push(id);
        }
        if !adopted.is_empty() {
            self.remember_adopted_counts(project);
        }
        adopted
    }
}
