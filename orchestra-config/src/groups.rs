//! [`Groups`]: the `groups:` of orchestra.yml, which the command line selects as `@name`.

use std::collections::BTreeMap;

use orchestra_core::name::ServiceName;

use crate::raw::groups::RawGroup;
use crate::source::Target;
use crate::suggest::closest;

/// The project's groups of services, by name: `@backend` on the command line stands for
/// the services of `groups: {backend: [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Groups {
    groups: BTreeMap<String, Group>,
    /// The project file's name as shown in messages.
    file: String,
}

/// One group: its services, in the order written, and where it is defined.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Group {
    members: Vec<ServiceName>,
    /// `orchestra.yml:4`, for messages that point the reader at the definition.
    line: Option<usize>,
}

impl Groups {
    /// The groups read from `file` (members already checked to be services).
    pub(crate) fn from_raw(file: &str, raw: &[RawGroup]) -> Self {
        let groups = raw
            .iter()
            .map(|g| {
                let members = g
                    .members
                    .iter()
                    .filter_map(|m| ServiceName::new(m.value.clone()).ok())
                    .collect();
                let origin = &g.name.origin;
                let line = origin
                    .file
                    .span_of(&origin.path, Target::Key)
                    .map(|span| line_of(&origin.file.text, span.offset()));
                (g.name.value.clone(), Group { members, line })
            })
            .collect();
        Self {
            groups,
            file: file.to_owned(),
        }
    }

    /// Groups from `(name, members, line)`, for tests of the selection.
    #[cfg(test)]
    pub(crate) fn of(file: &str, groups: &[(&str, &[&str], usize)]) -> Self {
        let groups = groups
            .iter()
            .map(|(name, members, line)| {
                let members = members
                    .iter()
                    .map(|m| ServiceName::new(*m).expect("a valid name"))
                    .collect();
                let line = Some(*line);
                ((*name).to_owned(), Group { members, line })
            })
            .collect();
        Self {
            groups,
            file: file.to_owned(),
        }
    }

    /// The names of the groups, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> + Clone {
        self.groups.keys().map(String::as_str)
    }

    /// The services of group `name`, in the order written.
    pub fn get(&self, name: &str) -> Option<&[ServiceName]> {
        self.groups.get(name).map(|g| g.members.as_slice())
    }

    /// Whether the project defines no group.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The hint for `@name` that names no group: the closest group and where it is
    /// defined, else every group, else how to define one.
    pub(crate) fn unknown_help(&self, name: &str) -> String {
        if let Some(near) = closest(name, self.names()) {
            return format!("did you mean `@{near}`? (defined at {})", self.place(near));
        }
        if self.groups.is_empty() {
            return "the project defines no groups: add `groups: {NAME: [service, …]}` to \
                    orchestra.yml"
                .to_owned();
        }
        let list: Vec<String> = self
            .names()
            .map(|n| format!("@{n} ({})", self.place(n)))
            .collect();
        format!("the groups are: {}", list.join(", "))
    }

    /// `orchestra.yml:4`, or the file alone when the line is not known.
    fn place(&self, name: &str) -> String {
        match self.groups.get(name).and_then(|g| g.line) {
            Some(line) => format!("{}:{line}", self.file),
            None => self.file.clone(),
        }
    }
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).unwrap_or(text).matches('\n').count() + 1
}
