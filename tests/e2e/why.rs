//! `orchestra why SVC` on real fleets: one test per state it explains — healthy (exit 0),
//! waiting for a dependency that is not ready, crashed and given up on, a failed build,
//! and a port held by a process outside the fleet (exit 1 for each of those).

use std::process::{Child, Command, Stdio};

use orchestra_tests::{Fleet, Output, PATIENCE, poll_until, wait_for_port};

/// `why SERVICE`, with its exit code checked.
fn why(fleet: &Fleet, service: &str, code: i32) -> Output {
    let out = fleet.cmd(["why", service]).run();
    assert_eq!(out.code(), Some(code), "{out}");
    assert!(!out.stderr.contains("panicked"), "{out}");
    out
}

#[test]
fn a_healthy_service_is_said_to_run_with_exit_0() {
    let fleet = Fleet::new().orchestra_yml("");
    let port = fleet.ports(1);
    let fleet = fleet.fixture_service(
        "web",
        "http",
        &format!("port: {port}\nready: {{ tcp: $PORT }}\n"),
    );
    fleet.cmd(["start"]).assert_success();
    let out = why(&fleet, "web", 0);
    assert!(
        out.stdout.starts_with(&format!(
            "web is running: it is up and its probe (`tcp 127.0.0.1:{port}` (timeout 30s)) passed"
        )),
        "{out}"
    );
    assert!(
        out.stdout.contains(&format!("listening on {port}")),
        "{out}"
    );
    fleet.cmd(["stop"]).assert_success();
    let out = why(&fleet, "web", 1);
    assert!(out.stdout.contains("web is not running"), "{out}");
    assert!(
        out.stdout.contains("`orchestra start web` starts it"),
        "{out}"
    );
}

#[test]
fn a_service_waiting_for_a_dependency_names_it_its_probe_and_its_last_lines() {
    let fleet = Fleet::new().orchestra_yml("");
    let port = fleet.ports(2);
    let fleet = fleet
        .service(
            "db",
            &format!(
                "port: {port}\nrun: \"echo db warming up; exec sleep 600\"\n\
                 ready: {{ tcp: $PORT, timeout: 5m }}\n"
            ),
        )
        .service(
            "api",
            &format!(
                "port: {}\ndepends_on: [db]\nrun: \"exec sleep 600\"\n",
                port + 1
            ),
        );
    // The start waits for db, which never listens: it runs on while `why` looks.
    let start = fleet.cmd(["start"]).spawn();
    let out = poll_until(PATIENCE, "api to wait for db", || {
        let out = fleet.cmd(["why", "api"]).run();
        out.stdout.contains("warming up").then_some(out)
    });
    assert_eq!(out.code(), Some(1), "{out}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines[0], "api is not started: it waits for db, which is not ready",
        "{out}"
    );
    assert!(
        lines[1].starts_with(&format!(
            "  db is not ready: its probe `tcp 127.0.0.1:{port}` (timeout 5m) has not passed"
        )),
        "{out}"
    );
    assert!(out.stdout.contains("last lines of db.0:"), "{out}");
    assert!(out.stdout.contains("│ db warming up"), "{out}");
    fleet.cmd(["stop"]).assert_success();
    drop(start);
}

#[test]
fn a_crashed_service_shows_its_exit_its_restarts_and_its_last_lines() {
    let fleet = Fleet::new().orchestra_yml("").service(
        "crashy",
        "run: \"echo cannot open config.toml; exit 2\"\n\
         restart: { policy: always, max_restarts: 2, backoff: 100ms, backoff_max: 200ms }\n",
    );
    // Without a probe it counts as started at once: the crashes come after.
    fleet.cmd(["start"]).run();
    let out = poll_until(PATIENCE, "crashy to be given up on", || {
        let out = fleet.cmd(["why", "crashy"]).run();
        out.stdout.contains("gave up").then_some(out)
    });
    assert_eq!(out.code(), Some(1), "{out}");
    assert!(out.stdout.starts_with("crashy crashed: "), "{out}");
    assert!(out.stdout.contains("exited with code 2"), "{out}");
    assert!(out.stdout.contains("restarted 2 times"), "{out}");
    assert!(
        out.stdout
            .contains("last lines of crashy.0:\n    │ cannot open config.toml\n"),
        "{out}"
    );
}

#[test]
fn a_failed_build_shows_the_compilers_first_error() {
    let fleet = Fleet::new().orchestra_yml("").service(
        "api",
        "build: \"echo '# example.com/api' >&2; echo './main.go:5:2: undefined: nope' >&2; \
         echo './main.go:9:1: syntax error' >&2; exit 2\"\n\
         run: \"exec sleep 600\"\n",
    );
    fleet.cmd(["start"]).assert_exit(1);
    let out = why(&fleet, "api", 1);
    assert_eq!(
        out.stdout.lines().take(2).collect::<Vec<_>>(),
        [
            "api is not running: its build failed",
            "  first error: ./main.go:5:2: undefined: nope"
        ],
        "{out}"
    );
}

/// A process outside the fleet, killed when dropped.
struct Outsider(Child);

impl Drop for Outsider {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_port_held_outside_the_fleet_names_the_holder() {
    let fleet = Fleet::new().orchestra_yml("");
    let port = fleet.ports(1);
    let fleet = fleet.service(
        "web",
        &format!("port: {port}\nrun: \"exec python3 -m http.server $PORT\"\n"),
    );
    let elsewhere = tempfile::tempdir().expect("a temp dir");
    let holder = Outsider(
        Command::new("python3")
            .args(["-m", "http.server", &port.to_string()])
            .current_dir(elsewhere.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs"),
    );
    wait_for_port(port);
    fleet.cmd(["start"]).assert_exit(1);
    let out = why(&fleet, "web", 1);
    assert!(out.stdout.starts_with("web is not running: "), "{out}");
    let named = format!("port {port} is held by pid {}: ", holder.0.id());
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains(&named))
        .unwrap_or_else(|| panic!("{named} not in:\n{out}"));
    assert!(line.ends_with(&format!("-m http.server {port}")), "{out}");
    assert_eq!(out.stdout.matches(&named).count(), 1, "said twice:\n{out}");
}
