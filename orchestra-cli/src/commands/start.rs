//! `orchestra start`: build and start the fleet (or the named services) through the daemon.

use orchestra_config::Section;
use orchestra_core::ServiceName;
use orchestra_core::address::Addressing;
use orchestra_core::protocol::{Event, Phase, Request, StartRequest};
use orchestra_core::spec::ProjectSpec;

use super::fleet::finish;
use super::progress::ProgressView;
use super::scale::scale_map;
use crate::args::StartArgs;
use crate::context::Context;
use crate::daemon::client::{Client, Reply};
use crate::daemon::peer::trusted_state;
use crate::error::CliError;
use crate::hooks::{self, When};
use crate::output::Output;

/// `orchestra start`.
pub async fn start(cx: &mut Context, args: &StartArgs) -> Result<(), CliError> {
    let addressing = if args.docker {
        Addressing::Containers
    } else {
        Addressing::Host
    };
    let project = cx.resolve_for(Section::Start, addressing)?;
    // A bare start goes as an empty selection, which brings every vendor up; a named one
    // only the vendors its services need.
    let services = if args.select.services.is_empty() {
        Vec::new()
    } else {
        cx.select(&args.select.services)?
    };
    nothing_to_start(&project, &args.select.services, &services)?;
    let scale = scale_map(cx, &project, &args.scale)?;
    hooks::run(&project, When::Before)?;
    let state = trusted_state(&project)?;
    let request = Request::Start(StartRequest {
        project: Box::new(project.clone()),
        services,
        scale,
        no_build: args.no_build,
        rerun: args.rerun,
        keep_strays: args.keep_strays,
        docker: args.docker,
    });
    if args.attach || args.logs {
        let ctrl_c = if args.attach {
            super::attach::CtrlC::StopsFleet
        } else {
            super::attach::CtrlC::LeavesFleet
        };
        super::attach::run(&state, request, cx.out, ctrl_c).await?;
        return hooks::run(&project, When::After);
    }
    let client = Client::connect_or_spawn(&state).await?;
    let reply = send_interruptible(client, &request, cx.out).await?;
    finish(&project, &reply, cx.out, "started")
}

/// Refuses a start that would start nothing: a selection that leaves every service out
/// (`~users ~orders`, an empty group), or a project with neither services nor vendors.
/// Saying so beats a silent success that leaves the user waiting for services.
fn nothing_to_start(
    project: &ProjectSpec,
    args: &[String],
    selected: &[ServiceName],
) -> Result<(), CliError> {
    let names: Vec<&str> = project.services.keys().map(ServiceName::as_str).collect();
    if !args.is_empty() && selected.is_empty() {
        return Err(CliError::usage(
            format!("nothing to start: `{}` selects no service", args.join(" ")),
            format!(
                "the services are: {}; name some, or leave fewer out with `~`",
                names.join(", ")
            ),
        ));
    }
    if args.is_empty() && project.services.is_empty() && project.vendors.is_empty() {
        return Err(CliError::usage(
            "nothing to start: the project has no services or vendors",
            "add a folder with a service.yml (`orchestra init --services` writes one for each \
             folder it detects), or a vendor under `vendors:` in orchestra.yml",
        ));
    }
    Ok(())
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
    let view = ProgressView::new(out);
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
                view.show(p);
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
