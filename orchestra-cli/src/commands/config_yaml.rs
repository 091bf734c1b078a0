//! The resolved configuration as the files would say it: one YAML document for
//! orchestra.yml and one per service.yml, each in the syntax those files take (commands as a
//! string or a list, `ready: {http: URL}`, `depends_on: [users]`, ports as `HOST:CONTAINER`),
//! so a part can be pasted back into a file. What only the resolution knows (folders, the
//! built binary) is in each document's opening comments.

use std::fmt::Write;
use std::path::Path;
use std::time::Duration;

use orchestra_config::Groups;
use orchestra_core::HumanDuration;
use orchestra_core::address::Addressing;
use orchestra_core::spec::{
    CommandSpec, Dependency, Env, ProjectSpec, ReadyCheck, ServiceKind, ServiceSpec, VendorReady,
    VendorSpec, VolumeSource,
};
use yaml_serde::{Mapping, Value};

/// The documents, separated by `---`; `groups:` as orchestra.yml defines them.
pub fn render(project: &ProjectSpec, groups: &Groups) -> Result<String, yaml_serde::Error> {
    let mut out = format!(
        "# {} (project `{}`), resolved\n",
        project.file.display(),
        project.name
    );
    let mut doc = project_doc(project);
    if !groups.is_empty() {
        let mut written = Mapping::new();
        for name in groups.names() {
            let members: Vec<Value> = groups
                .get(name)
                .unwrap_or_default()
                .iter()
                .map(|s| Value::from(s.as_str()))
                .collect();
            set(&mut written, name, Value::Sequence(members));
        }
        set(&mut doc, "groups", Value::Mapping(written));
    }
    out.push_str(&yaml_serde::to_string(&doc)?);
    for service in project.services.values() {
        out.push_str("---\n");
        let _ = writeln!(out, "# {}, resolved", service.file.display());
        let _ = writeln!(out, "# folder: {}", service.dir.display());
        if service.kind == ServiceKind::Go {
            out.push_str("# a Go service: built and run by Orchestra's defaults\n");
        }
        if let Some(binary) = &service.binary {
            let _ = writeln!(out, "# binary: {}", binary.display());
        }
        out.push_str(&yaml_serde::to_string(&service_doc(project, service))?);
    }
    Ok(out)
}

fn project_doc(p: &ProjectSpec) -> Mapping {
    let mut m = Mapping::new();
    set(&mut m, "name", p.name.to_string());
    // The vendors' addresses are Orchestra's to add again; written back into `env:` they
    // would reach every service.
    let addresses: Vec<Env> = p
        .vendors
        .values()
        .map(|v| Addressing::Host.vendor(v))
        .collect();
    let own = without(&p.env, &addresses);
    if !own.is_empty() {
        set(&mut m, "env", env(&own));
    }
    if !p.hooks.before.is_empty() {
        set(&mut m, "before", commands(&p.hooks.before));
    }
    if !p.hooks.after.is_empty() {
        set(&mut m, "after", commands(&p.hooks.after));
    }
    if !p.vendors.is_empty() {
        let mut vendors = Mapping::new();
        for v in p.vendors.values() {
            set(
                &mut vendors,
                v.name.as_str(),
                Value::Mapping(vendor(v, &p.root)),
            );
        }
        set(&mut m, "vendors", Value::Mapping(vendors));
    }
    let mut logs = Mapping::new();
    set(&mut logs, "max_size", p.logs.max_size);
    set(&mut logs, "keep", u64::from(p.logs.keep));
    set(&mut m, "logs", Value::Mapping(logs));
    if let Some(a) = &p.acceptance {
        set(&mut m, "acceptance", command(a));
    }
    m
}

fn service_doc(project: &ProjectSpec, svc: &ServiceSpec) -> Mapping {
    let mut m = Mapping::new();
    set(&mut m, "name", svc.name.to_string());
    // The addresses of what it depends on are added again at every resolution.
    let addresses: Vec<Env> = svc
        .depends_on
        .iter()
        .filter_map(|d| match d {
            Dependency::Vendor(n) => project.vendors.get(n).map(|v| Addressing::Host.vendor(v)),
            Dependency::Service(n) => project
                .services
                .get(n)
                .map(|dep| Addressing::Host.service(&project.name, n, dep.port)),
        })
        .collect();
    let own = without(&svc.env, &addresses);
    if !own.is_empty() {
        set(&mut m, "env", env(&own));
    }
    if let Some(task) = &svc.task {
        let mut timeout = Mapping::new();
        set(&mut timeout, "timeout", duration(task.timeout));
        set(&mut m, "task", Value::Mapping(timeout));
    } else {
        set(&mut m, "scale", u64::from(svc.scale));
    }
    if let Some(port) = svc.port {
        set(&mut m, "port", u64::from(port));
    }
    for (key, cmd) in [("build", svc.build.as_ref()), ("run", Some(&svc.run))] {
        if let Some(cmd) = cmd {
            set(&mut m, key, command(cmd));
        }
    }
    for (key, cmd) in [("test", &svc.test), ("acceptance", &svc.acceptance)] {
        if let Some(cmd) = cmd {
            set(&mut m, key, command(cmd));
        }
    }
    if !svc.depends_on.is_empty() {
        let names = svc.depends_on.iter().map(|d| match d {
            Dependency::Service(n) => Value::String(n.to_string()),
            Dependency::Vendor(n) => Value::String(n.to_string()),
        });
        set(&mut m, "depends_on", Value::Sequence(names.collect()));
    }
    if let Some(ready) = &svc.ready {
        let mut r = Mapping::new();
        match &ready.check {
            ReadyCheck::Tcp { host, port } => {
                set(&mut r, "tcp", port.clone());
                if host != "127.0.0.1" {
                    set(&mut r, "host", host.clone());
                }
            }
            ReadyCheck::Http { url } => set(&mut r, "http", url.clone()),
            ReadyCheck::Exec { command: c } => set(&mut r, "exec", command(c)),
            ReadyCheck::Log { regex } => set(&mut r, "log", regex.clone()),
        }
        set(&mut r, "timeout", duration(ready.timeout));
        set(&mut r, "interval", duration(ready.interval));
        set(&mut m, "ready", Value::Mapping(r));
    }
    let mut restart = Mapping::new();
    set(&mut restart, "policy", svc.restart.to_string());
    if let Some(n) = svc.backoff.max_restarts {
        set(&mut restart, "max_restarts", u64::from(n));
    }
    set(&mut restart, "backoff", duration(svc.backoff.initial));
    set(&mut restart, "backoff_max", duration(svc.backoff.max));
    set(
        &mut restart,
        "reset_after",
        duration(svc.backoff.reset_after),
    );
    set(&mut m, "restart", Value::Mapping(restart));
    set(&mut m, "stop_signal", svc.stop_signal.name());
    set(&mut m, "stop_timeout", duration(svc.stop_timeout));
    if !svc.watch.is_empty() {
        set(&mut m, "watch", strings(&svc.watch));
    }
    if !svc.ignore.is_empty() {
        set(&mut m, "ignore", strings(&svc.ignore));
    }
    let mut rerun = Mapping::new();
    set(&mut rerun, "enabled", svc.rerun.enabled);
    set(&mut rerun, "test", svc.rerun.test);
    set(&mut rerun, "debounce", duration(svc.rerun.debounce));
    set(&mut m, "rerun", Value::Mapping(rerun));
    if let Some(image) = &svc.docker.image {
        let mut docker = Mapping::new();
        set(&mut docker, "image", image.clone());
        set(&mut m, "docker", Value::Mapping(docker));
    }
    m
}

fn vendor(v: &VendorSpec, root: &Path) -> Mapping {
    let mut m = Mapping::new();
    set(&mut m, "image", v.image.clone());
    for (key, cmd) in [("command", &v.command), ("entrypoint", &v.entrypoint)] {
        if let Some(cmd) = cmd {
            set(&mut m, key, command(cmd));
        }
    }
    if !v.ports.is_empty() {
        let ports = v
            .ports
            .iter()
            .map(|p| Value::String(format!("{}:{}", p.host, p.container)));
        set(&mut m, "ports", Value::Sequence(ports.collect()));
    }
    if !v.env.is_empty() {
        set(&mut m, "env", env(&v.env));
    }
    if !v.volumes.is_empty() {
        let volumes = v.volumes.iter().map(|vol| {
            let source = match &vol.source {
                VolumeSource::Named(name) => name.clone(),
                // Relative to the project, as written, when it is inside it.
                VolumeSource::Bind(path) => path.strip_prefix(root).map_or_else(
                    |_| path.display().to_string(),
                    |rel| format!("./{}", rel.display()),
                ),
            };
            let ro = if vol.read_only { ":ro" } else { "" };
            Value::String(format!("{source}:{}{ro}", vol.target))
        });
        set(&mut m, "volumes", Value::Sequence(volumes.collect()));
    }
    if let Some(ready) = &v.ready {
        let mut r = Mapping::new();
        match ready {
            VendorReady::Tcp(port) => set(&mut r, "tcp", u64::from(*port)),
            VendorReady::Http(url) => set(&mut r, "http", url.clone()),
            VendorReady::Exec(c) => set(&mut r, "exec", command(c)),
            VendorReady::Healthcheck => set(&mut r, "healthcheck", true),
        }
        set(&mut r, "timeout", duration(v.ready_timeout));
        set(&mut m, "ready", Value::Mapping(r));
    }
    set(&mut m, "restart", v.restart.to_string());
    set(&mut m, "stop_timeout", duration(v.stop_timeout));
    m
}

fn set(m: &mut Mapping, key: &str, value: impl Into<Value>) {
    m.insert(Value::String(key.to_owned()), value.into());
}

/// A command as written in the files: a string for `sh -c`, a list run directly.
fn command(c: &CommandSpec) -> Value {
    match c {
        CommandSpec::Shell(s) => Value::String(s.clone()),
        CommandSpec::Exec(argv) => strings(argv),
    }
}

fn commands(cs: &[CommandSpec]) -> Value {
    Value::Sequence(cs.iter().map(command).collect())
}

fn strings(items: &[String]) -> Value {
    Value::Sequence(items.iter().cloned().map(Value::String).collect())
}

fn env(env: &Env) -> Value {
    let mut m = Mapping::new();
    for (k, v) in env {
        set(&mut m, k, v.clone());
    }
    Value::Mapping(m)
}

/// `env` less the variables that one of `injected` sets to the same value.
fn without(env: &Env, injected: &[Env]) -> Env {
    env.iter()
        .filter(|(k, v)| !injected.iter().any(|i| i.get(*k) == Some(*v)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn duration(d: Duration) -> String {
    HumanDuration(d).to_string()
}
