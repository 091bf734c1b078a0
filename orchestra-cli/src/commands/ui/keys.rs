//! What each key does, and the list `?` shows. Keys are mapped to [`Command`]s here and
//! nowhere else, so the help cannot drift from what the keys do.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What the fleet is asked to do with the selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verb {
    /// Rebuild and replace (`orchestra restart`); a vendor's container is recreated.
    Restart,
    /// Stop.
    Stop,
    /// Start (with what it depends on).
    Start,
    /// One replica more.
    ScaleUp,
    /// One replica less.
    ScaleDown,
}

/// What a key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Command {
    /// Leave the UI; the fleet keeps running.
    Quit,
    /// Move the selection by this many rows.
    Select(isize),
    /// Select the first row.
    SelectFirst,
    /// Select the last row.
    SelectLast,
    /// Scroll the logs up by half a pane.
    LogsUp,
    /// Scroll the logs down by half a pane.
    LogsDown,
    /// Show the oldest lines kept.
    LogsTop,
    /// Follow the newest lines again.
    LogsFollow,
    /// Logs of the selected unit, or of the whole fleet.
    ToggleFocus,
    /// Times on the log lines, or not.
    ToggleTimestamps,
    /// Type a search.
    Search,
    /// The next older match.
    OlderMatch,
    /// The next newer match.
    NewerMatch,
    /// Show or hide the key list.
    Help,
    /// Close the help, end the search.
    Escape,
    /// Draw the whole screen again.
    Redraw,
    /// Act on the selected service or vendor.
    Act(Verb),
    /// Restart every service.
    RestartAll,
}

/// The command of `key` in the table and log view.
pub(super) fn command(key: KeyEvent) -> Option<Command> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    Some(match key.code {
        KeyCode::Char('c') if ctrl => Command::Quit,
        KeyCode::Char('l') if ctrl => Command::Redraw,
        KeyCode::Char('u') if ctrl => Command::LogsUp,
        KeyCode::Char('d') if ctrl => Command::LogsDown,
        _ if ctrl => return None,
        KeyCode::Char('q') => Command::Quit,
        KeyCode::Up | KeyCode::Char('k') => Command::Select(-1),
        KeyCode::Down | KeyCode::Char('j') => Command::Select(1),
        KeyCode::Home => Command::SelectFirst,
        KeyCode::End => Command::SelectLast,
        KeyCode::PageUp => Command::LogsUp,
        KeyCode::PageDown => Command::LogsDown,
        KeyCode::Char('g') => Command::LogsTop,
        KeyCode::Char('G') => Command::LogsFollow,
        KeyCode::Enter | KeyCode::Char('a') => Command::ToggleFocus,
        KeyCode::Char('t') => Command::ToggleTimestamps,
        KeyCode::Char('/') => Command::Search,
        KeyCode::Char('n') => Command::OlderMatch,
        KeyCode::Char('N') => Command::NewerMatch,
        KeyCode::Char('?') => Command::Help,
        KeyCode::Esc => Command::Escape,
        KeyCode::Char('r' | 'b') => Command::Act(Verb::Restart),
        KeyCode::Char('R') => Command::RestartAll,
        KeyCode::Char('s') => Command::Act(Verb::Stop),
        KeyCode::Char('u') => Command::Act(Verb::Start),
        KeyCode::Char('+' | '=') => Command::Act(Verb::ScaleUp),
        KeyCode::Char('-') => Command::Act(Verb::ScaleDown),
        _ => return None,
    })
}

/// The key list `?` shows: keys, then what they do.
pub(super) const HELP: &[(&str, &str)] = &[
    ("↑ ↓  j k", "select a service, replica or vendor"),
    ("Home End", "first, last row"),
    ("Enter  a", "logs of the selection / of the whole fleet"),
    ("PgUp PgDn", "scroll the logs (also Ctrl-U, Ctrl-D)"),
    ("g  G", "oldest lines kept / follow the newest"),
    ("/", "search the logs (a regular expression)"),
    ("n  N", "older / newer match"),
    ("t", "show or hide the times of log lines"),
    ("r  b", "rebuild and restart the selection's service"),
    ("R", "rebuild and restart every service"),
    ("s", "stop the selection's service"),
    ("u", "start the selection's service"),
    ("+  -", "one replica more / less"),
    ("Ctrl-L", "draw the screen again"),
    ("Esc", "close this list, end a search"),
    ("q", "quit: the fleet keeps running"),
];

/// One line for the footer, shortest first to fit narrow terminals.
pub(super) const HINTS: &[&str] = &[
    "q quit",
    "? keys",
    "r restart",
    "s stop",
    "u start",
    "+/- scale",
    "a all/selected",
    "/ search",
    "t times",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn keys_map_to_commands() {
        assert_eq!(command(key(KeyCode::Char('q'))), Some(Command::Quit));
        assert_eq!(
            command(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Command::Quit)
        );
        assert_eq!(
            command(key(KeyCode::Char('r'))),
            Some(Command::Act(Verb::Restart))
        );
        assert_eq!(command(key(KeyCode::Down)), Some(Command::Select(1)));
        assert_eq!(
            command(key(KeyCode::Char('+'))),
            Some(Command::Act(Verb::ScaleUp))
        );
        assert_eq!(command(key(KeyCode::Char('x'))), None);
        assert_eq!(
            command(KeyEvent::new(KeyCode::Char('q'), KeyModifiers::CONTROL)),
            None
        );
    }

    #[test]
    fn the_help_fits_a_small_terminal() {
        // 80×24: a border and a title around the list.
        assert!(HELP.len() <= 24 - 4);
        for (keys, what) in HELP {
            assert!(
                keys.chars().count() + what.chars().count() + 4 <= 76,
                "{what}"
            );
        }
    }
}
