//! What `ps --strays` and `ps --ports` add to the table.

use std::collections::HashSet;
use std::path::Path;

use orchestra_core::spec::ProjectSpec;
use orchestra_core::{ReplicaStatus, ServiceName};
use orchestra_supervisor::{PortHolder, Stray};

use crate::args::PsArgs;
use crate::output::Output;
use crate::table::{self, Cell};

/// What `ps --strays` and `ps --ports` add: processes of the project outside the fleet,
/// found by this process (with or without a daemon) and never touched.
pub(super) struct Outside {
    strays: Option<Vec<Stray>>,
    ports: Option<Vec<PortHolder>>,
}

impl Outside {
    pub(super) fn find(
        project: &ProjectSpec,
        services: &[ServiceName],
        rows: &[ReplicaStatus],
        args: &PsArgs,
    ) -> Self {
        let fleet: HashSet<i32> = rows.iter().filter_map(|r| r.pid).collect();
        let strays = args.strays.then(|| {
            let services: Vec<ServiceName> = if services.is_empty() {
                project.services.keys().cloned().collect()
            } else {
                services.to_vec()
            };
            orchestra_supervisor::find_strays(project, &services, &fleet)
        });
        let ports = args
            .ports
            .then(|| orchestra_supervisor::strays::ports_held_under(&project.root, &fleet));
        Self { strays, ports }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.strays.is_none() && self.ports.is_none()
    }

    /// `{"replicas": [...], "strays": [...], "ports": [...]}`, with only the lists asked for.
    pub(super) fn json(&self, rows: &[ReplicaStatus], root: &Path) -> serde_json::Value {
        let mut out = serde_json::json!({ "replicas": rows });
        if let Some(strays) = &self.strays {
            out["strays"] = strays
                .iter()
                .map(|s| {
                    serde_json::json!({
                        "service": s.service, "pid": s.pid, "reason": s.reason.to_string(),
                        "command": s.cmdline, "cwd": s.cwd,
                    })
                })
                .collect();
        }
        if let Some(ports) = &self.ports {
            out["ports"] = ports
                .iter()
                .map(|h| {
                    serde_json::json!({
                        "port": h.port, "pid": h.pid, "command": h.cmdline,
                        "dir": h.cwd.as_deref().map(|c| shown_dir(c, root)),
                    })
                })
                .collect();
        }
        out
    }

    pub(super) fn render(&self, root: &Path, out: Output) -> String {
        let mut text = String::new();
        if let Some(strays) = &self.strays {
            text.push('\n');
            text.push_str(&if strays.is_empty() {
                "no copy of a service runs outside Orchestra\n".into()
            } else {
                let rows: Vec<Vec<Cell>> = strays
                    .iter()
                    .map(|s| {
                        vec![
                            s.service.to_string().into(),
                            s.pid.to_string().into(),
                            s.reason.to_string().into(),
                            s.cmdline.clone().into(),
                        ]
                    })
                    .collect();
                table::render(&["SERVICE", "PID", "REASON", "COMMAND"], &rows, out)
            });
        }
        if let Some(ports) = &self.ports {
            text.push('\n');
            text.push_str(&if ports.is_empty() {
                "no process of the project outside the fleet listens on a port\n".into()
            } else {
                let rows: Vec<Vec<Cell>> = ports
                    .iter()
                    .map(|h| {
                        let dir = h
                            .cwd
                            .as_deref()
                            .map_or_else(|| "-".into(), |c| shown_dir(c, root));
                        vec![
                            h.port.to_string().into(),
                            h.pid.to_string().into(),
                            dir.into(),
                            h.cmdline.clone().into(),
                        ]
                    })
                    .collect();
                table::render(&["PORT", "PID", "DIR", "COMMAND"], &rows, out)
            });
        }
        text
    }
}

/// `dir` relative to the project root (`.` for the root itself).
fn shown_dir(dir: &Path, root: &Path) -> String {
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    match dir.strip_prefix(&root) {
        Ok(rel) if rel.as_os_str().is_empty() => ".".into(),
        Ok(rel) => rel.display().to_string(),
        Err(_) => dir.display().to_string(),
    }
}
