//! How problems are reported: several at once, each locating itself in one line.

use crate::common::{self, Fixture};

#[test]
fn many_problems_are_reported_together() {
    let f = Fixture::new(&[
        (
            "orchestra.yml",
            "envv: {}\nvendors:\n  postgres:\n    image: postgres:16\n",
        ),
        (
            "users/service.yml",
            "run: ./users\nscale: -2\nstop_signal: TREM\n",
        ),
        (
            "orders/service.yml",
            "run: ./orders\ndepends_on: [postgrs]\n",
        ),
    ]);
    let err = f.load().expect_err("refused");
    assert_eq!(err.problems().len(), 4);
    assert_eq!(err.to_string(), "4 problems in the configuration");
    insta::assert_snapshot!(f.redact(&common::render(&err)));
}

#[test]
fn a_problem_locates_itself_in_one_line() {
    let f = Fixture::new(&[("users/service.yml", "run: ./users\nport: [8080\nscale: 1\n")]);
    let err = f.load().expect_err("refused");
    let problem = &err.problems()[0];
    let location = problem
        .location()
        .expect("a problem in a file has a location");
    assert!(
        location.starts_with("users/service.yml:") && location.matches(':').count() == 2,
        "{location}"
    );
    let line: usize = location.split(':').nth(1).unwrap().parse().unwrap();
    assert!((2..=4).contains(&line), "{location}");
}

#[test]
fn ports_beyond_65535_are_reported_with_other_problems() {
    let f = Fixture::new(&[
        ("users/service.yml", "run: ./users\nport: 65535\nscale: 3\n"),
        ("orders/service.yml", "run: ./orders\nstop_signal: TREM\n"),
    ]);
    let err = f.load().expect_err("refused");
    assert_eq!(err.problems().len(), 2, "{err:?}");
    insta::assert_snapshot!(f.redact(&common::render(&err)));
}
