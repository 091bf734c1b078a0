//! Commands as written in the configuration.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::template::Placeholders;

/// A command as written: a string goes to `sh -c`, a list is executed directly.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandSpec {
    /// Run with `sh -c`, so the shell expands variables, pipes and `&`.
    Shell(String),
    /// Executed directly: the program, then its arguments.
    Exec(Vec<String>),
}

impl CommandSpec {
    /// The program and arguments to execute.
    pub fn argv(&self) -> Vec<String> {
        match self {
            Self::Shell(s) => vec!["sh".into(), "-c".into(), s.clone()],
            Self::Exec(v) => v.clone(),
        }
    }

    /// The same command with placeholders filled.
    #[must_use]
    pub fn fill(&self, p: &Placeholders<'_>) -> Self {
        match self {
            Self::Shell(s) => Self::Shell(p.fill(s)),
            Self::Exec(v) => Self::Exec(v.iter().map(|a| p.fill(a)).collect()),
        }
    }

    /// The program this command runs first (for a shell string, its first word).
    pub fn program(&self) -> Option<&str> {
        match self {
            Self::Shell(s) => s.split_whitespace().next(),
            Self::Exec(v) => v.first().map(String::as_str),
        }
    }
}

impl fmt::Display for CommandSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Shell(s) => f.write_str(s),
            Self::Exec(v) => {
                let quoted: Vec<String> = v
                    .iter()
                    .map(|a| {
                        if !a.is_empty()
                            && a.chars()
                                .all(|c| c.is_ascii_alphanumeric() || "-_./=:@%+,".contains(c))
                        {
                            a.clone()
                        } else {
                            format!("'{}'", a.replace('\'', r"'\''"))
                        }
                    })
                    .collect();
                f.write_str(&quoted.join(" "))
            }
        }
    }
}
