//! Resolution: a loaded [`Project`] turned into the [`ProjectSpec`] of one command, with
//! environments merged and interpolated, defaults filled and ports checked.

use std::collections::BTreeMap;
use std::time::Duration;

use orchestra_core::ProjectName;
use orchestra_core::StateDir;
use orchestra_core::address::Addressing;
use orchestra_core::name::VendorName;
use orchestra_core::policy::{BackoffPolicy, RestartPolicy};
use orchestra_core::spec::{
    CommandSpec, Dependency, DockerSpec, Env, Hooks, ProjectSpec, ReadyCheck, ReadyProbe,
    RerunSpec, ServiceKind, ServiceSpec, TaskSpec, VendorSpec,
};
use orchestra_core::template::{Placeholders, TemplateError, interpolate};

use crate::error::{ConfigError, Problem};
use crate::ports::PortClaims;
use crate::project::{LoadedService, Project};
use crate::raw::ready::RawCheck;
use crate::raw::vendor::{RawVendor, parse_volume};
use crate::raw::vendor_port::parse_port_mapping;
use crate::read::{Located, merge_env, template_problem};
use crate::source::Target;

/// The command being run, which picks its section of orchestra.yml (env and hooks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    /// `orchestra start`.
    Start,
    /// `orchestra stop`.
    Stop,
    /// `orchestra restart`.
    Restart,
    /// `orchestra ps`.
    Ps,
    /// `orchestra logs`.
    Logs,
    /// `orchestra test`.
    Test,
    /// `orchestra export`.
    Export,
    /// `orchestra vendors`.
    Vendors,
    /// `orchestra config` (no section).
    Config,
    /// `orchestra init` (no section).
    Init,
    /// `orchestra scale` (no section).
    Scale,
}

impl Section {
    /// The key of this command's section in orchestra.yml, if it has one.
    pub fn key(self) -> Option<&'static str> {
        Some(match self {
            Self::Start => "start",
            Self::Stop => "stop",
            Self::Restart => "restart",
            Self::Ps => "ps",
            Self::Logs => "logs",
            Self::Test => "test",
            Self::Export => "export",
            Self::Vendors => "vendors",
            Self::Config | Self::Init | Self::Scale => return None,
        })
    }
}

/// Variables only known per replica: left in probes for `ServiceSpec::replica` to fill
/// (`PORT` first: a service without a port has none).
const PER_REPLICA: [&str; 3] = ["PORT", "ORCHESTRA_REPLICA", "ORCHESTRA_SERVICE"];
/// How long a vendor may take to become ready unless told otherwise: databases are slow.
const VENDOR_READY_TIMEOUT: Duration = Duration::from_secs(60);

impl Project {
    /// The project as the command `section` sees it, interpolating from Orchestra's own
    /// environment where the configuration does not set a variable.
    pub fn resolve(&self, section: Section) -> Result<ProjectSpec, ConfigError> {
        self.resolve_with(section, &|k| std::env::var(k).ok())
    }

    /// [`Project::resolve`] with `lookup` standing for Orchestra's environment.
    pub fn resolve_with(
        &self,
        section: Section,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ProjectSpec, ConfigError> {
        self.resolve_for(section, Addressing::Host, lookup)
    }

    /// [`Project::resolve_with`] for a fleet that runs where `addressing` says: the address
    /// variables of each service's dependencies (`USERS_ADDR`), and every env value built
    /// from them, name the dependency as seen from there.
    pub fn resolve_for(
        &self,
        section: Section,
        addressing: Addressing,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ProjectSpec, ConfigError> {
        let mut problems = Vec::new();
        let raw_section = section.key().and_then(|k| self.raw.sections.get(k));
        let mut env = Env::new();
        merge_env(&mut env, &self.env_file, lookup, &mut problems);
        merge_env(&mut env, &self.raw.env, lookup, &mut problems);
        let mut hooks = Hooks {
            before: self.raw.global.before.clone(),
            after: self.raw.global.after.clone(),
        };
        if let Some(s) = raw_section {
            merge_env(&mut env, &s.env, lookup, &mut problems);
            hooks.before.extend(s.before.iter().cloned());
            hooks.after.extend(s.after.iter().cloned());
        }
        let state_dir = StateDir::for_project(&self.root);
        let project_lookup = |k: &str| env.get(k).cloned().or_else(|| lookup(k));
        let mut claims = PortClaims::default();
        let mut vendors = BTreeMap::new();
        for v in &self.raw.vendors {
            let spec = self.vendor(v, &project_lookup, &mut claims, &mut problems);
            vendors.insert(spec.name.clone(), spec);
        }
        let name = self.raw.name.as_ref().map_or_else(
            || {
                let folder = self
                    .root
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned());
                ProjectName::sanitize(folder.as_deref().unwrap_or("project"))
            },
            |n| n.value.clone(),
        );
        let mut services = BTreeMap::new();
        // Dependencies first, so that a service's address variables can name the port of
        // each service it depends on (validation refused cycles).
        for s in dependency_order(&self.services) {
            let addresses = Addresses {
                addressing,
                project: &name,
                vendors: &vendors,
                services: &services,
            };
            let spec = service(
                s,
                &env,
                &addresses,
                &state_dir,
                lookup,
                &mut claims,
                &mut problems,
            );
            if let Some(spec) = spec {
                services.insert(spec.name.clone(), spec);
            }
        }
        if !problems.is_empty() {
            return Err(ConfigError::new(problems));
        }
        // Hooks and the project's own tests may reach any vendor; a service only those it
        // depends on (added in `service`).
        env.extend(vendors.values().flat_map(|v| v.address_env(false)));
        Ok(ProjectSpec {
            name,
            root: self.root.clone(),
            file: self.file.clone(),
            state_dir: state_dir.root().to_path_buf(),
            env,
            hooks,
            services,
            vendors,
            logs: self.raw.logs,
            acceptance: self.raw.acceptance.clone(),
        })
    }

    fn vendor(
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

/// What a service's address variables are made from: the vendors and the services resolved
/// so far, and where the fleet runs.
struct Addresses<'a> {
    addressing: Addressing,
    project: &'a ProjectName,
    vendors: &'a BTreeMap<VendorName, VendorSpec>,
    services: &'a BTreeMap<orchestra_core::ServiceName, ServiceSpec>,
}

impl Addresses<'_> {
    /// The address variables of dependency `name`, when it is a vendor or a service
    /// resolved already.
    fn of(&self, name: &str) -> Env {
        if let Some(v) = self.vendors.values().find(|v| v.name.as_str() == name) {
            return self.addressing.vendor(v);
        }
        self.services
            .values()
            .find(|s| s.name.as_str() == name)
            .map(|s| self.addressing.service(self.project, &s.name, s.port))
            .unwrap_or_default()
    }
}

/// The services with every service before those that depend on it, in their configured
/// order otherwise; services caught in a cycle come last, as they are.
fn dependency_order(services: &[LoadedService]) -> Vec<&LoadedService> {
    let mut placed: Vec<&LoadedService> = Vec::with_capacity(services.len());
    let mut waiting: Vec<&LoadedService> = services.iter().collect();
    while !waiting.is_empty() {
        let before = waiting.len();
        waiting.retain(|s| {
            let ready = s.raw.depends_on.iter().flatten().all(|d| {
                placed.iter().any(|p| p.name.as_str() == d.value)
                    || !services.iter().any(|o| o.name.as_str() == d.value)
            });
            if ready {
                placed.push(s);
            }
            !ready
        });
        if waiting.len() == before {
            placed.append(&mut waiting);
        }
    }
    placed
}

fn service(
    s: &LoadedService,
    project_env: &Env,
    addresses: &Addresses<'_>,
    state_dir: &StateDir,
    lookup: &dyn Fn(&str) -> Option<String>,
    claims: &mut PortClaims,
    problems: &mut Vec<Problem>,
) -> Option<ServiceSpec> {
    let raw = &s.raw;
    // The addresses of the vendors and services this service depends on (directly): they
    // win over the service's own env, and its values may refer to them (`http://$USERS_ADDR`).
    let vendors = addresses.vendors;
    let addresses: Env = raw
        .depends_on
        .iter()
        .flatten()
        .flat_map(|d| addresses.of(&d.value))
        .collect();
    let lookup = &|k: &str| addresses.get(k).cloned().or_else(|| lookup(k));
    let mut env = project_env.clone();
    merge_env(&mut env, &s.env_file, lookup, problems);
    merge_env(
        &mut env,
        raw.env.as_deref().unwrap_or_default(),
        lookup,
        problems,
    );
    env.extend(addresses.clone());
    let env_lookup = |k: &str| env.get(k).cloned().or_else(|| lookup(k));

    // A task's own file cannot set `scale`, `port`, `ready` or `restart` (reading refused
    // them); what `defaults:` gives every service does not apply to it.
    let task = raw.task.as_ref().map(|t| TaskSpec {
        timeout: t.timeout.unwrap_or(TaskSpec::DEFAULT_TIMEOUT),
    });
    let scale = if task.is_some() {
        1
    } else {
        raw.scale.unwrap_or(1)
    };
    let port = match raw.port.as_ref().filter(|_| task.is_none()) {
        Some(p) => Some(port(p, &env_lookup, problems)?),
        None => None,
    };
    if let (Some(port), Some(origin)) = (port, raw.port.as_ref().map(|p| &p.origin))
        && task.is_none()
    {
        claims.claim(
            port,
            scale.max(1),
            format!("service `{}`", s.name),
            origin,
            problems,
        );
    }

    let binary = state_dir.binary(&s.name);
    let names_bin =
        |c: &Option<CommandSpec>| c.as_ref().is_some_and(|c| c.to_string().contains("{bin}"));
    let binary = (s.kind == ServiceKind::Go || names_bin(&raw.build) || names_bin(&raw.run))
        .then_some(binary);
    let bin_text = binary.as_ref().map(|b| b.to_string_lossy().into_owned());
    let placeholders = Placeholders {
        bin: bin_text.as_deref(),
        name: s.name.as_str(),
        replica: None,
        port: None,
    };
    let fill = |c: &Option<CommandSpec>| c.as_ref().map(|c| c.fill(&placeholders));
    let go = s.kind == ServiceKind::Go;
    let build = fill(&raw.build).or_else(|| {
        go.then(|| {
            CommandSpec::Exec(vec![
                "go".into(),
                "build".into(),
                "-o".into(),
                bin_text.clone().unwrap_or_default(),
                ".".into(),
            ])
        })
    });
    let run = match fill(&raw.run) {
        Some(run) => run,
        // Validation refused a non-Go service without `run`.
        None => CommandSpec::Exec(vec![bin_text.clone()?]),
    };
    let test = fill(&raw.test).or_else(|| {
        go.then(|| CommandSpec::Exec(vec!["go".into(), "test".into(), "./...".into()]))
    });
    let watch = raw.watch.clone().unwrap_or_else(|| {
        if go {
            vec!["**/*.go".into(), "go.mod".into(), "go.sum".into()]
        } else {
            Vec::new()
        }
    });

    // `PORT` is only known per replica, and only for a service with a port.
    let per_replica = if port.is_some() {
        &PER_REPLICA[..]
    } else {
        &PER_REPLICA[1..]
    };
    let mut probe_text = |text: &Located<String>| {
        keep_per_replica(&text.value, &env_lookup, per_replica).unwrap_or_else(|e| {
            let problem = template_problem(&text.origin, &e, "ready");
            problems.push(if e == TemplateError::Unset("PORT".into()) {
                problem.help("`PORT` is set for each replica of a service with a `port:`: add one, or write the port here")
            } else {
                problem
            });
            text.value.clone()
        })
    };
    let written = raw
        .ready
        .as_ref()
        .filter(|_| task.is_none())
        .map(|r| ReadyProbe {
            check: match &r.check {
                RawCheck::Tcp { host, port } => ReadyCheck::Tcp {
                    host: probe_text(host),
                    port: probe_text(port),
                },
                RawCheck::Http(url) => ReadyCheck::Http {
                    url: probe_text(url),
                },
                RawCheck::Exec(c) => ReadyCheck::Exec {
                    command: c.fill(&placeholders),
                },
                RawCheck::Log(re) => ReadyCheck::Log { regex: re.clone() },
            },
            timeout: r.timeout.unwrap_or(ReadyProbe::DEFAULT_TIMEOUT),
            interval: r.interval.unwrap_or(ReadyProbe::DEFAULT_INTERVAL),
        });
    // A service with a port is ready once it listens there, unless it says otherwise.
    let ready = written.or_else(|| port.map(|_| ReadyProbe::listening()));

    let restart = raw.restart.clone().unwrap_or_default();
    let defaults = BackoffPolicy::default();
    let backoff = BackoffPolicy {
        initial: restart.initial.unwrap_or(defaults.initial),
        max: restart.max.unwrap_or(defaults.max),
        reset_after: restart.reset_after.unwrap_or(defaults.reset_after),
        max_restarts: restart.max_restarts.or(defaults.max_restarts),
    };
    let rerun_raw = raw.rerun.clone().unwrap_or_default();
    let rerun_default = RerunSpec::default();
    let depends_on = raw
        .depends_on
        .iter()
        .flatten()
        .filter_map(|d| {
            if let Some(v) = vendors.keys().find(|v| v.as_str() == d.value) {
                return Some(Dependency::Vendor(v.clone()));
            }
            orchestra_core::ServiceName::new(d.value.clone())
                .ok()
                .map(Dependency::Service)
        })
        .collect();
    Some(ServiceSpec {
        name: s.name.clone(),
        dir: s.dir.clone(),
        file: s.file.path.clone(),
        kind: s.kind,
        env: env.clone(),
        build,
        run,
        test,
        acceptance: fill(&raw.acceptance),
        binary,
        scale,
        port,
        ready,
        restart: if task.is_some() {
            RestartPolicy::Never
        } else {
            restart.policy.unwrap_or(RestartPolicy::OnFailure)
        },
        backoff,
        stop_signal: raw.stop_signal.unwrap_or_default(),
        stop_timeout: raw
            .stop_timeout
            .unwrap_or(ServiceSpec::DEFAULT_STOP_TIMEOUT),
        watch,
        ignore: raw.ignore.clone().unwrap_or_default(),
        rerun: RerunSpec {
            enabled: rerun_raw.enabled.unwrap_or(rerun_default.enabled),
            test: rerun_raw.test.unwrap_or(rerun_default.test),
            debounce: rerun_raw.debounce.unwrap_or(rerun_default.debounce),
        },
        depends_on,
        docker: DockerSpec {
            image: raw.docker.clone().and_then(|d| d.0),
        },
        task,
    })
}

/// The port a service's `port:` names once interpolated.
fn port(
    p: &Located<String>,
    lookup: &dyn Fn(&str) -> Option<String>,
    problems: &mut Vec<Problem>,
) -> Option<u16> {
    let text = match interpolate(&p.value, lookup) {
        Ok(text) => text,
        Err(e) => {
            problems.push(template_problem(&p.origin, &e, "port"));
            return None;
        }
    };
    match text.trim().parse::<u16>() {
        Ok(n) if n > 0 => Some(n),
        _ => {
            let shown = if text == p.value {
                format!("`{text}`")
            } else {
                format!("`{}` (`{text}`)", p.value)
            };
            problems.push(
                p.origin
                    .problem(
                        Target::Value,
                        format!("port {shown} is not a port number"),
                        "expected 1 to 65535",
                    )
                    .help("set the variable to a number, or write the port here"),
            );
            None
        }
    }
}

/// Interpolates `s` but leaves the `per_replica` variables as `${NAME}` and escapes every
/// other `$` as `$$`, so that `ServiceSpec::replica` can interpolate the result once more
/// and fill only those.
pub(crate) fn keep_per_replica(
    s: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    per_replica: &[&str],
) -> Result<String, TemplateError> {
    // Refused in any value at load time, so free to stand for `$$` here.
    const LITERAL: char = '\u{0}';
    let guarded = escape_fallbacks(&s.replace("$$", &LITERAL.to_string()));
    let out = interpolate(&guarded, |k| {
        if per_replica.contains(&k) {
            Some(format!("${{{k}}}"))
        } else {
            lookup(k).map(|v| v.replace('$', "$$"))
        }
    })?;
    Ok(out.replace(LITERAL, "$$"))
}

/// `s` with every `$` inside a `${NAME:-fallback}` fallback doubled: a fallback comes out of
/// interpolation as written, and must come out of the second one as written too.
fn escape_fallbacks(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let braced = &rest[start..];
        let Some(end) = braced.find('}') else {
            out.push_str(braced);
            return out;
        };
        match braced[..end].split_once(":-") {
            Some((name, fallback)) => {
                out.push_str(name);
                out.push_str(":-");
                out.push_str(&fallback.replace('$', "$$"));
                out.push('}');
            }
            None => out.push_str(&braced[..=end]),
        }
        rest = &braced[end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::{PER_REPLICA, keep_per_replica};
    use orchestra_core::template::TemplateError;

    #[test]
    fn per_replica_variables_survive_for_later() {
        let lookup = |k: &str| match k {
            "HOST" => Some("db".to_owned()),
            "ODD" => Some("a$b".to_owned()),
            _ => None,
        };
        assert_eq!(
            keep_per_replica("http://$HOST:$PORT/x?$$y&$ODD", &lookup, &PER_REPLICA).unwrap(),
            "http://db:${PORT}/x?$$y&a$$b"
        );
        assert_eq!(
            keep_per_replica("${NOPE:-a$b$$c}:${PORT:-1}", &lookup, &PER_REPLICA).unwrap(),
            "a$$b$$c:${PORT}"
        );
        assert_eq!(
            keep_per_replica("$PORT", &lookup, &PER_REPLICA[1..]),
            Err(TemplateError::Unset("PORT".into()))
        );
    }
}
