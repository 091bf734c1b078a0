//! How one unit of the fleet reaches another: the `<NAME>_HOST`, `<NAME>_PORT` and
//! `<NAME>_ADDR` variables a service gets for each service and vendor in its `depends_on`.
//!
//! The variables are the same in every place a fleet runs, only their values differ, so one
//! service's code (`http://$USERS_ADDR`) runs unchanged on the host, under `--docker`, in
//! Docker Compose and in Kubernetes:
//!
//! | where            | a service                                   | a vendor                        |
//! |------------------|---------------------------------------------|---------------------------------|
//! | host             | `127.0.0.1`, its `port`                     | `127.0.0.1`, its first host port |
//! | `--docker`       | its replica 0's container, its `port`       | its name, its first container port |
//! | Compose, Kubernetes | its name, its `port`                     | its name, its first container port |
//!
//! Under `--docker` a service is addressed through replica 0's container rather than a shared
//! network alias because replica `n` listens on `port + n`: an alias would spread callers
//! over replicas of which only one listens on `port`. In Compose and Kubernetes every replica
//! gets the same `PORT`, so the service's name (its DNS entry) balances over all of them.
//!
//! ```
//! use orchestra_core::address::Addressing;
//! use orchestra_core::{ProjectName, ServiceName};
//!
//! let project = ProjectName::new("shop")?;
//! let users = ServiceName::new("users")?;
//! let env = Addressing::Containers.service(&project, &users, Some(8081));
//! assert_eq!(env["USERS_HOST"], "orchestra-shop-users-0");
//! assert_eq!(env["USERS_ADDR"], "orchestra-shop-users-0:8081");
//! let env = Addressing::Host.service(&project, &users, Some(8081));
//! assert_eq!(env["USERS_ADDR"], "127.0.0.1:8081");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::name::{ProjectName, ReplicaId, ServiceName};
use crate::spec::{Env, VendorSpec};

/// Where the fleet runs, which decides the address of each of its units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Addressing {
    /// Every replica is a process on this machine: loopback and the host ports.
    #[default]
    Host,
    /// `start --docker`: containers on the project network, reached by container name.
    Containers,
    /// An export (Compose, Kubernetes): each unit reached by its own name.
    Names,
}

impl Addressing {
    /// The variables naming `vendor` for a service that depends on it.
    pub fn vendor(self, vendor: &VendorSpec) -> Env {
        let prefix = vendor.name.env_prefix();
        let first = vendor.ports.first();
        match self {
            Self::Host => address_env(&prefix, "127.0.0.1", first.map(|p| p.host)),
            Self::Containers | Self::Names => {
                address_env(&prefix, vendor.name.as_str(), first.map(|p| p.container))
            }
        }
    }

    /// The variables naming service `name` of `project`, listening on `port`, for a service
    /// that depends on it. Without a port, only `<NAME>_HOST` is set.
    pub fn service(self, project: &ProjectName, name: &ServiceName, port: Option<u16>) -> Env {
        let prefix = name.env_prefix();
        match self {
            Self::Host => address_env(&prefix, "127.0.0.1", port),
            Self::Containers => {
                let first = ReplicaId::new(name.clone(), 0);
                address_env(&prefix, &replica_container_name(project, &first), port)
            }
            Self::Names => address_env(&prefix, name.as_str(), port),
        }
    }
}

/// The container name of a replica under `--docker`: `orchestra-<project>-<service>-<n>`.
pub fn replica_container_name(project: &ProjectName, id: &ReplicaId) -> String {
    format!("orchestra-{project}-{}-{}", id.service, id.index)
}

/// `<PREFIX>_HOST`, and with a port `<PREFIX>_PORT` and `<PREFIX>_ADDR` (`host:port`).
fn address_env(prefix: &str, host: &str, port: Option<u16>) -> Env {
    let mut env = Env::new();
    env.insert(format!("{prefix}_HOST"), host.to_owned());
    if let Some(port) = port {
        env.insert(format!("{prefix}_PORT"), port.to_string());
        env.insert(format!("{prefix}_ADDR"), format!("{host}:{port}"));
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use crate::name::VendorName;
    use crate::policy::RestartPolicy;
    use crate::spec::PortMapping;

    fn redis() -> VendorSpec {
        VendorSpec {
            name: VendorName::new("redis-cache").unwrap(),
            image: "redis:7".into(),
            command: None,
            entrypoint: None,
            ports: vec![PortMapping {
                host: 38111,
                container: 6379,
            }],
            env: Env::new(),
            volumes: Vec::new(),
            ready: None,
            ready_timeout: Duration::from_secs(60),
            restart: RestartPolicy::OnFailure,
            stop_timeout: Duration::from_secs(10),
        }
    }

    #[test]
    fn vendors_are_reached_by_host_port_or_by_name() {
        let host = Addressing::Host.vendor(&redis());
        assert_eq!(host["REDIS_CACHE_HOST"], "127.0.0.1");
        assert_eq!(host["REDIS_CACHE_PORT"], "38111");
        assert_eq!(host["REDIS_CACHE_ADDR"], "127.0.0.1:38111");
        for addressing in [Addressing::Containers, Addressing::Names] {
            let env = addressing.vendor(&redis());
            assert_eq!(env["REDIS_CACHE_ADDR"], "redis-cache:6379");
        }
    }

    #[test]
    fn a_service_without_a_port_has_only_a_host() {
        let project = ProjectName::new("shop").unwrap();
        let worker = ServiceName::new("worker").unwrap();
        let env = Addressing::Names.service(&project, &worker, None);
        assert_eq!(env, Env::from([("WORKER_HOST".into(), "worker".into())]));
    }
}
