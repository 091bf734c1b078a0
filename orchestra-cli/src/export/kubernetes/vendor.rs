//! A vendor in Kubernetes: a ConfigMap of its env, a StatefulSet with a
//! PersistentVolumeClaim per named volume, and a Service.

use orchestra_core::spec::{VendorReady, VendorSpec, VolumeSource};
use serde_json::{Value, json};

use super::{Cx, dns_label, probe};
use crate::export::{Check, Note, whole_seconds};

impl Cx<'_> {
    pub(super) fn vendor(&self, vendor: &VendorSpec, notes: &mut Vec<Note>) -> Vec<Value> {
        let unit = dns_label(vendor.name.as_str(), "its name", notes);
        let mut container = json!({
            "name": unit,
            "image": vendor.image,
            "imagePullPolicy": "IfNotPresent",
            "envFrom": [{ "configMapRef": { "name": format!("{unit}-env") } }],
        });
        if let Some(c) = &vendor.entrypoint {
            container["command"] = json!(c.argv());
        }
        if let Some(c) = &vendor.command {
            container["args"] = json!(c.argv());
        }
        let ports: Vec<u16> = vendor.ports.iter().map(|p| p.container).collect();
        if !ports.is_empty() {
            container["ports"] = ports
                .iter()
                .map(|p| json!({ "containerPort": p }))
                .collect();
        }
        let ready = match &vendor.ready {
            Some(VendorReady::Tcp(port)) => {
                let port = vendor
                    .ports
                    .iter()
                    .find(|p| p.host == *port)
                    .map_or(*port, |p| p.container);
                probe(
                    &Check::Tcp {
                        host: "127.0.0.1".into(),
                        port,
                    },
                    false,
                )
            }
            Some(VendorReady::Http(url)) => probe(&Check::Http { url: url.clone() }, false),
            Some(VendorReady::Exec(command)) => probe(&Check::Exec(command.clone()), false),
            Some(VendorReady::Healthcheck) => {
                notes.push(Note::new(
                    &vendor.name,
                    "Kubernetes ignores the image's HEALTHCHECK; it has no readiness probe",
                ));
                None
            }
            None => None,
        };
        if let Some(p) = ready {
            container["readinessProbe"] = p;
        }
        let mut claims = Vec::new();
        let mut mounts = Vec::new();
        for v in &vendor.volumes {
            match &v.source {
                VolumeSource::Named(name) => {
                    let claim = dns_label(name, "a volume", notes);
                    mounts.push(
                        json!({ "name": claim, "mountPath": v.target, "readOnly": v.read_only }),
                    );
                    claims.push(json!({
                        "metadata": { "name": claim, "labels": self.labels(&unit) },
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": { "requests": { "storage": "1Gi" } },
                        },
                    }));
                }
                VolumeSource::Bind(path) => notes.push(Note::new(
                    &vendor.name,
                    format!(
                        "its folder {} from this machine cannot be mounted in a pod; left out",
                        path.display()
                    ),
                )),
            }
        }
        if !mounts.is_empty() {
            container["volumeMounts"] = Value::Array(mounts);
        }
        let mut spec = json!({
            "serviceName": unit,
            "replicas": 1,
            "selector": { "matchLabels": self.selector(&unit) },
            "template": {
                "metadata": { "labels": self.labels(&unit) },
                "spec": {
                    "containers": [container],
                    "terminationGracePeriodSeconds": whole_seconds(vendor.stop_timeout, 0),
                },
            },
        });
        if !claims.is_empty() {
            spec["volumeClaimTemplates"] = Value::Array(claims);
        }
        vec![
            self.config_map(&unit, &vendor.env, notes),
            json!({
                "apiVersion": "apps/v1",
                "kind": "StatefulSet",
                "metadata": self.metadata(&unit, &unit),
                "spec": spec,
            }),
            self.service_object(&unit, &ports),
        ]
    }
}
