//! `orchestra export`: `eval "$(orchestra export svc)"` in bash gives back exactly the
//! values the configuration resolves to, however awkward, and nothing else runs.

use std::collections::BTreeMap;

use orchestra_tests::Fleet;
use serde_json::Value;

use super::{clean_bash, json, parse_env0};

/// Values a naive `export K="V"` would mangle or, worse, execute.
const PROJECT_YML: &str = r#"env:
  SINGLE: "it's a 'quoted' value"
  DOUBLE: 'say "hi" and "bye"'
  SPACES: "  two  spaces around  "
  DOLLAR: "$$HOME stays literal"
  SUBSTITUTION: "$$(touch pwned-by-subst)"
  BACKTICKS: "`touch pwned-by-backticks`"
  BACKSLASHES: 'C:\dir\n\t \\ end\'
  NEWLINES: "first\nsecond\n\nfourth\n"
  TAB: "a\tb"
  EMPTY: ""
  UNICODE: "héllo wörld ✓ 日本語 🎻"
  MIXED: "it's \"$$x\" `y` \\z $$(w)"
  LEVEL: global
  INTERPOLATED: "${LEVEL}-and-$LEVEL"
env_file: .env
before: ["echo polluting-before"]
after: ["echo polluting-after"]
export:
  before: ["echo polluting-section-before"]
"#;

const DOTENV: &str = "FROM_FILE=\"a value from a file, it's here\"\nFILE_ONLY=plain\n";

fn awkward_fleet() -> Fleet {
    Fleet::new()
        .orchestra_yml(PROJECT_YML)
        .file(".env", DOTENV)
        .service(
            "svc",
            "run: sleep 60\nport: 4100\nenv:\n  LEVEL: service\n  SVC_ONLY: \"x 'y' z\"\n",
        )
}

/// What `config --json` says the environment is: the project's, or one service's.
fn configured_env(fleet: &Fleet, service: Option<&str>) -> BTreeMap<String, String> {
    let config = json(&fleet.cmd(["config", "--json"]).assert_success());
    let env = match service {
        None => &config["env"],
        Some(name) => &config["services"][name]["env"],
    };
    let Value::Object(env) = env else {
        panic!("no env object in config --json: {config:#}")
    };
    env.iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str().expect("env values are strings").to_owned(),
            )
        })
        .collect()
}

/// Runs `eval "$(orchestra export ARGS)"` in a clean bash and returns what `env` shows then,
/// less the few variables bash itself sets.
fn evaluated(fleet: &Fleet, args: &str) -> BTreeMap<String, String> {
    let script = format!("set -e; eval \"$(\"$OBIN\" export {args})\"; env -0");
    let out = clean_bash(fleet, &script).assert_success();
    let mut env = parse_env0(&out.stdout);
    for own in ["PATH", "OBIN", "PWD", "OLDPWD", "SHLVL", "_"] {
        env.remove(own);
    }
    env
}

#[test]
fn a_service_environment_round_trips_through_eval_in_bash() {
    let fleet = awkward_fleet();
    let mut expected = configured_env(&fleet, Some("svc"));
    // Sanity: the configuration itself resolved the awkward values as written.
    assert_eq!(expected["SINGLE"], "it's a 'quoted' value");
    assert_eq!(expected["BACKSLASHES"], r"C:\dir\n\t \\ end\");
    assert_eq!(expected["NEWLINES"], "first\nsecond\n\nfourth\n");
    assert_eq!(expected["MIXED"], "it's \"$x\" `y` \\z $(w)");
    assert_eq!(expected["FROM_FILE"], "a value from a file, it's here");
    assert_eq!(expected["LEVEL"], "service", "the service's env wins");
    assert_eq!(expected["INTERPOLATED"], "global-and-global");
    // Replica 0 as it would run: its identity and port come on top.
    expected.insert("ORCHESTRA_SERVICE".into(), "svc".into());
    expected.insert("ORCHESTRA_REPLICA".into(), "0".into());
    expected.insert("PORT".into(), "4100".into());

    assert_eq!(evaluated(&fleet, "svc"), expected);
    for pwned in ["pwned-by-subst", "pwned-by-backticks"] {
        assert!(
            !fleet.path(pwned).exists(),
            "eval ran a command from a value: {pwned}"
        );
    }
}

#[test]
fn the_project_environment_round_trips_without_a_service() {
    let fleet = awkward_fleet();
    let expected = configured_env(&fleet, None);
    assert_eq!(expected["LEVEL"], "global");
    assert!(!expected.contains_key("SVC_ONLY"));
    assert_eq!(evaluated(&fleet, ""), expected);
}

#[test]
fn hook_output_stays_off_stdout() {
    let fleet = awkward_fleet();
    let out = fleet.cmd(["export", "svc"]).assert_success();
    assert!(
        !out.stdout.contains("polluting"),
        "hook output on stdout: {out}"
    );
    for hook in [
        "polluting-before",
        "polluting-section-before",
        "polluting-after",
    ] {
        assert!(
            out.stderr.contains(hook),
            "the {hook} hook did not run: {out}"
        );
    }
    // Every line is an export or the continuation of a quoted multi-line value.
    let first_words: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("export "))
        .collect();
    assert_eq!(
        first_words.len(),
        configured_env(&fleet, Some("svc")).len() + 3
    );
}

#[test]
fn export_of_an_unknown_service_fails_without_output() {
    let fleet = awkward_fleet();
    let out = fleet.cmd(["export", "svx"]).run();
    super::assert_clean_failure(&out, 2);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("did you mean `svc`?"), "{out}");
    assert!(
        !out.stderr.contains("polluting"),
        "hooks ran for a command that could not run: {out}"
    );
}
