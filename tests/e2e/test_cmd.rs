//! `orchestra test` on real Go services (fixtures `gotest-*`: three passing tests, a failing
//! test, no test files, a data race) and on shell test commands: the verdict per service,
//! the exit code, `--race`, `--junit`, `-v` streaming and `-j`.

use std::collections::BTreeMap;

use orchestra_tests::{Fleet, Output, PATIENCE, redact, require_go};

/// One service per Go fixture, with an empty service.yml: zero-configuration Go services.
fn go_fleet() -> Fleet {
    require_go();
    Fleet::new()
        .orchestra_yml("")
        .go_service("passing", "gotest-pass", "")
        .go_service("failing", "gotest-fail", "")
        .go_service("untested", "gotest-none", "")
        .go_service("racy", "gotest-race", "")
}

/// The summary table at the end of stdout: service → result.
fn verdicts(out: &Output) -> BTreeMap<String, String> {
    out.stdout
        .lines()
        .skip_while(|l| !l.starts_with("SERVICE"))
        .skip(1)
        .filter_map(|l| {
            let (name, rest) = l.split_once(' ')?;
            let rest = rest.trim_start();
            let verdict = rest.strip_suffix(rest.rsplit(' ').next()?)?.trim_end();
            Some((name.to_owned(), verdict.to_owned()))
        })
        .collect()
}

fn table(rows: &[(&str, &str)]) -> BTreeMap<String, String> {
    rows.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The summary table, from its header on.
fn summary_text(out: &Output) -> String {
    let start = out.stdout.find("SERVICE").expect("a summary table");
    out.stdout[start..].to_owned()
}

#[test]
fn a_go_fleet_fails_naming_the_failing_service_with_a_summary() {
    let fleet = go_fleet();
    let out = fleet.cmd(["test"]).assert_exit(1);
    assert_eq!(
        verdicts(&out),
        table(&[
            ("failing", "FAIL"),
            ("passing", "PASS"),
            ("racy", "PASS"),
            ("untested", "no tests"),
        ]),
        "{out}"
    );
    assert!(out.stderr.contains("tests failed: failing"), "{out}");
    assert!(!out.stderr.contains("passing"), "{out}");
    // The failing service's output is shown; the passing ones' is not.
    assert!(
        out.stdout.contains("deliberate failure: double(3) = 6"),
        "{out}"
    );
    assert!(!out.stdout.contains("── passing ──"), "{out}");
    insta::assert_snapshot!(redact(&summary_text(&out), &fleet));

    let out = fleet.cmd(["test", "~failing"]).assert_success();
    assert!(!verdicts(&out).contains_key("failing"), "{out}");
}

#[test]
fn race_flag_catches_the_data_race_that_a_plain_run_misses() {
    let fleet = go_fleet();
    let plain = fleet.cmd(["test", "racy"]).assert_success();
    assert_eq!(verdicts(&plain), table(&[("racy", "PASS")]), "{plain}");
    let raced = fleet.cmd(["test", "--race", "racy"]).assert_exit(1);
    assert_eq!(verdicts(&raced), table(&[("racy", "FAIL")]), "{raced}");
    assert!(raced.stdout.contains("WARNING: DATA RACE"), "{raced}");
    // The race detector does not fail honest code.
    fleet.cmd(["test", "--race", "passing"]).assert_success();
}

#[test]
fn junit_report_has_one_testcase_per_go_test() {
    let fleet = go_fleet();
    let report = fleet.path("reports/junit.xml");
    std::fs::create_dir_all(report.parent().unwrap()).unwrap();
    let out = fleet
        .cmd(["test", "--junit", "reports/junit.xml"])
        .assert_exit(1);
    let xml = std::fs::read_to_string(&report).unwrap_or_else(|e| panic!("{e}: {out}"));
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("bad XML ({e}):\n{xml}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    assert_eq!(root.attribute("tests"), Some("6"), "{xml}");
    assert_eq!(root.attribute("failures"), Some("1"), "{xml}");

    let mut suites = BTreeMap::new();
    for suite in root.children().filter(|n| n.has_tag_name("testsuite")) {
        let cases: Vec<(String, bool)> = suite
            .children()
            .filter(|n| n.has_tag_name("testcase"))
            .map(|c| {
                let failed = c.children().any(|f| f.has_tag_name("failure"));
                (c.attribute("name").unwrap_or_default().to_owned(), failed)
            })
            .collect();
        assert_eq!(
            suite.attribute("tests"),
            Some(cases.len().to_string().as_str()),
            "{xml}"
        );
        suites.insert(
            suite.attribute("name").unwrap_or_default().to_owned(),
            cases,
        );
    }
    let case = |name: &str, failed| (name.to_owned(), failed);
    assert_eq!(suites["passing"].len(), 3, "{xml}");
    for test in ["TestAdd", "TestSub", "TestShout"] {
        assert!(
            suites["passing"].contains(&case(test, false)),
            "{test}: {xml}"
        );
    }
    assert_eq!(
        suites["failing"],
        [
            case("TestDoubleWorks", false),
            case("TestDoubleIsBroken", true)
        ]
    );
    assert_eq!(suites["racy"], [case("TestCountRaces", false)]);
    assert_eq!(suites["untested"], []);

    let failure = doc
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .and_then(|n| n.text())
        .unwrap_or_default();
    assert!(failure.contains("deliberate failure"), "{xml}");
    // The JSON Go prints for the report never reaches the terminal.
    assert!(!out.stdout.contains("\"Action\""), "{out}");
}

#[test]
fn verbose_streams_each_line_prefixed_as_it_comes() {
    // A test that prints, then waits for the test itself to answer: its first line must
    // be on screen while it still runs.
    let fleet = Fleet::new()
        .orchestra_yml("")
        .service(
            "slow",
            "run: sleep 60\ntest: |\n  echo first line\n  i=0\n  \
             while [ ! -f release ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done\n  \
             echo released\n",
        )
        .service("quick", "run: sleep 60\ntest: echo quick line\n");
    let running = fleet.cmd(["test", "-v"]).spawn();
    running.wait_for_output("slow | first line", PATIENCE);
    assert!(!running.stdout().contains("released"));
    fleet.write("slow/release", "");
    let out = running.wait(PATIENCE);
    assert_eq!(out.code(), Some(0), "{out}");
    assert!(out.stdout.contains("slow | released"), "{out}");
    assert!(out.stdout.contains("quick | quick line"), "{out}");
}

#[test]
fn verbose_streams_go_test_output_per_test() {
    let fleet = go_fleet();
    let out = fleet.cmd(["test", "-v", "passing"]).assert_success();
    for test in ["TestAdd", "TestSub", "TestShout"] {
        assert!(
            out.stdout.contains(&format!("passing | === RUN   {test}")),
            "{test}: {out}"
        );
    }
}

#[test]
fn shell_tests_pass_or_fail_by_exit_code() {
    let fleet = Fleet::new()
        .orchestra_yml("")
        .service("zero", "run: sleep 60\ntest: \"sh -c 'exit 0'\"\n")
        .service(
            "three",
            "run: sleep 60\ntest: \"sh -c 'echo three says bye; exit 3'\"\n",
        )
        .service("none", "run: sleep 60\n");
    let out = fleet.cmd(["test"]).assert_exit(1);
    assert_eq!(
        verdicts(&out),
        table(&[("none", "no tests"), ("three", "FAIL"), ("zero", "PASS")]),
        "{out}"
    );
    assert!(out.stderr.contains("tests failed: three"), "{out}");
    assert!(out.stdout.contains("three says bye"), "{out}");
    fleet.cmd(["test", "zero", "none"]).assert_success();

    // JUnit for non-Go services: one case per service.
    fleet.cmd(["test", "--junit", "r.xml"]).assert_exit(1);
    let xml = fleet.read("r.xml");
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}:\n{xml}"));
    let cases = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .count();
    let failures = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .count();
    assert_eq!((cases, failures), (3, 1), "{xml}");
}

/// Two tests that each wait for the other to have started (for `$RENDEZVOUS_TRIES` × 50 ms):
/// both pass only when run at the same time.
fn rendezvous(me: &str, other: &str) -> String {
    format!(
        "run: sleep 60\ntest: |\n  touch ../started-{me}\n  i=0\n  \
         while [ ! -f ../started-{other} ] && [ $i -lt ${{RENDEZVOUS_TRIES:-400}} ]; do \
         sleep 0.05; i=$((i+1)); done\n  test -f ../started-{other}\n"
    )
}

#[test]
fn jobs_limit_how_many_services_test_at_once() {
    let fleet = Fleet::new()
        .orchestra_yml("")
        .service("left", &rendezvous("left", "right"))
        .service("right", &rendezvous("right", "left"));
    let out = fleet.cmd(["test", "-j", "2"]).assert_success();
    assert_eq!(
        verdicts(&out),
        table(&[("left", "PASS"), ("right", "PASS")])
    );

    // One at a time, the first waits in vain (a second, here) and fails; the second then
    // finds the first's mark and passes.
    for marker in ["started-left", "started-right"] {
        std::fs::remove_file(fleet.path(marker)).unwrap();
    }
    let out = fleet
        .cmd(["test", "-j", "1"])
        .env("RENDEZVOUS_TRIES", "20")
        .assert_exit(1);
    let mut results: Vec<String> = verdicts(&out).into_values().collect();
    results.sort();
    assert_eq!(results, ["FAIL", "PASS"], "{out}");
}
