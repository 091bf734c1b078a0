//! Running a service's build once before its replicas start.

mod batch;

pub(crate) use batch::{GoBatch, plan as plan_go_batches};

use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use orchestra_core::spec::ServiceSpec;
use orchestra_core::{ProcessEnd, ReplicaId, ServiceName, StateDir};

use super::Failed;

use crate::unix::spawn::spawn_group;

/// Lines of log shown with a failure.
pub(crate) const TAIL_LINES: usize = 20;

/// Runs `service.build` in its folder with its env. Output goes to the service's build log
/// (replaced each build) and is then appended to its replica-0 log, so `logs` shows why a
/// service did not come up.
pub(crate) async fn build(service: &ServiceSpec, state: &StateDir) -> Result<(), Failed> {
    let Some(command) = &service.build else {
        return Ok(());
    };
    let command = command.fill(&service.placeholders(None));
    let failure = |reason: String, log: &Path| Failed::BuildFailed {
        service: service.name.clone(),
        end: None,
        reason,
        log_tail: tail(log, TAIL_LINES),
    };
    let log_path = state.build_log(&service.name);
    let log = match fresh_build_log(state, &service.name) {
        Ok(log) => log,
        Err(e) => return Err(failure(format!("cannot open build log: {e}"), &log_path)),
    };
    let argv = command.argv();
    let Some((program, args)) = argv.split_first() else {
        return Err(failure("empty build command".into(), &log_path));
    };
    let stderr = log
        .try_clone()
        .map_err(|e| failure(format!("cannot open build log: {e}"), &log_path))?;
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .current_dir(&service.dir)
        .envs(&service.env)
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(stderr));
    let status = match spawn_group(cmd) {
        Ok(mut child) => {
            let mut group = KillGroupOnDrop(Some(child.pid));
            let status = child.wait().await;
            group.disarm();
            status
        }
        Err(e) => Err(e),
    };
    copy_to_replica_log(&log_path, state, service);
    match status {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => {
            let end = crate::unix::process_end(s);
            let reason = match end {
                ProcessEnd::Exited(code) => format!("build failed (exit {code})"),
                other => format!("build failed ({other})"),
            };
            Err(Failed::BuildFailed {
                service: service.name.clone(),
                end: Some(end),
                reason,
                log_tail: tail(&log_path, TAIL_LINES),
            })
        }
        Err(e) => Err(failure(
            format!("build failed: cannot run `{command}`: {e}"),
            &log_path,
        )),
    }
}

/// Opens the service's build log empty (it holds the last build's output only), making the
/// state folder's log and binary folders when missing.
fn fresh_build_log(state: &StateDir, service: &ServiceName) -> std::io::Result<std::fs::File> {
    let log_path = state.build_log(service);
    orchestra_core::paths::create_private_dir(&state.logs_dir())?;
    orchestra_core::paths::create_private_dir(&state.bin_dir())?;
    match std::fs::remove_file(&log_path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => orchestra_core::paths::open_append(&log_path),
    }
}

/// Kills a build's whole process group when the build is dropped before it ends: a
/// cancelled start must leave no compiler running. The leader is still our un-reaped child
/// then, so its pid (which is also the group's id) cannot have been reused.
struct KillGroupOnDrop(Option<i32>);

impl KillGroupOnDrop {
    /// The build ended by itself: its leader is reaped, so its pid is no longer ours.
    fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for KillGroupOnDrop {
    fn drop(&mut self) {
        if let Some(leader) = self.0.filter(|&pid| pid > 0) {
            let group = nix::unistd::Pid::from_raw(leader);
            let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
        }
    }
}

fn copy_to_replica_log(build_log: &Path, state: &StateDir, service: &ServiceSpec) {
    let replica_log = state.replica_log(&ReplicaId::new(service.name.clone(), 0));
    let copied = std::fs::read(build_log).and_then(|bytes| {
        let mut out = orchestra_core::paths::open_append(&replica_log)?;
        out.write_all(&bytes)
    });
    if let Err(e) = copied {
        tracing::warn!(service = %service.name, error = %e, "cannot copy build output");
    }
}

/// The last `n` lines of a file (empty when it cannot be read).
pub(crate) fn tail(path: &Path, n: usize) -> Vec<String> {
    let Ok(bytes) = std::fs::read(path) else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
}
