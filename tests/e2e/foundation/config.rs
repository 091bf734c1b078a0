//! `orchestra config`: the resolved fleet (Go defaults, env precedence) on success; on a bad
//! configuration, exit 2 with every problem located, shown and explained, never a panic;
//! colour only on a terminal and never when asked not to.

use orchestra_tests::{Cmd, Fleet, orchestra_bin};
use serde_json::json;

use super::{assert_clean_failure, json, snapshots};

#[test]
fn config_json_resolves_go_defaults_and_env_precedence() {
    let fleet = Fleet::new()
        .orchestra_yml(
            "env_file: .env\n\
             env:\n  FILE_VS_GLOBAL: global\n  GLOBAL_VS_SVCFILE: global\n  \
             FROM_OWN: \"${ORCH_TEST_OWN}!\"\n  LITERAL: \"$$NOT\"\n\
             export:\n  env: { SECTION: only-under-export }\n",
        )
        .file(".env", "FILE_VS_GLOBAL=file\nFILE_ONLY=file\n")
        .file("api/go.mod", "module example.com/api\n\ngo 1.19\n")
        .file("api/main.go", "package main\n\nfunc main() {}\n")
        .file(
            "api/.env.local",
            "GLOBAL_VS_SVCFILE=svcfile\nSVCFILE_VS_SVC=svcfile\n",
        )
        .service(
            "api",
            "env_file: .env.local\nenv: { SVCFILE_VS_SVC: service }\nport: 4500\n",
        );
    let out = fleet
        .cmd(["config", "--json"])
        .env("ORCH_TEST_OWN", "from-own-env")
        .assert_success();
    let config = json(&out);
    let root = fleet.root().display().to_string();
    let api = &config["services"]["api"];

    assert_eq!(api["kind"], "go");
    assert_eq!(api["dir"], format!("{root}/api"));
    let bin = format!("{root}/.orchestra/bin/api");
    assert_eq!(
        api["build"],
        json!({"exec": ["go", "build", "-o", bin, "."]})
    );
    assert_eq!(api["run"], json!({"exec": [bin]}));
    assert_eq!(api["test"], json!({"exec": ["go", "test", "./..."]}));
    assert_eq!(api["port"], 4500);
    assert_eq!(api["scale"], 1);
    assert_eq!(api["restart"], "on-failure");
    assert_eq!(api["stop_signal"], "SIGTERM");
    assert_eq!(api["watch"], json!(["**/*.go", "go.mod", "go.sum"]));

    let env = &api["env"];
    assert_eq!(env["FILE_ONLY"], "file");
    assert_eq!(env["FILE_VS_GLOBAL"], "global", "global env beats env_file");
    assert_eq!(
        env["GLOBAL_VS_SVCFILE"], "svcfile",
        "service env_file beats global env"
    );
    assert_eq!(
        env["SVCFILE_VS_SVC"], "service",
        "service env beats its env_file"
    );
    assert_eq!(
        env["FROM_OWN"], "from-own-env!",
        "interpolated from orchestra's env"
    );
    assert_eq!(env["LITERAL"], "$NOT", "`$$` is a literal `$`");
    assert!(
        env.get("SECTION").is_none(),
        "the export section's env leaked into config: {env:#}"
    );

    // The YAML form says the same.
    let yaml = fleet
        .cmd(["config"])
        .env("ORCH_TEST_OWN", "from-own-env")
        .assert_success();
    for needle in ["name: api", "FROM_OWN: from-own-env!", "port: 4500"] {
        assert!(
            yaml.stdout.contains(needle),
            "no `{needle}` in config:\n{yaml}"
        );
    }
}

/// A fleet whose orchestra.yml and services are written as given.
fn bad_fleet(orchestra_yml: &str, services: &[(&str, &str)]) -> Fleet {
    services.iter().fold(
        Fleet::new().orchestra_yml(orchestra_yml),
        |fleet, (name, yml)| fleet.service(name, yml),
    )
}

/// Runs `config` on a bad fleet: exit 2, no panic, each problem located as
/// `file:line:column` with a help line. Returns stderr, the fleet's folder as `[ROOT]`.
fn config_error(fleet: &Fleet, locations: &[&str]) -> String {
    let out = fleet.cmd(["config"]).run();
    assert_clean_failure(&out, 2);
    assert_eq!(
        out.stdout, "",
        "a bad configuration printed a configuration"
    );
    for location in locations {
        assert!(
            out.stderr.contains(&format!("[{location}]")),
            "no `{location}` in the error:\n{}",
            out.stderr
        );
    }
    assert!(
        out.stderr.matches("help:").count() >= locations.len(),
        "a help line per problem:\n{}",
        out.stderr
    );
    // Only the folder changes between runs: durations in help lines are part of the message.
    out.stderr
        .replace(&fleet.root().display().to_string(), "[ROOT]")
}

#[test]
fn an_unknown_key_is_located_and_the_closest_key_suggested() {
    let fleet = bad_fleet("", &[("api", "run: ./api\ndepend_on: [db]\n")]);
    let err = config_error(&fleet, &["api/service.yml:2:1"]);
    assert!(err.contains("did you mean `depends_on`?"), "{err}");
    snapshots().bind(|| insta::assert_snapshot!(err));
}

#[test]
fn a_dependency_cycle_is_printed_as_a_cycle() {
    let fleet = bad_fleet(
        "",
        &[
            ("a", "run: ./a\ndepends_on: [b]\n"),
            ("b", "run: ./b\ndepends_on: [a]\n"),
        ],
    );
    let err = config_error(&fleet, &["b/service.yml:2:14"]);
    assert!(err.contains("a → b → a"), "{err}");
    snapshots().bind(|| insta::assert_snapshot!(err));
}

#[test]
fn a_bad_duration_is_located_with_how_to_write_one() {
    let fleet = bad_fleet("defaults:\n  stop_timeout: 10parsecs\n", &[]);
    let err = config_error(&fleet, &["orchestra.yml:2:17"]);
    snapshots().bind(|| insta::assert_snapshot!(err));
}

#[test]
fn every_problem_is_reported_in_one_run() {
    let fleet = bad_fleet(
        "defaults:\n  stop_timeout: soon\n",
        &[
            ("a", "run: ./a\nscael: 2\n"),
            ("b", "run: ./b\ndepends_on: [nope]\nrestart: sometimes\n"),
        ],
    );
    let err = config_error(
        &fleet,
        &[
            "orchestra.yml:2:17",
            "a/service.yml:2:1",
            "b/service.yml:2:14",
            "b/service.yml:3:10",
        ],
    );
    assert!(err.contains("4 problems"), "{err}");
    snapshots().bind(|| insta::assert_snapshot!(err));
}

/// The same failing `config`, with stderr on a pipe or (through `script`) on a terminal.
fn error_output(fleet: &Fleet, args: &[&str], env: &[(&str, &str)], tty: bool) -> String {
    let mut cmd = if tty {
        let mut line = orchestra_bin().display().to_string();
        for arg in args {
            line.push(' ');
            line.push_str(arg);
        }
        Cmd::new("script", ["-qec", &line, "/dev/null"], fleet.root())
    } else {
        Cmd::new(orchestra_bin(), args, fleet.root())
    };
    cmd = cmd.env_remove("NO_COLOR");
    for (k, v) in env {
        cmd = cmd.env(k, v);
    }
    let out = cmd.run();
    assert!(
        out.stdout.contains("unknown key") || out.stderr.contains("unknown key"),
        "the command did not fail as set up: {out}"
    );
    format!("{}{}", out.stdout, out.stderr)
}

#[test]
fn colours_only_on_a_terminal_and_never_when_told_not_to() {
    let fleet = bad_fleet("", &[("api", "run: ./api\nprot: 80\n")]);
    let escape = "\x1b[";
    // On a terminal the error is coloured: so the checks below are not vacuous.
    assert!(error_output(&fleet, &["config"], &[], true).contains(escape));
    for (args, env, tty) in [
        (&["config"][..], &[][..], false),
        (&["config"], &[("NO_COLOR", "1")], true),
        (&["--no-color", "config"], &[], true),
        (&["config", "--no-color"], &[], true),
    ] {
        let text = error_output(&fleet, args, env, tty);
        assert!(
            !text.contains(escape),
            "escape codes with {args:?} {env:?} tty={tty}: {text:?}"
        );
    }
}

#[test]
fn an_unset_variable_stops_start_naming_the_file_the_line_and_the_variable() {
    let fleet = bad_fleet(
        "",
        &[(
            "api",
            "run: \"exec sleep 1000\"\nenv:\n  PASSWORD: \"pa$word1\"\n",
        )],
    );
    let out = fleet.cmd(["start"]).env_remove("word1").run();
    assert_clean_failure(&out, 2);
    for needle in [
        "[api/service.yml:3:16]",
        "variable `word1` is not set",
        "${word1:-default}",
        "`$$`",
    ] {
        assert!(out.stderr.contains(needle), "no `{needle}` in:\n{out}");
    }
    assert!(
        !fleet.path(".orchestra/logs/api.0.log").exists(),
        "something started"
    );
    // The ways out: a fallback, or `$$` for a literal `$`.
    fleet.write(
        "api/service.yml",
        "run: \"exec sleep 1000\"\nenv:\n  PASSWORD: \"pa${word1:-x}\"\n  LITERAL: \"pa$$word1\"\n",
    );
    let config = json(&fleet.cmd(["config", "--json"]).assert_success());
    assert_eq!(config["services"]["api"]["env"]["PASSWORD"], "pax");
    assert_eq!(config["services"]["api"]["env"]["LITERAL"], "pa$word1");
}

#[test]
fn dotenv_values_are_filled_once_and_single_quoted_ones_never() {
    let fleet = Fleet::new()
        .orchestra_yml("env_file: .env\n")
        .file(
            ".env",
            "QUOTED=\"pa$(ss\"\nSINGLE='pa$word1'\nUSES=\"<$SINGLE>\"\n",
        )
        .service("api", "run: ./api\n");
    let config = json(&fleet.cmd(["config", "--json"]).assert_success());
    let env = &config["services"]["api"]["env"];
    assert_eq!(env["QUOTED"], "pa$(ss");
    assert_eq!(env["SINGLE"], "pa$word1");
    assert_eq!(env["USES"], "<pa$word1>");
}

#[test]
fn a_nul_byte_is_refused_when_the_files_are_read() {
    let fleet = bad_fleet(
        "",
        &[(
            "api",
            "run: [\"sleep\", \"10\\0\"]\nenv: { TOKEN: \"a\\x00b\" }\n",
        )],
    );
    let out = fleet.cmd(["start"]).run();
    assert_clean_failure(&out, 2);
    for needle in [
        "[api/service.yml:1:16]",
        "[api/service.yml:2:15]",
        "NUL byte",
    ] {
        assert!(out.stderr.contains(needle), "no `{needle}` in:\n{out}");
    }
    assert!(!fleet.path(".orchestra/logs/api.0.log").exists());
}

#[test]
fn a_service_file_that_is_not_a_file_is_named() {
    let fleet = bad_fleet("", &[("api", "run: ./api\n")]);
    let file = fleet.path("web/service.yml");
    let make: [(&str, &dyn Fn()); 4] = [
        ("is a folder", &|| {
            std::fs::create_dir(&file).expect("mkdir");
        }),
        ("is a FIFO", &|| {
            nix::unistd::mkfifo(&file, nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
        }),
        ("Too many levels of symbolic links", &|| {
            std::os::unix::fs::symlink(&file, &file).expect("symlink");
        }),
        ("is a device", &|| {
            std::os::unix::fs::symlink("/dev/zero", &file).expect("symlink");
        }),
    ];
    std::fs::create_dir(fleet.path("web")).expect("mkdir");
    for (what, make) in make {
        make();
        // A FIFO without a writer must not hang the load: the command's timeout would fail.
        let out = fleet.cmd(["start"]).run();
        assert_clean_failure(&out, 2);
        assert!(
            out.stderr.contains("web/service.yml") && out.stderr.contains(what),
            "service.yml that {what}:\n{out}"
        );
        if file.is_dir() {
            std::fs::remove_dir(&file).expect("rmdir");
        } else {
            std::fs::remove_file(&file).expect("rm");
        }
    }
}

#[test]
fn ports_beyond_65535_are_reported_with_every_other_problem() {
    let fleet = bad_fleet(
        "",
        &[
            ("a", "run: ./a\nport: 65535\nscale: 3\n"),
            ("b", "run: ./b\nrestart: sometimes\n"),
        ],
    );
    let err = config_error(&fleet, &["a/service.yml:2:7", "b/service.yml:2:10"]);
    assert!(err.contains("2 problems"), "{err}");
    assert!(err.contains("65535–65537, beyond 65535"), "{err}");
}

#[test]
fn a_million_nested_brackets_are_refused_naming_the_place() {
    let brackets = "[".repeat(1_000_000);
    let fleet = bad_fleet("", &[("api", &format!("run: ./api\nenv: {brackets}\n"))]);
    let out = fleet.cmd(["start"]).run();
    assert_clean_failure(&out, 2);
    assert!(
        out.stderr.contains("[api/service.yml:2:70]")
            && out
                .stderr
                .contains("nests lists or maps more than 64 levels deep"),
        "{}",
        &out.stderr[..out.stderr.len().min(2000)]
    );
}

/// `orchestra config` prints the files' own syntax, without serde tags: written back as
/// files, each document loads and resolves to the same configuration.
#[test]
fn config_yaml_is_plain_and_loads_again_when_pasted_back_into_files() {
    let original = orchestra_tests::workspace_root().join("tests/fixtures/every-key");
    let copy = Fleet::new();
    let cmd = |dir: &std::path::Path, args: &[&str]| {
        orchestra_tests::Cmd::new(orchestra_tests::orchestra_bin(), args.iter().copied(), dir)
            .assert_success()
            .stdout
    };
    let old_root = original.display().to_string();
    let new_root = copy.root().display().to_string();
    let yaml = cmd(&original, &["config"]).replace(&old_root, &new_root);
    assert!(!yaml.contains('!'), "serde tags in `config`:\n{yaml}");
    let documents: Vec<&str> = yaml.split("\n---\n").collect();
    assert_eq!(
        documents.len(),
        3,
        "orchestra.yml, api and migrate:\n{yaml}"
    );
    copy.write("orchestra.yml", documents[0]);
    for doc in &documents[1..] {
        let name = doc
            .lines()
            .find_map(|l| l.strip_prefix("name: "))
            .unwrap_or_else(|| panic!("no name in\n{doc}"));
        copy.write(format!("{name}/service.yml"), doc);
    }

    let resolved = |dir: &std::path::Path| -> serde_json::Value {
        let text = cmd(dir, &["config", "--json"]).replace(&old_root, &new_root);
        let mut v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        // Where the built binary goes is inferred from `{bin}`, which resolution replaced.
        for service in v["services"]
            .as_object_mut()
            .expect("services")
            .values_mut()
        {
            service.as_object_mut().expect("a service").remove("binary");
        }
        v
    };
    assert_eq!(resolved(copy.root()), resolved(&original));
}

/// A `.env` beside orchestra.yml and beside a service.yml is read at the precedence of
/// `env_file` (the files named win over it); `required: false` lets a named file be absent.
#[test]
fn dotenv_files_beside_the_files_are_read_and_optional_env_files_may_be_absent() {
    let fleet = Fleet::new()
        .orchestra_yml("env_file: shared.env\n")
        .file(".env", "A=root-dotenv\nB=root-dotenv\n")
        .file("shared.env", "B=shared\n")
        .service(
            "api",
            "run: ./api\nenv_file:\n  - { path: local.env, required: false }\n  - { path: absent.env, required: false }\n",
        )
        .file("api/.env", "C=api-dotenv\nD=api-dotenv\n")
        .file("api/local.env", "D=local\n");
    let config = json(&fleet.cmd(["config", "--json"]).assert_success());
    let env = &config["services"]["api"]["env"];
    assert_eq!(env["A"], "root-dotenv", "{env:#}");
    assert_eq!(env["B"], "shared", "env_file wins over .env: {env:#}");
    assert_eq!(env["C"], "api-dotenv", "{env:#}");
    assert_eq!(env["D"], "local", "{env:#}");

    // Without it, a missing file is an error naming the path and the key that asked.
    fleet.write(
        "api/service.yml",
        "run: ./api\nenv_file: [local.env, absent.env]\n",
    );
    let out = fleet.cmd(["config"]).run();
    assert_clean_failure(&out, 2);
    for needle in [
        "absent.env` does not exist",
        "named by `env_file[1]` in api/service.yml",
        "api/service.yml:2",
        "required: false",
    ] {
        assert!(out.stderr.contains(needle), "no {needle:?} in: {out}");
    }
}
