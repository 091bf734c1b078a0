//! `orchestra init`: a commented orchestra.yml that loads, the services it detects, the
//! service.yml files of `--services`, `.orchestra/` ignored once, and no overwriting
//! without `--force`.

use orchestra_tests::{Fleet, redact};

use super::{assert_clean_failure, json, snapshots};

/// A folder with three services to detect (a Go module, a bare main package, a folder that
/// already has a service.yml) and three folders that are not services (a library package,
/// a hidden folder, a folder of notes).
fn unconfigured_project() -> Fleet {
    Fleet::new()
        .file("web/service.yml", WEB_YML)
        .file("gomod/go.mod", "module example.com/gomod\n\ngo 1.19\n")
        .file("mainpkg/main.go", "package main\n\nfunc main() {}\n")
        .file("library/lib.go", "package library\n")
        .file(".hidden/go.mod", "module example.com/hidden\n")
        .file("notes/README.md", "not a service\n")
        .file(".gitignore", "node_modules/\n")
}

const WEB_YML: &str = "run: ./serve.sh\nport: 4242\n";

fn gitignore_lines(fleet: &Fleet) -> Vec<String> {
    fleet
        .read(".gitignore")
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn init_writes_a_commented_project_file_lists_services_and_ignores_the_state_folder() {
    let fleet = unconfigured_project();
    let out = fleet.cmd(["init"]).assert_success();
    snapshots().bind(|| insta::assert_snapshot!(redact(&out.stdout, &fleet)));

    let yml = fleet.read("orchestra.yml");
    assert!(
        yml.lines()
            .all(|l| l.trim().is_empty() || l.starts_with('#')),
        "orchestra.yml should be all comments, a valid empty project:\n{yml}"
    );
    for key in ["env:", "services:", "vendors:", "before:"] {
        assert!(
            yml.contains(key),
            "the template does not show `{key}`:\n{yml}"
        );
    }
    assert_eq!(gitignore_lines(&fleet), ["node_modules/", ".orchestra/"]);
    assert!(
        !fleet.path("gomod/service.yml").exists(),
        "only --services writes service.yml"
    );
    // What init wrote loads: the project is valid as it stands, with the one folder that
    // has a service.yml as its only service.
    let config = json(&fleet.cmd(["config", "--json"]).assert_success());
    let services: Vec<&String> = config["services"]
        .as_object()
        .expect("a map")
        .keys()
        .collect();
    assert_eq!(services, ["web"]);
}

#[test]
fn init_services_writes_a_service_file_in_each_detected_folder() {
    let fleet = unconfigured_project();
    let out = fleet.cmd(["init", "--services"]).assert_success();
    assert!(out.stdout.contains("wrote service.yml"), "{out}");
    for dir in ["gomod", "mainpkg"] {
        assert!(
            fleet.path(dir).join("service.yml").is_file(),
            "no {dir}/service.yml"
        );
    }
    for dir in ["library", ".hidden", "notes"] {
        assert!(
            !fleet.path(dir).join("service.yml").exists(),
            "{dir} is not a service"
        );
    }
    let config = json(&fleet.cmd(["config", "--json"]).assert_success());
    let services = config["services"].as_object().expect("services is a map");
    let names: Vec<&String> = services.keys().collect();
    assert_eq!(names, ["gomod", "mainpkg", "web"]);
    for name in ["gomod", "mainpkg"] {
        assert_eq!(services[name]["kind"], "go", "{config:#}");
    }
    assert_eq!(
        fleet.read("web/service.yml"),
        WEB_YML,
        "init rewrote a service.yml"
    );
}

#[test]
fn init_force_never_replaces_an_existing_service_file() {
    // --force is about orchestra.yml: a service.yml holds the service's own settings, and
    // the template would turn this non-Go service into an invalid one.
    let fleet = unconfigured_project();
    fleet.cmd(["init", "--services"]).assert_success();
    fleet.write("gomod/service.yml", "port: 4300\n");
    let out = fleet
        .cmd(["init", "--force", "--services"])
        .assert_success();
    assert_eq!(fleet.read("web/service.yml"), WEB_YML, "{out}");
    assert_eq!(fleet.read("gomod/service.yml"), "port: 4300\n", "{out}");
    let config = json(&fleet.cmd(["config", "--json"]).assert_success());
    assert_eq!(config["services"]["web"]["port"], 4242);
    assert_eq!(config["services"]["gomod"]["port"], 4300);
}

#[test]
fn init_refuses_to_overwrite_without_force() {
    let mine = "env: { MINE: \"yes\" }\n";
    let fleet = unconfigured_project().orchestra_yml(mine);
    let out = fleet.cmd(["init"]).run();
    assert_clean_failure(&out, 2);
    assert!(out.stderr.contains("already exists"), "{out}");
    assert!(out.stderr.contains("--force"), "no hint at --force: {out}");
    assert_eq!(fleet.read("orchestra.yml"), mine, "init changed the file");
    assert_eq!(
        gitignore_lines(&fleet),
        ["node_modules/"],
        "init went on after refusing"
    );

    // orchestra.yaml counts too: two project files side by side would be ambiguous.
    let fleet = unconfigured_project().file("orchestra.yaml", mine);
    assert_clean_failure(&fleet.cmd(["init"]).run(), 2);
    assert!(!fleet.path("orchestra.yml").exists());
}

#[test]
fn init_with_force_twice_adds_the_state_folder_to_gitignore_once() {
    let fleet = unconfigured_project().orchestra_yml("env: { OLD: \"1\" }\n");
    fleet
        .cmd(["init", "--force", "--services"])
        .assert_success();
    let out = fleet
        .cmd(["init", "--force", "--services"])
        .assert_success();
    assert!(!out.stdout.contains("added .orchestra/"), "{out}");
    assert_eq!(gitignore_lines(&fleet), ["node_modules/", ".orchestra/"]);
    assert!(
        !fleet.read("orchestra.yml").contains("OLD"),
        "--force did not overwrite"
    );
    fleet.cmd(["config"]).assert_success();
}

#[test]
fn init_appends_to_a_gitignore_without_a_final_newline_and_creates_a_missing_one() {
    let fleet = Fleet::new().file(".gitignore", "target");
    fleet.cmd(["init"]).assert_success();
    assert_eq!(fleet.read(".gitignore"), "target\n.orchestra/\n");

    let fleet = Fleet::new();
    let out = fleet.cmd(["init"]).assert_success();
    assert!(out.stdout.contains("no services found"), "{out}");
    assert_eq!(fleet.read(".gitignore"), ".orchestra/\n");
}

#[test]
fn init_leaves_an_existing_ignore_rule_alone() {
    let fleet = Fleet::new().file(".gitignore", "/.orchestra\n*.log\n");
    fleet.cmd(["init"]).assert_success();
    assert_eq!(fleet.read(".gitignore"), "/.orchestra\n*.log\n");
}

#[test]
fn init_services_adds_service_files_to_a_project_that_has_its_orchestra_yml() {
    // `orchestra init` points at `init --services`, which must then work in that project.
    let mine = "env: { MINE: \"yes\" }\n";
    let fleet = unconfigured_project();
    let first = fleet.cmd(["init"]).assert_success();
    assert!(
        first.stdout.contains("orchestra init --services"),
        "{first}"
    );
    fleet.write("orchestra.yml", mine);

    let out = fleet.cmd(["init", "--services"]).assert_success();
    assert!(out.stdout.contains("kept"), "{out}");
    assert_eq!(
        fleet.read("orchestra.yml"),
        mine,
        "--services replaced the project file"
    );
    for dir in ["gomod", "mainpkg"] {
        assert!(
            fleet.path(dir).join("service.yml").is_file(),
            "no {dir}/service.yml: {out}"
        );
    }
    assert_eq!(fleet.read("web/service.yml"), WEB_YML);
    let config = json(&fleet.cmd(["config", "--json"]).assert_success());
    assert_eq!(config["services"]["gomod"]["env"]["MINE"], "yes");
}
