//! What a vendor's container looks like: the Engine API create request derived from its
//! [`VendorSpec`], and the hash that tells whether an existing container still matches it.

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, EndpointSettings, HostConfig, Mount, MountType, NetworkingConfig,
    PortBinding, RestartPolicy as EngineRestart, RestartPolicyNameEnum,
};
use orchestra_core::ProjectName;
use orchestra_core::policy::RestartPolicy;
use orchestra_core::spec::{VendorSpec, VolumeSource};

use crate::names::{LABEL_CONFIG_HASH, LABEL_PROJECT, LABEL_VENDOR, network_name, volume_name};

/// A stable hash of everything in the spec that shapes the container. Readiness settings are
/// left out on purpose: changing a probe must not throw away a database's container.
///
/// FNV-1a over the spec's JSON: the JSON is deterministic (maps are ordered) and FNV is
/// fixed forever, unlike std's hasher, so a hash written by one build matches the next.
pub fn config_hash(spec: &VendorSpec) -> String {
    let mut shape = spec.clone();
    shape.ready = None;
    shape.ready_timeout = std::time::Duration::ZERO;
    let json = serde_json::to_vec(&shape).unwrap_or_default();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in json {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// The port key the Engine API uses: `6379/tcp`.
pub(crate) fn port_key(container_port: u16) -> String {
    format!("{container_port}/tcp")
}

/// The labels every vendor container carries.
pub(crate) fn labels(project: &ProjectName, spec: &VendorSpec) -> HashMap<String, String> {
    HashMap::from([
        (LABEL_PROJECT.to_owned(), project.to_string()),
        (LABEL_VENDOR.to_owned(), spec.name.to_string()),
        (LABEL_CONFIG_HASH.to_owned(), config_hash(spec)),
    ])
}

fn restart_policy(policy: RestartPolicy) -> EngineRestart {
    let name = match policy {
        RestartPolicy::Always => RestartPolicyNameEnum::ALWAYS,
        RestartPolicy::OnFailure => RestartPolicyNameEnum::ON_FAILURE,
        RestartPolicy::Never => RestartPolicyNameEnum::NO,
    };
    EngineRestart {
        name: Some(name),
        maximum_retry_count: None,
    }
}

/// The create request for a vendor's container on the project network.
pub(crate) fn create_body(project: &ProjectName, spec: &VendorSpec) -> ContainerCreateBody {
    let network = network_name(project);
    // Published on loopback only: a developer's database should not be open to the LAN.
    let port_bindings = spec
        .ports
        .iter()
        .map(|p| {
            let binding = PortBinding {
                host_ip: Some("127.0.0.1".into()),
                host_port: Some(p.host.to_string()),
            };
            (port_key(p.container), Some(vec![binding]))
        })
        .collect::<HashMap<_, _>>();
    let mounts = spec
        .volumes
        .iter()
        .map(|v| {
            let (typ, source) = match &v.source {
                VolumeSource::Named(name) => (MountType::VOLUME, volume_name(project, name)),
                VolumeSource::Bind(path) => (MountType::BIND, path.display().to_string()),
            };
            Mount {
                target: Some(v.target.clone()),
                source: Some(source),
                typ: Some(typ),
                read_only: Some(v.read_only),
                ..Mount::default()
            }
        })
        .collect();
    ContainerCreateBody {
        image: Some(spec.image.clone()),
        hostname: Some(spec.name.to_string()),
        env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        cmd: spec
            .command
            .as_ref()
            .map(orchestra_core::spec::CommandSpec::argv),
        entrypoint: spec
            .entrypoint
            .as_ref()
            .map(orchestra_core::spec::CommandSpec::argv),
        exposed_ports: Some(spec.ports.iter().map(|p| port_key(p.container)).collect()),
        labels: Some(labels(project, spec)),
        // Kept in the container so `down` stops it with its own grace, knowing only its name.
        stop_timeout: Some(whole_seconds_up(spec.stop_timeout)),
        host_config: Some(HostConfig {
            port_bindings: Some(port_bindings),
            restart_policy: Some(restart_policy(spec.restart)),
            mounts: Some(mounts),
            network_mode: Some(network.clone()),
            ..HostConfig::default()
        }),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                network,
                EndpointSettings {
                    aliases: Some(vec![spec.name.to_string()]),
                    ..EndpointSettings::default()
                },
            )])),
        }),
        ..ContainerCreateBody::default()
    }
}

/// The engine counts stop timeouts in whole seconds; round up so a grace is never cut short.
fn whole_seconds_up(d: std::time::Duration) -> i64 {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    i64::try_from(secs).unwrap_or(i64::MAX)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::Duration;

    use orchestra_core::VendorName;
    use orchestra_core::spec::{CommandSpec, Env, PortMapping, VendorReady, VolumeMount};

    use super::*;

    pub(crate) fn redis() -> VendorSpec {
        VendorSpec {
            name: VendorName::new("redis").unwrap(),
            image: "redis:7".into(),
            command: None,
            entrypoint: None,
            ports: vec![PortMapping {
                host: 16379,
                container: 6379,
            }],
            env: Env::from([("A".into(), "1".into())]),
            volumes: vec![VolumeMount {
                source: VolumeSource::Named("data".into()),
                target: "/data".into(),
                read_only: false,
            }],
            ready: Some(VendorReady::Tcp(6379)),
            ready_timeout: Duration::from_secs(30),
            restart: RestartPolicy::OnFailure,
            stop_timeout: Duration::from_millis(1500),
        }
    }

    #[test]
    fn hash_is_stable_changes_with_the_container_and_ignores_readiness() {
        let a = redis();
        assert_eq!(config_hash(&a), config_hash(&a.clone()));
        assert_eq!(config_hash(&a).len(), 16);
        let mut env = a.clone();
        env.env.insert("B".into(), "2".into());
        assert_ne!(config_hash(&a), config_hash(&env));
        let mut probe = a.clone();
        probe.ready = Some(VendorReady::Exec(CommandSpec::Shell(
            "redis-cli ping".into(),
        )));
        probe.ready_timeout = Duration::from_secs(5);
        assert_eq!(config_hash(&a), config_hash(&probe));
    }

    #[test]
    fn create_body_publishes_on_loopback_labels_and_joins_the_network() {
        let project = ProjectName::new("shop").unwrap();
        let body = create_body(&project, &redis());
        let host = body.host_config.as_ref().unwrap();
        let binding = &host.port_bindings.as_ref().unwrap()["6379/tcp"]
            .as_ref()
            .unwrap()[0];
        assert_eq!(binding.host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(binding.host_port.as_deref(), Some("16379"));
        assert_eq!(
            host.restart_policy.as_ref().unwrap().name,
            Some(RestartPolicyNameEnum::ON_FAILURE)
        );
        let mount = &host.mounts.as_ref().unwrap()[0];
        assert_eq!(mount.source.as_deref(), Some("orchestra-shop-data"));
        assert_eq!(mount.typ, Some(MountType::VOLUME));
        assert_eq!(host.network_mode.as_deref(), Some("orchestra-shop"));
        let labels = body.labels.as_ref().unwrap();
        assert_eq!(labels[LABEL_PROJECT], "shop");
        assert_eq!(labels[LABEL_VENDOR], "redis");
        assert_eq!(labels[LABEL_CONFIG_HASH], config_hash(&redis()));
        let aliases = &body
            .networking_config
            .as_ref()
            .unwrap()
            .endpoints_config
            .as_ref()
            .unwrap()["orchestra-shop"]
            .aliases;
        assert_eq!(aliases.as_deref(), Some(&["redis".to_owned()][..]));
        assert_eq!(body.env.as_deref(), Some(&["A=1".to_owned()][..]));
        assert_eq!(body.stop_timeout, Some(2));
        assert_eq!(body.cmd, None);
    }
}
