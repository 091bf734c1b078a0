//! Variables and env files: an unset variable stops `start` naming where it is, `.env`
//! values are filled once, and `.env` files beside the files are read.

use orchestra_tests::Fleet;

use super::bad_fleet;
use crate::foundation::{assert_clean_failure, json};

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
