//! One entry of `vendors:` in orchestra.yml: a third-party container.

use std::path::Path;
use std::time::Duration;

use orchestra_core::name::VendorName;
use orchestra_core::policy::RestartPolicy;
use orchestra_core::spec::{CommandSpec, VendorReady, VolumeMount, VolumeSource};

use super::env_file::{self, EnvFileRef};
use super::vendor_port;
use crate::node::Node;
use crate::read::{self, Ctx, EnvEntry, Located};
use crate::source::{Seg, Target};

pub(crate) const KEYS: &[&str] = &[
    "image",
    "command",
    "entrypoint",
    "ports",
    "env",
    "env_file",
    "volumes",
    "ready",
    "restart",
    "stop_timeout",
];
pub(crate) const READY_KEYS: &[&str] = &["tcp", "http", "exec", "healthcheck", "timeout"];

/// A vendor as written.
#[derive(Debug, Clone)]
pub(crate) struct RawVendor {
    pub name: Located<VendorName>,
    pub image: Located<String>,
    pub command: Option<CommandSpec>,
    pub entrypoint: Option<CommandSpec>,
    pub ports: Vec<Located<String>>,
    pub env: Vec<EnvEntry>,
    pub env_file: Vec<EnvFileRef>,
    pub volumes: Vec<Located<String>>,
    pub ready: Option<VendorReady>,
    pub ready_timeout: Option<Duration>,
    pub restart: Option<RestartPolicy>,
    pub stop_timeout: Option<Duration>,
}

/// Reads the vendor `name` at `path`.
pub(crate) fn read(ctx: &mut Ctx<'_>, name: &str, node: &Node, path: &[Seg]) -> Option<RawVendor> {
    let name = match VendorName::new(name) {
        Ok(n) => ctx.located(n, path),
        Err(e) => {
            let message = format!("`{name}` in {} is not a valid vendor name", ctx.name());
            ctx.error(
                path,
                Target::Key,
                message,
                &e.to_string(),
                Some(
                    "names are letters, digits, `-` and `_`, starting with a letter or digit"
                        .into(),
                ),
            );
            return None;
        }
    };
    let f = read::fields(ctx, node, path, KEYS, "vendor setting")?;
    let image = if let Some((n, p)) = f.get("image") {
        read::nonempty(ctx, n, &p).map(|i| ctx.located(i, &p))
    } else {
        let message = format!("vendor `{}` in {} has no `image`", name.value, ctx.name());
        let help = format!(
            "add `image:` with the image to run, e.g. `image: {}:latest`",
            name.value
        );
        ctx.error(path, Target::Key, message, "no image", Some(help));
        None
    };
    let command = f
        .get("command")
        .and_then(|(n, p)| read::command(ctx, n, &p));
    let entrypoint = f
        .get("entrypoint")
        .and_then(|(n, p)| read::command(ctx, n, &p));
    let ports = f
        .get("ports")
        .map(|(n, p)| vendor_port::read(ctx, n, &p))
        .unwrap_or_default();
    let env = f
        .get("env")
        .map(|(n, p)| read::env_map(ctx, n, &p))
        .unwrap_or_default();
    let env_file = f
        .get("env_file")
        .map(|(n, p)| env_file::read(ctx, n, &p))
        .unwrap_or_default();
    let volumes = f
        .get("volumes")
        .map(|(n, p)| read::strings(ctx, n, &p))
        .unwrap_or_default();
    for volume in &volumes {
        if let Err(e) = parse_volume(&volume.value, Path::new("/")) {
            let message = format!("`{}` in {} is not a volume", volume.value, ctx.name());
            let help = "write `NAME:/path`, `./dir:/path` or `/abs/dir:/path:ro`";
            ctx.error(
                &volume.origin.path,
                Target::Value,
                message,
                &e,
                Some(help.into()),
            );
        }
    }
    let (ready, ready_timeout) = match f.get("ready") {
        Some((n, p)) => vendor_ready(ctx, n, &p),
        None => (None, None),
    };
    let restart = f.get("restart").and_then(|(n, p)| {
        let text = read::string(ctx, n, &p)?;
        text.parse::<RestartPolicy>()
            .map_err(|e| {
                let message = format!("`restart` of vendor `{}`: {e}", name.value);
                ctx.error(&p, Target::Value, message, "unknown policy", None);
            })
            .ok()
    });
    let stop_timeout = f
        .get("stop_timeout")
        .and_then(|(n, p)| read::duration(ctx, n, &p));
    Some(RawVendor {
        name,
        image: image?,
        command,
        entrypoint,
        ports,
        env,
        env_file,
        volumes,
        ready,
        ready_timeout,
        restart,
        stop_timeout,
    })
}

fn vendor_ready(
    ctx: &mut Ctx<'_>,
    node: &Node,
    path: &[Seg],
) -> (Option<VendorReady>, Option<Duration>) {
    let Some(f) = read::fields(ctx, node, path, READY_KEYS, "vendor readiness setting") else {
        return (None, None);
    };
    let timeout = f
        .get("timeout")
        .and_then(|(n, p)| read::duration(ctx, n, &p));
    let checks: Vec<&str> = ["tcp", "http", "exec", "healthcheck"]
        .into_iter()
        .filter(|k| f.get(k).is_some())
        .collect();
    if checks.len() != 1 {
        let message = format!(
            "`ready` of a vendor in {} needs exactly one check",
            ctx.name()
        );
        let help = "give one of `tcp: PORT`, `http: URL`, `exec: CMD` or `healthcheck: true`";
        ctx.error(path, Target::Key, message, "here", Some(help.into()));
        return (None, timeout);
    }
    let ready = match checks[0] {
        "tcp" => f.get("tcp").and_then(|(n, p)| {
            read::integer(ctx, n, &p, 1, 65535).map(|n| VendorReady::Tcp(n as u16))
        }),
        "http" => f.get("http").and_then(|(n, p)| {
            let url = read::nonempty(ctx, n, &p)?;
            read::check_template(ctx, &url, &p).then_some(VendorReady::Http(url))
        }),
        "exec" => f
            .get("exec")
            .and_then(|(n, p)| read::command(ctx, n, &p))
            .map(VendorReady::Exec),
        _ => f
            .get("healthcheck")
            .and_then(|(n, p)| read::boolean(ctx, n, &p)?.then_some(VendorReady::Healthcheck)),
    };
    (ready, timeout)
}

/// `name:/path`, `./rel:/path`, `/abs:/path:ro`; relative host paths are joined to `root`.
pub(crate) fn parse_volume(text: &str, root: &Path) -> Result<VolumeMount, String> {
    let parts: Vec<&str> = text.split(':').collect();
    let (source, target, read_only) = match parts.as_slice() {
        [s, t] | [s, t, "rw"] => (*s, *t, false),
        [s, t, "ro"] => (*s, *t, true),
        [_, _, mode] => return Err(format!("`{mode}` is not a mode (`ro` or `rw`)")),
        _ => return Err("expected `SOURCE:TARGET`".into()),
    };
    if !target.starts_with('/') {
        return Err(format!(
            "`{target}` is not an absolute path in the container"
        ));
    }
    if source.is_empty() {
        return Err("the source is empty".into());
    }
    let source = if source.starts_with('/') {
        VolumeSource::Bind(source.into())
    } else if let Some(home_relative) = source.strip_prefix("~/") {
        let home = std::env::var_os("HOME").map_or_else(|| root.to_path_buf(), Into::into);
        VolumeSource::Bind(clean(&home.join(home_relative)))
    } else if source.starts_with('.') || source.contains('/') {
        VolumeSource::Bind(clean(&root.join(source)))
    } else {
        orchestra_core::name::validate_name(source).map_err(|e| e.to_string())?;
        VolumeSource::Named(source.to_owned())
    };
    Ok(VolumeMount {
        source,
        target: target.to_owned(),
        read_only,
    })
}

/// `path` without `.` components and with `..` applied, so specs show plain paths.
fn clean(path: &Path) -> std::path::PathBuf {
    let mut out = std::path::PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}
