//! `orchestra ps`: every replica and vendor of the fleet with its state; `--strays` and
//! `--ports` add what runs outside it.

mod explain;
mod outside;
mod table;
mod watch;

use std::io::Write;

use orchestra_config::Section;
use orchestra_core::protocol::{Event, Request};
use orchestra_core::spec::ProjectSpec;
use orchestra_core::{ReplicaStatus, ServiceName, StateDir};

use super::fleet::selection_or_all;
use crate::args::PsArgs;
use crate::context::Context;
use crate::daemon::client::{Answer, Client};
use crate::daemon::peer::trusted_state;
use crate::error::CliError;
use crate::hooks::{self, When};
use crate::output::Output;
use crate::runtime::{FleetMode, docker};
use outside::Outside;
use table::notes;
pub(crate) use table::render_table;

/// `orchestra ps`.
pub async fn ps(cx: &mut Context, args: &PsArgs) -> Result<(), CliError> {
    let project = cx.resolve_running(Section::Ps)?;
    let services = selection_or_all(cx, &args.select.services)?;
    hooks::run(&project, When::Before)?;
    let state = trusted_state(&project)?;
    if args.watch {
        watch::run(&project, &services, &state, args, cx.out).await?;
    } else {
        let text = frame(&project, &services, &state, args, cx.out).await?;
        std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .map_err(CliError::io("writing to stdout"))?;
    }
    hooks::run(&project, When::After)
}

/// One `ps` output: the table (or JSON) as the fleet is now.
async fn frame(
    project: &ProjectSpec,
    services: &[ServiceName],
    state: &StateDir,
    args: &PsArgs,
    out: Output,
) -> Result<String, CliError> {
    let mut rows = fetch(project, state, out).await?;
    // Before narrowing: every replica of the fleet, shown or not, is the fleet.
    let outside = Outside::find(project, services, &rows, args);
    if !services.is_empty() {
        rows.retain(|r| services.iter().any(|s| s.as_str() == r.service));
    }
    explain::complete(project, services, &mut rows);
    Ok(if args.json {
        let encoded = if outside.is_empty() {
            serde_json::to_string(&rows)
        } else {
            serde_json::to_string(&outside.json(&rows, &project.root))
        };
        let mut s = encoded.map_err(CliError::encode("the status"))?;
        s.push('\n');
        s
    } else {
        let mut text = render_table(&rows, out);
        // Every configured unit has a row, stopped ones too: say so when none of them runs.
        if !rows.is_empty() && rows.iter().all(|r| r.state.is_final()) {
            text.push_str("nothing is running\n");
        }
        text + &notes(project, &rows) + &outside.render(&project.root, out)
    })
}

/// The fleet's rows: from the daemon when one answers, else from the records (and the
/// engine, for containers and vendors).
async fn fetch(
    project: &ProjectSpec,
    state: &StateDir,
    out: Output,
) -> Result<Vec<ReplicaStatus>, CliError> {
    if let Some(client) = Client::connect(state).await? {
        let mut rows = Vec::new();
        let answer = client
            .request_or_silence(&Request::Status, |event| match event {
                Event::Status { replicas } => rows.clone_from(replicas),
                Event::Warning { message } => eprintln!("{} {message}", out.yellow("!")),
                _ => {}
            })
            .await?;
        match answer {
            Answer::Replied(_) => return Ok(rows),
            Answer::Unresponsive(silent) => {
                eprintln!("warning: {silent}; showing the fleet from its records");
            }
        }
    }
    let mut rows = orchestra_supervisor::status_from_records(state);
    if FleetMode::saved(state) == FleetMode::Docker {
        docker::published_ports(state, &mut rows);
    }
    if !project.vendors.is_empty() {
        rows.extend(super::vendors::status_direct(project).await);
    }
    Ok(rows)
}
