//! `orchestra schema`: every example and fixture file matches the JSON Schema it prints
//! (checked by check-jsonschema), files with a wrong key or shape fail both the schema and
//! the parser, and `init` points editors at the schemas it writes.

use std::path::{Path, PathBuf};

use orchestra_tests::{
    Cmd, Fleet, Output, examples_dir, orchestra_bin, python_tool, workspace_root,
};

use super::assert_clean_failure;

/// The folders holding example and fixture projects.
const FIXTURE_ROOTS: &[&str] = &[
    "examples",
    "tests/fixtures",
    "orchestra-config/tests/fixtures",
];

/// The fixture project that is wrong on purpose (the `validate` example's bad input): the
/// schema must reject it rather than match it.
const BROKEN_FIXTURE: &str = "orchestra-config/tests/fixtures/broken";

/// Every orchestra.yml and service.yml under `dir`, split in (project files, service files).
fn config_files(dir: &Path, out: &mut (Vec<PathBuf>, Vec<PathBuf>)) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path == workspace_root().join(BROKEN_FIXTURE) {
            continue;
        }
        if path.is_dir() && !name.starts_with('.') {
            config_files(&path, out);
        } else if matches!(name.as_str(), "orchestra.yml" | "orchestra.yaml") {
            out.0.push(path);
        } else if matches!(name.as_str(), "service.yml" | "service.yaml") {
            out.1.push(path);
        }
    }
}

/// `orchestra schema [ARGS]` written to `fleet`'s `name`.
fn schema_file(fleet: &Fleet, name: &str, args: &[&str]) -> PathBuf {
    let mut cmd = vec!["schema"];
    cmd.extend_from_slice(args);
    let out = fleet.cmd(cmd).assert_success();
    fleet.write(name, &out.stdout);
    fleet.path(name)
}

/// check-jsonschema of `files` against `schema`.
fn check(schema: &Path, files: &[PathBuf], cwd: &Path) -> Output {
    let mut args = vec!["--schemafile".to_owned(), schema.display().to_string()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    Cmd::new(python_tool("check-jsonschema"), args, cwd).run()
}

#[test]
fn every_example_and_fixture_file_matches_the_schema() {
    let fleet = Fleet::new();
    let project = schema_file(&fleet, "orchestra.schema.json", &[]);
    let service = schema_file(&fleet, "service.schema.json", &["--service"]);
    let mut files = (Vec::new(), Vec::new());
    for dir in FIXTURE_ROOTS {
        config_files(&workspace_root().join(dir), &mut files);
    }
    let (projects, services) = files;
    assert!(
        projects.len() >= 3 && services.len() >= 9,
        "expected the example and fixture projects, found {projects:?} and {services:?}"
    );
    for (schema, files) in [(&project, &projects), (&service, &services)] {
        let out = check(schema, files, fleet.root());
        assert_eq!(out.code(), Some(0), "{}: {out}", schema.display());
    }
    // The broken fixture's `depend_on` typo is caught by the schema as by the parser.
    let broken = workspace_root()
        .join(BROKEN_FIXTURE)
        .join("api/service.yml");
    let out = check(&service, &[broken], fleet.root());
    assert_eq!(out.code(), Some(1), "the broken fixture matched: {out}");
    assert!(out.to_string().contains("depend_on"), "{out}");
    // And the parser takes each project as it stands, so the files checked are valid ones
    // (orchestra-config's shop fixture reads `$SHOP` from Orchestra's environment).
    for file in &projects {
        let dir = file.parent().expect("a folder");
        Cmd::new(
            orchestra_bin(),
            ["-c", &file.display().to_string(), "config", "--json"],
            dir,
        )
        .env("SHOP", "fixture")
        .assert_success();
    }
}

/// A line added to a copy of the shop's files, and what both the schema and the parser
/// must say about it.
const MUTATIONS: &[(&str, &str, &str)] = &[
    ("orchestra.yml", "servces: [\"*\"]\n", "servces"),
    ("orchestra.yml", "acceptance: []\n", "acceptance"),
    ("users/service.yml", "depend_on: [orders]\n", "depend_on"),
    ("users/service.yml", "rerun: sometimes\n", "rerun"),
    ("users/service.yml", "docker: { image: x, tag: y }\n", "tag"),
    ("users/service.yml", "stop_signal: 15\n", "stop_signal"),
    ("users/service.yml", "scale: 1001\n", "scale"),
    ("users/service.yml", "watch: { go: \"*.go\" }\n", "watch"),
];

#[test]
fn a_file_with_an_unknown_key_or_a_wrong_shape_fails_both_the_schema_and_the_parser() {
    for (file, line, word) in MUTATIONS {
        let fleet = Fleet::new().copy_dir(examples_dir().join("shop"), ".");
        let project = schema_file(&fleet, "orchestra.schema.json", &[]);
        let service = schema_file(&fleet, "service.schema.json", &["--service"]);
        let schema = if file.ends_with("service.yml") {
            &service
        } else {
            &project
        };
        // The unmutated file passes, so what fails below is the mutation.
        let before = check(schema, &[fleet.path(file)], fleet.root());
        assert_eq!(
            before.code(),
            Some(0),
            "{file} before the mutation: {before}"
        );

        let mut text = fleet.read(file);
        text.push_str(line);
        fleet.write(file, text);
        let out = check(schema, &[fleet.path(file)], fleet.root());
        assert_eq!(
            out.code(),
            Some(1),
            "the schema accepted {line:?} in {file}: {out}"
        );
        let parsed = fleet.cmd(["config"]).run();
        assert_clean_failure(&parsed, 2);
        assert!(
            parsed.stderr.contains(word),
            "the parser's complaint about {line:?} does not name `{word}`: {parsed}"
        );
    }
}

#[test]
fn init_points_editors_at_schemas_that_match_orchestra_schema() {
    let fleet = Fleet::new().file("api/main.go", "package main\n\nfunc main() {}\n");
    fleet.cmd(["init", "--services"]).assert_success();
    let project = fleet.read("orchestra.yml");
    assert_eq!(
        project.lines().next(),
        Some("# yaml-language-server: $schema=.orchestra/orchestra.schema.json"),
        "{project}"
    );
    let service = fleet.read("api/service.yml");
    assert_eq!(
        service.lines().next(),
        Some("# yaml-language-server: $schema=../.orchestra/service.schema.json"),
        "{service}"
    );
    let printed = fleet.cmd(["schema"]).assert_success().stdout;
    assert_eq!(fleet.read(".orchestra/orchestra.schema.json"), printed);
    let printed = fleet.cmd(["schema", "--service"]).assert_success().stdout;
    assert_eq!(fleet.read(".orchestra/service.schema.json"), printed);
    for (schema, file) in [
        ("orchestra.schema.json", "orchestra.yml"),
        ("service.schema.json", "api/service.yml"),
    ] {
        let out = check(
            &fleet.path(".orchestra").join(schema),
            &[fleet.path(file)],
            fleet.root(),
        );
        assert_eq!(out.code(), Some(0), "{file}: {out}");
    }

    // Removed (a fresh clone, `git clean`), `schema --write` brings them back.
    std::fs::remove_file(fleet.path(".orchestra/orchestra.schema.json")).expect("remove");
    fleet.cmd(["schema", "--write"]).assert_success();
    assert_eq!(
        fleet.read(".orchestra/orchestra.schema.json"),
        fleet.cmd(["schema"]).assert_success().stdout
    );
}

#[test]
fn vendors_take_compose_port_forms() {
    let dir = workspace_root().join("tests/fixtures/every-key");
    let out = Cmd::new(orchestra_bin(), ["config", "--json"], &dir).assert_success();
    let config: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    let ports: Vec<(u64, u64)> = config["vendors"]["cache"]["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .map(|p| {
            let n = |k: &str| p[k].as_u64().expect("a port");
            (n("host"), n("container"))
        })
        .collect();
    // "127.0.0.1:38601:6379", "38602", "38603/tcp", and the long form.
    assert_eq!(
        ports,
        [(38601, 6379), (38602, 38602), (38603, 38603), (38604, 6380)]
    );
}
