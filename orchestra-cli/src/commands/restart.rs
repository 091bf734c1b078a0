//! `orchestra restart`: rebuild, then replace the named services (or all).

use orchestra_config::Section;
use orchestra_core::protocol::Request;

use super::fleet::{finish, send};
use crate::args::SelectArgs;
use crate::context::Context;
use crate::daemon::client::Client;
use crate::daemon::peer::trusted_state;
use crate::error::CliError;
use crate::hooks::{self, When};

/// `orchestra restart`: rebuild, then replace.
pub async fn restart(cx: &mut Context, args: &SelectArgs) -> Result<(), CliError> {
    let project = cx.resolve_as_running(Section::Restart)?;
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
