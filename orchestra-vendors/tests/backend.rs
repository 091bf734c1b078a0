//! The Docker backend of the supervisor on a real engine: a Go fixture run as a scratch
//! container, signalled, restarted, adopted, its output in the log file, strays found.
//! Each test uses its own project and removes its containers, network and images.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[allow(
    dead_code,
    reason = "shared with the vendor tests, which use all of it"
)]
#[path = "docker/support.rs"]
mod support;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, KillContainerOptions, ListImagesOptionsBuilder,
    RemoveContainerOptionsBuilder, RemoveImageOptionsBuilder,
};
use orchestra_core::spec::{CommandSpec, Dependency, Env, ProjectSpec, ServiceKind, ServiceSpec};
use orchestra_core::{ProcessEnd, ProcessIdentity, ReplicaId, ServiceName, Signal, StateDir};
use orchestra_supervisor::{IdentityExt, RunningReplica, Supervisor};
use orchestra_vendors::backend::{LABEL_INSTANCE, LABEL_SERVICE, replica_container_name};
use orchestra_vendors::{Docker, DockerSupervisor, LABEL_PROJECT, network_name};

use support::{engine_or_skip, free_port, redis, unique_project, wait_until, workspace_root};

const PATIENCE: Duration = Duration::from_secs(60);

/// A project of Go fixture services (and a `cache` Redis vendor, for its address), whose
/// containers, network and images go when it is dropped.
struct Fleet {
    docker: Docker,
    project: ProjectSpec,
    _dir: tempfile::TempDir,
}

impl Fleet {
    fn new(docker: Docker, test: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::at(dir.path().join(".orchestra"));
        state.create().unwrap();
        let cache = redis("cache");
        let project = ProjectSpec {
            state_dir: state.root().to_owned(),
            vendors: BTreeMap::from([(cache.name.clone(), cache)]),
            ..ProjectSpec::empty(unique_project(test), dir.path())
        };
        Self {
            docker,
            project,
            _dir: dir,
        }
    }

    fn state(&self) -> StateDir {
        StateDir::at(&self.project.state_dir)
    }

    /// Adds Go service `name` from the sources of fixture `fixture`, on a free port.
    fn go_service(&mut self, name: &str, fixture: &str, env: &[(&str, &str)]) -> &ServiceSpec {
        let name = ServiceName::new(name).unwrap();
        let binary = self.state().binary(&name);
        // Each service depends on every vendor, and so gets what configuration resolution
        // puts into such a service: the vendors' host addresses.
        let depends_on = self
            .project
            .vendors
            .keys()
            .cloned()
            .map(Dependency::Vendor)
            .collect();
        let mut service_env: Env = self
            .project
            .vendors
            .values()
            .flat_map(|v| v.address_env(false))
            .collect();
        service_env.extend(env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        let dir = workspace_root().join("tests/fixtures/go").join(fixture);
        let spec = ServiceSpec {
            kind: ServiceKind::Go,
            env: service_env,
            binary: Some(binary.clone()),
            port: Some(free_port()),
            stop_timeout: Duration::from_secs(5),
            depends_on,
            ..ServiceSpec::command(
                name.clone(),
                dir,
                CommandSpec::Exec(vec![binary.display().to_string()]),
            )
        };
        self.project.services.insert(name.clone(), spec);
        &self.project.services[&name]
    }

    fn backend(&self) -> DockerSupervisor {
        DockerSupervisor::new(self.docker.clone(), self.project.clone())
    }

    fn log_path(&self, id: &ReplicaId) -> PathBuf {
        self.state().replica_log(id)
    }

    async fn spawn(
        &self,
        backend: &DockerSupervisor,
        service: &str,
    ) -> (Arc<dyn RunningReplica>, u16) {
        let spec = self.project.services[&ServiceName::new(service).unwrap()].replica(0);
        let log = orchestra_core::paths::open_append(&self.log_path(&spec.id)).unwrap();
        let running = backend.spawn(&spec, log).await.unwrap();
        (running, spec.port.unwrap())
    }

    fn container(&self, service: &str) -> String {
        let id = ReplicaId::new(ServiceName::new(service).unwrap(), 0);
        replica_container_name(&self.project.name, &id)
    }

    async fn exists(&self, container: &str) -> bool {
        self.docker
            .api()
            .inspect_container(container, None)
            .await
            .is_ok()
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        let docker = self.docker.clone();
        let project = self.project.name.clone();
        let cleanup = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let api = docker.api();
                let filters =
                    HashMap::from([("label", vec![format!("{LABEL_PROJECT}={project}")])]);
                let options = bollard::query_parameters::ListContainersOptionsBuilder::new()
                    .all(true)
                    .filters(&filters)
                    .build();
                for c in api.list_containers(Some(options)).await.unwrap_or_default() {
                    let force = RemoveContainerOptionsBuilder::new().force(true).build();
                    let _ = api
                        .remove_container(&c.id.unwrap_or_default(), Some(force))
                        .await;
                }
                let _ = api.remove_network(&network_name(&project)).await;
                let reference = format!("orchestra-{}/*", project.as_str().to_ascii_lowercase());
                let filters = HashMap::from([("reference", vec![reference])]);
                let options = ListImagesOptionsBuilder::new().filters(&filters).build();
                for image in api.list_images(Some(options)).await.unwrap_or_default() {
                    for tag in image.repo_tags {
                        let force = RemoveImageOptionsBuilder::new().force(true).build();
                        let _ = api.remove_image(&tag, Some(force), None).await;
                    }
                }
            });
        });
        let _ = cleanup.join();
    }
}

/// `GET path` on 127.0.0.1:port; `None` while nothing answers.
fn http_get(port: u16, path: &str) -> Option<String> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let (head, body) = answer.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.").then(|| body.to_owned())
}

async fn answers(port: u16, path: &str) -> String {
    wait_until(
        &format!("port {port} to answer {path}"),
        PATIENCE,
        || async { http_get(port, path) },
    )
    .await
}

async fn log_contains(path: &PathBuf, needle: &str) {
    wait_until(
        &format!("`{needle}` in {}", path.display()),
        PATIENCE,
        || async {
            std::fs::read_to_string(path)
                .ok()
                .filter(|text| text.contains(needle))
        },
    )
    .await;
}

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
