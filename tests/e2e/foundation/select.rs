//! Choosing services on the command line (`name`, `~name`) and finding the project
//! (walking up, `-C`, `-c`, `ORCHESTRA_CONFIG`). `orchestra test` with shell tests shows
//! which services a selection picked: its summary names each one it ran.

use orchestra_tests::{Cmd, Fleet, orchestra_bin};

use super::assert_clean_failure;

/// Three services whose tests pass at once and say who they are.
fn trio() -> Fleet {
    ["users", "orders", "gateway"].into_iter().fold(
        Fleet::new().orchestra_yml(""),
        |fleet, name| {
            fleet.service(
                name,
                "run: sleep 60\ntest: \"echo tested $ORCHESTRA_SERVICE\"\n",
            )
        },
    )
}

/// The services `test ARGS` ran, from its summary table.
fn tested(fleet: &Fleet, args: &[&str]) -> Vec<String> {
    let out = fleet.cmd(["test"].iter().chain(args)).assert_success();
    summary_names(&out.stdout)
}

fn summary_names(stdout: &str) -> Vec<String> {
    let mut names: Vec<String> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("SERVICE"))
        .skip(1)
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect();
    names.sort();
    names
}

#[test]
fn names_select_and_tilde_excludes() {
    let fleet = trio();
    assert_eq!(tested(&fleet, &[]), ["gateway", "orders", "users"]);
    assert_eq!(tested(&fleet, &["users", "gateway"]), ["gateway", "users"]);
    assert_eq!(tested(&fleet, &["~gateway"]), ["orders", "users"]);
    assert_eq!(tested(&fleet, &["~gateway", "~users"]), ["orders"]);
}

#[test]
fn mixing_names_and_exclusions_is_a_usage_error() {
    let fleet = trio();
    let out = fleet.cmd(["test", "users", "~orders"]).run();
    assert_clean_failure(&out, 2);
    assert!(out.stderr.contains("cannot mix"), "{out}");
    assert!(!out.stdout.contains("tested"), "tests ran anyway: {out}");
}

#[test]
fn an_unknown_name_suggests_the_closest() {
    let fleet = trio();
    for (arg, suggestion) in [("user", "users"), ("~ordres", "orders")] {
        let out = fleet.cmd(["test", arg]).run();
        assert_clean_failure(&out, 2);
        assert!(
            out.stderr.contains(&format!("did you mean `{suggestion}`")),
            "{arg}: {out}"
        );
    }
}

#[test]
fn the_project_is_found_by_walking_up_from_a_subfolder() {
    let fleet = trio().file("users/internal/deep/.keep", "");
    let out = fleet
        .cmd(["test", "users"])
        .current_dir(fleet.path("users/internal/deep"))
        .assert_success();
    assert_eq!(summary_names(&out.stdout), ["users"]);
}

#[test]
fn dash_c_big_changes_folder_first() {
    let fleet = trio().file("elsewhere/.keep", "");
    // From outside any project, -C points at the project…
    let outside = Fleet::new();
    let root = fleet.root().display().to_string();
    let out = Cmd::new(
        orchestra_bin(),
        ["-C", &root, "test", "orders"],
        outside.root(),
    )
    .assert_success();
    assert_eq!(summary_names(&out.stdout), ["orders"]);
    // …and from inside, -C to a subfolder still walks up to the same project.
    fleet
        .cmd(["-C", "elsewhere", "test", "orders"])
        .assert_success();
}

#[test]
fn dash_c_to_a_missing_folder_says_so() {
    let out = Fleet::new()
        .cmd(["-C", "/nonexistent/folder", "config"])
        .run();
    assert_clean_failure(&out, 2);
    assert!(
        out.stderr.contains("/nonexistent/folder") && out.stderr.contains("-C"),
        "{out}"
    );
}

#[test]
fn an_explicit_config_file_by_flag_or_environment() {
    let fleet = trio();
    let file = fleet.path("orchestra.yml").display().to_string();
    let outside = Fleet::new();
    let by_flag = Cmd::new(
        orchestra_bin(),
        ["-c", &file, "test", "users"],
        outside.root(),
    )
    .assert_success();
    assert_eq!(summary_names(&by_flag.stdout), ["users"]);
    let by_env = Cmd::new(orchestra_bin(), ["test", "gateway"], outside.root())
        .env("ORCHESTRA_CONFIG", &file)
        .assert_success();
    assert_eq!(summary_names(&by_env.stdout), ["gateway"]);

    let missing = Cmd::new(orchestra_bin(), ["config"], outside.root())
        .env("ORCHESTRA_CONFIG", outside.path("nope.yml"))
        .run();
    assert_clean_failure(&missing, 2);
    assert!(missing.stderr.contains("nope.yml"), "{missing}");
}

#[test]
fn outside_any_project_the_error_points_at_init() {
    let out = Fleet::new().cmd(["config"]).run();
    assert_clean_failure(&out, 2);
    assert!(out.stderr.contains("no orchestra.yml"), "{out}");
    assert!(out.stderr.contains("orchestra init"), "{out}");
}
