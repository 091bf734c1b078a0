//! Ports tell the truth: a change of replica counts that would put two replicas on one port
//! is refused before anything starts, and "ready" means the replica itself listens.

use orchestra_tests::{Fleet, PATIENCE, fixture_binary, poll_until, port_accepts};

use super::{assert_nothing_left, listed, pid, ps, row, state};

/// users on `port`, orders on `port + 1`: the shop's layout, where a third users replica
/// would land on orders' port.
fn shop() -> (Fleet, u16) {
    let fleet = Fleet::new().orchestra_yml("");
    let port = fleet.ports(3);
    let fleet = fleet
        .fixture_service("users", "http", &format!("port: {port}\n"))
        .fixture_service("orders", "http", &format!("port: {}\n", port + 1));
    (fleet, port)
}

#[test]
fn a_replica_count_that_takes_another_services_port_is_refused_before_anything_starts() {
    let (fleet, port) = shop();
    let clash = format!("users.1 would take port {}, which orders.0 uses", port + 1);

    let out = fleet.cmd(["start", "--scale", "users=3"]).assert_exit(2);
    assert!(out.stderr.contains(&clash), "{out}");
    assert!(!out.stdout.contains("starting"), "nothing starts: {out}");
    assert_eq!(listed(&ps(&fleet)), Vec::<String>::new());
    assert_nothing_left(&fleet, &[]);

    fleet.cmd(["start"]).assert_success();
    let before = ps(&fleet);
    let out = fleet.cmd(["scale", "users=3"]).assert_exit(2);
    assert!(out.stderr.contains(&clash), "{out}");
    let after = ps(&fleet);
    assert_eq!(listed(&after), ["orders.0", "users.0"], "{after:?}");
    for service in ["users", "orders"] {
        assert_eq!(
            pid(&after, service, 0),
            pid(&before, service, 0),
            "{service}"
        );
    }

    // A count that fits is remembered, and a restart checks the plan with it: orders on
    // port + 1 and + 2, then users moved to port + 2 in its file.
    fleet.cmd(["scale", "orders=2"]).assert_success();
    fleet.write(
        "users/service.yml",
        format!(
            "run: [{:?}]\nport: {}\n",
            fixture_binary("http").display().to_string(),
            port + 2
        ),
    );
    let out = fleet.cmd(["restart", "users"]).assert_exit(2);
    assert!(
        out.stderr
            .contains(&format!("would take port {}, which ", port + 2))
            && out.stderr.contains("orders.1")
            && out.stderr.contains("users.0"),
        "{out}"
    );
    assert_eq!(pid(&ps(&fleet), "users", 0), pid(&before, "users", 0));
    fleet.cmd(["stop"]).assert_success();
    assert_nothing_left(&fleet, &[]);
}

#[test]
fn a_probe_answered_by_another_program_is_not_ready_and_says_who_answers() {
    let fleet = Fleet::new().orchestra_yml("");
    let port = fleet.ports(1);
    // squatter listens on `port` without claiming it; web and api probe that port (over
    // tcp and http) but never listen themselves.
    let fleet = fleet
        .fixture_service(
            "squatter",
            "http",
            &format!("env: {{ PORT: \"{port}\" }}\nready: {{ tcp: {port} }}\n"),
        )
        .service(
            "web",
            &format!(
                "run: sleep 1000\ndepends_on: [squatter]\nready: {{ tcp: {port}, timeout: 4s }}\n"
            ),
        )
        .service(
            "api",
            &format!(
                "run: sleep 1001\ndepends_on: [squatter]\n\
                 ready: {{ http: \"http://127.0.0.1:{port}/health\", timeout: 4s }}\n"
            ),
        );
    let start = fleet.cmd(["start"]).spawn();
    let (squatter, rows) = poll_until(PATIENCE, "ps to name who answers web's probe", || {
        let rows = ps(&fleet);
        let squatter = pid(&rows, "squatter", 0)?;
        let reason = |s: &str| row(&rows, s, 0)?["reason"].as_str().map(str::to_owned);
        let named = format!("port {port} answers, but from pid {squatter} (");
        (reason("web")?.contains(&named) && reason("api")?.contains(&named))
            .then_some((squatter, rows.clone()))
    });
    for service in ["web", "api"] {
        assert_eq!(state(&rows, service, 0), "starting", "{rows:?}");
        let reason = row(&rows, service, 0).unwrap()["reason"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            reason.ends_with(&format!("not from {service}.0")),
            "{reason}"
        );
    }
    let table = fleet.cmd(["ps"]).assert_success();
    assert!(
        table.stdout.contains(&format!(
            "web.0: port {port} answers, but from pid {squatter}"
        )),
        "{table}"
    );

    let out = start.wait(PATIENCE);
    assert_eq!(out.code(), Some(1), "{out}");
    for service in ["web", "api"] {
        assert!(
            out.stderr.contains(&format!(
                "{service}.0: not ready after 4s: port {port} answers, but from pid {squatter}"
            )),
            "{out}"
        );
    }
    assert!(!out.stdout.contains("web.0                ready"), "{out}");
    fleet.cmd(["stop"]).assert_success();
    assert_nothing_left(&fleet, &[]);
}

#[test]
fn a_service_with_a_port_and_no_probe_is_ready_once_it_listens() {
    let fleet = Fleet::new().orchestra_yml("");
    let port = fleet.ports(1);
    // It takes its time before listening: `start` must wait for it.
    let fleet = fleet.service(
        "web",
        &format!(
            "port: {port}\nrun: \"sleep 1; exec '{}'\"\n",
            fixture_binary("http").display()
        ),
    );
    let out = fleet.cmd(["start"]).assert_success();
    assert!(
        port_accepts(port),
        "start returned before web listened on {port}: {out}"
    );
    assert_eq!(state(&ps(&fleet), "web", 0), "running");
    fleet.cmd(["stop"]).assert_success();
    assert_nothing_left(&fleet, &[]);
}
