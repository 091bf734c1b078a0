//! Strays and port owners, with real processes: a built Go service started by hand, `go run`,
//! a `sh -c` wrapper, a shell and a `sleep` that must be left alone, a Python HTTP server
//! holding a port.
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::HashSet;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal as NixSignal, kill, killpg};
use nix::unistd::Pid;
use orchestra_core::spec::{CommandSpec, ProjectSpec, ServiceKind, ServiceSpec};
use orchestra_core::{ProjectName, ServiceName, Signal};
use orchestra_supervisor::strays::{
    Stray, StrayOutcome, StrayReason, find_strays, port_holder, ports_held_under, stop_strays,
};

// ---------------------------------------------------------------- helpers

/// Processes a test started, killed (group and pid) and reaped however the test ends.
#[derive(Default)]
struct Procs {
    children: Vec<(Child, Option<ChildStdin>)>,
}

impl Procs {
    /// Starts `cmd` leading its own process group, as a shell with job control would.
    fn start(&mut self, cmd: &mut Command) -> i32 {
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
fn wait_until(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn answers(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether `pid` runs (exists and is not a zombie).
fn running(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        !matches!(after.split_whitespace().next(), Some("Z" | "X"))
    })
}

/// Live processes whose working directory is inside `dir`.
fn running_in(dir: &Path) -> Vec<i32> {
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

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/go/http")
}

/// The HTTP fixture, built once per test binary.
fn http_binary() -> &'static Path {
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

fn service(root: &Path, name: &str, kind: ServiceKind, run: CommandSpec) -> ServiceSpec {
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
fn go_service(root: &Path, name: &str) -> ServiceSpec {
    let bin = root.join(".orchestra/bin").join(name);
    let run = CommandSpec::Exec(vec![bin.to_string_lossy().into_owned()]);
    service(root, name, ServiceKind::Go, run)
}

fn project(root: &Path, services: Vec<ServiceSpec>) -> ProjectSpec {
    ProjectSpec {
        services: services.into_iter().map(|s| (s.name.clone(), s)).collect(),
        ..ProjectSpec::empty(ProjectName::sanitize("demo"), root)
    }
}

fn all(p: &ProjectSpec) -> Vec<ServiceName> {
    p.services.keys().cloned().collect()
}

fn pids(strays: &[Stray]) -> Vec<i32> {
    strays.iter().map(|s| s.pid).collect()
}

/// Installs the fixture as `dest` (replacing what is there, as a rebuild does).
fn install(dest: &Path) {
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(dest);
    std::fs::copy(http_binary(), dest).unwrap();
}

// ---------------------------------------------------------------- strays

#[tokio::test]
async fn a_hand_started_built_binary_is_found_and_stopped_and_its_port_freed() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let users = go_service(root, "users");
    let bin = users.binary.clone().unwrap();
    install(&bin);
    install(&users.dir.join("users")); // `go build` in the folder, then `./users`
    let project = project(root, vec![users.clone()]);
    let mut procs = Procs::default();
    let (p1, p2) = (free_port(), free_port());
    let built = procs.start(
        Command::new(&bin)
            .current_dir(&users.dir)
            .env("PORT", p1.to_string()),
    );
    let local = procs.start(
        Command::new("./users")
            .current_dir(&users.dir)
            .env("PORT", p2.to_string()),
    );
    wait_until(20, "both copies to listen", || answers(p1) && answers(p2));
    install(&bin); // rebuilt since: its exe now reads "… (deleted)"

    let strays = find_strays(&project, &all(&project), &HashSet::new());
    assert_eq!(pids(&strays), {
        let mut v = vec![built, local];
        v.sort_unstable();
        v
    });
    let by_pid = |pid| strays.iter().find(|s| s.pid == pid).unwrap();
    assert_eq!(
        by_pid(built).reason.to_string(),
        "runs the built binary .orchestra/bin/users"
    );
    assert_eq!(
        by_pid(local).reason.to_string(),
        "runs the built binary users/users"
    );
    assert_eq!(by_pid(built).cmdline, bin.to_string_lossy());
    assert_eq!(by_pid(local).cmdline, "./users");
    assert_eq!(by_pid(built).service.as_str(), "users");
    assert_eq!(by_pid(built).cwd, users.dir.canonicalize().unwrap());

    let stopped = stop_strays(&strays, Signal::TERM, Duration::from_secs(5)).await;
    for s in &stopped {
        assert!(
            matches!(s.outcome, StrayOutcome::Stopped),
            "{}: {}",
            s.stray.pid,
            s.outcome
        );
    }
    assert!(!running(built) && !running(local));
    assert_eq!(port_holder(p1), None);
    assert_eq!(port_holder(p2), None);
    assert!(!answers(p1) && !answers(p2));
    assert!(find_strays(&project, &all(&project), &HashSet::new()).is_empty());
}

#[tokio::test]
async fn go_run_parent_and_child_are_both_found_and_stopped() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let api = go_service(root, "api");
    for file in ["go.mod", "main.go"] {
        std::fs::copy(fixture().join(file), api.dir.join(file)).unwrap();
    }
    let project = project(root, vec![api.clone()]);
    let mut procs = Procs::default();
    let port = free_port();
    let go = procs.start(
        Command::new("go")
            .args(["run", "."])
            .current_dir(&api.dir)
            .env("PORT", port.to_string()),
    );
    wait_until(180, "`go run` to serve", || answers(port));

    let strays = find_strays(&project, &all(&project), &HashSet::new());
    assert_eq!(strays.len(), 2, "{strays:#?}");
    let parent = strays.iter().find(|s| s.pid == go).unwrap();
    assert_eq!(parent.reason.to_string(), "`go run` in api/");
    assert_eq!(parent.cmdline, "go run .");
    let child = strays.iter().find(|s| s.pid != go).unwrap();
    assert_eq!(child.reason, StrayReason::GoBuildTemp);
    assert_eq!(port_holder(port).unwrap().pid, child.pid);

    let stopped = stop_strays(&strays, Signal::TERM, Duration::from_secs(5)).await;
    assert!(stopped.iter().all(|s| s.outcome.is_gone()), "{stopped:#?}");
    assert!(!running(go) && !running(child.pid));
    assert_eq!(running_in(&api.dir), Vec::<i32>::new());
    assert_eq!(port_holder(port), None);
}

#[tokio::test]
async fn a_sh_c_wrapper_of_the_run_command_is_found_with_its_child() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let run = CommandSpec::Shell("./start.sh {port} && echo bye".into());
    let worker = service(root, "worker", ServiceKind::Command, run);
    let script = worker.dir.join("start.sh");
    std::fs::write(&script, "#!/bin/sh\nPORT=$1 \"$HTTP_BIN\"\necho after\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let project = project(root, vec![worker.clone()]);
    let mut procs = Procs::default();
    let port = free_port();
    let wrapper = procs.start(
        Command::new("sh")
            .args(["-c", &format!("./start.sh {port} && echo bye")])
            .current_dir(&worker.dir)
            .env("HTTP_BIN", http_binary()),
    );
    wait_until(20, "the wrapped server to listen", || answers(port));
    let server = port_holder(port).unwrap().pid;

    let strays = find_strays(&project, &all(&project), &HashSet::new());
    // The wrapper and the script it runs; the server they started is neither, but theirs.
    assert_eq!(strays.len(), 2, "{strays:#?}");
    assert_eq!(strays[0].pid, wrapper);
    assert_eq!(
        strays[0].cmdline,
        format!("sh -c ./start.sh {port} && echo bye")
    );
    assert_eq!(strays[1].cmdline, format!("/bin/sh ./start.sh {port}"));
    for s in &strays {
        assert_eq!(s.reason.to_string(), "runs `./start.sh` of worker");
    }
    assert!(!pids(&strays).contains(&server));

    let stopped = stop_strays(&strays, Signal::TERM, Duration::from_secs(5)).await;
    assert!(stopped.iter().all(|s| s.outcome.is_gone()), "{stopped:#?}");
    assert!(!running(server));
    assert_eq!(running_in(&worker.dir), Vec::<i32>::new());
    assert_eq!(port_holder(port), None);
}

#[tokio::test]
async fn a_shell_an_editor_like_program_and_sleep_in_the_folder_are_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let users = go_service(root, "users");
    let run = CommandSpec::Shell("./start.sh {port}".into());
    let worker = service(root, "worker", ServiceKind::Command, run);
    std::fs::write(worker.dir.join("start.sh"), "#!/bin/sh\nexec sleep 1000\n").unwrap();
    let project = project(root, vec![users.clone(), worker.clone()]);
    let mut procs = Procs::default();
    let mut started = Vec::new();
    for dir in [&users.dir, &worker.dir] {
        std::fs::write(dir.join("notes.txt"), "a file someone follows\n").unwrap();
        started.push(procs.start(Command::new("bash").current_dir(dir)));
        started.push(procs.start(Command::new("sleep").arg("1000").current_dir(dir)));
        started.push(
            procs.start(
                Command::new("sh")
                    .args(["-c", "sleep 1000; true"])
                    .current_dir(dir),
            ),
        );
        started.push(
            procs.start(
                Command::new("tail")
                    .args(["-f", "notes.txt"])
                    .current_dir(dir),
            ),
        );
    }
    let canonical_root = root.canonicalize().unwrap();
    wait_until(10, "the processes to settle in their folders", || {
        started.iter().all(|&pid| {
            running(pid)
                && std::fs::read_link(format!("/proc/{pid}/cwd"))
                    .is_ok_and(|c| c.starts_with(&canonical_root))
        })
    });

    let strays = find_strays(&project, &all(&project), &HashSet::new());
    assert!(strays.is_empty(), "{strays:#?}");
    assert!(started.iter().all(|&pid| running(pid)));
}

#[tokio::test]
async fn processes_of_the_fleet_and_their_descendants_are_not_strays() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let users = go_service(root, "users");
    let bin = users.binary.clone().unwrap();
    install(&bin);
    let project = project(root, vec![users.clone()]);
    let mut procs = Procs::default();
    let (p1, p2) = (free_port(), free_port());
    let direct = procs.start(
        Command::new(&bin)
            .current_dir(&users.dir)
            .env("PORT", p1.to_string()),
    );
    // A fleet replica is often a shell running the binary as its child.
    let wrapper = procs.start(
        Command::new("sh")
            .args(["-c", &format!("{}; true", bin.display())])
            .current_dir(&users.dir)
            .env("PORT", p2.to_string()),
    );
    wait_until(20, "both to listen", || answers(p1) && answers(p2));
    let grandchild = port_holder(p2).unwrap().pid;
    assert_ne!(grandchild, wrapper);
    let every = find_strays(&project, &all(&project), &HashSet::new());
    let mut expected = vec![direct, grandchild];
    expected.sort_unstable();
    assert_eq!(pids(&every), expected);

    let fleet = HashSet::from([direct, wrapper]);
    let strays = find_strays(&project, &all(&project), &fleet);
    assert!(strays.is_empty(), "{strays:#?}");
    // Asking about another service finds nothing either.
    let none = find_strays(
        &project,
        &[ServiceName::new("other").unwrap()],
        &HashSet::new(),
    );
    assert!(none.is_empty());
}

#[tokio::test]
async fn a_stray_ignoring_the_stop_signal_is_killed_after_the_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let run = CommandSpec::Shell("./stubborn.sh".into());
    let svc = service(root, "stubborn", ServiceKind::Command, run);
    let script = svc.dir.join("stubborn.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\ntrap '' TERM\nwhile :; do sleep 0.05; done\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let project = project(root, vec![svc.clone()]);
    let mut procs = Procs::default();
    let pid = procs.start(Command::new("./stubborn.sh").current_dir(&svc.dir));
    wait_until(10, "the script to run", || {
        find_strays(&project, &all(&project), &HashSet::new()).len() == 1
    });
    let strays = find_strays(&project, &all(&project), &HashSet::new());
    assert_eq!(strays[0].pid, pid);
    let began = Instant::now();
    let stopped = stop_strays(&strays, Signal::TERM, Duration::from_millis(300)).await;
    assert!(
        matches!(stopped[0].outcome, StrayOutcome::Killed),
        "{}",
        stopped[0].outcome
    );
    assert!(began.elapsed() >= Duration::from_millis(300));
    assert!(!running(pid));
    assert_eq!(running_in(&svc.dir), Vec::<i32>::new());
    // Stopping it again finds nothing to do.
    let again = stop_strays(&strays, Signal::TERM, Duration::from_secs(1)).await;
    assert!(matches!(again[0].outcome, StrayOutcome::AlreadyGone));
}

#[tokio::test]
async fn one_scan_serves_two_hundred_services_quickly() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let services: Vec<ServiceSpec> = (0..200)
        .map(|i| go_service(root, &format!("svc{i:03}")))
        .collect();
    let target = services[150].clone();
    let project = project(root, services);
    let mut procs = Procs::default();
    let port = free_port();
    install(target.binary.as_ref().unwrap());
    let pid = procs.start(
        Command::new(target.binary.as_ref().unwrap())
            .current_dir(&target.dir)
            .env("PORT", port.to_string()),
    );
    wait_until(20, "the stray to listen", || answers(port));
    let names = all(&project);
    let mut best = Duration::MAX;
    for _ in 0..5 {
        let began = Instant::now();
        let strays = find_strays(&project, &names, &HashSet::new());
        best = best.min(began.elapsed());
        assert_eq!(pids(&strays), [pid]);
        assert_eq!(strays[0].service, target.name);
    }
    let processes = std::fs::read_dir("/proc")
        .unwrap()
        .filter(|e| {
            e.as_ref().is_ok_and(|e| {
                e.file_name()
                    .to_str()
                    .is_some_and(|n| n.parse::<u32>().is_ok())
            })
        })
        .count();
    eprintln!("find_strays: 200 services, {processes} processes: {best:?}");
    assert!(best < Duration::from_secs(1), "scan took {best:?}");
}

// ---------------------------------------------------------------- ports

#[tokio::test]
async fn port_holder_names_a_python_http_server_and_ports_held_under_finds_it() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let site = root.join("site");
    std::fs::create_dir_all(&site).unwrap();
    let mut procs = Procs::default();
    let port = free_port();
    let pid = procs.start(
        Command::new("/usr/bin/python3")
            .args(["-m", "http.server", &port.to_string()])
            .current_dir(&site),
    );
    wait_until(20, "python to serve", || answers(port));

    let holder = port_holder(port).unwrap();
    assert_eq!(holder.pid, pid);
    assert_eq!(
        holder.cmdline,
        format!("/usr/bin/python3 -m http.server {port}")
    );
    assert_eq!(
        holder.cwd.as_deref(),
        Some(site.canonicalize().unwrap().as_path())
    );
    assert_eq!(
        holder.to_string(),
        format!("port {port} is held by pid {pid}: /usr/bin/python3 -m http.server {port}")
    );

    let under = ports_held_under(root, &HashSet::new());
    assert_eq!(under, vec![holder.clone()]);
    assert!(ports_held_under(root, &HashSet::from([pid])).is_empty());
    let elsewhere = tempfile::tempdir().unwrap();
    assert!(ports_held_under(elsewhere.path(), &HashSet::new()).is_empty());

    drop(procs);
    wait_until(10, "the port to be free", || port_holder(port).is_none());
    assert_eq!(port_holder(free_port()), None);
}
