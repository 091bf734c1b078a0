//! Command-line tools from PyPI that tests check Orchestra's output with.
//!
//! `./scripts/setup` installs them into one virtual environment under the user's cache
//! folder (`$ORCHESTRA_TOOLS`, default `~/.cache/orchestra-tools`), so no system Python is
//! changed. A test that needs one fails, never skips, when it is missing.

use std::path::PathBuf;

/// The folder `./scripts/setup` installs the tools into.
fn tools_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("ORCHESTRA_TOOLS") {
        return dir.into();
    }
    let cache = std::env::var_os("XDG_CACHE_HOME").map_or_else(
        || PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache"),
        PathBuf::from,
    );
    cache.join("orchestra-tools")
}

/// The path of Python tool `name` (`check-jsonschema`): from the tools' virtual environment,
/// or from PATH. Panics saying how to install it when it is in neither.
pub fn python_tool(name: &str) -> PathBuf {
    let in_venv = tools_dir().join("venv/bin").join(name);
    if in_venv.is_file() {
        return in_venv;
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{name}` is missing (looked in {} and on PATH): run ./scripts/setup",
                in_venv.display()
            )
        })
}
