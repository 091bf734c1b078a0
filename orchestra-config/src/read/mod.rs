//! Typed readers over the [`Node`] tree: each takes a node and its key path, returns the
//! value, or records a located [`Problem`] and returns `None` so that reading goes on and
//! every problem of a file is reported at once.
//!
//! This file holds what every reader shares (where a value sits, the problems of a file, the
//! keys of a map); the readers of [scalars and commands](scalar) and of
//! [environments](env) have their own.

use std::sync::Arc;

use miette::SourceSpan;

use crate::error::Problem;
use crate::node::Node;
use crate::source::{KeyPath, Seg, SourceFile, Target, child};
use crate::suggest::did_you_mean;

mod env;
mod scalar;

pub(crate) use env::{EnvEntry, check_template, env_map, merge_env, template_problem};
pub(crate) use scalar::{
    boolean, command, commands, duration, globs, integer, nonempty, signal, string, strings,
};

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
