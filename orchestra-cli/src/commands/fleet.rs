//! What the commands that talk to the daemon share: sending a request while printing its
//! progress, and reporting its failures.

use std::time::Instant;

use orchestra_core::ServiceName;
use orchestra_core::protocol::{Event, Failure, Phase, Progress, Request};
use orchestra_core::spec::ProjectSpec;

use crate::context::Context;
use crate::daemon::client::{Answer, Client, Reply};
use crate::error::{CliError, DaemonError};
use crate::hooks::{self, When};
use crate::output::Output;

use super::progress::ProgressView;

/// The services named on the command line; none means the whole fleet (an empty list).
pub(crate) fn selection_or_all(
    cx: &mut Context,
    args: &[String],
) -> Result<Vec<ServiceName>, CliError> {
    if args.is_empty() {
        Ok(Vec::new())
    } else {
        cx.select(args)
    }
}

/// Sends a request and prints its progress as it comes.
pub(crate) async fn send(
    client: Client,
    request: &Request,
    out: Output,
) -> Result<Reply, CliError> {
    match send_watched(client, request, out).await? {
        Answer::Replied(reply) => Ok(reply),
        Answer::Unresponsive(silent) => Err(DaemonError::Unresponsive(silent).into()),
    }
}

/// [`send`], handing a daemon that stopped answering back to the caller.
pub(crate) async fn send_watched(
    client: Client,
    request: &Request,
    out: Output,
) -> Result<Answer, CliError> {
    let view = ProgressView::new(out);
    client
        .request_or_silence(request, |event| {
            if let Event::Progress(p) = event {
                view.show(p);
            }
        })
        .await
}

pub(crate) fn finish(
    project: &ProjectSpec,
    reply: &Reply,
    out: Output,
    verb: &'static str,
) -> Result<(), CliError> {
    if reply.ok {
        return hooks::run(project, When::After);
    }
    for failure in &reply.failures {
        print_failure(failure, out);
    }
    Err(CliError::NotDone {
        verb,
        units: failed_units(&reply.failures),
    })
}

/// The units of `failures`, each once however many of its replicas failed.
pub(crate) fn failed_units(failures: &[Failure]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for failure in failures {
        if !names.contains(&failure.unit) {
            names.push(failure.unit.clone());
        }
    }
    names
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
    let unit = unit_label(p);
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
        .map(|m| without_word(m, word))
        .filter(|m| !m.is_empty())
        .map(|m| format!(" {}", out.dim(&format!("({m})"))))
        .unwrap_or_default();
    let at = out.dim(&format!("{:>6.2}s", since.elapsed().as_secs_f64()));
    format!("{at} {mark} {unit:<20} {word}{detail}")
}

/// The unit a progress line is about: `web.0` for a replica, `web` for a service or vendor.
pub(crate) fn unit_label(p: &Progress) -> String {
    match p.replica {
        Some(n) => format!("{}.{n}", p.unit),
        None => p.unit.clone(),
    }
}

/// A progress message without the phase word the line already shows, so a build failure
/// reads `build failed (exit 2)`, not `build failed (build failed (exit 2))`.
fn without_word<'m>(message: &'m str, word: &str) -> &'m str {
    let Some(rest) = message.strip_prefix(word) else {
        return message;
    };
    let rest = rest.trim_start_matches([':', ' ']);
    rest.strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or(rest)
}

#[cfg(test)]
mod tests {
    use super::without_word;

    #[test]
    fn a_message_does_not_repeat_the_phase_word() {
        assert_eq!(
            without_word("build failed (exit 2)", "build failed"),
            "exit 2"
        );
        assert_eq!(
            without_word("build failed: cannot run `go`: not found", "build failed"),
            "cannot run `go`: not found"
        );
        assert_eq!(without_word("pid 42", "ready"), "pid 42");
        assert_eq!(without_word("build failed", "build failed"), "");
    }
}
