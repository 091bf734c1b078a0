//! How an engine request went: a typed [`Outcome`] with one [`Failed`] per thing that
//! failed, which a caller can branch on, and its one conversion to the daemon's wire type
//! ([`Failed::to_wire`]).

use std::fmt;

use orchestra_core::protocol::Failure;
use orchestra_core::scale::PlanRefused;
use orchestra_core::{ProcessEnd, ReplicaId, ReplicaState, ServiceName};

/// How a request went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// What failed, each with why (and the end of its log where there is one).
    pub failures: Vec<Failed>,
    /// Set when the request was refused before anything started: its replica counts do
    /// not fit the fleet's ports (or the limit).
    pub refused: Option<PlanRefused>,
    /// The services a start's [`Hygiene`](super::Hygiene) held back, with what depends on
    /// them, sorted: none of them was started (every one when the start was refused for
    /// strays).
    pub held_back: Vec<ServiceName>,
}

impl Outcome {
    /// Whether everything asked for succeeded.
    pub fn is_ok(&self) -> bool {
        self.failures.is_empty() && self.refused.is_none()
    }

    /// The failures as the daemon's protocol carries them.
    pub fn wire_failures(&self) -> Vec<Failure> {
        self.failures.iter().map(Failed::to_wire).collect()
    }

    pub(crate) fn from_failures(failures: Vec<Failed>) -> Self {
        Self {
            failures,
            ..Self::default()
        }
    }

    pub(crate) fn refused(refused: PlanRefused) -> Self {
        Self {
            refused: Some(refused),
            ..Self::default()
        }
    }
}

/// One thing a request could not do. Its `Display` is the reason as people read it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failed {
    /// A service named in the request is not in the project.
    UnknownService {
        /// The name asked for.
        service: ServiceName,
    },
    /// A service is part of a dependency cycle, so it has no place in the start order.
    DependencyCycle {
        /// The service.
        service: ServiceName,
    },
    /// A service's build failed (or could not run); its replicas were left as they were.
    BuildFailed {
        /// The service.
        service: ServiceName,
        /// How the build ended, when it ran.
        end: Option<ProcessEnd>,
        /// Why, in a few words (`build failed (exit 1)`).
        reason: String,
        /// The end of the build's output.
        log_tail: Vec<String>,
    },
    /// A service was not started because a dependency failed.
    DependencyFailed {
        /// The service.
        service: ServiceName,
        /// The dependency that failed.
        dependency: ServiceName,
    },
    /// A replica ended before it was ready (or never became ready): it is in `state`
    /// (`backoff` when its policy restarts it, else `crashed` or `exited`).
    NotReady {
        /// The replica.
        replica: ReplicaId,
        /// Its state when the request gave up on it.
        state: ReplicaState,
        /// Why it ended (`exited with code 3`, a probe's last answer).
        reason: String,
        /// Replicas of a rolling replacement left running the previous build because this
        /// one failed.
        kept: Vec<ReplicaId>,
        /// The end of its log.
        log_tail: Vec<String>,
    },
    /// A task (`task: true`) did not exit 0.
    TaskFailed {
        /// The task's replica.
        replica: ReplicaId,
        /// How it ended.
        reason: String,
        /// The end of its log.
        log_tail: Vec<String>,
    },
    /// Copies of a service run outside the engine and the start was told to refuse
    /// rather than stop them ([`Hygiene::RefuseStrays`](super::Hygiene::RefuseStrays)).
    StraysRunning {
        /// The service.
        service: ServiceName,
        /// One line per copy: pid, command line, why it counts as a copy.
        strays: Vec<String>,
    },
    /// A copy of a service running outside the engine survived being stopped: the
    /// service was held back.
    StrayNotStopped {
        /// The service.
        service: ServiceName,
        /// What happened to the copy.
        how: String,
    },
    /// Another program holds a port the service's new replicas need: the service was held
    /// back.
    PortHeld {
        /// The service.
        service: ServiceName,
        /// Who holds the port.
        holder: crate::strays::PortHolder,
    },
    /// The start was cancelled before it finished; what it launched was stopped.
    Cancelled,
    /// The engine is gone (its runtime shut down): nothing was done.
    EngineStopped,
    /// A stop could not make sure everything stopped (processes survived SIGKILL, or the
    /// process table could not be read).
    Stop {
        /// Why.
        reason: String,
    },
    /// A part of the engine failed unexpectedly.
    Internal {
        /// What happened.
        reason: String,
    },
}

impl Failed {
    /// The service the failure is about, if it is about one.
    pub fn service(&self) -> Option<&ServiceName> {
        match self {
            Self::UnknownService { service }
            | Self::DependencyCycle { service }
            | Self::BuildFailed { service, .. }
            | Self::DependencyFailed { service, .. }
            | Self::StraysRunning { service, .. }
            | Self::StrayNotStopped { service, .. }
            | Self::PortHeld { service, .. } => Some(service),
            Self::NotReady { replica, .. } | Self::TaskFailed { replica, .. } => {
                Some(&replica.service)
            }
            Self::Cancelled | Self::EngineStopped | Self::Stop { .. } | Self::Internal { .. } => {
                None
            }
        }
    }

    /// The end of the log that says why, when there is one.
    pub fn log_tail(&self) -> &[String] {
        match self {
            Self::BuildFailed { log_tail, .. }
            | Self::NotReady { log_tail, .. }
            | Self::TaskFailed { log_tail, .. } => log_tail,
            Self::StraysRunning { strays, .. } => strays,
            _ => &[],
        }
    }

    /// The failure as the daemon's protocol carries it: the unit (the service, or
    /// `orchestra` for the engine itself), the reason, the log's end. The only place the
    /// typed failure becomes text for the wire.
    pub fn to_wire(&self) -> Failure {
        Failure {
            unit: self
                .service()
                .map_or_else(|| "orchestra".to_owned(), ToString::to_string),
            reason: self.to_string(),
            log_tail: self.log_tail().to_vec(),
        }
    }
}

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownService { .. } => f.write_str("no such service"),
            Self::DependencyCycle { .. } => f.write_str("not started: dependency cycle"),
            Self::BuildFailed { reason, .. } | Self::Stop { reason } => f.write_str(reason),
            Self::DependencyFailed { dependency, .. } => {
                write!(f, "not started: dependency `{dependency}` failed")
            }
            Self::NotReady {
                replica,
                state,
                reason,
                kept,
                ..
            } => {
                write!(f, "{replica}: {reason}")?;
                match state {
                    ReplicaState::Backoff => {
                        f.write_str(" before it was ready; restarting with backoff")?;
                    }
                    ReplicaState::Exited => f.write_str(" before it was ready")?,
                    _ => {}
                }
                if !kept.is_empty() {
                    let kept: Vec<String> = kept.iter().map(ToString::to_string).collect();
                    write!(f, "; stopped replacing replicas, {} kept", kept.join(", "))?;
                }
                Ok(())
            }
            Self::TaskFailed {
                replica, reason, ..
            } => write!(f, "{replica}: task failed: {reason}"),
            Self::StraysRunning { strays, .. } if strays.len() == 1 => f.write_str(
                "a copy is running outside Orchestra (--keep-strays); stop it, or run without \
                 --keep-strays",
            ),
            Self::StraysRunning { strays, .. } => write!(
                f,
                "{} copies are running outside Orchestra (--keep-strays); stop them, or run \
                 without --keep-strays",
                strays.len()
            ),
            Self::StrayNotStopped { how, .. } => {
                write!(f, "a copy running outside Orchestra {how}")
            }
            Self::PortHeld { holder, .. } => write!(f, "{holder}"),
            Self::Cancelled => f.write_str("the start was cancelled"),
            Self::EngineStopped => f.write_str("the engine has stopped"),
            Self::Internal { reason } => write!(f, "internal error: {reason}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web(index: u32) -> ReplicaId {
        ReplicaId::new(ServiceName::new("web").unwrap(), index)
    }

    #[test]
    fn failures_read_as_before_on_the_wire() {
        let not_ready = Failed::NotReady {
            replica: web(1),
            state: ReplicaState::Backoff,
            reason: "exited with code 3".into(),
            kept: vec![web(2)],
            log_tail: vec!["boom".into()],
        };
        assert_eq!(
            not_ready.to_wire(),
            Failure {
                unit: "web".into(),
                reason: "web.1: exited with code 3 before it was ready; restarting with \
                         backoff; stopped replacing replicas, web.2 kept"
                    .into(),
                log_tail: vec!["boom".into()],
            }
        );
        assert_eq!(Failed::Cancelled.to_wire().unit, "orchestra");
        let outcome = Outcome::from_failures(vec![Failed::EngineStopped]);
        assert!(!outcome.is_ok());
        assert_eq!(outcome.wire_failures()[0].reason, "the engine has stopped");
    }
}
