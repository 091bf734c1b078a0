//! A scaled service is replaced one replica at a time: it never stops answering.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use super::{BUILD_PATIENCE, answer, go_fleet, greeting_go, wait_for_greeting};

/// What the watcher of two ports saw.
#[derive(Debug, Default)]
struct Watched {
    /// Rounds in which both ports were asked.
    rounds: u64,
    /// Rounds in which neither answered.
    gaps: u64,
}

/// Asks both ports in turn until `stop` is set. A round counts as a gap only when the
/// first port fails, then the second, then the first again: the first was down the whole
/// time the second was asked, so there was a moment with none — a thread descheduled
/// between two questions cannot fake one.
fn watch_ports(port: u16, stop: &AtomicBool) -> Watched {
    let mut seen = Watched::default();
    while !stop.load(Ordering::Relaxed) {
        seen.rounds += 1;
        if answer(port).is_none() && answer(port + 1).is_none() && answer(port).is_none() {
            seen.gaps += 1;
        }
    }
    seen
}

#[test]
fn a_scaled_service_is_replaced_one_replica_at_a_time() {
    let (fleet, port) = go_fleet(2, "rerun: true\n");
    fleet
        .cmd(["start"])
        .timeout(BUILD_PATIENCE)
        .assert_success();
    let old = [
        wait_for_greeting(port, "v1"),
        wait_for_greeting(port + 1, "v1"),
    ];

    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let stop = Arc::clone(&stop);
        thread::spawn(move || watch_ports(port, &stop))
    };
    fleet.write("web/greeting.go", greeting_go("v2"));
    let new = [
        wait_for_greeting(port, "v2"),
        wait_for_greeting(port + 1, "v2"),
    ];
    stop.store(true, Ordering::Relaxed);
    let seen = watcher.join().expect("the port watcher does not panic");

    assert_eq!(
        seen.gaps, 0,
        "neither replica answered at some moment: {seen:?}"
    );
    assert!(
        seen.rounds > 10,
        "the ports were watched throughout: {seen:?}"
    );
    assert!(
        old.iter().zip(&new).all(|(o, n)| o != n),
        "both replicas were replaced: {old:?} → {new:?}"
    );
    fleet.cmd(["stop"]).assert_success();
}
