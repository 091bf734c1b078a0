//! The folders watched: created after the start, changed with the services, or missing.

use std::fs;
use std::path::PathBuf;

use orchestra_core::name::ServiceName;
use orchestra_supervisor::watch::FleetWatcher;
use tokio::sync::mpsc::unbounded_channel;

use crate::support::Project;

#[tokio::test]
async fn folders_created_after_start_are_watched() {
    let p = Project::new();
    let (_w, mut events) = p.watch(&[p.go("users", "users"), p.go("orders", "orders")]);

    // A deep new tree written at once: its file may land before its folders are watched.
    p.write("users/internal/store/sql/query.go");
    events.next_is_only("users").await;

    // An empty new folder is no change, but what is written into it later is.
    fs::create_dir_all(p.path("users/api/v2")).expect("mkdir");
    p.write("orders/main.go");
    events.next_is_only("orders").await;
    p.write("users/api/v2/handler.go");
    events.next_is_only("users").await;

    // A folder of sources moved in from outside counts, and so does one moved out.
    p.write("elsewhere/lib/lib.go");
    fs::rename(p.path("elsewhere/lib"), p.path("users/lib")).expect("mv");
    events.next_is_only("users").await;
    fs::rename(p.path("users/lib"), p.path("elsewhere/lib")).expect("mv");
    events.next_is_only("users").await;
}

#[tokio::test]
async fn set_services_adds_and_removes_folders() {
    let p = Project::new();
    let users = p.go("users", "users");
    let orders = p.go("orders", "orders");
    let billing = p.go("billing", "billing");
    let (mut w, mut events) = p.watch(&[users.clone(), billing.clone()]);

    p.write("orders/main.go");
    p.write("billing/main.go");
    events.next_is_only("billing").await;

    w.set_services(&[orders.clone(), billing.clone()])
        .expect("set services");
    let watched: Vec<PathBuf> = w.watched_folders().collect();
    assert_eq!(watched, [billing.dir.clone(), orders.dir.clone()]);
    p.write("users/main.go");
    p.write("orders/main.go");
    events.next_is_only("orders").await;
    p.write("billing/main.go");
    events.next_is_only("billing").await;

    // A service folder that becomes nested in a new one keeps being seen as its own.
    let mut root = p.service("root", "", &["*.go"]);
    root.name = ServiceName::new("root").expect("valid name");
    w.set_services(&[root, orders, billing])
        .expect("set services");
    assert_eq!(w.watched_folders().collect::<Vec<_>>(), [p.root.path()]);
    p.write("orders/main.go");
    events.next_is_only("orders").await;
    p.write("main.go");
    events.next_is_only("root").await;
}

#[tokio::test]
async fn a_missing_folder_is_an_error_naming_it() {
    let p = Project::new();
    let mut ghost = p.go("ghost", "ghost");
    fs::remove_dir(&ghost.dir).expect("rmdir");
    let (tx, _rx) = unbounded_channel();
    let err = FleetWatcher::start(&[ghost.clone()], &p.state_dir(), tx).expect_err("missing");
    assert!(err.to_string().contains("ghost"), "{err}");

    ghost.watch = vec!["[".into()];
    let (tx, _rx) = unbounded_channel();
    let err = FleetWatcher::start(&[ghost], &p.state_dir(), tx).expect_err("bad glob");
    assert!(err.to_string().contains("bad glob"), "{err}");
}
