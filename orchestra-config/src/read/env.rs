//! Readers of environments: `env:` maps, their `${}` syntax, and merging them in order.

use orchestra_core::spec::Env;
use orchestra_core::template::{TemplateError, interpolate, is_var_name};

use super::scalar::nul_byte;
use super::{Ctx, Located, Origin, display_path};
use crate::error::Problem;
use crate::node::Node;
use crate::source::{Seg, Target, child};

/// One variable of an `env:` map or a dotenv file.
#[derive(Debug, Clone)]
pub(crate) struct EnvEntry {
    pub key: String,
    pub value: Located<String>,
    /// Taken as written, never interpolated (a single-quoted dotenv value).
    pub literal: bool,
}

/// An `env:` map: names must be variable names, values scalars with valid `${}` syntax.
pub(crate) fn env_map(ctx: &mut Ctx<'_>, node: &Node, path: &[Seg]) -> Vec<EnvEntry> {
    let entries = match node {
        Node::Null => return Vec::new(),
        Node::Map(entries) => entries,
        other => {
            ctx.wrong_type(path, other, "a map of variables (`NAME: value`)");
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for (key, value) in entries {
        let p = child(path, key);
        if !is_var_name(key) {
            let message = format!("`{key}` in {} is not a variable name", ctx.name());
            let help = "variable names are letters, digits and `_`, not starting with a digit";
            ctx.error(&p, Target::Key, message, "bad name", Some(help.into()));
            continue;
        }
        let Some(text) = value.scalar_text() else {
            ctx.wrong_type(&p, value, "a string");
            continue;
        };
        if text.contains('\0') {
            nul_byte(ctx, &p);
            continue;
        }
        if check_template(ctx, &text, &p) {
            out.push(EnvEntry {
                key: key.clone(),
                value: ctx.located(text, &p),
                literal: false,
            });
        }
    }
    out
}

/// Checks the `${}` syntax of a string that will be interpolated.
pub(crate) fn check_template(ctx: &mut Ctx<'_>, text: &str, path: &[Seg]) -> bool {
    match interpolate(text, |_| Some(String::new())) {
        Ok(_) => true,
        Err(e) => {
            let message = format!("`{}` in {}: {e}", display_path(path), ctx.name());
            let help = "write `${NAME}` or `$NAME`, and `$$` for a literal `$`".to_owned();
            ctx.error(
                path,
                Target::Value,
                message,
                "bad `$` substitution",
                Some(help),
            );
            false
        }
    }
}

/// Merges entries into `env` in order, interpolating each once from what is merged so far,
/// then from `fallback`. A variable set nowhere is a problem at the value that uses it.
pub(crate) fn merge_env<'e>(
    env: &mut Env,
    entries: impl IntoIterator<Item = &'e EnvEntry>,
    fallback: &dyn Fn(&str) -> Option<String>,
    problems: &mut Vec<Problem>,
) {
    for entry in entries {
        let raw = &entry.value.value;
        let value = if entry.literal {
            raw.clone()
        } else {
            let filled = interpolate(raw, |k| env.get(k).cloned().or_else(|| fallback(k)));
            match filled {
                Ok(value) => value,
                Err(e) => {
                    problems.push(template_problem(&entry.value.origin, &e, &entry.key));
                    continue;
                }
            }
        };
        env.insert(entry.key.clone(), value);
    }
}

/// The problem of a value at `origin` that could not be interpolated; `used_by` names what
/// the value is (`PASSWORD`, `port`).
pub(crate) fn template_problem(origin: &Origin, e: &TemplateError, used_by: &str) -> Problem {
    match e {
        TemplateError::Unset(name) => origin.unset_problem(name, &format!("used by `{used_by}`")),
        other => origin
            .problem(
                Target::Value,
                format!("`{used_by}` in {}: {other}", origin.file.name),
                "bad `$` substitution",
            )
            .help("write `${NAME}` or `$NAME`, and `$$` for a literal `$`"),
    }
}
