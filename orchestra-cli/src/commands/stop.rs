//! `orchestra stop`: through the daemon when one runs, else from the replica records; a
//! stop of the whole fleet also takes its vendors down and removes what `--docker` built.

use std::time::{Duration, Instant};

use orchestra_config::Section;
use orchestra_core::protocol::Request;
use orchestra_core::spec::ProjectSpec;
use orchestra_core::{ServiceName, StateDir};

use super::fleet::{finish, progress_line, selection_or_all, send_watched};
use crate::args::SelectArgs;
use crate::context::Context;
use crate::daemon::client::{Answer, Client};
use crate::daemon::peer::trusted_state;
use crate::error::CliError;
use crate::hooks::{self, When};
use crate::output::Output;
use crate::runtime::{FleetMode, docker};

/// How long a whole stop waits for the daemon to leave once it has nothing to supervise:
/// it first gives the processes that escaped their replicas their grace (10 s).
const DAEMON_LEAVE_PATIENCE: Duration = Duration::from_secs(12);

/// `orchestra stop`: through the daemon when one runs, else straight from the records.
pub async fn stop(cx: &mut Context, args: &SelectArgs) -> Result<(), CliError> {
    let project = cx.resolve_running(Section::Stop)?;
    let services = selection_or_all(cx, &args.services)?;
    hooks::run(&project, When::Before)?;
    let state = trusted_state(&project)?;
    let whole = services
        .is_empty()
        .then(|| WholeStop::before(&project, &state));
    if let Some(client) = Client::connect(&state).await? {
        let request = Request::Stop {
            services: services.clone(),
        };
        let daemon = client.daemon().clone();
        match send_watched(client, &request, cx.out).await? {
            Answer::Replied(reply) => {
                if let Some(whole) = whole.filter(|_| reply.ok) {
                    whole.clean_up(&project, cx.out).await?;
                    // Nothing is left behind when `stop` returns, the daemon included. One
                    // that stays has taken new work meanwhile (a `start` from elsewhere).
                    daemon.wait_gone(DAEMON_LEAVE_PATIENCE).await;
                }
                return finish(&project, &reply, cx.out, "stopped");
            }
            // Frozen or stuck: it could restart what the records path stops, so it goes
            // first, and its replicas are stopped as those of a daemon that died.
            Answer::Unresponsive(silent) => {
                eprintln!("warning: {silent}; killing it and stopping the fleet from its records");
                silent.kill(&state).await?;
            }
        }
    }
    let timeout = project
        .services
        .values()
        .map(|s| s.stop_timeout)
        .max()
        // No service known (files that never loaded): the default grace, never none.
        .unwrap_or(orchestra_core::spec::ServiceSpec::DEFAULT_STOP_TIMEOUT);
    let stopped = if FleetMode::saved(&state) == FleetMode::Docker {
        stop_containers(&project, &services, cx.out).await?
    } else {
        orchestra_supervisor::stop_from_records(&state, &services, timeout)
            .await
            .map_err(|source| CliError::Supervisor {
                action: "cannot stop the fleet",
                source,
            })?
    };
    if !cx.out.quiet {
        for id in &stopped {
            println!("{id:<20} stopped");
        }
    }
    if let Some(whole) = whole {
        whole.clean_up(&project, cx.out).await?;
    }
    hooks::run(&project, When::After)
}

/// What a stop of the whole fleet (`stop`, or Ctrl-C of `start --attach`) cleans up once
/// its services stopped.
pub(crate) struct WholeStop {
    /// Take the vendors down (their volumes stay).
    vendors: bool,
    /// Remove the images `--docker` built for the services, and the project network.
    docker: bool,
}

impl WholeStop {
    /// Decided before the stop: a stop of the whole fleet forgets the fleet's mode.
    pub(crate) fn before(project: &ProjectSpec, state: &StateDir) -> Self {
        Self {
            vendors: !project.vendors.is_empty(),
            docker: FleetMode::saved(state) == FleetMode::Docker,
        }
    }

    /// Takes the vendors down and removes what `--docker` left, saying what it did.
    pub(crate) async fn clean_up(
        &self,
        project: &ProjectSpec,
        out: Output,
    ) -> Result<(), CliError> {
        if self.vendors {
            super::vendors::down(project, &[], false, out).await?;
        }
        if self.docker {
            let removed = docker::remove_leftovers(project)
                .await
                .map_err(CliError::vendor("cannot remove the fleet's images"))?;
            if !out.quiet {
                let started = Instant::now();
                for what in removed {
                    println!(
                        "{}",
                        progress_line(&crate::runtime::vendors::removed(what), out, started)
                    );
                }
            }
        }
        Ok(())
    }
}

/// Stops the containers of a Docker-mode fleet whose daemon is gone, through the Engine
/// API; a whole-fleet stop also removes the project's containers no record knew of.
async fn stop_containers(
    project: &ProjectSpec,
    services: &[ServiceName],
    out: Output,
) -> Result<Vec<orchestra_core::ReplicaId>, CliError> {
    let stopped = docker::stop_without_daemon(project, services).await?;
    if !out.quiet {
        for name in &stopped.strays {
            println!("{name:<20} removed (a stray container)");
        }
    }
    Ok(stopped.replicas)
}
