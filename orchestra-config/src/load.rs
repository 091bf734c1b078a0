//! Reading one file into a [`Node`] tree, turning every way that can fail (unreadable, too
//! large, not UTF-8, bad YAML, tabs, repeated keys) into a located [`Problem`]; and reading
//! dotenv files.

use std::path::Path;
use std::sync::{Arc, LazyLock};

use miette::SourceSpan;
use regex::Regex;

use crate::error::Problem;
use crate::node::{self, COMPLEX_KEY_MARK, DUPLICATE_MARK, Node, TAG_MARK};
use crate::raw::env_file::EnvFileRef;
use crate::read::{EnvEntry, Located, Origin};
use crate::source::{MAX_FILE_SIZE, ReadFailure, SourceFile, Target};

/// Reads and parses `path`; problems are pushed and `None` returned when nothing usable came
/// out of the file.
pub(crate) fn load_yaml(
    path: &Path,
    name: String,
    problems: &mut Vec<Problem>,
) -> Option<(Arc<SourceFile>, Node)> {
    let file = match SourceFile::read(path, name) {
        Ok(f) => Arc::new(f),
        Err((name, failure)) => {
            problems.push(read_failure(path, &name, failure));
            return None;
        }
    };
    if let Some(at) = crate::nesting::too_deep(&file.text) {
        problems.push(too_deep(&file, at));
        return None;
    }
    match node::parse(&file.text) {
        Ok(node) => Some((file, node)),
        Err(e) => {
            problems.push(yaml_problem(&file, &e));
            None
        }
    }
}

/// The problem of a file whose `[`/`{` nesting goes past the limit at `offset`.
fn too_deep(file: &SourceFile, offset: usize) -> Problem {
    let max = crate::nesting::MAX_FLOW_DEPTH;
    // Shown up to a little past the offending bracket: the line may be a megabyte long.
    let shown_end = crate::source::floor_boundary(&file.text, offset + 40);
    let shown_end = file.text[offset..shown_end]
        .find('\n')
        .map_or(shown_end, |n| offset + n);
    let shown = SourceFile::new(
        file.path.clone(),
        file.name.clone(),
        file.text[..shown_end].to_owned(),
    );
    Problem::new(format!(
        "{} nests lists or maps more than {max} levels deep",
        file.name
    ))
    .with_span(
        &shown,
        Some(SourceSpan::new(offset.into(), 1)),
        format!("level {}", max + 1),
    )
    .help("no configuration needs this depth: look for a runaway `[` or `{`")
}

/// The problem of a file that could not be read as text.
pub(crate) fn read_failure(path: &Path, name: &str, failure: ReadFailure) -> Problem {
    match failure {
        ReadFailure::Io(e) => {
            let help = match e.kind() {
                std::io::ErrorKind::PermissionDenied => "check the file's permissions",
                std::io::ErrorKind::NotFound => {
                    "check that the file exists (a symbolic link must lead to one)"
                }
                _ if e.raw_os_error() == Some(nix::errno::Errno::ELOOP as i32) => {
                    "it is a symbolic link that leads back to itself: make it point to a file"
                }
                _ => "check that the path is a readable file",
            };
            Problem::new(format!("cannot read {name}: {e}")).help(help)
        }
        ReadFailure::NotAFile(kind) => {
            Problem::new(format!("{name} is {kind}, not a file")).help(format!(
                "replace `{}` by a regular file, or remove it",
                path.display()
            ))
        }
        ReadFailure::TooLarge(size) => Problem::new(format!(
            "{name} is too large ({size} bytes; the limit is {} MiB)",
            MAX_FILE_SIZE >> 20
        ))
        .help(format!(
            "is `{}` really a configuration file?",
            path.display()
        )),
        ReadFailure::NotUtf8 { lossy, at } => {
            let file = SourceFile::new(path.to_owned(), name.to_owned(), lossy);
            let span = SourceSpan::new(at.into(), 1);
            Problem::new(format!("{name} is not UTF-8 text"))
                .with_span(&file, Some(span), "not UTF-8")
                .help("save the file as UTF-8")
        }
    }
}

static AT_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\s*at line \d+ column \d+").unwrap_or_else(|_| unreachable!()));

/// The problem of a document yaml_serde refused.
fn yaml_problem(file: &SourceFile, e: &yaml_serde::Error) -> Problem {
    let raw = e.to_string();
    let offset = e.location().map(|l| l.index());
    let at = |label: &str, p: Problem| match offset {
        Some(o) => p.with_span(file, Some(point(file, o)), label),
        None => p.with_span(file, None, label),
    };
    if let Some(pos) = raw.find(DUPLICATE_MARK) {
        let key = raw[pos + DUPLICATE_MARK.len()..]
            .split(" at line")
            .next()
            .unwrap_or("");
        let mut p = Problem::new(format!("duplicate key `{key}` in {}", file.name));
        if at_line_start(file, offset) {
            let path = [crate::source::Seg::Key(key.to_owned())];
            if let Some(first) = crate::source::locate(&file.text, &path, Target::Key) {
                p = p.with_span(file, Some(point(file, first)), "first set here");
            }
        }
        return at("set again here", p).help(format!("keep one `{key}:`"));
    }
    if raw.contains(COMPLEX_KEY_MARK) {
        let p = Problem::new(format!("a key in {} is a list or a map", file.name));
        return at("expected a name", p).help("keys are plain names like `port`");
    }
    if raw.contains(TAG_MARK) {
        let p = Problem::new(format!("YAML tags are not supported in {}", file.name));
        return at("tag", p).help("remove the `!tag`");
    }
    if let Some(tab) = leading_tab(&file.text) {
        let p = Problem::new(format!("tab used for indentation in {}", file.name));
        return p
            .with_span(file, Some(SourceSpan::new(tab.into(), 1)), "tab")
            .help("YAML indents with spaces: replace the tab with spaces");
    }
    let message = AT_LINE.replace_all(&raw, "").into_owned();
    let message = message.trim_start_matches(". ").to_owned();
    at(
        "here",
        Problem::new(format!("invalid YAML in {}: {message}", file.name)),
    )
    .help("check the indentation and the `key: value` syntax around this line")
}

/// Whether `offset` is at the start of a line: a repeated key of the top-level map, whose
/// first occurrence can then be found by key path.
fn at_line_start(file: &SourceFile, offset: Option<usize>) -> bool {
    offset.is_some_and(|o| o == 0 || file.text.as_bytes().get(o.wrapping_sub(1)) == Some(&b'\n'))
}

/// A one-character span at `offset`, clamped into the text.
fn point(file: &SourceFile, offset: usize) -> SourceSpan {
    let len = file.text.len();
    if len == 0 {
        return SourceSpan::new(0.into(), 0);
    }
    let o = crate::source::floor_boundary(&file.text, offset.min(len - 1));
    let width = file.text[o..].chars().next().map_or(1, char::len_utf8);
    let token = file.text[o..]
        .find([':', '\n', ' '])
        .filter(|&n| n > 0)
        .unwrap_or(width);
    SourceSpan::new(o.into(), token)
}

/// The offset of the first tab in a line's indentation.
fn leading_tab(text: &str) -> Option<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
        if let Some(i) = line[..indent].find('\t') {
            return Some(offset + i);
        }
        offset += line.len();
    }
    None
}

/// The name of the dotenv file read, when present, beside orchestra.yml and each service.yml.
pub(crate) const DOTENV: &str = ".env";

/// The variables of the dotenv files of one `env_file:` (relative to `base`), after those of
/// `base/.env` when it exists and is not named there: it is read at the same precedence,
/// before the files named, so that they win.
pub(crate) fn env_files(
    base: &Path,
    root: &Path,
    named: &[EnvFileRef],
    problems: &mut Vec<Problem>,
) -> Vec<EnvEntry> {
    let dotenv = base.join(DOTENV).is_file();
    env_files_with(base, root, named, dotenv, problems)
}

/// [`env_files`] when whether `base` holds a `.env` file (`dotenv`) is known already.
pub(crate) fn env_files_with(
    base: &Path,
    root: &Path,
    named: &[EnvFileRef],
    dotenv: bool,
    problems: &mut Vec<Problem>,
) -> Vec<EnvEntry> {
    let implicit = base.join(DOTENV);
    let mut vars = Vec::new();
    if dotenv && !named.iter().any(|e| base.join(&e.path.value) == implicit) {
        vars.extend(read_env_file(&implicit, root, problems));
    }
    for entry in named {
        vars.extend(env_file(base, root, entry, problems));
    }
    vars
}

/// Reads a dotenv file named by `entry`, relative to `base`.
pub(crate) fn env_file(
    base: &Path,
    root: &Path,
    entry: &EnvFileRef,
    problems: &mut Vec<Problem>,
) -> Vec<EnvEntry> {
    let written = &entry.path;
    let path = base.join(&written.value);
    // `symlink_metadata`, not `exists`: a dangling link or a loop is read, and so reported
    // for what it is, rather than called missing.
    if path.symlink_metadata().is_err() {
        if entry.required {
            let key = crate::read::display_path(&written.origin.path);
            problems.push(
                written
                    .origin
                    .problem(
                        Target::Value,
                        format!(
                            "env file `{}` does not exist (named by `{key}` in {})",
                            path.display(),
                            written.origin.file.name
                        ),
                        "no such file",
                    )
                    .help(format!(
                        "create it, write `{{ path: {}, required: false }}` if it may be absent, or remove it",
                        written.value
                    )),
            );
        }
        return Vec::new();
    }
    read_env_file(&path, root, problems)
}

/// Reads the dotenv file at `path`.
fn read_env_file(path: &Path, root: &Path, problems: &mut Vec<Problem>) -> Vec<EnvEntry> {
    let name = crate::discover::display_name(root, path);
    let file = match SourceFile::read(path, name) {
        Ok(f) => Arc::new(f),
        Err((name, failure)) => {
            problems.push(read_failure(path, &name, failure));
            return Vec::new();
        }
    };
    match crate::dotenv::parse(&file.text) {
        Ok(entries) => entries
            .into_iter()
            .map(|e| EnvEntry {
                key: e.key,
                value: Located {
                    value: e.value,
                    origin: Origin {
                        file: Arc::clone(&file),
                        path: Vec::new(),
                        span: Some(SourceSpan::new(e.span.0.into(), e.span.1 - e.span.0)),
                    },
                },
                literal: e.literal,
            })
            .collect(),
        Err(e) => {
            let span = SourceSpan::new(e.at.into(), 1);
            problems.push(
                Problem::new(format!("cannot parse {}", file.name))
                    .with_span(&file, Some(span), e.message)
                    .help(
                        "lines are `NAME=value`; quote values that hold spaces, \
                         in single quotes to keep every `$` as written",
                    ),
            );
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::leading_tab;

    #[test]
    fn finds_tabs_in_indentation_only() {
        assert_eq!(leading_tab("a:\n\tb: 1\n"), Some(3));
        assert_eq!(leading_tab("a: \"x\ty\"\n"), None);
    }
}
