//! The Docker backend of the supervisor on a real engine: a Go fixture run as a scratch
//! container, signalled, restarted, adopted, its output in the log file, strays found.
//! Each test uses its own project and removes its containers, network and images.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[allow(
    dead_code,
    reason = "shared with the vendor tests, which use all of it"
)]
#[path = "../docker/support.rs"]
mod support;

mod fleet;
mod images;
mod leftovers;
mod lifecycle;
