//! A replica's life in its container: it runs with its environment, labels and network,
//! logs to its file, stops on SIGTERM, and is seen killed or crashed with how it ended.

use bollard::query_parameters::KillContainerOptions;
use orchestra_core::{ProcessEnd, ProcessIdentity, ReplicaId, ServiceName, Signal};
use orchestra_supervisor::IdentityExt;
use orchestra_vendors::backend::{LABEL_INSTANCE, LABEL_SERVICE};
use orchestra_vendors::{LABEL_PROJECT, network_name};

use crate::fleet::{Fleet, PATIENCE, answers, http_get, log_contains};
use crate::support::engine_or_skip;

#[tokio::test]
async fn a_go_service_runs_in_a_scratch_container_with_its_env_and_stops_on_sigterm() {
    let Some(docker) = engine_or_skip().await else {
        return;
    };
    let mut fleet = Fleet::new(docker, "serve");
    fleet.go_service("web", "http", &[]);
    let backend = fleet.backend();
    let (running, port) = fleet.spawn(&backend, "web").await;

    assert!(answers(port, "/").await.starts_with("hello from web.0"));
    assert_eq!(answers(port, "/env/ORCHESTRA_REPLICA").await, "0");
    assert_eq!(answers(port, "/env/PORT").await, port.to_string());
    assert_eq!(answers(port, "/env/ORCHESTRA_SERVICE").await, "web");
    assert_eq!(
        answers(port, "/env/ORCHESTRA_INSTANCE").await,
        running.instance()
    );
    // Vendor addresses as seen from the project network, not from the host.
    assert_eq!(answers(port, "/env/CACHE_HOST").await, "cache");
    assert_eq!(answers(port, "/env/CACHE_PORT").await, "6379");
    // Orchestra's own environment stays outside (cargo sets this one for the test).
    assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some());
    assert_eq!(
        http_get(port, "/env/CARGO_MANIFEST_DIR"),
        Some("404 page not found\n".into())
    );

    // The identity is the container's main process as /proc sees it.
    let identity = running.identity().clone();
    assert!(identity.pid > 0);
    assert_eq!(ProcessIdentity::of(identity.pid).unwrap(), identity);
    let stats = running.stats().await;
    assert_eq!(stats.ports, [port]);
    assert_eq!(stats.pids, [identity.pid]);
    assert!(stats.rss_bytes > 0, "{stats:?}");

    let name = fleet.container("web");
    let info = fleet
        .docker
        .api()
        .inspect_container(&name, None)
        .await
        .unwrap();
    let labels = info.config.as_ref().unwrap().labels.clone().unwrap();
    assert_eq!(labels[LABEL_PROJECT], fleet.project.name.as_str());
    assert_eq!(labels[LABEL_SERVICE], "web");
    assert_eq!(labels["orchestra.replica"], "0");
    assert_eq!(labels[LABEL_INSTANCE], running.instance());
    assert_eq!(labels["orchestra.spec-hash"].len(), 16);
    let image = info.config.unwrap().image.unwrap();
    assert!(
        image.starts_with(&format!("orchestra-{}/web:", fleet.project.name)),
        "{image}"
    );
    let networks = info.network_settings.unwrap().networks.unwrap();
    let aliases = networks[&network_name(&fleet.project.name)].aliases.clone();
    assert!(aliases.unwrap().contains(&"web".to_owned()));

    // Its output reaches the replica's log file.
    let log = fleet.log_path(&ReplicaId::new(ServiceName::new("web").unwrap(), 0));
    log_contains(&log, &format!("listening on :{port}")).await;

    assert_eq!(running.signal(Signal::TERM).await.unwrap(), 1);
    let end = tokio::time::timeout(PATIENCE, running.wait())
        .await
        .unwrap();
    assert_eq!(end, ProcessEnd::Exited(0));
    assert!(!running.alive().await);
    log_contains(&log, "got terminated, stopping").await;
    // The end is published once the container is gone.
    assert!(!fleet.exists(&name).await, "{name} is still there");
    assert_eq!(running.signal(Signal::TERM).await.unwrap(), 0);
}

#[tokio::test]
async fn a_killed_replica_is_seen_as_killed_and_runs_again_when_spawned_anew() {
    let Some(docker) = engine_or_skip().await else {
        return;
    };
    let mut fleet = Fleet::new(docker, "kill");
    fleet.go_service("web", "http", &[]);
    let backend = fleet.backend();
    let (first, port) = fleet.spawn(&backend, "web").await;
    answers(port, "/").await;
    let name = fleet.container("web");
    let first_id = fleet
        .docker
        .api()
        .inspect_container(&name, None)
        .await
        .unwrap()
        .id;

    // `docker kill`, from outside Orchestra.
    let kill = KillContainerOptions {
        signal: "SIGKILL".into(),
    };
    fleet
        .docker
        .api()
        .kill_container(&name, Some(kill))
        .await
        .unwrap();
    let end = tokio::time::timeout(PATIENCE, first.wait()).await.unwrap();
    assert_eq!(end, ProcessEnd::Signalled(9));

    // What the replica job does on a failure: spawn again, under the same name and port.
    let (second, _) = fleet.spawn(&backend, "web").await;
    assert!(answers(port, "/").await.starts_with("hello from web.0"));
    let second_id = fleet
        .docker
        .api()
        .inspect_container(&name, None)
        .await
        .unwrap()
        .id;
    assert_ne!(first_id, second_id);
    assert_ne!(first.instance(), second.instance());

    assert_eq!(second.signal(Signal::KILL).await.unwrap(), 1);
    let end = tokio::time::timeout(PATIENCE, second.wait()).await.unwrap();
    assert_eq!(end, ProcessEnd::Signalled(9));
    assert!(!fleet.exists(&name).await);
}

#[tokio::test]
async fn a_crashing_replica_reports_its_exit_code_and_last_words() {
    let Some(docker) = engine_or_skip().await else {
        return;
    };
    let mut fleet = Fleet::new(docker, "crash");
    fleet.go_service(
        "web",
        "http",
        &[("CRASH_AFTER_MS", "300"), ("EXIT_CODE", "3")],
    );
    let backend = fleet.backend();
    let (running, _) = fleet.spawn(&backend, "web").await;
    let end = tokio::time::timeout(PATIENCE, running.wait())
        .await
        .unwrap();
    assert_eq!(end, ProcessEnd::Exited(3));
    assert_eq!(running.end(), Some(ProcessEnd::Exited(3)));
    // The last line is in the file by the time the end is known.
    let log = fleet.log_path(&ReplicaId::new(ServiceName::new("web").unwrap(), 0));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("exiting with code 3 as asked"), "{text}");
}
