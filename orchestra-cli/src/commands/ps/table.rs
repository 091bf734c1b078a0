//! The `ps` table and the notes under it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use orchestra_core::spec::ProjectSpec;
use orchestra_core::state::UnitKind;
use orchestra_core::{Health, ReplicaState, ReplicaStatus};

use super::explain::short_reason;
use crate::output::Output;
use crate::table::{self, Cell, Paint};

/// The `ps` table: HEALTH (`—` without a probe), and a REASON column when a row says why
/// it is in its state (crashed, waiting for a dependency, not started, a failed rerun, a
/// task's exit), in a few words.
pub(crate) fn render_table(rows: &[ReplicaStatus], out: Output) -> String {
    if rows.is_empty() {
        return "nothing is running\n".into();
    }
    let reasons: Vec<Option<String>> = rows.iter().map(short_reason).collect();
    let with_reason = reasons.iter().any(Option::is_some);
    let mut header = vec![
        "SERVICE", "STATE", "HEALTH", "PID", "UPTIME", "RESTARTS", "PORTS", "CPU", "RSS",
    ];
    if with_reason {
        header.push("REASON");
    }
    let cells: Vec<Vec<Cell>> = rows
        .iter()
        .zip(reasons)
        .map(|(r, reason)| {
            let mut cells: Vec<Cell> = vec![
                name(r).into(),
                Cell::painted(r.state.as_str(), state_paint(r.state)),
                match r.health {
                    Some(h) => Cell::painted(h.as_str(), health_paint(h)),
                    None => Cell::painted("—", Paint::Dim),
                },
                dash_or(r.pid).into(),
                r.uptime_s.map_or_else(|| "-".into(), format_uptime).into(),
                r.restarts.to_string().into(),
                if r.ports.is_empty() {
                    "-".into()
                } else {
                    r.ports
                        .iter()
                        .map(u16::to_string)
                        .collect::<Vec<_>>()
                        .join(",")
                        .into()
                },
                r.cpu_percent
                    .map_or_else(|| "-".into(), |c| format!("{c:.1}%"))
                    .into(),
                r.rss_bytes.map_or_else(|| "-".into(), format_bytes).into(),
            ];
            if with_reason {
                // A running replica with a reason is one to look at (a failed rerun).
                let paint = match r.state {
                    ReplicaState::Running => Paint::Yellow,
                    state => state_paint(state),
                };
                cells.push(Cell::painted(reason.unwrap_or_else(|| "-".into()), paint));
            }
            cells
        })
        .collect();
    table::render(&header, &cells, out)
}

/// `api.0` for a replica, `redis` for a vendor.
fn name(r: &ReplicaStatus) -> String {
    match r.kind {
        UnitKind::Vendor => r.service.clone(),
        UnitKind::Service => format!("{}.{}", r.service, r.replica),
    }
}

fn dash_or(value: Option<impl ToString>) -> String {
    value.map_or_else(|| "-".into(), |v| v.to_string())
}

fn health_paint(health: Health) -> Paint {
    match health {
        Health::Ready => Paint::Green,
        Health::Starting => Paint::Yellow,
        Health::Unhealthy => Paint::Red,
    }
}

/// Green when running, red when given up on, yellow on the way, dim when at rest.
fn state_paint(state: ReplicaState) -> Paint {
    match state {
        ReplicaState::Running => Paint::Green,
        ReplicaState::Crashed => Paint::Red,
        ReplicaState::Backoff
        | ReplicaState::Waiting
        | ReplicaState::Building
        | ReplicaState::Starting => Paint::Yellow,
        ReplicaState::Stopping | ReplicaState::Stopped | ReplicaState::Exited => Paint::Dim,
    }
}

/// What the table cannot say: why a replica is in its state (a probe that reached another
/// program, a crash, a failed rebuild), and a service running another count than its file
/// says (after `orchestra scale` or `start --scale`, until `stop`).
pub(super) fn notes(project: &ProjectSpec, rows: &[ReplicaStatus]) -> String {
    let mut text = String::new();
    for row in rows {
        // The whole reason, when the REASON column had to shorten it.
        if let (UnitKind::Service, Some(reason)) = (row.kind, &row.reason)
            && short_reason(row).as_deref() != Some(reason.as_str())
        {
            let _ = writeln!(text, "{}.{}: {reason}", row.service, row.replica);
        }
    }
    let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
    // A stopped service is listed with the replicas its file asks for: only the replicas
    // that exist are counted.
    let present =
        |r: &&ReplicaStatus| r.kind == UnitKind::Service && r.state != ReplicaState::Stopped;
    for row in rows.iter().filter(present) {
        *counts.entry(row.service.as_str()).or_default() += 1;
    }
    for (service, count) in counts {
        let Some(spec) = project
            .services
            .values()
            .find(|s| s.name.as_str() == service)
        else {
            continue;
        };
        if spec.scale != count {
            let _ = writeln!(
                text,
                "{service} runs {count} {}, its service.yml says {} (scaled until `orchestra stop`)",
                if count == 1 { "replica" } else { "replicas" },
                spec.scale
            );
        }
    }
    if text.is_empty() {
        text
    } else {
        format!("\n{text}")
    }
}

fn format_uptime(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{}s", s / 60, s % 60),
        s if s < 86_400 => format!("{}h{}m", s / 3600, (s % 3600) / 60),
        s => format!("{}d{}h", s / 86_400, (s % 86_400) / 3600),
    }
}

fn format_bytes(b: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    if b >= 1024 * 1024 * 1024 {
        format!("{:.1}G", b as f64 / (1024.0 * MIB))
    } else {
        format!("{:.1}M", b as f64 / MIB)
    }
}
