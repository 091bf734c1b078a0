//! Run-once tasks (`task: true`) through the real binary: a dependant starts only after its
//! task exited 0; a task that fails (exit code, signal, timeout) keeps its dependants from
//! starting, with its exit status and the end of its log; `ps` shows a finished task as
//! `exited` and a held-back dependant with its reason; a finished task is not run again by
//! a dependant's restart, only on demand or when its files change; a task may wait for a
//! vendor.

use std::time::Duration;

use orchestra_tests::{Fleet, Output, PATIENCE, pids_with_cwd_under, poll_until, wait_until};
use serde_json::Value;

use crate::engine::{EngineCleanup, docker_ready, unique_name};

/// The migration: a while to run, then a file its dependant looks for. Every run
/// adds a line to runs.txt.
const MIGRATE: &str = "task: true\n\
    run: \"sleep 1; echo run >> runs.txt; echo migrated > done.txt\"\n";

/// A service that says whether the migration had finished when it started.
const API: &str = "depends_on: [migrate]\n\
    run: \"test -f ../migrate/done.txt && echo saw-migration || echo NO-MIGRATION; exec sleep 1000\"\n";

/// `orchestra ps --json`, parsed.
fn ps(fleet: &Fleet) -> Vec<Value> {
    let out = fleet.cmd(["ps", "--json"]).assert_success();
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("`ps --json` printed no JSON array ({e}): {out}"))
}

/// The `ps --json` row of replica 0 of `service`.
fn row(rows: &[Value], service: &str) -> Value {
    rows.iter()
        .find(|r| r["service"] == service && r["replica"] == 0)
        .cloned()
        .unwrap_or_else(|| panic!("no row for {service}.0 in {rows:?}"))
}

/// Polls `ps --json` until the task `migrate` runs and `api` waits for it; returns those rows.
fn wait_for_migrate_running_and_api_waiting(fleet: &Fleet) -> Vec<Value> {
    poll_until(
        PATIENCE,
        "ps to show migrate running and api waiting",
        || {
            let rows = ps(fleet);
            let shows = |service: &str, state: &str| {
                rows.iter()
                    .any(|r| r["service"] == service && r["state"] == state)
            };
            (shows("migrate", "running") && shows("api", "waiting")).then_some(rows)
        },
    )
}

/// How many times the migration ran.
fn runs(fleet: &Fleet) -> usize {
    std::fs::read_to_string(fleet.path("migrate/runs.txt")).map_or(0, |t| t.lines().count())
}

/// The index of the first stdout line of `out` holding every one of `words`.
fn line_of(out: &Output, words: &[&str]) -> usize {
    out.stdout
        .lines()
        .position(|l| words.iter().all(|w| l.contains(w)))
        .unwrap_or_else(|| panic!("no line with {words:?} in:\n{out}"))
}

fn log(fleet: &Fleet, replica: &str) -> String {
    std::fs::read_to_string(fleet.path(format!(".orchestra/logs/{replica}.log")))
        .unwrap_or_default()
}

fn assert_nothing_left(fleet: &Fleet) {
    wait_until(PATIENCE, "every process of the fleet to be gone", || {
        pids_with_cwd_under(fleet.root()).is_empty()
    });
}

#[test]
fn a_dependant_starts_after_its_task_exited_and_a_finished_task_is_not_run_again() {
    // The task's long stop timeout would show if `stop` waited on it.
    let fleet = Fleet::new()
        .orchestra_yml("")
        .service("migrate", &format!("{MIGRATE}stop_timeout: 1h\n"))
        .service("api", API);
    let out = fleet.cmd(["start"]).assert_success();
    assert!(
        line_of(&out, &["migrate.0", "exited"]) < line_of(&out, &["api.0", "starting"]),
        "api started before the migration finished:\n{out}"
    );
    poll_until(PATIENCE, "api to say what it saw", || {
        Some(log(&fleet, "api.0")).filter(|l| l.contains("saw-") || l.contains("NO-"))
    });
    assert!(
        log(&fleet, "api.0").contains("saw-migration"),
        "{}",
        log(&fleet, "api.0")
    );

    let rows = ps(&fleet);
    let migrate = row(&rows, "migrate");
    assert_eq!(migrate["state"], "exited", "{rows:?}");
    assert_eq!(migrate["reason"], "exited with code 0", "{rows:?}");
    assert_eq!(migrate["pid"], Value::Null, "{rows:?}");
    assert_eq!(row(&rows, "api")["state"], "running", "{rows:?}");
    let table = fleet.cmd(["ps"]).assert_success();
    let line = table.stdout.lines().find(|l| l.starts_with("migrate.0"));
    assert!(
        line.is_some_and(|l| l.contains("exited") && !l.contains("running")),
        "{table}"
    );
    let api_pid = row(&rows, "api")["pid"].clone();

    // A dependant's restart, or a start of what already runs, leaves the finished task be.
    let out = fleet.cmd(["restart", "api"]).assert_success();
    assert_eq!(
        runs(&fleet),
        1,
        "restart api ran the migration again:\n{out}"
    );
    assert_ne!(
        row(&ps(&fleet), "api")["pid"],
        api_pid,
        "api was not restarted"
    );
    let out = fleet.cmd(["start"]).assert_success();
    assert_eq!(runs(&fleet), 1, "start ran the migration again:\n{out}");
    assert!(out.stdout.contains("finished before"), "{out}");

    // On demand, it runs again.
    fleet.cmd(["restart", "migrate"]).assert_success();
    assert_eq!(runs(&fleet), 2);
    assert_eq!(row(&ps(&fleet), "migrate")["state"], "exited");

    // A task has one replica.
    let out = fleet.cmd(["scale", "migrate=2"]).assert_exit(2);
    assert!(
        out.stderr.contains("`migrate` is a task: it runs once"),
        "{out}"
    );
    fleet.cmd(["start", "--scale", "migrate=2"]).assert_exit(2);

    // Stopping the fleet does not wait on the finished task.
    let out = fleet
        .cmd(["stop"])
        .timeout(Duration::from_secs(60))
        .assert_success();
    assert!(
        !out.stdout
            .lines()
            .any(|l| l.contains("migrate.0") && l.contains("stopping")),
        "{out}"
    );
    assert_nothing_left(&fleet);
}

#[test]
fn a_task_that_fails_keeps_its_dependants_unstarted_with_its_exit_and_log() {
    let fleet = Fleet::new()
        .orchestra_yml("")
        .service(
            "broken",
            "task: true\nrun: \"echo connecting; echo 'migration 0042 failed: no table users' >&2; exit 3\"\n",
        )
        .service("api", "depends_on: [broken]\nrun: \"echo api up; exec sleep 1000\"\n")
        .service("web", "depends_on: [api]\nrun: \"echo web up; exec sleep 1000\"\n")
        .service("killed", "task: true\nrun: \"kill -KILL $$\"\n")
        .service("worker", "depends_on: [killed]\nrun: \"exec sleep 1000\"\n")
        .service("hung", "task: { timeout: 1s }\nrun: \"exec sleep 1000\"\n")
        .service("report", "depends_on: [hung]\nrun: \"exec sleep 1000\"\n");
    let out = fleet.cmd(["start"]).assert_exit(1);
    for expected in [
        "broken.0: task failed: exited with code 3",
        "migration 0042 failed: no table users",
        "api: not started: dependency `broken` failed",
        "web: not started: dependency `api` failed",
        "killed.0: task failed: killed by SIGKILL",
        "worker: not started: dependency `killed` failed",
        "hung.0: task failed: still running after its timeout of 1s; stopped",
        "report: not started: dependency `hung` failed",
    ] {
        assert!(out.stderr.contains(expected), "no {expected:?} in:\n{out}");
    }
    for never in ["api", "web", "worker", "report"] {
        assert!(
            !fleet
                .path(format!(".orchestra/logs/{never}.0.log"))
                .exists(),
            "{never} ran:\n{out}"
        );
    }

    let rows = ps(&fleet);
    let broken = row(&rows, "broken");
    assert_eq!(broken["state"], "crashed", "{rows:?}");
    assert_eq!(broken["reason"], "exited with code 3", "{rows:?}");
    let api = row(&rows, "api");
    assert_eq!(api["state"], "stopped", "{rows:?}");
    assert_eq!(api["reason"], "not started: dependency `broken` failed");
    assert_eq!(api["pid"], Value::Null);
    let table = fleet.cmd(["ps"]).assert_success();
    assert!(
        table
            .stdout
            .lines()
            .any(|l| l.starts_with("web.0") && l.contains("not started: dependency `api` failed")),
        "{table}"
    );

    fleet.cmd(["stop"]).assert_success();
    assert_nothing_left(&fleet);
}

#[test]
fn ps_shows_a_dependant_waiting_for_its_task() {
    let fleet = Fleet::new()
        .orchestra_yml("")
        .service(
            "migrate",
            "task: true\nrun: \"while [ ! -f go.flag ]; do sleep 0.1; done; echo migrated\"\n",
        )
        .service("api", "depends_on: [migrate]\nrun: \"exec sleep 1000\"\n");
    let start = fleet.cmd(["start"]).spawn();
    let rows = wait_for_migrate_running_and_api_waiting(&fleet);
    assert_eq!(
        row(&rows, "api")["reason"],
        "waiting for migrate",
        "{rows:?}"
    );
    assert_eq!(row(&rows, "api")["pid"], Value::Null, "{rows:?}");
    let table = fleet.cmd(["ps"]).assert_success();
    assert!(
        table
            .stdout
            .lines()
            .any(|l| l.starts_with("api.0") && l.contains("waiting for migrate")),
        "{table}"
    );

    fleet.write("migrate/go.flag", "");
    let out = start.wait(PATIENCE);
    assert_eq!(out.code(), Some(0), "{out}");
    line_of(&out, &["api", "waiting", "for migrate"]);
    let rows = ps(&fleet);
    assert_eq!(row(&rows, "api")["state"], "running", "{rows:?}");
    assert_eq!(row(&rows, "api")["reason"], Value::Null, "{rows:?}");
    fleet.cmd(["stop"]).assert_success();
    assert_nothing_left(&fleet);
}

#[test]
fn a_stop_during_a_running_task_stops_it_and_cancels_the_start_waiting_on_it() {
    // The task never finishes by itself, and its timeout (10 minutes) is far beyond the
    // deadlines below: a stop queued behind the start would not come back in time.
    let fleet = Fleet::new()
        .orchestra_yml("")
        .service(
            "migrate",
            "task: true\nrun: \"while [ ! -f go.flag ]; do sleep 0.1; done\"\n",
        )
        .service("api", "depends_on: [migrate]\nrun: \"exec sleep 1000\"\n");
    let start = fleet.cmd(["start"]).spawn();
    wait_for_migrate_running_and_api_waiting(&fleet);

    let stop = fleet.cmd(["stop"]).spawn().wait(PATIENCE);
    assert_eq!(stop.code(), Some(0), "{stop}");
    let out = start.wait(PATIENCE);
    assert_eq!(
        out.code(),
        Some(1),
        "the start gave way to the stop:\n{out}"
    );
    assert!(
        !fleet.path(".orchestra/logs/api.0.log").exists(),
        "api started after the stop:\n{out}"
    );
    assert_nothing_left(&fleet);
}

#[test]
fn a_changed_task_runs_again_under_rerun_and_its_dependants_restart() {
    let fleet = Fleet::new()
        .orchestra_yml("")
        .file("migrate/001.sql", "create table users;\n")
        .service(
            "migrate",
            "task: true\nwatch: [\"*.sql\"]\nrun: \"echo run >> runs.txt\"\n",
        )
        .service(
            "api",
            "depends_on: [migrate]\nrun: \"echo api saw $(wc -l < ../migrate/runs.txt) runs; exec sleep 1000\"\n",
        );
    fleet.cmd(["start", "--rerun"]).assert_success();
    poll_until(PATIENCE, "api to see the first run", || {
        Some(log(&fleet, "api.0")).filter(|l| l.contains("api saw 1 runs"))
    });
    let api_pid = row(&ps(&fleet), "api")["pid"].clone();

    fleet.write("migrate/002.sql", "create table orders;\n");
    poll_until(PATIENCE, "api to restart after the second run", || {
        Some(log(&fleet, "api.0")).filter(|l| l.contains("api saw 2 runs"))
    });
    assert_eq!(runs(&fleet), 2);
    let rows = ps(&fleet);
    assert_ne!(row(&rows, "api")["pid"], api_pid, "{rows:?}");
    assert_eq!(row(&rows, "migrate")["state"], "exited", "{rows:?}");
    fleet.cmd(["stop"]).assert_success();
    assert_nothing_left(&fleet);
}

#[test]
fn a_task_that_needs_a_vendor_runs_once_the_vendor_is_ready() {
    if !docker_ready() {
        return;
    }
    let name = unique_name("e2e", "task");
    let _cleanup = EngineCleanup(name.clone());
    let fleet = Fleet::new();
    let port = fleet.ports(1);
    // The task speaks Redis's protocol itself: it succeeds only if Redis answers.
    let ping = "exec 3<>/dev/tcp/$REDIS_HOST/$REDIS_PORT && printf 'PING\\r\\n' >&3 \
                && read -r reply <&3 && echo \"redis said $reply\" && [ \"${reply%$'\\r'}\" = +PONG ] \
                && echo migrated > done.txt";
    let fleet = fleet
        .orchestra_yml(&format!(
            "name: {name}\n\
             vendors:\n  \
               redis:\n    \
                 image: orchestra-test/redis:7\n    \
                 ports: [\"{port}:6379\"]\n    \
                 ready: {{ tcp: 6379 }}\n"
        ))
        .service(
            "migrate",
            &format!(
                "task: true\ndepends_on: [redis]\nrun: [bash, -c, {}]\n",
                serde_json::to_string(ping).expect("a string encodes")
            ),
        )
        .service("api", API);
    let out = fleet.cmd(["start"]).assert_success();
    assert!(
        log(&fleet, "migrate.0").contains("redis said +PONG"),
        "{out}"
    );
    poll_until(PATIENCE, "api to say what it saw", || {
        Some(log(&fleet, "api.0")).filter(|l| l.contains("saw-") || l.contains("NO-"))
    });
    assert!(log(&fleet, "api.0").contains("saw-migration"), "{out}");
    fleet.cmd(["stop"]).assert_success();
    assert_nothing_left(&fleet);
}
