//! What the keys ask of the fleet, and asking it: each action is one request to the
//! daemon on a connection of its own, as the matching command would send it.

use std::collections::BTreeMap;

use orchestra_config::Section;
use orchestra_core::protocol::{Failure, Request, StartRequest};
use orchestra_core::spec::ProjectSpec;
use orchestra_core::{ServiceName, StateDir, VendorName};
use tokio::sync::Notify;

use crate::daemon::client::Client;
use crate::runtime::FleetMode;

/// What an action is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Target {
    /// A service, with all its replicas.
    Service(String),
    /// A vendor container.
    Vendor(String),
    /// Every service.
    Fleet,
}

impl Target {
    fn name(&self) -> &str {
        match self {
            Self::Service(name) | Self::Vendor(name) => name,
            Self::Fleet => "every service",
        }
    }
}

/// A change asked of the fleet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Action {
    /// Rebuild and replace a service (`orchestra restart`); recreate a vendor.
    Restart(Target),
    /// Stop it.
    Stop(Target),
    /// Start it, with what it depends on.
    Start(Target),
    /// Run this many replicas of a service.
    Scale {
        /// The service.
        service: String,
        /// The new count.
        replicas: u32,
    },
}

impl Action {
    /// `restarting api…`
    pub(super) fn under_way(&self) -> String {
        match self {
            Self::Restart(t) => format!("rebuilding and restarting {}…", t.name()),
            Self::Stop(t) => format!("stopping {}…", t.name()),
            Self::Start(t) => format!("starting {}…", t.name()),
            Self::Scale { service, replicas } => {
                format!("scaling {service} to {replicas}…")
            }
        }
    }

    /// `api restarted`
    pub(super) fn done(&self) -> String {
        match self {
            Self::Restart(t) => format!("{} restarted", t.name()),
            Self::Stop(t) => format!("{} stopped", t.name()),
            Self::Start(t) => format!("{} started", t.name()),
            Self::Scale { service, replicas } => format!("{service} runs {replicas}"),
        }
    }

    /// `api not restarted`, followed by the reason.
    pub(super) fn failed(&self) -> String {
        match self {
            Self::Restart(t) => format!("{} not restarted", t.name()),
            Self::Stop(t) => format!("{} not stopped", t.name()),
            Self::Start(t) => format!("{} not started", t.name()),
            Self::Scale { service, .. } => format!("{service} not scaled"),
        }
    }

    /// The configuration section the action's command resolves the project with.
    pub(super) fn section(&self) -> Section {
        match self {
            Self::Restart(Target::Vendor(_))
            | Self::Stop(Target::Vendor(_))
            | Self::Start(Target::Vendor(_)) => Section::Vendors,
            Self::Restart(_) => Section::Restart,
            Self::Stop(_) => Section::Stop,
            Self::Start(_) | Self::Scale { .. } => Section::Start,
        }
    }
}

/// Carries `action` out through the daemon of `state`, notifying `connected` once a
/// daemon answers (the UI then subscribes to it); the error is one line for the footer.
pub(super) async fn perform(
    action: &Action,
    project: ProjectSpec,
    state: &StateDir,
    connected: &Notify,
) -> Result<(), String> {
    let project = Box::new(project);
    let requests = match action {
        Action::Restart(Target::Vendor(v)) => vec![
            Request::VendorsDown {
                project: project.clone(),
                vendors: vec![vendor(v)?],
                volumes: false,
            },
            Request::VendorsUp {
                project,
                vendors: vec![vendor(v)?],
            },
        ],
        Action::Stop(Target::Vendor(v)) => vec![Request::VendorsDown {
            project,
            vendors: vec![vendor(v)?],
            volumes: false,
        }],
        Action::Start(Target::Vendor(v)) => vec![Request::VendorsUp {
            project,
            vendors: vec![vendor(v)?],
        }],
        Action::Restart(target) => vec![Request::Restart {
            project,
            services: services(target)?,
        }],
        Action::Stop(target) => vec![Request::Stop {
            services: services(target)?,
        }],
        Action::Start(target) => vec![Request::Start(StartRequest {
            project,
            services: services(target)?,
            scale: BTreeMap::new(),
            no_build: false,
            rerun: false,
            keep_strays: false,
            docker: FleetMode::saved(state) == FleetMode::Docker,
        })],
        Action::Scale { service, replicas } => vec![Request::Scale {
            project,
            scale: BTreeMap::from([(service_name(service)?, *replicas)]),
        }],
    };
    for request in &requests {
        send(request, state, connected).await?;
    }
    Ok(())
}

/// Sends one request and waits for its end. Only a start may bring a daemon up: the
/// others act on a fleet that runs.
async fn send(request: &Request, state: &StateDir, connected: &Notify) -> Result<(), String> {
    let brings_up = matches!(
        request,
        Request::Start(_) | Request::Restart { .. } | Request::VendorsUp { .. }
    );
    let client = if brings_up {
        Client::connect_or_spawn(state).await
    } else {
        Client::connect(state).await.and_then(|client| {
            client.ok_or_else(|| {
                crate::error::CliError::usage("the fleet is not running", "start it with `u`")
            })
        })
    }
    .map_err(|e| e.to_string())?;
    connected.notify_one();
    let reply = client
        .request(request, |_| {})
        .await
        .map_err(|e| e.to_string())?;
    if reply.ok {
        Ok(())
    } else {
        Err(failures(&reply.failures))
    }
}

/// `api: build failed (exit 2); web: not ready`
fn failures(failures: &[Failure]) -> String {
    if failures.is_empty() {
        return "the daemon gave no reason (see .orchestra/daemon.log)".into();
    }
    failures
        .iter()
        .map(|f| format!("{}: {}", f.unit, f.reason))
        .collect::<Vec<_>>()
        .join("; ")
}

fn services(target: &Target) -> Result<Vec<ServiceName>, String> {
    match target {
        Target::Service(name) => Ok(vec![service_name(name)?]),
        Target::Vendor(_) | Target::Fleet => Ok(Vec::new()),
    }
}

fn service_name(name: &str) -> Result<ServiceName, String> {
    ServiceName::new(name).map_err(|e| e.to_string())
}

fn vendor(name: &str) -> Result<VendorName, String> {
    VendorName::new(name).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_describe_themselves() {
        let restart = Action::Restart(Target::Service("api".into()));
        assert_eq!(restart.under_way(), "rebuilding and restarting api…");
        assert_eq!(restart.done(), "api restarted");
        assert_eq!(restart.section(), Section::Restart);
        let up = Action::Start(Target::Vendor("redis".into()));
        assert_eq!(up.section(), Section::Vendors);
        let scale = Action::Scale {
            service: "api".into(),
            replicas: 3,
        };
        assert_eq!(scale.done(), "api runs 3");
        assert_eq!(
            Action::Restart(Target::Fleet).failed(),
            "every service not restarted"
        );
    }

    #[test]
    fn failures_are_one_line() {
        let f = |unit: &str, reason: &str| Failure {
            unit: unit.into(),
            reason: reason.into(),
            log_tail: vec!["tail".into()],
        };
        assert_eq!(
            failures(&[f("api", "build failed (exit 2)"), f("web", "not ready")]),
            "api: build failed (exit 2); web: not ready"
        );
    }
}
