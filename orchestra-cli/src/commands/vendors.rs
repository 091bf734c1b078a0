//! `orchestra vendors up|down|ps|logs`: the project's third-party containers.

use std::io::Write;

use orchestra_config::Section;
use orchestra_core::VendorName;
use orchestra_core::protocol::Request;
use orchestra_core::spec::ProjectSpec;
use orchestra_logs::{Formatter, LogKind, Query, Selection};

use super::fleet;
use crate::args::{VendorsAction, VendorsArgs};
use crate::context::Context;
use crate::daemon::client::Client;
use crate::error::CliError;
use crate::hooks::{self, When};

/// Runs one `vendors` action.
pub async fn run(cx: &mut Context, args: &VendorsArgs) -> Result<(), CliError> {
    if args.action != VendorsAction::Logs
        && (args.follow || args.lines.is_some() || args.timestamps)
    {
        return Err(CliError::usage(
            "-f, -n and -t are options of `vendors logs`",
            "e.g. orchestra vendors logs -f redis",
        ));
    }
    // Only `up` needs the files as they are now; the rest act on what runs.
    let project = if matches!(args.action, VendorsAction::Up) {
        cx.resolve(Section::Vendors)?
    } else {
        cx.resolve_running(Section::Vendors)?
    };
    let names = select_vendors(&project, &args.vendors)?;
    hooks::run(&project, When::Before)?;
    let state = crate::daemon::peer::trusted_state(&project)?;
    match args.action {
        VendorsAction::Up => {
            if project.vendors.is_empty() {
                say_no_vendors(cx);
                return Ok(());
            }
            let client = Client::connect_or_spawn(&state).await?;
            let request = Request::VendorsUp {
                project: Box::new(project.clone()),
                vendors: names,
            };
            let reply = fleet::send(client, &request, cx.out).await?;
            fleet::finish(&project, &reply, cx.out, "up")?;
        }
        VendorsAction::Down => {
            if project.vendors.is_empty() {
                say_no_vendors(cx);
                return Ok(());
            }
            down(&project, &names, args.volumes, cx.out).await?;
        }
        VendorsAction::Ps => {
            let rows = if project.vendors.is_empty() {
                Vec::new()
            } else {
                vendors_client(&project)
                    .await?
                    .status()
                    .await
                    .map_err(CliError::vendor("cannot list the vendors"))?
            };
            let text = super::ps::render_table(&rows, cx.out);
            std::io::stdout()
                .lock()
                .write_all(text.as_bytes())
                .map_err(CliError::io("writing to stdout"))?;
        }
        VendorsAction::Logs => {
            let mut selection = Selection::all().kinds(&[LogKind::Vendor]);
            if !names.is_empty() {
                selection = selection.units(names.iter().map(ToString::to_string));
            }
            let view = super::logs::View {
                json: false,
                formatter: Formatter::new(&[], cx.out.color, args.timestamps),
            };
            let (lines, follow) = (args.lines, args.follow);
            super::logs::show(&state, selection, Query::new(), lines, follow, view).await?;
        }
    }
    hooks::run(&project, When::After)
}

/// Takes vendors down: through the daemon when one runs (it also stops streaming their
/// logs), directly otherwise. Runs no hooks: the calling command does.
pub async fn down(
    project: &ProjectSpec,
    names: &[VendorName],
    volumes: bool,
    out: crate::output::Output,
) -> Result<(), CliError> {
    let state = crate::daemon::peer::trusted_state(project)?;
    if let Some(client) = Client::connect(&state).await? {
        let request = Request::VendorsDown {
            project: Box::new(project.clone()),
            vendors: names.to_vec(),
            volumes,
        };
        let reply = fleet::send(client, &request, out).await?;
        if !reply.ok {
            for failure in &reply.failures {
                fleet::print_failure(failure, out);
            }
            return Err(CliError::NotDone {
                verb: "taken down",
                units: fleet::failed_units(&reply.failures),
            });
        }
        return Ok(());
    }
    let removed = vendors_client(project)
        .await?
        .down(names, volumes)
        .await
        .map_err(CliError::vendor("cannot take the vendors down"))?;
    if !out.quiet {
        let started = std::time::Instant::now();
        for line in crate::runtime::vendors::taken_down(&removed, volumes) {
            println!("{}", fleet::progress_line(&line, out, started));
        }
    }
    Ok(())
}

/// The vendors' `ps` rows straight from the engine, for when no daemon runs; empty when
/// the engine cannot be reached (ps must still show the services).
pub async fn status_direct(project: &ProjectSpec) -> Vec<orchestra_core::ReplicaStatus> {
    match vendors_client(project).await {
        Ok(v) => v.status().await.unwrap_or_default(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot ask Docker about the vendors");
            Vec::new()
        }
    }
}

async fn vendors_client(project: &ProjectSpec) -> Result<orchestra_vendors::Vendors, CliError> {
    let docker = orchestra_vendors::connect()
        .await
        .map_err(CliError::vendor("cannot reach Docker"))?;
    Ok(orchestra_vendors::Vendors::new(
        docker,
        project.name.clone(),
    ))
}

fn say_no_vendors(cx: &Context) {
    if !cx.out.quiet {
        println!("this project has no vendors (add them under `vendors:` in orchestra.yml)");
    }
}

/// Validates vendor names given on the command line.
fn select_vendors(project: &ProjectSpec, args: &[String]) -> Result<Vec<VendorName>, CliError> {
    let all: Vec<VendorName> = project.vendors.keys().cloned().collect();
    Ok(orchestra_config::select_vendors(&all, args)?)
}
