//! Exports of the fleet to the engines a team runs beyond one laptop: a Docker Compose file
//! ([`compose`]) and Kubernetes manifests ([`kubernetes`]).
//!
//! # How it works
//!
//! The project is resolved with [`Addressing::Names`](orchestra_core::address::Addressing),
//! so each service's `<NAME>_HOST`/`_PORT`/`_ADDR`, and every env value built from them,
//! name the Compose service or Kubernetes Service of the dependency. Each service's
//! environment is replica 0's, merged as `orchestra start` merges it; its image is the one
//! `--docker` would run (see `orchestra_vendors::backend::export`). Both translations are
//! pure: they take the resolved project and return the document and the [`Note`]s of what
//! they could not express, which the command prints on stderr, naming the service: nothing
//! is dropped silently.

pub mod compose;
pub mod kubernetes;

use std::fmt;
use std::time::Duration;

use orchestra_core::spec::{CommandSpec, Env, ReadyCheck, ServiceSpec};

/// Something of the configuration that an export could not express as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The service or vendor concerned.
    pub unit: String,
    /// What was left out or changed, and what happens instead.
    pub message: String,
}

impl Note {
    pub(crate) fn new(unit: impl fmt::Display, message: impl Into<String>) -> Self {
        Self {
            unit: unit.to_string(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.unit, self.message)
    }
}

/// An export: the document and what it could not express.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    /// The YAML text.
    pub text: String,
    /// What the text leaves out, by service.
    pub notes: Vec<Note>,
}

/// The environment every replica of `service` gets in an export: replica 0's. Every
/// replica gets the same `PORT` (each runs in its own container or pod), so only
/// `ORCHESTRA_REPLICA` differs from a fleet on this machine, which is noted.
pub(crate) fn service_env(service: &ServiceSpec, notes: &mut Vec<Note>) -> Env {
    let mut env = service.replica(0).env;
    if service.scale > 1 {
        env.remove("ORCHESTRA_REPLICA");
        notes.push(Note::new(
            &service.name,
            "its replicas cannot each get their own ORCHESTRA_REPLICA; it is left unset",
        ));
    }
    env
}

/// A ready probe as an engine can run it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Check {
    /// Connect to `host:port`.
    Tcp { host: String, port: u16 },
    /// GET a URL.
    Http { url: String },
    /// Run a command in the container.
    Exec(CommandSpec),
}

/// Replica 0's ready probe of `service` as a [`Check`], with its timeout; `None` (and a
/// note) when it has none an engine can run.
pub(crate) fn service_check(
    service: &ServiceSpec,
    notes: &mut Vec<Note>,
) -> Option<(Check, Duration)> {
    let probe = service.replica(0).ready?;
    let check = match probe.check {
        ReadyCheck::Tcp { host, port } => {
            let Ok(number) = port.parse() else {
                notes.push(Note::new(
                    &service.name,
                    format!("its ready probe's port `{port}` is not a number; it is left out"),
                ));
                return None;
            };
            Check::Tcp { host, port: number }
        }
        ReadyCheck::Http { url } => Check::Http { url },
        ReadyCheck::Exec { command } => Check::Exec(command),
        ReadyCheck::Log { regex } => {
            notes.push(Note::new(
                &service.name,
                format!(
                    "its `log: {regex}` ready probe cannot be expressed; what depends on it \
                     waits only for it to start"
                ),
            ));
            return None;
        }
    };
    Some((check, probe.timeout))
}

/// Whole seconds, rounded up, at least `min`: what both engines take for grace periods.
pub(crate) fn whole_seconds(d: Duration, min: u64) -> u64 {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    secs.max(min)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_up_to_whole_seconds() {
        assert_eq!(whole_seconds(Duration::from_millis(1500), 0), 2);
        assert_eq!(whole_seconds(Duration::from_secs(5), 0), 5);
        assert_eq!(whole_seconds(Duration::ZERO, 1), 1);
    }
}
