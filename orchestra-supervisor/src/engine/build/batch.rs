//! One `go build` for several Go services of one module or workspace.
//!
//! A Go service's default build is `go build -o BIN .` in its folder. When one change
//! concerns several services that share packages (an edit in a shared `pkg/auth`), a
//! `go build` per service loads the module and compiles the shared packages once per
//! service, and the builds queue for the cores. `go build -o DIR/ ./cmd/a ./cmd/b` loads and
//! compiles everything once and runs the links side by side under one scheduler; the
//! binaries it writes are byte for byte those of the builds alone.
//!
//! # When it is the same build
//!
//! A service joins a batch only when its build is exactly `go build -o BIN .` (the default,
//! or the same list written out); a command written any other way is run as written. Services
//! are batched together when go resolves the same way from each folder: the same build root
//! (the nearest `go.work`, else `go.mod`, above the folder) and the same environment. With
//! several main packages and `-o DIR/`, go names each binary after the last element of its
//! import path, which for a package in a folder below its module's root is the folder's
//! name; a folder holding its own `go.mod`, one named like a major version (`v2`, which go
//! skips), and a second folder of the same name are built alone.
//!
//! The binaries are written to a fresh folder beside the services' binaries and renamed into
//! place one by one: a running replica keeps its file, and what a killed batch wrote is
//! thrown away. When the batch fails, go has still built every binary that does not need the
//! failing package: those services are done. The others are built alone, as before, so each
//! gets its own compiler output in its log and its own failure.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};

use orchestra_core::spec::{CommandSpec, Env, ServiceSpec};
use orchestra_core::{ServiceName, StateDir};

use super::{Failed, KillGroupOnDrop, TAIL_LINES, copy_to_replica_log, fresh_build_log, tail};
use crate::unix::spawn::spawn_group;
use crate::watch::build_root;

/// Services whose builds one `go build` does.
#[derive(Debug, Clone)]
pub(crate) struct GoBatch {
    /// Where go runs: the build root the members share.
    root: PathBuf,
    /// The environment the members share.
    env: Env,
    /// The folder of the members' binaries.
    bin_dir: PathBuf,
    members: Vec<Member>,
}

#[derive(Debug, Clone)]
struct Member {
    spec: ServiceSpec,
    /// The package, relative to the root: `./cmd/users`.
    package: String,
    /// The name go gives its binary in `-o DIR/`.
    exec: String,
    /// Where the service's own build writes its binary.
    target: PathBuf,
}

/// What members of one batch must share.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    root: PathBuf,
    bin_dir: PathBuf,
    env: Env,
}

/// How the build of one member went: `None` when the batch did not build it, so it is to
/// be built alone.
pub(crate) type MemberResult = (ServiceName, Option<Result<(), Failed>>);

/// Splits `specs` into batches of two or more services and the services built alone.
pub(crate) fn plan(specs: Vec<ServiceSpec>) -> (Vec<GoBatch>, Vec<ServiceSpec>) {
    let mut groups: BTreeMap<Key, Vec<Member>> = BTreeMap::new();
    let mut alone = Vec::new();
    for spec in specs {
        let Some((key, member)) = member(&spec) else {
            alone.push(spec);
            continue;
        };
        let group = groups.entry(key).or_default();
        // Two binaries of one name would overwrite each other in the batch's folder.
        if group.iter().any(|m| m.exec == member.exec) {
            alone.push(spec);
        } else {
            group.push(member);
        }
    }
    let mut batches = Vec::new();
    for (key, members) in groups {
        if members.len() < 2 {
            alone.extend(members.into_iter().map(|m| m.spec));
        } else {
            batches.push(GoBatch {
                root: key.root,
                env: key.env,
                bin_dir: key.bin_dir,
                members,
            });
        }
    }
    (batches, alone)
}

/// The batch key and member of a service whose build a batch can do; `None` when it must be
/// built alone.
fn member(spec: &ServiceSpec) -> Option<(Key, Member)> {
    let Some(CommandSpec::Exec(argv)) = &spec.build else {
        return None;
    };
    let [go, build, flag, bin, dot] = argv.as_slice() else {
        return None;
    };
    if (go.as_str(), build.as_str(), flag.as_str(), dot.as_str()) != ("go", "build", "-o", ".")
        || bin.ends_with('/')
    {
        return None;
    }
    // `-o` names a file relative to the service's folder, where its build runs; an
    // existing folder would get the binary inside it instead.
    let target = spec.dir.join(bin);
    if target.is_dir() {
        return None;
    }
    let bin_dir = target.parent()?.to_path_buf();
    let module = spec.dir.ancestors().find(|a| a.join("go.mod").is_file())?;
    if module == spec.dir {
        return None;
    }
    let exec = spec.dir.file_name()?.to_str()?.to_owned();
    if is_version_element(&exec) {
        return None;
    }
    let root = build_root(&spec.dir)?;
    let package = format!("./{}", spec.dir.strip_prefix(&root).ok()?.to_str()?);
    let key = Key {
        root,
        bin_dir,
        env: spec.env.clone(),
    };
    let member = Member {
        spec: spec.clone(),
        package,
        exec,
        target,
    };
    Some((key, member))
}

/// Whether go would skip `name` when naming a binary: a major version element (`v2`).
fn is_version_element(name: &str) -> bool {
    name.strip_prefix('v')
        .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
}

impl GoBatch {
    /// The services of the batch.
    pub(crate) fn services(&self) -> impl Iterator<Item = &ServiceName> {
        self.members.iter().map(|m| &m.spec.name)
    }

    /// Builds the members in one `go build`; each member's result, `None` for those to build
    /// alone (see the module docs).
    pub(crate) async fn build(&self, state: &StateDir) -> Vec<MemberResult> {
        let started = std::time::Instant::now();
        let out = match Scratch::new(&self.bin_dir) {
            Ok(out) => out,
            Err(e) => {
                tracing::warn!(error = %e, "cannot make a folder for a batched go build; building alone");
                return self
                    .members
                    .iter()
                    .map(|m| (m.spec.name.clone(), None))
                    .collect();
            }
        };
        let succeeded = self.run(&out).await;
        let output = std::fs::read(out.log()).unwrap_or_default();
        let results = self
            .members
            .iter()
            .map(|m| {
                let built = out.bins().join(&m.exec);
                let result = built.is_file().then(|| {
                    // Another member's errors are not this one's: it compiled cleanly.
                    let said: &[u8] = if succeeded { &output } else { &[] };
                    place(m, &built, said, state)
                });
                (m.spec.name.clone(), result)
            })
            .collect();
        tracing::debug!(
            services = ?self.services().collect::<Vec<_>>(),
            succeeded,
            elapsed_ms = started.elapsed().as_millis(),
            "batched go build"
        );
        results
    }

    /// Runs the one `go build`; whether it succeeded.
    async fn run(&self, out: &Scratch) -> bool {
        let log = match orchestra_core::paths::open_append(&out.log()) {
            Ok(log) => log,
            Err(e) => {
                tracing::warn!(error = %e, "cannot open a batched go build's output");
                return false;
            }
        };
        let Ok(stderr) = log.try_clone() else {
            return false;
        };
        // The trailing slash tells go that this is the folder of several binaries.
        let dir = format!("{}/", out.bins().display());
        let mut cmd = tokio::process::Command::new("go");
        cmd.args(["build", "-o", &dir])
            .args(self.members.iter().map(|m| &m.package))
            .current_dir(&self.root)
            .envs(&self.env)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(stderr));
        let mut child = match spawn_group(cmd) {
            Ok(child) => child,
            Err(e) => {
                tracing::warn!(error = %e, "cannot run a batched go build");
                return false;
            }
        };
        let mut group = KillGroupOnDrop(Some(child.pid));
        let status = child.wait().await;
        group.disarm();
        status.is_ok_and(|s| s.success())
    }
}

/// Moves a member's binary into place and writes its build log as its own build would.
fn place(member: &Member, built: &Path, output: &[u8], state: &StateDir) -> Result<(), Failed> {
    let spec = &member.spec;
    let log_path = state.build_log(&spec.name);
    let logged = fresh_build_log(state, &spec.name)
        .and_then(|mut log| std::io::Write::write_all(&mut log, output));
    if let Err(e) = logged {
        tracing::warn!(service = %spec.name, error = %e, "cannot write the build log");
    }
    copy_to_replica_log(&log_path, state, spec);
    std::fs::rename(built, &member.target).map_err(|e| Failed::BuildFailed {
        service: spec.name.clone(),
        end: None,
        reason: format!(
            "build failed: cannot move the binary to {}: {e}",
            member.target.display()
        ),
        log_tail: tail(&log_path, TAIL_LINES),
    })
}

/// A fresh folder for one batch beside the binaries it makes (so they are renamed, not
/// copied, into place); removed with what is left in it when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(bin_dir: &Path) -> std::io::Result<Self> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = bin_dir.join(format!(".go-batch.{}.{n}", std::process::id()));
        std::fs::create_dir(&dir)?;
        let this = Self(dir);
        std::fs::create_dir(this.bins())?;
        Ok(this)
    }

    fn bins(&self) -> PathBuf {
        self.0.join("bin")
    }

    fn log(&self) -> PathBuf {
        self.0.join("output.log")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests;
