//! What watching costs while nothing changes, measured in a child process.

use std::fs;
use std::time::{Duration, Instant};

use orchestra_core::spec::ServiceSpec;
use orchestra_supervisor::watch::FleetWatcher;
use tokio::sync::mpsc::unbounded_channel;

use crate::support::Project;

const IDLE_CHILD: &str = "ORCHESTRA_WATCH_IDLE_CHILD";

/// Idle cost of watching 200 service folders: the watcher runs in a child process (this test
/// binary again, running [`idle_watcher_child`]) so that no other test's threads are counted,
/// and the CPU time of all its threads is read from `/proc` over a 3 s window. With inotify
/// and no timers every thread is blocked, so the figure should be zero; the target
/// is ≤ 0.2 %.
#[test]
fn watching_200_idle_services_costs_no_cpu() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "idle::idle_watcher_child",
            "--ignored",
            "--nocapture",
        ])
        .env(IDLE_CHILD, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the child");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    // The child prints READY once its watcher runs, or exits (EOF) if it cannot start one.
    let ready = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.starts_with("READY"))
        .expect("the child's watcher started");
    let before = cpu_ns(child.id());
    let window = Duration::from_secs(3);
    // The measurement window itself: nothing is being waited for.
    std::thread::sleep(window);
    let used = cpu_ns(child.id()) - before;
    drop(child.stdin.take());
    assert!(child.wait().expect("child").success());

    let percent = used as f64 / window.as_nanos() as f64 * 100.0;
    eprintln!("{ready}; idle CPU over {window:?}: {used} ns = {percent:.4} %");
    assert!(percent <= 0.2, "idle watcher used {percent:.4} % CPU");
}

/// CPU time of every thread of `pid`, in nanoseconds (first field of each task's schedstat).
fn cpu_ns(pid: u32) -> u64 {
    fs::read_dir(format!("/proc/{pid}/task"))
        .expect("tasks")
        .filter_map(Result::ok)
        .filter_map(|t| fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// The child of [`watching_200_idle_services_costs_no_cpu`]: watches 200 Go service folders
/// (five packages each) and, when run by it, stays idle until its stdin closes.
#[test]
#[ignore = "run by watching_200_idle_services_costs_no_cpu"]
fn idle_watcher_child() {
    let p = Project::new();
    let services: Vec<ServiceSpec> = (0..200)
        .map(|i| {
            let spec = p.go(&format!("svc{i}"), &format!("svc{i}"));
            for pkg in ["api", "store", "model", "internal/a", "internal/b"] {
                p.write(&format!("svc{i}/{pkg}/x.go"));
            }
            p.write(&format!("svc{i}/main.go"));
            spec
        })
        .collect();
    let (tx, _rx) = unbounded_channel();
    let started = Instant::now();
    let watcher = FleetWatcher::start(&services, &p.state_dir(), tx).expect("watcher");
    let setup = started.elapsed();
    assert_eq!(watcher.watched_folders().count(), 200);
    if std::env::var_os(IDLE_CHILD).is_some() {
        println!("READY: 200 services (1,400 folders) watched in {setup:?}");
        // Blocks until the parent closes our stdin.
        std::io::copy(&mut std::io::stdin(), &mut std::io::sink()).expect("stdin");
    }
}
