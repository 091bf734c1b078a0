//! What a caller asks of a start ([`StartOptions`]), and what it does first about
//! processes outside the engine ([`Hygiene`]).

use std::collections::BTreeMap;

use orchestra_core::ServiceName;

/// Options of a start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StartOptions {
    /// Replica counts that override the services' `scale`.
    pub scale: BTreeMap<ServiceName, u32>,
    /// Skip the build step.
    pub no_build: bool,
    /// What to do first about processes outside the engine.
    pub hygiene: Hygiene,
}

/// What a start does, before anything starts, about processes outside the engine that
/// would disturb the fleet: copies of its services started by hand ([`crate::strays`]),
/// and other programs holding the ports its new replicas need.
///
/// Only the replicas the start will spawn are looked at; the engine's own replicas and
/// their descendants, and anything this process spawned, are never disturbed. A service
/// held back fails the start with why (the holder's pid and command line), and what
/// depends on it is not started either ([`Outcome::held_back`](super::Outcome::held_back)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Hygiene {
    /// Start as asked: a port another program holds fails the replica's readiness probe
    /// instead (it names the holder).
    #[default]
    Off,
    /// Stop copies of the services (stop signal, grace, SIGKILL, as a stop does), then
    /// hold back each service one of whose ports another program holds.
    StopStrays,
    /// Refuse the whole start, killing nothing, while copies of the services run; ports
    /// are checked as with [`Hygiene::StopStrays`].
    RefuseStrays,
}
