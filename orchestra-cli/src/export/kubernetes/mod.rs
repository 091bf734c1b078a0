//! `orchestra export --format kubernetes`: the fleet as manifests for `kubectl apply -f -`.
//!
//! In one namespace (the project's name unless `--namespace` says otherwise), each service
//! becomes a ConfigMap of its environment (`envFrom`), a Deployment (a Job for a task) and a
//! Service; each vendor a ConfigMap, a StatefulSet with a PersistentVolumeClaim per named
//! volume, and a Service. A unit without a port still gets a headless Service, so that its
//! name resolves for what depends on it. `depends_on` becomes init containers that wait, with
//! the image's `/orchestra-probe`, until each dependency's Service accepts connections. Every
//! object is labelled `app.kubernetes.io/name`, `/part-of` (the project) and `/managed-by:
//! orchestra`.

use orchestra_core::Signal;
use orchestra_core::policy::RestartPolicy;
use orchestra_core::spec::{CommandSpec, Dependency, Env, ProjectSpec, ServiceSpec};
use orchestra_vendors::backend::export::{PROBE_IN_IMAGE, ServiceImage, service_image};
use serde_json::{Value, json};

mod vendor;

use super::{Check, Exported, Note, service_check, service_env, whole_seconds};

/// The manifests of `project` (resolved for [`Addressing::Names`]) in `namespace`.
///
/// [`Addressing::Names`]: orchestra_core::address::Addressing::Names
pub fn export(
    project: &ProjectSpec,
    namespace: Option<&str>,
) -> Result<Exported, yaml_serde::Error> {
    let mut notes = Vec::new();
    let cx = Cx {
        project,
        namespace: dns_label(
            namespace.unwrap_or(project.name.as_str()),
            "the namespace",
            &mut notes,
        ),
    };
    let mut objects = vec![json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": { "name": cx.namespace, "labels": cx.labels(project.name.as_str()) },
    })];
    for vendor in project.vendors.values() {
        objects.extend(cx.vendor(vendor, &mut notes));
    }
    for service in project.services.values() {
        objects.extend(cx.service(service, &mut notes));
    }
    let mut text = String::new();
    for object in &objects {
        text.push_str("---\n");
        text.push_str(&yaml_serde::to_string(object)?);
    }
    Ok(Exported { text, notes })
}

struct Cx<'a> {
    project: &'a ProjectSpec,
    namespace: String,
}

impl Cx<'_> {
    fn labels(&self, unit: &str) -> Value {
        json!({
            "app.kubernetes.io/name": unit,
            "app.kubernetes.io/part-of": self.project.name.as_str(),
            "app.kubernetes.io/managed-by": "orchestra",
        })
    }

    /// The labels that pick a unit's pods.
    fn selector(&self, unit: &str) -> Value {
        json!({
            "app.kubernetes.io/name": unit,
            "app.kubernetes.io/part-of": self.project.name.as_str(),
        })
    }

    fn metadata(&self, name: &str, unit: &str) -> Value {
        json!({ "name": name, "namespace": self.namespace, "labels": self.labels(unit) })
    }

    fn config_map(&self, unit: &str, env: &Env, notes: &mut Vec<Note>) -> Value {
        for key in env.keys().filter(|k| looks_secret(k)) {
            notes.push(Note::new(
                unit,
                format!("`{key}` looks like a secret and is in the ConfigMap {unit}-env; move it to a Secret"),
            ));
        }
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": self.metadata(&format!("{unit}-env"), unit),
            "data": env,
        })
    }

    /// A Service for `unit` on `ports`; headless when it has none, so its name still
    /// resolves.
    fn service_object(&self, unit: &str, ports: &[u16]) -> Value {
        let mut spec = json!({ "selector": self.selector(unit) });
        if ports.is_empty() {
            spec["clusterIP"] = json!("None");
        } else {
            spec["ports"] = ports
                .iter()
                .map(|p| json!({ "name": format!("p{p}"), "port": p, "targetPort": p }))
                .collect();
        }
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": self.metadata(unit, unit),
            "spec": spec,
        })
    }

    fn service(&self, spec: &ServiceSpec, notes: &mut Vec<Note>) -> Vec<Value> {
        let unit = dns_label(spec.name.as_str(), "its name", notes);
        let image = match service_image(self.project, spec) {
            Ok(image) => image,
            Err(why) => {
                notes.push(Note::new(&spec.name, format!("left out: {why}")));
                return Vec::new();
            }
        };
        if !image.binds.is_empty() {
            notes.push(Note::new(
                &spec.name,
                format!(
                    "its folder and binary are mounted from this machine under --docker; a pod \
                     has no such folder, so the image {} must hold them",
                    image.image
                ),
            ));
        }
        if spec.stop_signal != Signal::TERM {
            notes.push(Note::new(
                &spec.name,
                format!(
                    "Kubernetes stops a pod with SIGTERM, not {}",
                    spec.stop_signal
                ),
            ));
        }
        let env = service_env(spec, notes);
        let mut container = json!({
            "name": unit,
            "image": image.image,
            "imagePullPolicy": "IfNotPresent",
            "command": image.entrypoint,
            "envFrom": [{ "configMapRef": { "name": format!("{unit}-env") } }],
        });
        if let Some(port) = spec.port {
            container["ports"] = json!([{ "containerPort": port }]);
        }
        if let Some((check, _)) = service_check(spec, notes) {
            match probe(&check, image.built) {
                Some(p) => container["readinessProbe"] = p,
                None => notes.push(Note::new(
                    &spec.name,
                    format!(
                        "its ready probe `{}` cannot run in its minimal image",
                        exec_text(&check)
                    ),
                )),
            }
        }
        let mut pod = json!({
            "containers": [container],
            "terminationGracePeriodSeconds": whole_seconds(spec.stop_timeout, 0),
        });
        let waits = self.init_waits(spec, &image, notes);
        if !waits.is_empty() {
            pod["initContainers"] = Value::Array(waits);
        }
        let mut objects = vec![self.config_map(&unit, &env, notes)];
        let template = json!({ "metadata": { "labels": self.labels(&unit) }, "spec": pod });
        if let Some(task) = spec.task {
            let mut template = template;
            template["spec"]["restartPolicy"] = json!("Never");
            objects.push(json!({
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": self.metadata(&unit, &unit),
                "spec": {
                    "backoffLimit": 0,
                    "activeDeadlineSeconds": whole_seconds(task.timeout, 1),
                    "template": template,
                },
            }));
        } else {
            if spec.restart != RestartPolicy::Always {
                notes.push(Note::new(
                    &spec.name,
                    "a Deployment always restarts its pods, whatever `restart:` says",
                ));
            }
            objects.push(json!({
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": self.metadata(&unit, &unit),
                "spec": {
                    "replicas": spec.scale,
                    "selector": { "matchLabels": self.selector(&unit) },
                    "template": template,
                },
            }));
        }
        objects.push(self.service_object(&unit, &spec.port.into_iter().collect::<Vec<_>>()));
        objects
    }

    /// An init container per dependency, which waits until its Service accepts connections.
    fn init_waits(
        &self,
        spec: &ServiceSpec,
        image: &ServiceImage,
        notes: &mut Vec<Note>,
    ) -> Vec<Value> {
        let mut waits = Vec::new();
        for dep in &spec.depends_on {
            let port = match dep {
                Dependency::Vendor(v) => self
                    .project
                    .vendors
                    .get(v)
                    .and_then(|v| v.ports.first())
                    .map(|p| p.container),
                Dependency::Service(s) => {
                    let target = self.project.services.get(s);
                    if target.is_some_and(ServiceSpec::is_task) {
                        notes.push(Note::new(
                            &spec.name,
                            format!(
                                "it starts without waiting for task `{s}` (its Job) to complete"
                            ),
                        ));
                        continue;
                    }
                    target.and_then(|t| t.port)
                }
            };
            let Some(port) = port.filter(|_| image.built) else {
                notes.push(Note::new(
                    &spec.name,
                    format!("it starts without waiting for `{dep}`, which it cannot probe"),
                ));
                continue;
            };
            // Named as its Service is (the change was noted with the dependency itself).
            let host = dns_label(&dep.to_string(), "", &mut Vec::new());
            waits.push(json!({
                "name": format!("wait-for-{host}"),
                "image": image.image,
                "imagePullPolicy": "IfNotPresent",
                "command": [PROBE_IN_IMAGE, "wait", format!("{host}:{port}")],
            }));
        }
        waits
    }
}

/// A readiness probe for `check`; `None` for a command a minimal image cannot run.
fn probe(check: &Check, minimal_image: bool) -> Option<Value> {
    Some(match check {
        Check::Tcp { port, .. } => json!({ "tcpSocket": { "port": port }, "periodSeconds": 1 }),
        Check::Http { url } => {
            let (port, path) = url_port_path(url);
            json!({ "httpGet": { "path": path, "port": port }, "periodSeconds": 1 })
        }
        Check::Exec(_) if minimal_image => return None,
        Check::Exec(command) => {
            json!({ "exec": { "command": command.argv() }, "periodSeconds": 1 })
        }
    })
}

fn exec_text(check: &Check) -> String {
    match check {
        Check::Exec(CommandSpec::Shell(s)) => s.clone(),
        Check::Exec(c) => c.to_string(),
        Check::Tcp { host, port } => format!("{host}:{port}"),
        Check::Http { url } => url.clone(),
    }
}

/// The port and path of `http://host:port/path` (80 when no port is written): the kubelet
/// GETs them on the pod's own address.
fn url_port_path(url: &str) -> (u16, String) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let (authority, path) = rest
        .find('/')
        .map_or((rest, "/"), |i| (&rest[..i], &rest[i..]));
    let port = authority
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or(80);
    (port, path.to_owned())
}

/// `name` as a DNS label (lowercase letters, digits and `-`), noting when it had to change.
fn dns_label(name: &str, what: &str, notes: &mut Vec<Note>) -> String {
    let label: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let label = label.trim_matches('-').to_owned();
    if label != name {
        notes.push(Note::new(
            name,
            format!("{what} is written `{label}` in Kubernetes"),
        ));
    }
    label
}

fn looks_secret(key: &str) -> bool {
    let key = key.to_ascii_uppercase();
    ["PASSWORD", "SECRET", "TOKEN", "API_KEY", "PRIVATE_KEY"]
        .iter()
        .any(|word| key.contains(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_give_their_port_and_path() {
        assert_eq!(
            url_port_path("http://127.0.0.1:8081/health?x=1"),
            (8081, "/health?x=1".into())
        );
        assert_eq!(url_port_path("http://localhost"), (80, "/".into()));
    }

    #[test]
    fn names_become_dns_labels_and_say_so() {
        let mut notes = Vec::new();
        assert_eq!(dns_label("users", "its name", &mut notes), "users");
        assert!(notes.is_empty());
        assert_eq!(dns_label("My_Shop", "the namespace", &mut notes), "my-shop");
        assert_eq!(
            notes[0].to_string(),
            "My_Shop: the namespace is written `my-shop` in Kubernetes"
        );
    }

    #[test]
    fn secret_looking_keys_are_spotted() {
        assert!(looks_secret("POSTGRES_PASSWORD"));
        assert!(looks_secret("github_token"));
        assert!(!looks_secret("LOG_LEVEL"));
    }
}
