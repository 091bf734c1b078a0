//! A docker-compose.yml into Orchestra's files. A service with `build:` becomes an
//! Orchestra service in its build folder (Go services need no `build`/`run`; others run
//! their `command:`); a service with only `image:` becomes a vendor. Keys with an
//! equivalent are carried over; every other key is named in the notes.

use std::path::{Path, PathBuf};

use yaml_serde::{Mapping, Value};

use super::values::{command, container_port, healthcheck, host_port, str_of, vendor_port, volume};
use super::{Conversion, ServiceFile, sanitize_name, set};

/// Service keys that have no equivalent for a process on the host, said once each.
const HOST_IGNORED: &[&str] = &[
    "volumes",
    "networks",
    "user",
    "working_dir",
    "entrypoint",
    "hostname",
    "labels",
    "logging",
    "cap_add",
    "cap_drop",
    "privileged",
    "extra_hosts",
    "dns",
    "tmpfs",
    "ulimits",
];

/// Converts compose `text`; `root` is the project folder (build contexts are relative to it).
pub fn convert(text: &str, root: &Path) -> Result<Conversion, String> {
    let doc: Value = yaml_serde::from_str(text).map_err(|e| e.to_string())?;
    let services = doc
        .get("services")
        .and_then(Value::as_mapping)
        .ok_or("it has no `services:` map")?;
    let mut c = Conversion::default();
    for key in doc
        .as_mapping()
        .into_iter()
        .flatten()
        .map(|(k, _)| str_of(k))
    {
        if !matches!(key.as_str(), "services" | "version" | "name" | "volumes")
            && !key.starts_with("x-")
        {
            c.notes
                .push(format!("top-level `{key}:` has no equivalent"));
        }
    }
    let mut vendors = Mapping::new();
    for (name, svc) in services {
        let name = str_of(name);
        let orchestra_name = sanitize_name(&name);
        if orchestra_name != name {
            c.notes
                .push(format!("`{name}` is named `{orchestra_name}`"));
        }
        let empty = Mapping::new();
        let svc = svc.as_mapping().unwrap_or(&empty);
        if svc.contains_key("build") {
            let file = service(&orchestra_name, svc, root, &mut c.notes);
            c.services.push(file);
        } else if svc.contains_key("image") {
            let vendor = vendor(&orchestra_name, svc, &mut c.notes);
            vendors.insert(Value::String(orchestra_name), Value::Mapping(vendor));
        } else {
            c.notes.push(format!(
                "`{name}` has neither `build:` nor `image:`: skipped"
            ));
        }
    }
    if !vendors.is_empty() {
        set(&mut c.project, "vendors", Value::Mapping(vendors));
    }
    Ok(c)
}

fn service(name: &str, svc: &Mapping, root: &Path, notes: &mut Vec<String>) -> ServiceFile {
    let context = match svc.get("build") {
        Some(Value::String(dir)) => dir.clone(),
        Some(Value::Mapping(b)) => b.get("context").map_or_else(|| ".".into(), str_of),
        _ => ".".into(),
    };
    let context_dir = clean(Path::new(&context));
    // A service folder is one folder below the project, holding only that service.
    let folder = if context_dir.components().count() == 1 && !context_dir.starts_with("..") {
        context_dir
    } else {
        notes.push(format!(
            "`{name}` is built from `{context}`: its service.yml is in {name}/; move it beside its code, or set `services:` in orchestra.yml"
        ));
        PathBuf::from(name)
    };
    let mut s = Mapping::new();
    if folder.as_os_str() != name {
        set(&mut s, "name", name);
    }
    let dir = root.join(&folder);
    let is_go = orchestra_config::is_go_service(&dir);
    match svc.get("command").and_then(command) {
        Some(cmd) => set(&mut s, "run", cmd),
        None if is_go => {}
        None => notes.push(format!(
            "`{name}` is built with a Dockerfile and has no `command:`: write its `run:` (and `build:`) in {}/service.yml",
            folder.display()
        )),
    }
    if let Some(Value::Mapping(b)) = svc.get("build")
        && (b.contains_key("dockerfile") || b.contains_key("args"))
    {
        notes.push(format!(
            "`{name}`: the Dockerfile build (dockerfile, args) is not run on the host"
        ));
    }
    if let Some(image) = svc.get("image") {
        let mut docker = Mapping::new();
        set(&mut docker, "image", str_of(image));
        set(&mut s, "docker", Value::Mapping(docker));
    }
    env(svc, &mut s);
    if let Some(ports) = svc.get("ports").and_then(Value::as_sequence) {
        let published: Vec<u16> = ports.iter().filter_map(host_port).collect();
        if let Some(first) = published.first() {
            set(&mut s, "port", u64::from(*first));
            if let Some(inside) = ports.first().and_then(container_port)
                && inside != *first
            {
                notes.push(format!(
                    "`{name}` listened on {inside} in its container; on the host it gets PORT={first}: make sure it reads PORT"
                ));
            }
        }
        if ports.len() > 1 || published.len() != ports.len() {
            notes.push(format!(
                "`{name}`: a service has one `port` (replica n gets PORT=port+n); only {} is kept of {}",
                published.first().map_or("none".to_owned(), ToString::to_string),
                ports.iter().map(str_of).collect::<Vec<_>>().join(", ")
            ));
        }
    }
    depends_on(svc, &mut s);
    if let Some(ready) = svc.get("healthcheck").and_then(|h| healthcheck(h, false)) {
        set(&mut s, "ready", ready);
    }
    common(name, svc, &mut s, notes);
    if let Some(n) = svc
        .get("deploy")
        .and_then(|d| d.get("replicas"))
        .or_else(|| svc.get("scale"))
        .and_then(Value::as_u64)
    {
        set(&mut s, "scale", n);
    }
    for key in HOST_IGNORED {
        if svc.contains_key(*key) {
            notes.push(format!(
                "`{name}`: `{key}` has no equivalent for a process on the host"
            ));
        }
    }
    unknown_keys(
        name,
        svc,
        &[
            "build",
            "command",
            "image",
            "environment",
            "env_file",
            "ports",
            "depends_on",
            "healthcheck",
            "restart",
            "stop_signal",
            "stop_grace_period",
            "deploy",
            "scale",
            "container_name",
            "expose",
        ],
        notes,
    );
    ServiceFile {
        folder,
        settings: s,
    }
}

fn vendor(name: &str, svc: &Mapping, notes: &mut Vec<String>) -> Mapping {
    let mut v = Mapping::new();
    set(&mut v, "image", str_of(&svc["image"]));
    for key in ["command", "entrypoint"] {
        if let Some(cmd) = svc.get(key).and_then(command) {
            set(&mut v, key, cmd);
        }
    }
    if let Some(ports) = svc.get("ports").and_then(Value::as_sequence) {
        let kept: Vec<Value> = ports
            .iter()
            .filter_map(|p| vendor_port(name, p, notes))
            .collect();
        set(&mut v, "ports", Value::Sequence(kept));
    }
    env(svc, &mut v);
    if let Some(volumes) = svc.get("volumes").and_then(Value::as_sequence) {
        let kept: Vec<Value> = volumes
            .iter()
            .filter_map(|vol| volume(name, vol, notes))
            .map(Value::String)
            .collect();
        set(&mut v, "volumes", Value::Sequence(kept));
    }
    if let Some(ready) = svc.get("healthcheck").and_then(|h| healthcheck(h, true)) {
        set(&mut v, "ready", ready);
    }
    common(name, svc, &mut v, notes);
    unknown_keys(
        name,
        svc,
        &[
            "image",
            "command",
            "entrypoint",
            "ports",
            "environment",
            "env_file",
            "volumes",
            "healthcheck",
            "restart",
            "stop_grace_period",
            "container_name",
            "stop_signal",
        ],
        notes,
    );
    if svc.contains_key("stop_signal") {
        notes.push(format!(
            "`{name}`: a vendor's `stop_signal` is the image's own"
        ));
    }
    v
}

/// `restart` and `stop_grace_period`, shared by services and vendors.
fn common(name: &str, svc: &Mapping, out: &mut Mapping, notes: &mut Vec<String>) {
    if let Some(policy) = svc.get("restart").map(str_of) {
        let mapped = match policy.split(':').next().unwrap_or("") {
            "no" | "false" => Some("never"),
            "always" | "unless-stopped" => Some("always"),
            "on-failure" => Some("on-failure"),
            _ => None,
        };
        match mapped {
            Some(p) => set(out, "restart", p),
            None => notes.push(format!(
                "`{name}`: restart `{policy}` is not a policy Orchestra knows"
            )),
        }
    }
    if let Some(grace) = svc.get("stop_grace_period").map(str_of) {
        match orchestra_core::parse_duration(&grace) {
            Ok(_) => set(out, "stop_timeout", grace),
            Err(e) => notes.push(format!("`{name}`: stop_grace_period `{grace}`: {e}")),
        }
    }
    if out.get("ready").is_none()
        && let Some(h) = svc.get("healthcheck")
        && h.get("disable").and_then(Value::as_bool) != Some(true)
        && healthcheck(h, false).is_none()
    {
        notes.push(format!(
            "`{name}`: its healthcheck has no test Orchestra can run"
        ));
    }
    if let Some(signal) = svc.get("stop_signal").map(str_of)
        && out.get("image").is_none()
    {
        set(out, "stop_signal", signal);
    }
}

fn unknown_keys(name: &str, svc: &Mapping, known: &[&str], notes: &mut Vec<String>) {
    for key in svc.keys().map(str_of) {
        if !known.contains(&key.as_str()) && !HOST_IGNORED.contains(&key.as_str()) {
            notes.push(format!("`{name}`: `{key}` is not converted"));
        }
    }
}

/// `environment` (a map or `K=V` lines) and `env_file` into `env`/`env_file`.
fn env(svc: &Mapping, out: &mut Mapping) {
    let mut env = Mapping::new();
    match svc.get("environment") {
        Some(Value::Mapping(m)) => {
            for (k, v) in m {
                // `KEY:` with no value passes Orchestra's own environment through, as it
                // always does.
                if !v.is_null() {
                    env.insert(Value::String(str_of(k)), Value::String(str_of(v)));
                }
            }
        }
        Some(Value::Sequence(items)) => {
            for item in items.iter().map(str_of) {
                if let Some((k, v)) = item.split_once('=') {
                    env.insert(Value::String(k.to_owned()), Value::String(v.to_owned()));
                }
            }
        }
        _ => {}
    }
    if !env.is_empty() {
        set(out, "env", Value::Mapping(env));
    }
    let files: Vec<Value> = match svc.get("env_file") {
        Some(Value::String(f)) => vec![Value::String(f.clone())],
        Some(Value::Sequence(items)) => items
            .iter()
            .map(|i| i.get("path").map_or_else(|| str_of(i), str_of))
            .map(Value::String)
            .collect(),
        _ => Vec::new(),
    };
    if !files.is_empty() {
        set(out, "env_file", Value::Sequence(files));
    }
}

fn depends_on(svc: &Mapping, out: &mut Mapping) {
    let names: Vec<Value> = match svc.get("depends_on") {
        Some(Value::Sequence(items)) => items
            .iter()
            .map(|i| Value::String(sanitize_name(&str_of(i))))
            .collect(),
        Some(Value::Mapping(m)) => m
            .keys()
            .map(|k| Value::String(sanitize_name(&str_of(k))))
            .collect(),
        _ => return,
    };
    set(out, "depends_on", Value::Sequence(names));
}

/// `./users/` → `users`.
fn clean(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect()
}
