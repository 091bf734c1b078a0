//! The UI's state driven by keys and news, without a terminal.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use orchestra_core::{ProcessEnd, ReplicaState};

use super::*;
use crate::commands::ui::fleet::tests::{replica, running};

fn key(app: &mut App, code: KeyCode) -> Option<Action> {
    app.on_key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn char(app: &mut App, c: char) -> Option<Action> {
    key(app, KeyCode::Char(c))
}

/// `api` (stopped), `web` with two replicas running, and the vendor `redis`.
fn app() -> App {
    let fleet = Fleet::of_units(&[("api", false), ("web", true)], &[("redis", true)]);
    let mut app = App::new("shop", fleet);
    app.apply(Msg::Status {
        rows: vec![running("web", 0, 100), running("web", 1, 101)],
        live: true,
    });
    app
}

fn selected(app: &App) -> String {
    app.selected().map(Row::label).unwrap_or_default()
}

#[test]
fn keys_act_on_the_selected_service() {
    let mut app = app();
    assert_eq!(selected(&app), "api.0");
    assert_eq!(char(&mut app, 'j'), None);
    assert_eq!(selected(&app), "web.0");
    assert_eq!(
        char(&mut app, 'r'),
        Some(Action::Restart(Target::Service("web".into())))
    );
    assert_eq!(
        app.notice.as_ref().map(|n| (n.text.as_str(), n.tone)),
        Some(("rebuilding and restarting web…", Tone::Info))
    );
    assert_eq!(
        char(&mut app, 's'),
        Some(Action::Stop(Target::Service("web".into())))
    );
    assert_eq!(
        char(&mut app, '+'),
        Some(Action::Scale {
            service: "web".into(),
            replicas: 3
        })
    );
    assert_eq!(
        char(&mut app, '-'),
        Some(Action::Scale {
            service: "web".into(),
            replicas: 1
        })
    );
    assert_eq!(char(&mut app, 'R'), Some(Action::Restart(Target::Fleet)));
}

#[test]
fn what_cannot_be_done_is_said_instead() {
    let mut app = app();
    assert_eq!(char(&mut app, '-'), None, "api runs no replica");
    assert_eq!(app.notice.as_ref().map(|n| n.tone), Some(Tone::Bad));
    assert_eq!(key(&mut app, KeyCode::End), None);
    assert_eq!(selected(&app), "redis");
    assert_eq!(char(&mut app, '+'), None, "a vendor is one container");
    assert_eq!(
        app.notice.as_ref().map(|n| n.text.as_str()),
        Some("redis is a vendor: it runs one container")
    );
    assert_eq!(
        char(&mut app, 'u'),
        Some(Action::Start(Target::Vendor("redis".into())))
    );
}

#[test]
fn the_selection_stays_on_its_unit_or_its_neighbour() {
    let mut app = app();
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Down);
    assert_eq!(selected(&app), "web.1");
    // A status with web.0 gone keeps web.1 selected.
    app.apply(Msg::Status {
        rows: vec![running("web", 1, 101)],
        live: true,
    });
    assert_eq!(selected(&app), "web.1");
    // Scaled down: the row after it in table order.
    app.apply(Msg::Status {
        rows: vec![running("web", 0, 100)],
        live: true,
    });
    assert_eq!(selected(&app), "redis");
    key(&mut app, KeyCode::Home);
    key(&mut app, KeyCode::Up);
    assert_eq!(selected(&app), "api.0");
}

#[test]
fn events_reach_the_table_and_the_log_pane() {
    let mut app = app();
    app.apply(Msg::Fleet(FleetEvent::Exited {
        replica: replica("web", 1),
        end: ProcessEnd::Signalled(9),
        ran: Duration::from_millis(1500),
    }));
    let row = &app.fleet.rows()[2];
    assert_eq!(row.status.state, ReplicaState::Crashed);
    let shown = app.logs.window(5);
    assert_eq!(shown.len(), 1);
    match &shown[0].entry {
        Entry::Event {
            label, text, bad, ..
        } => {
            assert_eq!(label, "web.1");
            assert_eq!(text, "killed by SIGKILL after 1.5s");
            assert!(bad);
        }
        other @ Entry::Output(_) => panic!("not an event: {other:?}"),
    }
}

#[test]
fn the_log_pane_follows_the_selection_when_asked() {
    let mut app = app();
    key(&mut app, KeyCode::Down);
    assert_eq!(app.logs.focus(), None);
    char(&mut app, 'a');
    assert_eq!(app.logs.focus(), Some("web"));
    key(&mut app, KeyCode::End);
    assert_eq!(app.logs.focus(), Some("redis"));
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.logs.focus(), None);
    char(&mut app, 't');
    assert!(app.logs.timestamps);
}

#[test]
fn a_search_is_typed_then_run() {
    let mut app = app();
    app.apply(Msg::Fleet(FleetEvent::Stopping {
        replica: replica("web", 0),
    }));
    char(&mut app, '/');
    for c in "STOP".chars() {
        char(&mut app, c);
    }
    assert_eq!(app.mode, Mode::Search("STOP".into()));
    assert_eq!(char(&mut app, 'q'), None, "q is typed, not a quit");
    key(&mut app, KeyCode::Backspace);
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.mode, Mode::Normal);
    assert!(app.logs.search().is_some_and(|s| s.current.is_some()));
    assert!(!app.quit);
    char(&mut app, '/');
    char(&mut app, 'x');
    key(&mut app, KeyCode::Enter);
    assert_eq!(
        app.notice.as_ref().map(|n| n.text.as_str()),
        Some("no line matches `x`")
    );
    key(&mut app, KeyCode::Esc);
    assert!(app.logs.search().is_none());
}

#[test]
fn help_closes_on_any_key_and_q_quits() {
    let mut app = app();
    char(&mut app, '?');
    assert_eq!(app.mode, Mode::Help);
    char(&mut app, 'j');
    assert_eq!(app.mode, Mode::Normal);
    assert_eq!(selected(&app), "api.0", "the key only closed the list");
    char(&mut app, 'q');
    assert!(app.quit);
    let mut again = self::app();
    again.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert!(again.quit);
}

#[test]
fn an_action_ends_with_a_notice() {
    let mut app = app();
    app.apply(Msg::Done {
        action: Action::Stop(Target::Service("web".into())),
        result: Ok(()),
    });
    assert_eq!(
        app.notice.clone().map(|n| (n.text, n.tone)),
        Some(("web stopped".into(), Tone::Good))
    );
    app.apply(Msg::Done {
        action: Action::Restart(Target::Service("web".into())),
        result: Err("web: build failed (exit 2)".into()),
    });
    assert_eq!(
        app.notice.clone().map(|n| (n.text, n.tone)),
        Some((
            "web not restarted: web: build failed (exit 2)".into(),
            Tone::Bad
        ))
    );
}

#[test]
fn leaving_during_an_action_asks_for_a_second_q() {
    let mut app = app();
    assert!(char(&mut app, 'u').is_some());
    char(&mut app, 'q');
    assert!(!app.quit);
    assert!(
        app.notice
            .as_ref()
            .is_some_and(|n| n.text.contains("q again leaves"))
    );
    char(&mut app, 'q');
    assert!(app.quit, "the second q leaves");

    let mut app = self::app();
    let action = char(&mut app, 'u').expect("a start");
    app.apply(Msg::Done {
        action,
        result: Ok(()),
    });
    char(&mut app, 'q');
    assert!(app.quit, "nothing under way: q leaves at once");
}
