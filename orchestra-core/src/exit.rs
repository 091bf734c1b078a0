//! Exit codes of the `orchestra` command (DESIGN §4).

/// Everything asked for succeeded.
pub const SUCCESS: u8 = 0;
/// A service, a build, a hook or a test failed.
pub const FAILURE: u8 = 1;
/// Bad usage or bad configuration: nothing was started.
pub const USAGE: u8 = 2;
/// Interrupted by Ctrl-C (128 + SIGINT, as a shell reports it): what was under way was
/// given up.
pub const INTERRUPTED: u8 = 130;
