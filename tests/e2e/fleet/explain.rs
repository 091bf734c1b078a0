//! `ps` that explains: every configured service and vendor is listed (stopped and building
//! ones too), with HEALTH and a short REASON, in colour only on a terminal; `ps --json`
//! carries the same facts; `ps --watch` redraws in place on a terminal and repeats plain
//! tables elsewhere.

use orchestra_tests::{Cmd, Fleet, PATIENCE, Signal, orchestra_bin, poll_until, wait_until};
use serde_json::Value;

use super::ps;

/// web answers its tcp probe; crash exits 3 after 0.3 s and is given up on after two
/// restarts; killed is killed by SIGKILL; idle is never started; redis is a vendor that is
/// not up (no engine is reachable, and none is needed).
fn explained_fleet() -> Fleet {
    let fleet = Fleet::new();
    let port = fleet.ports(1);
    fleet
        .orchestra_yml("vendors:\n  redis:\n    image: redis:7\n    ready: { tcp: 6379 }\n")
        .fixture_service("web", "http", &format!("port: {port}\nready: {{ tcp: $PORT }}\n"))
        .service(
            "crash",
            "run: \"sleep 0.3; exit 3\"\nrestart: { policy: on-failure, max_restarts: 2, backoff: 50ms }\n",
        )
        .service("killed", "run: \"kill -9 $$\"\nrestart: never\n")
        .service("idle", "run: \"exec sleep 1000\"\n")
}

const NO_ENGINE: &str = "unix:///nonexistent/docker.sock";

fn unit<'a>(rows: &'a [Value], name: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["service"] == name)
        .unwrap_or_else(|| panic!("`{name}` is not listed: {rows:?}"))
}

#[test]
fn ps_lists_every_unit_with_its_health_and_why_it_is_in_its_state() {
    let fleet = explained_fleet();
    fleet
        .cmd(["start", "web", "crash", "killed"])
        .env("DOCKER_HOST", NO_ENGINE)
        .run();
    let rows = poll_until(PATIENCE, "crash given up on and killed crashed", || {
        let out = fleet
            .cmd(["ps", "--json"])
            .env("DOCKER_HOST", NO_ENGINE)
            .assert_success();
        let rows: Vec<Value> = serde_json::from_str(&out.stdout).expect("ps --json prints JSON");
        let done = unit(&rows, "crash")["state"] == "crashed"
            && unit(&rows, "killed")["state"] == "crashed";
        done.then_some(rows)
    });

    // Stopped units are listed: a service never started, a vendor not up.
    assert_eq!(unit(&rows, "idle")["state"], "stopped", "{rows:?}");
    let redis = unit(&rows, "redis");
    assert_eq!(redis["kind"], "vendor", "{rows:?}");
    assert_eq!(redis["state"], "stopped", "{rows:?}");
    // Health: ready with a probe that passed, null without a probe.
    assert_eq!(unit(&rows, "web")["health"], "ready", "{rows:?}");
    assert_eq!(unit(&rows, "idle")["health"], Value::Null, "{rows:?}");
    // How the last runs ended.
    let crash = unit(&rows, "crash");
    assert_eq!(crash["exit_code"], 3, "{rows:?}");
    let ran = crash["last_exit_s"].as_f64().expect("last_exit_s of crash");
    assert!((0.25..10.0).contains(&ran), "{rows:?}");
    assert_eq!(crash["gave_up_after"], 2, "{rows:?}");
    let killed = unit(&rows, "killed");
    assert_eq!(killed["signal"], "SIGKILL", "{rows:?}");
    assert_eq!(killed["exit_code"], Value::Null, "{rows:?}");

    let table = fleet
        .cmd(["ps"])
        .env("DOCKER_HOST", NO_ENGINE)
        .assert_success();
    let lines: Vec<&str> = table.stdout.lines().collect();
    let line = |name: &str| {
        lines
            .iter()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no row for {name}: {table}"))
            .to_owned()
    };
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(header[..3], ["SERVICE", "STATE", "HEALTH"], "{table}");
    assert_eq!(header.last(), Some(&"REASON"), "{table}");
    assert!(line("web.0").contains(" ready "), "{table}");
    assert!(line("idle.0").contains("stopped  —"), "{table}");
    assert!(
        line("crash.0").ends_with("gave up after 2 restarts"),
        "{table}"
    );
    assert!(line("killed.0").ends_with("killed by SIGKILL"), "{table}");
    assert!(line("redis").contains("stopped"), "{table}");
    // Not a terminal: no colour.
    assert!(!table.stdout.contains('\x1b'), "{table}");
    fleet.cmd(["stop"]).env("DOCKER_HOST", NO_ENGINE).run();
}

#[test]
fn a_crash_shows_its_exit_code_and_how_long_it_ran() {
    let fleet = Fleet::new().orchestra_yml("").service(
        "flaky",
        "run: \"sleep 0.4; exit 1\"\nrestart: { policy: always, backoff: 30s }\n",
    );
    fleet.cmd(["start"]).run();
    let row = poll_until(PATIENCE, "flaky backing off", || {
        let rows = ps(&fleet);
        let row = unit(&rows, "flaky").clone();
        (row["state"] == "backoff").then_some(row)
    });
    assert_eq!(row["exit_code"], 1, "{row}");
    let table = fleet.cmd(["ps"]).assert_success();
    let line = table
        .stdout
        .lines()
        .find(|l| l.starts_with("flaky.0"))
        .expect("flaky's row");
    assert!(line.contains("backoff"), "{table}");
    assert!(
        line.contains("exit 1 after 0.4s") || line.contains("exit 1 after 0.5s"),
        "{table}"
    );
    fleet.cmd(["stop"]).assert_success();
}

#[test]
fn a_service_being_built_is_listed_as_building() {
    let fleet = Fleet::new().orchestra_yml("").file("slow/ready-to-build", "").service(
        "slow",
        "build: \"until [ ! -e ready-to-build ]; do sleep 0.05; done\"\nrun: \"exec sleep 1000\"\n",
    );
    let start = fleet.cmd(["start"]).spawn();
    wait_until(PATIENCE, "slow listed as building", || {
        ps(&fleet)
            .iter()
            .any(|r| r["service"] == "slow" && r["state"] == "building")
    });
    std::fs::remove_file(fleet.path("slow/ready-to-build")).expect("the build's gate");
    let out = start.wait(PATIENCE);
    assert!(out.status.success(), "{out}");
    wait_until(PATIENCE, "slow running", || {
        ps(&fleet)
            .iter()
            .any(|r| r["service"] == "slow" && r["state"] == "running")
    });
    fleet.cmd(["stop"]).assert_success();
}

/// `orchestra args` on a pseudo-terminal, through `script`, with colours allowed.
fn on_a_terminal(fleet: &Fleet, args: &str) -> Cmd {
    let command = format!("{} {args}", orchestra_bin().display());
    Cmd::new(
        "script",
        ["-qfec", command.as_str(), "/dev/null"],
        fleet.root(),
    )
    .env_remove("NO_COLOR")
    .env("TERM", "xterm")
}

#[test]
fn ps_colours_states_only_on_a_terminal() {
    let (fleet, _) = super::sleeping_fleet();
    let out = on_a_terminal(&fleet, "ps").assert_success();
    assert!(out.stdout.contains("\x1b[32mrunning\x1b[0m"), "{out}");
    let plain = fleet.cmd(["ps"]).env_remove("NO_COLOR").assert_success();
    assert!(!plain.stdout.contains('\x1b'), "{plain}");
    fleet.cmd(["stop"]).assert_success();
}

#[test]
fn ps_watch_repeats_plain_tables_off_a_terminal_and_redraws_in_place_on_one() {
    let (fleet, _) = super::sleeping_fleet();

    let watch = fleet.cmd(["ps", "--watch"]).spawn();
    wait_until(PATIENCE, "two tables", || {
        watch.stdout().matches("SERVICE").count() >= 2
    });
    watch.signal(Signal::SIGINT);
    let out = watch.wait(PATIENCE);
    assert!(out.status.success(), "{out}");
    assert!(!out.stdout.contains('\x1b'), "{out}");
    assert!(
        out.stdout.contains("\n\nSERVICE"),
        "tables a blank line apart: {out}"
    );

    let watch = on_a_terminal(&fleet, "ps --watch").spawn();
    wait_until(PATIENCE, "a second frame drawn over the first", || {
        watch.stdout().contains("\x1b[2F")
    });
    let screen = watch.stdout();
    // Each line cleared as it is rewritten; never the whole screen at once (no flicker).
    assert!(screen.contains("\x1b[K"), "{screen:?}");
    assert!(!screen.contains("\x1b[2J"), "{screen:?}");
    drop(watch);
    // Leaving the watch leaves the fleet running.
    assert!(ps(&fleet).iter().any(|r| r["state"] == "running"));
    fleet.cmd(["stop"]).assert_success();
}

#[test]
fn ps_watch_ends_cleanly_when_its_reader_goes_away() {
    let (fleet, _) = super::sleeping_fleet();
    // `head` leaves after two frames; the watch's next write finds no reader.
    let script = format!(
        "set -o pipefail; '{}' ps --watch | head -n 6",
        orchestra_bin().display()
    );
    let out = Cmd::new("bash", ["-c", script.as_str()], fleet.root()).run();
    assert!(out.status.success(), "{out}");
    assert_eq!(out.stdout.matches("SERVICE").count(), 2, "{out}");
    assert!(!out.stderr.contains("broken pipe"), "{out}");
    fleet.cmd(["stop"]).assert_success();
}

#[test]
fn a_broken_rebuild_is_explained_in_the_table_while_the_previous_build_serves() {
    // The build fails while `state` says `broken`; any change to `state` reruns it.
    let fleet = Fleet::new().orchestra_yml("").file("app/state", "ok\n").service(
        "app",
        "build: \"test \\\"$(cat state)\\\" != broken\"\nrun: \"exec sleep 1000\"\nwatch: [state]\n",
    );
    fleet.cmd(["start", "--rerun"]).assert_success();
    let before = super::pid(&ps(&fleet), "app", 0).expect("app runs");

    fleet.write("app/state", "broken\n");
    let table = poll_until(PATIENCE, "ps to explain the failed rebuild", || {
        let out = fleet.cmd(["ps"]).assert_success();
        out.stdout.contains("build failed").then_some(out)
    });
    let line = table
        .stdout
        .lines()
        .find(|l| l.starts_with("app.0"))
        .unwrap_or_else(|| panic!("no app.0 row: {table}"));
    assert!(line.contains("running"), "{table}");
    assert!(
        line.ends_with("build failed: serving the previous build"),
        "{table}"
    );
    // The whole reason once, under the table; never a reason inside itself.
    assert!(
        table
            .stdout
            .contains("app.0: build failed (exit 1); still running the previous build"),
        "{table}"
    );
    assert!(
        !table.stdout.contains("build failed (build failed"),
        "{table}"
    );
    assert_eq!(super::pid(&ps(&fleet), "app", 0), Some(before));
    fleet.cmd(["stop"]).assert_success();
}

#[test]
fn a_failed_build_is_said_once_in_the_progress_of_start() {
    let fleet = Fleet::new()
        .orchestra_yml("")
        .service("app", "build: \"exit 2\"\nrun: \"exec sleep 1000\"\n");
    let out = fleet.cmd(["start"]).assert_exit(1);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(all.contains("build failed (exit 2)"), "{out}");
    assert!(!all.contains("build failed (build failed"), "{out}");
    // A service whose build failed is still listed, stopped and saying why.
    let rows = ps(&fleet);
    let app = unit(&rows, "app");
    assert_eq!(app["state"], "stopped", "{rows:?}");
    assert_eq!(app["reason"], "build failed (exit 2)", "{rows:?}");
    let table = fleet.cmd(["ps"]).assert_success();
    assert!(
        table
            .stdout
            .lines()
            .any(|l| l.starts_with("app.0") && l.ends_with("build failed (exit 2)")),
        "{table}"
    );
    fleet.cmd(["stop"]).assert_success();
}
