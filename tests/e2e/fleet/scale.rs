//! One fleet, never two; replica counts that follow `scale`.

use orchestra_tests::{Fleet, PATIENCE, fixture_binary, http_get, process_alive};

use super::{assert_nothing_left, line_of, listed, pid, ps, service_processes, state};

fn http_fleet(replicas: u16) -> (Fleet, u16) {
    let fleet = Fleet::new().orchestra_yml("");
    let port = fleet.ports(replicas);
    let fleet = fleet.fixture_service(
        "web",
        "http",
        &format!("port: {port}\nready: {{ tcp: $PORT }}\n"),
    );
    (fleet, port)
}

#[test]
fn two_concurrent_starts_give_exactly_one_replica_per_service() {
    let (fleet, port) = http_fleet(2);
    let fleet = fleet.fixture_service(
        "api",
        "http",
        &format!("port: {}\nready: {{ tcp: $PORT }}\n", port + 1),
    );
    let first = fleet.cmd(["start"]).spawn();
    let second = fleet.cmd(["start"]).spawn();
    for run in [first, second] {
        let out = run.wait(PATIENCE * 3);
        assert_eq!(out.code(), Some(0), "{out}");
    }
    let rows = ps(&fleet);
    assert_eq!(listed(&rows), ["api.0", "web.0"], "{rows:?}");
    let binary = fixture_binary("http").display().to_string();
    let replicas: Vec<(u32, String)> = service_processes(&fleet)
        .into_iter()
        .filter(|(_, c)| c.starts_with(&binary))
        .collect();
    assert_eq!(replicas.len(), 2, "one process per service: {replicas:?}");
    let daemons = orchestra_tests::pids_with_cwd_under(fleet.root())
        .into_iter()
        .filter(|&p| super::is_daemon(p))
        .count();
    assert_eq!(daemons, 1, "one daemon per project");
    fleet.cmd(["stop"]).assert_success();
    assert_nothing_left(&fleet, &[]);
}

#[test]
fn scale_up_then_down_stops_the_highest_indexes() {
    let (fleet, port) = http_fleet(3);
    fleet.cmd(["start"]).assert_success();
    let web0 = pid(&ps(&fleet), "web", 0).expect("web.0 runs");

    fleet.cmd(["scale", "web=3"]).assert_success();
    let rows = ps(&fleet);
    assert_eq!(listed(&rows), ["web.0", "web.1", "web.2"], "{rows:?}");
    for n in 0..3u16 {
        assert_eq!(state(&rows, "web", n.into()), "running", "{rows:?}");
        // Replica n listens on port + n and knows who it is.
        let (_, body) = http_get(&format!("http://127.0.0.1:{}/", port + n))
            .unwrap_or_else(|| panic!("web.{n} does not answer"));
        assert!(body.starts_with(&format!("hello from web.{n} ")), "{body}");
    }
    assert_eq!(pid(&rows, "web", 0), Some(web0), "web.0 is left alone");
    let surplus = [pid(&rows, "web", 1).unwrap(), pid(&rows, "web", 2).unwrap()];

    fleet.cmd(["scale", "web=1"]).assert_success();
    let rows = ps(&fleet);
    assert_eq!(listed(&rows), ["web.0"], "{rows:?}");
    assert_eq!(pid(&rows, "web", 0), Some(web0));
    assert!(surplus.iter().all(|&p| !process_alive(p)), "{surplus:?}");
    fleet.cmd(["stop"]).assert_success();
    assert_nothing_left(&fleet, &[web0]);
}

#[test]
fn start_with_a_scale_override_runs_that_many_replicas() {
    let (fleet, port) = http_fleet(2);
    let out = fleet.cmd(["start", "--scale", "web=2"]).assert_success();
    let rows = ps(&fleet);
    assert_eq!(listed(&rows), ["web.0", "web.1"], "{out}\n{rows:?}");
    let ports: Vec<serde_json::Value> = rows.iter().map(|r| r["ports"].clone()).collect();
    assert_eq!(
        ports,
        [serde_json::json!([port]), serde_json::json!([port + 1])]
    );
    fleet.cmd(["stop"]).assert_success();
    assert_nothing_left(&fleet, &[]);
}

/// The pids `ps --json` shows for `service`, by replica.
fn pids(fleet: &Fleet, service: &str) -> Vec<Option<u32>> {
    let rows = ps(fleet);
    let count = rows.iter().filter(|r| r["service"] == service).count();
    (0..count as u64).map(|n| pid(&rows, service, n)).collect()
}

#[test]
fn a_runtime_scale_holds_over_restart_and_start_until_stop() {
    // A restart gets its own section's env, so its replicas differ from what a start or
    // a scale would spawn: a scale must still leave them alone.
    let fleet = Fleet::new()
        .orchestra_yml("restart:\n  env: { VIA: restart }\n")
        .service("worker", "run: sleep 1000\nscale: 2\nstop_timeout: 2s\n");
    fleet.cmd(["start"]).assert_success();
    fleet.cmd(["scale", "worker=3"]).assert_success();
    let scaled = pids(&fleet, "worker");
    assert_eq!(scaled.len(), 3, "{scaled:?}");
    fleet.cmd(["start", "worker"]).assert_success();
    assert_eq!(pids(&fleet, "worker"), scaled, "a start keeps the scale");

    fleet.cmd(["restart", "worker"]).assert_success();
    let restarted = pids(&fleet, "worker");
    assert_eq!(
        restarted.len(),
        3,
        "a restart keeps the scale: {restarted:?}"
    );
    assert!(
        restarted.iter().zip(&scaled).all(|(a, b)| a != b),
        "{scaled:?} {restarted:?}"
    );
    let table = fleet.cmd(["ps"]).assert_success();
    assert!(
        table
            .stdout
            .contains("worker runs 3 replicas, its service.yml says 2"),
        "{table}"
    );

    let out = fleet.cmd(["scale", "worker=1"]).assert_success();
    assert_eq!(
        pids(&fleet, "worker"),
        restarted[..1],
        "worker.0 is left alone: {out}"
    );
    assert!(
        !out.stdout
            .lines()
            .any(|l| l.contains("worker.0") && (l.contains("stopping") || l.contains("starting"))),
        "{out}"
    );
    assert!(restarted[1..].iter().flatten().all(|&p| !process_alive(p)));

    fleet.cmd(["stop"]).assert_success();
    fleet.cmd(["start"]).assert_success();
    assert_eq!(
        pids(&fleet, "worker").len(),
        2,
        "after a stop, the file's scale"
    );
    let table = fleet.cmd(["ps"]).assert_success();
    assert!(!table.stdout.contains("service.yml says"), "{table}");
    fleet.cmd(["stop"]).assert_success();
    assert_nothing_left(&fleet, &[]);
}

#[test]
fn scaling_a_stopped_service_starts_what_it_depends_on_first() {
    let fleet = Fleet::new()
        .orchestra_yml("")
        .service(
            "db",
            "run: \"sleep 0.3; echo db up; exec sleep 1000\"\nready: { log: db up }\n",
        )
        .service("api", "run: sleep 1001\ndepends_on: [db]\nscale: 0\n")
        .service("other", "run: sleep 1002\n");
    // Something else runs, so the fleet (and its daemon) is up while db and api are not.
    fleet.cmd(["start", "other"]).assert_success();
    let out = fleet.cmd(["scale", "api=2"]).assert_success();
    let rows = ps(&fleet);
    assert_eq!(
        listed(&rows),
        ["api.0", "api.1", "db.0", "other.0"],
        "{out}\n{rows:?}"
    );
    let db_ready = line_of(&out, &["db.0", "ready"]);
    for n in 0..2 {
        assert!(
            db_ready < line_of(&out, &[&format!("api.{n}"), "starting"]),
            "db is ready before api starts: {out}"
        );
    }
    fleet.cmd(["stop"]).assert_success();
    assert_nothing_left(&fleet, &[]);
}

#[test]
fn replica_counts_over_the_limit_are_refused_wherever_they_are_given() {
    let limit = "replicas is over the limit of 1000 per service";
    let fleet = Fleet::new()
        .orchestra_yml("")
        .service("web", "run: sleep 1000\n");
    let out = fleet
        .cmd(["start", "--scale", "web=100000000"])
        .assert_exit(2);
    assert!(
        out.stderr.contains(&format!("web: 100000000 {limit}")),
        "{out}"
    );
    assert!(listed(&ps(&fleet)).is_empty());

    fleet.cmd(["start"]).assert_success();
    let out = fleet.cmd(["scale", "web=1001"]).assert_exit(2);
    assert!(out.stderr.contains(&format!("web: 1001 {limit}")), "{out}");
    assert_eq!(listed(&ps(&fleet)), ["web.0"]);
    fleet.cmd(["stop"]).assert_success();

    fleet.write("web/service.yml", "run: sleep 1000\nscale: 1001\n");
    let out = fleet.cmd(["start"]).assert_exit(2);
    assert!(out.stderr.contains(&format!("1001 {limit}")), "{out}");
    assert!(out.stderr.contains("web/service.yml"), "{out}");
    assert_nothing_left(&fleet, &[]);
}
