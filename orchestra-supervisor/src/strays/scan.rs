//! Finding strays: one pass over `/proc` for all the services asked about.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use orchestra_core::ServiceName;
use orchestra_core::spec::ProjectSpec;

use super::Stray;
use super::matcher::{Seen, ServiceMatcher};
use super::proc::{self, Ancestry, Canon};

/// The processes running any of `services` of `project` outside Orchestra, sorted by
/// service then pid.
///
/// `fleet` holds the pids the fleet owns (its replicas' processes): they and their
/// descendants are never strays, and neither are this process and its ancestors, other
/// users' processes, zombies and kernel threads. This process's own children are not
/// excluded by themselves: a supervisor passes its replicas' processes (and orphans it
/// adopted as subreaper) in `fleet`. A process is located in a service when its
/// working directory is in the service folder (the deepest one, when folders nest), its
/// executable lives there, or it is the service's built binary; it is a stray when it also
/// runs the service (see [`StrayReason`](super::StrayReason)).
#[expect(
    clippy::implicit_hasher,
    reason = "a pid set is a plain HashSet everywhere in Orchestra"
)]
pub fn find_strays(
    project: &ProjectSpec,
    services: &[ServiceName],
    fleet: &HashSet<i32>,
) -> Vec<Stray> {
    let wanted: HashSet<&ServiceName> = services.iter().collect();
    if wanted.is_empty() {
        return Vec::new();
    }
    let mut canon = Canon::default();
    let root = canon.get(&project.root);
    let matchers: Vec<ServiceMatcher> = project
        .services
        .values()
        .map(|s| ServiceMatcher::new(s, &root, &mut canon))
        .collect();
    let index = Index::new(&matchers);
    let uid = nix::unistd::getuid().as_raw();
    let mut ancestry = Ancestry::default();
    let mine = ancestry.of_self();

    let mut strays = Vec::new();
    for pid in proc::pids() {
        if mine.contains(&pid) {
            continue;
        }
        // Unreadable for other users' processes (unless privileged) and for zombies.
        let Some(cwd) = proc::cwd(pid) else {
            continue;
        };
        let exe = proc::exe(pid);
        let by_cwd = index.deepest(&cwd);
        let candidates = index.candidates(by_cwd, exe.as_deref());
        if !candidates
            .iter()
            .any(|&i| wanted.contains(&matchers[i].name))
        {
            continue;
        }
        let argv = proc::argv(pid);
        if argv.is_empty() {
            continue;
        }
        let seen = Seen {
            argv: &argv,
            cwd: &cwd,
            exe: exe.as_deref(),
        };
        let found = candidates
            .iter()
            .filter(|&&i| wanted.contains(&matchers[i].name))
            .find_map(|&i| {
                let cwd_here = by_cwd.is_some_and(|d| d.contains(&i));
                matchers[i].matches(seen, cwd_here).map(|r| (i, r))
            });
        let Some((i, reason)) = found else {
            continue;
        };
        let Some(stat) = proc::stat(pid).filter(|s| !s.is_zombie()) else {
            continue;
        };
        if proc::real_uid(pid) != Some(uid) || ancestry.within(pid, fleet) {
            continue;
        }
        tracing::debug!(pid, service = %matchers[i].name, %reason, "found a stray");
        strays.push(Stray {
            pid,
            identity: stat.identity(pid),
            cmdline: proc::shown(&argv),
            cwd,
            service: matchers[i].name.clone(),
            reason,
        });
    }
    strays.sort_by(|a, b| (&a.service, a.pid).cmp(&(&b.service, b.pid)));
    strays
}

/// The services by folder and by built binary.
struct Index<'a> {
    by_dir: HashMap<&'a Path, Vec<usize>>,
    by_binary: HashMap<&'a Path, Vec<usize>>,
}

impl<'a> Index<'a> {
    fn new(matchers: &'a [ServiceMatcher]) -> Self {
        let mut by_dir: HashMap<&Path, Vec<usize>> = HashMap::new();
        let mut by_binary: HashMap<&Path, Vec<usize>> = HashMap::new();
        for (i, m) in matchers.iter().enumerate() {
            by_dir.entry(&m.dir).or_default().push(i);
            if let Some(b) = &m.binary {
                by_binary.entry(b).or_default().push(i);
            }
        }
        Self { by_dir, by_binary }
    }

    /// The services whose folder is the deepest one holding `path`: a lookup per
    /// folder level, whatever the number of services.
    fn deepest(&self, path: &Path) -> Option<&[usize]> {
        path.ancestors()
            .find_map(|a| self.by_dir.get(a))
            .map(Vec::as_slice)
    }

    /// The services a process could belong to, most specific first: the owner of its
    /// exact binary, then of its working directory, then of its executable's folder.
    fn candidates(&self, by_cwd: Option<&[usize]>, exe: Option<&Path>) -> Vec<usize> {
        let by_binary = exe.and_then(|e| self.by_binary.get(e)).map(Vec::as_slice);
        let by_exe_dir = exe.and_then(|e| self.deepest(e));
        let mut out: Vec<usize> = Vec::new();
        for i in [by_binary, by_cwd, by_exe_dir]
            .into_iter()
            .flatten()
            .flatten()
        {
            if !out.contains(i) {
                out.push(*i);
            }
        }
        out
    }
}
