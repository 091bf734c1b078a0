//! `ps --watch`: the table again every second until Ctrl-C, SIGTERM, or the reader of
//! its output goes away (`ps --watch | head`). On a terminal each frame is drawn over the
//! previous one, line by line (each line cleared to its end, then whatever is left below),
//! so nothing blinks; elsewhere the frames follow each other, a blank line apart, for a
//! log or a pipe. With `--json` every frame is one JSON array on its own line.

use std::fmt::Write as _;
use std::io::{ErrorKind, Write};
use std::time::Duration;

use orchestra_core::spec::ProjectSpec;
use orchestra_core::{ServiceName, StateDir};

use crate::args::PsArgs;
use crate::error::CliError;
use crate::output::Output;

/// How often the table is redrawn.
const EVERY: Duration = Duration::from_secs(1);

/// Draws frames until Ctrl-C (or SIGTERM), which ends the watch normally.
pub(super) async fn run(
    project: &ProjectSpec,
    services: &[ServiceName],
    state: &StateDir,
    args: &PsArgs,
    out: Output,
) -> Result<(), CliError> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).map_err(CliError::io("handling Ctrl-C"))?;
    let mut terminate =
        signal(SignalKind::terminate()).map_err(CliError::io("handling SIGTERM"))?;
    let in_place = !args.json && Output::stdout_is_tty();
    let mut drawn = 0usize;
    loop {
        let text = super::frame(project, services, state, args, out).await?;
        let screen = if in_place {
            let text = fit(&text, terminal_rows());
            let screen = over(&text, drawn);
            drawn = text.lines().count();
            screen
        } else if args.json {
            text
        } else {
            format!("{text}\n")
        };
        let mut stdout = std::io::stdout().lock();
        match stdout
            .write_all(screen.as_bytes())
            .and_then(|()| stdout.flush())
        {
            Ok(()) => {}
            // Whoever read the frames has seen enough.
            Err(e) if e.kind() == ErrorKind::BrokenPipe => return Ok(()),
            Err(e) => return Err(CliError::io("writing to stdout")(e)),
        }
        drop(stdout);
        tokio::select! {
            () = tokio::time::sleep(EVERY) => {}
            _ = interrupt.recv() => return Ok(()),
            _ = terminate.recv() => return Ok(()),
        }
    }
}

/// The height of the terminal on stdout, when it has one.
fn terminal_rows() -> Option<usize> {
    let size = rustix::termios::tcgetwinsize(std::io::stdout()).ok()?;
    (size.ws_row > 0).then_some(usize::from(size.ws_row))
}

/// `text` cut to the terminal's height (keeping a line for the cursor): a frame taller
/// than the screen could not be drawn over, as its top would have scrolled away.
fn fit(text: &str, rows: Option<usize>) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let Some(room) = rows.map(|r| r.saturating_sub(1).max(1)) else {
        return text.to_owned();
    };
    if lines.len() <= room {
        return text.to_owned();
    }
    let kept = room - 1;
    let mut fitted = String::new();
    for line in &lines[..kept] {
        fitted.push_str(line);
        fitted.push('\n');
    }
    let _ = writeln!(fitted, "… {} more lines", lines.len() - kept);
    fitted
}

/// `text` drawn over the `drawn` lines of the previous frame: back to its first line,
/// each line cleared to its end as it is written, and the rest of the screen below
/// cleared once (a shorter frame leaves nothing behind).
fn over(text: &str, drawn: usize) -> String {
    let mut screen = String::new();
    if drawn > 0 {
        let _ = write!(screen, "\x1b[{drawn}F");
    }
    for line in text.lines() {
        screen.push_str(line);
        screen.push_str("\x1b[K\n");
    }
    screen.push_str("\x1b[J");
    screen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_is_drawn_over_the_last_one() {
        assert_eq!(over("A\nB\n", 0), "A\x1b[K\nB\x1b[K\n\x1b[J");
        assert_eq!(over("A\n", 2), "\x1b[2FA\x1b[K\n\x1b[J");
    }

    #[test]
    fn a_frame_taller_than_the_screen_is_cut_to_it() {
        assert_eq!(fit("A\nB\nC\nD\n", Some(3)), "A\n… 3 more lines\n");
        assert_eq!(fit("A\nB\n", Some(3)), "A\nB\n");
        assert_eq!(fit("A\nB\nC\n", None), "A\nB\nC\n");
    }
}
