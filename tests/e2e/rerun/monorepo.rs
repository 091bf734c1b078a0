//! Import-aware rerun in a Go monorepo: one root go.mod, mains under `cmd/`, shared packages
//! under `pkg/` (fixture `monorepo`). users imports pkg/auth, orders imports pkg/billing
//! which imports pkg/auth, web imports neither; pkg/unused is imported by nobody. An edit of
//! pkg/auth builds users and orders with one `go build`.

use orchestra_tests::{Fleet, holds_for, poll_until, require_go, wait_until};

use super::{BUILD_PATIENCE, QUIET, answer};

/// The monorepo fleet under `start --rerun`; returns it and the ports of users, orders, web.
fn monorepo() -> (Fleet, [u16; 3]) {
    require_go();
    let fleet = Fleet::new().orchestra_yml("services: [\"cmd/*\"]\n");
    let port = fleet.ports(3);
    let ports = [port, port + 1, port + 2];
    let mut fleet = fleet.copy_dir(orchestra_tests::fixture_dir("monorepo"), "");
    for (name, port) in ["users", "orders", "web"].into_iter().zip(ports) {
        fleet = fleet.file(
            format!("cmd/{name}/service.yml"),
            format!("port: {port}\nready: {{ tcp: $PORT }}\n"),
        );
    }
    fleet
        .cmd(["start", "--rerun"])
        .timeout(BUILD_PATIENCE)
        .assert_success();
    (fleet, ports)
}

/// Waits until `port` answers `text`; returns the pid answering.
fn wait_for(port: u16, text: &str) -> u32 {
    poll_until(
        BUILD_PATIENCE,
        &format!("port {port} to answer {text:?}"),
        || answer(port).and_then(|(got, pid)| (got == text).then_some(pid)),
    )
}

/// Everything `orchestra logs SERVICE` shows.
fn service_log(fleet: &Fleet, service: &str) -> String {
    fleet
        .cmd(["logs", service, "-n", "1000000"])
        .assert_success()
        .stdout
}

/// How many times `service`'s log says a rerun failed and the previous build still runs.
fn kept(fleet: &Fleet, service: &str) -> usize {
    service_log(fleet, service)
        .matches("still running the previous build")
        .count()
}

/// The rerun lines (`… changed → rebuilding`) of every service's log, in order.
fn rerun_lines(fleet: &Fleet) -> Vec<String> {
    let out = fleet.cmd(["logs", "-n", "1000000"]).assert_success().stdout;
    out.lines()
        .filter(|l| l.contains("[orchestra] ") && l.contains("→ rebuilding"))
        .inspect(|l| assert!(!l.contains('\x1b'), "no colours into a pipe: {l:?}"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn an_edit_in_a_shared_package_reruns_exactly_the_services_importing_it() {
    let (fleet, [users, orders, web]) = monorepo();
    let old = [
        wait_for(users, "users a1"),
        wait_for(orders, "orders invoice/a1"),
    ];
    let web_pid = wait_for(web, "web plain");

    fleet.write(
        "pkg/auth/token.go",
        "package auth\n\nconst Token = \"a2\"\n",
    );
    let new = [
        wait_for(users, "users a2"),
        wait_for(orders, "orders invoice/a2"),
    ];
    assert!(
        old.iter().zip(&new).all(|(o, n)| o != n),
        "both importers were replaced: {old:?} → {new:?}"
    );
    let lines = rerun_lines(&fleet);
    assert!(
        lines.iter().any(
            |l| l.contains("[orchestra] orders, users: pkg/auth/token.go changed → rebuilding")
        ),
        "one line names both services and the file:\n{lines:#?}"
    );
    assert!(
        !lines.iter().any(|l| l.contains("web")),
        "web imports no auth: {lines:#?}"
    );

    // A package nobody imports: nothing rebuilds.
    let before = rerun_lines(&fleet).len();
    fleet.write(
        "pkg/unused/unused.go",
        "package unused\n\nconst Name = \"u2\"\n",
    );
    holds_for(QUIET, "no rebuild for a package nobody imports", || {
        rerun_lines(&fleet).len() == before
    });
    assert_eq!(answer(web), Some(("web plain".to_owned(), web_pid)));
    fleet.cmd(["stop"]).assert_success();
}

#[test]
fn a_new_import_line_adds_the_package_to_the_service_graph() {
    let (fleet, [users, _, web]) = monorepo();
    wait_for(web, "web plain");
    let users_pid = wait_for(users, "users a1");

    // web now imports pkg/unused: its own file changed, and its graph grows.
    let main = fleet.read("cmd/web/main.go");
    let main = main
        .replace(
            "\t\"os\"\n",
            "\t\"os\"\n\n\t\"orchestra.test/monorepo/pkg/unused\"\n",
        )
        .replace("\"web plain\"", "\"web \"+unused.Name");
    fleet.write("cmd/web/main.go", main);
    wait_for(web, "web u1");

    fleet.write(
        "pkg/unused/unused.go",
        "package unused\n\nconst Name = \"u2\"\n",
    );
    wait_for(web, "web u2");
    let lines = rerun_lines(&fleet);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("[orchestra] web: pkg/unused/unused.go changed → rebuilding")),
        "{lines:#?}"
    );
    assert!(
        !lines.iter().any(|l| l.contains("users")),
        "users was not rebuilt: {lines:#?}"
    );
    assert_eq!(answer(users), Some(("users a1".to_owned(), users_pid)));
    fleet.cmd(["stop"]).assert_success();
}

#[test]
fn a_compile_error_in_one_importer_keeps_it_on_its_previous_build_while_the_other_updates() {
    let (fleet, [users, orders, _]) = monorepo();
    let users_pid = wait_for(users, "users a1");
    let orders_pid = wait_for(orders, "orders invoice/a1");

    // orders no longer compiles: its own rerun fails, its replica stays.
    fleet.write(
        "cmd/orders/broken.go",
        "package main\n\nvar broken int = \"not an int\"\n",
    );
    wait_until(BUILD_PATIENCE, "orders' first failed rerun", || {
        kept(&fleet, "orders") == 1
    });

    // pkg/auth changes for both: users is served the new build, orders keeps the old one.
    fleet.write(
        "pkg/auth/token.go",
        "package auth\n\nconst Token = \"a2\"\n",
    );
    let users_new = wait_for(users, "users a2");
    assert_ne!(users_new, users_pid, "users was replaced");
    wait_until(BUILD_PATIENCE, "orders' second failed rerun", || {
        kept(&fleet, "orders") == 2
    });
    assert_eq!(
        answer(orders),
        Some(("orders invoice/a1".to_owned(), orders_pid)),
        "orders still runs its previous build"
    );
    let orders_log = service_log(&fleet, "orders");
    assert_eq!(
        orders_log.matches("broken.go:3:18: cannot use").count(),
        2,
        "each failed build of orders shows the compiler's error:\n{orders_log}"
    );
    let users_log = service_log(&fleet, "users");
    assert!(
        !users_log.contains("broken.go") && !users_log.contains("build failed"),
        "orders' error is not in users' log:\n{users_log}"
    );

    // Fixed, orders is served the build with the new pkg/auth.
    std::fs::remove_file(fleet.path("cmd/orders/broken.go")).expect("broken.go is removed");
    wait_for(orders, "orders invoice/a2");
    assert_eq!(answer(users), Some(("users a2".to_owned(), users_new)));
    fleet.cmd(["stop"]).assert_success();
}
