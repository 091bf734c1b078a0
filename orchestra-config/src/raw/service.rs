//! A `service.yml` (or the `defaults:` of orchestra.yml) as written, checked key by key.

use std::time::Duration;

use orchestra_core::Signal;
use orchestra_core::name::ServiceName;
use orchestra_core::policy::RestartPolicy;
use orchestra_core::scale::{MAX_REPLICAS, replica_count};
use orchestra_core::spec::CommandSpec;

use super::env_file::{self, EnvFileRef};
use super::ready::{self, RawReady};
use crate::node::Node;
use crate::read::{self, Ctx, EnvEntry, Located};
use crate::source::{Seg, Target};
use crate::suggest::did_you_mean;

/// The keys of a service.yml.
pub(crate) const KEYS: &[&str] = &[
    "name",
    "env",
    "env_file",
    "scale",
    "port",
    "build",
    "run",
    "test",
    "acceptance",
    "depends_on",
    "ready",
    "restart",
    "stop_signal",
    "stop_timeout",
    "watch",
    "ignore",
    "rerun",
    "docker",
    "task",
];

pub(crate) const RESTART_KEYS: &[&str] = &[
    "policy",
    "max_restarts",
    "backoff",
    "backoff_max",
    "reset_after",
];
pub(crate) const RERUN_KEYS: &[&str] = &["enabled", "test", "debounce"];
pub(crate) const DOCKER_KEYS: &[&str] = &["image"];
pub(crate) const TASK_KEYS: &[&str] = &["timeout"];

/// Keys that make no sense beside `task: true`, with why, for the error.
const NOT_FOR_TASKS: &[(&str, &str)] = &[
    ("scale", "a task runs once, with one replica"),
    (
        "port",
        "a task serves nothing; its dependants wait for it to exit 0",
    ),
    ("ready", "a task is ready when it exits 0"),
];

/// `restart:` as written: a policy name, or a map that also tunes the backoff.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawRestart {
    pub policy: Option<RestartPolicy>,
    pub max_restarts: Option<u32>,
    pub initial: Option<Duration>,
    pub max: Option<Duration>,
    pub reset_after: Option<Duration>,
}

/// `rerun:` as written.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawRerun {
    pub enabled: Option<bool>,
    pub test: Option<bool>,
    pub debounce: Option<Duration>,
}

/// `task:` as written: `true`, or a map that sets its timeout.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawTask {
    pub timeout: Option<Duration>,
}

/// `docker.image`: `null` (a minimal image built from the binary) or an image to use.
#[derive(Debug, Clone, Default)]
pub(crate) struct DockerImage(pub Option<String>);

/// Every key of a service.yml, each optional so that `defaults:` can fill the gaps.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawService {
    pub name: Option<Located<ServiceName>>,
    pub env: Option<Vec<EnvEntry>>,
    pub env_file: Option<Vec<EnvFileRef>>,
    pub scale: Option<u32>,
    pub port: Option<Located<String>>,
    pub build: Option<CommandSpec>,
    pub run: Option<CommandSpec>,
    pub test: Option<CommandSpec>,
    pub acceptance: Option<CommandSpec>,
    pub depends_on: Option<Vec<Located<String>>>,
    pub ready: Option<RawReady>,
    pub restart: Option<RawRestart>,
    pub stop_signal: Option<Signal>,
    pub stop_timeout: Option<Duration>,
    pub watch: Option<Vec<String>>,
    pub ignore: Option<Vec<String>>,
    pub rerun: Option<RawRerun>,
    pub docker: Option<DockerImage>,
    /// Set when the service is a run-once task. Never taken from `defaults:`.
    pub task: Option<RawTask>,
    /// Whether `run` was written, even if wrongly (so a missing `run` is not reported too).
    pub run_written: bool,
}

impl RawService {
    /// This service's settings, with `defaults` filling what it leaves out. Env maps merge,
    /// the service's variables winning.
    pub fn with_defaults(mut self, defaults: &RawService) -> RawService {
        macro_rules! fill {
            ($($field:ident),*) => {
                $(if self.$field.is_none() { self.$field = defaults.$field.clone(); })*
            };
        }
        fill!(
            env_file,
            scale,
            port,
            build,
            run,
            test,
            acceptance,
            depends_on,
            ready,
            restart,
            stop_signal,
            stop_timeout,
            watch,
            ignore,
            rerun,
            docker
        );
        self.run_written |= defaults.run_written;
        if let Some(default_env) = &defaults.env {
            let mut env = default_env.clone();
            env.extend(self.env.take().unwrap_or_default());
            self.env = Some(env);
        }
        self
    }
}

/// Reads a service.yml document (or `defaults:`, at `path`).
pub(crate) fn read(ctx: &mut Ctx<'_>, node: &Node, path: &[Seg]) -> Option<RawService> {
    let f = read::fields(ctx, node, path, KEYS, "service setting")?;
    let mut s = RawService::default();
    if let Some((n, p)) = f.get("name")
        && let Some(text) = read::nonempty(ctx, n, &p)
    {
        match ServiceName::new(text.clone()) {
            Ok(name) => s.name = Some(ctx.located(name, &p)),
            Err(e) => {
                let message = format!("`{text}` in {} is not a valid service name", ctx.name());
                ctx.error(
                    &p,
                    Target::Value,
                    message,
                    &e.to_string(),
                    Some(
                        "names are letters, digits, `-` and `_`, starting with a letter or digit"
                            .into(),
                    ),
                );
            }
        }
    }
    s.run_written = f.get("run").is_some();
    if let Some((n, p)) = f.get("task") {
        s.task = task(ctx, n, &p);
        if !path.is_empty() && s.task.is_some() {
            let message = format!("`task` cannot be a default in {}", ctx.name());
            let help = "set `task: true` in the service.yml of each run-once service";
            ctx.error(
                &p,
                Target::Key,
                message,
                "would make every service a task",
                Some(help.into()),
            );
        }
    }

    s.env = f.get("env").map(|(n, p)| read::env_map(ctx, n, &p));
    s.env_file = f.get("env_file").map(|(n, p)| env_file::read(ctx, n, &p));
    s.scale = f.get("scale").and_then(|(n, p)| scale(ctx, n, &p));
    s.port = f.get("port").and_then(|(n, p)| port(ctx, n, &p));
    for (key, slot) in [
        ("build", &mut s.build),
        ("run", &mut s.run),
        ("test", &mut s.test),
        ("acceptance", &mut s.acceptance),
    ] {
        *slot = f.get(key).and_then(|(n, p)| read::command(ctx, n, &p));
    }
    s.depends_on = f.get("depends_on").map(|(n, p)| read::strings(ctx, n, &p));
    s.ready = f.get("ready").and_then(|(n, p)| ready::read(ctx, n, &p));
    s.restart = f.get("restart").and_then(|(n, p)| restart(ctx, n, &p));
    s.stop_signal = f
        .get("stop_signal")
        .and_then(|(n, p)| read::signal(ctx, n, &p));
    s.stop_timeout = f
        .get("stop_timeout")
        .and_then(|(n, p)| read::duration(ctx, n, &p));
    s.watch = f.get("watch").map(|(n, p)| read::globs(ctx, n, &p));
    s.ignore = f.get("ignore").map(|(n, p)| read::globs(ctx, n, &p));
    s.rerun = f.get("rerun").and_then(|(n, p)| rerun(ctx, n, &p));
    if let Some((n, p)) = f.get("docker")
        && let Some(d) = read::fields(ctx, n, &p, DOCKER_KEYS, "docker setting")
    {
        s.docker = Some(DockerImage(match d.get("image") {
            Some((Node::Null, _)) | None => None,
            Some((n, p)) => read::nonempty(ctx, n, &p),
        }));
    }
    if s.task.is_some() {
        not_for_tasks(ctx, &f, s.restart.as_ref());
    }
    Some(s)
}

/// `task: true`, `task: false` or `task: {timeout: 5m}`; `None` when not a task.
fn task(ctx: &mut Ctx<'_>, node: &Node, path: &[Seg]) -> Option<RawTask> {
    match node {
        Node::Bool(true) => Some(RawTask::default()),
        Node::Map(_) => {
            let f = read::fields(ctx, node, path, TASK_KEYS, "task setting")?;
            Some(RawTask {
                timeout: f
                    .get("timeout")
                    .and_then(|(n, p)| read::duration(ctx, n, &p)),
            })
        }
        Node::Bool(false) => None,
        other => {
            ctx.wrong_type(path, other, "`true`, `false` or a map like `{timeout: 5m}`");
            None
        }
    }
}

/// Reports the keys written beside `task: true` that a task cannot have: `scale`, `port`,
/// `ready`, and a `restart` policy other than `never`.
fn not_for_tasks(ctx: &mut Ctx<'_>, f: &read::Fields<'_>, restart: Option<&RawRestart>) {
    for (key, why) in NOT_FOR_TASKS {
        if let Some((_, p)) = f.get(key) {
            let message = format!(
                "`{key}` is not for a task: {} says `task: true`",
                ctx.name()
            );
            let help = format!("remove `{key}`: {why}");
            ctx.error(&p, Target::Key, message, "not for a task", Some(help));
        }
    }
    // A policy that could not be read was reported already.
    if let (Some((_, p)), Some(restart)) = (f.get("restart"), restart)
        && restart.policy != Some(RestartPolicy::Never)
    {
        let message = format!(
            "`restart` is not for a task: {} says `task: true`",
            ctx.name()
        );
        let help =
            "remove `restart`: a task runs once; `orchestra restart` runs it again on demand";
        ctx.error(
            &p,
            Target::Key,
            message,
            "not for a task",
            Some(help.into()),
        );
    }
}

/// A port: a number in 1..=65535, or a string to interpolate (`$USERS_PORT`).
pub(crate) fn port(ctx: &mut Ctx<'_>, node: &Node, path: &[Seg]) -> Option<Located<String>> {
    let text = match node {
        Node::Int(_) => read::integer(ctx, node, path, 1, 65535)?.to_string(),
        Node::Str(_) => {
            let s = read::nonempty(ctx, node, path)?;
            if !read::check_template(ctx, &s, path) {
                return None;
            }
            if !s.contains('$') {
                parse_port(ctx, &s, path)?;
            }
            s
        }
        other => {
            ctx.wrong_type(path, other, "a port number");
            return None;
        }
    };
    Some(ctx.located(text, path))
}

/// Parses port text, reporting a problem at `path` when it is not a port.
pub(crate) fn parse_port(ctx: &mut Ctx<'_>, text: &str, path: &[Seg]) -> Option<u16> {
    match text.trim().parse::<u16>() {
        Ok(p) if p > 0 => Some(p),
        _ => {
            let message = format!("`{text}` in {} is not a port", ctx.name());
            ctx.error(path, Target::Value, message, "expected 1 to 65535", None);
            None
        }
    }
}

/// A replica count: a whole number from 0 to the one limit every count obeys.
fn scale(ctx: &mut Ctx<'_>, node: &Node, path: &[Seg]) -> Option<u32> {
    let n = read::integer(ctx, node, path, 0, i128::MAX)?;
    match replica_count(u64::try_from(n).unwrap_or(u64::MAX)) {
        Ok(n) => Some(n),
        Err(e) => {
            let message = format!("`scale` in {}: {e}", ctx.name());
            let label = format!("must be at most {MAX_REPLICAS}");
            let help = format!("ask for at most {MAX_REPLICAS} replicas");
            ctx.error(path, Target::Value, message, &label, Some(help));
            None
        }
    }
}

fn policy(ctx: &mut Ctx<'_>, node: &Node, path: &[Seg]) -> Option<RestartPolicy> {
    let text = read::string(ctx, node, path)?;
    match text.parse::<RestartPolicy>() {
        Ok(p) => Some(p),
        Err(e) => {
            let message = format!("`restart` in {}: {e}", ctx.name());
            let help = did_you_mean(&text, RestartPolicy::NAMES)
                .unwrap_or_else(|| "use `always`, `on-failure` or `never`".into());
            ctx.error(path, Target::Value, message, "unknown policy", Some(help));
            None
        }
    }
}

fn restart(ctx: &mut Ctx<'_>, node: &Node, path: &[Seg]) -> Option<RawRestart> {
    if !matches!(node, Node::Map(_)) {
        return policy(ctx, node, path).map(|p| RawRestart {
            policy: Some(p),
            ..RawRestart::default()
        });
    }
    let f = read::fields(ctx, node, path, RESTART_KEYS, "restart setting")?;
    Some(RawRestart {
        policy: f.get("policy").and_then(|(n, p)| policy(ctx, n, &p)),
        max_restarts: f
            .get("max_restarts")
            .and_then(|(n, p)| read::integer(ctx, n, &p, 0, i128::from(u32::MAX)))
            .map(|n| n as u32),
        initial: f
            .get("backoff")
            .and_then(|(n, p)| read::duration(ctx, n, &p)),
        max: f
            .get("backoff_max")
            .and_then(|(n, p)| read::duration(ctx, n, &p)),
        reset_after: f
            .get("reset_after")
            .and_then(|(n, p)| read::duration(ctx, n, &p)),
    })
}

fn rerun(ctx: &mut Ctx<'_>, node: &Node, path: &[Seg]) -> Option<RawRerun> {
    if let Node::Bool(b) = node {
        return Some(RawRerun {
            enabled: Some(*b),
            ..RawRerun::default()
        });
    }
    if !matches!(node, Node::Map(_) | Node::Null) {
        ctx.wrong_type(path, node, "`true`, `false` or a map");
        return None;
    }
    let f = read::fields(ctx, node, path, RERUN_KEYS, "rerun setting")?;
    // Writing the map form (`rerun: {test: true}`) means rerun is wanted, unless it says
    // `enabled: false`.
    let enabled = match f.get("enabled") {
        Some((n, p)) => read::boolean(ctx, n, &p),
        None => Some(matches!(node, Node::Map(_))),
    };
    Some(RawRerun {
        enabled,
        test: f.get("test").and_then(|(n, p)| read::boolean(ctx, n, &p)),
        debounce: f
            .get("debounce")
            .and_then(|(n, p)| read::duration(ctx, n, &p)),
    })
}
