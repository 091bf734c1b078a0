//! Typed readers over the [`Node`] tree: each takes a node and its key path, returns the
//! value, or records a located [`Problem`] and returns `None` so that reading goes on and
//! every problem of a file is reported at once.

use std::sync::Arc;
use std::time::Duration;

use miette::SourceSpan;

use orchestra_core::spec::{CommandSpec, Env};
use orchestra_core::template::{TemplateError, interpolate, is_var_name};
use orchestra_core::{Signal, parse_duration};

use crate::error::Problem;
use crate::node::Node;
use crate::source::{KeyPath, Seg, SourceFile, Target, child, item};
use crate::suggest::did_you_mean;

/// Problems reported for one file beyond which the rest are summarised: locating each costs
/// a re-parse, and nobody reads the 51st.
const MAX_PROBLEMS_PER_FILE: usize = 50;

/// A value with where it was written, for problems found after reading (at resolution).
#[derive(Debug, Clone)]
pub(crate) struct Located<T> {
    pub value: T,
    pub origin: Origin,
}

/// A place in a file: a key path in a YAML file, or a span of a file that is not YAML (a
/// dotenv file).
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    pub file: Arc<SourceFile>,
    pub path: KeyPath,
    pub span: Option<SourceSpan>,
}

impl Origin {
    /// `value`, said to be written here.
    pub fn located<T>(&self, value: T) -> Located<T> {
        Located {
            value,
            origin: self.clone(),
        }
    }

    /// A problem at this place.
    pub fn problem(&self, target: Target, message: String, label: &str) -> Problem {
        match self.span {
            Some(span) => Problem::new(message).with_span(&self.file, Some(span), label),
            None => Problem::at(&self.file, &self.path, target, message, label),
        }
    }

    /// The problem of a value here that refers to `name`, which is not set: the snippet
    /// points at the `$name` itself when it can be found in the value as written.
    pub fn unset_problem(&self, name: &str, used_by: &str) -> Problem {
        let value = self
            .span
            .or_else(|| self.file.span_of(&self.path, Target::Value));
        let reference = value.and_then(|v| {
            let written = self.file.text.get(v.offset()..v.offset() + v.len())?;
            reference_in(written, name)
                .map(|(at, len)| SourceSpan::new((v.offset() + at).into(), len))
        });
        let message = format!(
            "variable `{name}` is not set ({used_by} in {})",
            self.file.name
        );
        Problem::new(message)
            .with_span(&self.file, reference.or(value), "not set")
            .help(format!(
                "set `{name}` (in Orchestra's environment, an `env_file` or an `env:` map), \
                 give it a fallback with `${{{name}:-default}}`, or write `$$` for a literal `$`"
            ))
    }
}

/// Where `$name` or `${name…}` is written in `text`: offset and length.
fn reference_in(text: &str, name: &str) -> Option<(usize, usize)> {
    let braced = format!("${{{name}");
    if let Some(at) = text.find(&braced) {
        let len = text[at..].find('}').map_or(braced.len(), |n| n + 1);
        return Some((at, len));
    }
    let plain = format!("${name}");
    text.match_indices(&plain)
        .find(|(at, _)| {
            let after = text[at + plain.len()..].chars().next();
            !after.is_some_and(|c| c == '_' || c.is_ascii_alphanumeric())
        })
        .map(|(at, _)| (at, plain.len()))
}

/// The reading of one file: where problems go.
pub(crate) struct Ctx<'a> {
    pub file: Arc<SourceFile>,
    problems: &'a mut Vec<Problem>,
    count: usize,
}

impl<'a> Ctx<'a> {
    pub fn new(file: Arc<SourceFile>, problems: &'a mut Vec<Problem>) -> Self {
        Self {
            file,
            problems,
            count: 0,
        }
    }

    /// The file's name as shown in messages.
    pub fn name(&self) -> &str {
        &self.file.name
    }

    pub fn origin(&self, path: &[Seg]) -> Origin {
        Origin {
            file: Arc::clone(&self.file),
            path: path.to_vec(),
            span: None,
        }
    }

    pub fn located<T>(&self, value: T, path: &[Seg]) -> Located<T> {
        Located {
            value,
            origin: self.origin(path),
        }
    }

    /// Records a problem; `build` runs only while under the per-file cap.
    pub fn report(&mut self, build: impl FnOnce(&SourceFile) -> Problem) {
        self.count += 1;
        if self.count <= MAX_PROBLEMS_PER_FILE {
            self.problems.push(build(&self.file));
        } else if self.count == MAX_PROBLEMS_PER_FILE + 1 {
            self.problems.push(Problem::new(format!(
                "more problems in {} (only the first {MAX_PROBLEMS_PER_FILE} are shown)",
                self.file.name
            )));
        }
    }

    /// Records a problem at `path`.
    pub fn error(
        &mut self,
        path: &[Seg],
        target: Target,
        message: String,
        label: &str,
        help: Option<String>,
    ) {
        self.report(|f| Problem::at(f, path, target, message, label).maybe_help(help));
    }

    /// Records "`key` must be X, not Y".
    pub fn wrong_type(&mut self, path: &[Seg], node: &Node, expected: &str) {
        let message = if path.is_empty() {
            format!("{} must be {expected}, not {}", self.name(), node.kind())
        } else {
            format!(
                "`{}` in {} must be {expected}, not {}",
                display_path(path),
                self.name(),
                node.kind()
            )
        };
        let help = path
            .is_empty()
            .then(|| "write one `key: value` setting per line, e.g. `port: 8080`".to_owned());
        self.error(
            path,
            Target::Value,
            message,
            &format!("expected {expected}"),
            help,
        );
    }
}

/// `ready.timeout`, `depends_on[1]`.
pub(crate) fn display_path(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => {
                s.push('[');
                s.push_str(&i.to_string());
                s.push(']');
            }
        }
    }
    s
}

/// The entries of a map node whose keys have been checked against `known`.
pub(crate) struct Fields<'n> {
    entries: &'n [(String, Node)],
    pub path: KeyPath,
}

impl<'n> Fields<'n> {
    /// The value under `key` and its path.
    pub fn get(&self, key: &str) -> Option<(&'n Node, KeyPath)> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| (v, child(&self.path, key)))
    }
}

/// Reads a map of settings; `what` names one key in messages ("service setting").
pub(crate) fn fields<'n>(
    ctx: &mut Ctx<'_>,
    node: &'n Node,
    path: &[Seg],
    known: &[&str],
    what: &str,
) -> Option<Fields<'n>> {
    let entries: &'n [(String, Node)] = match node {
        Node::Null => &[],
        Node::Map(entries) => entries,
        other => {
            ctx.wrong_type(path, other, "a map of settings");
            return None;
        }
    };
    for (key, _) in entries {
        if !known.contains(&key.as_str()) {
            let message = format!("unknown key `{key}` in {}", ctx.name());
            let help = did_you_mean(key, known.iter().copied())
                .unwrap_or_else(|| format!("the {what}s are: {}", known.join(", ")));
            ctx.error(
                &child(path, key),
                Target::Key,
                message,
                &format!("not a {what}"),
                Some(help),
            );
        }
    }
    Some(Fields {
        entries,
        path: path.to_vec(),
    })
}

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
fn nul_byte(ctx: &mut Ctx<'_>, path: &[Seg]) {
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
