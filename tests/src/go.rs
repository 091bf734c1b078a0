//! The Go toolchain and the Go fixture services under `tests/fixtures/go/`.
//!
//! Fixtures are built once per test process with `go build` into
//! `<target>/orchestra-tests/fixtures/`, so tests that only need a misbehaving process do
//! not pay for a Go build each. The build writes a temporary file and renames it into place,
//! so concurrent test processes never see a half-written binary.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock, PoisonError};

use crate::bin::{target_dir, workspace_root};

/// What to tell someone whose machine lacks Go.
const INSTALL_GO: &str =
    "`go` is not on PATH: run ./scripts/setup (it installs the golang-go package)";

/// Whether a Go toolchain answers `go version`.
pub fn go_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        Command::new("go")
            .arg("version")
            .output()
            .is_ok_and(|out| out.status.success())
    })
}

/// Panics with how to install Go when it is missing: tests that need Go fail, never skip.
pub fn require_go() {
    assert!(go_available(), "{INSTALL_GO}");
}

/// The source folder of fixture `name` (`tests/fixtures/go/<name>`).
pub fn fixture_dir(name: &str) -> PathBuf {
    let dir = workspace_root().join("tests/fixtures/go").join(name);
    assert!(
        dir.join("go.mod").is_file(),
        "no Go fixture named {name:?} in {}",
        dir.display()
    );
    dir
}

/// The binary of fixture `name`, built on first use in this process.
pub fn fixture_binary(name: &str) -> PathBuf {
    static BUILT: Mutex<Option<HashMap<String, PathBuf>>> = Mutex::new(None);
    // One lock for all fixtures: builds are serialised, which also keeps two `go build`s
    // from competing for the machine's few cores.
    let mut built = BUILT.lock().unwrap_or_else(PoisonError::into_inner);
    let built = built.get_or_insert_with(HashMap::new);
    if let Some(bin) = built.get(name) {
        return bin.clone();
    }
    let bin = build_fixture(name, &target_dir().join("orchestra-tests/fixtures"));
    built.insert(name.to_owned(), bin.clone());
    bin
}

fn build_fixture(name: &str, cache: &Path) -> PathBuf {
    require_go();
    let source = fixture_dir(name);
    fs::create_dir_all(cache).expect("cannot create the fixture cache folder");
    let bin = cache.join(name);
    let partial = cache.join(format!(".{name}.{}.partial", std::process::id()));
    let output = Command::new("go")
        .args(["build", "-o"])
        .arg(&partial)
        .arg(".")
        .current_dir(&source)
        // Fixtures use the standard library only: never reach for the network.
        .env("GOPROXY", "off")
        .output()
        .expect("cannot run go build");
    assert!(
        output.status.success(),
        "go build of fixture {name} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    fs::rename(&partial, &bin).expect("cannot move the fixture binary into place");
    bin
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fixture_folder_is_a_go_module() {
        for name in ["http", "ignore-term", "forker", "flood"] {
            let go_mod = fs::read_to_string(fixture_dir(name).join("go.mod")).unwrap();
            assert!(
                go_mod.contains("\ngo 1.19"),
                "{name}/go.mod must say go 1.19: {go_mod}"
            );
        }
    }

    #[test]
    #[should_panic(expected = "no Go fixture named")]
    fn an_unknown_fixture_is_named_in_the_panic() {
        fixture_dir("no-such-fixture");
    }
}
