//! `orchestra config`: the resolved fleet (Go defaults, env precedence) on success; on a bad
//! configuration, exit 2 with every problem located, shown and explained, never a panic;
//! colour only on a terminal and never when asked not to.
//!
//! The located errors, as snapshots, are here beside the fixtures the submodules share.

mod colour;
mod env;
mod refused;
mod resolved;

use orchestra_tests::Fleet;

use super::{assert_clean_failure, snapshots};

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
