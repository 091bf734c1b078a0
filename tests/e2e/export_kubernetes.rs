//! `orchestra export --format kubernetes`: the example shop and a fleet using every key
//! export manifests that the Kubernetes API schemas accept (checked offline, strictly, by
//! `kubernetes-validate`), the shop's as a snapshot, and what cannot be expressed is
//! reported on stderr with the unit named.

use std::process::Command;

use orchestra_tests::{Fleet, python_tool};

use crate::export::{root_redacted, shop_as_written};

/// Validates `manifests` strictly against the API schemas; panics with the tool's report.
fn assert_valid(fleet: &Fleet, manifests: &str) {
    let file = fleet.path("manifests.yaml");
    std::fs::write(&file, manifests).expect("writes the manifests");
    let out = Command::new(python_tool("kubernetes-validate"))
        .args(["--strict", "--quiet"])
        .arg(&file)
        .output()
        .expect("kubernetes-validate runs");
    assert!(
        out.status.success(),
        "the manifests do not validate:\n{}{}\n{manifests}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The `kind/name` of every object, in order.
fn objects(manifests: &str) -> Vec<String> {
    manifests
        .split("---\n")
        .filter(|doc| !doc.trim().is_empty())
        .map(|doc| {
            let field = |prefix: &str| {
                doc.lines()
                    .find_map(|l| l.strip_prefix(prefix))
                    .unwrap_or("?")
                    .to_owned()
            };
            format!("{}/{}", field("kind: "), field("  name: "))
        })
        .collect()
}

#[test]
fn the_shop_exports_valid_kubernetes_manifests() {
    let fleet = shop_as_written();
    let out = fleet
        .cmd(["export", "--format", "kubernetes"])
        .assert_success();
    assert_valid(&fleet, &out.stdout);
    assert_eq!(
        objects(&out.stdout),
        [
            "Namespace/shop",
            "ConfigMap/redis-env",
            "StatefulSet/redis",
            "Service/redis",
            "ConfigMap/gateway-env",
            "Deployment/gateway",
            "Service/gateway",
            "ConfigMap/orders-env",
            "Deployment/orders",
            "Service/orders",
            "ConfigMap/users-env",
            "Deployment/users",
            "Service/users",
        ]
    );
    // Services reach each other by their Service names.
    assert!(out.stdout.contains("USERS_URL: http://users:8081"), "{out}");
    insta::assert_snapshot!(root_redacted(&out.stdout, &fleet));
}

#[test]
fn a_fleet_using_every_key_exports_valid_manifests_and_names_what_it_leaves_out() {
    let fleet = Fleet::new()
        .orchestra_yml(
            "name: Every_Key\n\
             env: { LOG_LEVEL: info }\n\
             vendors:\n\
             \x20 postgres:\n\
             \x20   image: postgres:16\n\
             \x20   ports: [\"25432:5432\"]\n\
             \x20   env: { POSTGRES_PASSWORD: dev }\n\
             \x20   volumes: [\"pgdata:/var/lib/postgresql/data\", \"./init:/docker-entrypoint-initdb.d:ro\"]\n\
             \x20   ready: { exec: \"pg_isready -U postgres\" }\n\
             \x20 cache:\n\
             \x20   image: redis:7\n\
             \x20   command: [\"redis-server\", \"--save\", \"\"]\n\
             \x20   entrypoint: [\"docker-entrypoint.sh\"]\n\
             \x20   ports: [\"26379:6379\"]\n\
             \x20   ready: { tcp: 26379 }\n\
             \x20 web:\n\
             \x20   image: nginx\n\
             \x20   ports: [\"28080:80\"]\n\
             \x20   ready: { http: \"http://127.0.0.1:28080/\" }\n\
             \x20 queue:\n\
             \x20   image: rabbitmq\n\
             \x20   ready: { healthcheck: true }\n",
        )
        .go_service(
            "api",
            "http",
            "port: 18080\nscale: 2\ndepends_on: [postgres, cache, migrate, worker]\n\
             env: { DB_URL: \"postgres://$POSTGRES_ADDR/app\", API_TOKEN: t }\n\
             ready: { tcp: $PORT }\nrestart: always\nstop_signal: SIGINT\nstop_timeout: 1500ms\n",
        )
        .go_service("migrate", "http", "task: { timeout: 5m }\ndepends_on: [postgres]\n")
        .go_service(
            "worker",
            "http",
            "docker: { image: golang:1.19 }\nready: { exec: \"test -f /tmp/ready\" }\n",
        )
        .go_service("tail", "http", "ready: { log: \"^ready$\" }\nport: 18090\n")
        .service("script", "run: ./serve.sh\nport: 18095\n");
    let out = fleet
        .cmd(["export", "--format", "kubernetes", "--namespace", "staging"])
        .assert_success();
    assert_valid(&fleet, &out.stdout);
    let objects = objects(&out.stdout);
    for expected in [
        "Namespace/staging",
        "StatefulSet/postgres",
        "Deployment/api",
        "Job/migrate",
        "Deployment/worker",
        "Service/worker",
        "Service/queue",
    ] {
        assert!(
            objects.iter().any(|o| o == expected),
            "no {expected} in {objects:?}"
        );
    }
    assert!(
        !objects.iter().any(|o| o.ends_with("/script")),
        "{objects:?}"
    );
    assert!(
        out.stdout.contains("claimName") || out.stdout.contains("volumeClaimTemplates"),
        "{out}"
    );
    for note in [
        "warning: script: left out: it is not a Go service",
        "warning: tail: its `log: ^ready$` ready probe cannot be expressed",
        "warning: api: Kubernetes stops a pod with SIGTERM, not SIGINT",
        "warning: api: `API_TOKEN` looks like a secret",
        "warning: api: it starts without waiting for task `migrate`",
        "warning: api: its replicas cannot each get their own ORCHESTRA_REPLICA",
        "warning: postgres: its folder",
        "warning: queue: Kubernetes ignores the image's HEALTHCHECK",
        "warning: worker: its folder and binary are mounted from this machine",
    ] {
        assert!(
            out.stderr.contains(note),
            "missing `{note}` in:\n{}",
            out.stderr
        );
    }
}
