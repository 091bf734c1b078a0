//! The errors of this crate: [`ConfigError`] (one or many [`Problem`]s, each a miette
//! diagnostic pointing into a file) and [`SelectError`] (a bad service name on the command
//! line).

use std::fmt;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceCode, SourceSpan};

use crate::source::{SourceFile, Target};

/// One thing wrong with the configuration: a message, and where possible the file, the
/// labelled span and a hint at the fix.
#[derive(Debug, Clone)]
pub struct Problem {
    message: String,
    source: Option<NamedSource<Arc<str>>>,
    labels: Vec<LabeledSpan>,
    help: Option<String>,
}

impl Problem {
    /// A problem with a message only.
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
            labels: Vec::new(),
            help: None,
        }
    }

    /// A problem at the key or value `path` leads to in `file`, labelled `label`. When the
    /// path is not in the file (a value that came from a default), the problem names the file
    /// without a snippet.
    pub(crate) fn at(
        file: &SourceFile,
        path: &[crate::source::Seg],
        target: Target,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> Self {
        let span = file.span_of(path, target);
        Self::new(message).with_span(file, span, label)
    }

    /// Attaches `file` and, if given, a labelled span in it.
    pub(crate) fn with_span(
        mut self,
        file: &SourceFile,
        span: Option<SourceSpan>,
        label: impl Into<String>,
    ) -> Self {
        self.source = Some(file.named());
        if let Some(span) = span {
            let label = label.into();
            let label = (!label.is_empty()).then_some(label);
            self.labels.push(LabeledSpan::new_with_span(label, span));
        }
        self
    }

    /// Adds the hint shown under the snippet.
    #[must_use]
    pub(crate) fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds the hint when there is one.
    #[must_use]
    pub(crate) fn maybe_help(mut self, help: Option<String>) -> Self {
        if help.is_some() {
            self.help = help;
        }
        self
    }

    /// The one-line message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The hint, if any.
    pub fn help_text(&self) -> Option<&str> {
        self.help.as_deref()
    }

    /// Where the problem is, for a one-line summary: `file:line:column` when a span points
    /// into the file, the file alone when none does, `None` for a problem of no file.
    pub fn location(&self) -> Option<String> {
        let source = self.source.as_ref()?;
        let Some(offset) = self.labels.first().map(LabeledSpan::offset) else {
            return Some(source.name().to_owned());
        };
        let before = source.inner().get(..offset).unwrap_or_default();
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Some(format!("{}:{line}:{column}", source.name()))
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Problem {}

impl Diagnostic for Problem {
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            return None;
        }
        Some(Box::new(self.labels.iter().cloned()))
    }
}

/// Everything wrong with the configuration, collected before failing.
///
/// With one problem it renders as that problem; with several, as a summary line followed by
/// each problem.
#[derive(Debug, Clone)]
pub struct ConfigError {
    problems: Vec<Problem>,
    not_found: bool,
}

impl ConfigError {
    /// An error made of `problems` (at least one).
    pub(crate) fn new(problems: Vec<Problem>) -> Self {
        debug_assert!(!problems.is_empty());
        Self {
            problems,
            not_found: false,
        }
    }

    /// The error of a discovery that found no file.
    pub(crate) fn not_found(problem: Problem) -> Self {
        Self {
            problems: vec![problem],
            not_found: true,
        }
    }

    /// Each problem found.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// Whether discovery found no orchestra.yml at all (so `orchestra init` may help).
    pub fn is_not_found(&self) -> bool {
        self.not_found
    }

    fn single(&self) -> Option<&Problem> {
        match self.problems.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.single() {
            Some(p) => p.fmt(f),
            None => write!(f, "{} problems in the configuration", self.problems.len()),
        }
    }
}

impl std::error::Error for ConfigError {}

impl Diagnostic for ConfigError {
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.single().and_then(Diagnostic::help)
    }
    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.single().and_then(Diagnostic::source_code)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.single().and_then(Diagnostic::labels)
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        if self.single().is_some() {
            return None;
        }
        Some(Box::new(self.problems.iter().map(|p| p as &dyn Diagnostic)))
    }
}

/// A selection of services or vendors on the command line that cannot be honoured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Diagnostic)]
pub enum SelectError {
    /// `users ~orders`: including and excluding at once is ambiguous.
    #[error("cannot mix service names and `~name` exclusions")]
    #[diagnostic(help(
        "name the services to act on (`users orders`) or the ones to leave out (`~users`), not both"
    ))]
    Mixed,
    /// A name that is no service of the project.
    #[error("no service named `{name}`")]
    #[diagnostic(help("{help}"))]
    Unknown {
        /// The name as given.
        name: String,
        /// The suggestion or the list of services.
        help: String,
    },
    /// `@name` that is no group of the project.
    #[error("no group named `@{name}`")]
    #[diagnostic(help("{help}"))]
    UnknownGroup {
        /// The group name as given, without `@`.
        name: String,
        /// The suggestion and where it is defined, or the list of groups.
        help: String,
    },
    /// A name that is no vendor of the project.
    #[error("no vendor named `{name}`")]
    #[diagnostic(help("{help}"))]
    UnknownVendor {
        /// The name as given.
        name: String,
        /// The suggestion or the list of vendors.
        help: String,
    },
    /// A name that is neither a service nor a vendor of the project (`logs`).
    #[error("no service or vendor named `{name}`")]
    #[diagnostic(help("{help}"))]
    UnknownSource {
        /// The name as given.
        name: String,
        /// The suggestion or the list of services and vendors.
        help: String,
    },
    /// `~` alone, or an empty argument.
    #[error("`{0}` is not a service name")]
    #[diagnostic(help(
        "write a service name or `@group`, or `~name` / `~@group` to leave services out"
    ))]
    Empty(String),
}
