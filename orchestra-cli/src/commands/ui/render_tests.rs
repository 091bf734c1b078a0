//! Drawing checked on ratatui's test backend: what a person would read on the screen.

use std::sync::Arc;
use std::time::SystemTime;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use orchestra_logs::{LogKind, LogLine};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::*;
use crate::commands::ui::app::Msg;
use crate::commands::ui::fleet::Fleet;
use crate::commands::ui::fleet::tests::running;

fn app() -> App {
    let fleet = Fleet::of_units(&[("api", false), ("web", true)], &[("redis", true)]);
    let mut app = App::new("shop", fleet);
    let mut web = running("web", 0, 4242);
    web.ports = vec![8080];
    web.cpu_percent = Some(1.5);
    web.rss_bytes = Some(12 << 20);
    web.uptime_s = Some(75);
    app.apply(Msg::Status {
        rows: vec![web],
        live: true,
    });
    app.apply(Msg::Lines(vec![LogLine {
        unit: Arc::from("web"),
        replica: Some(0),
        kind: LogKind::Service,
        line: "\u{1b}[32mlistening\u{1b}[0m on :8080\tok".into(),
        ts: Some(SystemTime::now()),
    }]));
    app
}

/// The screen as text, one string per line.
fn screen(app: &mut App, width: u16, height: u16) -> Vec<String> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| draw(frame, app, Theme { color: true }))
        .unwrap();
    let buffer = terminal.backend().buffer();
    (0..height)
        .map(|y| {
            (0..width)
                .map(|x| buffer[(x, y)].symbol().to_owned())
                .collect::<String>()
        })
        .collect()
}

fn line_with<'a>(lines: &'a [String], text: &str) -> &'a str {
    lines
        .iter()
        .find(|l| l.contains(text))
        .unwrap_or_else(|| panic!("no line with {text:?}:\n{}", lines.join("\n")))
}

#[test]
fn the_fleet_and_its_logs_fit_80_by_24() {
    let mut app = app();
    let lines = screen(&mut app, 80, 24);
    assert!(lines[0].contains("orchestra · shop"), "{}", lines[0]);
    assert!(lines[0].contains("1 running · 2 stopped"), "{}", lines[0]);
    let web = line_with(&lines, "web.0");
    for column in ["running", "ready", "1.5%", "12.0M", "8080"] {
        assert!(web.contains(column), "{column} missing from {web:?}");
    }
    assert!(line_with(&lines, "redis").contains("stopped"));
    // The first row is selected; its details sit under the table.
    assert!(line_with(&lines, "api.0 ").contains("stopped"));
    let log = line_with(&lines, "listening on :8080");
    assert!(log.contains("web.0 │ listening on :8080    ok"), "{log:?}");
    assert!(
        lines[23].starts_with("q quit  ? keys  r restart"),
        "{}",
        lines[23]
    );
}

#[test]
fn the_selection_details_show_pid_and_uptime() {
    let mut app = app();
    app.on_key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE));
    let lines = screen(&mut app, 100, 30);
    line_with(&lines, "web.0 · pid 4242 · up 1m15s");
}

#[test]
fn the_key_list_is_drawn_over_the_screen() {
    let mut app = app();
    app.on_key(KeyEvent::new(KeyCode::Char('?'), KeyModifiers::NONE));
    let lines = screen(&mut app, 80, 24);
    line_with(&lines, "keys · any key closes");
    line_with(&lines, "quit: the fleet keeps running");
}

#[test]
fn times_and_search_matches_are_shown() {
    let mut app = app();
    app.on_key(KeyEvent::new(KeyCode::Char('t'), KeyModifiers::NONE));
    assert!(app.logs.start_search("LISTEN"));
    let lines = screen(&mut app, 80, 24);
    let log = line_with(&lines, "listening");
    let clock = regex::Regex::new(r"│\d\d:\d\d:\d\d\.\d\d\d web\.0").unwrap();
    assert!(clock.is_match(log), "{log:?}");
    line_with(&lines, "logs · all · /LISTEN");
    line_with(&lines, "scrolled · G follows");
}

#[test]
fn a_tiny_terminal_is_drawn_without_panicking() {
    let mut app = app();
    for (w, h) in [(1, 1), (10, 3), (40, 8), (200, 60)] {
        screen(&mut app, w, h);
    }
}

#[test]
fn escape_sequences_and_control_characters_are_dropped() {
    assert_eq!(plain("plain"), "plain");
    assert_eq!(plain("\u{1b}[1;31mred\u{1b}[0m\r\u{7}!"), "red!");
    assert_eq!(plain("a\tb"), "a    b");
}
