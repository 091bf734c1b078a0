//! Nothing leaked: whole process trees are stopped, with or without a daemon.

use orchestra_tests::{Fleet, PATIENCE, Signal, process_alive, send_signal, wait_until};

use super::{
    assert_nothing_left, daemon_pid, listed, orphaned_workers, pid, ps, running_web_and_worker,
    service_processes, state,
};

#[test]
fn stop_leaves_nothing_of_a_go_run_service_and_its_child_binary() {
    let fleet = Fleet::new().orchestra_yml("");
    let port = fleet.ports(1);
    let fleet = fleet.go_service(
        "gorun",
        "http",
        &format!(
            "port: {port}\nrun: \"go run .\"\nenv: {{ GOPROXY: \"off\" }}\n\
             ready: {{ http: \"http://127.0.0.1:$PORT/health\", timeout: 60s }}\n"
        ),
    );
    fleet.cmd(["start", "--no-build"]).assert_success();
    let tree = service_processes(&fleet);
    // `go run` and the binary it built and spawned.
    assert!(tree.len() >= 2, "{tree:?}");
    assert!(
        tree.iter().any(|(_, c)| c.starts_with("go run")),
        "{tree:?}"
    );
    let pids: Vec<u32> = tree.iter().map(|(p, _)| *p).collect();
    fleet.cmd(["stop"]).assert_success();
    assert_nothing_left(&fleet, &pids);
}

#[test]
fn when_stop_returns_nothing_of_the_fleet_runs_not_even_the_daemon() {
    let fleet = Fleet::new()
        .orchestra_yml("")
        .service("web", "run: \"exec sleep 1000\"\nscale: 3\n");
    fleet.cmd(["start"]).assert_success();
    let daemon = daemon_pid(&fleet).expect("the daemon runs");
    let pids: Vec<u32> = service_processes(&fleet).iter().map(|(p, _)| *p).collect();
    assert_eq!(pids.len(), 3, "{pids:?}");
    fleet.cmd(["stop"]).assert_success();
    // Checked at once, not waited for: a script that runs `orchestra stop` and then looks
    // finds nothing, the daemon included.
    let left: Vec<u32> = pids
        .iter()
        .copied()
        .chain([daemon])
        .filter(|&p| process_alive(p))
        .collect();
    assert!(
        left.is_empty(),
        "still running after `stop` returned: {left:?}"
    );
    // Nor anything written down: the records' journal holds no history of that run.
    let journal = std::fs::read_to_string(fleet.journal()).unwrap_or_default();
    assert_eq!(journal, "", "the records are tidied when the daemon leaves");
}

#[test]
fn stop_leaves_nothing_of_background_shell_jobs() {
    let fleet = Fleet::new()
        .orchestra_yml("")
        .service("jobs", "run: \"sleep 1000 & sleep 1001 & wait\"\n");
    fleet.cmd(["start"]).assert_success();
    wait_until(PATIENCE, "both sleeps to run", || {
        let tree = service_processes(&fleet);
        ["sleep 1000", "sleep 1001"]
            .iter()
            .all(|s| tree.iter().any(|(_, c)| c == s))
    });
    let pids: Vec<u32> = service_processes(&fleet).iter().map(|(p, _)| *p).collect();
    fleet.cmd(["stop"]).assert_success();
    assert_nothing_left(&fleet, &pids);
}

#[test]
fn replicas_outlive_a_killed_daemon_are_adopted_and_stopped_without_one() {
    let fleet = running_web_and_worker("run: \"exec sleep 1000\"\n");
    let rows = ps(&fleet);
    let web = pid(&rows, "web", 0).expect("web runs");
    let worker = pid(&rows, "worker", 0).expect("worker runs");

    let kill_daemon = || {
        let daemon = daemon_pid(&fleet).expect("the daemon runs");
        assert!(send_signal(daemon, Signal::SIGKILL));
        wait_until(PATIENCE, "the daemon to die", || !process_alive(daemon));
    };
    kill_daemon();
    assert!(process_alive(web) && process_alive(worker));
    // Without a daemon, `ps` reads the records and checks them against /proc.
    let rows = ps(&fleet);
    assert_eq!(pid(&rows, "web", 0), Some(web), "{rows:?}");
    assert_eq!(pid(&rows, "worker", 0), Some(worker), "{rows:?}");
    assert_eq!(state(&rows, "web", 0), "running");

    // A new daemon adopts them: one fleet, not two.
    fleet.cmd(["start"]).assert_success();
    let rows = ps(&fleet);
    assert_eq!(pid(&rows, "web", 0), Some(web), "{rows:?}");
    assert_eq!(pid(&rows, "worker", 0), Some(worker), "{rows:?}");
    assert_eq!(service_processes(&fleet).len(), 2);

    // And with no daemon at all, `stop` still stops them all.
    kill_daemon();
    fleet.cmd(["stop"]).assert_success();
    assert_nothing_left(&fleet, &[web, worker]);
    let rows = ps(&fleet);
    assert_eq!(listed(&rows), Vec::<String>::new(), "{rows:?}");
}

#[test]
fn replicas_recorded_by_an_earlier_version_one_file_each_are_seen_and_stopped() {
    // Its daemon gone, the fleet's records as an earlier version kept them: a file each.
    let (fleet, workers) = orphaned_workers();
    for record in fleet.records() {
        let name = format!(
            "{}.{}.json",
            record["service"].as_str().unwrap(),
            record["replica"]
        );
        fleet.write(format!(".orchestra/run/{name}"), record.to_string());
    }
    std::fs::remove_file(fleet.journal()).unwrap();

    let rows = ps(&fleet);
    for (index, worker) in workers.iter().enumerate() {
        assert_eq!(
            pid(&rows, "worker", index as u64),
            Some(*worker),
            "{rows:?}"
        );
        assert_eq!(state(&rows, "worker", index as u64), "running", "{rows:?}");
    }
    let out = fleet.cmd(["stop"]).assert_success();
    assert!(
        out.stdout.contains("worker.0") && out.stdout.contains("worker.1"),
        "{out}"
    );
    assert_nothing_left(&fleet, &workers);
    assert!(fleet.records().is_empty());
    assert!(!fleet.path(".orchestra/run/worker.0.json").exists());
}
