//! The harness of Orchestra's end-to-end tests: it drives the real `orchestra` binary on
//! real fleets — real processes, signals, files, sockets and, when one answers, a real
//! Docker engine. No mocks.
//!
//! # How it works
//!
//! - [`orchestra_bin`] finds the binary cargo built next to the test executable and builds
//!   it once per test process (`cargo build -p orchestra-cli`) when it is missing or older
//!   than the sources.
//! - [`Fleet`] is a project in its own temporary folder, written with a builder
//!   (`orchestra_yml`, `service`, `go_service`, `fixture_service`, `file`). [`Fleet::cmd`]
//!   runs `orchestra` in it and returns a [`Cmd`] to adjust, run, and assert on. Dropping a
//!   fleet runs `orchestra stop`, then kills whatever still runs inside its folder (found
//!   through /proc), so one failing test cannot leak processes into the next.
//! - The Go fixtures in `tests/fixtures/go/` are the misbehaving services tests need (one
//!   that ignores SIGTERM, one that orphans a grandchild, one that floods its output, a
//!   configurable HTTP service); [`fixture_binary`] builds each once per test process.
//! - Tests wait for states by polling with a deadline ([`wait_until`], [`wait_for_port`]),
//!   never by sleeping, and compare output after [`redact`]ing what changes between runs.
//! - [`docker_or_skip`] lets a Docker test skip with a reason where no engine answers, and
//!   fail instead when `ORCHESTRA_REQUIRE_DOCKER=1`.
//!
//! ```no_run
//! use orchestra_tests::{http_get, wait_until, Fleet, PATIENCE};
//!
//! let fleet = Fleet::new().orchestra_yml("");
//! let port = fleet.ports(1);
//! let fleet = fleet.fixture_service("web", "http", &format!("port: {port}\n"));
//! fleet.cmd(["start"]).assert_success();
//! let url = format!("http://127.0.0.1:{port}/");
//! wait_until(PATIENCE, "web to answer", || http_get(&url).is_some_and(|(code, _)| code == 200));
//! fleet.cmd(["stop"]).assert_success();
//! ```

mod bin;
mod cmd;
mod docker;
mod fleet;
mod go;
mod net;
mod procs;
mod redact;
mod terminal;
mod tools;
mod wait;

pub use bin::{
    examples_dir, orchestra_bin, profile_dir, target_dir, try_orchestra_bin, workspace_root,
};
pub use cmd::{COMMAND_TIMEOUT, Cmd, Output, Running};
pub use docker::{DockerEndpoint, docker_decision, docker_or_skip};
pub use fleet::Fleet;
pub use go::{fixture_binary, fixture_dir, go_available, require_go};
pub use net::{free_port_block, http_get, http_post, port_is_free};
pub use nix::sys::signal::Signal;
pub use procs::{
    cmdline, kill_all_under, parent_pid, pids_with_cwd_under, process_alive, process_group,
    send_signal,
};
pub use redact::{redact, redact_with};
pub use terminal::Terminal;
pub use tools::python_tool;
pub use wait::{PATIENCE, holds_for, poll_until, port_accepts, wait_for_port, wait_until};
