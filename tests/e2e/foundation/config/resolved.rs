//! What `config` prints for a good configuration: the resolved fleet (Go defaults, env
//! precedence) as JSON, and YAML in the files' own syntax that loads again.

use orchestra_tests::Fleet;
use serde_json::json;

use crate::foundation::json;

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
