//! The fixture every test here runs in: a project of Go fixture services and a Redis vendor,
//! removed with all it made when dropped, and the waits on what its replicas answer and log.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bollard::query_parameters::{
    ListImagesOptionsBuilder, RemoveContainerOptionsBuilder, RemoveImageOptionsBuilder,
};
use orchestra_core::spec::{CommandSpec, Dependency, Env, ProjectSpec, ServiceKind, ServiceSpec};
use orchestra_core::{ReplicaId, ServiceName, StateDir};
use orchestra_supervisor::{RunningReplica, Supervisor};
use orchestra_vendors::backend::replica_container_name;
use orchestra_vendors::{Docker, DockerSupervisor, LABEL_PROJECT, network_name};

use crate::support::{free_port, redis, unique_project, wait_until, workspace_root};

pub const PATIENCE: Duration = Duration::from_secs(60);

/// A project of Go fixture services (and a `cache` Redis vendor, for its address), whose
/// containers, network and images go when it is dropped.
pub struct Fleet {
    pub docker: Docker,
    pub project: ProjectSpec,
    _dir: tempfile::TempDir,
}

impl Fleet {
    pub fn new(docker: Docker, test: &str) -> Self {
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

    pub fn state(&self) -> StateDir {
        StateDir::at(&self.project.state_dir)
    }

    /// Adds Go service `name` from the sources of fixture `fixture`, on a free port.
    pub fn go_service(&mut self, name: &str, fixture: &str, env: &[(&str, &str)]) -> &ServiceSpec {
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

    pub fn backend(&self) -> DockerSupervisor {
        DockerSupervisor::new(self.docker.clone(), self.project.clone())
    }

    pub fn log_path(&self, id: &ReplicaId) -> PathBuf {
        self.state().replica_log(id)
    }

    pub async fn spawn(
        &self,
        backend: &DockerSupervisor,
        service: &str,
    ) -> (Arc<dyn RunningReplica>, u16) {
        let spec = self.project.services[&ServiceName::new(service).unwrap()].replica(0);
        let log = orchestra_core::paths::open_append(&self.log_path(&spec.id)).unwrap();
        let running = backend.spawn(&spec, log).await.unwrap();
        (running, spec.port.unwrap())
    }

    pub fn container(&self, service: &str) -> String {
        let id = ReplicaId::new(ServiceName::new(service).unwrap(), 0);
        replica_container_name(&self.project.name, &id)
    }

    pub async fn exists(&self, container: &str) -> bool {
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
pub fn http_get(port: u16, path: &str) -> Option<String> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let (head, body) = answer.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.").then(|| body.to_owned())
}

pub async fn answers(port: u16, path: &str) -> String {
    wait_until(
        &format!("port {port} to answer {path}"),
        PATIENCE,
        || async { http_get(port, path) },
    )
    .await
}

pub async fn log_contains(path: &PathBuf, needle: &str) {
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
