//! What the stray tests share: processes started by hand and killed however a test ends,
//! the HTTP fixture built once, and projects of services in a temporary folder.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal as NixSignal, kill, killpg};
use nix::unistd::Pid;
use orchestra_core::spec::{CommandSpec, ProjectSpec, ServiceKind, ServiceSpec};
use orchestra_core::{ProjectName, ServiceName};
use orchestra_supervisor::strays::Stray;

use crate::common::running;

/// Processes a test started, killed (group and pid) and reaped however the test ends.
#[derive(Default)]
pub struct Procs {
    children: Vec<(Child, Option<ChildStdin>)>,
}

impl Procs {
    /// Starts `cmd` leading its own process group, as a shell with job control would.
    pub fn start(&mut self, cmd: &mut Command) -> i32 {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if matches!(cmd.get_program().to_str(), Some("bash")) {
            cmd.stdin(Stdio::piped());
        } else {
            cmd.stdin(Stdio::null());
        }
        let mut child = cmd.spawn().unwrap();
        let stdin = child.stdin.take();
        let pid = child.id() as i32;
        self.children.push((child, stdin));
        pid
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        for (child, stdin) in &mut self.children {
            let pid = Pid::from_raw(child.id() as i32);
            let _ = killpg(pid, NixSignal::SIGKILL);
            let _ = kill(pid, NixSignal::SIGKILL);
            drop(stdin.take());
            let _ = child.wait();
        }
    }
}

/// Polls `f` every 20 ms until it is true; panics with `what` after `secs`.
pub fn wait_until(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn answers(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// Live processes whose working directory is inside `dir`.
pub fn running_in(dir: &Path) -> Vec<i32> {
    let dir = dir.canonicalize().unwrap();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| {
            std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|c| c.starts_with(&dir))
                && running(pid)
        })
        .collect()
}

pub fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/go/http")
}

/// The HTTP fixture, built once per test binary.
pub fn http_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let bin = dir.join("http");
        let status = Command::new("go")
            .args(["build", "-o"])
            .arg(&bin)
            .arg(".")
            .current_dir(fixture())
            .status()
            .unwrap();
        assert!(status.success(), "go build of the fixture failed");
        bin
    })
}

pub fn service(root: &Path, name: &str, kind: ServiceKind, run: CommandSpec) -> ServiceSpec {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    ServiceSpec {
        kind,
        binary: Some(root.join(".orchestra/bin").join(name)),
        stop_timeout: Duration::from_secs(5),
        ..ServiceSpec::command(ServiceName::new(name).unwrap(), dir, run)
    }
}

/// A Go service `name` whose run command is its built binary, as the config resolves it.
pub fn go_service(root: &Path, name: &str) -> ServiceSpec {
    let bin = root.join(".orchestra/bin").join(name);
    let run = CommandSpec::Exec(vec![bin.to_string_lossy().into_owned()]);
    service(root, name, ServiceKind::Go, run)
}

pub fn project(root: &Path, services: Vec<ServiceSpec>) -> ProjectSpec {
    ProjectSpec {
        services: services.into_iter().map(|s| (s.name.clone(), s)).collect(),
        ..ProjectSpec::empty(ProjectName::sanitize("demo"), root)
    }
}

pub fn all(p: &ProjectSpec) -> Vec<ServiceName> {
    p.services.keys().cloned().collect()
}

pub fn pids(strays: &[Stray]) -> Vec<i32> {
    strays.iter().map(|s| s.pid).collect()
}

/// Installs the fixture as `dest` (replacing what is there, as a rebuild does).
pub fn install(dest: &Path) {
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(dest);
    std::fs::copy(http_binary(), dest).unwrap();
}
