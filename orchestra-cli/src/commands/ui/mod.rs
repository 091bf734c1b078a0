//! `orchestra ui`: a live view of the fleet in the terminal, with its logs and the keys to
//! restart, stop, start and scale what is selected.
//!
//! It is a client of the daemon like every other command: the table is the daemon's status
//! answer moved forward by its event stream, the log pane reads the log files as `logs -f`
//! does, and each key sends the request its command would. Quitting leaves the fleet as it
//! is.
//!
//! - `app`: the state, and how keys and news change it (tested without a terminal);
//! - `fleet`, `logs`: the table's rows and the log pane's lines;
//! - `keys`: what each key means, and the list `?` shows;
//! - `render`: drawing it with ratatui;
//! - `feed`: the daemon's events and status, and the logs; `action`: the requests keys send;
//! - `terminal`: raw mode and the alternate screen, given back on every way out.

mod action;
mod app;
mod feed;
mod fleet;
mod keys;
mod logs;
mod render;
mod terminal;

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use crossterm::event::{Event, EventStream, KeyEventKind};
use futures_util::StreamExt;
use orchestra_core::StateDir;
use orchestra_logs::Follow;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::context::Context;
use crate::daemon::peer::trusted_state;
use crate::error::CliError;
use action::Action;
use app::{App, Msg};
use feed::Feed;
use render::Theme;
use terminal::Screen;

/// The shortest time between two frames: a flood of log lines is drawn at this rate, not
/// once per batch.
const FRAME: Duration = Duration::from_millis(20);

/// `orchestra ui`.
pub async fn run(cx: &mut Context) -> Result<(), CliError> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(CliError::usage(
            "`orchestra ui` needs a terminal",
            "run it in a terminal; `orchestra ps` and `orchestra logs -f` work in pipes",
        ));
    }
    let project = cx.resolve_running(orchestra_config::Section::Ps)?;
    let state = trusted_state(&project)?;
    let mut app = App::new(project.name.as_str(), fleet::Fleet::new(&project));
    let (history, follow) = feed::logs(&state)?;
    app.apply(Msg::Lines(history));
    let (tx, rx) = mpsc::unbounded_channel();
    let feed = Feed::start(&state, &tx);
    let signals = Signals::new()?;
    let screen = Screen::enter().map_err(CliError::io("taking over the terminal"))?;
    let theme = Theme {
        color: cx.out.color,
    };
    let ui = Ui {
        cx,
        state,
        theme,
        feed,
        tx,
    };
    let result = ui.run(app, screen, rx, follow, signals).await;
    terminal::restore();
    result
}

/// What the running UI holds besides its state.
struct Ui<'a> {
    cx: &'a Context,
    state: StateDir,
    theme: Theme,
    feed: Feed,
    tx: mpsc::UnboundedSender<Msg>,
}

/// The signals that end the UI (the terminal closing, a `kill`), leaving the fleet as it
/// is; in raw mode Ctrl-C is a key.
struct Signals {
    term: tokio::signal::unix::Signal,
    hangup: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> Result<Self, CliError> {
        let listen = |kind| signal(kind).map_err(CliError::io("handling signals"));
        Ok(Self {
            term: listen(SignalKind::terminate())?,
            hangup: listen(SignalKind::hangup())?,
            interrupt: listen(SignalKind::interrupt())?,
        })
    }

    async fn any(&mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.hangup.recv() => {}
            _ = self.interrupt.recv() => {}
        }
    }
}

impl Ui<'_> {
    async fn run(
        self,
        mut app: App,
        mut screen: Screen,
        mut rx: mpsc::UnboundedReceiver<Msg>,
        mut follow: Follow,
        mut signals: Signals,
    ) -> Result<(), CliError> {
        let mut input = EventStream::new();
        let mut last_frame: Option<Instant> = None;
        let mut following = true;
        while !app.quit {
            if app.redraw {
                app.redraw = false;
                app.dirty = true;
                screen.terminal().clear().map_err(drawing)?;
            }
            if app.dirty && last_frame.is_none_or(|at| at.elapsed() >= FRAME) {
                app.dirty = false;
                last_frame = Some(Instant::now());
                screen
                    .terminal()
                    .draw(|frame| render::draw(frame, &mut app, self.theme))
                    .map_err(drawing)?;
            }
            let next_frame = tokio::time::Instant::from_std(
                last_frame.map_or_else(Instant::now, |at| at + FRAME),
            );
            tokio::select! {
                () = signals.any() => break,
                event = input.next() => match event {
                    Some(Ok(Event::Key(key))) if key.kind != KeyEventKind::Release => {
                        if let Some(action) = app.on_key(key) {
                            self.launch(action);
                        }
                    }
                    Some(Ok(Event::Resize(..))) => app.dirty = true,
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(CliError::io("reading the keyboard")(e)),
                    // The terminal is gone.
                    None => break,
                },
                Some(msg) = rx.recv() => {
                    self.take(&mut app, msg);
                    while let Ok(msg) = rx.try_recv() {
                        self.take(&mut app, msg);
                    }
                }
                batch = follow.recv_batch(), if following => match batch {
                    Some(lines) => app.apply(Msg::Lines(lines)),
                    None => following = false,
                },
                () = tokio::time::sleep_until(next_frame), if app.dirty => {}
            }
        }
        Ok(())
    }

    /// Applies news from the feed, asking for a fresh status after a change.
    fn take(&self, app: &mut App, msg: Msg) {
        match &msg {
            Msg::Fleet(_) | Msg::Missed(_) => self.feed.refresh(),
            Msg::Done { .. } => self.feed.reconnect(),
            Msg::Status { .. } | Msg::Lines(_) => {}
        }
        app.apply(msg);
    }

    /// Sends `action`'s request on a task of its own, with the project's files as they are
    /// now; its end comes back as [`Msg::Done`].
    fn launch(&self, action: Action) {
        let mut fresh = self.cx.reloaded();
        let resolved = match action {
            // Stopping needs no service file that loads.
            Action::Stop(_) => fresh.resolve_running(action.section()),
            _ => fresh.resolve_as_running(action.section()),
        };
        let tx = self.tx.clone();
        let project = match resolved {
            Ok(project) => project,
            Err(e) => {
                let result = Err(format!(
                    "{} (`orchestra config` shows every problem)",
                    first_line(&e.to_string())
                ));
                let _ = tx.send(Msg::Done { action, result });
                return;
            }
        };
        let state = self.state.clone();
        let connected = self.feed.waker();
        tokio::spawn(async move {
            let result = action::perform(&action, project, &state, &connected).await;
            let _ = tx.send(Msg::Done { action, result });
        });
    }
}

fn drawing(e: std::io::Error) -> CliError {
    CliError::io("drawing on the terminal")(e)
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}
