//! The UI's state and how it changes: on a key, and on what the data feed brings. No
//! terminal here: everything is a plain value, tested as such.

use std::sync::Arc;
use std::time::SystemTime;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use orchestra_core::ReplicaStatus;
use orchestra_core::event::FleetEvent;
use orchestra_core::state::UnitKind;
use orchestra_logs::LogLine;
use ratatui::widgets::TableState;

use super::action::{Action, Target};
use super::fleet::{Fleet, Row, UnitKey, event_reason};
use super::keys::{self, Command, Verb};
use super::logs::{Entry, LogView};

/// What the data feed tells the UI.
#[derive(Debug)]
pub(super) enum Msg {
    /// Every replica's status: from the daemon, or from the records when none runs.
    Status {
        /// The rows.
        rows: Vec<ReplicaStatus>,
        /// Whether a daemon answered.
        live: bool,
    },
    /// Something happened in the fleet.
    Fleet(FleetEvent),
    /// The subscription fell behind by this many events.
    Missed(u64),
    /// New log lines.
    Lines(Vec<LogLine>),
    /// An action ended: what it was, and what failed.
    Done {
        /// The action.
        action: Action,
        /// Why it failed, if it did.
        result: Result<(), String>,
    },
}

/// What the footer says until the next key or news.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Notice {
    /// The message.
    pub text: String,
    /// How it is coloured.
    pub tone: Tone,
}

/// The colour of a notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tone {
    /// Something is under way.
    Info,
    /// It worked.
    Good,
    /// It did not.
    Bad,
}

/// What keys are read as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Mode {
    /// Keys are commands.
    Normal,
    /// Keys type a search.
    Search(String),
    /// The key list is shown.
    Help,
}

/// The whole state of the UI.
#[derive(Debug)]
pub(super) struct App {
    /// The project's name, for the title.
    pub project: String,
    /// The table's rows.
    pub fleet: Fleet,
    /// The log pane.
    pub logs: LogView,
    /// How keys are read.
    pub mode: Mode,
    /// The footer's message.
    pub notice: Option<Notice>,
    /// Whether a daemon answered the last status request.
    pub live: bool,
    /// The table's scroll position, kept between frames.
    pub table: TableState,
    /// How many lines the log pane showed last: a page for the scroll keys.
    pub log_height: usize,
    /// Whether the log pane follows the selection (or shows the whole fleet).
    pub logs_follow_selection: bool,
    /// Whether the screen must be drawn again.
    pub dirty: bool,
    /// Whether the user asked to leave.
    pub quit: bool,
    /// Actions sent and not answered yet: leaving hangs up on them, which cancels a start.
    in_flight: usize,
    /// Whether the whole screen must be cleared and drawn (Ctrl-L).
    pub redraw: bool,
    selected: Option<UnitKey>,
}

impl App {
    /// The UI of project `name`, showing `fleet`, before the feed said anything.
    pub(super) fn new(name: &str, fleet: Fleet) -> Self {
        let selected = fleet.rows().first().map(|r| UnitKey::of(&r.status));
        Self {
            project: name.to_owned(),
            fleet,
            logs: LogView::default(),
            mode: Mode::Normal,
            notice: None,
            live: false,
            table: TableState::default(),
            log_height: 10,
            logs_follow_selection: false,
            dirty: true,
            quit: false,
            in_flight: 0,
            redraw: false,
            selected,
        }
    }

    /// The position of the selected row.
    pub(super) fn selected_index(&self) -> Option<usize> {
        if self.fleet.rows().is_empty() {
            return None;
        }
        let last = self.fleet.rows().len() - 1;
        Some(
            self.selected
                .as_ref()
                .and_then(|key| {
                    self.fleet.position(key).or_else(|| {
                        // Gone (scaled down): the row now where it would sort.
                        self.fleet
                            .rows()
                            .iter()
                            .position(|r| UnitKey::of(&r.status) > *key)
                    })
                })
                .unwrap_or(0)
                .min(last),
        )
    }

    /// The selected row.
    pub(super) fn selected(&self) -> Option<&Row> {
        self.selected_index().map(|i| &self.fleet.rows()[i])
    }

    /// Takes what the feed brought.
    pub(super) fn apply(&mut self, msg: Msg) {
        self.dirty = true;
        match msg {
            Msg::Status { rows, live } => {
                self.fleet.set_status(rows);
                self.live = live;
                self.sync_focus();
            }
            Msg::Fleet(event) => {
                self.fleet.apply(&event);
                self.logs.extend([Entry::Event {
                    unit: Arc::from(event.service().as_str()),
                    label: event
                        .replica()
                        .map_or_else(|| event.service().to_string(), ToString::to_string),
                    text: event_reason(&event),
                    ts: SystemTime::now(),
                    bad: is_bad(&event),
                }]);
            }
            Msg::Missed(count) => {
                self.notice = Some(Notice {
                    text: format!("missed {count} fleet events: reading the status again"),
                    tone: Tone::Info,
                });
            }
            Msg::Lines(lines) => self.logs.extend(lines.into_iter().map(Entry::Output)),
            Msg::Done { action, result } => {
                self.in_flight = self.in_flight.saturating_sub(1);
                self.notice = Some(match result {
                    Ok(()) => Notice {
                        text: action.done(),
                        tone: Tone::Good,
                    },
                    Err(why) => Notice {
                        text: format!("{}: {why}", action.failed()),
                        tone: Tone::Bad,
                    },
                });
            }
        }
    }

    /// Takes a key; returns what the fleet is to be asked, if anything.
    pub(super) fn on_key(&mut self, key: KeyEvent) -> Option<Action> {
        self.dirty = true;
        match &mut self.mode {
            Mode::Help => {
                self.mode = Mode::Normal;
                if let Some(Command::Quit) = keys::command(key) {
                    self.leave();
                }
                None
            }
            Mode::Search(text) => {
                match key.code {
                    KeyCode::Enter => {
                        let text = std::mem::take(text);
                        self.mode = Mode::Normal;
                        if !self.logs.start_search(&text) {
                            self.say(format!("no line matches `{text}`"), Tone::Bad);
                        }
                    }
                    KeyCode::Esc => self.mode = Mode::Normal,
                    KeyCode::Backspace => {
                        text.pop();
                    }
                    KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                        self.mode = Mode::Normal;
                    }
                    KeyCode::Char(c) => text.push(c),
                    _ => {}
                }
                None
            }
            Mode::Normal => {
                let command = keys::command(key)?;
                // A warning about leaving stays for the key that confirms it.
                if command != Command::Quit {
                    self.notice = None;
                }
                self.command(command)
            }
        }
    }

    fn command(&mut self, command: Command) -> Option<Action> {
        let page = (self.log_height / 2).max(1);
        match command {
            Command::Quit => self.leave(),
            Command::Select(delta) => {
                let at = self.selected_index().unwrap_or(0);
                self.select(at.saturating_add_signed(delta));
            }
            Command::SelectFirst => self.select(0),
            Command::SelectLast => self.select(usize::MAX),
            Command::LogsUp => self.logs.scroll_up(page, self.log_height),
            Command::LogsDown => self.logs.scroll_down(page),
            Command::LogsTop => self.logs.top(self.log_height),
            Command::LogsFollow => self.logs.follow(),
            Command::ToggleFocus => {
                self.logs_follow_selection = !self.logs_follow_selection;
                self.sync_focus();
            }
            Command::ToggleTimestamps => self.logs.timestamps = !self.logs.timestamps,
            Command::Search => self.mode = Mode::Search(String::new()),
            Command::OlderMatch | Command::NewerMatch => {
                if self.logs.search().is_none() {
                    self.say("no search: press / to search the logs".into(), Tone::Info);
                } else if !self.logs.next_match(command == Command::OlderMatch) {
                    self.say("no further match".into(), Tone::Info);
                }
            }
            Command::Help => self.mode = Mode::Help,
            Command::Escape => self.logs.clear_search(),
            Command::Redraw => self.redraw = true,
            Command::RestartAll => return Some(self.announce(Action::Restart(Target::Fleet))),
            Command::Act(verb) => return self.act(verb),
        }
        None
    }

    /// The action `verb` means for the selection, or a notice saying why there is none.
    fn act(&mut self, verb: Verb) -> Option<Action> {
        let row = self.selected()?;
        let name = row.status.service.clone();
        let target = match row.status.kind {
            UnitKind::Service => Target::Service(name.clone()),
            UnitKind::Vendor => Target::Vendor(name.clone()),
        };
        let action = match (verb, &target) {
            (Verb::Restart, _) => Action::Restart(target),
            (Verb::Stop, _) => Action::Stop(target),
            (Verb::Start, _) => Action::Start(target),
            (Verb::ScaleUp | Verb::ScaleDown, Target::Service(_)) => {
                let now = self.fleet.replicas(&name);
                let replicas = if verb == Verb::ScaleUp {
                    now.saturating_add(1)
                } else if now == 0 {
                    self.say(format!("{name} runs no replica"), Tone::Bad);
                    return None;
                } else {
                    now - 1
                };
                Action::Scale {
                    service: name,
                    replicas,
                }
            }
            (Verb::ScaleUp | Verb::ScaleDown, _) => {
                self.say(
                    format!("{name} is a vendor: it runs one container"),
                    Tone::Bad,
                );
                return None;
            }
        };
        Some(self.announce(action))
    }

    /// Says that `action` is under way, and counts it until its answer.
    fn announce(&mut self, action: Action) -> Action {
        self.in_flight += 1;
        self.say(action.under_way(), Tone::Info);
        action
    }

    /// Quits, unless an action is under way and this is the first `q` since it started:
    /// then says what leaving would do, and the next `q` quits.
    fn leave(&mut self) {
        const WARNING: &str = "an action is under way: leaving now hangs up on it (a start is cancelled); q again leaves";
        let warned = self.notice.as_ref().is_some_and(|n| n.text == WARNING);
        if self.in_flight == 0 || warned {
            self.quit = true;
        } else {
            self.say(WARNING.to_owned(), Tone::Bad);
        }
    }

    fn say(&mut self, text: String, tone: Tone) {
        self.notice = Some(Notice { text, tone });
    }

    fn select(&mut self, index: usize) {
        let rows = self.fleet.rows();
        if let Some(row) = rows.get(index.min(rows.len().saturating_sub(1))) {
            self.selected = Some(UnitKey::of(&row.status));
        }
        self.sync_focus();
    }

    /// Points the log pane at the selection when it follows it.
    fn sync_focus(&mut self) {
        let unit = self
            .logs_follow_selection
            .then(|| self.selected().map(|r| r.status.service.clone()))
            .flatten();
        self.logs.set_focus(unit);
    }
}

/// Whether an event is bad news, to be shown in red.
fn is_bad(event: &FleetEvent) -> bool {
    match event {
        FleetEvent::Exited { end, .. } => !end.success(),
        FleetEvent::BuildFailed { .. }
        | FleetEvent::NotStarted { .. }
        | FleetEvent::SpawnFailed { .. }
        | FleetEvent::Crashed { .. }
        | FleetEvent::GaveUp { .. }
        | FleetEvent::RerunFailed { .. } => true,
        _ => false,
    }
}

#[cfg(test)]
#[path = "app_tests.rs"]
mod tests;
