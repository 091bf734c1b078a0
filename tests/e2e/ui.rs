//! `orchestra ui` in a real terminal (tmux): it shows the fleet and its logs, a crash as it
//! happens, acts on the selection, and gives the terminal back as it was — after `q` and
//! after SIGTERM — leaving the fleet running.

use orchestra_tests::{
    Fleet, PATIENCE, Signal, Terminal, cmdline, orchestra_bin, parent_pid, poll_until, send_signal,
};

use crate::fleet::{pid, ps, state};

/// Two services that run until stopped: `alpha`, and `worker`, which says hello and is
/// never restarted by its policy, so that a kill leaves it crashed.
fn two_services() -> Fleet {
    let fleet = Fleet::new()
        .orchestra_yml("")
        .service("alpha", "run: \"exec sleep 1000\"\n")
        .service(
            "worker",
            "run: \"echo hello from worker; exec sleep 1000\"\nrestart: never\n",
        );
    fleet.cmd(["start"]).assert_success();
    fleet
}

/// What the shell prints once the UI ended, when the terminal's settings are what they
/// were before it started.
const AS_IT_WAS: &str = "terminal-as-it-was";

/// The line of the table (the screen above the log pane) that contains `text`, if any.
fn line_with<'a>(screen: &'a str, text: &str) -> Option<&'a str> {
    screen
        .lines()
        .take_while(|l| !l.starts_with("┌ logs"))
        .find(|l| l.contains(text))
}

/// A terminal in the fleet's folder running the UI between two readings of the terminal's
/// settings, once the UI shows both services running and the worker's greeting.
fn ui_on(fleet: &Fleet, width: u16, height: u16) -> Terminal {
    let bin = orchestra_bin();
    let command = format!(
        "stty -g > before; {} ui; code=$?; stty -g > after; cmp -s before after && echo {AS_IT_WAS}; (exit $code)",
        bin.display()
    );
    let terminal = Terminal::open(fleet.root(), &command, width, height);
    terminal.wait_for(PATIENCE, "the fleet and its logs", |screen| {
        ["alpha.0", "worker.0"]
            .iter()
            .all(|r| line_with(screen, r).is_some_and(|l| l.contains("running")))
            && screen.contains("hello from worker")
    });
    assert!(
        terminal.alternate_screen(),
        "the UI draws on the alternate screen"
    );
    terminal
}

/// Checks that the UI has left with exit 0, back on the main screen, and that the
/// terminal's settings are those it had before.
fn assert_terminal_given_back(terminal: &Terminal) {
    let (code, screen) = terminal.wait_exit(PATIENCE);
    assert_eq!(code, 0, "{screen}");
    assert!(!terminal.alternate_screen(), "{screen}");
    assert!(screen.lines().any(|l| l == AS_IT_WAS), "{screen}");
}

/// The worker's pid, once `ps --json` shows it running.
fn running_worker(fleet: &Fleet) -> u32 {
    poll_until(PATIENCE, "the worker to run", || {
        let rows = ps(fleet);
        (state(&rows, "worker", 0) == "running")
            .then(|| pid(&rows, "worker", 0))
            .flatten()
    })
}

#[test]
fn the_ui_shows_a_crash_restarts_the_selection_and_quits_leaving_the_fleet_running() {
    let fleet = two_services();
    let first = running_worker(&fleet);
    let terminal = ui_on(&fleet, 80, 24);

    // Killed from outside: the table says so, and the log pane says how it ended.
    assert!(send_signal(first, Signal::SIGKILL));
    let screen = terminal.wait_for(PATIENCE, "the crash on screen", |screen| {
        line_with(screen, "worker.0").is_some_and(|l| l.contains("crashed"))
    });
    terminal.wait_for(PATIENCE, "how it ended, in the log pane", |s| {
        s.contains("worker.0 ▸ killed by SIGKILL")
    });
    assert_eq!(state(&ps(&fleet), "worker", 0), "crashed", "{screen}");

    // Select the worker (the second row) and restart it.
    terminal.send_keys(&["j"]);
    terminal.wait_for(PATIENCE, "the worker selected", |s| {
        s.contains("└ worker.0 · ")
    });
    terminal.send_keys(&["r"]);
    let second = poll_until(PATIENCE, "a new worker process", || {
        let rows = ps(&fleet);
        pid(&rows, "worker", 0).filter(|&p| p != first && state(&rows, "worker", 0) == "running")
    });
    terminal.wait_for(PATIENCE, "the new pid on screen", |s| {
        s.contains(&format!("worker.0 · pid {second}"))
    });
    terminal.wait_for(PATIENCE, "the restart's outcome", |s| {
        s.contains("worker restarted")
    });

    // `?` lists the keys; any key closes the list.
    terminal.send_keys(&["?"]);
    terminal.wait_for(PATIENCE, "the key list", |s| {
        s.contains("quit: the fleet keeps running")
    });
    terminal.send_keys(&["Escape"]);
    terminal.wait_for(PATIENCE, "the key list closed", |s| {
        !s.contains("any key closes")
    });

    terminal.send_keys(&["q"]);
    assert_terminal_given_back(&terminal);
    let rows = ps(&fleet);
    assert_eq!(state(&rows, "alpha", 0), "running");
    assert_eq!(state(&rows, "worker", 0), "running");
    assert_eq!(pid(&rows, "worker", 0), Some(second));
}

#[test]
fn sigterm_gives_the_terminal_back_and_leaves_the_fleet_running() {
    let fleet = two_services();
    let worker = running_worker(&fleet);
    let terminal = ui_on(&fleet, 100, 30);
    let shell = terminal.shell_pid();
    let ui = poll_until(PATIENCE, "the UI's process", || {
        std::fs::read_dir("/proc")
            .ok()?
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .find(|&p| {
                parent_pid(p) == Some(shell) && cmdline(p).is_some_and(|c| c.ends_with(" ui"))
            })
    });
    assert!(send_signal(ui, Signal::SIGTERM));
    assert_terminal_given_back(&terminal);
    assert_eq!(pid(&ps(&fleet), "worker", 0), Some(worker));
}

#[test]
fn the_ui_needs_a_terminal() {
    let fleet = Fleet::new().orchestra_yml("");
    let out = fleet.cmd(["ui"]).assert_exit(2);
    assert!(
        out.stderr.contains("`orchestra ui` needs a terminal"),
        "{out}"
    );
}

#[test]
fn keys_scale_stop_and_start_the_selection() {
    let fleet = two_services();
    let first = running_worker(&fleet);
    let terminal = ui_on(&fleet, 80, 24);
    terminal.send_keys(&["j"]);
    terminal.wait_for(PATIENCE, "the worker selected", |s| {
        s.contains("└ worker.0 · ")
    });

    terminal.send_keys(&["+"]);
    poll_until(PATIENCE, "a second worker", || {
        (state(&ps(&fleet), "worker", 1) == "running").then_some(())
    });
    terminal.wait_for(PATIENCE, "worker.1 on screen", |s| {
        line_with(s, "worker.1").is_some_and(|l| l.contains("running"))
    });
    terminal.wait_for(PATIENCE, "the scale's outcome", |s| {
        s.contains("worker runs 2")
    });
    terminal.send_keys(&["-"]);
    poll_until(PATIENCE, "one worker again", || {
        (state(&ps(&fleet), "worker", 1).is_empty()).then_some(())
    });
    terminal.wait_for(PATIENCE, "worker.1 gone from the screen", |s| {
        line_with(s, "worker.1").is_none() && s.contains("worker runs 1")
    });

    terminal.send_keys(&["s"]);
    poll_until(PATIENCE, "the worker stopped", || {
        pid(&ps(&fleet), "worker", 0).is_none().then_some(())
    });
    terminal.wait_for(PATIENCE, "the worker stopped on screen", |s| {
        line_with(s, "worker.0").is_some_and(|l| l.contains("stopped"))
            && s.contains("worker stopped")
    });
    assert_eq!(
        state(&ps(&fleet), "alpha", 0),
        "running",
        "only the selection stops"
    );

    terminal.send_keys(&["u"]);
    let again = running_worker(&fleet);
    assert_ne!(again, first);
    terminal.wait_for(PATIENCE, "the worker running on screen", |s| {
        line_with(s, "worker.0").is_some_and(|l| l.contains("running"))
            && s.contains("worker started")
    });
    terminal.send_keys(&["q"]);
    assert_terminal_given_back(&terminal);
}
