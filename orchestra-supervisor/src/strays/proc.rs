//! Small `/proc` reads for scanning many processes cheaply: each one a single syscall or
//! two, so that a process which is not a candidate costs almost nothing.

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};

use orchestra_core::ProcessIdentity;

use crate::unix::identity::{boot_id, means_gone};

/// Every pid in `/proc`, in no particular order.
pub(crate) fn pids() -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect()
}

/// The working directory of `pid` (absolute, symlinks resolved by the kernel).
pub(crate) fn cwd(pid: i32) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/cwd")).ok()
}

/// The executable of `pid`. A binary deleted or replaced since it started reads
/// "`<path> (deleted)`": the path it had is returned.
pub(crate) fn exe(pid: i32) -> Option<PathBuf> {
    let link = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
    match link.to_str().and_then(|s| s.strip_suffix(" (deleted)")) {
        Some(original) => Some(PathBuf::from(original)),
        None => Some(link),
    }
}

/// The arguments of `pid`; empty for kernel threads and zombies.
pub(crate) fn argv(pid: i32) -> Vec<String> {
    let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return Vec::new();
    };
    let raw = raw.strip_suffix(b"\0").unwrap_or(&raw);
    if raw.is_empty() {
        return Vec::new();
    }
    raw.split(|&b| b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

/// The fields of `/proc/<pid>/stat` we need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stat {
    pub ppid: i32,
    pub pgrp: i32,
    pub session: i32,
    pub state: char,
    pub start_time: u64,
}

impl Stat {
    pub fn is_zombie(&self) -> bool {
        matches!(self.state, 'Z' | 'X')
    }

    pub fn identity(&self, pid: i32) -> ProcessIdentity {
        ProcessIdentity {
            pid,
            pgid: self.pgrp,
            start_time: self.start_time,
            boot_id: boot_id().to_owned(),
        }
    }
}

/// The stat of `pid`; `None` when it is gone or cannot be read.
pub(crate) fn stat(pid: i32) -> Option<Stat> {
    read_stat(pid).ok().flatten()
}

/// The stat of `pid`: `Ok(None)` when it is gone, an error when `/proc` cannot tell.
pub(crate) fn read_stat(pid: i32) -> Result<Option<Stat>, procfs::ProcError> {
    match procfs::process::Process::new(pid).and_then(|p| p.stat()) {
        Ok(s) => Ok(Some(Stat {
            ppid: s.ppid,
            pgrp: s.pgrp,
            session: s.session,
            state: s.state,
            start_time: s.starttime,
        })),
        Err(e) if means_gone(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The real uid of `pid` (the first field of `Uid:` in its status).
pub(crate) fn real_uid(pid: i32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("Uid:"))?;
    line.split_whitespace().next()?.parse().ok()
}

/// Parent pids, read lazily and remembered: the ancestry of the few candidates a scan finds
/// costs a handful of reads instead of a stat of every process.
#[derive(Debug, Default)]
pub(crate) struct Ancestry {
    parents: HashMap<i32, i32>,
}

impl Ancestry {
    /// The parent of `pid`: `Ok(None)` when it is gone, an error when unreadable.
    fn read_parent(&mut self, pid: i32) -> Result<Option<i32>, procfs::ProcError> {
        if let Some(&p) = self.parents.get(&pid) {
            return Ok(Some(p));
        }
        let Some(p) = read_stat(pid)?.map(|s| s.ppid) else {
            return Ok(None);
        };
        self.parents.insert(pid, p);
        Ok(Some(p))
    }

    fn parent(&mut self, pid: i32) -> Option<i32> {
        self.read_parent(pid).ok().flatten()
    }

    /// Whether `pid` is in `set` or descends from a member of it. An ancestry that cannot
    /// be read (too many open files, …) counts as within: it might be, and what is in the
    /// set is never to be taken for a stray.
    pub fn within(&mut self, pid: i32, set: &HashSet<i32>) -> bool {
        if set.is_empty() {
            return false;
        }
        let mut pid = pid;
        // Bounded: a parent chain is short, and a race could at worst make a loop.
        for _ in 0..4096 {
            if set.contains(&pid) {
                return true;
            }
            match self.read_parent(pid) {
                Ok(Some(p)) if p > 0 && p != pid => pid = p,
                Ok(_) => return false,
                Err(_) => return true,
            }
        }
        false
    }

    /// This process and its ancestors up to pid 1.
    pub fn of_self(&mut self) -> HashSet<i32> {
        let mut out = HashSet::new();
        let mut pid = std::process::id() as i32;
        while pid > 0 && out.insert(pid) {
            match self.parent(pid) {
                Some(p) => pid = p,
                None => break,
            }
        }
        out
    }
}

/// `path` resolved against `base` when relative, with `.` and `..` removed lexically.
pub(crate) fn resolve(base: &Path, path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in base.join(path).components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}

/// `path` with symlinks resolved when it exists (the kernel shows resolved paths); a missing
/// file keeps its name under its resolved folder.
pub(crate) fn canonical(path: &Path) -> PathBuf {
    Canon::default().get(path)
}

/// Canonical paths, remembered per folder: two hundred services under one root cost one
/// `lstat` each instead of a full `realpath` walk each.
#[derive(Debug, Default)]
pub(crate) struct Canon {
    memo: HashMap<PathBuf, PathBuf>,
}

impl Canon {
    /// `path` with symlinks resolved, as [`canonical`].
    pub fn get(&mut self, path: &Path) -> PathBuf {
        if let Some(done) = self.memo.get(path) {
            return done.clone();
        }
        let plain = path.is_absolute()
            && path
                .components()
                .all(|c| matches!(c, Component::RootDir | Component::Normal(_)));
        let resolved = match (path.parent(), path.file_name()) {
            (Some(parent), Some(name)) if plain => {
                let joined = self.get(parent).join(name);
                match std::fs::symlink_metadata(&joined) {
                    Ok(m) if m.file_type().is_symlink() => joined.canonicalize().unwrap_or(joined),
                    _ => joined,
                }
            }
            // The root itself, or a path with `.`/`..`: the full walk.
            _ => path
                .canonicalize()
                .unwrap_or_else(|_| match (path.parent(), path.file_name()) {
                    (Some(parent), Some(name)) => parent
                        .canonicalize()
                        .map_or_else(|_| path.to_path_buf(), |p| p.join(name)),
                    _ => path.to_path_buf(),
                }),
        };
        self.memo.insert(path.to_path_buf(), resolved.clone());
        resolved
    }
}

/// The command line as shown to people: arguments joined by spaces.
pub(crate) fn shown(argv: &[String]) -> String {
    argv.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let me = std::process::id() as i32;
        assert_eq!(cwd(me).unwrap(), std::env::current_dir().unwrap());
        assert_eq!(exe(me).unwrap(), std::env::current_exe().unwrap());
        assert!(!argv(me).is_empty());
        assert!(!stat(me).unwrap().is_zombie());
        assert_eq!(real_uid(me), Some(nix::unistd::getuid().as_raw()));
        let mut ancestry = Ancestry::default();
        let mine = ancestry.of_self();
        assert!(mine.contains(&me) && mine.contains(&1));
        let parent = std::os::unix::process::parent_id() as i32;
        assert!(ancestry.within(me, &HashSet::from([parent])));
        assert!(!ancestry.within(parent, &HashSet::from([me])));
    }

    #[test]
    fn canonical_paths_follow_symlinks_at_any_level() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().canonicalize().unwrap();
        std::fs::create_dir_all(real.join("a/b")).unwrap();
        std::os::unix::fs::symlink(real.join("a"), real.join("link")).unwrap();
        let mut canon = Canon::default();
        assert_eq!(canon.get(&real.join("link/b")), real.join("a/b"));
        assert_eq!(
            canon.get(&real.join("link/b/missing")),
            real.join("a/b/missing")
        );
        assert_eq!(canon.get(&real.join("a/./b/../b")), real.join("a/b"));
        assert_eq!(canon.get(&real.join("link")), real.join("a"));
    }

    #[test]
    fn resolves_lexically() {
        assert_eq!(
            resolve(Path::new("/p/users"), Path::new("./start.sh")),
            Path::new("/p/users/start.sh")
        );
        assert_eq!(
            resolve(Path::new("/p/users"), Path::new("../bin/x")),
            Path::new("/p/bin/x")
        );
        assert_eq!(
            resolve(Path::new("/p/users"), Path::new("/abs")),
            Path::new("/abs")
        );
    }
}
