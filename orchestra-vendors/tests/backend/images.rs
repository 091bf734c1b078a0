//! `docker.image`: a Go service's static binary mounted into that image, a plain command
//! run in it, and a clear error for a service with no image to run in.

use orchestra_core::spec::{CommandSpec, ServiceKind};
use orchestra_core::{ProcessEnd, ReplicaId, ServiceName, Signal};
use orchestra_supervisor::Supervisor;

use crate::fleet::{Fleet, PATIENCE, answers, log_contains};
use crate::support::{self, engine_or_skip};

#[tokio::test]
async fn docker_image_runs_the_command_or_the_mounted_static_binary_in_that_image() {
    let Some(docker) = engine_or_skip().await else {
        return;
    };
    let mut fleet = Fleet::new(docker, "image");
    // A Go service in an image with a shell: its static binary is mounted in.
    fleet.go_service("web", "http", &[]);
    let web = ServiceName::new("web").unwrap();
    let service = fleet.project.services.get_mut(&web).unwrap();
    service.docker.image = Some(support::REDIS_IMAGE.into());
    let bin = service.binary.clone().unwrap().display().to_string();
    service.run = CommandSpec::Shell(format!("echo in an image; exec {bin}"));
    // A plain command in the same image.
    let mut worker = service.clone();
    worker.name = ServiceName::new("worker").unwrap();
    worker.kind = ServiceKind::Command;
    worker.binary = None;
    worker.port = None;
    worker.run = CommandSpec::Shell(
        "echo worker $ORCHESTRA_REPLICA sees $CACHE_HOST:$CACHE_PORT in $PWD; exec sleep 1000"
            .into(),
    );
    let worker_dir = worker.dir.display().to_string();
    fleet
        .project
        .services
        .insert(worker.name.clone(), worker.clone());
    // And one that has no image to run in.
    let mut script = worker.clone();
    script.name = ServiceName::new("script").unwrap();
    script.docker.image = None;
    fleet.project.services.insert(script.name.clone(), script);

    let backend = fleet.backend();
    let (running, port) = fleet.spawn(&backend, "web").await;
    assert!(answers(port, "/").await.starts_with("hello from web.0"));
    let log = fleet.log_path(&ReplicaId::new(web, 0));
    log_contains(&log, "in an image").await;

    let spec = worker.replica(0);
    let log = orchestra_core::paths::open_append(&fleet.log_path(&spec.id)).unwrap();
    let worker_run = backend.spawn(&spec, log).await.unwrap();
    log_contains(
        &fleet.log_path(&spec.id),
        &format!("worker 0 sees cache:6379 in {worker_dir}"),
    )
    .await;
    worker_run.signal(Signal::TERM).await.unwrap();
    let end = tokio::time::timeout(PATIENCE, worker_run.wait())
        .await
        .unwrap();
    assert_eq!(end, ProcessEnd::Signalled(15));

    let spec = fleet.project.services[&ServiceName::new("script").unwrap()].replica(0);
    let log = orchestra_core::paths::open_append(&fleet.log_path(&spec.id)).unwrap();
    let error = backend.spawn(&spec, log).await.unwrap_err();
    let text = support::chain(&error);
    assert!(text.contains("cannot spawn script.0"), "{text}");
    assert!(text.contains("is not a Go service"), "{text}");
    assert!(text.contains("docker: { image:"), "{text}");
    assert!(text.contains("service.yml"), "{text}");

    running.signal(Signal::TERM).await.unwrap();
    tokio::time::timeout(PATIENCE, running.wait())
        .await
        .unwrap();
}
