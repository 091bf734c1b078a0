//! Validated names of services, vendors and replicas.
//!
//! A name ends up in file names (`.orchestra/logs/<name>.<n>.log`), in Docker container names
//! (`orchestra-<project>-<name>`) and in environment variable names (`<NAME>_HOST`), so it is
//! restricted to what all three accept: an ASCII letter or digit first, then letters, digits,
//! `-` or `_`, at most 63 characters. A dot is refused because it separates the replica index.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The longest name accepted, so that `orchestra-<project>-<name>` stays a valid hostname label.
pub const MAX_NAME_LEN: usize = 63;

/// Why a string is not a valid name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The string is empty.
    #[error("a name cannot be empty")]
    Empty,
    /// The string is longer than [`MAX_NAME_LEN`].
    #[error("`{0}` is longer than {MAX_NAME_LEN} characters")]
    TooLong(String),
    /// The first character is not an ASCII letter or digit.
    #[error("`{0}` must start with a letter or a digit")]
    BadStart(String),
    /// A character other than letters, digits, `-` and `_`.
    #[error("`{name}` contains `{ch}`: only letters, digits, `-` and `_` are allowed")]
    BadChar {
        /// The rejected name.
        name: String,
        /// The first offending character.
        ch: char,
    },
}

/// Checks `s` against the naming rule shared by services and vendors.
pub fn validate_name(s: &str) -> Result<(), NameError> {
    let Some(first) = s.chars().next() else {
        return Err(NameError::Empty);
    };
    if s.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong(s.to_owned()));
    }
    if !first.is_ascii_alphanumeric() {
        return Err(NameError::BadStart(s.to_owned()));
    }
    if let Some(ch) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Err(NameError::BadChar {
            name: s.to_owned(),
            ch,
        });
    }
    Ok(())
}

macro_rules! name_type {
    ($(#[$doc:meta])* $ty:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $ty(String);

        impl $ty {
            /// Validates and wraps `s`.
            pub fn new(s: impl Into<String>) -> Result<Self, NameError> {
                let s = s.into();
                validate_name(&s)?;
                Ok(Self(s))
            }

            /// The name as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The name upper-cased with `-` turned into `_`, fit for an environment variable.
            pub fn env_prefix(&self) -> String {
                self.0.to_ascii_uppercase().replace('-', "_")
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $ty {
            type Err = NameError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $ty {
            type Error = NameError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::new(s)
            }
        }

        impl From<$ty> for String {
            fn from(n: $ty) -> String {
                n.0
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::borrow::Borrow<str> for $ty {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}

name_type!(
    /// The name of a service: the name of its folder unless the folder's name is not a valid name.
    ServiceName
);
name_type!(
    /// The name of a vendor (a third-party container such as `postgres`).
    VendorName
);
name_type!(
    /// The name of a project: the name of the folder holding `orchestra.yml`, sanitised.
    ProjectName
);

impl ProjectName {
    /// Turns any folder name into a valid project name: lower-cased, other characters
    /// replaced by `-`, falling back to `project` when nothing usable remains.
    pub fn sanitize(raw: &str) -> Self {
        let mut s: String = raw
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        s = s.trim_start_matches(['-', '_']).to_owned();
        s.truncate(MAX_NAME_LEN);
        if s.is_empty() {
            return Self("project".to_owned());
        }
        Self(s)
    }
}

/// One replica of a service: `users.0`, `users.1`, …
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ReplicaId {
    /// The service the replica belongs to.
    pub service: ServiceName,
    /// Its index, from 0.
    pub index: u32,
}

impl ReplicaId {
    /// The replica `index` of `service`.
    pub fn new(service: ServiceName, index: u32) -> Self {
        Self { service, index }
    }

    /// The stem used for its files: `users.0` gives `users.0.log` and `users.0.json`.
    pub fn file_stem(&self) -> String {
        format!("{}.{}", self.service, self.index)
    }

    /// Parses a file stem made by [`ReplicaId::file_stem`].
    pub fn from_file_stem(stem: &str) -> Option<Self> {
        let (service, index) = stem.rsplit_once('.')?;
        Some(Self {
            service: ServiceName::new(service).ok()?,
            index: index.parse().ok()?,
        })
    }
}

impl fmt::Display for ReplicaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.service, self.index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_usual_names() {
        for ok in ["users", "api-gateway", "svc_2", "9lives", "A"] {
            assert!(ServiceName::new(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_what_files_and_containers_cannot_hold() {
        assert_eq!(ServiceName::new(""), Err(NameError::Empty));
        assert!(matches!(
            ServiceName::new("-x"),
            Err(NameError::BadStart(_))
        ));
        assert!(matches!(
            ServiceName::new("a.b"),
            Err(NameError::BadChar { ch: '.', .. })
        ));
        assert!(matches!(
            ServiceName::new("a/b"),
            Err(NameError::BadChar { ch: '/', .. })
        ));
        assert!(matches!(
            ServiceName::new("x".repeat(64)),
            Err(NameError::TooLong(_))
        ));
    }

    #[test]
    fn replica_file_stem_round_trips() {
        let id = ReplicaId::new(ServiceName::new("api-gw").unwrap(), 12);
        assert_eq!(id.file_stem(), "api-gw.12");
        assert_eq!(ReplicaId::from_file_stem("api-gw.12"), Some(id));
        assert_eq!(ReplicaId::from_file_stem("nodot"), None);
    }

    #[test]
    fn project_names_are_sanitised() {
        assert_eq!(ProjectName::sanitize("My Services").as_str(), "my-services");
        assert_eq!(ProjectName::sanitize("..").as_str(), "project");
        assert_eq!(ServiceName::new("users").unwrap().env_prefix(), "USERS");
        assert_eq!(VendorName::new("my-pg").unwrap().env_prefix(), "MY_PG");
    }
}
