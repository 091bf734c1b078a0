//! `orchestra test --acceptance`: run the acceptance tests against the fleet as it runs,
//! starting (as `start` would) only the selected services that do not run, then take down
//! what this run started. What was already running is left as it was: never restarted,
//! even when the `test:` section changes the environment the tests see.

use std::collections::BTreeSet;

use orchestra_core::protocol::{Event, Request, StartRequest};
use orchestra_core::spec::ProjectSpec;
use orchestra_core::state::UnitKind;
use orchestra_core::{ReplicaState, ServiceName, StateDir, VendorName};

use super::fleet;
use super::test::{Run, Target, Verdict, print_grouped, run_command};
use crate::daemon::client::{Client, Reply};
use crate::error::CliError;
use crate::output::Output;
use crate::runtime::FleetMode;

/// What was running before this run, so that only the rest is taken down afterwards.
#[derive(Default)]
struct Before {
    services: BTreeSet<String>,
    vendors: BTreeSet<String>,
}

/// Starts those of `selected` that do not run (with their dependencies and vendors) from
/// `as_started`, the project as `start` resolves it; runs the acceptance commands of `project`
/// (resolved for `test`) and the project's; and tears down what it started.
pub(crate) async fn run(
    project: &ProjectSpec,
    as_started: &ProjectSpec,
    selected: &[ServiceName],
    out: Output,
    width: usize,
) -> Result<Vec<Run>, CliError> {
    let state = crate::daemon::peer::trusted_state(project)?;
    let before = running_before(&state).await?;
    let missing: Vec<ServiceName> = selected
        .iter()
        .filter(|s| !before.services.contains(s.as_str()))
        .cloned()
        .collect();
    let reply = if missing.is_empty() {
        Ok(Reply {
            ok: true,
            failures: Vec::new(),
        })
    } else {
        let client = Client::connect_or_spawn(&state).await?;
        let request = Request::Start(StartRequest {
            project: Box::new(as_started.clone()),
            services: missing,
            scale: std::collections::BTreeMap::new(),
            no_build: false,
            rerun: false,
            keep_strays: false,
            // Into the fleet's own mode: a fleet run with --docker stays in Docker.
            docker: FleetMode::saved(&state) == FleetMode::Docker,
        });
        fleet::send(client, &request, out).await
    };
    let result = match reply {
        Ok(reply) if reply.ok => Ok(run_acceptance(project, selected, out, width).await),
        Ok(reply) => {
            for failure in &reply.failures {
                fleet::print_failure(failure, out);
            }
            Err(CliError::NotDone {
                verb: "started, so the acceptance tests did not run",
                units: fleet::failed_units(&reply.failures),
            })
        }
        Err(e) => Err(e),
    };
    tear_down(project, &state, &before, out).await?;
    result?
}

async fn run_acceptance(
    project: &ProjectSpec,
    selected: &[ServiceName],
    out: Output,
    width: usize,
) -> Result<Vec<Run>, CliError> {
    let mut targets = Vec::new();
    for name in selected {
        let service = &project.services[name];
        if let Some(command) = &service.acceptance {
            // The acceptance tests see the service as its first replica does: PORT,
            // vendor addresses and all.
            let target = Target {
                name: format!("{name} (acceptance)"),
                dir: service.dir.clone(),
                env: service.replica(0).env,
            };
            targets.push((target, command.clone()));
        }
    }
    if let Some(command) = &project.acceptance {
        let target = Target {
            name: "project (acceptance)".into(),
            dir: project.root.clone(),
            env: project.env.clone(),
        };
        targets.push((target, command.clone()));
    }
    let mut runs = Vec::new();
    for (target, command) in targets {
        let run = run_command(target, Some(command), None, width).await?;
        if !out.quiet && (run.verdict == Verdict::Fail || out.verbose > 0) {
            print_grouped(&run, out);
        }
        runs.push(run);
    }
    Ok(runs)
}

async fn running_before(state: &StateDir) -> Result<Before, CliError> {
    let Some(client) = Client::connect(state).await? else {
        return Ok(Before::default());
    };
    let mut before = Before::default();
    client
        .request(&Request::Status, |event| {
            if let Event::Status { replicas } = event {
                for row in replicas {
                    if !matches!(row.state, ReplicaState::Running | ReplicaState::Starting) {
                        continue;
                    }
                    match row.kind {
                        UnitKind::Service => before.services.insert(row.service.clone()),
                        UnitKind::Vendor => before.vendors.insert(row.service.clone()),
                    };
                }
            }
        })
        .await?;
    Ok(before)
}

async fn tear_down(
    project: &ProjectSpec,
    state: &StateDir,
    before: &Before,
    out: Output,
) -> Result<(), CliError> {
    let started: Vec<ServiceName> = project
        .services
        .keys()
        .filter(|s| !before.services.contains(s.as_str()))
        .cloned()
        .collect();
    if let (false, Some(client)) = (started.is_empty(), Client::connect(state).await?) {
        let reply = fleet::send(client, &Request::Stop { services: started }, out).await?;
        if !reply.ok {
            for failure in &reply.failures {
                fleet::print_failure(failure, out);
            }
        }
    }
    let vendors: Vec<VendorName> = project
        .vendors
        .keys()
        .filter(|v| !before.vendors.contains(v.as_str()))
        .cloned()
        .collect();
    if !vendors.is_empty() {
        super::vendors::down(project, &vendors, false, out).await?;
    }
    Ok(())
}
