//! Strays and port owners, with real processes: a built Go service started by hand, `go run`,
//! a `sh -c` wrapper, a shell and a `sleep` that must be left alone, a Python HTTP server
//! holding a port.
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "../common/mod.rs"]
mod common;
mod support;

mod found;
mod ports;
mod spared;
mod stopping;
