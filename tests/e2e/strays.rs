//! Process hygiene end to end: copies of a service started by hand are found, reported and
//! stopped by `start` (refused with `--keep-strays`), a port held by an unrelated process is
//! named, and `ps --strays` / `ps --ports` list what runs outside the fleet without touching
//! it. Every process a test starts by hand is killed (its whole group) when the test ends,
//! even when it fails.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use orchestra_tests::{
    Fleet, Output, PATIENCE, fixture_binary, http_get, process_alive, wait_for_port, wait_until,
};

/// How long `go run` may take to compile and listen on a loaded machine.
const GO_RUN_PATIENCE: Duration = Duration::from_secs(120);

/// A process started by hand, as a developer would in a terminal, in a process group of its
/// own. Dropping it kills the group and reaps it.
struct ByHand {
    child: Child,
    /// Held open so that a shell reading commands from it stays alive.
    _stdin: Option<ChildStdin>,
}

impl ByHand {
    fn spawn(dir: &Path, argv: &[&str], env: &[(&str, String)]) -> Self {
        let mut command = Command::new(argv[0]);
        command
            .args(&argv[1..])
            .current_dir(dir)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env_remove("ORCHESTRA_SERVICE")
            .env_remove("ORCHESTRA_REPLICA")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {argv:?}: {e}"));
        let stdin = child.stdin.take();
        Self {
            child,
            _stdin: stdin,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn alive(&self) -> bool {
        process_alive(self.pid())
    }
}

impl Drop for ByHand {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.pid()) {
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

/// The pids in the process group led by `leader` (`go run` and the binary it spawned).
fn group_members(leader: u32) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| orchestra_tests::process_group(pid) == Some(leader))
        .filter(|&pid| process_alive(pid))
        .collect()
}

/// The body of `GET /` on `port`.
fn hello(port: u16) -> String {
    http_get(&format!("http://127.0.0.1:{port}/"))
        .map(|(_, body)| body)
        .unwrap_or_default()
}

fn port_env(port: u16) -> Vec<(&'static str, String)> {
    vec![("PORT", port.to_string()), ("GOPROXY", "off".into())]
}

/// Puts the http fixture where orchestra would build service `name`'s binary.
fn place_built_binary(fleet: &Fleet, name: &str) {
    let bin = fleet.path(format!(".orchestra/bin/{name}"));
    fs::create_dir_all(bin.parent().expect("a parent")).expect("cannot create .orchestra/bin");
    fs::copy(fixture_binary("http"), &bin).expect("cannot copy the fixture binary");
}

fn assert_reported(out: &Output, pid: u32) {
    assert!(
        out.stdout
            .lines()
            .any(|l| l.contains(&format!("stray pid {pid} (")) && l.contains("stopping it")),
        "stray {pid} not reported:\n{out}"
    );
}

#[test]
fn start_stops_hand_started_copies_and_then_serves_their_ports() {
    let fleet = Fleet::new().orchestra_yml("");
    let port = fleet.ports(3);
    let (built, gorun, wrapped) = (port, port + 1, port + 2);
    let go_env = "env: { GOPROXY: \"off\" }\n";
    let fleet = fleet
        .go_service("built", "http", &format!("port: {built}\n{go_env}"))
        .go_service("gorun", "http", &format!("port: {gorun}\n{go_env}"))
        .go_service(
            "wrapped",
            "http",
            &format!("port: {wrapped}\n{go_env}run: \"{{bin}} && echo stopped\"\n"),
        );
    place_built_binary(&fleet, "built");
    place_built_binary(&fleet, "wrapped");

    // The built binary run by hand from its folder, `go run .`, and the `run` command
    // wrapped in `sh -c`, each listening on its service's port.
    let bin = fleet.path(".orchestra/bin/built");
    let by_binary = ByHand::spawn(
        &fleet.path("built"),
        &[bin.to_str().expect("utf-8 path")],
        &port_env(built),
    );
    let by_go_run = ByHand::spawn(&fleet.path("gorun"), &["go", "run", "."], &port_env(gorun));
    let script = format!(
        "{} && echo stopped",
        fleet.path(".orchestra/bin/wrapped").display()
    );
    let by_sh = ByHand::spawn(
        &fleet.path("wrapped"),
        &["sh", "-c", &script],
        &port_env(wrapped),
    );
    // Never strays: a shell and a `sleep` working in a service folder.
    let shell = ByHand::spawn(&fleet.path("built"), &["bash"], &[]);
    let sleep = ByHand::spawn(&fleet.path("gorun"), &["sleep", "600"], &[]);
    wait_for_port(built);
    wait_for_port(wrapped);
    wait_until(GO_RUN_PATIENCE, "`go run .` to listen", || {
        orchestra_tests::port_accepts(gorun)
    });
    let go_run_pids = group_members(by_go_run.pid());
    assert!(
        go_run_pids.len() >= 2,
        "go run and its binary: {go_run_pids:?}"
    );
    let sh_pids = group_members(by_sh.pid());
    assert!(
        sh_pids.len() >= 2,
        "sh -c and the binary it runs: {sh_pids:?}"
    );
    assert_eq!(
        hello(built),
        format!("hello from . pid {}\n", by_binary.pid())
    );

    let out = fleet.cmd(["start"]).assert_success();

    let strays: Vec<u32> = [by_binary.pid()]
        .into_iter()
        .chain(go_run_pids)
        .chain(sh_pids)
        .collect();
    for &pid in &strays {
        assert_reported(&out, pid);
        assert!(!process_alive(pid), "stray {pid} still runs:\n{out}");
    }
    assert!(out.stdout.contains("`go run` in gorun/"), "{out}");
    assert!(
        out.stdout.contains("the temporary binary `go run` built"),
        "{out}"
    );
    assert!(
        out.stdout
            .contains("runs the built binary .orchestra/bin/built"),
        "{out}"
    );
    let wrapper = format!(
        "runs `{}` of wrapped",
        fleet.path(".orchestra/bin/wrapped").display()
    );
    assert!(out.stdout.contains(&wrapper), "the sh -c wrapper: {out}");
    for (service, port) in [("built", built), ("gorun", gorun), ("wrapped", wrapped)] {
        assert!(
            hello(port).starts_with(&format!("hello from {service}.0 pid ")),
            "{service} does not serve its port: {:?}\n{out}",
            hello(port)
        );
    }
    assert!(shell.alive(), "the shell in a service folder was killed");
    assert!(sleep.alive(), "the sleep in a service folder was killed");
    assert!(
        !out.stdout.contains(&format!("stray pid {} ", shell.pid()))
            && !out.stdout.contains(&format!("stray pid {} ", sleep.pid())),
        "{out}"
    );
}

#[test]
fn keep_strays_refuses_names_the_copy_and_kills_nothing() {
    let fleet = Fleet::new().orchestra_yml("");
    let port = fleet.ports(1);
    let fleet = fleet.fixture_service("web", "http", &format!("port: {port}\n"));
    let bin = fixture_binary("http");
    let copy = ByHand::spawn(
        &fleet.path("web"),
        &[bin.to_str().expect("utf-8 path")],
        &port_env(port),
    );
    wait_for_port(port);

    let out = fleet.cmd(["start", "--keep-strays"]).assert_exit(1);

    let named = format!("pid {} ({})", copy.pid(), bin.display());
    assert!(out.stderr.contains(&named), "{named} not named:\n{out}");
    assert!(out.stderr.contains("run without --keep-strays"), "{out}");
    assert!(copy.alive(), "--keep-strays killed the copy");
    assert_eq!(hello(port), format!("hello from . pid {}\n", copy.pid()));
    let ps = fleet.cmd(["ps", "--json"]).assert_success();
    let rows: Vec<serde_json::Value> = serde_json::from_str(&ps.stdout).expect("JSON rows");
    assert!(
        rows.iter()
            .all(|r| r["state"] == "stopped" && r["pid"].is_null()),
        "nothing was started: {ps}"
    );
}

#[test]
fn a_port_held_by_an_unrelated_process_fails_its_service_and_dependants_only() {
    let fleet = Fleet::new().orchestra_yml("");
    let port = fleet.ports(3);
    let (web, api, other) = (port, port + 1, port + 2);
    let fleet = fleet
        .fixture_service("web", "http", &format!("port: {web}\n"))
        .fixture_service("api", "http", &format!("port: {api}\ndepends_on: [web]\n"))
        .fixture_service("other", "http", &format!("port: {other}\n"));
    let elsewhere = tempfile::tempdir().expect("cannot create a temp dir");
    let server = ByHand::spawn(
        elsewhere.path(),
        &["python3", "-m", "http.server", &web.to_string()],
        &[],
    );
    wait_for_port(web);

    let out = fleet.cmd(["start"]).assert_exit(1);

    let named = format!("port {web} is held by pid {}: ", server.pid());
    let line = out
        .stderr
        .lines()
        .find(|l| l.contains(&named))
        .unwrap_or_else(|| panic!("{named} not in:\n{out}"));
    assert!(line.contains(&format!("-m http.server {web}")), "{line}");
    assert!(line.contains("web"), "{line}");
    assert!(
        out.stderr.contains("not started: dependency `web` failed"),
        "{out}"
    );
    assert!(server.alive(), "the port's holder was killed");
    // `other` has no ready probe: started means spawned, not yet listening.
    wait_until(PATIENCE, "other.0 to answer", || {
        hello(other).starts_with("hello from other.0 pid ")
    });
    assert!(
        http_get(&format!("http://127.0.0.1:{api}/")).is_none(),
        "api started without web"
    );
}

#[test]
fn ps_lists_strays_and_foreign_listeners_without_touching_them() {
    let fleet = Fleet::new().orchestra_yml("");
    let port = fleet.ports(3);
    let (web, api, docs) = (port, port + 1, port + 2);
    let fleet = fleet
        .fixture_service("web", "http", &format!("port: {web}\n"))
        .fixture_service("api", "http", &format!("port: {api}\n"))
        .file("docs/index.html", "hi\n");
    let bin = fixture_binary("http");
    let copy = ByHand::spawn(
        &fleet.path("web"),
        &[bin.to_str().expect("utf-8 path")],
        &port_env(web),
    );
    let server = ByHand::spawn(
        &fleet.path("docs"),
        &["python3", "-m", "http.server", &docs.to_string()],
        &[],
    );
    wait_for_port(web);
    wait_for_port(docs);

    // Without a daemon first: computed from the records (none) and /proc.
    let table = fleet.cmd(["ps", "--strays"]).assert_success();
    let row = table
        .stdout
        .lines()
        .find(|l| l.starts_with("web ") && l.contains(&copy.pid().to_string()))
        .unwrap_or_else(|| panic!("no stray row for the copy:\n{table}"));
    assert!(row.contains(&bin.display().to_string()), "{row}");
    assert!(table.stdout.contains("SERVICE"), "{table}");
    assert!(table.stdout.contains("REASON"), "{table}");

    // With api running under orchestra: its replica is the fleet, neither a stray nor a
    // foreign listener; the copy of web is left alone by a start of api only.
    fleet.cmd(["start", "api"]).assert_success();
    let json = fleet
        .cmd(["ps", "--strays", "--ports", "--json"])
        .assert_success();
    let value: serde_json::Value =
        serde_json::from_str(&json.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {json}"));
    let strays = value["strays"].as_array().expect("a strays array");
    assert_eq!(strays.len(), 1, "{value:#}");
    assert_eq!(strays[0]["service"], "web");
    assert_eq!(strays[0]["pid"], copy.pid());
    assert_eq!(value["replicas"][0]["service"], "api", "{value:#}");
    let ports: Vec<(u64, u64)> = value["ports"]
        .as_array()
        .expect("a ports array")
        .iter()
        .map(|p| {
            (
                p["port"].as_u64().unwrap_or(0),
                p["pid"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert!(
        ports.contains(&(u64::from(docs), u64::from(server.pid()))),
        "{value:#}"
    );
    assert!(
        ports.contains(&(u64::from(web), u64::from(copy.pid()))),
        "{value:#}"
    );
    assert!(
        !ports.iter().any(|&(p, _)| p == u64::from(api)),
        "the fleet's own port is listed: {value:#}"
    );

    let table = fleet.cmd(["ps", "--ports"]).assert_success();
    let row = table
        .stdout
        .lines()
        .find(|l| l.starts_with(&docs.to_string()))
        .unwrap_or_else(|| panic!("no row for the docs server:\n{table}"));
    assert!(row.contains(&server.pid().to_string()), "{row}");
    assert!(row.contains("docs"), "{row}");
    assert!(row.contains("http.server"), "{row}");

    assert!(copy.alive() && server.alive(), "ps touched a process");
    wait_until(PATIENCE, "the copy to still answer", || {
        hello(web) == format!("hello from . pid {}\n", copy.pid())
    });
}
