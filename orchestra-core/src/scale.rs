//! Replica counts: the one limit on how many replicas a service may run, and the port plan
//! that every change of counts must pass before anything starts.
//!
//! Replica n of a service with a `port` listens on `port + n`, so a count is also a claim
//! on ports. The configuration checks the counts its files give (naming file and line);
//! [`check_port_plan`] checks the counts given at run time — `start --scale`,
//! `orchestra scale`, a restart that keeps a runtime scale — against the whole fleet, and
//! names both claimants of a port:
//!
//! ```
//! use std::collections::BTreeMap;
//! use orchestra_core::scale::check_port_plan;
//! use orchestra_core::spec::{CommandSpec, ProjectSpec, ServiceSpec};
//! use orchestra_core::{ProjectName, ServiceName};
//!
//! let service = |name: &str, port| ServiceSpec {
//!     port: Some(port),
//!     ..ServiceSpec::command(ServiceName::new(name).unwrap(), "/srv", CommandSpec::Shell("./run".into()))
//! };
//! let mut shop = ProjectSpec::empty(ProjectName::new("shop")?, "/srv");
//! for s in [service("users", 8081), service("orders", 8082)] {
//!     shop.services.insert(s.name.clone(), s);
//! }
//! let users = ServiceName::new("users")?;
//! let refused = check_port_plan(&shop, &BTreeMap::from([(users, 3)])).unwrap_err();
//! assert_eq!(refused.to_string(), "users.1 would take port 8082, which orders.0 uses");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::name::{ReplicaId, ServiceName, VendorName};
use crate::spec::ProjectSpec;

/// The most replicas one service may run, wherever its count is given (service.yml,
/// `--scale`, `orchestra scale`): beyond it a typo would fork processes until the machine
/// gives out.
pub const MAX_REPLICAS: u32 = 1000;

/// A replica count over [`MAX_REPLICAS`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{count} replicas is over the limit of {MAX_REPLICAS} per service")]
pub struct TooManyReplicas {
    /// The count asked for.
    pub count: u64,
}

/// `count` as a replica count, when it is within [`MAX_REPLICAS`].
///
/// ```
/// use orchestra_core::scale::{replica_count, MAX_REPLICAS};
///
/// assert_eq!(replica_count(3), Ok(3));
/// assert_eq!(
///     replica_count(100_000_000).unwrap_err().to_string(),
///     "100000000 replicas is over the limit of 1000 per service"
/// );
/// assert!(replica_count(u64::from(MAX_REPLICAS)).is_ok());
/// ```
pub fn replica_count(count: u64) -> Result<u32, TooManyReplicas> {
    u32::try_from(count)
        .ok()
        .filter(|&n| n <= MAX_REPLICAS)
        .ok_or(TooManyReplicas { count })
}

/// What holds a port in the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Claimant {
    /// A replica of a service.
    Replica(ReplicaId),
    /// A vendor publishing the port on the host.
    Vendor(VendorName),
}

/// Why a plan of replica counts cannot run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanProblem {
    /// A replica's port is another claimant's.
    Taken {
        /// The replica that would listen there.
        replica: ReplicaId,
        /// The port.
        port: u16,
        /// Who has it already.
        holder: Claimant,
    },
    /// A replica's port would be past 65535.
    Beyond {
        /// The replica.
        replica: ReplicaId,
        /// The port it would need.
        port: u32,
    },
    /// A count over the limit.
    TooMany {
        /// The service.
        service: ServiceName,
        /// The count and the limit.
        error: TooManyReplicas,
    },
}

impl fmt::Display for PlanProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Taken {
                replica,
                port,
                holder: Claimant::Replica(holder),
            } => write!(f, "{replica} would take port {port}, which {holder} uses"),
            Self::Taken {
                replica,
                port,
                holder: Claimant::Vendor(vendor),
            } => write!(
                f,
                "{replica} would take port {port}, which vendor `{vendor}` publishes"
            ),
            Self::Beyond { replica, port } => {
                write!(f, "{replica} would need port {port}, beyond 65535")
            }
            Self::TooMany { service, error } => write!(f, "{service}: {error}"),
        }
    }
}

/// A plan of replica counts refused before anything started: one problem per service at
/// most, the first it meets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub struct PlanRefused {
    /// What is wrong, by service.
    pub problems: Vec<PlanProblem>,
}

impl fmt::Display for PlanRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl PlanRefused {
    /// How to get out of it.
    pub fn help(&self) -> String {
        if self
            .problems
            .iter()
            .all(|p| matches!(p, PlanProblem::TooMany { .. }))
        {
            return format!("ask for at most {MAX_REPLICAS} replicas");
        }
        "replica n of a service listens on `port + n`: ask for fewer replicas, or give the \
         services ports further apart in their service.yml"
            .into()
    }
}

/// Checks the ports of the whole fleet with the counts of `overrides` (every other service
/// at its file's `scale`): no replica may need a port that another replica or a vendor
/// claims, or a port past 65535, and no count may be over [`MAX_REPLICAS`].
///
/// The services in `overrides` are checked last, so a problem names one of them as the
/// newcomer and leaves the claimant that was there first as it is. Names the project does
/// not have are ignored.
pub fn check_port_plan(
    project: &ProjectSpec,
    overrides: &BTreeMap<ServiceName, u32>,
) -> Result<(), PlanRefused> {
    let mut claims: HashMap<u16, Claimant> = HashMap::new();
    for vendor in project.vendors.values() {
        for mapping in &vendor.ports {
            claims
                .entry(mapping.host)
                .or_insert_with(|| Claimant::Vendor(vendor.name.clone()));
        }
    }
    let (changed, unchanged): (Vec<_>, Vec<_>) = project
        .services
        .values()
        .partition(|s| overrides.contains_key(&s.name));
    let mut problems = Vec::new();
    for service in unchanged.into_iter().chain(changed) {
        let count = overrides
            .get(&service.name)
            .copied()
            .unwrap_or(service.scale);
        if let Err(error) = replica_count(count.into()) {
            problems.push(PlanProblem::TooMany {
                service: service.name.clone(),
                error,
            });
            continue;
        }
        let Some(base) = service.port else { continue };
        for index in 0..count {
            let replica = ReplicaId::new(service.name.clone(), index);
            let wanted = u32::from(base) + index;
            let Ok(port) = u16::try_from(wanted) else {
                problems.push(PlanProblem::Beyond {
                    replica,
                    port: wanted,
                });
                break;
            };
            if let Some(holder) = claims.get(&port) {
                problems.push(PlanProblem::Taken {
                    replica,
                    port,
                    holder: holder.clone(),
                });
                break;
            }
            claims.insert(port, Claimant::Replica(replica));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(PlanRefused { problems })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::ProjectName;
    use crate::spec::{CommandSpec, PortMapping, ServiceSpec, VendorSpec};

    fn name(s: &str) -> ServiceName {
        ServiceName::new(s).expect("a valid name")
    }

    fn shop() -> ProjectSpec {
        let mut p = ProjectSpec::empty(ProjectName::new("shop").expect("a name"), "/srv");
        for (n, port, scale) in [("users", 8081, 1), ("orders", 8082, 1), ("worker", 0, 2)] {
            let s = ServiceSpec {
                port: (port > 0).then_some(port),
                scale,
                ..ServiceSpec::command(name(n), "/srv", CommandSpec::Shell("x".into()))
            };
            p.services.insert(s.name.clone(), s);
        }
        let redis = VendorName::new("redis").expect("a name");
        p.vendors.insert(
            redis.clone(),
            VendorSpec {
                name: redis,
                image: "redis:7".into(),
                command: None,
                entrypoint: None,
                ports: vec![PortMapping {
                    host: 6379,
                    container: 6379,
                }],
                env: crate::spec::Env::new(),
                volumes: Vec::new(),
                ready: None,
                ready_timeout: std::time::Duration::from_secs(60),
                restart: crate::policy::RestartPolicy::OnFailure,
                stop_timeout: std::time::Duration::from_secs(10),
            },
        );
        p
    }

    fn refused(p: &ProjectSpec, overrides: &[(&str, u32)]) -> String {
        let overrides = overrides.iter().map(|(n, c)| (name(n), *c)).collect();
        check_port_plan(p, &overrides)
            .expect_err("the plan is refused")
            .to_string()
    }

    #[test]
    fn the_file_counts_and_counts_that_fit_pass() {
        let p = shop();
        assert_eq!(check_port_plan(&p, &BTreeMap::new()), Ok(()));
        let fits = BTreeMap::from([(name("orders"), 5), (name("worker"), 1000)]);
        assert_eq!(check_port_plan(&p, &fits), Ok(()));
        // A service scaled to nothing claims nothing.
        let gone = BTreeMap::from([(name("orders"), 0), (name("users"), 2)]);
        assert_eq!(check_port_plan(&p, &gone), Ok(()));
    }

    #[test]
    fn the_newcomer_is_named_with_the_replica_that_was_there() {
        let p = shop();
        assert_eq!(
            refused(&p, &[("users", 3)]),
            "users.1 would take port 8082, which orders.0 uses"
        );
        // Both changed: the one checked later is the newcomer.
        assert_eq!(
            refused(&p, &[("orders", 2), ("users", 2)]),
            "users.1 would take port 8082, which orders.0 uses"
        );
    }

    #[test]
    fn vendors_ports_the_port_range_and_the_limit_are_checked() {
        let mut p = shop();
        p.services.get_mut(&name("orders")).expect("orders").port = Some(6378);
        assert_eq!(
            refused(&p, &[("orders", 2)]),
            "orders.1 would take port 6379, which vendor `redis` publishes"
        );
        p.services.get_mut(&name("orders")).expect("orders").port = Some(65535);
        assert_eq!(
            refused(&p, &[("orders", 2)]),
            "orders.1 would need port 65536, beyond 65535"
        );
        let many = PlanRefused {
            problems: vec![PlanProblem::TooMany {
                service: name("worker"),
                error: TooManyReplicas { count: 5000 },
            }],
        };
        let overrides = BTreeMap::from([(name("worker"), 5000)]);
        assert_eq!(check_port_plan(&p, &overrides), Err(many.clone()));
        assert_eq!(
            many.to_string(),
            "worker: 5000 replicas is over the limit of 1000 per service"
        );
        assert_eq!(many.help(), "ask for at most 1000 replicas");
    }
}
