//! `orchestra why SVC`: why a service (or vendor) is in its state, in a few lines, from
//! what the daemon knows (its `ps` rows, the same ones `ps` shows) and what lies on disk
//! (the logs, the last build's output, who holds a port). Exit 0 when it is healthy.

mod explain;

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use orchestra_config::Section;
use orchestra_core::protocol::{Event, Request};
use orchestra_core::spec::{ProjectSpec, ReadyCheck, ReadyProbe, VendorReady};
use orchestra_core::{ReplicaId, ReplicaState, ReplicaStatus, ServiceName, StateDir};

use crate::args::WhyArgs;
use crate::context::Context;
use crate::daemon::client::{Answer, Client};
use crate::daemon::peer::trusted_state;
use crate::error::CliError;
use explain::{Facts, TAIL_LINES, explain};

/// How far `why` follows a chain of services waiting for each other.
const MAX_DEPTH: usize = 3;

/// `orchestra why`.
pub async fn why(cx: &mut Context, args: &WhyArgs) -> Result<(), CliError> {
    let project = cx.resolve_running(Section::Ps)?;
    let unit = unit_name(cx, &project, &args.service)?;
    let state = trusted_state(&project)?;
    let rows = fleet_rows(&project, &state).await?;
    let facts = gather(&project, &state, &rows, &unit, 0);
    let explanation = explain(&facts);
    for line in &explanation.lines {
        println!("{line}");
    }
    if explanation.healthy {
        Ok(())
    } else {
        Err(CliError::Exited(orchestra_core::exit::FAILURE))
    }
}

/// The service or vendor `name` stands for, with "did you mean" for neither.
fn unit_name(cx: &mut Context, project: &ProjectSpec, name: &str) -> Result<String, CliError> {
    if project.vendors.keys().any(|v| v.as_str() == name) {
        return Ok(name.to_owned());
    }
    let selected = cx.select(std::slice::from_ref(&name.to_owned()))?;
    match selected.as_slice() {
        [one] => Ok(one.to_string()),
        _ => Err(CliError::usage(
            format!("`{name}` selects {} services, not one", selected.len()),
            "name one service or vendor, as in `orchestra why users`",
        )),
    }
}

/// Every row of the fleet: the daemon's when one runs, else the records' and the engine's.
async fn fleet_rows(
    project: &ProjectSpec,
    state: &StateDir,
) -> Result<Vec<ReplicaStatus>, CliError> {
    if let Some(client) = Client::connect(state).await? {
        let mut rows = Vec::new();
        let answer = client
            .request_or_silence(&Request::Status, |event| {
                if let Event::Status { replicas } = event {
                    rows.clone_from(replicas);
                }
            })
            .await?;
        if let Answer::Replied(_) = answer {
            return Ok(rows);
        }
    }
    let mut rows = orchestra_supervisor::status_from_records(state);
    if !project.vendors.is_empty() {
        rows.extend(super::vendors::status_direct(project).await);
    }
    Ok(rows)
}

/// What is known of `unit`, following what it waits for.
fn gather(
    project: &ProjectSpec,
    state: &StateDir,
    rows: &[ReplicaStatus],
    unit: &str,
    depth: usize,
) -> Facts {
    let own: Vec<ReplicaStatus> = rows.iter().filter(|r| r.service == unit).cloned().collect();
    let reason = |r: &ReplicaStatus| r.reason.clone().unwrap_or_default();
    let mut facts = Facts {
        unit: unit.to_owned(),
        ..Facts::default()
    };
    if let Some(vendor) = project.vendors.values().find(|v| v.name.as_str() == unit) {
        facts.probe = vendor.ready.as_ref().map(vendor_probe);
        facts.log_tail = tail(&state.vendor_log(&vendor.name), TAIL_LINES);
        facts.rows = own;
        return facts;
    }
    let Some(service) = ServiceName::new(unit)
        .ok()
        .and_then(|n| project.services.get(&n))
    else {
        facts.rows = own;
        return facts;
    };
    let index = own
        .iter()
        .find(|r| r.state != ReplicaState::Running)
        .map_or(0, |r| r.replica);
    facts.probe = service.replica(index).ready.as_ref().map(probe);
    facts.log_tail = tail(
        &state.replica_log(&ReplicaId::new(service.name.clone(), index)),
        TAIL_LINES,
    );
    let healthy = !own.is_empty() && own.iter().all(|r| r.state == ReplicaState::Running);
    if own.iter().any(|r| reason(r).contains("build failed"))
        || (own.is_empty() && built_badly(state, &service.name))
    {
        facts.build_error = first_error(&read_all(&state.build_log(&service.name)));
    }
    if !healthy {
        let fleet_pids: Vec<i32> = rows.iter().filter_map(|r| r.pid).collect();
        facts.port_holders = (0..service.scale.max(1))
            .filter_map(|i| service.replica(i).port)
            .filter_map(orchestra_supervisor::port_holder)
            .filter(|h| !fleet_pids.contains(&h.pid))
            .map(|h| h.to_string())
            .collect();
    }
    if depth < MAX_DEPTH
        && let Some(waiting) = own.iter().find(|r| r.state == ReplicaState::Waiting)
        && let Some(dep) = reason(waiting)
            .strip_prefix("waiting for ")
            .map(str::to_owned)
    {
        facts.dependency = Some(Box::new(gather(
            project,
            state,
            rows,
            dep.trim(),
            depth + 1,
        )));
    }
    facts.rows = own;
    facts
}

/// Whether a service that has no replica was last built without success: its build log
/// is there, its binary is not (a failed build leaves none).
fn built_badly(state: &StateDir, service: &ServiceName) -> bool {
    !state.binary(service).exists() && state.build_log(service).exists()
}

/// `tcp 127.0.0.1:8080 (timeout 30s)`.
fn probe(p: &ReadyProbe) -> String {
    let check = match &p.check {
        ReadyCheck::Tcp { host, port } => format!("tcp {host}:{port}"),
        ReadyCheck::Http { url } => format!("http {url}"),
        ReadyCheck::Exec { command } => format!("exec `{command}`"),
        ReadyCheck::Log { regex } => format!("log /{regex}/"),
    };
    format!(
        "`{check}` (timeout {})",
        orchestra_core::HumanDuration(p.timeout)
    )
}

fn vendor_probe(ready: &VendorReady) -> String {
    match ready {
        VendorReady::Tcp(port) => format!("`tcp {port}`"),
        VendorReady::Http(url) => format!("`http {url}`"),
        VendorReady::Exec(command) => format!("`exec {command}`"),
        VendorReady::Healthcheck => "the image's HEALTHCHECK".to_owned(),
    }
}

/// The compiler's first error in a build's output: the first `file:line:` line (Go, rustc's
/// `-->` aside, gcc, tsc), else the first line saying `error`, else the first line that is
/// not a `# package` heading.
pub(crate) fn first_error(output: &str) -> Option<String> {
    let lines = || output.lines().map(str::trim).filter(|l| !l.is_empty());
    let located = |l: &&str| {
        let mut parts = l.splitn(3, ':');
        let (file, line) = (
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
        );
        !file.is_empty()
            && !file.contains(' ')
            && !line.is_empty()
            && line.chars().all(|c| c.is_ascii_digit())
    };
    lines()
        .find(located)
        .or_else(|| lines().find(|l| l.to_ascii_lowercase().contains("error")))
        .or_else(|| lines().find(|l| !l.starts_with('#')))
        .map(str::to_owned)
}

/// The whole of a small file, or nothing.
fn read_all(path: &Path) -> String {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// The last `n` lines of a log file (its last 64 KiB are plenty for a few lines).
fn tail(path: &Path, n: usize) -> Vec<String> {
    const WINDOW: u64 = 64 * 1024;
    let Ok(mut file) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let len = file.metadata().map_or(0, |m| m.len());
    let start = len.saturating_sub(WINDOW);
    let mut bytes = Vec::new();
    if file.seek(SeekFrom::Start(start)).is_err() || file.read_to_end(&mut bytes).is_err() {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(&bytes);
    let mut lines: Vec<&str> = text.lines().collect();
    if start > 0 && !lines.is_empty() {
        lines.remove(0);
    }
    let from = lines.len().saturating_sub(n);
    lines[from..].iter().map(|l| (*l).to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::first_error;

    #[test]
    fn the_first_compiler_error_is_found() {
        let go = "# example.com/users\n./main.go:5:2: undefined: nope\n./main.go:6:2: x\n";
        assert_eq!(
            first_error(go).as_deref(),
            Some("./main.go:5:2: undefined: nope")
        );
        let other = "building...\nfatal error: out of cheese\n";
        assert_eq!(
            first_error(other).as_deref(),
            Some("fatal error: out of cheese")
        );
        assert_eq!(
            first_error("# pkg\nsomething odd\n").as_deref(),
            Some("something odd")
        );
        assert_eq!(first_error(""), None);
    }
}
