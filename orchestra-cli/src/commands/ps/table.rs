//! The `ps` table and the notes under it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use orchestra_core::spec::ProjectSpec;
use orchestra_core::state::UnitKind;
use orchestra_core::{ReplicaState, ReplicaStatus};

use crate::output::Output;
use crate::table::{self, Cell, Paint};

/// The `ps` table, with a REASON column when a row says why it is in its state (crashed,
/// waiting for a dependency, not started, a failed rerun, a task's exit).
pub(crate) fn render_table(rows: &[ReplicaStatus], out: Output) -> String {
    if rows.is_empty() {
        return "nothing is running\n".into();
    }
    let with_reason = rows.iter().any(|r| r.reason.is_some());
    let mut header = vec![
        "SERVICE", "STATE", "PID", "UPTIME", "RESTARTS", "PORTS", "CPU", "RSS",
    ];
    if with_reason {
        header.push("REASON");
    }
    let cells: Vec<Vec<Cell>> = rows
        .iter()
        .map(|r| {
            let mut cells: Vec<Cell> = vec![
                name(r).into(),
                Cell::painted(r.state.as_str(), state_paint(r.state)),
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
                cells.push(r.reason.clone().unwrap_or_else(|| "-".into()).into());
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
        if let (UnitKind::Service, Some(reason)) = (row.kind, &row.reason) {
            let _ = writeln!(text, "{}.{}: {reason}", row.service, row.replica);
        }
    }
    let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
    for row in rows.iter().filter(|r| r.kind == UnitKind::Service) {
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
