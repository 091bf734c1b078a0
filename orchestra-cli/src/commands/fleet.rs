//! `start`, `stop`, `restart`, `scale` and `ps`: the commands that talk to the daemon.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use orchestra_config::Section;
use orchestra_core::protocol::{Event, Failure, Phase, Progress, Request};
use orchestra_core::spec::{ProjectSpec, ServiceSpec};
use orchestra_core::state::UnitKind;
use orchestra_core::{ReplicaStatus, ServiceName, StateDir};
use orchestra_supervisor::{PortHolder, Stray};

use crate::args::{PsArgs, ScaleArgs, SelectArgs, StartArgs};
use crate::context::Context;
use crate::daemon::client::{Answer, Client, Reply};
use crate::daemon::docker::{self, Mode};
use crate::daemon::peer::trusted_state;
use crate::error::CliError;
use crate::hooks::{self, When};
use crate::output::Output;

/// `orchestra start`.
pub async fn start(cx: &mut Context, args: &StartArgs) -> Result<(), CliError> {
    let project = cx.resolve(Section::Start)?;
    // A bare start goes as an empty selection, which brings every vendor up; a named one
    // only the vendors its services need.
    let services = if args.select.services.is_empty() {
        Vec::new()
    } else {
        cx.select(&args.select.services)?
    };
    let scale = scale_map(cx, &project, &args.scale)?;
    hooks::run(&project, When::Before)?;
    let state = trusted_state(&project)?;
    let request = Request::Start {
        project: Box::new(project.clone()),
        services,
        scale,
        no_build: args.no_build,
        rerun: args.rerun,
        keep_strays: args.keep_strays,
        docker: args.docker,
    };
    if args.attach || args.logs {
        let mode = if args.attach {
            super::attach::Mode::Attach
        } else {
            super::attach::Mode::Logs
        };
        super::attach::run(&state, request, cx.out, mode).await?;
        return hooks::run(&project, When::After);
    }
    let client = Client::connect_or_spawn(&state).await?;
    let reply = send_interruptible(client, &request, cx.out).await?;
    finish(&project, &reply, cx.out, "started")
}

/// Sends a start and prints its progress; the first Ctrl-C cancels it (the daemon kills
/// its builds and stops the replicas it launched, and the progress shows them stop), a
/// second one leaves at once. Either way the command ends with exit 130.
async fn send_interruptible(
    client: Client,
    request: &Request,
    out: Output,
) -> Result<Reply, CliError> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).map_err(CliError::io("handling Ctrl-C"))?;
    let (cancel, cancelled) = tokio::sync::oneshot::channel::<()>();
    let mut cancel = Some(cancel);
    let started = Instant::now();
    // Replicas stopped once the cancel was asked for: the ones the start had launched.
    let cancelling = std::cell::Cell::new(false);
    let stopped = std::cell::Cell::new(0usize);
    let sending = client.request_unless(
        request,
        |event| {
            if let Event::Progress(p) = event {
                if cancelling.get() && p.phase == Phase::Stopped {
                    stopped.set(stopped.get() + 1);
                }
                if !out.quiet {
                    println!("{}", progress_line(p, out, started));
                }
            }
        },
        async {
            let _ = cancelled.await;
        },
    );
    let mut sending = std::pin::pin!(sending);
    loop {
        tokio::select! {
            reply = &mut sending => {
                let reply = reply?;
                return if cancel.is_some() {
                    Ok(reply)
                } else {
                    Err(CliError::Interrupted(format!(
                        "start cancelled: its builds were killed and the {} replica(s) it launched stopped",
                        stopped.get()
                    )))
                };
            }
            _ = interrupt.recv() => match cancel.take() {
                Some(cancel) => {
                    eprintln!(
                        "{}",
                        out.yellow("cancelling the start: killing its builds, stopping what it launched (Ctrl-C again to leave at once)")
                    );
                    cancelling.set(true);
                    let _ = cancel.send(());
                }
                None => {
                    return Err(CliError::Interrupted(
                        "left at once: the daemon finishes cancelling the start; `orchestra ps` shows what runs".into(),
                    ));
                }
            },
        }
    }
}

/// `orchestra stop`: through the daemon when one runs, else straight from the records.
pub async fn stop(cx: &mut Context, args: &SelectArgs) -> Result<(), CliError> {
    let project = cx.resolve_running(Section::Stop)?;
    let services = selection_or_all(cx, &args.services)?;
    hooks::run(&project, When::Before)?;
    let state = trusted_state(&project)?;
    let whole = services
        .is_empty()
        .then(|| WholeStop::before(&project, &state));
    if let Some(client) = Client::connect(&state).await? {
        let request = Request::Stop {
            services: services.clone(),
        };
        match send_watched(client, &request, cx.out).await? {
            Answer::Replied(reply) => {
                if let Some(whole) = whole.filter(|_| reply.ok) {
                    whole.clean_up(&project, cx.out).await?;
                }
                return finish(&project, &reply, cx.out, "stopped");
            }
            // Frozen or stuck: it could restart what the records path stops, so it goes
            // first, and its replicas are stopped as those of a daemon that died.
            Answer::Unresponsive(silent) => {
                eprintln!("warning: {silent}; killing it and stopping the fleet from its records");
                silent.kill(&state).await?;
            }
        }
    }
    let timeout = project
        .services
        .values()
        .map(|s| s.stop_timeout)
        .max()
        // No service known (files that never loaded): the default grace, never none.
        .unwrap_or(orchestra_core::spec::ServiceSpec::DEFAULT_STOP_TIMEOUT);
    let stopped = if Mode::saved(&state) == Mode::Docker {
        stop_containers(&project, &services, cx.out).await?
    } else {
        orchestra_supervisor::stop_from_records(&state, &services, timeout)
            .await
            .map_err(|e| CliError::Failed(format!("cannot stop the fleet: {e}")))?
    };
    if !cx.out.quiet {
        for id in &stopped {
            println!("{id:<20} stopped");
        }
    }
    if let Some(whole) = whole {
        whole.clean_up(&project, cx.out).await?;
    }
    hooks::run(&project, When::After)
}

/// What a stop of the whole fleet (`stop`, or Ctrl-C of `start --attach`) cleans up once
/// its services stopped.
pub(crate) struct WholeStop {
    /// Take the vendors down (their volumes stay).
    vendors: bool,
    /// Remove the images `--docker` built for the services, and the project network.
    docker: bool,
}

impl WholeStop {
    /// Decided before the stop: a stop of the whole fleet forgets the fleet's mode.
    pub(crate) fn before(project: &ProjectSpec, state: &StateDir) -> Self {
        Self {
            vendors: !project.vendors.is_empty(),
            docker: Mode::saved(state) == Mode::Docker,
        }
    }

    /// Takes the vendors down and removes what `--docker` left, saying what it did.
    pub(crate) async fn clean_up(
        &self,
        project: &ProjectSpec,
        out: Output,
    ) -> Result<(), CliError> {
        if self.vendors {
            super::vendors::down(project, &[], false, out).await?;
        }
        if self.docker {
            let removed = docker::remove_leftovers(project)
                .await
                .map_err(|e| CliError::Failed(format!("cannot remove the fleet's images: {e}")))?;
            if !out.quiet {
                let started = Instant::now();
                for what in removed {
                    println!(
                        "{}",
                        progress_line(&crate::daemon::vendors::removed(what), out, started)
                    );
                }
            }
        }
        Ok(())
    }
}

/// Stops the containers of a Docker-mode fleet whose daemon is gone, through the Engine
/// API; a whole-fleet stop also removes the project's containers no record knew of.
async fn stop_containers(
    project: &ProjectSpec,
    services: &[ServiceName],
    out: Output,
) -> Result<Vec<orchestra_core::ReplicaId>, CliError> {
    let stopped = docker::stop_without_daemon(project, services)
        .await
        .map_err(|e| CliError::Failed(format!("cannot stop the fleet's containers: {e}")))?;
    if !out.quiet {
        for name in &stopped.strays {
            println!("{name:<20} removed (a stray container)");
        }
    }
    Ok(stopped.replicas)
}

/// `orchestra restart`: rebuild, then replace.
pub async fn restart(cx: &mut Context, args: &SelectArgs) -> Result<(), CliError> {
    let project = cx.resolve(Section::Restart)?;
    let services = cx.select(&args.services)?;
    hooks::run(&project, When::Before)?;
    let state = trusted_state(&project)?;
    let client = Client::connect_or_spawn(&state).await?;
    let request = Request::Restart {
        project: Box::new(project.clone()),
        services,
    };
    let reply = send(client, &request, cx.out).await?;
    finish(&project, &reply, cx.out, "restarted")
}

/// `orchestra scale users=3`.
pub async fn scale(cx: &mut Context, args: &ScaleArgs) -> Result<(), CliError> {
    let project = cx.resolve(Section::Start)?;
    let scale = scale_map(cx, &project, &args.scale)?;
    let state = trusted_state(&project)?;
    let Some(client) = Client::connect(&state).await? else {
        return Err(CliError::usage(
            "the fleet is not running",
            "start it first with `orchestra start`, or pass --scale to start",
        ));
    };
    let request = Request::Scale {
        project: Box::new(project.clone()),
        scale,
    };
    let reply = send(client, &request, cx.out).await?;
    finish(&project, &reply, cx.out, "scaled")
}

/// `orchestra ps`.
pub async fn ps(cx: &mut Context, args: &PsArgs) -> Result<(), CliError> {
    let project = cx.resolve_running(Section::Ps)?;
    let services = selection_or_all(cx, &args.select.services)?;
    hooks::run(&project, When::Before)?;
    let state = trusted_state(&project)?;
    let from_daemon = match Client::connect(&state).await? {
        Some(client) => {
            let mut rows = Vec::new();
            let answer = client
                .request_or_silence(&Request::Status, |event| match event {
                    Event::Status { replicas } => rows.clone_from(replicas),
                    Event::Warning { message } => eprintln!("{} {message}", cx.out.yellow("!")),
                    _ => {}
                })
                .await?;
            match answer {
                Answer::Replied(_) => Some(rows),
                Answer::Unresponsive(silent) => {
                    eprintln!("warning: {silent}; showing the fleet from its records");
                    None
                }
            }
        }
        None => None,
    };
    let mut rows = if let Some(rows) = from_daemon {
        rows
    } else {
        let mut rows = orchestra_supervisor::status_from_records(&state);
        if Mode::saved(&state) == Mode::Docker {
            docker::published_ports(&state, &mut rows);
        }
        if !project.vendors.is_empty() {
            rows.extend(super::vendors::status_direct(&project).await);
        }
        rows
    };
    // Before narrowing: every replica of the fleet, shown or not, is the fleet.
    let outside = Outside::find(&project, &services, &rows, args);
    if !services.is_empty() {
        rows.retain(|r| services.iter().any(|s| s.as_str() == r.service));
    }
    let mut stdout = std::io::stdout().lock();
    let text = if args.json {
        let encoded = if outside.is_empty() {
            serde_json::to_string(&rows)
        } else {
            serde_json::to_string(&outside.json(&rows, &project.root))
        };
        let mut s =
            encoded.map_err(|e| CliError::Failed(format!("cannot encode the status: {e}")))?;
        s.push('\n');
        s
    } else {
        render_table(&rows, cx.out)
            + &notes(&project, &rows)
            + &outside.render(&project.root, cx.out)
    };
    stdout
        .write_all(text.as_bytes())
        .map_err(CliError::io("writing to stdout"))?;
    hooks::run(&project, When::After)
}

/// What `ps --strays` and `ps --ports` add: processes of the project outside the fleet,
/// found by this process (with or without a daemon) and never touched.
struct Outside {
    strays: Option<Vec<Stray>>,
    ports: Option<Vec<PortHolder>>,
}

impl Outside {
    fn find(
        project: &ProjectSpec,
        services: &[ServiceName],
        rows: &[ReplicaStatus],
        args: &PsArgs,
    ) -> Self {
        let fleet: HashSet<i32> = rows.iter().filter_map(|r| r.pid).collect();
        let strays = args.strays.then(|| {
            let services: Vec<ServiceName> = if services.is_empty() {
                project.services.keys().cloned().collect()
            } else {
                services.to_vec()
            };
            orchestra_supervisor::find_strays(project, &services, &fleet)
        });
        let ports = args
            .ports
            .then(|| orchestra_supervisor::strays::ports_held_under(&project.root, &fleet));
        Self { strays, ports }
    }

    fn is_empty(&self) -> bool {
        self.strays.is_none() && self.ports.is_none()
    }

    /// `{"replicas": [...], "strays": [...], "ports": [...]}`, with only the lists asked for.
    fn json(&self, rows: &[ReplicaStatus], root: &Path) -> serde_json::Value {
        let mut out = serde_json::json!({ "replicas": rows });
        if let Some(strays) = &self.strays {
            out["strays"] = strays
                .iter()
                .map(|s| {
                    serde_json::json!({
                        "service": s.service, "pid": s.pid, "reason": s.reason.to_string(),
                        "command": s.cmdline, "cwd": s.cwd,
                    })
                })
                .collect();
        }
        if let Some(ports) = &self.ports {
            out["ports"] = ports
                .iter()
                .map(|h| {
                    serde_json::json!({
                        "port": h.port, "pid": h.pid, "command": h.cmdline,
                        "dir": h.cwd.as_deref().map(|c| shown_dir(c, root)),
                    })
                })
                .collect();
        }
        out
    }

    fn render(&self, root: &Path, out: Output) -> String {
        let mut text = String::new();
        if let Some(strays) = &self.strays {
            text.push('\n');
            text.push_str(&if strays.is_empty() {
                "no copy of a service runs outside Orchestra\n".into()
            } else {
                let cells = strays.iter().map(|s| {
                    let reason = s.reason.to_string();
                    vec![
                        s.service.to_string(),
                        s.pid.to_string(),
                        reason,
                        s.cmdline.clone(),
                    ]
                });
                columns(&["SERVICE", "PID", "REASON", "COMMAND"], cells, out)
            });
        }
        if let Some(ports) = &self.ports {
            text.push('\n');
            text.push_str(&if ports.is_empty() {
                "no process of the project outside the fleet listens on a port\n".into()
            } else {
                let cells = ports.iter().map(|h| {
                    let dir = h
                        .cwd
                        .as_deref()
                        .map_or_else(|| "-".into(), |c| shown_dir(c, root));
                    vec![
                        h.port.to_string(),
                        h.pid.to_string(),
                        dir,
                        h.cmdline.clone(),
                    ]
                });
                columns(&["PORT", "PID", "DIR", "COMMAND"], cells, out)
            });
        }
        text
    }
}

/// `dir` relative to the project root (`.` for the root itself).
fn shown_dir(dir: &Path, root: &Path) -> String {
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    match dir.strip_prefix(&root) {
        Ok(rel) if rel.as_os_str().is_empty() => ".".into(),
        Ok(rel) => rel.display().to_string(),
        Err(_) => dir.display().to_string(),
    }
}

/// The width of each column: its widest cell or its header.
fn column_widths<Row: AsRef<[String]>>(header: &[&str], cells: &[Row]) -> Vec<usize> {
    (0..header.len())
        .map(|i| {
            cells
                .iter()
                .map(|c| c.as_ref()[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect()
}

/// A plain table: a bold header, columns padded to their widest cell but the last.
fn columns(header: &[&str], cells: impl Iterator<Item = Vec<String>>, out: Output) -> String {
    let cells: Vec<Vec<String>> = cells.collect();
    let widths = column_widths(header, &cells);
    let line = |cols: &[String]| {
        let mut line = String::new();
        for (i, col) in cols.iter().enumerate() {
            if i + 1 == cols.len() {
                line.push_str(col);
            } else {
                let _ = write!(line, "{col:<width$}  ", width = widths[i]);
            }
        }
        line.trim_end().to_owned() + "\n"
    };
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    let mut text = out.bold(&line(&header));
    for row in &cells {
        text.push_str(&line(row));
    }
    text
}

fn selection_or_all(cx: &mut Context, args: &[String]) -> Result<Vec<ServiceName>, CliError> {
    if args.is_empty() {
        Ok(Vec::new())
    } else {
        cx.select(args)
    }
}

/// `SVC=N` pairs as replica counts; a task cannot be scaled (it runs once).
fn scale_map(
    cx: &mut Context,
    project: &ProjectSpec,
    pairs: &[(String, u32)],
) -> Result<BTreeMap<ServiceName, u32>, CliError> {
    let mut map = BTreeMap::new();
    for (name, n) in pairs {
        let selected = cx.select(std::slice::from_ref(name))?;
        if let [service] = selected.as_slice() {
            if project
                .services
                .get(service)
                .is_some_and(ServiceSpec::is_task)
            {
                return Err(CliError::usage(
                    format!("`{service}` is a task: it runs once, with one replica"),
                    format!("leave out `{name}={n}`; `orchestra restart {service}` runs it again"),
                ));
            }
            map.insert(service.clone(), *n);
        } else {
            return Err(CliError::usage(
                format!("`{name}={n}` must name one service"),
                "write SERVICE=N, as in users=3",
            ));
        }
    }
    Ok(map)
}

/// Sends a request and prints its progress as it comes.
pub(crate) async fn send(
    client: Client,
    request: &Request,
    out: Output,
) -> Result<Reply, CliError> {
    match send_watched(client, request, out).await? {
        Answer::Replied(reply) => Ok(reply),
        Answer::Unresponsive(silent) => Err(CliError::Failed(silent.to_string())),
    }
}

/// [`send`], handing a daemon that stopped answering back to the caller.
async fn send_watched(client: Client, request: &Request, out: Output) -> Result<Answer, CliError> {
    let started = Instant::now();
    let mut stdout = std::io::stdout();
    client
        .request_or_silence(request, |event| {
            if let Event::Progress(p) = event
                && !out.quiet
            {
                let _ = writeln!(stdout, "{}", progress_line(p, out, started));
            }
        })
        .await
}

pub(crate) fn finish(
    project: &ProjectSpec,
    reply: &Reply,
    out: Output,
    verb: &str,
) -> Result<(), CliError> {
    if reply.ok {
        return hooks::run(project, When::After);
    }
    for failure in &reply.failures {
        print_failure(failure, out);
    }
    // Each name once, however many of its replicas failed.
    let mut names: Vec<&str> = Vec::new();
    for unit in reply.failures.iter().map(|f| f.unit.as_str()) {
        if !names.contains(&unit) {
            names.push(unit);
        }
    }
    Err(CliError::Failed(if names.is_empty() {
        format!("the fleet was not {verb}")
    } else {
        format!("not {verb}: {}", names.join(", "))
    }))
}

pub(crate) fn print_failure(failure: &Failure, out: Output) {
    eprintln!(
        "{} {}: {}",
        out.red("✗"),
        out.bold(&failure.unit),
        failure.reason
    );
    for line in &failure.log_tail {
        eprintln!("  {} {line}", out.dim("│"));
    }
}

pub(crate) fn progress_line(p: &Progress, out: Output, since: Instant) -> String {
    let unit = match p.replica {
        Some(n) => format!("{}.{n}", p.unit),
        None => p.unit.clone(),
    };
    let (mark, word) = match p.phase {
        Phase::Building => (out.dim("…"), "building"),
        Phase::Built => (out.green("✓"), "built"),
        Phase::Waiting => (out.dim("…"), "waiting"),
        Phase::BuildFailed => (out.red("✗"), "build failed"),
        Phase::Starting => (out.dim("…"), "starting"),
        Phase::Ready => (out.green("✓"), "ready"),
        Phase::Failed => (out.red("✗"), "failed"),
        Phase::Backoff => (out.yellow("↻"), "backing off"),
        Phase::Crashed => (out.red("✗"), "crashed"),
        Phase::Stopping => (out.dim("…"), "stopping"),
        Phase::Stopped => (out.green("■"), "stopped"),
        Phase::Exited => (out.dim("■"), "exited"),
        Phase::Removed => (out.green("■"), "removed"),
    };
    let detail = p
        .message
        .as_deref()
        .map(|m| format!(" {}", out.dim(&format!("({m})"))))
        .unwrap_or_default();
    let at = out.dim(&format!("{:>6.2}s", since.elapsed().as_secs_f64()));
    format!("{at} {mark} {unit:<20} {word}{detail}")
}

/// The `ps` table, with a REASON column when a row says why it is in its state (crashed,
/// waiting for a dependency, not started, a failed rerun, a task's exit).
pub fn render_table(rows: &[ReplicaStatus], out: Output) -> String {
    if rows.is_empty() {
        return "nothing is running\n".into();
    }
    let with_reason = rows.iter().any(|r| r.reason.is_some());
    let mut header = vec![
        "SERVICE", "STATE", "PID", "UPTIME", "RESTARTS", "PORTS", "CPU", "RSS",
    ];
    if with_reason {
        header.push("REASON");
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut cells = vec![
                if r.kind == orchestra_core::state::UnitKind::Vendor {
                    r.service.clone()
                } else {
                    format!("{}.{}", r.service, r.replica)
                },
                r.state.to_string(),
                r.pid.map_or_else(|| "-".into(), |p| p.to_string()),
                r.uptime_s.map_or_else(|| "-".into(), format_uptime),
                r.restarts.to_string(),
                if r.ports.is_empty() {
                    "-".into()
                } else {
                    r.ports
                        .iter()
                        .map(u16::to_string)
                        .collect::<Vec<_>>()
                        .join(",")
                },
                r.cpu_percent
                    .map_or_else(|| "-".into(), |c| format!("{c:.1}%")),
                r.rss_bytes.map_or_else(|| "-".into(), format_bytes),
            ];
            if with_reason {
                cells.push(r.reason.clone().unwrap_or_else(|| "-".into()));
            }
            cells
        })
        .collect();
    let widths = column_widths(&header, &cells);
    let mut text = String::new();
    let render = |cols: &[String], state: Option<orchestra_core::ReplicaState>| {
        let mut line = String::new();
        for (i, col) in cols.iter().enumerate() {
            let cell = if i + 1 == cols.len() {
                col.clone()
            } else {
                format!("{col:<width$}  ", width = widths[i])
            };
            // Colour after padding: escape codes take no room on screen.
            line.push_str(&match (i, state) {
                (1, Some(orchestra_core::ReplicaState::Running)) => out.green(&cell),
                (1, Some(orchestra_core::ReplicaState::Crashed)) => out.red(&cell),
                (
                    1,
                    Some(
                        orchestra_core::ReplicaState::Backoff
                        | orchestra_core::ReplicaState::Waiting,
                    ),
                ) => out.yellow(&cell),
                _ => cell,
            });
        }
        line.trim_end().to_owned() + "\n"
    };
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    text.push_str(&out.bold(&render(&header, None)));
    for (row, cols) in rows.iter().zip(cells) {
        text.push_str(&render(&cols, Some(row.state)));
    }
    text
}

/// What the table cannot say: why a replica is in its state (a probe that reached another
/// program, a crash, a failed rebuild), and a service running another count than its file
/// says (after `orchestra scale` or `start --scale`, until `stop`).
fn notes(project: &ProjectSpec, rows: &[ReplicaStatus]) -> String {
    let mut text = String::new();
    for row in rows {
        if let (UnitKind::Service, Some(reason)) = (row.kind, &row.reason) {
            let _ = writeln!(text, "{}.{}: {reason}", row.service, row.replica);
        }
    }
    let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
    for row in rows.iter().filter(|r| r.kind == UnitKind::Service) {
        *counts.entry(row.service.as_str()).or_default() += 1;
    }
    for (service, count) in counts {
        let Some(spec) = project
            .services
            .values()
            .find(|s| s.name.as_str() == service)
        else {
            continue;
        };
        if spec.scale != count {
            let _ = writeln!(
                text,
                "{service} runs {count} {}, its service.yml says {} (scaled until `orchestra stop`)",
                if count == 1 { "replica" } else { "replicas" },
                spec.scale
            );
        }
    }
    if text.is_empty() {
        text
    } else {
        format!("\n{text}")
    }
}

fn format_uptime(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{}s", s / 60, s % 60),
        s if s < 86_400 => format!("{}h{}m", s / 3600, (s % 3600) / 60),
        s => format!("{}d{}h", s / 86_400, (s % 86_400) / 3600),
    }
}

fn format_bytes(b: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    if b >= 1024 * 1024 * 1024 {
        format!("{:.1}G", b as f64 / (1024.0 * MIB))
    } else {
        format!("{:.1}M", b as f64 / MIB)
    }
}
