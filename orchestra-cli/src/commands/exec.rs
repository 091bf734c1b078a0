//! `orchestra exec SVC -- CMD…`: a one-off command with a service's environment, or inside
//! a vendor's container.
//!
//! For a service, CMD runs in the service's folder with exactly the environment replica 0
//! gets from `start` (the merged env, PORT, ORCHESTRA_REPLICA/SERVICE, the addresses of
//! its dependencies: what `export users` prints), on this machine's addresses. Orchestra
//! execs it in its own place, so the terminal, stdin, signals and the exit code are the
//! command's own, whether or not the fleet runs. For a vendor, CMD runs in its container
//! through the Engine API, attached as `docker exec -i` (with `-t` on a terminal) would
//! be; a vendor that is not up is brought up first.

use std::io::IsTerminal;
use std::os::unix::process::CommandExt;

use orchestra_config::Section;
use orchestra_core::VendorName;
use orchestra_core::protocol::Request;
use orchestra_core::spec::{ProjectSpec, ServiceSpec};
use orchestra_vendors::exec::{ExecIo, TtySize, exec_attached};

use super::fleet;
use crate::args::ExecArgs;
use crate::context::Context;
use crate::daemon::client::Client;
use crate::error::CliError;

/// Runs `orchestra exec`; returns only when the command could not be run, or (for a
/// vendor) with its exit code.
pub fn run(cx: &mut Context, args: &ExecArgs) -> Result<(), CliError> {
    let project = cx.resolve(Section::Start)?;
    let Some((program, _)) = args.command.split_first() else {
        return Err(CliError::usage(
            "`orchestra exec` needs a command to run",
            "write it after `--`, as in `orchestra exec users -- env`",
        ));
    };
    if let Some(vendor) = project.vendors.keys().find(|v| v.as_str() == args.target) {
        let vendor = vendor.clone();
        let code = crate::block_on(in_vendor(cx, &project, &vendor, &args.command))?;
        return match code {
            0 => Ok(()),
            code => Err(CliError::Exited(clamp_code(code))),
        };
    }
    let service = one_service(cx, &project, &args.target)?;
    let replica = service.replica(0);
    let error = std::process::Command::new(program)
        .args(&args.command[1..])
        .current_dir(&service.dir)
        .envs(&replica.env)
        .exec();
    Err(CliError::Exec {
        program: program.clone(),
        source: error,
    })
}

/// The one service `name` means; a vendor name was handled before.
fn one_service<'p>(
    cx: &mut Context,
    project: &'p ProjectSpec,
    name: &str,
) -> Result<&'p ServiceSpec, CliError> {
    let selected = cx.select(std::slice::from_ref(&name.to_owned()))?;
    match selected.as_slice() {
        [one] => project
            .services
            .get(one)
            .ok_or_else(|| unreachable_service(name)),
        _ => Err(CliError::usage(
            format!("`{name}` selects {} services, not one", selected.len()),
            "name one service or vendor, as in `orchestra exec users -- env`",
        )),
    }
}

fn unreachable_service(name: &str) -> CliError {
    CliError::usage(
        format!("`{name}` is not a service of the resolved project"),
        "name one service or vendor, as in `orchestra exec users -- env`",
    )
}

/// An exit code as a process can return it: 0–255, as a shell reduces it.
fn clamp_code(code: i64) -> u8 {
    u8::try_from(code.rem_euclid(256)).unwrap_or(u8::MAX)
}

/// Runs `argv` in `vendor`'s container, bringing the vendor up first when it is not
/// running; returns the command's exit code.
async fn in_vendor(
    cx: &Context,
    project: &ProjectSpec,
    vendor: &VendorName,
    argv: &[String],
) -> Result<i64, CliError> {
    let docker = orchestra_vendors::connect()
        .await
        .map_err(CliError::vendor("cannot reach Docker"))?;
    let vendors = orchestra_vendors::Vendors::new(docker.clone(), project.name.clone());
    let rows = vendors
        .status()
        .await
        .map_err(CliError::vendor("cannot list the vendors"))?;
    let running = rows
        .iter()
        .any(|r| r.service == vendor.as_str() && r.state == orchestra_core::ReplicaState::Running);
    if !running {
        bring_up(cx, project, vendor).await?;
    }
    let container = orchestra_vendors::container_name(&project.name, vendor);
    let terminal = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let _raw = if terminal { RawMode::enter() } else { None };
    let io = ExecIo {
        stdin: Some(read_stdin()),
        tty: if terminal { terminal_size() } else { None },
    };
    let mut stdout = tokio::io::stdout();
    let mut stderr = tokio::io::stderr();
    exec_attached(&docker, &container, argv, io, &mut stdout, &mut stderr)
        .await
        .map_err(CliError::vendor(
            "cannot run the command in the vendor's container",
        ))
}

/// `vendors up VENDOR` through the daemon, quietly: stdout is the command's.
async fn bring_up(
    cx: &Context,
    project: &ProjectSpec,
    vendor: &VendorName,
) -> Result<(), CliError> {
    if !cx.out.quiet {
        eprintln!("{vendor} is not running: bringing it up first");
    }
    let state = crate::daemon::peer::trusted_state(project)?;
    let client = Client::connect_or_spawn(&state).await?;
    let request = Request::VendorsUp {
        project: Box::new(project.clone()),
        vendors: vec![vendor.clone()],
    };
    let quiet = crate::output::Output {
        quiet: true,
        ..cx.out
    };
    let reply = fleet::send(client, &request, quiet).await?;
    if reply.ok {
        return Ok(());
    }
    for failure in &reply.failures {
        fleet::print_failure(failure, cx.out);
    }
    Err(CliError::NotDone {
        verb: "up",
        units: fleet::failed_units(&reply.failures),
    })
}

/// Stdin, read on a thread of its own and handed over chunk by chunk: a blocked read
/// must not keep the command from ending once the container's command has.
fn read_stdin() -> tokio::sync::mpsc::Receiver<Vec<u8>> {
    use std::io::Read;
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = vec![0u8; 8192];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if tx.blocking_send(buf[..n].to_vec()).is_err() {
                        return;
                    }
                }
            }
        }
    });
    rx
}

/// The terminal's size now and on every SIGWINCH.
fn terminal_size() -> Option<tokio::sync::watch::Receiver<TtySize>> {
    let size = current_size()?;
    let (tx, rx) = tokio::sync::watch::channel(size);
    let mut winch =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change()).ok()?;
    tokio::spawn(async move {
        while winch.recv().await.is_some() {
            if let Some(size) = current_size()
                && tx.send(size).is_err()
            {
                return;
            }
        }
    });
    Some(rx)
}

fn current_size() -> Option<TtySize> {
    let size = rustix::termios::tcgetwinsize(std::io::stdout()).ok()?;
    Some(TtySize {
        rows: size.ws_row,
        cols: size.ws_col,
    })
}

/// The terminal in raw mode while the container's command owns it (its own line editing,
/// Ctrl-C to it), restored when dropped.
struct RawMode {
    saved: rustix::termios::Termios,
}

impl RawMode {
    fn enter() -> Option<Self> {
        let saved = rustix::termios::tcgetattr(std::io::stdin()).ok()?;
        let mut raw = saved.clone();
        raw.make_raw();
        rustix::termios::tcsetattr(
            std::io::stdin(),
            rustix::termios::OptionalActions::Now,
            &raw,
        )
        .ok()?;
        Some(Self { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = rustix::termios::tcsetattr(
            std::io::stdin(),
            rustix::termios::OptionalActions::Now,
            &self.saved,
        );
    }
}
