//! Log files for Orchestra.
//!
//! This crate will tail a changing set of line files (replicas appear, vanish, restart),
//! multiplex them fairly, and format them as one coloured stream with aligned `name.n |`
//! prefixes. It is being filled in.

pub use orchestra_core::paths::open_append;
