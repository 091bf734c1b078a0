//! `orchestra export --format compose`: the fleet as one docker-compose.yml.
//!
//! The file has no `version:` key, which Compose reads as the Compose Specification (Docker
//! Compose v1.27 and later, and v2): that is the format where `depends_on` takes a
//! `condition` and `scale` a count. Every service and vendor joins one project network.
//! Ports are published on 127.0.0.1, as Orchestra publishes them. Every `$` in a value is
//! written `$$`, so that Compose's own interpolation hands the program the value unchanged.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use orchestra_core::policy::RestartPolicy;
use orchestra_core::spec::{
    CommandSpec, ProjectSpec, ServiceSpec, VendorReady, VendorSpec, VolumeSource,
};
use orchestra_vendors::backend::export::{PROBE_IN_IMAGE, probe_binary, service_image};
use serde::Serialize;

use super::{Check, Exported, Note, service_check, service_env, whole_seconds};

/// The top of a Compose file.
#[derive(Debug, Serialize)]
struct File {
    services: BTreeMap<String, Service>,
    #[serde(serialize_with = "names_as_map")]
    networks: BTreeSet<String>,
    #[serde(
        skip_serializing_if = "BTreeSet::is_empty",
        serialize_with = "names_as_map"
    )]
    volumes: BTreeSet<String>,
}

/// Networks and volumes are declared as `name: {}`: Compose's defaults for each.
fn names_as_map<S: serde::Serializer>(names: &BTreeSet<String>, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Empty {}
    s.collect_map(names.iter().map(|n| (n, Empty {})))
}

#[derive(Debug, Default, Serialize)]
struct Service {
    image: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    entrypoint: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    command: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    working_dir: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    environment: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ports: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    volumes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scale: Option<u32>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    depends_on: BTreeMap<String, Condition>,
    #[serde(skip_serializing_if = "Option::is_none")]
    healthcheck: Option<Healthcheck>,
    restart: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    stop_signal: Option<String>,
    stop_grace_period: String,
    networks: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Condition {
    condition: &'static str,
}

#[derive(Debug, Serialize)]
struct Healthcheck {
    test: Vec<String>,
    interval: String,
    timeout: String,
    retries: u32,
    start_period: String,
}

/// How a unit tells the ones that depend on it it is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Up {
    Started,
    Healthy,
    Completed,
}

/// The Compose file of `project` (resolved for [`Addressing::Names`]).
///
/// [`Addressing::Names`]: orchestra_core::address::Addressing::Names
pub fn export(project: &ProjectSpec) -> Result<Exported, yaml_serde::Error> {
    let mut notes = Vec::new();
    let network = project.name.to_string();
    let mut up = BTreeMap::new();
    let mut services = BTreeMap::new();
    let mut volumes = BTreeSet::new();
    for vendor in project.vendors.values() {
        let (service, healthy) = vendor_service(project, vendor, &network, &mut volumes);
        up.insert(vendor.name.to_string(), healthy);
        services.insert(vendor.name.to_string(), service);
    }
    for spec in project.services.values() {
        if let Some((service, how)) = fleet_service(project, spec, &network, &mut notes) {
            up.insert(spec.name.to_string(), how);
            services.insert(spec.name.to_string(), service);
        }
    }
    for spec in project.services.values() {
        let Some(service) = services.get_mut(spec.name.as_str()) else {
            continue;
        };
        for dep in &spec.depends_on {
            let name = dep.to_string();
            let Some(how) = up.get(&name) else {
                notes.push(Note::new(
                    &spec.name,
                    format!("it depends on `{name}`, which is not in the file; that dependency is left out"),
                ));
                continue;
            };
            let condition = match how {
                Up::Started => "service_started",
                Up::Healthy => "service_healthy",
                Up::Completed => "service_completed_successfully",
            };
            service.depends_on.insert(name, Condition { condition });
        }
    }
    let file = File {
        services,
        networks: BTreeSet::from([network]),
        volumes,
    };
    Ok(Exported {
        text: yaml_serde::to_string(&file)?,
        notes,
    })
}

fn fleet_service(
    project: &ProjectSpec,
    spec: &ServiceSpec,
    network: &str,
    notes: &mut Vec<Note>,
) -> Option<(Service, Up)> {
    let image = match service_image(project, spec) {
        Ok(image) => image,
        Err(why) => {
            notes.push(Note::new(&spec.name, format!("left out: {why}")));
            return None;
        }
    };
    let env = service_env(spec, notes);
    let healthcheck = service_check(spec, notes).and_then(|(check, timeout)| {
        let test = match check {
            Check::Tcp { host, port } => probe_test("tcp", &format!("{host}:{port}")),
            Check::Http { url } => probe_test("http", &url),
            Check::Exec(command) if !image.built => exec_test(&command),
            Check::Exec(command) => {
                notes.push(Note::new(
                    &spec.name,
                    format!(
                        "its `exec: {command}` ready probe cannot run in its minimal image (no \
                         shell, no tools); what depends on it waits only for it to start"
                    ),
                ));
                return None;
            }
        };
        Some(healthcheck(test, timeout))
    });
    let how = if spec.is_task() {
        Up::Completed
    } else if healthcheck.is_some() {
        Up::Healthy
    } else {
        Up::Started
    };
    let ports = spec
        .port
        .map(|port| {
            let last = u32::from(port) + spec.scale.max(1) - 1;
            if last > u32::from(port) {
                vec![format!("127.0.0.1:{port}-{last}:{port}")]
            } else {
                vec![format!("127.0.0.1:{port}:{port}")]
            }
        })
        .unwrap_or_default();
    let service = Service {
        image: image.image,
        entrypoint: Some(escape_all(&image.entrypoint)),
        working_dir: image.working_dir,
        environment: env.into_iter().map(|(k, v)| (k, escape(&v))).collect(),
        ports,
        volumes: image
            .binds
            .iter()
            .map(|b| bind(&b.source.display().to_string(), &b.target, b.read_only))
            .collect(),
        scale: (spec.scale != 1).then_some(spec.scale),
        healthcheck,
        restart: if spec.is_task() {
            "no"
        } else {
            restart(spec.restart)
        },
        stop_signal: Some(spec.stop_signal.to_string()),
        stop_grace_period: format!("{}s", whole_seconds(spec.stop_timeout, 0)),
        networks: vec![network.to_owned()],
        ..Service::default()
    };
    Some((service, how))
}

fn vendor_service(
    project: &ProjectSpec,
    vendor: &VendorSpec,
    network: &str,
    named: &mut BTreeSet<String>,
) -> (Service, Up) {
    let probe = probe_binary(&orchestra_core::StateDir::for_project(&project.root));
    let mut volumes = Vec::new();
    let test = match &vendor.ready {
        Some(VendorReady::Tcp(port)) => {
            let port = container_port(vendor, *port);
            Some(probe_test("tcp", &format!("127.0.0.1:{port}")))
        }
        Some(VendorReady::Http(url)) => Some(probe_test("http", &in_container_url(vendor, url))),
        Some(VendorReady::Exec(command)) => Some(exec_test(command)),
        Some(VendorReady::Healthcheck) | None => None,
    };
    if test.as_ref().is_some_and(|t| t[1] == PROBE_IN_IMAGE) {
        volumes.push(bind(&probe.display().to_string(), PROBE_IN_IMAGE, true));
    }
    for v in &vendor.volumes {
        let source = match &v.source {
            VolumeSource::Named(name) => {
                named.insert(name.clone());
                name.clone()
            }
            VolumeSource::Bind(path) => path.display().to_string(),
        };
        volumes.push(bind(&source, &v.target, v.read_only));
    }
    let how = match vendor.ready {
        Some(_) => Up::Healthy,
        None => Up::Started,
    };
    let service = Service {
        image: vendor.image.clone(),
        entrypoint: vendor.entrypoint.as_ref().map(|c| escape_all(&c.argv())),
        command: vendor.command.as_ref().map(|c| escape_all(&c.argv())),
        environment: vendor
            .env
            .iter()
            .map(|(k, v)| (k.clone(), escape(v)))
            .collect(),
        ports: vendor
            .ports
            .iter()
            .map(|p| format!("127.0.0.1:{}:{}", p.host, p.container))
            .collect(),
        volumes,
        healthcheck: test.map(|t| healthcheck(t, vendor.ready_timeout)),
        restart: restart(vendor.restart),
        stop_grace_period: format!("{}s", whole_seconds(vendor.stop_timeout, 0)),
        networks: vec![network.to_owned()],
        ..Service::default()
    };
    (service, how)
}

/// A healthcheck that counts failures only after `timeout`, the time Orchestra would wait
/// for the probe to pass, and probes every second.
fn healthcheck(test: Vec<String>, timeout: Duration) -> Healthcheck {
    Healthcheck {
        test,
        interval: "1s".into(),
        timeout: "2s".into(),
        retries: 3,
        start_period: format!("{}s", whole_seconds(timeout, 1)),
    }
}

fn probe_test(kind: &str, target: &str) -> Vec<String> {
    vec![
        "CMD".into(),
        PROBE_IN_IMAGE.into(),
        kind.into(),
        escape(target),
    ]
}

fn exec_test(command: &CommandSpec) -> Vec<String> {
    match command {
        CommandSpec::Shell(s) => vec!["CMD-SHELL".into(), escape(s)],
        CommandSpec::Exec(argv) => std::iter::once("CMD".to_owned())
            .chain(argv.iter().map(|a| escape(a)))
            .collect(),
    }
}

/// The container port a vendor's `tcp` probe reaches: the probe names the host port when
/// the vendor publishes it there.
fn container_port(vendor: &VendorSpec, port: u16) -> u16 {
    vendor
        .ports
        .iter()
        .find(|p| p.host == port)
        .map_or(port, |p| p.container)
}

/// A vendor's probe URL as seen inside its container: a published host port becomes the
/// container port.
fn in_container_url(vendor: &VendorSpec, url: &str) -> String {
    vendor.ports.iter().fold(url.to_owned(), |url, p| {
        url.replace(
            &format!("127.0.0.1:{}", p.host),
            &format!("127.0.0.1:{}", p.container),
        )
        .replace(
            &format!("localhost:{}", p.host),
            &format!("localhost:{}", p.container),
        )
    })
}

fn bind(source: &str, target: &str, read_only: bool) -> String {
    let mode = if read_only { ":ro" } else { "" };
    format!("{source}:{target}{mode}")
}

fn restart(policy: RestartPolicy) -> &'static str {
    match policy {
        RestartPolicy::Always => "always",
        RestartPolicy::OnFailure => "on-failure",
        RestartPolicy::Never => "no",
    }
}

/// `s` with `$` doubled: Compose interpolates `$VAR` in every value of the file.
fn escape(s: &str) -> String {
    s.replace('$', "$$")
}

fn escape_all(v: &[String]) -> Vec<String> {
    v.iter().map(|s| escape(s)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollars_survive_compose_interpolation() {
        assert_eq!(escape("a$b$$c"), "a$$b$$$$c");
    }

    #[test]
    fn a_probe_url_on_a_published_port_points_inside_the_container() {
        let vendor = VendorSpec {
            ports: vec![orchestra_core::spec::PortMapping {
                host: 38080,
                container: 80,
            }],
            ..test_vendor()
        };
        assert_eq!(
            in_container_url(&vendor, "http://127.0.0.1:38080/health"),
            "http://127.0.0.1:80/health"
        );
        assert_eq!(container_port(&vendor, 38080), 80);
        assert_eq!(container_port(&vendor, 9000), 9000);
    }

    fn test_vendor() -> VendorSpec {
        VendorSpec {
            name: orchestra_core::VendorName::new("web").unwrap(),
            image: "nginx".into(),
            command: None,
            entrypoint: None,
            ports: vec![],
            env: orchestra_core::spec::Env::new(),
            volumes: vec![],
            ready: None,
            ready_timeout: Duration::from_secs(60),
            restart: RestartPolicy::OnFailure,
            stop_timeout: Duration::from_secs(10),
        }
    }
}
