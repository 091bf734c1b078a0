//! The shared vocabulary of Orchestra.
//!
//! Every other crate speaks in these types: validated [names](name), [durations](duration)
//! and [signals](signal), process [identities](process), the [restart policy and
//! backoff](policy), replica counts and their [port plan](scale), resolved [specifications](spec) of services and vendors, replica
//! [states](state), the daemon's [wire protocol](protocol), [exit codes](exit) and the
//! layout of the [`.orchestra` folder](paths), when that folder may be [trusted](trust), and
//! how one service [addresses](address) another.
//!
//! **For** every other crate of Orchestra, and any program that talks to them: the types
//! they hand each other, so that a spec resolved by `orchestra-config` is what
//! `orchestra-supervisor` runs and what the daemon's socket carries. **Not for** doing
//! anything: it reads no configuration (`orchestra-config`), runs no process
//! (`orchestra-supervisor`) and opens no socket (the `orchestra` CLI).
//!
//! The shortest use, a service built in code rather than read from a `service.yml`:
//! `ServiceSpec::command(ServiceName::new("web")?, dir, CommandSpec::Shell("./web".into()))`
//! ([`spec::ServiceSpec::command`]).
//!
//! # How it works
//!
//! The crate holds data and pure decisions only; the one piece of I/O is the state folder
//! (creating it privately and writing files atomically), because every crate that writes
//! there must do it the same way.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use orchestra_core::{duration::parse_duration, name::ServiceName, policy::*};
//!
//! let users = ServiceName::new("users")?;
//! assert_eq!(parse_duration("1m30s")?, Duration::from_secs(90));
//!
//! // The schedule a crashing replica follows: 100 ms, doubling.
//! let mut backoff = Backoff::new(BackoffPolicy::default());
//! assert_eq!(backoff.after_exit(Duration::ZERO), Some(Duration::from_millis(100)));
//! assert_eq!(backoff.after_exit(Duration::ZERO), Some(Duration::from_millis(200)));
//! # let _ = users;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod address;
pub mod chain;
pub mod duration;
pub mod event;
pub mod exit;
pub mod name;
pub mod paths;
pub mod policy;
pub mod process;
pub mod protocol;
pub mod scale;
pub mod signal;
pub mod spec;
pub mod state;
pub mod template;
pub mod trust;

pub use duration::{HumanDuration, parse_duration};
pub use event::FleetEvent;
pub use name::{ProjectName, ReplicaId, ServiceName, VendorName};
pub use paths::StateDir;
pub use process::{ProcessEnd, ProcessIdentity};
pub use signal::Signal;
pub use state::{Health, ReplicaState, ReplicaStatus};
