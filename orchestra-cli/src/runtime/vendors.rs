//! The runtime's side of vendors: bring containers up before the services that need them,
//! stream each container's output into `.orchestra/logs/vendor.<name>.log`, take them down.
//!
//! Docker is touched only when the project has vendors: a fleet without any never connects.

use std::collections::{BTreeMap, BTreeSet};

use orchestra_core::protocol::{Phase, Progress};
use orchestra_core::spec::{Dependency, ProjectSpec};
use orchestra_core::{ReplicaStatus, ServiceName, StateDir, VendorName};
use orchestra_vendors::{TakenDown, Vendors};
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinHandle;

use super::RuntimeError;

/// Vendor containers as the runtime sees them.
#[derive(Default)]
pub struct VendorRuntime {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    vendors: Option<Vendors>,
    log_tasks: BTreeMap<VendorName, JoinHandle<()>>,
}

/// The vendors `services` need, directly or through the services they depend on; every
/// vendor of the project for a bare start (no service named). Naming every service is not
/// a bare start: a vendor no service depends on stays down.
pub fn vendors_needed(project: &ProjectSpec, services: &[ServiceName]) -> Vec<VendorName> {
    if services.is_empty() {
        return project.vendors.keys().cloned().collect();
    }
    let mut seen = BTreeSet::new();
    let mut vendors = BTreeSet::new();
    let mut stack: Vec<ServiceName> = services.to_vec();
    while let Some(name) = stack.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let Some(service) = project.services.get(&name) else {
            continue;
        };
        for dep in &service.depends_on {
            match dep {
                Dependency::Service(s) => stack.push(s.clone()),
                Dependency::Vendor(v) => {
                    vendors.insert(v.clone());
                }
            }
        }
    }
    vendors.into_iter().collect()
}

impl VendorRuntime {
    /// Brings `names` up (all when empty; idempotent), waits for their readiness, and
    /// makes sure their output is being streamed to their log files.
    pub async fn up(
        &self,
        project: &ProjectSpec,
        names: &[VendorName],
        events: mpsc::UnboundedSender<Progress>,
    ) -> Result<(), RuntimeError> {
        let specs: Vec<_> = project
            .vendors
            .values()
            .filter(|v| names.is_empty() || names.contains(&v.name))
            .cloned()
            .collect();
        if specs.is_empty() {
            return Ok(());
        }
        let mut inner = self.inner.lock().await;
        let vendors = inner.connect(project).await?;
        let result = vendors.up(&specs, events).await;
        let state = StateDir::at(&project.state_dir);
        // Stream the output of every container that came up, even when another failed.
        for spec in &specs {
            let running = inner
                .log_tasks
                .get(&spec.name)
                .is_some_and(|task| !task.is_finished());
            if running {
                continue;
            }
            let path = state.vendor_log(&spec.name);
            if let Ok(task) = vendors.logs_to_file(&spec.name, &path).await {
                inner.log_tasks.insert(spec.name.clone(), task);
            }
        }
        result
            .map(drop)
            .map_err(|e| RuntimeError::Vendor(Box::new(e)))
    }

    /// Stops and removes `names` (all when empty); named volumes go only with `volumes`.
    pub async fn down(
        &self,
        project: &ProjectSpec,
        names: &[VendorName],
        volumes: bool,
    ) -> Result<TakenDown, RuntimeError> {
        if project.vendors.is_empty() {
            return Ok(TakenDown::default());
        }
        let mut inner = self.inner.lock().await;
        let never_up = inner.vendors.is_none();
        let vendors = match inner.connect(project).await {
            Ok(vendors) => vendors,
            // A start that named only services needing no vendor never reached Docker, and
            // an engine nobody can reach holds nothing to take down: the stop goes on.
            Err(e) if never_up => {
                tracing::info!(error = %crate::error::error_chain(&e), "no vendor to take down");
                return Ok(TakenDown::default());
            }
            Err(e) => return Err(e),
        };
        let removed = vendors
            .down(names, volumes)
            .await
            .map_err(|e| RuntimeError::Vendor(Box::new(e)))?;
        inner
            .log_tasks
            .retain(|name, _| !(names.is_empty() || names.contains(name)));
        Ok(removed)
    }

    /// The vendors' rows for `ps`, when this daemon has dealt with vendors.
    pub async fn status(&self) -> Vec<ReplicaStatus> {
        let inner = self.inner.lock().await;
        match &inner.vendors {
            Some(vendors) => vendors.status().await.unwrap_or_default(),
            None => Vec::new(),
        }
    }

    /// Whether no vendor output is being streamed any more.
    pub async fn is_idle(&self) -> bool {
        let inner = self.inner.lock().await;
        inner.log_tasks.values().all(JoinHandle::is_finished)
    }
}

impl Inner {
    async fn connect(&mut self, project: &ProjectSpec) -> Result<Vendors, RuntimeError> {
        if let Some(v) = &self.vendors {
            return Ok(v.clone());
        }
        let docker = orchestra_vendors::connect()
            .await
            .map_err(|e| RuntimeError::Vendor(Box::new(e)))?;
        let vendors = Vendors::new(docker, project.name.clone());
        self.vendors = Some(vendors.clone());
        Ok(vendors)
    }
}

/// The progress lines of vendors taken down: `■ redis stopped (vendor, volumes kept)`
/// for each, then `■ network orchestra-shop removed` when the network went too.
pub fn taken_down(down: &TakenDown, volumes_removed: bool) -> Vec<Progress> {
    let vendors = down.vendors.iter().map(|vendor| Progress {
        unit: vendor.clone(),
        replica: None,
        phase: Phase::Stopped,
        message: Some(if volumes_removed {
            "vendor, volumes removed".into()
        } else {
            "vendor, volumes kept".into()
        }),
    });
    let network = down
        .network
        .iter()
        .map(|network| removed(format!("network {network}")));
    vendors.chain(network).collect()
}

/// The progress line of something the fleet had made, removed: `■ network orchestra-shop
/// removed`, `■ image orchestra-shop/web:… removed`.
pub fn removed(what: String) -> Progress {
    Progress {
        unit: what,
        replica: None,
        phase: Phase::Removed,
        message: None,
    }
}

#[cfg(test)]
mod tests {
    use orchestra_config::{Project, Section};

    use super::*;

    /// cache and db are vendors; api uses db, web uses api, worker uses nothing.
    fn project() -> ProjectSpec {
        let dir = tempfile::tempdir().expect("tempdir");
        let write = |rel: &str, text: &str| {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        };
        write(
            "orchestra.yml",
            "vendors:\n  cache: { image: redis:7 }\n  db: { image: postgres:16 }\n",
        );
        write("api/service.yml", "run: ./api\ndepends_on: [db]\n");
        write("web/service.yml", "run: ./web\ndepends_on: [api]\n");
        write("worker/service.yml", "run: ./worker\n");
        let project = Project::load(&dir.path().join("orchestra.yml")).expect("loads");
        project.resolve(Section::Start).expect("resolves")
    }

    fn needed(project: &ProjectSpec, services: &[&str]) -> Vec<String> {
        let services: Vec<ServiceName> = services
            .iter()
            .map(|s| ServiceName::new(*s).expect("a name"))
            .collect();
        vendors_needed(project, &services)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn named_services_bring_only_the_vendors_they_reach() {
        let p = project();
        assert_eq!(needed(&p, &[]), ["cache", "db"], "a bare start");
        assert_eq!(needed(&p, &["web"]), ["db"], "through api");
        assert!(needed(&p, &["worker"]).is_empty());
        assert_eq!(
            needed(&p, &["api", "web", "worker"]),
            ["db"],
            "naming every service is not a bare start"
        );
    }
}
