//! `orchestra test --affected` in a real git repository: the Go monorepo fixture (users
//! imports pkg/auth, orders imports pkg/billing which imports pkg/auth, web neither) with a
//! shell service beside it, its history made with git itself.

use orchestra_tests::{Cmd, Fleet, Output, require_go};

/// The monorepo fixture as a git repository on `main` with everything committed, then on a
/// branch `feature`; `tool` is a non-Go service whose tests are a shell command.
fn repository() -> Fleet {
    require_go();
    let fleet = Fleet::new()
        .orchestra_yml("services: [\"cmd/*\", \"tools/*\"]\n")
        .copy_dir(orchestra_tests::fixture_dir("monorepo"), "")
        .file("cmd/users/service.yml", "")
        .file("cmd/orders/service.yml", "")
        .file("cmd/web/service.yml", "")
        .file(
            "tools/lint/service.yml",
            "run: sleep 1000\ntest: \"true\"\nwatch: [\"*.sh\"]\n",
        )
        .file("tools/lint/lint.sh", "echo lint\n");
    git(&fleet, &["init", "-q", "-b", "main"]);
    commit_all(&fleet, "the monorepo");
    git(&fleet, &["checkout", "-q", "-b", "feature"]);
    fleet
}

fn git(fleet: &Fleet, args: &[&str]) -> Output {
    Cmd::new("git", args, fleet.root())
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .assert_success()
}

fn commit_all(fleet: &Fleet, message: &str) {
    git(fleet, &["add", "-A"]);
    git(fleet, &["commit", "-q", "-m", message]);
}

/// What `test --affected --list` prints, one service a line.
fn listed(fleet: &Fleet, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["test", "--affected", "--list"];
    args.extend_from_slice(extra);
    let out = fleet.cmd(args).assert_success();
    out.stdout.lines().map(str::to_owned).collect()
}

#[test]
fn an_edit_in_a_shared_package_lists_exactly_its_importers() {
    let fleet = repository();
    assert_eq!(
        listed(&fleet, &[]),
        Vec::<String>::new(),
        "nothing changed yet"
    );

    // Uncommitted: pkg/auth is imported by users, and by orders through pkg/billing.
    fleet.write(
        "pkg/auth/token.go",
        "package auth\n\nconst Token = \"a2\"\n",
    );
    assert_eq!(listed(&fleet, &[]), ["orders", "users"]);

    // Committed on the branch: still affected, since the merge base with main.
    commit_all(&fleet, "auth: a2");
    assert_eq!(listed(&fleet, &[]), ["orders", "users"]);
    assert_eq!(listed(&fleet, &["--since", "HEAD"]), Vec::<String>::new());

    // A package nobody imports, a test file of the shared package, a non-Go service's file.
    fleet.write(
        "pkg/unused/unused.go",
        "package unused\n\nconst Unused = 2\n",
    );
    assert_eq!(listed(&fleet, &["--since", "HEAD"]), Vec::<String>::new());
    fleet.write(
        "pkg/billing/billing_test.go",
        "package billing\n\nimport \"testing\"\n\nfunc TestNothing(t *testing.T) {}\n",
    );
    fleet.write("tools/lint/lint.sh", "echo lint again\n");
    assert_eq!(listed(&fleet, &["--since", "HEAD"]), ["lint", "orders"]);
    assert_eq!(
        listed(&fleet, &["--since", "HEAD", "~lint"]),
        ["orders"],
        "the selection still applies"
    );
}

#[test]
fn affected_tests_run_only_for_the_affected_services() {
    let fleet = repository();
    fleet.write(
        "pkg/billing/billing.go",
        fleet
            .read("pkg/billing/billing.go")
            .replace("invoice/", "bill/"),
    );
    let out = fleet.cmd(["test", "--affected"]).assert_success();
    let summary = &out.stdout[out.stdout.find("SERVICE").expect("a summary")..];
    let services: Vec<&str> = summary
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(services, ["orders"], "{out}");
}

#[test]
fn outside_a_repository_or_with_an_unknown_revision_it_says_what_to_do() {
    require_go();
    let fleet = Fleet::new()
        .orchestra_yml("services: [\"cmd/*\"]\n")
        .copy_dir(orchestra_tests::fixture_dir("monorepo"), "")
        .file("cmd/users/service.yml", "");
    let out = fleet.cmd(["test", "--affected", "--list"]).assert_exit(2);
    assert!(out.stderr.contains("is not in a git repository"), "{out}");
    let fleet = repository();
    let out = fleet
        .cmd(["test", "--affected", "--list", "--since", "no-such-branch"])
        .assert_exit(2);
    assert!(
        out.stderr.contains("no commit named `no-such-branch`"),
        "{out}"
    );
}
