//! What a replica's container looks like: its name, labels, environment, published port and
//! the create request the engine gets.

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, EndpointSettings, HostConfig, NetworkingConfig, PortBinding,
};
use orchestra_core::address::Addressing;
use orchestra_core::spec::{Dependency, Env, ProjectSpec, ReplicaSpec};
use orchestra_supervisor::unix::INSTANCE_ENV;

use super::image::RunPlan;
use crate::container::port_key;
use crate::names::{LABEL_PROJECT, network_name};

/// Label naming the service a replica container runs.
pub const LABEL_SERVICE: &str = "orchestra.service";
/// Label holding the replica's index.
pub const LABEL_REPLICA: &str = "orchestra.replica";
/// Label holding the hash of the replica's spec (as in its replica record).
pub const LABEL_SPEC_HASH: &str = "orchestra.spec-hash";
/// Label holding the run's `ORCHESTRA_INSTANCE` token, by which a new daemon adopts it.
pub const LABEL_INSTANCE: &str = "orchestra.instance";

pub use orchestra_core::address::replica_container_name;

/// The replica's environment inside a container: its own, with the address of each service
/// and vendor its service depends on as seen from the project network (`REDIS_HOST=redis`,
/// `USERS_HOST=orchestra-shop-users-0`), and its instance token. Resolution under
/// [`Addressing::Containers`] already wrote them; they are set again here so that a spec
/// resolved for the host cannot hand a container an address it cannot reach. Orchestra's own
/// environment is not passed: the host's PATH or HOME mean nothing inside an image.
pub(crate) fn container_env(project: &ProjectSpec, replica: &ReplicaSpec, instance: &str) -> Env {
    let mut env = replica.env.clone();
    let depends_on = project
        .services
        .get(&replica.id.service)
        .map(|s| s.depends_on.as_slice())
        .unwrap_or_default();
    let addressing = Addressing::Containers;
    for dep in depends_on {
        match dep {
            Dependency::Vendor(name) => {
                if let Some(vendor) = project.vendors.get(name) {
                    env.extend(addressing.vendor(vendor));
                }
            }
            Dependency::Service(name) => {
                if let Some(service) = project.services.get(name) {
                    env.extend(addressing.service(&project.name, name, service.port));
                }
            }
        }
    }
    env.insert(INSTANCE_ENV.to_owned(), instance.to_owned());
    env
}

/// The create request of a replica's container.
pub(crate) fn create_body(
    project: &ProjectSpec,
    replica: &ReplicaSpec,
    plan: &RunPlan,
    instance: &str,
) -> ContainerCreateBody {
    let network = network_name(&project.name);
    let labels = HashMap::from([
        (LABEL_PROJECT.to_owned(), project.name.to_string()),
        (LABEL_SERVICE.to_owned(), replica.id.service.to_string()),
        (LABEL_REPLICA.to_owned(), replica.id.index.to_string()),
        (
            LABEL_SPEC_HASH.to_owned(),
            orchestra_supervisor::spec_hash(replica),
        ),
        (LABEL_INSTANCE.to_owned(), instance.to_owned()),
    ]);
    // PORT+n on the host is PORT+n in the container, so `PORT` and the ready probe mean the
    // same port on both sides. Loopback only, as for vendors.
    let port_bindings = replica.port.map(|port| {
        HashMap::from([(
            port_key(port),
            Some(vec![PortBinding {
                host_ip: Some("127.0.0.1".into()),
                host_port: Some(port.to_string()),
            }]),
        )])
    });
    ContainerCreateBody {
        image: Some(plan.image.clone()),
        entrypoint: Some(plan.argv.clone()),
        cmd: None,
        working_dir: plan.working_dir.clone(),
        hostname: Some(replica.id.service.to_string()),
        env: Some(
            container_env(project, replica, instance)
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
        ),
        exposed_ports: replica.port.map(|p| vec![port_key(p)]),
        labels: Some(labels),
        stop_signal: Some(replica.stop_signal.name().to_owned()),
        stop_timeout: Some(i64::try_from(replica.stop_timeout.as_secs()).unwrap_or(i64::MAX)),
        host_config: Some(HostConfig {
            port_bindings,
            mounts: Some(plan.mounts.clone()),
            network_mode: Some(network.clone()),
            // The engine's tiny init runs as pid 1 and forwards signals: a program that never
            // installed a SIGTERM handler would ignore it as pid 1, and its children's zombies
            // would pile up. Exit codes pass through (128 + n when a signal ended it).
            init: Some(true),
            ..HostConfig::default()
        }),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                network,
                EndpointSettings {
                    aliases: Some(vec![replica.id.service.to_string()]),
                    ..EndpointSettings::default()
                },
            )])),
        }),
        ..ContainerCreateBody::default()
    }
}
