//! Readers of single values: strings, numbers, durations, signals, commands, lists, globs.

use std::time::Duration;

use orchestra_core::spec::CommandSpec;
use orchestra_core::{Signal, parse_duration};

use super::{Ctx, Located, display_path};
use crate::node::Node;
use crate::source::{Seg, Target, item};
use crate::suggest::did_you_mean;

/// A string; numbers and booleans are taken as written (`image: 16` is "16").
pub(crate) fn string(ctx: &mut Ctx<'_>, node: &Node, path: &[Seg]) -> Option<String> {
    match node {
        Node::Str(s) if s.contains('\0') => {
            nul_byte(ctx, path);
            None
        }
        Node::Str(s) => Some(s.clone()),
        Node::Int(_) | Node::Float(_) | Node::Bool(_) => node.scalar_text(),
        other => {
            ctx.wrong_type(path, other, "a string");
            None
        }
    }
}

/// Records a string holding a NUL byte (`"\0"`): no command line, path or environment
/// variable can carry one, so it would fail at every spawn instead of once, here.
pub(super) fn nul_byte(ctx: &mut Ctx<'_>, path: &[Seg]) {
    let message = format!(
        "`{}` in {} holds a NUL byte",
        display_path(path),
        ctx.name()
    );
    let help =
        "remove the `\\0` (or `\\x00`): commands, paths and environment variables cannot hold one";
    ctx.error(path, Target::Value, message, "NUL byte", Some(help.into()));
}

/// A non-empty string.
pub(crate) fn nonempty(ctx: &mut Ctx<'_>, node: &Node, path: &[Seg]) -> Option<String> {
    let s = string(ctx, node, path)?;
    if s.trim().is_empty() {
        let message = format!("`{}` in {} is empty", display_path(path), ctx.name());
        ctx.error(path, Target::Value, message, "empty", None);
        return None;
    }
    Some(s)
}

/// A boolean.
pub(crate) fn boolean(ctx: &mut Ctx<'_>, node: &Node, path: &[Seg]) -> Option<bool> {
    if let Node::Bool(b) = node {
        return Some(*b);
    }
    ctx.wrong_type(path, node, "`true` or `false`");
    None
}

/// A whole number in `min..=max`.
pub(crate) fn integer(
    ctx: &mut Ctx<'_>,
    node: &Node,
    path: &[Seg],
    min: i128,
    max: i128,
) -> Option<i128> {
    let Node::Int(n) = node else {
        ctx.wrong_type(path, node, "a whole number");
        return None;
    };
    if (min..=max).contains(n) {
        return Some(*n);
    }
    let message = format!(
        "`{}` in {} is {n}, out of range",
        display_path(path),
        ctx.name()
    );
    let label = if *n < min {
        format!("must be at least {min}")
    } else {
        format!("must be at most {max}")
    };
    ctx.error(path, Target::Value, message, &label, None);
    None
}

/// A duration like `10s`; a bare `0` is accepted.
pub(crate) fn duration(ctx: &mut Ctx<'_>, node: &Node, path: &[Seg]) -> Option<Duration> {
    let text = match node {
        Node::Str(s) => s.clone(),
        Node::Int(0) => return Some(Duration::ZERO),
        Node::Int(n) => {
            let message = format!("`{}` in {} needs a unit", display_path(path), ctx.name());
            let help = format!("write `{n}s` for seconds or `{n}ms` for milliseconds");
            ctx.error(path, Target::Value, message, "no unit", Some(help));
            return None;
        }
        other => {
            ctx.wrong_type(path, other, "a duration like `10s`");
            return None;
        }
    };
    match parse_duration(&text) {
        Ok(d) => Some(d),
        Err(e) => {
            let message = format!("`{}` in {}: {e}", display_path(path), ctx.name());
            let help = "durations are written like `250ms`, `10s`, `1m30s` or `2h`".to_owned();
            ctx.error(path, Target::Value, message, "not a duration", Some(help));
            None
        }
    }
}

/// A signal name like `SIGTERM` or `term`.
pub(crate) fn signal(ctx: &mut Ctx<'_>, node: &Node, path: &[Seg]) -> Option<Signal> {
    let text = string(ctx, node, path)?;
    match text.parse::<Signal>() {
        Ok(s) => Some(s),
        Err(e) => {
            let upper = text.trim().to_ascii_uppercase();
            let full = if upper.starts_with("SIG") {
                upper
            } else {
                format!("SIG{upper}")
            };
            let help = did_you_mean(&full, Signal::names())
                .unwrap_or_else(|| "use a name such as SIGTERM, SIGINT or SIGQUIT".into());
            let message = format!("`{}` in {}: {e}", display_path(path), ctx.name());
            ctx.error(path, Target::Value, message, "unknown signal", Some(help));
            None
        }
    }
}

/// A command: a string for `sh -c`, or a list executed directly.
pub(crate) fn command(ctx: &mut Ctx<'_>, node: &Node, path: &[Seg]) -> Option<CommandSpec> {
    match node {
        Node::Seq(items) => {
            let argv: Option<Vec<String>> = items
                .iter()
                .enumerate()
                .map(|(i, n)| string(ctx, n, &item(path, i)))
                .collect();
            let argv = argv?;
            if argv.first().is_none_or(String::is_empty) {
                let message = format!(
                    "`{}` in {} names no program",
                    display_path(path),
                    ctx.name()
                );
                ctx.error(path, Target::Value, message, "empty command", None);
                return None;
            }
            Some(CommandSpec::Exec(argv))
        }
        Node::Str(_) => nonempty(ctx, node, path).map(CommandSpec::Shell),
        other => {
            ctx.wrong_type(path, other, "a command (a string, or a list of arguments)");
            None
        }
    }
}

/// Hooks: one command or a list of commands.
pub(crate) fn commands(ctx: &mut Ctx<'_>, node: &Node, path: &[Seg]) -> Vec<CommandSpec> {
    match node {
        Node::Null => Vec::new(),
        Node::Seq(items) => items
            .iter()
            .enumerate()
            .filter_map(|(i, n)| command(ctx, n, &item(path, i)))
            .collect(),
        other => command(ctx, other, path).into_iter().collect(),
    }
}

/// A list of strings; a single string is a list of one.
pub(crate) fn strings(ctx: &mut Ctx<'_>, node: &Node, path: &[Seg]) -> Vec<Located<String>> {
    match node {
        Node::Null => Vec::new(),
        Node::Seq(items) => items
            .iter()
            .enumerate()
            .filter_map(|(i, n)| {
                let p = item(path, i);
                nonempty(ctx, n, &p).map(|s| ctx.located(s, &p))
            })
            .collect(),
        other => nonempty(ctx, other, path)
            .map(|s| ctx.located(s, path))
            .into_iter()
            .collect(),
    }
}

/// A list of globs, each checked by globset.
pub(crate) fn globs(ctx: &mut Ctx<'_>, node: &Node, path: &[Seg]) -> Vec<String> {
    strings(ctx, node, path)
        .into_iter()
        .filter_map(|g| match globset::Glob::new(&g.value) {
            Ok(_) => Some(g.value),
            Err(e) => {
                let message = format!("bad glob `{}` in {}", g.value, ctx.name());
                let label = e.kind().to_string();
                ctx.error(&g.origin.path, Target::Value, message, &label, None);
                None
            }
        })
        .collect()
}
