//! What a rerun says, and where: one clear line in the service's log (so the aggregated
//! stream tells what happened), the test output when tests fail, and the failure `ps` shows.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use orchestra_core::spec::ServiceSpec;
use orchestra_core::{ReplicaId, ServiceName, StateDir};

use super::RerunRuntime;

/// Files named in a line at most; the rest are counted.
const NAMED_FILES: usize = 3;

/// `pkg/auth/token.go changed`: the files relative to `root`, the first few named.
pub(super) fn describe(files: &BTreeSet<PathBuf>, root: &Path) -> String {
    if files.is_empty() {
        return "new sources appeared".to_owned();
    }
    let mut names: Vec<String> = files
        .iter()
        .take(NAMED_FILES)
        .map(|f| f.strip_prefix(root).unwrap_or(f).display().to_string())
        .collect();
    if files.len() > NAMED_FILES {
        names.push(format!("{} more", files.len() - NAMED_FILES));
    }
    format!("{} changed", names.join(", "))
}

/// Runs the unit tests; on failure their output goes into the service's log.
pub(super) async fn run_tests(spec: &ServiceSpec, state: &StateDir) -> Result<(), String> {
    let Some(command) = &spec.test else {
        return Ok(());
    };
    let argv = command.argv();
    let output = tokio::process::Command::new(&argv[0])
        .args(&argv[1..])
        .current_dir(&spec.dir)
        .envs(&spec.env)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| format!("cannot run the tests `{command}`: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    let mut text = output.stdout;
    text.extend_from_slice(&output.stderr);
    append(state, &spec.name, &text);
    Err("tests failed".into())
}

impl RerunRuntime {
    /// Says why the rerun of `service` failed, in its log and for `ps`.
    pub(super) async fn fail(&self, service: &ServiceName, why: String) {
        self.say(service, &why);
        self.inner
            .lock()
            .await
            .failures
            .insert(service.clone(), why);
    }

    /// One clear line in the service's log.
    pub(super) fn say(&self, service: &ServiceName, line: &str) {
        self.append(
            service,
            format!("[orchestra] {service}: {line}\n").as_bytes(),
        );
    }

    pub(super) fn append(&self, service: &ServiceName, bytes: &[u8]) {
        append(&self.state, service, bytes);
    }
}

/// Appends `bytes` to the log of the service's replica 0, ending with a newline.
fn append(state: &StateDir, service: &ServiceName, bytes: &[u8]) {
    let path = state.replica_log(&ReplicaId::new(service.clone(), 0));
    let written = orchestra_core::paths::open_append(&path).and_then(|mut f| {
        f.write_all(bytes)?;
        if !bytes.ends_with(b"\n") {
            f.write_all(b"\n")?;
        }
        Ok(())
    });
    if let Err(e) = written {
        tracing::warn!(error = %e, path = %path.display(), "cannot write to a service log");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_named_relative_to_the_project_the_first_few_only() {
        let root = Path::new("/p");
        let one = BTreeSet::from([PathBuf::from("/p/pkg/auth/token.go")]);
        assert_eq!(describe(&one, root), "pkg/auth/token.go changed");
        let many: BTreeSet<PathBuf> = (0..5).map(|i| format!("/p/web/f{i}.go").into()).collect();
        assert_eq!(
            describe(&many, root),
            "web/f0.go, web/f1.go, web/f2.go, 2 more changed"
        );
        assert_eq!(describe(&BTreeSet::new(), root), "new sources appeared");
    }
}
