//! `env_file:` as written: a path, `{path, required}`, or a list of either.

use crate::node::Node;
use crate::read::{self, Ctx, Located};
use crate::source::{Seg, item};

/// The keys of the map form.
pub(crate) const KEYS: &[&str] = &["path", "required"];

/// One dotenv file named in `env_file:`.
#[derive(Debug, Clone)]
pub(crate) struct EnvFileRef {
    /// The path as written, relative to the file that names it.
    pub path: Located<String>,
    /// Whether a missing file is a problem (`required: false` says it may be absent).
    pub required: bool,
}

/// Reads `env_file:`.
pub(crate) fn read(ctx: &mut Ctx<'_>, node: &Node, path: &[Seg]) -> Vec<EnvFileRef> {
    match node {
        Node::Null => Vec::new(),
        Node::Seq(items) => items
            .iter()
            .enumerate()
            .filter_map(|(i, n)| one(ctx, n, &item(path, i)))
            .collect(),
        other => one(ctx, other, path).into_iter().collect(),
    }
}

fn one(ctx: &mut Ctx<'_>, node: &Node, path: &[Seg]) -> Option<EnvFileRef> {
    if !matches!(node, Node::Map(_)) {
        let text = read::nonempty(ctx, node, path)?;
        return Some(EnvFileRef {
            path: ctx.located(text, path),
            required: true,
        });
    }
    let f = read::fields(ctx, node, path, KEYS, "env file setting")?;
    let required = match f.get("required") {
        Some((n, p)) => read::boolean(ctx, n, &p)?,
        None => true,
    };
    let Some((n, p)) = f.get("path") else {
        let message = format!("an `env_file` entry in {} has no `path`", ctx.name());
        let help = "write `{ path: .env.local, required: false }`";
        ctx.error(
            path,
            crate::source::Target::Key,
            message,
            "no path",
            Some(help.into()),
        );
        return None;
    };
    let text = read::nonempty(ctx, n, &p)?;
    Some(EnvFileRef {
        path: ctx.located(text, &p),
        required,
    })
}
