//! up, up again, change, stop, down: the container's life as `orchestra vendors` drives it.

use bollard::query_parameters::StopContainerOptionsBuilder;
use orchestra_core::ReplicaState;
use orchestra_core::protocol::Phase;
use orchestra_core::spec::{CommandSpec, VolumeMount, VolumeSource};
use orchestra_core::state::UnitKind;
use orchestra_vendors::{UpAction, container_name, network_name, volume_name};

use crate::support::{Project, engine_or_skip, events, redis, redis_say, vendor};

#[tokio::test]
async fn redis_comes_up_ready_answers_ping_and_shows_in_status() {
    let Some(docker) = engine_or_skip().await else {
        return;
    };
    let project = Project::new(docker, "ping");
    let spec = redis("cache");
    let port = spec.ports[0].host;
    let (tx, mut rx) = events();

    let up = project.up(&[spec], tx).await.unwrap();

    assert_eq!(up.len(), 1);
    assert_eq!(up[0].action, UpAction::Created);
    assert_eq!(up[0].ports[0].host, port);
    // The TCP probe passed, so Redis itself (not only Docker's port proxy) answers now.
    assert_eq!(redis_say(port, &["PING"]), ["+PONG"]);
    let mut phases = Vec::new();
    while let Ok(p) = rx.try_recv() {
        assert_eq!(p.unit, "cache");
        phases.push(p.phase);
    }
    assert_eq!(phases.last(), Some(&Phase::Ready), "{phases:?}");

    let rows = project.status().await.unwrap();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.service, "cache");
    assert_eq!(row.kind, UnitKind::Vendor);
    assert_eq!(row.state, ReplicaState::Running);
    assert_eq!(row.ports, [port]);
    assert!(row.pid.is_some_and(|p| p > 0), "{row:?}");
    assert!(row.uptime_s.is_some(), "{row:?}");

    let info = project
        .docker()
        .api()
        .inspect_container(&container_name(&project.name, &vendor("cache")), None)
        .await
        .unwrap();
    let labels = info.config.unwrap().labels.unwrap();
    assert_eq!(labels["orchestra.project"], project.name.as_str());
    assert_eq!(labels["orchestra.vendor"], "cache");
    assert_eq!(labels["orchestra.config-hash"].len(), 16);
    let networks = info.network_settings.unwrap().networks.unwrap();
    let endpoint = &networks[&network_name(&project.name)];
    assert!(
        endpoint
            .aliases
            .as_ref()
            .unwrap()
            .contains(&"cache".to_owned())
    );
}

#[tokio::test]
async fn up_keeps_an_unchanged_container_recreates_a_changed_one_and_starts_a_stopped_one() {
    let Some(docker) = engine_or_skip().await else {
        return;
    };
    let project = Project::new(docker, "idem");
    let mut spec = redis("cache");

    let first = project
        .up(std::slice::from_ref(&spec), events().0)
        .await
        .unwrap();
    let again = project
        .up(std::slice::from_ref(&spec), events().0)
        .await
        .unwrap();
    assert_eq!(again[0].action, UpAction::Kept);
    assert_eq!(again[0].container_id, first[0].container_id);

    spec.env.insert("CHANGED".into(), "yes".into());
    let changed = project
        .up(std::slice::from_ref(&spec), events().0)
        .await
        .unwrap();
    assert_eq!(changed[0].action, UpAction::Recreated);
    assert_ne!(changed[0].container_id, first[0].container_id);
    let env = project
        .docker()
        .api()
        .inspect_container(&changed[0].container_id, None)
        .await
        .unwrap()
        .config
        .unwrap()
        .env
        .unwrap();
    assert!(env.contains(&"CHANGED=yes".to_owned()), "{env:?}");

    let stop = StopContainerOptionsBuilder::new().t(5).build();
    project
        .docker()
        .api()
        .stop_container(&changed[0].container_id, Some(stop))
        .await
        .unwrap();
    let rows = project.status().await.unwrap();
    assert_eq!(rows[0].state, ReplicaState::Stopped);
    let restarted = project
        .up(std::slice::from_ref(&spec), events().0)
        .await
        .unwrap();
    assert_eq!(restarted[0].action, UpAction::Started);
    assert_eq!(restarted[0].container_id, changed[0].container_id);
    assert_eq!(redis_say(spec.ports[0].host, &["PING"]), ["+PONG"]);
}

#[tokio::test]
async fn down_removes_container_and_network_and_keeps_named_volumes_unless_asked() {
    let Some(docker) = engine_or_skip().await else {
        return;
    };
    let project = Project::new(docker, "down");
    let mut spec = redis("store");
    spec.command = Some(CommandSpec::Exec(
        [
            "redis-server",
            "--protected-mode",
            "no",
            "--bind",
            "0.0.0.0",
            "--dir",
            "/data",
        ]
        .map(String::from)
        .to_vec(),
    ));
    spec.volumes = vec![VolumeMount {
        source: VolumeSource::Named("data".into()),
        target: "/data".into(),
        read_only: false,
    }];
    let port = spec.ports[0].host;
    let api = project.docker().api().clone();
    let container = container_name(&project.name, &spec.name);
    let volume = volume_name(&project.name, "data");

    project
        .up(std::slice::from_ref(&spec), events().0)
        .await
        .unwrap();
    assert_eq!(
        redis_say(port, &["SET fruit apple", "SAVE"]),
        ["+OK", "+OK"]
    );
    project.down(&[], false).await.unwrap();

    assert!(
        api.inspect_container(&container, None).await.is_err(),
        "container left"
    );
    assert!(
        api.inspect_network(&network_name(&project.name), None)
            .await
            .is_err(),
        "network left"
    );
    api.inspect_volume(&volume)
        .await
        .expect("the named volume survives down");

    // The data came back with the volume.
    project
        .up(std::slice::from_ref(&spec), events().0)
        .await
        .unwrap();
    assert_eq!(redis_say(port, &["GET fruit"]), ["apple"]);

    project
        .down(std::slice::from_ref(&spec.name), true)
        .await
        .unwrap();
    assert!(
        api.inspect_container(&container, None).await.is_err(),
        "container left"
    );
    assert!(
        api.inspect_volume(&volume).await.is_err(),
        "volume left after down --volumes"
    );
    assert!(project.status().await.unwrap().is_empty());
}

#[tokio::test]
async fn down_of_one_vendor_leaves_the_others_and_the_network() {
    let Some(docker) = engine_or_skip().await else {
        return;
    };
    let project = Project::new(docker, "partial");
    let (a, b) = (redis("first"), redis("second"));
    project
        .up(&[a.clone(), b.clone()], events().0)
        .await
        .unwrap();

    project
        .down(std::slice::from_ref(&a.name), false)
        .await
        .unwrap();

    let rows = project.status().await.unwrap();
    assert_eq!(
        rows.iter().map(|r| r.service.as_str()).collect::<Vec<_>>(),
        ["second"]
    );
    let containers = project.project_containers().await.unwrap();
    assert_eq!(containers.len(), 1);
    assert_eq!(containers[0].vendor.as_deref(), Some("second"));
    assert_eq!(containers[0].state, "running");
    project
        .docker()
        .api()
        .inspect_network(&network_name(&project.name), None)
        .await
        .expect("the network stays while a vendor uses it");
    // `second` reaches nothing by name any more, but still answers on its own port.
    assert_eq!(redis_say(b.ports[0].host, &["PING"]), ["+PONG"]);
}
