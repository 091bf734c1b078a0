//! The table's rows, moved by status answers and fleet events.

use std::time::Duration;

use orchestra_core::{ProcessEnd, ServiceName};

use super::*;

pub(crate) fn replica(service: &str, index: u32) -> ReplicaId {
    ReplicaId::new(ServiceName::new(service).unwrap(), index)
}

pub(crate) fn running(service: &str, index: u32, pid: i32) -> ReplicaStatus {
    ReplicaStatus {
        state: ReplicaState::Running,
        pid: Some(pid),
        ..stopped(service, index, UnitKind::Service)
    }
}

fn fleet_of(services: &[&str]) -> Fleet {
    let services: Vec<(&str, bool)> = services.iter().map(|s| (*s, false)).collect();
    Fleet::of_units(&services, &[("redis", true)])
}

fn labels(fleet: &Fleet) -> Vec<String> {
    fleet.rows().iter().map(Row::label).collect()
}

#[test]
fn configured_units_without_status_are_listed_stopped_services_first() {
    let mut fleet = fleet_of(&["web", "api"]);
    fleet.set_status(vec![running("web", 1, 11), running("web", 0, 10)]);
    assert_eq!(labels(&fleet), ["api.0", "web.0", "web.1", "redis"]);
    assert!(fleet.rows()[0].configured_only);
    assert_eq!(fleet.rows()[0].status.state, ReplicaState::Stopped);
    assert_eq!(fleet.replicas("web"), 2);
    assert_eq!(fleet.replicas("api"), 0);
}

#[test]
fn events_move_rows_until_the_next_status() {
    let mut fleet = fleet_of(&["api"]);
    fleet.set_status(vec![running("api", 0, 10)]);
    fleet.apply(&FleetEvent::Exited {
        replica: replica("api", 0),
        end: ProcessEnd::Signalled(9),
        ran: Duration::from_secs(2),
    });
    let row = &fleet.rows()[0];
    assert_eq!(row.status.state, ReplicaState::Crashed);
    assert_eq!(row.status.pid, None);
    assert_eq!(fleet.reason(row), Some("killed by SIGKILL after 2.0s"));
    fleet.apply(&FleetEvent::Restarting {
        replica: replica("api", 0),
        delay: Duration::from_millis(100),
        attempt: 1,
    });
    assert_eq!(fleet.rows()[0].status.state, ReplicaState::Backoff);
    fleet.apply(&FleetEvent::Started {
        replica: replica("api", 0),
        pid: 12,
        restarts: 1,
    });
    let row = &fleet.rows()[0];
    assert_eq!(
        (row.status.state, row.status.pid, row.status.restarts),
        (ReplicaState::Starting, Some(12), 1)
    );
    assert_eq!(fleet.reason(row), None);
}

#[test]
fn a_new_replica_replaces_the_stand_in_row() {
    let mut fleet = fleet_of(&["api"]);
    fleet.apply(&FleetEvent::Ready {
        replica: replica("api", 1),
        pid: 7,
    });
    assert_eq!(labels(&fleet), ["api.1", "redis"]);
    assert_eq!(fleet.rows()[0].status.state, ReplicaState::Running);
    assert_eq!(fleet.replicas("api"), 1);
}

#[test]
fn service_activity_shows_where_rows_have_no_reason() {
    let mut fleet = fleet_of(&["api"]);
    let api = ServiceName::new("api").unwrap();
    fleet.apply(&FleetEvent::BuildFailed {
        service: api.clone(),
        reason: "build failed (exit 2)".into(),
    });
    assert_eq!(
        fleet.reason(&fleet.rows()[0]),
        Some("build failed (exit 2)")
    );
    fleet.apply(&FleetEvent::GaveUp {
        replica: replica("api", 0),
        restarts: 5,
        reason: "exited with code 1".into(),
    });
    assert_eq!(
        fleet.reason(&fleet.rows()[0]),
        Some("gave up after 5 restarts")
    );
    fleet.apply(&FleetEvent::BuildSucceeded {
        service: api,
        took: Duration::from_secs(1),
    });
    fleet.apply(&FleetEvent::Stopped {
        replica: replica("api", 0),
    });
    assert_eq!(fleet.reason(&fleet.rows()[0]), None);
}

#[test]
fn health_is_known_only_for_probed_units() {
    let mut fleet = fleet_of(&["api"]);
    fleet.services.insert("web".into(), true);
    fleet.set_status(vec![running("api", 0, 1), running("web", 0, 2)]);
    let healths: Vec<&str> = fleet.rows().iter().map(|r| fleet.health(r)).collect();
    assert_eq!(healths, ["-", "ready", "-"]);
    let summary = fleet.summary();
    assert_eq!(
        summary,
        [(ReplicaState::Running, 2), (ReplicaState::Stopped, 1)]
    );
}
