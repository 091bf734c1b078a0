//! `orchestra exec`: a one-off command with a service's environment (the one its replica 0
//! runs with, fleet up or not), its exit code and stdin passed through; and for a vendor,
//! inside its container on the real Docker engine.

use std::collections::BTreeMap;

use orchestra_tests::Fleet;

use crate::engine::{EngineCleanup, docker_ready, unique_name};

/// `users` depends on `orders`: HTTP services with ports, and env of their own and of the
/// project.
fn pair() -> (Fleet, u16) {
    let fleet = Fleet::new().orchestra_yml("env: { SHARED: \"from the project\" }\n");
    let port = fleet.ports(2);
    let fleet = fleet
        .fixture_service("orders", "http", &format!("port: {}\n", port + 1))
        .fixture_service(
            "users",
            "http",
            &format!(
                "port: {port}\ndepends_on: [orders]\n\
                 env: {{ GREETING: \"it's $SHARED\" }}\n"
            ),
        );
    (fleet, port)
}

/// `KEY=value` pairs of `env -0` output.
fn parse_env0(raw: &str) -> BTreeMap<String, String> {
    raw.split('\0')
        .filter_map(|e| e.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// The variables `export SERVICE` prints: what Orchestra sets for replica 0.
fn exported(fleet: &Fleet, service: &str) -> BTreeMap<String, String> {
    let script = format!("eval \"$(\"$OBIN\" export {service})\" && env -0");
    let out = orchestra_tests::Cmd::new(
        "env",
        [
            "-i",
            &format!("OBIN={}", orchestra_tests::orchestra_bin().display()),
            "PATH=/usr/bin:/bin",
            "sh",
            "-c",
            &script,
        ],
        fleet.root(),
    )
    .assert_success();
    let mut env = parse_env0(&out.stdout);
    for inherited in ["OBIN", "PATH", "PWD", "SHLVL", "_"] {
        env.remove(inherited);
    }
    env
}

#[test]
fn exec_runs_in_the_service_folder_with_its_environment_without_a_fleet() {
    let (fleet, port) = pair();
    let out = fleet
        .cmd(["exec", "users", "--", "sh", "-c", "pwd -P; env -0"])
        .assert_success();
    let (cwd, env) = out.stdout.split_once('\n').expect("pwd, then the env");
    let users = fleet.path("users").canonicalize().expect("users exists");
    assert_eq!(cwd, users.display().to_string(), "{out}");
    let env = parse_env0(env);
    assert_eq!(env["PORT"], port.to_string(), "{out}");
    assert_eq!(env["ORDERS_PORT"], (port + 1).to_string(), "{out}");
    assert_eq!(env["GREETING"], "it's from the project", "{out}");
    let expected = exported(&fleet, "users");
    assert!(expected.contains_key("ORDERS_ADDR"), "{expected:?}");
    for (key, value) in &expected {
        assert_eq!(
            env.get(key),
            Some(value),
            "{key} differs from `export users`"
        );
    }
}

#[test]
fn exec_sees_what_the_running_replica_sees() {
    let (fleet, _) = pair();
    fleet.cmd(["start"]).assert_success();
    let rows = crate::fleet::ps(&fleet);
    let pid = rows
        .iter()
        .find(|r| r["service"] == "users")
        .and_then(|r| r["pid"].as_i64())
        .expect("users runs");
    let environ = std::fs::read(format!("/proc/{pid}/environ")).expect("the replica's environ");
    let running = parse_env0(&String::from_utf8_lossy(&environ));
    let out = fleet
        .cmd(["exec", "users", "--", "env", "-0"])
        .assert_success();
    let exec = parse_env0(&out.stdout);
    for key in exported(&fleet, "users").keys() {
        assert_eq!(exec.get(key), running.get(key), "{key}");
    }
    fleet.cmd(["stop"]).assert_success();
}

#[test]
fn exec_passes_the_exit_code_and_stdin_through() {
    let (fleet, _) = pair();
    let out = fleet
        .cmd(["exec", "users", "--", "sh", "-c", "exit 7"])
        .run();
    assert_eq!(out.code(), Some(7), "{out}");
    assert_eq!(out.stderr, "", "{out}");

    let out = fleet
        .cmd(["exec", "users", "--", "tr", "a-z", "A-Z"])
        .stdin("through stdin\n")
        .assert_success();
    assert_eq!(out.stdout, "THROUGH STDIN\n");

    let out = fleet
        .cmd(["exec", "users", "--", "no-such-program-here"])
        .run();
    assert_eq!(out.code(), Some(127), "{out}");
    assert!(
        out.stderr.contains("cannot run `no-such-program-here`"),
        "{out}"
    );

    let out = fleet.cmd(["exec", "user", "--", "true"]).run();
    assert_eq!(out.code(), Some(2), "{out}");
    assert!(out.stderr.contains("did you mean `users`"), "{out}");
    let out = fleet.cmd(["exec", "users"]).run();
    assert_eq!(out.code(), Some(2), "{out}");
}

#[test]
fn exec_runs_inside_a_vendor_container() {
    if !docker_ready() {
        return;
    }
    let name = unique_name("e2e", "exec");
    let _cleanup = EngineCleanup(name.clone());
    let fleet = Fleet::new();
    let port = fleet.ports(1);
    let fleet = fleet.orchestra_yml(&format!(
        "name: {name}\nvendors:\n  redis:\n    image: orchestra-test/redis:7\n    \
         ports: [\"{port}:6379\"]\n    ready: {{ tcp: 6379 }}\n"
    ));
    // Not up yet: exec brings it up, then runs in it.
    let out = fleet
        .cmd(["exec", "redis", "--", "redis-cli", "ping"])
        .assert_success();
    assert_eq!(out.stdout, "PONG\n", "{out}");

    let out = fleet
        .cmd(["exec", "redis", "--", "redis-cli"])
        .stdin("SET greeting hello\nGET greeting\n")
        .assert_success();
    assert_eq!(out.stdout, "OK\nhello\n", "{out}");

    let out = fleet
        .cmd(["exec", "redis", "--", "sh", "-c", "echo oops >&2; exit 3"])
        .run();
    assert_eq!(out.code(), Some(3), "{out}");
    assert_eq!(out.stderr, "oops\n", "{out}");
    fleet.cmd(["vendors", "down"]).assert_success();
}
