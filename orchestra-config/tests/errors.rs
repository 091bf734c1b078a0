//! Every kind of bad configuration, with the message a user would read, as snapshots.

mod common;

use common::Fixture;

/// A test that loads the files and snapshots the rendered error.
macro_rules! bad {
    ($name:ident, [$(($path:expr, $text:expr)),* $(,)?]) => {
        #[test]
        fn $name() {
            let f = Fixture::new(&[$(($path, $text)),*]);
            insta::assert_snapshot!(f.error());
        }
    };
}

// Syntax and shape.
bad!(
    yaml_syntax,
    [("users/service.yml", "run: ./users\nport: [8080\nscale: 1\n")]
);
bad!(
    tab_indentation,
    [("orchestra.yml", "env:\n\tLOG_LEVEL: debug\n")]
);
bad!(
    service_file_is_a_list,
    [("users/service.yml", "- run: ./users\n- port: 8080\n")]
);
bad!(
    service_file_is_a_scalar,
    [("users/service.yml", "just some words\n")]
);
bad!(
    duplicate_key,
    [(
        "users/service.yml",
        "port: 8080\nrun: ./users\nport: 8081\n"
    )]
);
bad!(
    duplicate_nested_key,
    [(
        "orchestra.yml",
        "env:\n  LOG_LEVEL: debug\n  LOG_LEVEL: info\n"
    )]
);
bad!(yaml_tag, [("users/service.yml", "run: !shell ./users\n")]);

#[test]
fn flow_nesting_past_the_limit() {
    // A million `[` just under the size limit: the scanner is quadratic in this depth, so
    // the depth is refused before it runs (this test would otherwise take hours).
    let f = Fixture::new(&[]);
    let brackets = "[".repeat(1_000_000);
    f.write(
        "users/service.yml",
        format!("run: ./users\nenv: {brackets}\n"),
    );
    insta::assert_snapshot!(f.error());
}

// Keys.
bad!(
    unknown_service_key,
    [(
        "users/service.yml",
        "port: 8080\ndepend_on: [postgres]\nrun: ./users\n"
    )]
);
bad!(
    unknown_project_key,
    [("orchestra.yml", "servics: [\"*\"]\n")]
);
bad!(
    unknown_vendor_key,
    [(
        "orchestra.yml",
        "vendors:\n  postgres:\n    image: postgres:16\n    prots: [\"5432:5432\"]\n"
    )]
);
bad!(
    unknown_key_without_suggestion,
    [("users/service.yml", "run: ./users\nbanana: 3\n")]
);
bad!(
    unknown_ready_key,
    [(
        "users/service.yml",
        "run: ./users\nready: { tcp: 8080, timout: 5s }\n"
    )]
);

// Types and values.
bad!(
    wrong_type_scale,
    [("users/service.yml", "run: ./users\nscale: many\n")]
);
bad!(
    negative_scale,
    [("users/service.yml", "run: ./users\nscale: -1\n")]
);
bad!(
    scale_over_the_replica_limit,
    [("users/service.yml", "run: ./users\nscale: 100000000\n")]
);
bad!(
    port_out_of_range,
    [("users/service.yml", "run: ./users\nport: 70000\n")]
);
bad!(
    port_not_a_number,
    [("users/service.yml", "run: ./users\nport: \"http\"\n")]
);
bad!(
    port_variable_not_a_number,
    [
        ("orchestra.yml", "env:\n  USERS_PORT: eighty\n"),
        ("users/service.yml", "run: ./users\nport: $USERS_PORT\n")
    ]
);
bad!(
    bad_duration,
    [("users/service.yml", "run: ./users\nstop_timeout: 10x\n")]
);
bad!(
    duration_without_unit,
    [("users/service.yml", "run: ./users\nstop_timeout: 10\n")]
);
bad!(
    bad_signal,
    [("users/service.yml", "run: ./users\nstop_signal: SIGTREM\n")]
);
bad!(
    bad_restart_policy,
    [("users/service.yml", "run: ./users\nrestart: sometimes\n")]
);
bad!(
    command_of_wrong_type,
    [("users/service.yml", "run: { cmd: ./users }\n")]
);
bad!(env_not_a_map, [("orchestra.yml", "env: [A=1]\n")]);
bad!(
    env_bad_variable_name,
    [("orchestra.yml", "env:\n  MY-VAR: 1\n")]
);
bad!(
    env_bad_substitution,
    [("orchestra.yml", "env:\n  URL: \"http://${HOST:8080\"\n")]
);
bad!(
    rerun_wrong_type,
    [("users/service.yml", "run: ./users\nrerun: often\n")]
);
bad!(
    logs_bad_size,
    [("orchestra.yml", "logs:\n  max_size: lots\n")]
);

// Names.
bad!(
    invalid_service_name,
    [("users/service.yml", "name: my service\nrun: ./users\n")]
);
bad!(
    invalid_folder_name,
    [("my.users/service.yml", "run: ./users\n")]
);
bad!(
    duplicate_service_names,
    [
        ("users/service.yml", "run: ./users\n"),
        ("accounts/service.yml", "name: users\nrun: ./accounts\n")
    ]
);
bad!(
    service_and_vendor_share_a_name,
    [
        ("orchestra.yml", "vendors:\n  users:\n    image: users:1\n"),
        ("users/service.yml", "run: ./users\n")
    ]
);
bad!(
    defaults_with_name,
    [("orchestra.yml", "defaults:\n  name: x\n")]
);

// Dependencies.
bad!(
    unknown_dependency,
    [
        (
            "orchestra.yml",
            "vendors:\n  postgres:\n    image: postgres:16\n"
        ),
        (
            "users/service.yml",
            "run: ./users\ndepends_on: [postgress]\n"
        ),
    ]
);
bad!(
    unknown_dependency_without_suggestion,
    [(
        "users/service.yml",
        "run: ./users\ndepends_on:\n  - kafka\n"
    )]
);
bad!(
    dependency_cycle,
    [
        ("api/service.yml", "run: ./api\ndepends_on: [users]\n"),
        ("orders/service.yml", "run: ./orders\ndepends_on: [api]\n"),
        ("users/service.yml", "run: ./users\ndepends_on: [orders]\n"),
    ]
);
bad!(
    self_dependency,
    [("users/service.yml", "run: ./users\ndepends_on: [users]\n")]
);

// Ports.
bad!(
    port_claimed_twice,
    [
        ("orders/service.yml", "run: ./orders\nport: 8081\n"),
        ("users/service.yml", "run: ./users\nport: 8080\nscale: 2\n"),
    ]
);
bad!(
    vendor_and_service_port_clash,
    [
        (
            "orchestra.yml",
            "vendors:\n  postgres:\n    image: postgres:16\n    ports: [\"5432:5432\"]\n"
        ),
        ("users/service.yml", "run: ./users\nport: 5432\n"),
    ]
);
bad!(
    ports_beyond_65535,
    [("users/service.yml", "run: ./users\nport: 65535\nscale: 3\n")]
);

// Globs, regexes, probes.
bad!(
    bad_watch_glob,
    [("users/service.yml", "run: ./users\nwatch: [\"src/[abc\"]\n")]
);
bad!(
    bad_services_glob,
    [("orchestra.yml", "services: [\"{a,b\"]\n")]
);
bad!(
    bad_log_regex,
    [(
        "users/service.yml",
        "run: ./users\nready:\n  log: \"listening (on\"\n"
    )]
);
bad!(
    ready_with_two_checks,
    [(
        "users/service.yml",
        "run: ./users\nready: { tcp: 8080, http: \"http://localhost:8080\" }\n"
    )]
);
bad!(
    ready_as_a_string,
    [("users/service.yml", "run: ./users\nready: tcp\n")]
);

// Vendors.
bad!(
    vendor_without_image,
    [(
        "orchestra.yml",
        "vendors:\n  postgres:\n    ports: [\"5432\"]\n"
    )]
);
bad!(
    vendor_bad_port_mapping,
    [(
        "orchestra.yml",
        "vendors:\n  redis:\n    image: redis:7\n    ports: [\"6379:abc\"]\n"
    )]
);
bad!(
    vendor_port_on_every_address,
    [(
        "orchestra.yml",
        "vendors:\n  db:\n    image: postgres:16\n    ports: [\"0.0.0.0:5432:5432\", \"53/udp\"]\n"
    )]
);
bad!(
    vendor_long_port_without_target,
    [(
        "orchestra.yml",
        "vendors:\n  db:\n    image: postgres:16\n    ports:\n      - { published: 5432, protocl: tcp }\n"
    )]
);
bad!(
    vendor_bad_volume,
    [(
        "orchestra.yml",
        "vendors:\n  postgres:\n    image: postgres:16\n    volumes: [\"pgdata:var/lib/postgresql\"]\n"
    )]
);

// Variables that are not set, and bytes no process can take.
bad!(
    unset_variable_in_env,
    [(
        "users/service.yml",
        "run: ./users\nenv:\n  PASSWORD: \"pa$word1\"\n"
    )]
);
bad!(
    unset_variable_in_braces,
    [(
        "orchestra.yml",
        "env:\n  URL: \"http://${API_HOST}:8080\"\n"
    )]
);
bad!(
    unset_variable_in_env_file,
    [
        ("orchestra.yml", "env_file: .env\n"),
        (".env", "GOOD=1\nURL=\"http://$API_HOST:8080\"\n")
    ]
);
bad!(
    unset_variable_in_port,
    [("users/service.yml", "run: ./users\nport: $USERS_PORT\n")]
);
bad!(
    unset_variable_in_probe,
    [(
        "users/service.yml",
        "run: ./users\nport: 8080\nready: { http: \"http://$API_HOST:$PORT/health\" }\n"
    )]
);
bad!(
    port_variable_in_probe_without_a_port,
    [("users/service.yml", "run: ./users\nready: { tcp: $PORT }\n")]
);
bad!(
    unset_variable_in_vendor_ports,
    [(
        "orchestra.yml",
        "vendors:\n  redis:\n    image: redis:7\n    ports: [\"$REDIS_PORT:6379\"]\n"
    )]
);
bad!(
    nul_byte_in_env,
    [(
        "users/service.yml",
        "run: ./users\nenv:\n  TOKEN: \"ab\\0cd\"\n"
    )]
);
bad!(
    nul_byte_in_command,
    [("users/service.yml", "run: [\"./users\", \"--x\\x00\"]\n")]
);

#[test]
fn nul_byte_in_env_file() {
    let f = Fixture::new(&[
        ("orchestra.yml", "env_file: .env\n"),
        (".env", "TOKEN=\"ab\0cd\"\n"),
    ]);
    // Shown as a visible character: the snapshot stays text.
    insta::assert_snapshot!(f.error().replace('\0', "␀"));
}

// Services that cannot run, files that cannot be read.
bad!(
    command_service_without_run,
    [("tools/service.yml", "port: 9000\n")]
);
bad!(missing_env_file, [("orchestra.yml", "env_file: .env\n")]);
bad!(
    bad_env_file_line,
    [
        ("orchestra.yml", "env_file: .env\n"),
        (".env", "GOOD=1\nBAD LINE\n")
    ]
);

#[test]
fn non_utf8_bytes() {
    let f = Fixture::new(&[]);
    f.write(
        "users/service.yml",
        b"run: ./users\nenv:\n  NAME: caf\xe9\n",
    );
    insta::assert_snapshot!(f.error());
}

#[test]
fn a_five_megabyte_file_is_refused_quickly() {
    let f = Fixture::new(&[]);
    let line = "# padding padding padding padding padding padding padding padding\n";
    f.write(
        "orchestra.yml",
        line.repeat(5 * 1024 * 1024 / line.len() + 1),
    );
    let started = std::time::Instant::now();
    let out = f.error();
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    insta::assert_snapshot!(out);
}

#[test]
fn an_unreadable_file() {
    let f = Fixture::empty();
    // A folder where the file should be: opening works, reading fails, even for root.
    std::fs::create_dir(f.root.join("orchestra.yml")).expect("mkdir");
    let err = f.load().expect_err("unreadable");
    insta::assert_snapshot!(f.redact(&common::render(&err)));
}

#[test]
fn many_problems_are_reported_together() {
    let f = Fixture::new(&[
        (
            "orchestra.yml",
            "envv: {}\nvendors:\n  postgres:\n    image: postgres:16\n",
        ),
        (
            "users/service.yml",
            "run: ./users\nscale: -2\nstop_signal: TREM\n",
        ),
        (
            "orders/service.yml",
            "run: ./orders\ndepends_on: [postgrs]\n",
        ),
    ]);
    let err = f.load().expect_err("refused");
    assert_eq!(err.problems().len(), 4);
    assert_eq!(err.to_string(), "4 problems in the configuration");
    insta::assert_snapshot!(f.redact(&common::render(&err)));
}

#[test]
fn a_problem_locates_itself_in_one_line() {
    let f = Fixture::new(&[("users/service.yml", "run: ./users\nport: [8080\nscale: 1\n")]);
    let err = f.load().expect_err("refused");
    let problem = &err.problems()[0];
    let location = problem
        .location()
        .expect("a problem in a file has a location");
    assert!(
        location.starts_with("users/service.yml:") && location.matches(':').count() == 2,
        "{location}"
    );
    let line: usize = location.split(':').nth(1).unwrap().parse().unwrap();
    assert!((2..=4).contains(&line), "{location}");
}

/// A service.yml that is something else than a file is an error naming it, not a folder
/// without a service; a FIFO is refused without waiting for a writer.
fn service_file_that_is(make: impl FnOnce(&std::path::Path)) -> String {
    let f = Fixture::new(&[("orders/service.yml", "run: ./orders\n")]);
    std::fs::create_dir(f.root.join("users")).expect("mkdir");
    make(&f.root.join("users/service.yml"));
    let err = f.load().expect_err("refused");
    f.redact(&common::render(&err))
}

#[test]
fn service_file_is_a_folder() {
    insta::assert_snapshot!(service_file_that_is(
        |p| std::fs::create_dir(p).expect("mkdir")
    ));
}

#[test]
fn service_file_is_a_fifo() {
    insta::assert_snapshot!(service_file_that_is(|p| {
        nix::unistd::mkfifo(p, nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
    }));
}

#[test]
fn service_file_is_a_symlink_loop() {
    insta::assert_snapshot!(service_file_that_is(|p| {
        std::os::unix::fs::symlink(p, p).expect("symlink");
    }));
}

#[test]
fn service_file_is_a_device() {
    insta::assert_snapshot!(service_file_that_is(|p| {
        std::os::unix::fs::symlink("/dev/null", p).expect("symlink");
    }));
}

#[test]
fn ports_beyond_65535_are_reported_with_other_problems() {
    let f = Fixture::new(&[
        ("users/service.yml", "run: ./users\nport: 65535\nscale: 3\n"),
        ("orders/service.yml", "run: ./orders\nstop_signal: TREM\n"),
    ]);
    let err = f.load().expect_err("refused");
    assert_eq!(err.problems().len(), 2, "{err:?}");
    insta::assert_snapshot!(f.redact(&common::render(&err)));
}

// Tasks: what cannot go beside `task: true`.
bad!(
    task_beside_scale_and_port,
    [(
        "migrate/service.yml",
        "task: true\nrun: ./migrate\nscale: 2\nport: 8080\n"
    )]
);
bad!(
    task_beside_ready_and_restart,
    [(
        "migrate/service.yml",
        "task: true\nrun: ./migrate\nready: { tcp: 5432 }\nrestart: always\n"
    )]
);
bad!(
    task_as_a_default,
    [
        ("orchestra.yml", "defaults:\n  task: true\n"),
        ("migrate/service.yml", "run: ./migrate\n")
    ]
);
bad!(
    task_of_wrong_type,
    [("migrate/service.yml", "task: yes please\nrun: ./migrate\n")]
);
