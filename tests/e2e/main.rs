//! End-to-end tests: the real `orchestra` binary on real fleets. One test binary, a module
//! per area; the harness lives in the `orchestra_tests` library.

mod addresses;
mod affected;
mod cli;
mod docker_mode;
mod engine;
mod examples;
mod exec;
mod export;
mod export_kubernetes;
mod fleet;
mod foundation;
mod harness;
mod host;
mod import;
mod logs;
mod rerun;
mod strays;
mod tasks;
mod test_cmd;
mod trust;
mod ui;
mod vendors;
mod why;
