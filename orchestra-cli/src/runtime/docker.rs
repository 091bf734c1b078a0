//! Docker pieces of the runtime that need no engine of their own: containers no replica
//! accounts for, the ports of container replicas, and a Docker-mode fleet stopped without a
//! daemon.
//!
//! Without a daemon, [`stop_without_daemon`] adopts the containers through a short-lived
//! engine, stops them on the usual ladder through the Engine API (no signal to a pid that
//! belongs to the container's user), and removes whatever is left.

use std::collections::HashSet;
use std::sync::Arc;

use orchestra_core::protocol::{Phase, Progress};
use orchestra_core::spec::ProjectSpec;
use orchestra_core::{ReplicaId, ReplicaStatus, ServiceName, StateDir};
use orchestra_supervisor::Engine;
use orchestra_vendors::{DockerSupervisor, VendorError};
use tokio::sync::mpsc;

use super::Events;
use super::modes::FleetMode;
use crate::error::CliError;

/// Removes the project's service containers not in `known`, reporting each; returns their
/// names.
pub(super) async fn remove_stray_containers(
    backend: &DockerSupervisor,
    known: &HashSet<String>,
    events: &Events,
) -> Vec<String> {
    let strays = match backend.stray_containers(known).await {
        Ok(strays) => strays,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list the project's containers");
            return Vec::new();
        }
    };
    let mut removed = Vec::new();
    for stray in strays {
        tracing::info!(container = %stray.name, image = %stray.image, state = %stray.state, "removing a stray container");
        let message = match backend.remove_container(&stray.id).await {
            Ok(()) => {
                removed.push(stray.name.clone());
                format!("a stray container of {}, removed", stray.image)
            }
            Err(e) => format!("stray container, not removed: {e}"),
        };
        let _ = events.send(Progress {
            unit: stray.name,
            replica: None,
            phase: Phase::Stopped,
            message: Some(message),
        });
    }
    removed
}

/// Fills in the published port of running container replicas in `rows` read from the
/// records: their listening sockets live in the container's network namespace, where a
/// look at the host's `/proc` does not find them.
pub fn published_ports(state: &StateDir, rows: &mut [ReplicaStatus]) {
    let records = orchestra_supervisor::read_records(state);
    for row in rows
        .iter_mut()
        .filter(|r| r.pid.is_some() && r.ports.is_empty())
    {
        let port = records
            .iter()
            .find(|r| r.service.as_str() == row.service && r.replica == row.replica)
            .and_then(|r| r.port);
        row.ports.extend(port);
    }
}

/// What [`stop_without_daemon`] stopped.
#[derive(Debug, Default)]
pub struct Stopped {
    /// Replicas that were running.
    pub replicas: Vec<ReplicaId>,
    /// Containers no replica accounted for, removed.
    pub strays: Vec<String>,
}

/// Stops `services` (all when empty) of a Docker-mode fleet whose daemon is gone: adopts
/// their containers, stops them through the Engine API and, for a whole-fleet stop,
/// removes every other container of the project and forgets the mode.
pub async fn stop_without_daemon(
    project: &ProjectSpec,
    services: &[ServiceName],
) -> Result<Stopped, CliError> {
    let state = StateDir::at(&project.state_dir);
    let docker = orchestra_vendors::connect()
        .await
        .map_err(CliError::vendor("cannot stop the fleet's containers"))?;
    let backend = Arc::new(DockerSupervisor::new(docker, project.clone()));
    let engine = Engine::with_backend(state.clone(), backend.clone());
    let mut replicas = engine.adopt(project).await;
    replicas.retain(|id| services.is_empty() || services.contains(&id.service));
    let (events, _ignored) = mpsc::unbounded_channel();
    let outcome = engine.stop(services, events.clone()).await;
    if let Some(failure) = outcome.failures.first() {
        let failure = failure.to_wire();
        return Err(CliError::Unit {
            unit: failure.unit,
            reason: failure.reason,
        });
    }
    let mut strays = Vec::new();
    if services.is_empty() {
        strays = remove_stray_containers(&backend, &HashSet::new(), &events).await;
        FleetMode::Host
            .save(&state)
            .map_err(CliError::io("saving the fleet's mode"))?;
    }
    Ok(Stopped { replicas, strays })
}

/// Removes what a Docker-mode fleet leaves once all its services stopped: the images built
/// for them and, when no vendor uses it any more, the project network. Returns what was
/// removed (`image <tag>`, `network <name>`).
pub async fn remove_leftovers(project: &ProjectSpec) -> Result<Vec<String>, VendorError> {
    let docker = orchestra_vendors::connect().await?;
    orchestra_vendors::Vendors::new(docker, project.name.clone())
        .remove_service_leftovers()
        .await
}
