//! Vendors: their env, ports, volumes and readiness URL interpolated, their ports claimed.

use std::time::Duration;

use orchestra_core::spec::{Env, ServiceSpec, VendorSpec};
use orchestra_core::template::interpolate;

use crate::error::Problem;
use crate::ports::PortClaims;
use crate::project::Project;
use crate::raw::vendor::{RawVendor, parse_volume};
use crate::raw::vendor_port::parse_port_mapping;
use crate::read::{Located, merge_env, template_problem};
use crate::source::Target;

/// How long a vendor may take to become ready unless told otherwise: databases are slow.
const VENDOR_READY_TIMEOUT: Duration = Duration::from_secs(60);

impl Project {
    pub(super) fn vendor(
        &self,
        v: &RawVendor,
        project_lookup: &dyn Fn(&str) -> Option<String>,
        claims: &mut PortClaims,
        problems: &mut Vec<Problem>,
    ) -> VendorSpec {
        let mut env = Env::new();
        let files = self.vendor_env_files.get(&v.name.value);
        merge_env(
            &mut env,
            files.into_iter().flatten(),
            project_lookup,
            problems,
        );
        merge_env(&mut env, &v.env, project_lookup, problems);
        let lookup = |k: &str| env.get(k).cloned().or_else(|| project_lookup(k));
        let mut ports = Vec::new();
        for p in &v.ports {
            let Some(text) = fill(p, "ports", &lookup, problems) else {
                continue;
            };
            match parse_port_mapping(&text) {
                Ok(m) => {
                    let who = format!("vendor `{}`", v.name.value);
                    claims.claim(m.host, 1, who, &p.origin, problems);
                    ports.push(m);
                }
                Err(e) => problems.push(p.origin.problem(
                    Target::Value,
                    format!("`{}` (`{text}`) is not a port mapping", p.value),
                    &e,
                )),
            }
        }
        let mut volumes = Vec::new();
        for vol in &v.volumes {
            let Some(text) = fill(vol, "volumes", &lookup, problems) else {
                continue;
            };
            match parse_volume(&text, &self.root) {
                Ok(m) => volumes.push(m),
                Err(e) => problems.push(vol.origin.problem(
                    Target::Value,
                    format!("`{}` is not a volume", vol.value),
                    &e,
                )),
            }
        }
        let ready = v.ready.clone().map(|r| match r {
            orchestra_core::spec::VendorReady::Http(url) => {
                // The vendor's name stands for where the URL is written.
                let url = v.name.origin.located(url);
                let filled = fill(&url, "ready.http", &lookup, problems);
                orchestra_core::spec::VendorReady::Http(filled.unwrap_or(url.value))
            }
            other => other,
        });
        let image = fill(&v.image, "image", &lookup, problems);
        VendorSpec {
            name: v.name.value.clone(),
            image: image.unwrap_or_else(|| v.image.value.clone()),
            command: v.command.clone(),
            entrypoint: v.entrypoint.clone(),
            ports,
            env: env.clone(),
            volumes,
            ready,
            ready_timeout: v.ready_timeout.unwrap_or(VENDOR_READY_TIMEOUT),
            restart: v.restart.unwrap_or_default(),
            stop_timeout: v.stop_timeout.unwrap_or(ServiceSpec::DEFAULT_STOP_TIMEOUT),
        }
    }
}

/// `text` interpolated, or `None` with a problem naming `what` (`ports`, `image`).
fn fill(
    text: &Located<String>,
    what: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    problems: &mut Vec<Problem>,
) -> Option<String> {
    interpolate(&text.value, lookup)
        .map_err(|e| problems.push(template_problem(&text.origin, &e, what)))
        .ok()
}
