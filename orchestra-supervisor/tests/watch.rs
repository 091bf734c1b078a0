//! The fleet watcher against real folders and real inotify events.
//!
//! No test sleeps for a fixed time to wait for something. Each waits for an event with a
//! deadline. To show that a change gave *no* event, a test changes a file of another service
//! (the sentinel) afterwards: the watcher handles events in order and sends names in the
//! order their bursts end, so had the first change counted, its name would arrive before
//! the sentinel's (its burst started earlier, with the same quiet period).

use std::collections::{BTreeSet, VecDeque};
use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use orchestra_core::name::ServiceName;
use orchestra_core::spec::{CommandSpec, RerunSpec, ServiceKind, ServiceSpec};
use orchestra_supervisor::watch::{FleetWatcher, WatchEvent};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

const GO: &[&str] = &["**/*.go", "go.mod", "go.sum"];
const QUIET: Duration = Duration::from_millis(100);
/// Generous: the machine running the tests may be busy building.
const DEADLINE: Duration = Duration::from_secs(10);

/// A project folder with its state dir.
struct Project {
    root: tempfile::TempDir,
}

impl Project {
    fn new() -> Self {
        let root = tempfile::tempdir().expect("tempdir");
        fs::create_dir_all(root.path().join(".orchestra/logs")).expect("state dir");
        Self { root }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }

    fn state_dir(&self) -> PathBuf {
        self.path(".orchestra")
    }

    /// A Go service in `rel` (created), its binary built inside its folder as `<name>-bin`.
    fn go(&self, name: &str, rel: &str) -> ServiceSpec {
        self.service(name, rel, GO)
    }

    fn service(&self, name: &str, rel: &str, watch: &[&str]) -> ServiceSpec {
        let dir = self.path(rel);
        fs::create_dir_all(&dir).expect("service dir");
        ServiceSpec {
            kind: ServiceKind::Go,
            binary: Some(dir.join(format!("{name}-bin"))),
            stop_timeout: Duration::from_secs(1),
            watch: watch.iter().map(|s| (*s).to_owned()).collect(),
            rerun: RerunSpec {
                enabled: true,
                test: false,
                debounce: QUIET,
            },
            ..ServiceSpec::command(
                ServiceName::new(name).expect("valid name"),
                dir,
                CommandSpec::Shell("{bin}".into()),
            )
        }
    }

    fn write(&self, rel: &str) {
        let path = self.path(rel);
        fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        fs::write(&path, format!("package main // {:?}\n", Instant::now())).expect("write");
    }

    fn watch(&self, services: &[ServiceSpec]) -> (FleetWatcher, Events) {
        let (tx, rx) = unbounded_channel();
        let watcher = FleetWatcher::start(services, &self.state_dir(), tx).expect("watcher");
        (
            watcher,
            Events {
                rx,
                queued: VecDeque::new(),
                stale: Vec::new(),
            },
        )
    }
}

struct Events {
    rx: UnboundedReceiver<WatchEvent>,
    /// Services of a batch not yet looked at, with their files.
    queued: VecDeque<(String, BTreeSet<PathBuf>)>,
    /// The services told stale so far.
    stale: Vec<String>,
}

impl Events {
    /// The next service sent and its files, waiting at most [`DEADLINE`].
    async fn next_with_files(&mut self) -> (String, BTreeSet<PathBuf>) {
        while self.queued.is_empty() {
            let event = tokio::time::timeout(DEADLINE, self.rx.recv())
                .await
                .expect("an event before the deadline")
                .expect("the watcher is alive");
            match event {
                WatchEvent::Changed(batch) => self.queued.extend(
                    batch
                        .into_iter()
                        .map(|(name, files)| (name.to_string(), files)),
                ),
                WatchEvent::Stale(names) => {
                    self.stale.extend(names.iter().map(ToString::to_string));
                }
            }
        }
        self.queued.pop_front().expect("a batch names a service")
    }

    /// The next service sent.
    async fn next(&mut self) -> String {
        self.next_with_files().await.0
    }

    /// Asserts that the next name is `sentinel`'s, so that nothing was sent before it, and that
    /// nothing is queued behind it.
    async fn next_is_only(&mut self, sentinel: &str) {
        assert_eq!(
            self.next().await,
            sentinel,
            "an event came before the sentinel's"
        );
        assert!(
            self.queued.is_empty() && self.rx.try_recv().is_err(),
            "an event came with the sentinel's"
        );
    }
}

#[tokio::test]
async fn one_write_gives_one_event() {
    let p = Project::new();
    let (_w, mut events) = p.watch(&[p.go("users", "users"), p.go("orders", "orders")]);
    p.write("users/main.go");
    assert_eq!(events.next().await, "users");
    p.write("orders/main.go");
    events.next_is_only("orders").await;
}

/// The first file is sent at once; the rest of the burst follows together, once quiet.
#[tokio::test]
async fn a_burst_of_200_files_gives_its_first_file_then_the_rest() {
    let p = Project::new();
    let (_w, mut events) = p.watch(&[p.go("users", "users"), p.go("orders", "orders")]);
    let files: BTreeSet<PathBuf> = (0..200)
        .map(|i| p.path(&format!("users/file{i}.go")))
        .collect();
    for file in &files {
        fs::write(file, "package main\n").expect("write");
    }
    let (name, first) = events.next_with_files().await;
    assert_eq!((name.as_str(), first.len()), ("users", 1), "{first:?}");
    let (name, rest) = events.next_with_files().await;
    assert_eq!(name, "users");
    assert_eq!(
        events.stale,
        ["users"],
        "told stale once, before the rest came"
    );
    assert!(
        rest.len() >= 50 && rest.is_subset(&files) && rest.is_disjoint(&first),
        "the rest of the burst, the first few dozen named: {rest:?}"
    );
    p.write("orders/main.go");
    events.next_is_only("orders").await;
}

#[tokio::test]
async fn changes_outside_the_sources_give_none() {
    let p = Project::new();
    // `app` is the project folder itself and watches everything; `users` is nested in it.
    let app = p.service("app", "", &[]);
    let users = p.go("users", "users");
    let orders = p.go("orders", "orders");
    fs::write(p.path(".gitignore"), "/users/gen/\n").expect("write");
    fs::write(p.path("users/.gitignore"), "tmp/\n").expect("write");
    fs::create_dir_all(p.path(".git")).expect("mkdir");
    let (_w, mut events) = p.watch(&[app, users, orders]);

    p.write(".orchestra/logs/users.0.log");
    p.write(".orchestra/state.json");
    p.write(".git/index");
    p.write("users/.git/HEAD");
    p.write("users/gen/api.go");
    p.write("users/tmp/scratch.go");
    p.write("users/users-bin");
    p.write("users/README.md");
    // An editor's save dance next to the sources: vim's probe, swap and backup files, Emacs' lock.
    p.write("users/4913");
    fs::remove_file(p.path("users/4913")).expect("rm");
    p.write("users/.main.go.swp");
    p.write("users/main.go~");
    p.write("users/.#main.go");
    p.write("notes.txt~");
    // Reading sources, as a build does, is no change.
    fs::read_dir(p.path("users")).expect("ls").for_each(drop);
    let _ = fs::read(p.path("users/README.md")).expect("read");

    p.write("orders/main.go");
    events.next_is_only("orders").await;

    // The same files are seen by the service that owns them.
    p.write("users/main.go");
    events.next_is_only("users").await;
    p.write("notes.txt");
    events.next_is_only("app").await;
}

#[tokio::test]
async fn a_folder_that_is_no_service_gives_none() {
    let p = Project::new();
    fs::create_dir_all(p.path("scripts")).expect("mkdir");
    let (_w, mut events) = p.watch(&[p.go("users", "users"), p.go("orders", "orders")]);
    p.write("scripts/gen.go");
    p.write("main.go");
    p.write("orders-old/main.go");
    p.write("orders/main.go");
    events.next_is_only("orders").await;
}

#[tokio::test]
async fn two_services_changed_at_once_give_one_event_each() {
    let p = Project::new();
    let (_w, mut events) = p.watch(&[p.go("users", "users"), p.go("orders", "orders")]);
    for i in 0..20 {
        p.write(&format!("users/f{i}.go"));
        p.write(&format!("orders/f{i}.go"));
    }
    let mut got = BTreeSet::new();
    while got.len() < 2 {
        got.insert(events.next().await);
    }
    assert_eq!(got, BTreeSet::from(["orders".into(), "users".into()]));
    // What followed the leading edges, as bursts of their own.
    let mut rest = 0;
    while rest < 2 {
        let name = events.next().await;
        assert!(got.contains(&name), "{name}");
        rest += 1;
    }
    p.write("orders/main.go");
    events.next_is_only("orders").await;
}

#[tokio::test]
async fn folders_created_after_start_are_watched() {
    let p = Project::new();
    let (_w, mut events) = p.watch(&[p.go("users", "users"), p.go("orders", "orders")]);

    // A deep new tree written at once: its file may land before its folders are watched.
    p.write("users/internal/store/sql/query.go");
    events.next_is_only("users").await;

    // An empty new folder is no change, but what is written into it later is.
    fs::create_dir_all(p.path("users/api/v2")).expect("mkdir");
    p.write("orders/main.go");
    events.next_is_only("orders").await;
    p.write("users/api/v2/handler.go");
    events.next_is_only("users").await;

    // A folder of sources moved in from outside counts, and so does one moved out.
    p.write("elsewhere/lib/lib.go");
    fs::rename(p.path("elsewhere/lib"), p.path("users/lib")).expect("mv");
    events.next_is_only("users").await;
    fs::rename(p.path("users/lib"), p.path("elsewhere/lib")).expect("mv");
    events.next_is_only("users").await;
}

#[tokio::test]
async fn set_services_adds_and_removes_folders() {
    let p = Project::new();
    let users = p.go("users", "users");
    let orders = p.go("orders", "orders");
    let billing = p.go("billing", "billing");
    let (mut w, mut events) = p.watch(&[users.clone(), billing.clone()]);

    p.write("orders/main.go");
    p.write("billing/main.go");
    events.next_is_only("billing").await;

    w.set_services(&[orders.clone(), billing.clone()])
        .expect("set services");
    let watched: Vec<PathBuf> = w.watched_folders().collect();
    assert_eq!(watched, [billing.dir.clone(), orders.dir.clone()]);
    p.write("users/main.go");
    p.write("orders/main.go");
    events.next_is_only("orders").await;
    p.write("billing/main.go");
    events.next_is_only("billing").await;

    // A service folder that becomes nested in a new one keeps being seen as its own.
    let mut root = p.service("root", "", &["*.go"]);
    root.name = ServiceName::new("root").expect("valid name");
    w.set_services(&[root, orders, billing])
        .expect("set services");
    assert_eq!(w.watched_folders().collect::<Vec<_>>(), [p.root.path()]);
    p.write("orders/main.go");
    events.next_is_only("orders").await;
    p.write("main.go");
    events.next_is_only("root").await;
}

#[tokio::test]
async fn a_missing_folder_is_an_error_naming_it() {
    let p = Project::new();
    let mut ghost = p.go("ghost", "ghost");
    fs::remove_dir(&ghost.dir).expect("rmdir");
    let (tx, _rx) = unbounded_channel();
    let err = FleetWatcher::start(&[ghost.clone()], &p.state_dir(), tx).expect_err("missing");
    assert!(err.to_string().contains("ghost"), "{err}");

    ghost.watch = vec!["[".into()];
    let (tx, _rx) = unbounded_channel();
    let err = FleetWatcher::start(&[ghost], &p.state_dir(), tx).expect_err("bad glob");
    assert!(err.to_string().contains("bad glob"), "{err}");
}

#[tokio::test]
async fn a_changing_gitignore_is_read_again() {
    let p = Project::new();
    let (_w, mut events) = p.watch(&[p.go("users", "users"), p.go("orders", "orders")]);
    fs::write(p.path("users/.gitignore"), "generated/\n").expect("write");
    p.write("users/generated/api.go");
    p.write("orders/main.go");
    events.next_is_only("orders").await;
}

/// A stream of changes with no pause: its first save is sent at once, the rest is held
/// back, but only up to the cap: `max(10 × debounce, 2 s)`, here 3 s for a 300 ms quiet
/// period.
#[tokio::test]
async fn a_never_ending_stream_fires_at_once_then_at_the_cap() {
    let p = Project::new();
    let mut users = p.go("users", "users");
    users.rerun.debounce = Duration::from_millis(300);
    let (_w, mut events) = p.watch(&[users, p.go("orders", "orders")]);

    let file = p.path("users/main.go");
    let started = Instant::now();
    let writer = std::thread::spawn(move || {
        // A change every 20 ms for 4.5 s: never quiet for 300 ms.
        while started.elapsed() < Duration::from_millis(4500) {
            fs::write(&file, format!("package main // {:?}\n", Instant::now())).expect("write");
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    assert_eq!(events.next().await, "users");
    let leading = started.elapsed();
    assert_eq!(events.next().await, "users");
    let capped = started.elapsed();
    assert!(
        (Duration::from_millis(2900) + leading..Duration::from_millis(4400)).contains(&capped),
        "held back while the stream ran, released at the cap: {leading:?}, then {capped:?}"
    );
    // The rest of the stream is released once the stream stops.
    assert_eq!(events.next().await, "users");
    let last = started.elapsed();
    writer.join().expect("writer");
    assert!(
        last >= Duration::from_millis(4500),
        "after the stream: {last:?}"
    );
    p.write("orders/main.go");
    events.next_is_only("orders").await;
}

const IDLE_CHILD: &str = "ORCHESTRA_WATCH_IDLE_CHILD";

/// Idle cost of watching 200 service folders: the watcher runs in a child process (this test
/// binary again, running [`idle_watcher_child`]) so that no other test's threads are counted,
/// and the CPU time of all its threads is read from `/proc` over a 3 s window. With inotify
/// and no timers every thread is blocked, so the figure should be zero; the target
/// is ≤ 0.2 %.
#[test]
fn watching_200_idle_services_costs_no_cpu() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "idle_watcher_child", "--ignored", "--nocapture"])
        .env(IDLE_CHILD, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the child");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    // The child prints READY once its watcher runs, or exits (EOF) if it cannot start one.
    let ready = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.starts_with("READY"))
        .expect("the child's watcher started");
    let before = cpu_ns(child.id());
    let window = Duration::from_secs(3);
    // The measurement window itself: nothing is being waited for.
    std::thread::sleep(window);
    let used = cpu_ns(child.id()) - before;
    drop(child.stdin.take());
    assert!(child.wait().expect("child").success());

    let percent = used as f64 / window.as_nanos() as f64 * 100.0;
    eprintln!("{ready}; idle CPU over {window:?}: {used} ns = {percent:.4} %");
    assert!(percent <= 0.2, "idle watcher used {percent:.4} % CPU");
}

/// CPU time of every thread of `pid`, in nanoseconds (first field of each task's schedstat).
fn cpu_ns(pid: u32) -> u64 {
    fs::read_dir(format!("/proc/{pid}/task"))
        .expect("tasks")
        .filter_map(Result::ok)
        .filter_map(|t| fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// The child of [`watching_200_idle_services_costs_no_cpu`]: watches 200 Go service folders
/// (five packages each) and, when run by it, stays idle until its stdin closes.
#[test]
#[ignore = "run by watching_200_idle_services_costs_no_cpu"]
fn idle_watcher_child() {
    let p = Project::new();
    let services: Vec<ServiceSpec> = (0..200)
        .map(|i| {
            let spec = p.go(&format!("svc{i}"), &format!("svc{i}"));
            for pkg in ["api", "store", "model", "internal/a", "internal/b"] {
                p.write(&format!("svc{i}/{pkg}/x.go"));
            }
            p.write(&format!("svc{i}/main.go"));
            spec
        })
        .collect();
    let (tx, _rx) = unbounded_channel();
    let started = Instant::now();
    let watcher = FleetWatcher::start(&services, &p.state_dir(), tx).expect("watcher");
    let setup = started.elapsed();
    assert_eq!(watcher.watched_folders().count(), 200);
    if std::env::var_os(IDLE_CHILD).is_some() {
        println!("READY: 200 services (1,400 folders) watched in {setup:?}");
        // Blocks until the parent closes our stdin.
        std::io::copy(&mut std::io::stdin(), &mut std::io::sink()).expect("stdin");
    }
}
