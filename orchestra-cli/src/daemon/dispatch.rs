//! What the daemon does with one request: the runtime call it asks for, and the event
//! that ends its answer.

use orchestra_core::protocol::{Event, Progress, Request};
use tokio::sync::{mpsc, watch};

use crate::runtime::vendors::taken_down;
use crate::runtime::{Runtime, RuntimeError};

/// Carries out one request through the runtime and says how it went.
pub(super) async fn run_request(
    runtime: &Runtime,
    request: Request,
    events: mpsc::UnboundedSender<Progress>,
    status: tokio::sync::oneshot::Sender<Vec<orchestra_core::ReplicaStatus>>,
    hung_up: watch::Receiver<bool>,
) -> Event {
    let outcome = match request {
        Request::Start(start) => runtime.start(start, events, hung_up).await,
        Request::VendorsUp { project, vendors } => {
            let up = runtime.vendors_up(&project, &vendors, events).await;
            return done(up);
        }
        Request::VendorsDown {
            project,
            vendors,
            volumes,
        } => {
            let down = runtime.vendors_down(&project, &vendors, volumes).await;
            for line in down.iter().flat_map(|d| taken_down(d, volumes)) {
                let _ = events.send(line);
            }
            return done(down.map(drop));
        }
        Request::Stop { services } => Ok(runtime.stop(&services, events).await),
        Request::Restart { project, services } => {
            runtime.restart(&project, &services, events).await
        }
        Request::Scale { project, scale } => runtime.scale(&project, &scale, events).await,
        // Answered by `subscribe::stream` before a request gets here.
        Request::Subscribe => return done(Ok(())),
        Request::Status => {
            let _ = status.send(runtime.status().await);
            return done(Ok(()));
        }
        // The idle check ends the process once this answer is written.
        Request::Shutdown => Ok(runtime.shutdown(events).await),
    };
    match outcome {
        Ok(outcome) => match &outcome.refused {
            Some(plan) => refused(plan),
            None => Event::Done {
                ok: outcome.is_ok(),
                failures: outcome.wire_failures(),
            },
        },
        Err(RuntimeError::Refused(plan)) => refused(&plan),
        Err(e) => done(Err(e)),
    }
}

/// A request refused before anything started, answered as bad usage.
fn refused(plan: &orchestra_core::scale::PlanRefused) -> Event {
    Event::Refused {
        message: plan.to_string(),
        help: Some(plan.help()),
    }
}

fn done(result: Result<(), RuntimeError>) -> Event {
    match result {
        Ok(()) => Event::Done {
            ok: true,
            failures: Vec::new(),
        },
        Err(e) => Event::Done {
            ok: false,
            failures: vec![e.to_wire()],
        },
    }
}
