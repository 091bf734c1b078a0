//! The process supervisor of Orchestra.
//!
//! This crate will hold the `Supervisor` trait (spawn, signal, wait, adopt), its Unix process
//! backend (process groups, child subreaper, identity-checked signals) and the fleet engine
//! that builds services, starts them in dependency order, waits for readiness and restarts
//! them with backoff. It is being filled in; today it only re-exports the policy types.

pub use orchestra_core::policy::{Backoff, BackoffPolicy, RestartPolicy};
