//! Embedding the engine: three real processes, one waiting for another's TCP port, one
//! restarted by its policy, every event printed as it happens, Ctrl-C stopping them all.
//!
//! - `web` is this program again, run as `embed --serve PORT`: a TCP server that greets
//!   each connection. It is ready once its port accepts connections (a `tcp` probe).
//! - `client` depends on `web`, so the engine starts it only once `web` is ready; it is
//!   `embed --fetch PORT`, reading web's greeting every second into its log.
//! - `flaky` exits with code 1 after a moment: `on-failure` restarts it with backoff until
//!   it has failed three times in a row, then gives up on it.
//!
//! ```sh
//! cargo run -p orchestra-supervisor --example embed            # Ctrl-C stops them all
//! cargo run -p orchestra-supervisor --example embed -- --check # stops by itself, checks
//! ```
//!
//! With `--check` (or `ORCHESTRA_EXAMPLE_CHECK=1`) it stops the fleet once it is up and
//! `flaky` was restarted, then checks the events it saw: `web` ready before `client`
//! started, a restart of `flaky`, every replica stopped. It exits 1 when one of them did
//! not come within a minute.

use std::collections::BTreeMap;
use std::error::Error;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use orchestra_core::policy::{BackoffPolicy, RestartPolicy};
use orchestra_core::spec::{CommandSpec, Dependency, ProjectSpec, ReadyProbe, ServiceSpec};
use orchestra_core::{ProjectName, ReplicaId, ServiceName, StateDir};
use orchestra_supervisor::{Engine, FleetEvent, StartOptions};

/// How long `--check` waits for the fleet to be up and `flaky` restarted.
const CHECK_DEADLINE: Duration = Duration::from_secs(60);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["--serve", port] => serve(port),
        ["--fetch", port] => fetch(port),
        [] | ["--check"] => {
            let check = !args.is_empty()
                || std::env::var_os("ORCHESTRA_EXAMPLE_CHECK").is_some_and(|v| v != "0");
            tokio::runtime::Runtime::new()
                .map_err(Into::into)
                .and_then(|rt| rt.block_on(run(check)))
        }
        _ => Err("usage: embed [--check]".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("embed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Starts the fleet, prints its events, and stops it on Ctrl-C (or, with `check`, once it
/// has seen what it waits for).
async fn run(check: bool) -> Result<(), Box<dyn Error>> {
    let dir = tempfile::tempdir()?;
    let project = fleet(dir.path(), free_port()?)?;
    let engine = Engine::new(StateDir::for_project(dir.path()));
    let mut events = engine.subscribe();
    // A request's progress lines say what it waits for; the events say it all here.
    let (progress, _) = tokio::sync::mpsc::unbounded_channel();
    let mut seen = Seen::default();

    let start = engine.start(&project, &[], StartOptions::default(), progress.clone());
    let mut start = std::pin::pin!(start);
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    let mut deadline = std::pin::pin!(tokio::time::sleep(CHECK_DEADLINE));
    let mut up = false;
    loop {
        tokio::select! {
            Some(event) = events.recv() => match event {
                Ok(event) => {
                    println!("{event}");
                    seen.note(&event);
                }
                Err(missed) => println!("({missed})"),
            },
            outcome = &mut start, if !up => {
                if !outcome.is_ok() {
                    for failure in &outcome.failures {
                        eprintln!("start failed: {failure}");
                    }
                    engine.stop(&[], progress).await;
                    return Err("the fleet did not start".into());
                }
                up = true;
                println!("-- the fleet is up; {}", if check { "waiting for a restart of flaky" } else { "Ctrl-C stops it" });
            }
            _ = &mut ctrl_c => {
                println!("-- Ctrl-C: stopping the fleet");
                break;
            }
            () = &mut deadline, if check => {
                println!("-- {CHECK_DEADLINE:?} passed: stopping the fleet");
                break;
            }
        }
        if check && up && seen.restarted {
            println!("-- flaky was restarted: stopping the fleet");
            break;
        }
    }

    // The stop, with its events, down to the last process of every replica.
    let stop = engine.stop(&[], progress);
    let mut stop = std::pin::pin!(stop);
    let stopped = loop {
        tokio::select! {
            stopped = &mut stop => break stopped,
            Some(Ok(event)) = events.recv() => {
                println!("{event}");
                seen.note(&event);
            }
        }
    };
    while let Some(Ok(event)) = events.try_recv() {
        println!("{event}");
        seen.note(&event);
    }
    for failure in &stopped.failures {
        eprintln!("stop failed: {failure}");
    }
    if !stopped.is_ok() {
        return Err("the fleet did not stop cleanly".into());
    }
    println!("-- every process of the fleet is stopped");
    if check {
        let missing = seen.missing(up);
        if !missing.is_empty() {
            return Err(format!("expected events did not come: {}", missing.join("; ")).into());
        }
        println!("-- checked: web ready before client started, flaky restarted, all stopped");
    }
    Ok(())
}

/// What `--check` looks for in the events.
#[derive(Default)]
struct Seen {
    web_ready: bool,
    /// Set when `client` was spawned before `web` was ready: the dependency was ignored.
    client_too_early: bool,
    client_started: bool,
    restarted: bool,
    stopped: Vec<ReplicaId>,
}

impl Seen {
    fn note(&mut self, event: &FleetEvent) {
        match event {
            FleetEvent::Ready { replica, .. } if replica.service.as_str() == "web" => {
                self.web_ready = true;
            }
            FleetEvent::Started { replica, .. } if replica.service.as_str() == "client" => {
                self.client_started = true;
                self.client_too_early |= !self.web_ready;
            }
            FleetEvent::Restarting { replica, .. } if replica.service.as_str() == "flaky" => {
                self.restarted = true;
            }
            FleetEvent::Stopped { replica } => self.stopped.push(replica.clone()),
            _ => {}
        }
    }

    /// What did not happen as it should, in words.
    fn missing(&self, up: bool) -> Vec<String> {
        let mut missing = Vec::new();
        if !up {
            missing.push("the start did not finish".to_owned());
        }
        if !self.web_ready {
            missing.push("web never became ready".to_owned());
        }
        if !self.client_started {
            missing.push("client never started".to_owned());
        }
        if self.client_too_early {
            missing.push("client started before web was ready".to_owned());
        }
        if !self.restarted {
            missing.push("flaky was not restarted".to_owned());
        }
        for service in ["web", "client"] {
            if !self.stopped.iter().any(|r| r.service.as_str() == service) {
                missing.push(format!("{service} was not stopped"));
            }
        }
        missing
    }
}

/// The three services, run in `root`, `web` on `port`.
fn fleet(root: &Path, port: u16) -> Result<ProjectSpec, Box<dyn Error>> {
    let me = std::env::current_exe()?;
    let me = me.to_str().ok_or("the example's path is not UTF-8")?;
    let web_name = ServiceName::new("web")?;
    let web = ServiceSpec {
        port: Some(port),
        // Ready once it listens (what a `port` without `ready` gets from the config crate).
        ready: Some(ReadyProbe {
            timeout: Duration::from_secs(20),
            interval: Duration::from_millis(50),
            ..ReadyProbe::listening()
        }),
        ..ServiceSpec::command(
            web_name.clone(),
            root,
            CommandSpec::Exec(vec![me.into(), "--serve".into(), port.to_string()]),
        )
    };
    let client = ServiceSpec {
        depends_on: vec![Dependency::Service(web_name)],
        ..ServiceSpec::command(
            ServiceName::new("client")?,
            root,
            CommandSpec::Exec(vec![me.into(), "--fetch".into(), port.to_string()]),
        )
    };
    let flaky = ServiceSpec {
        restart: RestartPolicy::OnFailure,
        backoff: BackoffPolicy {
            initial: Duration::from_millis(200),
            max_restarts: Some(3),
            ..BackoffPolicy::default()
        },
        ..ServiceSpec::command(
            ServiceName::new("flaky")?,
            root,
            CommandSpec::Shell("echo 'flaky: failing'; sleep 0.5; exit 1".into()),
        )
    };
    let services: BTreeMap<_, _> = [web, client, flaky]
        .into_iter()
        .map(|s| (s.name.clone(), s))
        .collect();
    Ok(ProjectSpec {
        services,
        ..ProjectSpec::empty(ProjectName::new("embed")?, root)
    })
}

/// `web`: greets each connection on `port`, forever.
fn serve(port: &str) -> Result<(), Box<dyn Error>> {
    let listener = TcpListener::bind(("127.0.0.1", port.parse::<u16>()?))?;
    println!("web: listening on {port}");
    for stream in listener.incoming() {
        stream?.write_all(b"hello from web\n")?;
    }
    Ok(())
}

/// `client`: reads web's greeting every second; a refused connection ends it (with code 1,
/// so its restart policy brings it back).
fn fetch(port: &str) -> Result<(), Box<dyn Error>> {
    loop {
        let mut greeting = String::new();
        TcpStream::connect(("127.0.0.1", port.parse::<u16>()?))?.read_to_string(&mut greeting)?;
        print!("client: web said {greeting}");
        std::io::stdout().flush()?;
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// A TCP port nothing listens on now.
fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
