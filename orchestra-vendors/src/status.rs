//! A vendor container as a `ps` row.

use std::time::{SystemTime, UNIX_EPOCH};

use bollard::models::{ContainerInspectResponse, ContainerStateStatusEnum, HealthStatusEnum};
use orchestra_core::state::UnitKind;
use orchestra_core::{Health, ReplicaState, ReplicaStatus};

use crate::names::LABEL_VENDOR;

/// The `ps` row of an inspected vendor container.
pub(crate) fn row(info: &ContainerInspectResponse) -> ReplicaStatus {
    let vendor = info
        .config
        .as_ref()
        .and_then(|c| c.labels.as_ref())
        .and_then(|l| l.get(LABEL_VENDOR))
        .cloned()
        .unwrap_or_default();
    let state = info.state.clone().unwrap_or_default();
    let code = state.exit_code.unwrap_or(0);
    let health = state.health.as_ref().and_then(|h| h.status);
    let (replica_state, reason) = match state.status {
        Some(ContainerStateStatusEnum::RUNNING) => match health {
            Some(HealthStatusEnum::STARTING) => (ReplicaState::Starting, None),
            Some(HealthStatusEnum::UNHEALTHY) => (ReplicaState::Running, Some("unhealthy".into())),
            _ => (ReplicaState::Running, None),
        },
        Some(ContainerStateStatusEnum::CREATED) => (ReplicaState::Starting, None),
        Some(ContainerStateStatusEnum::RESTARTING) => (
            ReplicaState::Backoff,
            Some(format!("exited with code {code}, restarting")),
        ),
        Some(ContainerStateStatusEnum::REMOVING) => (ReplicaState::Stopping, None),
        Some(ContainerStateStatusEnum::DEAD) => (ReplicaState::Crashed, state.error.clone()),
        // Docker does not record whether a stop was asked for: a non-zero code is shown,
        // not judged.
        _ if code != 0 => (
            ReplicaState::Stopped,
            Some(format!("exited with code {code}")),
        ),
        _ => (ReplicaState::Stopped, None),
    };
    let alive = replica_state.is_alive();
    let ports = crate::inspect::published_ports(info);
    ReplicaStatus {
        service: vendor,
        replica: 0,
        kind: UnitKind::Vendor,
        state: replica_state,
        pid: state
            .pid
            .filter(|&p| p > 0 && alive)
            .and_then(|p| i32::try_from(p).ok()),
        ports,
        restarts: info
            .restart_count
            .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX)),
        uptime_s: if alive {
            state
                .started_at
                .as_deref()
                .and_then(crate::inspect::unix_time)
                .and_then(|(start, _)| {
                    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
                    Some(now.saturating_sub(start))
                })
        } else {
            None
        },
        cpu_percent: None,
        rss_bytes: None,
        reason,
        // The engine's own healthcheck, when the image has one.
        health: match health {
            Some(HealthStatusEnum::HEALTHY) => Some(Health::Ready),
            Some(HealthStatusEnum::STARTING) => Some(Health::Starting),
            Some(HealthStatusEnum::UNHEALTHY) => Some(Health::Unhealthy),
            _ => None,
        },
        exit_code: (!alive && state.exit_code.is_some())
            .then_some(code)
            .and_then(|c| i32::try_from(c).ok()),
        signal: None,
        last_exit_s: None,
        gave_up_after: None,
    }
}

#[cfg(test)]
mod tests {
    use bollard::models::{ContainerState, PortBinding};

    use super::*;

    fn container(status: ContainerStateStatusEnum, code: i64) -> ContainerInspectResponse {
        ContainerInspectResponse {
            state: Some(ContainerState {
                status: Some(status),
                exit_code: Some(code),
                pid: Some(if status == ContainerStateStatusEnum::RUNNING {
                    42
                } else {
                    0
                }),
                started_at: Some("2024-03-01T12:34:56.5Z".into()),
                ..ContainerState::default()
            }),
            config: Some(bollard::models::ContainerConfig {
                labels: Some([(LABEL_VENDOR.to_owned(), "pg".to_owned())].into()),
                ..Default::default()
            }),
            network_settings: Some(bollard::models::NetworkSettings {
                ports: Some(
                    [(
                        "5432/tcp".to_owned(),
                        Some(vec![PortBinding {
                            host_ip: Some("127.0.0.1".into()),
                            host_port: Some("15432".into()),
                        }]),
                    )]
                    .into(),
                ),
                ..Default::default()
            }),
            restart_count: Some(2),
            ..ContainerInspectResponse::default()
        }
    }

    #[test]
    fn a_running_container_is_a_running_vendor_row_with_its_port() {
        let row = row(&container(ContainerStateStatusEnum::RUNNING, 0));
        assert_eq!(row.service, "pg");
        assert_eq!(row.kind, UnitKind::Vendor);
        assert_eq!(row.state, ReplicaState::Running);
        assert_eq!(
            (row.pid, row.ports.as_slice(), row.restarts),
            (Some(42), &[15432][..], 2)
        );
        assert!(row.uptime_s.is_some());
    }

    #[test]
    fn stopped_and_restarting_containers_say_why() {
        let exited = row(&container(ContainerStateStatusEnum::EXITED, 137));
        assert_eq!(exited.state, ReplicaState::Stopped);
        assert_eq!(exited.reason.as_deref(), Some("exited with code 137"));
        assert_eq!((exited.pid, exited.uptime_s), (None, None));
        let restarting = row(&container(ContainerStateStatusEnum::RESTARTING, 1));
        assert_eq!(restarting.state, ReplicaState::Backoff);
    }
}
