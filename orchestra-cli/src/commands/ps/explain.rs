//! What `ps` adds to the rows the fleet reports so that the table explains itself: a row
//! for every configured service and vendor (stopped ones too), the HEALTH of each, and a
//! short REASON (`exit 1 after 0.4s`, `killed by SIGKILL`, `gave up after 5 restarts`,
//! `build failed: serving the previous build`, `waiting for users`).

use std::time::Duration;

use orchestra_core::spec::ProjectSpec;
use orchestra_core::state::UnitKind;
use orchestra_core::{Health, HumanDuration, ReplicaState, ReplicaStatus, ServiceName};

/// How much of a long reason the REASON column shows; the whole is in the notes below.
const SHORT_REASON: usize = 60;

/// Adds a `stopped` row for each configured replica of `services` (all when empty) and,
/// for the whole fleet, each vendor that has none; then fills in every row's health.
pub(super) fn complete(
    project: &ProjectSpec,
    services: &[ServiceName],
    rows: &mut Vec<ReplicaStatus>,
) {
    let has = |rows: &[ReplicaStatus], kind, name: &str| {
        rows.iter().any(|r| r.kind == kind && r.service == name)
    };
    for spec in project.services.values() {
        if !services.is_empty() && !services.contains(&spec.name) {
            continue;
        }
        if !has(rows, UnitKind::Service, spec.name.as_str()) {
            for index in 0..spec.scale.max(1) {
                rows.push(ReplicaStatus::new(
                    spec.name.as_str(),
                    index,
                    UnitKind::Service,
                    ReplicaState::Stopped,
                ));
            }
        }
    }
    if services.is_empty() {
        for name in project.vendors.keys() {
            if !has(rows, UnitKind::Vendor, name.as_str()) {
                rows.push(ReplicaStatus::new(
                    name.as_str(),
                    0,
                    UnitKind::Vendor,
                    ReplicaState::Stopped,
                ));
            }
        }
    }
    // Services first, then vendors; each by name and replica.
    rows.sort_by(|a, b| {
        (a.kind == UnitKind::Vendor, &a.service, a.replica).cmp(&(
            b.kind == UnitKind::Vendor,
            &b.service,
            b.replica,
        ))
    });
    for row in rows.iter_mut() {
        if row.health.is_none() {
            row.health = health(project, row);
        }
    }
}

/// What the readiness probe says, from the row's state: none without a probe.
fn health(project: &ProjectSpec, row: &ReplicaStatus) -> Option<Health> {
    let probed = match row.kind {
        UnitKind::Service => project
            .services
            .values()
            .find(|s| s.name.as_str() == row.service)
            .is_some_and(|s| s.ready.is_some()),
        UnitKind::Vendor => project
            .vendors
            .iter()
            .find(|(name, _)| name.as_str() == row.service)
            .is_some_and(|(_, v)| v.ready.is_some()),
    };
    if !probed {
        return None;
    }
    match row.state {
        ReplicaState::Running => Some(Health::Ready),
        // A replica starting with a reason is one whose probe is answered by someone else.
        ReplicaState::Starting if row.reason.is_some() => Some(Health::Unhealthy),
        ReplicaState::Starting => Some(Health::Starting),
        ReplicaState::Backoff | ReplicaState::Crashed
            if row
                .reason
                .as_deref()
                .is_some_and(|r| r.starts_with("not ready")) =>
        {
            Some(Health::Unhealthy)
        }
        _ => None,
    }
}

/// The REASON column: why the row is in its state, in a few words.
pub(super) fn short_reason(row: &ReplicaStatus) -> Option<String> {
    if let Some(n) = row.gave_up_after {
        return Some(format!(
            "gave up after {n} {}",
            if n == 1 { "restart" } else { "restarts" }
        ));
    }
    let long = row.reason.as_deref();
    if let Some((why, _)) = long.and_then(|l| l.split_once("; still running the previous build")) {
        let what = why.split(" (").next().unwrap_or(why);
        return Some(format!("{what}: serving the previous build"));
    }
    let ended = matches!(
        row.state,
        ReplicaState::Backoff | ReplicaState::Crashed | ReplicaState::Exited
    );
    if ended {
        if let Some(signal) = &row.signal {
            return Some(format!("killed by {signal}"));
        }
        if let Some(code) = row.exit_code {
            return Some(match row.last_exit_s {
                Some(s) => format!("exit {code} after {}", seconds(s)),
                None => format!("exit {code}"),
            });
        }
    }
    long.map(|l| {
        let first = l.split("; ").next().unwrap_or(l);
        if first.chars().count() > SHORT_REASON {
            let cut: String = first.chars().take(SHORT_REASON - 1).collect();
            format!("{cut}…")
        } else {
            first.to_owned()
        }
    })
}

/// `0.4s` under ten seconds, `1m30s` above.
fn seconds(s: f64) -> String {
    if s < 10.0 {
        format!("{s:.1}s")
    } else {
        HumanDuration(Duration::from_secs_f64(s.max(0.0).round())).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(state: ReplicaState) -> ReplicaStatus {
        ReplicaStatus::new("api", 0, UnitKind::Service, state)
    }

    #[test]
    fn reasons_are_short() {
        let mut r = row(ReplicaState::Backoff);
        r.exit_code = Some(1);
        r.last_exit_s = Some(0.43);
        r.reason = Some("exited with code 1".into());
        assert_eq!(short_reason(&r).as_deref(), Some("exit 1 after 0.4s"));

        let mut r = row(ReplicaState::Crashed);
        r.signal = Some("SIGKILL".into());
        assert_eq!(short_reason(&r).as_deref(), Some("killed by SIGKILL"));

        let mut r = row(ReplicaState::Crashed);
        r.gave_up_after = Some(5);
        r.exit_code = Some(1);
        r.reason = Some("exited with code 1; gave up after 5 restarts in a row".into());
        assert_eq!(
            short_reason(&r).as_deref(),
            Some("gave up after 5 restarts")
        );

        let mut r = row(ReplicaState::Running);
        r.reason = Some("build failed (exit 2); still running the previous build".into());
        assert_eq!(
            short_reason(&r).as_deref(),
            Some("build failed: serving the previous build")
        );

        let mut r = row(ReplicaState::Waiting);
        r.reason = Some("waiting for users".into());
        assert_eq!(short_reason(&r).as_deref(), Some("waiting for users"));

        assert_eq!(short_reason(&row(ReplicaState::Stopped)), None);
        let mut r = row(ReplicaState::Exited);
        r.exit_code = Some(0);
        r.last_exit_s = Some(75.0);
        assert_eq!(short_reason(&r).as_deref(), Some("exit 0 after 1m15s"));
    }
}
