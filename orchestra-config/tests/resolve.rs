//! Resolution: Go defaults, environment precedence, interpolation, and snapshots of whole
//! resolved projects.

mod common;

use std::path::Path;
use std::time::Duration;

use common::Fixture;
use orchestra_config::{Project, Section};
use orchestra_core::policy::RestartPolicy;
use orchestra_core::spec::{
    CommandSpec, ProjectSpec, ReadyCheck, ServiceKind, ServiceSpec, TaskSpec,
};

fn resolve(f: &Fixture, section: Section) -> ProjectSpec {
    let project = f
        .load()
        .unwrap_or_else(|e| panic!("{}", common::render(&e)));
    project
        .resolve_with(section, &|k| {
            (k == "FROM_PROCESS").then(|| "process".to_owned())
        })
        .unwrap_or_else(|e| panic!("{}", common::render(&e)))
}

fn service<'a>(spec: &'a ProjectSpec, name: &str) -> &'a ServiceSpec {
    spec.services
        .iter()
        .find(|(n, _)| n.as_str() == name)
        .map(|(_, s)| s)
        .expect("service")
}

#[test]
fn an_empty_service_file_in_a_go_folder_gets_go_defaults() {
    let f = Fixture::new(&[
        ("users/service.yml", ""),
        ("users/go.mod", "module users\n"),
        ("comments/service.yml", "# nothing but a comment\n"),
        ("comments/main.go", "package main\n"),
    ]);
    let spec = resolve(&f, Section::Start);
    let users = service(&spec, "users");
    let root = f.root.canonicalize().expect("root");
    let bin = root.join(".orchestra/bin/users");
    assert_eq!(users.kind, ServiceKind::Go);
    assert_eq!(users.binary.as_deref(), Some(bin.as_path()));
    let bin_text = bin.display().to_string();
    assert_eq!(
        users.build,
        Some(CommandSpec::Exec(vec![
            "go".into(),
            "build".into(),
            "-o".into(),
            bin_text.clone(),
            ".".into()
        ]))
    );
    assert_eq!(users.run, CommandSpec::Exec(vec![bin_text]));
    assert_eq!(
        users.test,
        Some(CommandSpec::Exec(vec![
            "go".into(),
            "test".into(),
            "./...".into()
        ]))
    );
    assert_eq!(users.watch, ["**/*.go", "go.mod", "go.sum"]);
    assert_eq!(users.scale, 1);
    assert_eq!(users.stop_timeout, Duration::from_secs(10));
    assert_eq!(spec.state_dir, root.join(".orchestra"));
    assert_eq!(service(&spec, "comments").kind, ServiceKind::Go);
}

#[test]
fn env_precedence_follows_the_documented_order() {
    let f = Fixture::new(&[
        (
            "orchestra.yml",
            "env_file: .env\nenv: { B: global, C: global }\nstart:\n  env: { C: section, D: section }\n",
        ),
        (".env", "A=env-file\nB=env-file\n"),
        (
            "users/service.yml",
            "run: ./users\nenv_file: local.env\nenv:\n  E: service\n  F: \"${FROM_PROCESS}-$A-$$HOME\"\n",
        ),
        (
            "users/local.env",
            "D=service-env-file\nE=service-env-file\n",
        ),
    ]);
    let start = resolve(&f, Section::Start);
    let env = &service(&start, "users").env;
    assert_eq!(env["A"], "env-file");
    assert_eq!(env["B"], "global");
    assert_eq!(env["C"], "section");
    assert_eq!(env["D"], "service-env-file");
    assert_eq!(env["E"], "service");
    assert_eq!(env["F"], "process-env-file-$HOME");
    assert!(
        !env.contains_key("FROM_PROCESS"),
        "the process env is not copied"
    );
    assert_eq!(start.env["C"], "section");
    assert!(
        !start.env.contains_key("E"),
        "project env has no service values"
    );

    let stop = resolve(&f, Section::Stop);
    assert_eq!(service(&stop, "users").env["C"], "global");
    assert_eq!(service(&stop, "users").env["D"], "service-env-file");
}

#[test]
fn every_value_is_interpolated_once_and_single_quotes_are_literal() {
    let f = Fixture::new(&[
        ("orchestra.yml", "env_file: .env\n"),
        (
            ".env",
            "SINGLE='pa$word1 ${X}'\nDOUBLE=\"pa$(ss\"\nBARE=pa$(ss\n\
             ESCAPED=\"\\$FROM_PROCESS\"\nFROM=\"$FROM_PROCESS\"\n\
             ODD='a$$b'\nFALLBACK=${NOPE:-dflt}\n",
        ),
        (
            "users/service.yml",
            "run: ./users\nenv:\n  AGAIN: \"<$SINGLE>\"\n  ALSO: \"<$DOUBLE>\"\n",
        ),
    ]);
    let spec = resolve(&f, Section::Start);
    let env = &service(&spec, "users").env;
    assert_eq!(env["SINGLE"], "pa$word1 ${X}");
    assert_eq!(env["DOUBLE"], "pa$(ss");
    assert_eq!(env["BARE"], "pa$(ss");
    assert_eq!(env["ESCAPED"], "$FROM_PROCESS");
    assert_eq!(env["FROM"], "process");
    assert_eq!(env["ODD"], "a$$b");
    assert_eq!(env["FALLBACK"], "dflt");
    // A value that holds a `$` once filled is not filled a second time where it is used.
    assert_eq!(env["AGAIN"], "<pa$word1 ${X}>");
    assert_eq!(env["ALSO"], "<pa$(ss>");
}

#[test]
fn a_probe_fallback_holding_a_dollar_is_taken_as_written() {
    let f = Fixture::new(&[(
        "users/service.yml",
        "run: ./users\nport: 8080\nready: { http: \"http://${HOST:-h}:$PORT/${PATH_X:-a$b}\" }\n",
    )]);
    let spec = resolve(&f, Section::Start);
    let replica = service(&spec, "users").replica(1);
    assert_eq!(
        replica.ready.expect("probe").check,
        ReadyCheck::Http {
            url: "http://h:8081/a$b".into()
        }
    );
}

#[test]
fn probes_keep_per_replica_variables_for_each_replica() {
    let f = Fixture::new(&[
        ("orchestra.yml", "env: { HEALTH: /healthz }\n"),
        (
            "users/service.yml",
            "run: ./users\nport: 8080\nscale: 2\nready: { http: \"http://127.0.0.1:$PORT$HEALTH\" }\n",
        ),
    ]);
    let spec = resolve(&f, Section::Start);
    let users = service(&spec, "users");
    let probe = users.ready.as_ref().expect("probe");
    assert_eq!(
        probe.check,
        ReadyCheck::Http {
            url: "http://127.0.0.1:${PORT}/healthz".into()
        }
    );
    let replica = users.replica(1);
    assert_eq!(
        replica.ready.expect("probe").check,
        ReadyCheck::Http {
            url: "http://127.0.0.1:8081/healthz".into()
        }
    );
}

#[test]
fn a_service_with_a_port_and_no_probe_is_ready_once_it_listens_there() {
    let f = Fixture::new(&[
        ("users/service.yml", "run: ./users\nport: 8080\nscale: 2\n"),
        ("worker/service.yml", "run: ./worker\n"),
        (
            "logger/service.yml",
            "run: ./logger\nport: 9000\nready: { log: started }\n",
        ),
    ]);
    let spec = resolve(&f, Section::Start);
    let replica = service(&spec, "users").replica(1);
    assert_eq!(
        replica.ready.expect("a default probe").check,
        ReadyCheck::Tcp {
            host: "127.0.0.1".into(),
            port: "8081".into()
        }
    );
    assert_eq!(service(&spec, "worker").ready, None, "no port, no probe");
    assert_eq!(
        service(&spec, "logger").ready.as_ref().map(|r| &r.check),
        Some(&ReadyCheck::Log {
            regex: "started".into()
        }),
        "a written probe wins"
    );
}

#[test]
fn ports_can_come_from_variables_and_vendors_publish_their_address() {
    let f = Fixture::new(&[
        (
            "orchestra.yml",
            "env: { USERS_PORT: \"9000\" }\nvendors:\n  my-redis:\n    image: redis:7\n    ports: [\"16379:6379\"]\n",
        ),
        (
            "users/service.yml",
            "run: ./users\nport: ${USERS_PORT}\ndepends_on: [my-redis]\n\
             env: { URL: \"redis://$MY_REDIS_HOST:$MY_REDIS_PORT\" }\n",
        ),
        ("orders/service.yml", "run: ./orders\ndepends_on: [users]\n"),
    ]);
    let spec = resolve(&f, Section::Start);
    let users = service(&spec, "users");
    assert_eq!(users.port, Some(9000));
    assert_eq!(users.env["MY_REDIS_HOST"], "127.0.0.1");
    assert_eq!(users.env["MY_REDIS_PORT"], "16379");
    assert_eq!(users.env["URL"], "redis://127.0.0.1:16379");
    // Only a direct dependency brings the address; hooks and project tests get them all.
    let orders = service(&spec, "orders");
    assert!(
        !orders.env.contains_key("MY_REDIS_HOST"),
        "{:?}",
        orders.env
    );
    assert_eq!(spec.env["MY_REDIS_PORT"], "16379");
}

#[test]
fn defaults_fill_what_a_service_leaves_out() {
    let f = Fixture::new(&[
        (
            "orchestra.yml",
            "defaults:\n  stop_timeout: 3s\n  restart: never\n  env: { A: default, B: default }\n",
        ),
        (
            "a/service.yml",
            "run: ./a\nstop_timeout: 1s\nenv: { B: mine }\n",
        ),
        ("b/service.yml", "run: ./b\n"),
    ]);
    let spec = resolve(&f, Section::Start);
    let a = service(&spec, "a");
    let b = service(&spec, "b");
    assert_eq!(a.stop_timeout, Duration::from_secs(1));
    assert_eq!(b.stop_timeout, Duration::from_secs(3));
    assert_eq!(a.env["A"], "default");
    assert_eq!(a.env["B"], "mine");
    assert_eq!(b.restart, orchestra_core::policy::RestartPolicy::Never);
}

#[test]
fn empty_project_file_is_valid() {
    let f = Fixture::new(&[("orchestra.yml", "")]);
    let spec = resolve(&f, Section::Ps);
    assert!(spec.services.is_empty());
    assert_eq!(spec.name.as_str(), "project");
}

/// The resolved spec as JSON with the fixture's folders redacted.
fn spec_json(root: &Path, spec: &ProjectSpec) -> String {
    let json = serde_json::to_string_pretty(spec).expect("json");
    let root = root.canonicalize().expect("root");
    json.replace(&root.display().to_string(), "[ROOT]")
}

#[test]
fn fixture_project_resolves() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/shop");
    let project = Project::load(&root.join("orchestra.yml"))
        .unwrap_or_else(|e| panic!("{}", common::render(&e)));
    assert_eq!(
        project
            .service_names()
            .iter()
            .map(orchestra_core::ServiceName::as_str)
            .collect::<Vec<_>>(),
        ["frontend", "migrate", "orders", "users"]
    );
    let spec = project
        .resolve_with(Section::Start, &|k| {
            (k == "SHOP").then(|| "the-shop".to_owned())
        })
        .unwrap_or_else(|e| panic!("{}", common::render(&e)));
    insta::assert_snapshot!(spec_json(&root, &spec));
}

#[test]
fn example_projects_resolve() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let Ok(entries) = std::fs::read_dir(&examples) else {
        return;
    };
    let mut dirs: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    dirs.sort();
    for dir in dirs
        .into_iter()
        .filter(|d| d.join("orchestra.yml").is_file())
    {
        let project = Project::load(&dir.join("orchestra.yml"))
            .unwrap_or_else(|e| panic!("{}", common::render(&e)));
        let spec = project
            .resolve_with(Section::Start, &|_| None)
            .unwrap_or_else(|e| panic!("{}", common::render(&e)));
        let name = dir
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        insta::assert_snapshot!(format!("example_{name}"), spec_json(&dir, &spec));
    }
}

#[test]
fn a_task_runs_once_with_one_replica_whatever_the_defaults_say() {
    let f = Fixture::new(&[
        (
            "orchestra.yml",
            "defaults:\n  scale: 3\n  restart: always\n  ready: { tcp: 9000 }\n",
        ),
        (
            "migrate/service.yml",
            "task: true\nrun: ./migrate\nrestart: never\n",
        ),
        ("seed/service.yml", "task: { timeout: 90s }\nrun: ./seed\n"),
        (
            "api/service.yml",
            "task: false\nrun: ./api\ndepends_on: [migrate, seed]\n",
        ),
    ]);
    let spec = resolve(&f, Section::Start);
    let migrate = service(&spec, "migrate");
    assert_eq!(
        migrate.task,
        Some(TaskSpec {
            timeout: TaskSpec::DEFAULT_TIMEOUT
        })
    );
    assert_eq!(migrate.scale, 1);
    assert_eq!(migrate.restart, RestartPolicy::Never);
    assert_eq!(migrate.ready, None);
    let seed = service(&spec, "seed");
    assert_eq!(seed.task.map(|t| t.timeout), Some(Duration::from_secs(90)));
    let api = service(&spec, "api");
    assert!(!api.is_task());
    assert_eq!((api.scale, api.restart), (3, RestartPolicy::Always));
}

#[test]
fn a_project_of_many_services_loads_them_all_and_reports_problems_in_folder_order() {
    // Enough services for the loading to be shared between threads.
    let mut files: Vec<(String, String)> = (0..150)
        .map(|i| (format!("s{i:03}/service.yml"), "run: sleep 1\n".to_owned()))
        .collect();
    for broken in [7, 80, 149] {
        files[broken].1 = "run: sleep 1\nrestrat: always\n".to_owned();
    }
    let borrowed: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let f = Fixture::new(&borrowed);
    let error = f.load().expect_err("three files are broken");
    let named: Vec<String> = error.problems().iter().map(|p| common::render(p)).collect();
    assert_eq!(named.len(), 3, "{named:#?}");
    for (problem, folder) in named.iter().zip(["s007", "s080", "s149"]) {
        assert!(
            problem.contains(&format!("{folder}/service.yml")),
            "{problem}"
        );
    }

    for broken in [7, 80, 149] {
        f.write(&files[broken].0, "run: sleep 1\n");
    }
    let spec = resolve(&f, Section::Start);
    let names: Vec<&str> = spec
        .services
        .keys()
        .map(orchestra_core::ServiceName::as_str)
        .collect();
    let expected: Vec<String> = (0..150).map(|i| format!("s{i:03}")).collect();
    assert_eq!(names, expected);
}
