//! Restart policy and the backoff schedule between restarts.
//!
//! Decisions are pure so they can be tested without processes: [`RestartPolicy::should_restart`]
//! says whether an end calls for a restart, and [`Backoff`] says how long to wait first.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::process::ProcessEnd;

/// When a replica that ended is started again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestartPolicy {
    /// Whatever the end, even a clean exit.
    Always,
    /// Only when it failed: a non-zero code or a signal.
    #[default]
    OnFailure,
    /// Never: an ended replica stays `exited` or `crashed`.
    Never,
}

/// The restart policy is not one of the three names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a restart policy (always, on-failure, never)")]
pub struct RestartPolicyParseError(pub String);

impl RestartPolicy {
    /// The names accepted in configuration.
    pub const NAMES: [&'static str; 3] = ["always", "on-failure", "never"];

    /// Whether a replica that ended this way should be started again.
    pub const fn should_restart(self, end: ProcessEnd) -> bool {
        match self {
            Self::Always => true,
            Self::OnFailure => !end.success(),
            Self::Never => false,
        }
    }
}

impl FromStr for RestartPolicy {
    type Err = RestartPolicyParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "always" => Ok(Self::Always),
            "on-failure" | "on_failure" => Ok(Self::OnFailure),
            "never" | "no" => Ok(Self::Never),
            other => Err(RestartPolicyParseError(other.to_owned())),
        }
    }
}

impl fmt::Display for RestartPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Always => "always",
            Self::OnFailure => "on-failure",
            Self::Never => "never",
        })
    }
}

/// The backoff schedule: `initial` doubling up to `max`; a replica that stayed up for
/// `reset_after` starts again from `initial`; after `max_restarts` consecutive quick failures
/// the replica is given up on (`crashed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BackoffPolicy {
    /// The first delay.
    #[serde(with = "crate::duration::human")]
    pub initial: Duration,
    /// The cap.
    #[serde(with = "crate::duration::human")]
    pub max: Duration,
    /// How long a replica must run to be considered healthy again.
    #[serde(with = "crate::duration::human")]
    pub reset_after: Duration,
    /// Consecutive restarts without a healthy run before giving up; `None` never gives up.
    pub max_restarts: Option<u32>,
}

impl Default for BackoffPolicy {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(30),
            reset_after: Duration::from_secs(10),
            max_restarts: Some(10),
        }
    }
}

/// The running state of a [`BackoffPolicy`] for one replica.
#[derive(Debug, Clone)]
pub struct Backoff {
    policy: BackoffPolicy,
    attempt: u32,
}

impl Backoff {
    /// A fresh schedule.
    pub const fn new(policy: BackoffPolicy) -> Self {
        Self { policy, attempt: 0 }
    }

    /// Records that the replica ended after running for `uptime`, and returns the delay before
    /// the next start, or `None` when it has failed too often in a row and should be `crashed`.
    pub fn after_exit(&mut self, uptime: Duration) -> Option<Duration> {
        if uptime >= self.policy.reset_after {
            self.attempt = 0;
        }
        if let Some(max) = self.policy.max_restarts
            && self.attempt >= max
        {
            return None;
        }
        let delay = self
            .policy
            .initial
            .checked_mul(1u32.checked_shl(self.attempt.min(31)).unwrap_or(u32::MAX))
            .unwrap_or(self.policy.max)
            .min(self.policy.max);
        self.attempt += 1;
        Some(delay)
    }

    /// How many restarts in a row happened without a healthy run.
    pub const fn consecutive(&self) -> u32 {
        self.attempt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_decides_on_the_end() {
        assert!(RestartPolicy::Always.should_restart(ProcessEnd::Exited(0)));
        assert!(!RestartPolicy::OnFailure.should_restart(ProcessEnd::Exited(0)));
        assert!(RestartPolicy::OnFailure.should_restart(ProcessEnd::Signalled(9)));
        assert!(!RestartPolicy::Never.should_restart(ProcessEnd::Exited(1)));
        assert_eq!("on-failure".parse(), Ok(RestartPolicy::OnFailure));
        assert!("sometimes".parse::<RestartPolicy>().is_err());
    }

    #[test]
    fn backoff_doubles_to_the_cap_then_gives_up() {
        let mut b = Backoff::new(BackoffPolicy {
            max_restarts: Some(12),
            ..BackoffPolicy::default()
        });
        let delays: Vec<_> = (0..12)
            .map(|_| b.after_exit(Duration::ZERO).unwrap().as_millis())
            .collect();
        assert_eq!(
            delays,
            [
                100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000, 30000
            ]
        );
        assert_eq!(b.after_exit(Duration::ZERO), None);
    }

    #[test]
    fn a_healthy_run_resets_the_schedule() {
        let mut b = Backoff::new(BackoffPolicy::default());
        b.after_exit(Duration::ZERO);
        b.after_exit(Duration::ZERO);
        assert_eq!(
            b.after_exit(Duration::from_secs(11)),
            Some(Duration::from_millis(100))
        );
        assert_eq!(b.consecutive(), 1);
    }

    #[test]
    fn unlimited_never_gives_up() {
        let mut b = Backoff::new(BackoffPolicy {
            max_restarts: None,
            ..BackoffPolicy::default()
        });
        for _ in 0..100 {
            assert!(b.after_exit(Duration::ZERO).is_some());
        }
    }
}
