//! Containers that outlive their handles: adopted again by their instance, or, when no
//! replica accounts for them, strays.

use std::collections::{HashMap, HashSet};

use bollard::models::ContainerCreateBody;
use bollard::query_parameters::CreateContainerOptionsBuilder;
use orchestra_core::{ProcessEnd, ReplicaId, ServiceName, Signal};
use orchestra_supervisor::Supervisor;
use orchestra_vendors::LABEL_PROJECT;
use orchestra_vendors::backend::LABEL_SERVICE;

use crate::fleet::{Fleet, PATIENCE, answers, log_contains};
use crate::support::engine_or_skip;

#[tokio::test]
async fn a_container_outlives_its_dropped_handle_and_is_adopted_by_its_instance() {
    let Some(docker) = engine_or_skip().await else {
        return;
    };
    let mut fleet = Fleet::new(docker, "adopt");
    fleet.go_service("web", "http", &[]);
    let (identity, instance, port) = {
        let backend = fleet.backend();
        let (running, port) = fleet.spawn(&backend, "web").await;
        answers(port, "/").await;
        (
            running.identity().clone(),
            running.instance().to_owned(),
            port,
        )
    };
    // Handle and backend gone, as when the daemon dies: the container keeps serving.
    assert!(answers(port, "/").await.starts_with("hello from web.0"));

    let backend = fleet.backend();
    assert!(backend.adopt(&identity, "no-such-instance").await.is_none());
    let adopted = backend.adopt(&identity, &instance).await.expect("adopted");
    assert_eq!(adopted.identity(), &identity);
    assert_eq!(adopted.instance(), instance);
    assert!(adopted.alive().await);
    assert_eq!(adopted.stats().await.ports, [port]);

    assert_eq!(adopted.signal(Signal::TERM).await.unwrap(), 1);
    let end = tokio::time::timeout(PATIENCE, adopted.wait())
        .await
        .unwrap();
    assert_eq!(end, ProcessEnd::Exited(0));
    // The re-attached stream caught the goodbye.
    let log = fleet.log_path(&ReplicaId::new(ServiceName::new("web").unwrap(), 0));
    log_contains(&log, "got terminated, stopping").await;
    assert!(!fleet.exists(&fleet.container("web")).await);
}

#[tokio::test]
async fn containers_of_the_project_that_no_replica_accounts_for_are_strays() {
    let Some(docker) = engine_or_skip().await else {
        return;
    };
    let mut fleet = Fleet::new(docker, "stray");
    fleet.go_service("web", "http", &[]);
    let backend = fleet.backend();
    let (running, port) = fleet.spawn(&backend, "web").await;
    answers(port, "/").await;
    let web = fleet.container("web");

    // One made by hand with the project's labels, as a crashed daemon's leftover looks.
    let leftover = format!("orchestra-{}-old-0", fleet.project.name);
    let body = ContainerCreateBody {
        image: Some("orchestra-test/scratch-http:1".into()),
        labels: Some(HashMap::from([
            (LABEL_PROJECT.to_owned(), fleet.project.name.to_string()),
            (LABEL_SERVICE.to_owned(), "old".to_owned()),
        ])),
        ..ContainerCreateBody::default()
    };
    let options = CreateContainerOptionsBuilder::new().name(&leftover).build();
    fleet
        .docker
        .api()
        .create_container(Some(options), body)
        .await
        .unwrap();

    let known = HashSet::from([web.clone()]);
    let strays: Vec<String> = backend
        .stray_containers(&known)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(strays, std::slice::from_ref(&leftover));
    let mut all: Vec<String> = backend
        .service_containers()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    all.sort();
    let mut expected = vec![leftover.clone(), web];
    expected.sort();
    assert_eq!(all, expected);

    backend.remove_container(&leftover).await.unwrap();
    backend.remove_container(&leftover).await.unwrap();
    assert!(backend.stray_containers(&known).await.unwrap().is_empty());
    running.signal(Signal::KILL).await.unwrap();
    tokio::time::timeout(PATIENCE, running.wait())
        .await
        .unwrap();
}
