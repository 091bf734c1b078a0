//! Failures say what failed, why, and exit with the right code.

use orchestra_tests::Fleet;

use super::{assert_nothing_left, listed, ps};

#[test]
fn a_failing_build_exits_1_with_the_compiler_output() {
    let fleet = Fleet::new()
        .orchestra_yml("")
        .file("broken/go.mod", "module broken\n\ngo 1.19\n")
        .file(
            "broken/main.go",
            "package main\n\nfunc main() {\n\tnoSuchFunction()\n}\n",
        )
        .service("broken", "env: { GOPROXY: \"off\" }\n");
    let out = fleet.cmd(["start"]).assert_exit(1);
    assert!(out.stdout.contains("build failed (exit 2)"), "{out}");
    // Each line says it once: no `build failed (build failed (exit 2))`.
    for line in out.stdout.lines().chain(out.stderr.lines()) {
        assert!(line.matches("build failed").count() <= 1, "repeated: {out}");
    }
    assert!(out.stderr.contains("broken"), "{out}");
    assert!(
        out.stderr.contains("undefined: noSuchFunction"),
        "the compiler's message is shown: {out}"
    );
    assert!(listed(&ps(&fleet)).is_empty(), "nothing started");
    fleet.cmd(["stop"]).assert_success();
    assert_nothing_left(&fleet, &[]);
}

#[test]
fn an_unknown_service_exits_2_with_a_suggestion() {
    let fleet = Fleet::new()
        .orchestra_yml("")
        .service("web", "run: \"exec sleep 1000\"\n");
    let out = fleet.cmd(["start", "wbe"]).assert_exit(2);
    assert!(out.stderr.contains("no service named `wbe`"), "{out}");
    assert!(out.stderr.contains("did you mean `web`?"), "{out}");
    assert!(
        !fleet.path(".orchestra/daemon.sock").exists(),
        "bad usage starts nothing"
    );
}
