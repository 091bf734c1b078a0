//! The progress of a start: on a terminal, a wait past a second shows a spinner naming what
//! is pending with its elapsed time, gone once the start ends; elsewhere, only the lines.

use orchestra_tests::{Fleet, PATIENCE, Terminal, orchestra_bin, wait_until};

/// The spinner's frames (indicatif's tick characters as the CLI sets them).
const FRAMES: &[char] = &['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/// A service whose build writes `waited` once it has run 1.5 s, and lasts until the test
/// creates `release` in its folder; once built, its replica is ready half a second after
/// it starts: long enough for the spinner to be redrawn between the build's end and the
/// replica's readiness (where it once stayed behind as a line of its own).
fn slow_build_fleet() -> Fleet {
    Fleet::new().orchestra_yml("").service(
        "web",
        "build: \"rm -f waited up; sleep 1.5; touch waited; while [ ! -e release ]; do sleep 0.05; done\"\n\
         run: \"sleep 0.5; touch up; exec sleep 1000\"\n\
         ready: { exec: \"test -e up\" }\n",
    )
}

#[test]
fn a_build_past_a_second_shows_a_spinner_with_its_time_on_a_terminal_only() {
    let fleet = slow_build_fleet();
    let command = format!("{} start", orchestra_bin().display());
    let terminal = Terminal::open(fleet.root(), &command, 100, 20);

    let screen = terminal.wait_for(PATIENCE, "the spinner naming the build", |s| {
        s.lines().any(|line| {
            line.starts_with(FRAMES) && line.contains("building web") && line.ends_with('s')
        })
    });
    // The time counts up: a later screen shows a longer wait.
    let elapsed = |screen: &str| -> f64 {
        let line = screen
            .lines()
            .find(|l| l.contains("building web") && l.starts_with(FRAMES))
            .unwrap_or_default();
        line.rsplit(' ')
            .next()
            .and_then(|t| t.trim_end_matches('s').parse().ok())
            .unwrap_or(0.0)
    };
    let first = elapsed(&screen);
    assert!(first >= 1.0, "shown before a second passed: {screen}");
    terminal.wait_for(PATIENCE, "the spinner's time to move on", |s| {
        elapsed(s) > first
    });

    fleet.write("web/release", "");
    let (code, screen) = terminal.wait_exit(PATIENCE);
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains("web.0") && screen.contains("ready"),
        "{screen}"
    );
    assert!(
        !screen.contains(FRAMES),
        "the spinner stays after the start: {screen}"
    );

    // Off a terminal the same slow build prints its lines and nothing redrawn.
    fleet.cmd(["stop"]).assert_success();
    std::fs::remove_file(fleet.path("web/release")).expect("release removed");
    let start = fleet.cmd(["start"]).spawn();
    start.wait_for_output("building", PATIENCE);
    // The build marks when it has outlasted the spinner's second.
    wait_until(
        PATIENCE,
        "the build to outlast the spinner's second",
        || fleet.path("web/waited").exists(),
    );
    fleet.write("web/release", "");
    let out = start.wait(PATIENCE);
    assert_eq!(out.code(), Some(0), "{out}");
    assert!(out.stdout.contains("built"), "{out}");
    assert!(!out.stdout.contains(FRAMES), "{out}");
    assert!(!out.stdout.contains('\r'), "{out}");
    fleet.cmd(["stop"]).assert_success();
}
