//! Readiness probes of services.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::CommandSpec;

/// What a readiness probe checks. Strings may still hold per-replica variables (`$PORT`),
/// filled by [`ServiceSpec::replica`](super::ServiceSpec::replica).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadyCheck {
    /// A TCP connection to `host:port` succeeds.
    Tcp {
        /// Host to connect to (default `127.0.0.1`).
        host: String,
        /// Port, possibly `$PORT` before per-replica filling.
        port: String,
    },
    /// An HTTP GET of the URL answers 2xx or 3xx.
    Http {
        /// The URL.
        url: String,
    },
    /// The command exits 0.
    Exec {
        /// The command, run in the service folder with the replica's env.
        command: CommandSpec,
    },
    /// A line of the replica's log matches the regular expression.
    Log {
        /// The regular expression.
        regex: String,
    },
}

/// A readiness probe: a check retried every `interval` until it passes or `timeout` runs out.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReadyProbe {
    /// What is checked.
    pub check: ReadyCheck,
    /// How long to wait before declaring the replica failed.
    #[serde(with = "crate::duration::human")]
    pub timeout: Duration,
    /// Pause between two attempts.
    #[serde(with = "crate::duration::human")]
    pub interval: Duration,
}

impl ReadyProbe {
    /// The default probe timeout.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
    /// The default pause between attempts.
    pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(100);

    /// The probe of a service that has a `port` and says nothing of readiness: a TCP
    /// connection to its replica's port on this machine, so that "ready" means listening.
    ///
    /// ```
    /// use orchestra_core::spec::{ReadyCheck, ReadyProbe};
    ///
    /// let probe = ReadyProbe::listening();
    /// assert_eq!(probe.check, ReadyCheck::Tcp { host: "127.0.0.1".into(), port: "$PORT".into() });
    /// ```
    pub fn listening() -> Self {
        Self {
            check: ReadyCheck::Tcp {
                host: "127.0.0.1".into(),
                port: "$PORT".into(),
            },
            timeout: Self::DEFAULT_TIMEOUT,
            interval: Self::DEFAULT_INTERVAL,
        }
    }
}
