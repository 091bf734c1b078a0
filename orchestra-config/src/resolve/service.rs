//! Services: env merged with the addresses of their dependencies, Go defaults filled,
//! probes interpolated but for the per-replica variables, ports claimed.

use orchestra_core::StateDir;
use orchestra_core::policy::{BackoffPolicy, RestartPolicy};
use orchestra_core::spec::{
    CommandSpec, Dependency, DockerSpec, Env, ReadyCheck, ReadyProbe, RerunSpec, ServiceKind,
    ServiceSpec, TaskSpec,
};
use orchestra_core::template::{Placeholders, TemplateError, interpolate};

use super::Addresses;
use super::per_replica::{PER_REPLICA, keep_per_replica};
use crate::error::Problem;
use crate::ports::PortClaims;
use crate::project::LoadedService;
use crate::raw::ready::RawCheck;
use crate::read::{Located, merge_env, template_problem};
use crate::source::Target;

pub(super) fn service(
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
