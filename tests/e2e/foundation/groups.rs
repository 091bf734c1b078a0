//! `groups:` in orchestra.yml: `@group` selects its services wherever a service name is
//! accepted, `~@group` leaves them out; a bad group is located in the file; completions
//! and the schema know groups.

use orchestra_tests::{Fleet, PATIENCE, wait_until};

use super::{assert_clean_failure, json};

const GROUPS: &str = "groups:\n  backend: [users, orders]\n  edge: [gateway]\n";

/// Three services in two groups, whose tests say who they are and whose replicas print
/// their name once started.
fn shop() -> Fleet {
    ["users", "orders", "gateway"].into_iter().fold(
        Fleet::new().orchestra_yml(GROUPS),
        |fleet, name| {
            fleet.service(
                name,
                "run: \"echo up $ORCHESTRA_SERVICE; exec sleep 60\"\n\
                 test: \"echo tested $ORCHESTRA_SERVICE\"\n",
            )
        },
    )
}

/// The services `test ARGS` ran, from its summary table.
fn tested(fleet: &Fleet, args: &[&str]) -> Vec<String> {
    let out = fleet.cmd(["test"].iter().chain(args)).assert_success();
    let mut names: Vec<String> = out
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("SERVICE"))
        .skip(1)
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect();
    names.sort();
    names
}

/// The services `ps --json` shows as running.
fn running(fleet: &Fleet) -> Vec<String> {
    let rows = json(&fleet.cmd(["ps", "--json"]).assert_success());
    let mut names: Vec<String> = rows
        .as_array()
        .expect("an array")
        .iter()
        .filter(|r| r["state"] == "running")
        .filter_map(|r| r["service"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

#[test]
fn a_group_selects_its_services_and_a_tilde_leaves_them_out() {
    let fleet = shop();
    assert_eq!(tested(&fleet, &["@backend"]), ["orders", "users"]);
    assert_eq!(tested(&fleet, &["~@backend"]), ["gateway"]);
    assert_eq!(tested(&fleet, &["@edge", "users"]), ["gateway", "users"]);
    assert_eq!(tested(&fleet, &["~@edge", "~users"]), ["orders"]);
    let out = fleet.cmd(["test", "@edge", "~users"]).run();
    assert_clean_failure(&out, 2);
    assert!(out.stderr.contains("cannot mix"), "{out}");
}

#[test]
fn start_stop_and_logs_take_groups() {
    let fleet = shop();
    fleet.cmd(["start", "@backend"]).assert_success();
    assert_eq!(running(&fleet), ["orders", "users"]);
    wait_until(PATIENCE, "the backend's first lines", || {
        let out = fleet.cmd(["logs", "@backend"]).assert_success();
        out.stdout.contains("up users") && out.stdout.contains("up orders")
    });
    fleet.cmd(["start", "@edge"]).assert_success();
    assert_eq!(running(&fleet), ["gateway", "orders", "users"]);
    let logs = fleet.cmd(["logs", "~@backend"]).assert_success();
    assert!(!logs.stdout.contains("up users"), "{logs}");

    fleet.cmd(["stop", "~@edge"]).assert_success();
    assert_eq!(running(&fleet), ["gateway"]);
    fleet.cmd(["restart", "@edge"]).assert_success();
    assert_eq!(running(&fleet), ["gateway"]);
    fleet.cmd(["stop", "@edge"]).assert_success();
    assert_eq!(running(&fleet), Vec::<String>::new());
}

#[test]
fn an_unknown_group_suggests_the_closest_and_where_it_is_defined() {
    let fleet = shop();
    let out = fleet.cmd(["start", "@backnd"]).run();
    assert_clean_failure(&out, 2);
    assert!(out.stderr.contains("no group named `@backnd`"), "{out}");
    assert!(
        out.stderr
            .contains("did you mean `@backend`? (defined at orchestra.yml:2)"),
        "{out}"
    );
    let out = fleet.cmd(["ps", "~@nothing-like-it"]).run();
    assert_clean_failure(&out, 2);
    assert!(
        out.stderr
            .contains("@backend (orchestra.yml:2), @edge (orchestra.yml:3)"),
        "{out}"
    );
}

#[test]
fn a_group_naming_no_service_is_a_located_config_error() {
    let fleet = shop().orchestra_yml("groups:\n  backend: [users, ordres]\n");
    let out = fleet.cmd(["config"]).run();
    assert_clean_failure(&out, 2);
    assert!(
        out.stderr
            .contains("group `backend` names `ordres`, which is not a service"),
        "{out}"
    );
    assert!(out.stderr.contains("orchestra.yml:2:"), "{out}");
    assert!(out.stderr.contains("did you mean `orders`?"), "{out}");
    // Nothing starts from a project whose groups are wrong.
    let out = fleet.cmd(["start", "users"]).run();
    assert_clean_failure(&out, 2);

    let fleet = shop().orchestra_yml("groups:\n  bad.name: [users]\n");
    let out = fleet.cmd(["config"]).run();
    assert_clean_failure(&out, 2);
    assert!(out.stderr.contains("not a valid group name"), "{out}");
}

#[test]
fn completions_offer_groups_and_their_exclusions() {
    let fleet = shop();
    let complete = |words: &[&str]| -> Vec<String> {
        let out = fleet
            .cmd(["--", "orchestra"].iter().chain(words))
            .env("COMPLETE", "fish")
            .assert_success();
        out.stdout
            .lines()
            .map(|l| l.split('\t').next().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(complete(&["start", "@b"]), ["@backend"]);
    assert_eq!(complete(&["logs", "~@"]), ["~@backend", "~@edge"]);
    assert!(complete(&["stop", ""]).contains(&"@edge".to_owned()));
}

#[test]
fn config_and_the_schema_know_groups() {
    let fleet = shop();
    let out = fleet.cmd(["config"]).assert_success();
    assert!(
        out.stdout
            .contains("groups:\n  backend:\n  - users\n  - orders\n  edge:\n  - gateway\n"),
        "{out}"
    );
    let schema = json(&fleet.cmd(["schema"]).assert_success());
    let groups = &schema["properties"]["groups"];
    assert!(groups.is_object(), "no groups in the schema: {schema}");
    let resolved = if let Some(r) = groups["$ref"].as_str() {
        let name = r.trim_start_matches("#/$defs/");
        &schema["$defs"][name]
    } else {
        groups
    };
    assert_eq!(
        resolved["additionalProperties"]["description"],
        "the services of the group"
    );
}
