//! The second stage of parsing: [`Node`](crate::node::Node) trees into raw structs, one file
//! per configuration element. Every key is checked here; values that depend on the
//! environment (interpolated ports) are checked again at resolution.

pub(crate) mod env_file;
pub(crate) mod groups;
pub(crate) mod project;
pub(crate) mod ready;
pub(crate) mod service;
pub(crate) mod vendor;
pub(crate) mod vendor_port;
