//! `ready:` of a service: `{tcp: PORT}`, `{http: URL}`, `{exec: CMD}` or `{log: REGEX}`, each
//! with an optional `timeout` and `interval`.

use std::time::Duration;

use crate::node::Node;
use crate::read::{self, Ctx, Located};
use crate::source::{Seg, Target};

pub(crate) const KEYS: &[&str] = &["tcp", "http", "exec", "log", "host", "timeout", "interval"];
const CHECKS: &[&str] = &["tcp", "http", "exec", "log"];

/// What a service's probe checks, as written.
#[derive(Debug, Clone)]
pub(crate) enum RawCheck {
    /// Host and port text (the port may be `$PORT`).
    Tcp {
        host: Located<String>,
        port: Located<String>,
    },
    Http(Located<String>),
    Exec(orchestra_core::spec::CommandSpec),
    Log(String),
}

/// A service's `ready:` as written.
#[derive(Debug, Clone)]
pub(crate) struct RawReady {
    pub check: RawCheck,
    pub timeout: Option<Duration>,
    pub interval: Option<Duration>,
}

/// Reads `ready:`.
pub(crate) fn read(ctx: &mut Ctx<'_>, node: &Node, path: &[Seg]) -> Option<RawReady> {
    if let Node::Str(_) = node {
        let message = format!("`ready` in {} must be a map", ctx.name());
        let help =
            "write `ready: { tcp: $PORT }`, `{ http: URL }`, `{ exec: CMD }` or `{ log: REGEX }`";
        ctx.error(
            path,
            Target::Value,
            message,
            "expected a map",
            Some(help.into()),
        );
        return None;
    }
    let f = read::fields(ctx, node, path, KEYS, "readiness setting")?;
    let present: Vec<&str> = CHECKS
        .iter()
        .copied()
        .filter(|k| f.get(k).is_some())
        .collect();
    let timeout = f
        .get("timeout")
        .and_then(|(n, p)| read::duration(ctx, n, &p));
    let interval = f
        .get("interval")
        .and_then(|(n, p)| read::duration(ctx, n, &p));
    if present.len() != 1 {
        let message = if present.is_empty() {
            format!("`ready` in {} says nothing to check", ctx.name())
        } else {
            format!(
                "`ready` in {} has {} checks",
                ctx.name(),
                present.join(" and ")
            )
        };
        let help = "give exactly one of `tcp`, `http`, `exec` or `log`";
        match present.get(1) {
            Some(second) => {
                let at = crate::source::child(path, second);
                ctx.error(&at, Target::Key, message, "second check", Some(help.into()));
            }
            None => ctx.error(path, Target::Key, message, "no check", Some(help.into())),
        }
        return None;
    }
    let host = match f.get("host") {
        Some((n, p)) => {
            let h = read::nonempty(ctx, n, &p)?;
            ctx.located(h, &p)
        }
        None => ctx.located("127.0.0.1".to_owned(), &f.path),
    };
    let check = match present[0] {
        "tcp" => {
            let (n, p) = f.get("tcp")?;
            let port = match n {
                Node::Int(_) => read::integer(ctx, n, &p, 1, 65535)?.to_string(),
                _ => read::nonempty(ctx, n, &p)?,
            };
            if !read::check_template(ctx, &port, &p) {
                return None;
            }
            RawCheck::Tcp {
                host,
                port: ctx.located(port, &p),
            }
        }
        "http" => {
            let (n, p) = f.get("http")?;
            let url = read::nonempty(ctx, n, &p)?;
            if !read::check_template(ctx, &url, &p) {
                return None;
            }
            RawCheck::Http(ctx.located(url, &p))
        }
        "exec" => {
            let (n, p) = f.get("exec")?;
            RawCheck::Exec(read::command(ctx, n, &p)?)
        }
        _ => {
            let (n, p) = f.get("log")?;
            let re = read::nonempty(ctx, n, &p)?;
            if let Err(e) = regex::Regex::new(&re) {
                let message = format!("bad regular expression in `ready.log` of {}", ctx.name());
                let detail = e.to_string();
                let last = detail.lines().last().unwrap_or("invalid").trim().to_owned();
                ctx.error(&p, Target::Value, message, &last, Some(
                    "the pattern uses Rust regex syntax (https://docs.rs/regex); escape literal characters with `\\`".into(),
                ));
                return None;
            }
            RawCheck::Log(re)
        }
    };
    Some(RawReady {
        check,
        timeout,
        interval,
    })
}
