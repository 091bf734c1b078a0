//! Start, readiness, dependency order, stop.

use orchestra_tests::{Fleet, PATIENCE, http_get, pids_with_cwd_under, port_accepts, wait_until};

use super::{assert_nothing_left, line_of, pid, ps, service_processes, state};

#[test]
fn start_returns_ready_ps_shows_the_replica_and_stop_leaves_nothing() {
    let fleet = Fleet::new().orchestra_yml("");
    let port = fleet.ports(1);
    let fleet = fleet.fixture_service(
        "web",
        "http",
        &format!(
            "port: {port}\nenv: {{ READY_AFTER_MS: \"300\" }}\n\
             ready: {{ http: \"http://127.0.0.1:$PORT/health\" }}\n"
        ),
    );
    let out = fleet.cmd(["start"]).assert_success();
    line_of(&out, &["web.0", "ready"]);

    // Ready means ready: no waiting here.
    let health = http_get(&format!("http://127.0.0.1:{port}/health"));
    assert_eq!(health.map(|(code, _)| code), Some(200), "{out}");
    let rows = ps(&fleet);
    assert_eq!(state(&rows, "web", 0), "running", "{rows:?}");
    let web = pid(&rows, "web", 0).expect("a running replica has a pid");
    assert_eq!(rows[0]["ports"], serde_json::json!([port]), "{rows:?}");
    let (_, body) = http_get(&format!("http://127.0.0.1:{port}/")).expect("web answers");
    assert_eq!(body, format!("hello from web.0 pid {web}\n"));

    let table = fleet.cmd(["ps"]).assert_success();
    assert!(table.stdout.contains("web.0"), "{table}");
    assert!(table.stdout.contains(&web.to_string()), "{table}");

    fleet.cmd(["stop"]).assert_success();
    assert_nothing_left(&fleet, &[web]);
}

#[test]
fn every_kind_of_ready_probe_gates_start() {
    let fleet = Fleet::new().orchestra_yml("");
    let port = fleet.ports(4);
    let (tcp, http, exec, log) = (port, port + 1, port + 2, port + 3);
    let fleet = fleet
        .fixture_service(
            "tcp",
            "http",
            &format!("port: {tcp}\nready: {{ tcp: $PORT, timeout: 20s }}\n"),
        )
        .fixture_service(
            "http",
            "http",
            &format!(
                "port: {http}\nenv: {{ READY_AFTER_MS: \"400\" }}\n\
                 ready: {{ http: \"http://127.0.0.1:$PORT/health\", timeout: 20s }}\n"
            ),
        )
        .service(
            "exec",
            &format!(
                "port: {exec}\nrun: \"sleep 0.3; touch probe.flag; exec sleep 1000\"\n\
                 ready: {{ exec: \"test -f probe.flag\", timeout: 20s }}\n"
            ),
        )
        .fixture_service(
            "log",
            "http",
            &format!("port: {log}\nready: {{ log: \"listening on :[0-9]+\", timeout: 20s }}\n"),
        );
    let out = fleet.cmd(["start"]).assert_success();
    for service in ["tcp.0", "http.0", "exec.0", "log.0"] {
        line_of(&out, &[service, "ready"]);
    }
    // Each probe passed before start returned.
    assert!(port_accepts(tcp));
    let health = http_get(&format!("http://127.0.0.1:{http}/health"));
    assert_eq!(health.map(|(code, _)| code), Some(200));
    assert!(fleet.path("exec/probe.flag").exists());
    let log_file = fleet.read(".orchestra/logs/log.0.log");
    assert!(
        log_file.contains(&format!("listening on :{log}")),
        "{log_file}"
    );
    let rows = ps(&fleet);
    for service in ["tcp", "http", "exec", "log"] {
        assert_eq!(state(&rows, service, 0), "running", "{rows:?}");
    }
    fleet.cmd(["stop"]).assert_success();
    assert_nothing_left(&fleet, &[]);
}

#[test]
fn a_probe_that_never_passes_fails_start_and_a_hung_exec_probe_is_killed() {
    let fleet = Fleet::new().orchestra_yml("").service(
        "hung",
        "run: \"exec sleep 1000\"\nrestart: never\n\
             ready: { exec: \"exec sleep 7313\", timeout: 1s }\n",
    );
    let out = fleet.cmd(["start"]).assert_exit(1);
    assert!(out.stderr.contains("not ready after 1s"), "{out}");
    assert!(out.stderr.contains("hung"), "{out}");
    // Neither the replica nor its probe outlives the failed start.
    wait_until(PATIENCE, "the replica and its probe to be gone", || {
        service_processes(&fleet).is_empty()
    });
    let rows = ps(&fleet);
    assert_eq!(state(&rows, "hung", 0), "crashed", "{rows:?}");
    fleet.cmd(["stop"]).assert_success();
    assert_nothing_left(&fleet, &[]);
}

#[test]
fn dependencies_are_ready_before_dependants_start_and_stop_after_them() {
    let fleet = Fleet::new().orchestra_yml("");
    let port = fleet.ports(3);
    let fleet = fleet
        .fixture_service(
            "db",
            "http",
            &format!(
                "port: {port}\nenv: {{ READY_AFTER_MS: \"500\" }}\n\
                 ready: {{ http: \"http://127.0.0.1:$PORT/health\" }}\n"
            ),
        )
        .fixture_service(
            "api",
            "http",
            &format!(
                "port: {}\ndepends_on: [db]\nready: {{ tcp: $PORT }}\n",
                port + 1
            ),
        )
        .fixture_service(
            "web",
            "http",
            &format!("port: {}\ndepends_on: [api]\n", port + 2),
        );
    // Asking for `web` brings up what it depends on.
    let out = fleet.cmd(["start", "web"]).assert_success();
    let db_ready = line_of(&out, &["db.0", "ready"]);
    let api_starts = line_of(&out, &["api.0", "starting"]);
    let api_ready = line_of(&out, &["api.0", "ready"]);
    let web_starts = line_of(&out, &["web.0", "starting"]);
    assert!(db_ready < api_starts && api_ready < web_starts, "{out}");

    let out = fleet.cmd(["stop"]).assert_success();
    let web_stopped = line_of(&out, &["web.0", "stopped"]);
    let api_stopping = line_of(&out, &["api.0", "stopping"]);
    let api_stopped = line_of(&out, &["api.0", "stopped"]);
    let db_stopping = line_of(&out, &["db.0", "stopping"]);
    assert!(
        web_stopped < api_stopping && api_stopped < db_stopping,
        "dependants stop first: {out}"
    );
    assert_nothing_left(&fleet, &[]);
}

#[test]
fn builds_run_up_front_without_waiting_for_dependencies() {
    let fleet = Fleet::new().orchestra_yml("");
    let port = fleet.ports(2);
    let fleet = fleet
        .go_service(
            "slow",
            "http",
            &format!(
                "port: {port}\nenv: {{ GOPROXY: \"off\", READY_AFTER_MS: \"1500\" }}\n\
                 ready: {{ http: \"http://127.0.0.1:$PORT/health\" }}\n"
            ),
        )
        .go_service(
            "after",
            "http",
            &format!(
                "port: {}\nenv: {{ GOPROXY: \"off\" }}\ndepends_on: [slow]\n",
                port + 1
            ),
        );
    let out = fleet.cmd(["start"]).assert_success();
    // `after` waits for `slow` to be ready before it starts, not before it builds.
    let after_building = line_of(&out, &["after", "building"]);
    let slow_ready = line_of(&out, &["slow.0", "ready"]);
    let after_starts = line_of(&out, &["after.0", "starting"]);
    assert!(
        after_building < slow_ready && slow_ready < after_starts,
        "{out}"
    );
    fleet.cmd(["stop"]).assert_success();
    assert_nothing_left(&fleet, &[]);
    assert!(pids_with_cwd_under(fleet.root()).is_empty());
}

#[test]
fn a_start_right_after_a_stop_always_finds_a_daemon() {
    // The daemon exits on its next idle check after a stop; a start arriving meanwhile
    // must reach it, or a new one, whatever the timing.
    let fleet = Fleet::new()
        .orchestra_yml("")
        .service("worker", "run: \"exec sleep 1000\"\n");
    for _ in 0..6 {
        fleet.cmd(["start"]).assert_success();
        fleet.cmd(["stop"]).assert_success();
    }
    fleet.cmd(["start"]).assert_success();
    assert_eq!(state(&ps(&fleet), "worker", 0), "running");
    fleet.cmd(["stop"]).assert_success();
    assert_nothing_left(&fleet, &[]);
}
