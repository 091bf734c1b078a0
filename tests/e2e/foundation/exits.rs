//! Exit codes of the contract: 0 success, 1 something the user ran failed, 2 bad usage or
//! configuration — including commands and flags that are declared but not built yet.

use orchestra_tests::Fleet;

use super::assert_clean_failure;

#[test]
fn no_command_is_a_usage_error_that_shows_the_usage() {
    let out = Fleet::new().cmd(Vec::<&str>::new()).run();
    assert_clean_failure(&out, 2);
    assert!(out.stderr.contains("Usage: orchestra"), "{out}");
}

#[test]
fn help_and_version_succeed_on_stdout() {
    let fleet = Fleet::new();
    for args in [
        &["--help"][..],
        &["-h"],
        &["help"],
        &["help", "test"],
        &["test", "--help"],
    ] {
        let out = fleet.cmd(args).assert_success();
        assert!(out.stdout.contains("Usage: orchestra"), "{args:?}: {out}");
    }
    let long = fleet.cmd(["init", "--help"]).assert_success();
    assert!(
        long.stdout.contains("Examples:"),
        "long help has examples: {long}"
    );
    for flag in ["--version", "-V"] {
        let out = fleet.cmd([flag]).assert_success();
        assert!(out.stdout.starts_with("orchestra "), "{out}");
        assert!(
            out.stdout
                .trim()
                .rsplit(' ')
                .next()
                .is_some_and(|v| v.contains('.')),
            "{out}"
        );
    }
}

#[test]
fn unknown_commands_and_flags_are_usage_errors() {
    let fleet = Fleet::new().orchestra_yml("");
    for args in [
        &["strat"][..],
        &["start", "--bogus"],
        &["test", "-j", "many"],
        &["scale", "x"],
    ] {
        let out = fleet.cmd(args).run();
        assert_clean_failure(&out, 2);
        assert!(out.stderr.contains("error:"), "{args:?}: {out}");
    }
    let out = fleet.cmd(["strat"]).run();
    assert!(
        out.stderr.contains("start"),
        "a similar command is suggested: {out}"
    );
}

#[test]
fn a_whole_fleet_export_naming_a_service_is_refused_with_exit_2() {
    let fleet = Fleet::new()
        .orchestra_yml("")
        .service("svc", "run: sleep 60\n");
    for format in ["compose", "kubernetes"] {
        let out = fleet.cmd(["export", "svc", "--format", format]).run();
        assert_clean_failure(&out, 2);
        assert!(
            out.stderr.contains("exports the whole fleet, not `svc`"),
            "{format}: {out}"
        );
        assert_eq!(out.stdout, "", "{format}: {out}");
    }
}
