//! `orchestra init --from`: a docker-compose.yml and a Procfile of a small fleet become
//! Orchestra's files, what cannot be converted is listed, nothing is overwritten without
//! `--force`, and `orchestra start` runs the result as real processes.

use std::process::Command;

use orchestra_tests::{Fleet, fixture_binary, fixture_dir, http_get, require_go};

/// `GET url` answers 200 with a body holding `expected`.
fn answers(url: &str, expected: &str) {
    let (code, body) = http_get(url).unwrap_or_else(|| panic!("{url} does not answer"));
    assert_eq!(code, 200, "{url}: {body}");
    assert!(
        body.contains(expected),
        "{url} said {body:?}, not {expected:?}"
    );
}

#[test]
fn a_compose_file_becomes_services_and_vendors_that_start() {
    require_go();
    let fleet = Fleet::new();
    let port = fleet.ports(2);
    let (users, orders) = (port, port + 1);
    let bin = fixture_binary("http").display().to_string();
    let compose = format!(
        r#"services:
  users:
    build: ./users
    environment: ["GREETING=hi"]
    ports: ["{users}:{users}"]
    healthcheck:
      test: ["CMD", "curl", "-f", "http://localhost:{users}/health"]
      interval: 1s
      retries: 20
    volumes: ["./data:/data"]
  orders:
    build: {{ context: ./orders, dockerfile: Dockerfile }}
    command: ["{bin}"]
    ports: ["127.0.0.1:{orders}:8080"]
    depends_on:
      users: {{ condition: service_healthy }}
    restart: unless-stopped
    stop_grace_period: 5s
  db:
    image: postgres:16
    ports: ["127.0.0.1:15432:5432", "0.0.0.0:16432:6432", "17432/tcp", {{ target: 5433, published: 18432 }}]
    environment: {{ POSTGRES_PASSWORD: dev }}
    volumes: ["pgdata:/var/lib/postgresql/data"]
    healthcheck: {{ test: ["CMD-SHELL", "pg_isready -U postgres"], interval: 1s, retries: 30 }}
networks: {{ back: {{}} }}
"#
    );
    let fleet = fleet
        .copy_dir(fixture_dir("http"), "users")
        .file("orders/Dockerfile", "FROM scratch\n")
        .file("docker-compose.yml", &compose);

    let out = fleet
        .cmd(["init", "--from", "docker-compose.yml"])
        .assert_success();
    // What has no equivalent is listed, each once.
    for listed in [
        "`users`: `volumes` has no equivalent",
        "`orders`: the Dockerfile build",
        "`orders` listened on 8080 in its container",
        "`db`: `0.0.0.0:16432:6432` is published on 127.0.0.1",
        "top-level `networks:`",
    ] {
        assert!(
            out.stdout.contains(listed),
            "`{listed}` is not listed: {out}"
        );
    }
    let users_yml = fleet.read("users/service.yml");
    assert!(users_yml.contains(&format!("port: {users}")), "{users_yml}");
    assert!(
        users_yml.contains(&format!("http: http://127.0.0.1:{users}/health")),
        "{users_yml}"
    );
    let orders_yml = fleet.read("orders/service.yml");
    for expected in [
        "depends_on:\n- users",
        "restart: always",
        "stop_timeout: 5s",
    ] {
        assert!(
            orders_yml.contains(expected),
            "no {expected:?} in {orders_yml}"
        );
    }

    // The vendor keeps compose's port forms, which the parser reads as compose does.
    let config = fleet.cmd(["config", "--json"]).assert_success();
    let config: serde_json::Value = serde_json::from_str(&config.stdout).expect("JSON");
    let ports: Vec<(u64, u64)> = config["vendors"]["db"]["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .map(|p| {
            (
                p["host"].as_u64().unwrap_or(0),
                p["container"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        ports,
        [(15432, 5432), (16432, 6432), (17432, 17432), (18432, 5433)]
    );

    // The services run, as real processes: users built from its Go sources, orders from
    // its command.
    fleet.cmd(["start", "users", "orders"]).assert_success();
    answers(&format!("http://127.0.0.1:{users}/env/GREETING"), "hi");
    answers(
        &format!("http://127.0.0.1:{orders}/"),
        "hello from orders.0",
    );
    fleet.cmd(["stop"]).assert_success();

    // And back out: the converted fleet exported to Compose is a file Compose accepts.
    fleet
        .cmd(["export", "--format", "compose", "-o", "exported.yml"])
        .assert_success();
    let check = Command::new("docker-compose")
        .args(["-f", "exported.yml", "config", "--services"])
        .current_dir(fleet.root())
        .output()
        .expect("docker-compose runs");
    let listed = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success(),
        "docker-compose config refused the export:\n{listed}{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let mut listed: Vec<&str> = listed.lines().collect();
    listed.sort_unstable();
    // `orders` runs a host binary with no image: the export names it and leaves it out.
    assert_eq!(listed, ["db", "users"]);

    // A second conversion refuses to overwrite, and changes nothing.
    let before = fleet.read("orchestra.yml");
    let again = fleet.cmd(["init", "--from", "docker-compose.yml"]).run();
    assert_eq!(again.code(), Some(2), "{again}");
    assert!(again.stderr.contains("--force"), "{again}");
    assert_eq!(fleet.read("orchestra.yml"), before);
    fleet
        .cmd(["init", "--from", "docker-compose.yml", "--force"])
        .assert_success();
}

#[test]
fn a_procfile_becomes_one_service_per_line_that_start() {
    let fleet = Fleet::new();
    let base = fleet.ports(1);
    let bin = fixture_binary("http").display().to_string();
    let fleet = fleet.file(
        "Procfile",
        format!("# web and a worker\nweb: PORT=$PORT exec {bin}\nworker: exec sleep 600\n"),
    );
    // As foreman does, $PORT is the first port handed out.
    let out = fleet
        .cmd(["init", "--from", "Procfile"])
        .env("PORT", base.to_string())
        .assert_success();
    assert!(out.stdout.contains("not in the project folder"), "{out}");
    let web = fleet.read("web/service.yml");
    assert!(
        web.contains(&format!("run: PORT=$PORT exec {bin}")),
        "{web}"
    );
    assert!(web.contains(&format!("port: {base}")), "{web}");
    let worker = fleet.read("worker/service.yml");
    assert!(!worker.contains("port:"), "{worker}");

    fleet.cmd(["start"]).assert_success();
    answers(&format!("http://127.0.0.1:{base}/"), "hello from web.0");
    let ps = fleet.cmd(["ps", "--json"]).assert_success();
    let ps: serde_json::Value = serde_json::from_str(&ps.stdout).expect("JSON");
    let worker = ps
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["service"] == "worker")
        .unwrap_or_else(|| panic!("no worker in {ps}"));
    assert_eq!(worker["state"], "running", "{worker}");
    fleet.cmd(["stop"]).assert_success();
}
