//! One fleet, never two; replica counts that follow `scale`.

use orchestra_tests::{Fleet, PATIENCE, fixture_binary, http_get, process_alive};

use super::{assert_nothing_left, listed, pid, ps, service_processes, state};

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
