//! `orchestra scale users=3`: change a running service's replica count.

use std::collections::BTreeMap;

use orchestra_config::Section;
use orchestra_core::ServiceName;
use orchestra_core::protocol::Request;
use orchestra_core::spec::{ProjectSpec, ServiceSpec};

use super::fleet::{finish, send};
use crate::args::ScaleArgs;
use crate::context::Context;
use crate::daemon::client::Client;
use crate::daemon::peer::trusted_state;
use crate::error::CliError;

/// `orchestra scale users=3`.
pub async fn scale(cx: &mut Context, args: &ScaleArgs) -> Result<(), CliError> {
    let project = cx.resolve_as_running(Section::Start)?;
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

/// `SVC=N` pairs as replica counts; a task cannot be scaled (it runs once).
pub(super) fn scale_map(
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
