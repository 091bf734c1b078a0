//! Finding, and when needed building, the `orchestra` binary under test.
//!
//! `env!("CARGO_BIN_EXE_orchestra")` only exists inside the package that owns the binary, so
//! the harness finds it the way cargo lays it out: the test executable runs from
//! `<target>/<profile>/deps/`, and the binary sits at `<target>/<profile>/orchestra`.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::SystemTime;

/// The workspace's root folder (the parent of this crate).
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives inside the workspace")
}

/// The example fleets shipped with the repository (`examples/`).
pub fn examples_dir() -> PathBuf {
    workspace_root().join("examples")
}

/// The cargo profile folder the tests run from, e.g. `target/debug`.
pub fn profile_dir() -> PathBuf {
    let exe = env::current_exe().expect("the test executable has a path");
    if let Some(deps) = exe.parent()
        && deps.file_name().is_some_and(|name| name == "deps")
        && let Some(profile) = deps.parent()
    {
        return profile.to_path_buf();
    }
    // Not run by cargo from `deps/` (a doctest, a debugger): use the default layout.
    env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), PathBuf::from)
        .join("debug")
}

/// The cargo target folder (`CARGO_TARGET_DIR`, or the workspace's `target/`).
pub fn target_dir() -> PathBuf {
    let profile = profile_dir();
    profile.parent().map_or(profile.clone(), Path::to_path_buf)
}

/// The `orchestra` binary, built first when missing or older than the sources.
///
/// `ORCHESTRA_BIN` names a binary to test instead (e.g. a release build); it is used as is.
/// Otherwise `cargo build -p orchestra-cli` runs at most once per test process.
pub fn orchestra_bin() -> PathBuf {
    try_orchestra_bin().unwrap_or_else(|e| panic!("{e}"))
}

/// [`orchestra_bin`] without the panic: for clean-up code that runs while unwinding.
pub fn try_orchestra_bin() -> Result<PathBuf, String> {
    // The outcome is kept, failure included: after one failed build, every test that needs
    // the binary fails at once with the compiler's message instead of building again.
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let bin = BIN.get_or_init(|| {
        if let Some(bin) = env::var_os("ORCHESTRA_BIN") {
            return Ok(PathBuf::from(bin));
        }
        let profile = profile_dir();
        let bin = profile.join("orchestra");
        if is_stale(&bin) {
            build(&profile)?;
        }
        if bin.is_file() {
            Ok(bin)
        } else {
            Err(format!(
                "cargo built orchestra-cli but {} is missing",
                bin.display()
            ))
        }
    });
    bin.clone()
}

fn build(profile: &Path) -> Result<(), String> {
    let name = profile
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("debug");
    let profile_arg = if name == "debug" { "dev" } else { name };
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(workspace_root())
        .args([
            "build",
            "--quiet",
            "-p",
            "orchestra-cli",
            "--profile",
            profile_arg,
        ])
        .arg("--target-dir")
        .arg(target_dir())
        .output()
        .map_err(|e| format!("cannot run cargo to build orchestra: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "cargo build -p orchestra-cli failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// Whether `bin` is missing or older than any source it is built from.
fn is_stale(bin: &Path) -> bool {
    let Some(built) = modified(bin) else {
        return true;
    };
    let root = workspace_root();
    let mut sources = vec![root.join("Cargo.toml"), root.join("Cargo.lock")];
    if let Ok(entries) = fs::read_dir(root) {
        sources.extend(entries.flatten().map(|e| e.path()).filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("orchestra-"))
        }));
    }
    sources
        .iter()
        .any(|source| newest(source).is_some_and(|t| t > built))
}

fn modified(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The newest modification time of `path` or anything below it.
fn newest(path: &Path) -> Option<SystemTime> {
    let own = modified(path);
    let Ok(entries) = fs::read_dir(path) else {
        return own;
    };
    entries
        .flatten()
        .map(|e| newest(&e.path()))
        .fold(own, Option::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_dir_is_where_cargo_puts_test_executables() {
        let exe = env::current_exe().unwrap();
        assert!(
            exe.starts_with(profile_dir()),
            "{} is not under {}",
            exe.display(),
            profile_dir().display()
        );
        assert!(profile_dir().starts_with(target_dir()));
    }

    #[test]
    fn a_missing_binary_is_stale() {
        assert!(is_stale(Path::new("/nonexistent/orchestra")));
    }

    #[test]
    fn newest_sees_files_below_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("sub")).unwrap();
        fs::write(dir.path().join("sub/file"), "x").unwrap();
        let file = modified(&dir.path().join("sub/file")).unwrap();
        assert!(newest(dir.path()).unwrap() >= file);
    }
}
