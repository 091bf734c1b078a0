//! How changes become events: one per service and burst, its first file at once and the
//! rest once quiet, or at the cap while changes never pause.

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::support::Project;

#[tokio::test]
async fn one_write_gives_one_event() {
    let p = Project::new();
    let (_w, mut events) = p.watch(&[p.go("users", "users"), p.go("orders", "orders")]);
    p.write("users/main.go");
    assert_eq!(events.next().await, "users");
    p.write("orders/main.go");
    events.next_is_only("orders").await;
}

/// The first file is sent at once; the rest of the burst follows together, once quiet.
#[tokio::test]
async fn a_burst_of_200_files_gives_its_first_file_then_the_rest() {
    let p = Project::new();
    let (_w, mut events) = p.watch(&[p.go("users", "users"), p.go("orders", "orders")]);
    let files: BTreeSet<PathBuf> = (0..200)
        .map(|i| p.path(&format!("users/file{i}.go")))
        .collect();
    for file in &files {
        fs::write(file, "package main\n").expect("write");
    }
    let (name, first) = events.next_with_files().await;
    assert_eq!((name.as_str(), first.len()), ("users", 1), "{first:?}");
    let (name, rest) = events.next_with_files().await;
    assert_eq!(name, "users");
    assert_eq!(
        events.stale,
        ["users"],
        "told stale once, before the rest came"
    );
    assert!(
        rest.len() >= 50 && rest.is_subset(&files) && rest.is_disjoint(&first),
        "the rest of the burst, the first few dozen named: {rest:?}"
    );
    p.write("orders/main.go");
    events.next_is_only("orders").await;
}

#[tokio::test]
async fn two_services_changed_at_once_give_one_event_each() {
    let p = Project::new();
    let (_w, mut events) = p.watch(&[p.go("users", "users"), p.go("orders", "orders")]);
    for i in 0..20 {
        p.write(&format!("users/f{i}.go"));
        p.write(&format!("orders/f{i}.go"));
    }
    let mut got = BTreeSet::new();
    while got.len() < 2 {
        got.insert(events.next().await);
    }
    assert_eq!(got, BTreeSet::from(["orders".into(), "users".into()]));
    // What followed the leading edges, as bursts of their own.
    let mut rest = 0;
    while rest < 2 {
        let name = events.next().await;
        assert!(got.contains(&name), "{name}");
        rest += 1;
    }
    p.write("orders/main.go");
    events.next_is_only("orders").await;
}

/// A stream of changes with no pause: its first save is sent at once, the rest is held
/// back, but only up to the cap: `max(10 × debounce, 2 s)`, here 3 s for a 300 ms quiet
/// period.
#[tokio::test]
async fn a_never_ending_stream_fires_at_once_then_at_the_cap() {
    let p = Project::new();
    let mut users = p.go("users", "users");
    users.rerun.debounce = Duration::from_millis(300);
    let (_w, mut events) = p.watch(&[users, p.go("orders", "orders")]);

    let file = p.path("users/main.go");
    let started = Instant::now();
    let writer = std::thread::spawn(move || {
        // A change every 20 ms for 4.5 s: never quiet for 300 ms.
        while started.elapsed() < Duration::from_millis(4500) {
            fs::write(&file, format!("package main // {:?}\n", Instant::now())).expect("write");
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    assert_eq!(events.next().await, "users");
    let leading = started.elapsed();
    assert_eq!(events.next().await, "users");
    let capped = started.elapsed();
    assert!(
        (Duration::from_millis(2900) + leading..Duration::from_millis(4400)).contains(&capped),
        "held back while the stream ran, released at the cap: {leading:?}, then {capped:?}"
    );
    // The rest of the stream is released once the stream stops.
    assert_eq!(events.next().await, "users");
    let last = started.elapsed();
    writer.join().expect("writer");
    assert!(
        last >= Duration::from_millis(4500),
        "after the stream: {last:?}"
    );
    p.write("orders/main.go");
    events.next_is_only("orders").await;
}
