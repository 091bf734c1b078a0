//! `orchestra ps`: every replica and vendor of the fleet with its state; `--strays` and
//! `--ports` add what runs outside it.

mod outside;
mod table;

use std::io::Write;

use orchestra_config::Section;
use orchestra_core::protocol::{Event, Request};

use super::fleet::selection_or_all;
use crate::args::PsArgs;
use crate::context::Context;
use crate::daemon::client::{Answer, Client};
use crate::daemon::peer::trusted_state;
use crate::error::CliError;
use crate::hooks::{self, When};
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
    let from_daemon = match Client::connect(&state).await? {
        Some(client) => {
            let mut rows = Vec::new();
            let answer = client
                .request_or_silence(&Request::Status, |event| match event {
                    Event::Status { replicas } => rows.clone_from(replicas),
                    Event::Warning { message } => eprintln!("{} {message}", cx.out.yellow("!")),
                    _ => {}
                })
                .await?;
            match answer {
                Answer::Replied(_) => Some(rows),
                Answer::Unresponsive(silent) => {
                    eprintln!("warning: {silent}; showing the fleet from its records");
                    None
                }
            }
        }
        None => None,
    };
    let mut rows = if let Some(rows) = from_daemon {
        rows
    } else {
        let mut rows = orchestra_supervisor::status_from_records(&state);
        if FleetMode::saved(&state) == FleetMode::Docker {
            docker::published_ports(&state, &mut rows);
        }
        if !project.vendors.is_empty() {
            rows.extend(super::vendors::status_direct(&project).await);
        }
        rows
    };
    // Before narrowing: every replica of the fleet, shown or not, is the fleet.
    let outside = Outside::find(&project, &services, &rows, args);
    if !services.is_empty() {
        rows.retain(|r| services.iter().any(|s| s.as_str() == r.service));
    }
    let mut stdout = std::io::stdout().lock();
    let text = if args.json {
        let encoded = if outside.is_empty() {
            serde_json::to_string(&rows)
        } else {
            serde_json::to_string(&outside.json(&rows, &project.root))
        };
        let mut s = encoded.map_err(CliError::encode("the status"))?;
        s.push('\n');
        s
    } else {
        render_table(&rows, cx.out)
            + &notes(&project, &rows)
            + &outside.render(&project.root, cx.out)
    };
    stdout
        .write_all(text.as_bytes())
        .map_err(CliError::io("writing to stdout"))?;
    hooks::run(&project, When::After)
}
