//! The per-project supervisor daemon and its client.
//!
//! `start` makes sure the project's daemon runs (the same binary, `orchestra daemon`,
//! detached in its own session, holding `.orchestra/daemon.lock`), then sends it one JSON
//! request over `.orchestra/daemon.sock` and prints the stream of events that answers it.

pub mod client;
mod dispatch;
mod hold;
mod incoming;
mod listen;
pub mod lock;
pub mod peer;
mod rivals;
pub mod server;
mod startup;
mod subscribe;
pub mod version;
