//! The foundation commands through the real binary: `export`, `init`, `config`, service
//! selection and project discovery, hooks, shell completions and exit codes. Every test runs
//! in its own fleet folder; nothing here needs Go or Docker.

mod completions;
mod config;
mod exits;
mod export;
mod groups;
mod hooks;
mod init;
mod schema;
mod select;

use orchestra_tests::{Cmd, Fleet, Output};

/// Snapshots of these tests live in `tests/e2e/snapshots/`, beside the other e2e modules'.
fn snapshots() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(true);
    settings
}

/// Asserts a failing command failed cleanly: the expected code, and no panic.
fn assert_clean_failure(out: &Output, code: i32) {
    assert_eq!(out.code(), Some(code), "unexpected exit: {out}");
    assert!(
        !out.stderr.contains("panicked") && !out.stdout.contains("panicked"),
        "orchestra panicked: {out}"
    );
}

/// Parses a command's stdout as JSON.
fn json(out: &Output) -> serde_json::Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {out}"))
}

/// `bash script` in the fleet's folder with nothing inherited but PATH, so that what the
/// script sees comes from what it evaluates. `$OBIN` is the binary under test.
fn clean_bash(fleet: &Fleet, script: &str) -> Cmd {
    Cmd::new(
        "env",
        [
            "-i",
            &format!("PATH={}", std::env::var("PATH").unwrap_or_default()),
            &format!("OBIN={}", orchestra_tests::orchestra_bin().display()),
            "bash",
            "--noprofile",
            "--norc",
            "-c",
            script,
        ],
        fleet.root(),
    )
}

/// Splits `env -0` output into (name, value) pairs.
fn parse_env0(raw: &str) -> std::collections::BTreeMap<String, String> {
    raw.split('\0')
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let (k, v) = entry.split_once('=').unwrap_or((entry, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect()
}
