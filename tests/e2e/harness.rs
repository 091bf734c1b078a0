//! The harness itself, on real processes: the fixtures behave as the tests of Orchestra will
//! rely on, and the helpers find, wait for and clean up what they claim to.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::Duration;

use orchestra_tests::{
    Cmd, DockerEndpoint, Fleet, PATIENCE, Signal, docker_decision, docker_or_skip, fixture_binary,
    free_port_block, http_get, parent_pid, pids_with_cwd_under, poll_until, process_alive,
    process_group, redact, wait_for_port, wait_until,
};

/// Runs a fixture binary directly (not through orchestra) in `fleet`'s folder.
fn run_fixture(fleet: &Fleet, name: &str, env: &[(&str, &str)]) -> orchestra_tests::Running {
    let mut cmd = Cmd::new(fixture_binary(name), Vec::<String>::new(), fleet.root());
    for (k, v) in env {
        cmd = cmd.env(k, v);
    }
    cmd.spawn()
}

#[test]
fn http_fixture_serves_its_identity_and_health() {
    let fleet = Fleet::new();
    let port = free_port_block(1).to_string();
    let web = run_fixture(
        &fleet,
        "http",
        &[
            ("PORT", &port),
            ("ORCHESTRA_SERVICE", "web"),
            ("ORCHESTRA_REPLICA", "2"),
        ],
    );
    web.wait_for_output(&format!("listening on :{port}"), PATIENCE);
    wait_for_port(port.parse().unwrap());

    let hello = http_get(&format!("http://127.0.0.1:{port}/"));
    assert_eq!(
        hello,
        Some((200, format!("hello from web.2 pid {}\n", web.pid())))
    );
    assert_eq!(
        http_get(&format!("http://127.0.0.1:{port}/health")),
        Some((200, "ok\n".into()))
    );
    assert_eq!(
        http_get(&format!("http://127.0.0.1:{port}/env/ORCHESTRA_SERVICE")),
        Some((200, "web".into()))
    );

    web.signal(Signal::SIGTERM);
    let out = web.wait(PATIENCE);
    assert_eq!(out.code(), Some(0), "{out}");
    assert!(out.stdout.contains("got terminated, stopping"), "{out}");
}

#[test]
fn http_fixture_exits_with_the_code_it_is_told() {
    let fleet = Fleet::new();
    let port = free_port_block(1).to_string();
    let web = run_fixture(
        &fleet,
        "http",
        &[
            ("PORT", &port),
            ("CRASH_AFTER_MS", "50"),
            ("EXIT_CODE", "3"),
        ],
    );
    let out = web.wait(PATIENCE);
    assert_eq!(out.code(), Some(3), "{out}");
}

#[test]
fn http_fixture_is_unhealthy_until_ready_after() {
    let fleet = Fleet::new();
    let port = free_port_block(1);
    let _web = run_fixture(
        &fleet,
        "http",
        &[("PORT", &port.to_string()), ("READY_AFTER_MS", "400")],
    );
    wait_for_port(port);
    let health = format!("http://127.0.0.1:{port}/health");
    assert_eq!(http_get(&health).map(|(code, _)| code), Some(503));
    wait_until(PATIENCE, "health to pass", || {
        http_get(&health).is_some_and(|(code, _)| code == 200)
    });
}

#[test]
fn ignore_term_fixture_survives_sigterm() {
    let fleet = Fleet::new();
    let port = free_port_block(1);
    let mut stubborn = run_fixture(&fleet, "ignore-term", &[("PORT", &port.to_string())]);
    stubborn.wait_for_output("listening on", PATIENCE);
    stubborn.signal(Signal::SIGTERM);
    stubborn.wait_for_output("ignoring terminated", PATIENCE);
    assert!(!stubborn.has_exited());
    assert_eq!(
        http_get(&format!("http://127.0.0.1:{port}/")).map(|(code, _)| code),
        Some(200)
    );
    stubborn.signal(Signal::SIGKILL);
    assert!(!stubborn.wait(PATIENCE).status.success());
}

#[test]
fn forker_fixture_leaves_an_orphan_in_another_session_that_fleet_cleanup_finds() {
    let fleet = Fleet::new();
    let forker = run_fixture(
        &fleet,
        "forker",
        &[("FORKER_SETSID", "1"), ("PID_FILE", "grandchild.pid")],
    );
    let grandchild: u32 = poll_until(PATIENCE, "the grandchild's pid file", || {
        fs::read_to_string(fleet.path("grandchild.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    });
    forker.wait_for_output(&format!("grandchild pid {grandchild}"), PATIENCE);

    assert!(process_alive(grandchild));
    assert_ne!(
        parent_pid(grandchild),
        Some(forker.pid()),
        "the grandchild was not orphaned"
    );
    assert_ne!(
        process_group(grandchild),
        process_group(forker.pid()),
        "the grandchild kept forker's group"
    );
    let inside = pids_with_cwd_under(fleet.root());
    assert!(
        inside.contains(&grandchild) && inside.contains(&forker.pid()),
        "{inside:?}"
    );

    // Stopping forker leaves the orphan running: exactly the leak Orchestra must prevent.
    forker.signal(Signal::SIGTERM);
    forker.wait(PATIENCE);
    assert!(process_alive(grandchild));

    drop(fleet);
    wait_until(PATIENCE, "fleet cleanup to kill the orphan", || {
        !process_alive(grandchild)
    });
}

#[test]
fn flood_fixture_writes_every_numbered_line_then_waits() {
    let fleet = Fleet::new();
    let flood = run_fixture(&fleet, "flood", &[("LINES", "20000"), ("STREAM", "both")]);
    flood.wait_for_output("flood done", PATIENCE);
    let mut numbers: Vec<u32> = format!("{}{}", flood.stdout(), flood.stderr())
        .lines()
        .filter_map(|l| l.strip_prefix("line ")?.parse().ok())
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=20_000).collect::<Vec<_>>());
    let mut flood = flood;
    assert!(
        !flood.has_exited(),
        "flood must keep running after its lines"
    );
}

#[test]
fn wait_until_times_out_with_what_it_waited_for() {
    let panic = std::panic::catch_unwind(|| {
        wait_until(Duration::from_millis(100), "the moon to turn blue", || {
            false
        });
    })
    .expect_err("wait_until must panic when the deadline passes");
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.contains("waiting for the moon to turn blue"),
        "{message}"
    );
}

#[test]
fn redact_hides_what_changes_between_runs() {
    let fleet = Fleet::new();
    let port = fleet.ports(1);
    let text = format!(
        "{}/web/service.yml: web.0 pid 31337 ready in 1.23s on :{port}",
        fleet.root().display()
    );
    assert_eq!(
        redact(&text, &fleet),
        "[ROOT]/web/service.yml: web.0 pid [PID] ready in [DUR] on :[PORT]"
    );
}

#[test]
fn pids_with_cwd_under_sees_only_processes_inside() {
    let (inside, outside) = (Fleet::new(), Fleet::new());
    let spawn_in = |fleet: &Fleet| -> Child {
        Command::new("sleep")
            .arg("60")
            .current_dir(fleet.root())
            .stdout(Stdio::null())
            .spawn()
            .unwrap()
    };
    let (mut a, mut b) = (spawn_in(&inside), spawn_in(&outside));
    assert_eq!(pids_with_cwd_under(inside.root()), vec![a.id()]);
    for child in [&mut a, &mut b] {
        child.kill().unwrap();
        child.wait().unwrap();
    }
    assert_eq!(pids_with_cwd_under(inside.root()), Vec::<u32>::new());
}

#[test]
fn docker_ping_speaks_to_a_real_socket() {
    // A stand-in engine on a real Unix socket: the ping's request and parsing are exercised
    // on every machine, Docker or not.
    let fleet = Fleet::new();
    let socket = fleet.path("docker.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    let engine = thread::spawn(move || {
        for answer in [
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK",
            "HTTP/1.1 500 Oops\r\n\r\n",
        ] {
            let (mut conn, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 256];
            while !request.ends_with(b"\r\n\r\n") {
                let n = conn.read(&mut buf).unwrap();
                assert!(n > 0, "the request ended early");
                request.extend_from_slice(&buf[..n]);
            }
            assert!(request.starts_with(b"GET /_ping HTTP/1.0\r\n"));
            conn.write_all(answer.as_bytes()).unwrap();
        }
    });
    let endpoint = DockerEndpoint::parse(Some(&format!("unix://{}", socket.display())));
    assert!(endpoint.ping().is_ok());
    let err = endpoint.ping().unwrap_err();
    assert!(err.to_string().contains("500 Oops"), "{err}");
    engine.join().unwrap();

    let gone = DockerEndpoint::parse(Some("unix:///nonexistent/docker.sock"));
    assert!(gone.ping().is_err());
    assert!(!docker_decision(&gone, gone.ping(), false));
    let required = std::panic::catch_unwind(|| docker_decision(&gone, gone.ping(), true));
    assert!(
        required.is_err(),
        "ORCHESTRA_REQUIRE_DOCKER=1 must turn a skip into a failure"
    );
}

#[test]
fn docker_or_skip_agrees_with_a_ping_of_the_configured_engine() {
    let answers = DockerEndpoint::from_env().ping().is_ok();
    let required = std::env::var("ORCHESTRA_REQUIRE_DOCKER").is_ok_and(|v| v == "1");
    if required && !answers {
        assert!(std::panic::catch_unwind(docker_or_skip).is_err());
    } else {
        assert_eq!(docker_or_skip(), answers);
    }
}

#[test]
fn fleet_builder_writes_configuration_orchestra_accepts() {
    use orchestra_config::{Discovery, Project, Section, discover};
    use orchestra_core::spec::CommandSpec;

    let fleet = Fleet::new().orchestra_yml("env: { GREETING: hi }\n");
    let port = fleet.ports(1);
    let fleet = fleet
        .fixture_service(
            "web",
            "http",
            &format!("port: {port}\nready: {{ http: \"http://127.0.0.1:$PORT/health\" }}\n"),
        )
        .go_service("built", "flood", "env: { LINES: \"10\" }\n");

    let file = discover(&Discovery::WalkUp(fleet.root().to_path_buf())).unwrap();
    let project = Project::load(&file).unwrap_or_else(|e| panic!("{:?}", miette::Report::new(e)));
    let spec = project
        .resolve(Section::Start)
        .unwrap_or_else(|e| panic!("{:?}", miette::Report::new(e)));
    let service = |name: &str| {
        spec.services
            .iter()
            .find(|(n, _)| n.to_string() == name)
            .unwrap()
            .1
    };

    let web = service("web");
    let bin = fixture_binary("http").display().to_string();
    assert!(
        matches!(&web.run, CommandSpec::Exec(argv) if *argv == [bin.clone()]),
        "{:?}",
        web.run
    );
    assert_eq!(web.port, Some(port));
    assert!(
        web.build.is_none(),
        "a prebuilt fixture needs no build: {:?}",
        web.build
    );
    assert!(
        service("built").build.is_some(),
        "a copied Go fixture is built by orchestra"
    );
    assert_eq!(service("built").env["GREETING"], "hi");
}
