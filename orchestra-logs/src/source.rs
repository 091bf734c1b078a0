//! Which log files exist: parsing `.orchestra/logs` file names into [`LogSource`]s.
//!
//! The daemon names every file it writes after what produced it (see
//! `orchestra_core::paths::StateDir`): `users.0.log` for replica 0 of `users`,
//! `vendor.postgres.log` for a vendor container, `users.build.log` for a service's build
//! output. Rotated history of a file carries a `.1`, `.2`… suffix and belongs to the same
//! source; `.idx` sidecars and hidden temporary files are not sources.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use orchestra_core::name::{ReplicaId, ServiceName, VendorName};

use crate::error::{LogsError, Result};

/// What produced a log file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogKind {
    /// A replica of a service: `<service>.<n>.log`.
    Service,
    /// A vendor container: `vendor.<name>.log`.
    Vendor,
    /// A service's build output: `<service>.build.log`.
    Build,
}

/// One log file that lines come from, identified by its current (unrotated) path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogSource {
    /// The service or vendor name.
    pub unit: String,
    /// The replica index, for service logs only.
    pub replica: Option<u32>,
    /// What produced the file.
    pub kind: LogKind,
    /// The file's path, e.g. `.orchestra/logs/users.0.log`.
    pub path: PathBuf,
}

impl LogSource {
    /// Parses a current log file's path; `None` for anything else (rotated files, index
    /// sidecars, temporary files, names that are not valid service or vendor names).
    ///
    /// `vendor.<name>.log` is a vendor unless `<name>` is all digits (then it is replica
    /// `<name>` of a service called `vendor`); `<service>.build.log` is a build log.
    pub fn from_path(path: &Path) -> Option<Self> {
        let name = path.file_name()?.to_str()?;
        let stem = name.strip_suffix(".log")?;
        let (unit, replica, kind) = if let Some(vendor) = stem
            .strip_prefix("vendor.")
            .filter(|v| !v.bytes().all(|b| b.is_ascii_digit()))
        {
            (
                VendorName::new(vendor).ok()?.to_string(),
                None,
                LogKind::Vendor,
            )
        } else if let Some(service) = stem.strip_suffix(".build") {
            (
                ServiceName::new(service).ok()?.to_string(),
                None,
                LogKind::Build,
            )
        } else {
            let id = ReplicaId::from_file_stem(stem)?;
            (id.service.to_string(), Some(id.index), LogKind::Service)
        };
        Some(Self {
            unit,
            replica,
            kind,
            path: path.to_path_buf(),
        })
    }

    /// The label lines of this source carry: `users.0`, `users.build`, `postgres`.
    pub fn label(&self) -> String {
        match (self.kind, self.replica) {
            (LogKind::Service, Some(n)) => format!("{}.{n}", self.unit),
            (LogKind::Build, _) => format!("{}.build", self.unit),
            _ => self.unit.clone(),
        }
    }

    /// The path of the `n`th rotated file of this source (`users.0.log.1` for `n = 1`).
    pub fn rotated_path(&self, n: u32) -> PathBuf {
        rotated_path(&self.path, n)
    }

    pub(crate) fn tag(&self) -> Tag {
        Tag {
            unit: Arc::from(self.unit.as_str()),
            replica: self.replica,
            kind: self.kind,
        }
    }
}

/// The identity every line of a source carries, cheap to clone per line.
#[derive(Debug, Clone)]
pub(crate) struct Tag {
    pub(crate) unit: Arc<str>,
    pub(crate) replica: Option<u32>,
    pub(crate) kind: LogKind,
}

/// `path` with `.n` appended: the `n`th rotated file (`n = 0` is `path` itself).
pub fn rotated_path(path: &Path, n: u32) -> PathBuf {
    if n == 0 {
        return path.to_path_buf();
    }
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

/// For a rotated file name (`users.0.log.3`), the current file's path and the number.
pub(crate) fn parse_rotated(path: &Path) -> Option<(PathBuf, u32)> {
    let name = path.file_name()?.to_str()?;
    let (base, n) = name.rsplit_once('.')?;
    let n: u32 = n.parse().ok()?;
    let current = path.with_file_name(base);
    LogSource::from_path(&current).map(|_| (current, n))
}

/// Which sources [`discover`] lists: by unit name (services or vendors) and by kind.
#[derive(Debug, Clone)]
pub struct Selection {
    units: Option<BTreeSet<String>>,
    kinds: BTreeSet<LogKind>,
}

impl Default for Selection {
    fn default() -> Self {
        Self::all()
    }
}

impl Selection {
    /// Every unit, every kind (service replicas, vendors, builds).
    pub fn all() -> Self {
        Self {
            units: None,
            kinds: [LogKind::Service, LogKind::Vendor, LogKind::Build]
                .into_iter()
                .collect(),
        }
    }

    /// Only these units (service or vendor names). An empty list selects every unit.
    #[must_use]
    pub fn units<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let set: BTreeSet<String> = names.into_iter().map(Into::into).collect();
        self.units = (!set.is_empty()).then_some(set);
        self
    }

    /// Only these kinds of files.
    #[must_use]
    pub fn kinds(mut self, kinds: &[LogKind]) -> Self {
        self.kinds = kinds.iter().copied().collect();
        self
    }

    /// Whether `source` is selected.
    pub fn matches(&self, source: &LogSource) -> bool {
        self.kinds.contains(&source.kind)
            && self.units.as_ref().is_none_or(|u| u.contains(&source.unit))
    }
}

/// Lists the selected log files in `logs_dir`, sorted by kind, unit and replica.
/// A missing folder has no logs yet: the list is empty.
pub fn discover(logs_dir: &Path, selection: &Selection) -> Result<Vec<LogSource>> {
    let entries = match fs::read_dir(logs_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(LogsError::io("list", logs_dir, e)),
    };
    let mut sources = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| LogsError::io("list", logs_dir, e))?;
        if let Some(source) = LogSource::from_path(&entry.path())
            && selection.matches(&source)
        {
            sources.push(source);
        }
    }
    sources.sort_by(|a, b| (a.kind, &a.unit, a.replica).cmp(&(b.kind, &b.unit, b.replica)));
    Ok(sources)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(name: &str) -> Option<(String, Option<u32>, LogKind)> {
        LogSource::from_path(&Path::new("/l").join(name)).map(|s| (s.unit, s.replica, s.kind))
    }

    #[test]
    fn parses_the_three_kinds_of_names() {
        assert_eq!(
            parse("users.0.log"),
            Some(("users".into(), Some(0), LogKind::Service))
        );
        assert_eq!(
            parse("api-gw.12.log"),
            Some(("api-gw".into(), Some(12), LogKind::Service))
        );
        assert_eq!(
            parse("vendor.postgres.log"),
            Some(("postgres".into(), None, LogKind::Vendor))
        );
        assert_eq!(
            parse("users.build.log"),
            Some(("users".into(), None, LogKind::Build))
        );
        assert_eq!(
            parse("vendor.3.log"),
            Some(("vendor".into(), Some(3), LogKind::Service))
        );
    }

    #[test]
    fn ignores_history_sidecars_and_strangers() {
        for name in [
            "users.0.log.1",
            "users.0.log.idx",
            ".users.0.log.1.tmp",
            "users.log",
            "notes.txt",
            "a.b.c.log",
        ] {
            assert_eq!(parse(name), None, "{name}");
        }
        assert_eq!(
            parse_rotated(Path::new("/l/users.0.log.3")),
            Some((PathBuf::from("/l/users.0.log"), 3))
        );
        assert_eq!(parse_rotated(Path::new("/l/users.0.log")), None);
    }

    #[test]
    fn discovers_selected_files_in_order() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "users.1.log",
            "users.0.log",
            "users.0.log.1",
            "orders.0.log",
            "vendor.pg.log",
            "users.build.log",
            "users.0.log.idx",
        ] {
            fs::write(dir.path().join(name), "").unwrap();
        }
        let labels = |sel: &Selection| {
            discover(dir.path(), sel)
                .unwrap()
                .iter()
                .map(LogSource::label)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            labels(&Selection::all()),
            ["orders.0", "users.0", "users.1", "pg", "users.build"]
        );
        assert_eq!(
            labels(&Selection::all().units(["users"]).kinds(&[LogKind::Service])),
            ["users.0", "users.1"]
        );
        assert!(
            discover(&dir.path().join("missing"), &Selection::all())
                .unwrap()
                .is_empty()
        );
    }
}
