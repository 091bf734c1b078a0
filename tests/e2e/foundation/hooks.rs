//! `before` and `after` hooks: run with `sh -c` in the project folder with the merged
//! environment, global ones and the command's own; a failing `before` stops the command.

use orchestra_tests::Fleet;

use super::assert_clean_failure;

/// Each hook appends a line to `hooks.log` (relative: so it lands in the hook's folder).
const HOOKED_YML: &str = r#"env:
  SOME_VAR: "global value with 'quotes' and spaces"
before:
  - 'printf "global-before|%s|%s|%s\n" "$PWD" "$SOME_VAR" "${SECTION_VAR:-unset}" >> hooks.log'
after:
  - 'echo global-after >> hooks.log'
export:
  env: { SECTION_VAR: from-the-export-section }
  before:
    - 'printf "export-before|%s|%s\n" "$PWD" "$SECTION_VAR" >> hooks.log'
    - ["sh", "-c", "echo list-form-before >> hooks.log"]
  after: ['echo export-after >> hooks.log']
start:
  before: ['echo start-before >> hooks.log']
"#;

#[test]
fn hooks_run_in_order_in_the_project_folder_with_the_merged_env() {
    let fleet = Fleet::new()
        .orchestra_yml(HOOKED_YML)
        .service("svc", "run: sleep 60\n")
        .file("svc/sub/.keep", "");
    // Run from deep inside a service: hooks still run in the project folder.
    let out = fleet
        .cmd(["export"])
        .current_dir(fleet.path("svc/sub"))
        .assert_success();
    assert!(
        out.stdout
            .contains("export SECTION_VAR='from-the-export-section'"),
        "{out}"
    );
    assert!(!fleet.path("svc/sub/hooks.log").exists());

    let root = fleet.root().display();
    let expected = format!(
        "global-before|{root}|global value with 'quotes' and spaces|from-the-export-section\n\
         export-before|{root}|from-the-export-section\n\
         list-form-before\n\
         global-after\n\
         export-after\n"
    );
    assert_eq!(
        fleet.read("hooks.log"),
        expected,
        "hooks of other commands must not run"
    );
}

#[test]
fn a_failing_before_hook_aborts_the_command_and_shows_why() {
    let fleet = Fleet::new()
        .orchestra_yml(
            "test:\n  before:\n    - 'echo the hook says no; echo on-its-stderr >&2; exit 7'\n    \
             - 'touch second-hook-ran'\n  after: ['touch after-hook-ran']\n",
        )
        .service("svc", "run: sleep 60\ntest: 'touch test-ran'\n");
    let out = fleet.cmd(["test"]).run();
    assert_clean_failure(&out, 1);
    for shown in ["the hook says no", "on-its-stderr", "exit 7", "before hook"] {
        assert!(out.stderr.contains(shown), "`{shown}` not on stderr: {out}");
    }
    for absent in ["svc/test-ran", "second-hook-ran", "after-hook-ran"] {
        assert!(
            !fleet.path(absent).exists(),
            "{absent} exists: the command went on"
        );
    }
}

#[test]
fn a_failing_before_hook_leaves_export_without_output() {
    let fleet = Fleet::new()
        .orchestra_yml("env: { A: b }\nbefore: ['exit 3']\n")
        .service("svc", "run: sleep 60\n");
    let out = fleet.cmd(["export", "svc"]).run();
    assert_clean_failure(&out, 1);
    assert_eq!(out.stdout, "", "export printed despite its failed hook");
}

#[test]
fn a_failing_after_hook_fails_the_command_once_it_has_run() {
    let fleet = Fleet::new()
        .orchestra_yml("after: ['echo cleanup failed; exit 4']\n")
        .service("svc", "run: sleep 60\ntest: 'touch test-ran'\n");
    let out = fleet.cmd(["test"]).run();
    assert_clean_failure(&out, 1);
    assert!(
        fleet.path("svc/test-ran").exists(),
        "the command did not run: {out}"
    );
    assert!(
        out.stderr.contains("cleanup failed") && out.stderr.contains("after hook"),
        "{out}"
    );
}
