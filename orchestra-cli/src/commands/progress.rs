//! The progress of a request on a terminal: the daemon's progress lines as they come, and
//! below them one spinner line naming what is still building, waiting or starting, with how
//! long it has taken, once that passes a second.
//!
//! A six-second build used to show one static `… building` line and nothing after it: the
//! user could not tell a slow compiler from a hung one. The spinner says "still going, this
//! long". Off a terminal (CI logs, pipes) there is no spinner and no redrawing, only the
//! lines, so a log file reads the same as before.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use orchestra_core::protocol::{Phase, Progress};

use crate::output::Output;

/// How long a unit stays in one phase before the spinner shows it: shorter waits are the
/// normal case and a spinner flashing for them would only be noise.
const SHOW_AFTER: Duration = Duration::from_secs(1);

/// How often the spinner and its elapsed time are redrawn.
const TICK: Duration = Duration::from_millis(100);

/// Prints progress lines and, on a terminal, keeps the spinner under them.
pub(crate) struct ProgressView {
    out: Output,
    started: Instant,
    spinner: Option<Spinner>,
}

impl ProgressView {
    /// A view for a request sent now; the spinner only when stdout is a terminal.
    pub(crate) fn new(out: Output) -> Self {
        let spinner = (!out.quiet && Output::stdout_is_tty()).then(Spinner::start);
        Self {
            out,
            started: Instant::now(),
            spinner,
        }
    }

    /// Prints one progress event's line (above the spinner) and updates what is pending.
    pub(crate) fn show(&self, progress: &Progress) {
        if self.out.quiet {
            return;
        }
        let line = super::fleet::progress_line(progress, self.out, self.started);
        match &self.spinner {
            Some(spinner) => spinner.show(progress, &line),
            None => {
                let _ = writeln!(std::io::stdout(), "{line}");
            }
        }
    }
}

impl Drop for ProgressView {
    fn drop(&mut self) {
        if let Some(spinner) = self.spinner.take() {
            spinner.stop();
        }
    }
}

/// The units in a phase that takes time, each with the phase's word and when it began.
type Pending = BTreeMap<String, (&'static str, Instant)>;

struct Spinner {
    shared: Arc<Mutex<Shown>>,
    ticker: tokio::task::JoinHandle<()>,
}

/// What is pending, and the spinner's bar while it is on screen. One lock over both: the
/// line under the printed lines always names what is pending now, and a bar taken off the
/// screen is cleared, never left behind as a line of its own.
#[derive(Default)]
struct Shown {
    pending: Pending,
    bar: Option<ProgressBar>,
}

impl Shown {
    /// Puts the spinner on screen with what has been pending past [`SHOW_AFTER`], or
    /// clears it when nothing has.
    fn redraw(&mut self, now: Instant) {
        match (spinner_message(&self.pending, now), &self.bar) {
            (Some(message), Some(bar)) => {
                bar.set_message(message);
                bar.tick();
            }
            (Some(message), None) => {
                let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stdout());
                bar.set_style(
                    ProgressStyle::with_template("{spinner:.cyan} {msg}")
                        .expect("the template is valid")
                        .tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ "),
                );
                bar.set_message(message);
                bar.tick();
                self.bar = Some(bar);
            }
            (None, _) => self.clear(),
        }
    }

    /// Takes the spinner off the screen, erasing its line.
    fn clear(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Spinner {
    fn start() -> Self {
        let shared = Arc::new(Mutex::new(Shown::default()));
        let ticker = tokio::spawn(tick(Arc::clone(&shared)));
        Self { shared, ticker }
    }

    fn show(&self, progress: &Progress, line: &str) {
        let unit = super::fleet::unit_label(progress);
        let mut shown = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        match pending_word(progress.phase) {
            Some(word) => {
                shown.pending.insert(unit, (word, Instant::now()));
            }
            None => {
                shown.pending.remove(&unit);
            }
        }
        // What the spinner names changes with this event: it is updated (or cleared) before
        // the line is printed, so it never shows a wait that is over.
        shown.redraw(Instant::now());
        let print = || {
            let _ = writeln!(std::io::stdout(), "{line}");
        };
        match &shown.bar {
            // The bar is hidden while the line prints, so the line lands above it.
            Some(bar) => bar.suspend(print),
            None => print(),
        }
    }

    fn stop(self) {
        self.ticker.abort();
        self.shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

/// The word a phase that lasts a while is shown with; `None` when the phase ends a wait.
fn pending_word(phase: Phase) -> Option<&'static str> {
    match phase {
        Phase::Building => Some("building"),
        Phase::Waiting => Some("waiting"),
        Phase::Starting => Some("starting"),
        Phase::Stopping => Some("stopping"),
        Phase::Built
        | Phase::BuildFailed
        | Phase::Ready
        | Phase::Failed
        | Phase::Backoff
        | Phase::Crashed
        | Phase::Stopped
        | Phase::Exited
        | Phase::Removed => None,
    }
}

/// Redraws the spinner every [`TICK`] while the request runs.
async fn tick(shared: Arc<Mutex<Shown>>) {
    let mut interval = tokio::time::interval(TICK);
    loop {
        interval.tick().await;
        shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .redraw(Instant::now());
    }
}

/// `building api, users 3.4s · waiting web 1.2s`: the units pending for longer than
/// [`SHOW_AFTER`], grouped by phase, each group with its oldest wait; `None` when there are
/// none.
fn spinner_message(pending: &Pending, now: Instant) -> Option<String> {
    let mut groups: BTreeMap<&'static str, (Vec<&str>, Duration)> = BTreeMap::new();
    for (unit, (word, since)) in pending {
        let waited = now.saturating_duration_since(*since);
        if waited < SHOW_AFTER {
            continue;
        }
        let (units, longest) = groups.entry(word).or_default();
        units.push(unit);
        *longest = (*longest).max(waited);
    }
    if groups.is_empty() {
        return None;
    }
    let parts: Vec<String> = groups
        .into_iter()
        .map(|(word, (units, longest))| {
            format!("{word} {} {:.1}s", units.join(", "), longest.as_secs_f64())
        })
        .collect();
    Some(parts.join(" · "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_wait_shows_nothing_and_a_long_one_its_units_and_time() {
        // Times as offsets from a start, "now" four seconds after it.
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let now = at(4000);
        let mut pending = Pending::new();
        pending.insert("web.0".into(), ("starting", at(3700)));
        assert_eq!(spinner_message(&pending, now), None);

        pending.insert("api".into(), ("building", at(600)));
        pending.insert("users".into(), ("building", at(2800)));
        pending.insert("db".into(), ("waiting", at(2000)));
        assert_eq!(
            spinner_message(&pending, now).as_deref(),
            Some("building api, users 3.4s · waiting db 2.0s")
        );
    }

    #[test]
    fn a_phase_that_ends_a_wait_has_no_spinner_word() {
        assert_eq!(pending_word(Phase::Building), Some("building"));
        assert_eq!(pending_word(Phase::Ready), None);
        assert_eq!(pending_word(Phase::BuildFailed), None);
    }
}
