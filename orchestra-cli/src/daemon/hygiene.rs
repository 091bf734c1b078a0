//! Process hygiene before a start: copies of the services running outside Orchestra are
//! stopped (or, with `--keep-strays`, refused), then the ports the new replicas need are
//! checked, so that the fleet is exactly what `ps` says it is.
//!
//! Only what the start will actually spawn is looked at: the selection and its dependencies,
//! without the replicas already running under the engine (their processes are the fleet,
//! never strays). Stray-killing comes first, so a stray copy's port is free by the time the
//! ports are checked; a port held by anything else fails its service (and the services that
//! depend on it) with the holder's pid and command line, and nothing is killed for it.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use orchestra_core::protocol::{Failure, Phase, Progress};
use orchestra_core::spec::{Dependency, ProjectSpec};
use orchestra_core::{ReplicaStatus, ServiceName};
use orchestra_supervisor::strays::{
    Stray, StrayOutcome, StrayStopped, find_strays, port_holders, stop_strays,
};
use tokio::sync::mpsc::UnboundedSender;

/// What may start once the ground is clear.
#[derive(Debug, Default)]
pub(super) struct Cleared {
    /// The services to hand to the engine, when some had to be left out; `None` keeps the
    /// request's selection as it was.
    pub narrowed: Option<Vec<ServiceName>>,
    /// The services left out, and why.
    pub failures: Vec<Failure>,
}

impl Cleared {
    /// Whether nothing is left to start: the engine must not be asked (an empty selection
    /// would mean every service).
    pub fn nothing_left(&self) -> bool {
        self.narrowed.as_ref().is_some_and(Vec::is_empty)
    }
}

/// The pids of the fleet's replicas in `rows`: find_strays and the port check leave them
/// and their descendants alone.
fn fleet_pids(rows: &[ReplicaStatus]) -> HashSet<i32> {
    rows.iter().filter_map(|r| r.pid).collect()
}

/// Stops the strays of the services this start will spawn (or refuses with `keep_strays`),
/// then checks their ports. `Err` means nothing may start.
///
/// `spawner` is the process that spawns the replicas (the daemon): nothing it started is a
/// stray, which also covers a replica that a restart, a scale or a rerun spawns while the
/// scan runs and that `rows` could not show yet.
pub(super) async fn clear(
    project: &ProjectSpec,
    selection: &[ServiceName],
    scale: &BTreeMap<ServiceName, u32>,
    (rows, spawner): (&[ReplicaStatus], Option<i32>),
    keep_strays: bool,
    events: &UnboundedSender<Progress>,
) -> Result<Cleared, Vec<Failure>> {
    let wanted = with_dependencies(project, selection);
    let pending = pending_replicas(project, &wanted, scale, rows);
    let starting: Vec<ServiceName> = pending.keys().cloned().collect();
    let fleet = fleet_pids(rows);
    let ours: HashSet<i32> = fleet.iter().copied().chain(spawner).collect();
    let strays = find_strays(project, &starting, &ours);
    if keep_strays && !strays.is_empty() {
        return Err(refusals(&strays));
    }
    let mut failed: BTreeMap<ServiceName, Failure> = BTreeMap::new();
    for stray in &strays {
        emit(
            events,
            &stray.service,
            Phase::Stopping,
            format!(
                "stray pid {} ({}): {}, stopping it",
                stray.pid, stray.cmdline, stray.reason
            ),
        );
    }
    for (service, outcome) in stop_all(project, strays, events).await {
        failed.entry(service.clone()).or_insert_with(|| Failure {
            unit: service.to_string(),
            reason: format!("a copy running outside Orchestra {outcome}"),
            log_tail: Vec::new(),
        });
    }
    check_ports(project, &pending, &fleet, &mut failed);
    if failed.is_empty() {
        return Ok(Cleared::default());
    }
    let mut failures: Vec<Failure> = failed.values().cloned().collect();
    let mut left_out: BTreeSet<ServiceName> = failed.into_keys().collect();
    // Dependants of a failed service cannot start either; repeat until nothing changes.
    loop {
        let more: Vec<&ServiceName> = wanted
            .iter()
            .filter(|s| !left_out.contains(*s))
            .filter(|s| service_deps(project, s).any(|d| left_out.contains(d)))
            .collect();
        if more.is_empty() {
            break;
        }
        for s in more {
            let dep = service_deps(project, s)
                .find(|d| left_out.contains(*d))
                .map(ToString::to_string)
                .unwrap_or_default();
            failures.push(Failure {
                unit: s.to_string(),
                reason: format!("not started: dependency `{dep}` failed"),
                log_tail: Vec::new(),
            });
            left_out.insert(s.clone());
        }
    }
    Ok(Cleared {
        narrowed: Some(wanted.difference(&left_out).cloned().collect()),
        failures,
    })
}

/// One failure per service whose copies run outside Orchestra, listing them.
fn refusals(strays: &[Stray]) -> Vec<Failure> {
    let mut by_service: BTreeMap<&ServiceName, Vec<String>> = BTreeMap::new();
    for s in strays {
        by_service
            .entry(&s.service)
            .or_default()
            .push(format!("pid {} ({}): {}", s.pid, s.cmdline, s.reason));
    }
    by_service
        .into_iter()
        .map(|(service, lines)| Failure {
            unit: service.to_string(),
            reason: if lines.len() == 1 {
                "a copy is running outside Orchestra (--keep-strays); stop it, or run \
                 without --keep-strays"
                    .to_owned()
            } else {
                format!(
                    "{} copies are running outside Orchestra (--keep-strays); stop them, or \
                     run without --keep-strays",
                    lines.len()
                )
            },
            log_tail: lines,
        })
        .collect()
}

/// Stops every stray, each service's with its own stop signal and timeout, all at once;
/// returns the services whose strays survived, with how.
async fn stop_all(
    project: &ProjectSpec,
    strays: Vec<Stray>,
    events: &UnboundedSender<Progress>,
) -> Vec<(ServiceName, StrayOutcome)> {
    let mut by_service: BTreeMap<ServiceName, Vec<Stray>> = BTreeMap::new();
    for s in strays {
        by_service.entry(s.service.clone()).or_default().push(s);
    }
    let mut stops = tokio::task::JoinSet::new();
    for (service, group) in by_service {
        let Some(spec) = project.services.get(&service) else {
            continue;
        };
        let (signal, timeout) = (spec.stop_signal, spec.stop_timeout);
        stops.spawn(async move { stop_strays(&group, signal, timeout).await });
    }
    let mut survived = Vec::new();
    while let Some(joined) = stops.join_next().await {
        for stopped in joined.unwrap_or_default() {
            let StrayStopped { stray, outcome } = stopped;
            tracing::info!(pid = stray.pid, service = %stray.service, %outcome, "stray handled");
            if outcome.is_gone() {
                let message = format!("stray pid {} {outcome}", stray.pid);
                emit(events, &stray.service, Phase::Stopped, message);
            } else {
                survived.push((stray.service, outcome));
            }
        }
    }
    survived
}

/// Fails each service one of whose new replicas' ports a process outside the fleet holds.
fn check_ports(
    project: &ProjectSpec,
    pending: &BTreeMap<ServiceName, Vec<u32>>,
    fleet: &HashSet<i32>,
    failed: &mut BTreeMap<ServiceName, Failure>,
) {
    let mut wanted: BTreeMap<u16, &ServiceName> = BTreeMap::new();
    for (name, indices) in pending {
        let Some(spec) = project.services.get(name) else {
            continue;
        };
        for &i in indices {
            if let Some(port) = spec.replica_port(i) {
                wanted.insert(port, name);
            }
        }
    }
    let ports: Vec<u16> = wanted.keys().copied().collect();
    for holder in port_holders(&ports) {
        let Some(&service) = wanted.get(&holder.port) else {
            continue;
        };
        if holder.pid != 0 && descends_from(holder.pid, fleet) {
            continue;
        }
        failed.entry(service.clone()).or_insert_with(|| Failure {
            unit: service.to_string(),
            reason: holder.to_string(),
            log_tail: Vec::new(),
        });
    }
}

/// The replicas of each service in `wanted` that this start will spawn: those without a
/// live row under the engine (a crashed or stopped replica is started again).
fn pending_replicas(
    project: &ProjectSpec,
    wanted: &BTreeSet<ServiceName>,
    scale: &BTreeMap<ServiceName, u32>,
    rows: &[ReplicaStatus],
) -> BTreeMap<ServiceName, Vec<u32>> {
    wanted
        .iter()
        .filter_map(|name| {
            let spec = project.services.get(name)?;
            let count = scale.get(name).copied().unwrap_or(spec.scale);
            let indices: Vec<u32> = (0..count)
                .filter(|&i| {
                    !rows.iter().any(|r| {
                        r.service == name.as_str() && r.replica == i && !r.state.is_final()
                    })
                })
                .collect();
            (!indices.is_empty()).then(|| (name.clone(), indices))
        })
        .collect()
}

/// The service dependencies of `name` (vendors are not processes of ours).
fn service_deps<'a>(
    project: &'a ProjectSpec,
    name: &ServiceName,
) -> impl Iterator<Item = &'a ServiceName> {
    project
        .services
        .get(name)
        .into_iter()
        .flat_map(|s| s.depends_on.iter())
        .filter_map(|d| match d {
            Dependency::Service(s) => Some(s),
            Dependency::Vendor(_) => None,
        })
}

/// `selection` (every service when empty) plus everything it depends on, transitively.
fn with_dependencies(project: &ProjectSpec, selection: &[ServiceName]) -> BTreeSet<ServiceName> {
    let mut stack: Vec<ServiceName> = if selection.is_empty() {
        project.services.keys().cloned().collect()
    } else {
        selection.to_vec()
    };
    let mut out = BTreeSet::new();
    while let Some(name) = stack.pop() {
        if project.services.contains_key(&name) && out.insert(name.clone()) {
            stack.extend(service_deps(project, &name).cloned());
        }
    }
    out
}

/// Whether `pid` is in `set` or descends from a member of it (a replica's `go run` child
/// holds the replica's port).
fn descends_from(pid: i32, set: &HashSet<i32>) -> bool {
    let mut pid = pid;
    // Bounded: a parent chain is short, and a race could at worst make a loop.
    for _ in 0..4096 {
        if set.contains(&pid) {
            return true;
        }
        match parent(pid) {
            Some(p) if p > 0 && p != pid => pid = p,
            _ => return false,
        }
    }
    false
}

/// The parent of `pid`, from `/proc/<pid>/stat` (after the name, which may hold spaces).
fn parent(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

fn emit(events: &UnboundedSender<Progress>, unit: &ServiceName, phase: Phase, message: String) {
    let _ = events.send(Progress {
        unit: unit.to_string(),
        replica: None,
        phase,
        message: Some(message),
    });
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::os::unix::process::CommandExt;
    use std::process::{Child, Command};

    use orchestra_config::{Project, Section};
    use orchestra_core::ReplicaState;
    use orchestra_core::state::UnitKind;
    use tokio::sync::mpsc;

    use super::*;

    /// web listens on `port` and api depends on it; worker stands alone. Each runs a
    /// `sleep` of its own, so a hand-started copy is easy to make.
    fn project(root: &std::path::Path, port: u16) -> ProjectSpec {
        let write = |rel: &str, text: &str| {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        };
        write("orchestra.yml", "");
        write(
            "web/service.yml",
            &format!("run: sleep 3600\nport: {port}\nstop_timeout: 1s\n"),
        );
        write("api/service.yml", "run: sleep 3601\ndepends_on: [web]\n");
        write("worker/service.yml", "run: sleep 3602\nstop_timeout: 1s\n");
        let project = Project::load(&root.join("orchestra.yml")).expect("the project loads");
        project
            .resolve(Section::Start)
            .expect("the project resolves")
    }

    fn spawn_in(dir: &std::path::Path, argv: &[&str]) -> Child {
        Command::new(argv[0])
            .args(&argv[1..])
            .current_dir(dir)
            .spawn()
            .expect("spawn")
    }

    fn alive(child: &mut Child) -> bool {
        child.try_wait().expect("try_wait").is_none()
    }

    fn row(service: &str, pid: i32) -> ReplicaStatus {
        ReplicaStatus {
            service: service.into(),
            replica: 0,
            kind: UnitKind::Service,
            state: ReplicaState::Running,
            pid: Some(pid),
            ports: Vec::new(),
            restarts: 0,
            uptime_s: None,
            cpu_percent: None,
            rss_bytes: None,
            reason: None,
        }
    }

    fn drain(rx: &mut mpsc::UnboundedReceiver<Progress>) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(p) = rx.try_recv() {
            out.push(format!("{} {:?}", p.unit, p.message));
        }
        out
    }

    #[tokio::test]
    async fn strays_are_stopped_and_a_foreign_port_fails_its_service_and_dependants() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().canonicalize().expect("canonical");
        let held = TcpListener::bind("0.0.0.0:0").expect("bind");
        let port = held.local_addr().expect("addr").port();
        let project = project(&root, port);
        let mut stray = spawn_in(&root.join("worker"), &["sleep", "3602"]);
        let mut other = spawn_in(&root.join("worker"), &["sleep", "999"]);
        let (tx, mut rx) = mpsc::unbounded_channel();

        let cleared = clear(&project, &[], &BTreeMap::new(), (&[], None), false, &tx)
            .await
            .expect("a start may go on");

        let worker = ServiceName::new("worker").expect("name");
        assert_eq!(cleared.narrowed, Some(vec![worker]));
        let failures: Vec<(String, String)> = cleared
            .failures
            .iter()
            .map(|f| (f.unit.clone(), f.reason.clone()))
            .collect();
        let me = std::process::id();
        assert_eq!(failures.len(), 2, "{failures:?}");
        assert_eq!(failures[0].0, "web");
        assert!(
            failures[0]
                .1
                .starts_with(&format!("port {port} is held by pid {me}: ")),
            "{failures:?}"
        );
        assert_eq!(
            failures[1],
            ("api".into(), "not started: dependency `web` failed".into())
        );
        assert!(!alive(&mut stray), "the stray copy was stopped");
        assert!(
            alive(&mut other),
            "a different command in the folder is left alone"
        );
        let events = drain(&mut rx);
        let pid = stray.id();
        assert!(
            events.iter().any(|e| e.contains(&format!(
                "stray pid {pid} (sleep 3602): runs `sleep` of worker, stopping it"
            ))),
            "{events:?}"
        );
        assert!(
            events
                .iter()
                .any(|e| e.contains(&format!("stray pid {pid} stopped"))),
            "{events:?}"
        );
        other.kill().expect("kill");
        other.wait().expect("wait");
    }

    #[tokio::test]
    async fn keep_strays_refuses_and_kills_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().canonicalize().expect("canonical");
        let project = project(&root, 1);
        let mut stray = spawn_in(&root.join("worker"), &["sleep", "3602"]);
        let (tx, _rx) = mpsc::unbounded_channel();
        let worker = ServiceName::new("worker").expect("name");

        let refused = clear(
            &project,
            &[worker],
            &BTreeMap::new(),
            (&[], None),
            true,
            &tx,
        )
        .await
        .expect_err("a start with strays is refused");

        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].unit, "worker");
        assert!(refused[0].reason.contains("run without --keep-strays"));
        assert_eq!(
            refused[0].log_tail,
            [format!(
                "pid {} (sleep 3602): runs `sleep` of worker",
                stray.id()
            )]
        );
        assert!(alive(&mut stray));
        // What the spawner (the daemon) started is its own, never a stray.
        let me = i32::try_from(std::process::id()).ok();
        let worker = ServiceName::new("worker").expect("name");
        let ours = clear(&project, &[worker], &BTreeMap::new(), (&[], me), true, &tx).await;
        assert!(ours.is_ok_and(|c| c.failures.is_empty()));
        stray.kill().expect("kill");
        stray.wait().expect("wait");
    }

    #[tokio::test]
    async fn the_fleet_and_its_descendants_are_neither_strays_nor_foreign_port_holders() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().canonicalize().expect("canonical");
        let held = TcpListener::bind("0.0.0.0:0").expect("bind");
        let port = held.local_addr().expect("addr").port();
        let project = project(&root, port);
        // The "replica" of worker: a shell whose child is the `sleep` that would match, in
        // a process group of its own so that the test can end both.
        let mut replica = Command::new("sh")
            .args(["-c", "sleep 3602; true"])
            .current_dir(root.join("worker"))
            .process_group(0)
            .spawn()
            .expect("spawn");
        let shell = i32::try_from(replica.id()).expect("pid");
        let me = i32::try_from(std::process::id()).expect("pid");
        // This process holds web's port and stands for its replica; api is pending.
        let rows = [row("worker", shell), row("web", me)];
        let (tx, _rx) = mpsc::unbounded_channel();

        let cleared = clear(&project, &[], &BTreeMap::new(), (&rows, None), true, &tx)
            .await
            .expect("nothing stray, nothing foreign");

        assert_eq!(cleared.narrowed, None);
        assert!(cleared.failures.is_empty());
        assert!(alive(&mut replica));
        let group = nix::unistd::Pid::from_raw(shell);
        nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL).expect("killpg");
        replica.wait().expect("wait");
    }

    #[test]
    fn pending_replicas_skip_live_ones_and_follow_scale() {
        let dir = tempfile::tempdir().expect("tempdir");
        let project = project(dir.path(), 1);
        let web = ServiceName::new("web").expect("name");
        let wanted = with_dependencies(&project, &[ServiceName::new("api").expect("name")]);
        assert_eq!(
            wanted.iter().map(ServiceName::as_str).collect::<Vec<_>>(),
            ["api", "web"]
        );
        let mut crashed = row("api", 1);
        crashed.state = ReplicaState::Crashed;
        let rows = [row("web", 1), crashed];
        let scale = BTreeMap::from([(web.clone(), 3)]);
        let pending = pending_replicas(&project, &wanted, &scale, &rows);
        assert_eq!(pending.get(&web), Some(&vec![1, 2]));
        assert_eq!(
            pending.get(&ServiceName::new("api").expect("name")),
            Some(&vec![0])
        );
    }
}
