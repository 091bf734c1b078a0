//! JUnit XML for CI: one test suite per service; for Go services one test case per Go test
//! (from `go test -json`), otherwise one per service.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::Deserialize;

/// One event of `go test -json` (the fields we use).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GoTestEvent {
    /// `run`, `pass`, `fail`, `skip`, `output`…
    pub action: String,
    /// The package import path.
    pub package: Option<String>,
    /// The test, absent for package-level events.
    pub test: Option<String>,
    /// Seconds, on pass/fail/skip.
    pub elapsed: Option<f64>,
    /// A line of output, on `output`.
    pub output: Option<String>,
}

/// The outcome of one test case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseResult {
    /// Passed.
    Passed,
    /// Failed, with its output.
    Failed(String),
    /// Skipped.
    Skipped,
}

/// One test case.
#[derive(Debug, Clone)]
pub struct Case {
    /// `classname` attribute: the Go package, or the service.
    pub class: String,
    /// The test's name.
    pub name: String,
    /// How long it took.
    pub time: Duration,
    /// What happened.
    pub result: CaseResult,
}

/// One service's test suite.
#[derive(Debug, Clone)]
pub struct Suite {
    /// The service.
    pub name: String,
    /// Its cases.
    pub cases: Vec<Case>,
    /// Wall time of the whole run.
    pub time: Duration,
}

impl Suite {
    /// A suite with a single case standing for the whole service's test command.
    pub fn single(service: &str, time: Duration, failure: Option<&str>) -> Self {
        Self {
            name: service.to_owned(),
            cases: vec![Case {
                class: service.to_owned(),
                name: service.to_owned(),
                time,
                result: failure.map_or(CaseResult::Passed, |o| CaseResult::Failed(o.to_owned())),
            }],
            time,
        }
    }

    /// A suite with one case per Go test seen in the `go test -json` stream. A failing run
    /// without any failing test (a build error) becomes one failed case with the output.
    pub fn from_go(
        service: &str,
        events: &[GoTestEvent],
        time: Duration,
        failure: Option<&str>,
    ) -> Self {
        let mut outputs: BTreeMap<(String, String), String> = BTreeMap::new();
        let mut cases = Vec::new();
        for e in events {
            let (Some(package), Some(test)) = (&e.package, &e.test) else {
                continue;
            };
            let key = (package.clone(), test.clone());
            let result = match e.action.as_str() {
                "output" => {
                    outputs
                        .entry(key)
                        .or_default()
                        .push_str(e.output.as_deref().unwrap_or(""));
                    continue;
                }
                "pass" => CaseResult::Passed,
                "skip" => CaseResult::Skipped,
                "fail" => CaseResult::Failed(outputs.get(&key).cloned().unwrap_or_default()),
                _ => continue,
            };
            cases.push(Case {
                class: package.clone(),
                name: test.clone(),
                time: Duration::from_secs_f64(e.elapsed.unwrap_or(0.0).max(0.0)),
                result,
            });
        }
        let any_failed = cases
            .iter()
            .any(|c| matches!(c.result, CaseResult::Failed(_)));
        if let (Some(output), false) = (failure, any_failed) {
            cases.push(Case {
                class: service.to_owned(),
                name: format!("{service} (build)"),
                time,
                result: CaseResult::Failed(output.to_owned()),
            });
        }
        Self {
            name: service.to_owned(),
            cases,
            time,
        }
    }
}

/// Renders the suites as a JUnit XML document.
pub fn render(suites: &[&Suite]) -> String {
    let count = |f: fn(&CaseResult) -> bool| -> usize {
        suites
            .iter()
            .flat_map(|s| &s.cases)
            .filter(|c| f(&c.result))
            .count()
    };
    let tests: usize = suites.iter().map(|s| s.cases.len()).sum();
    let failures = count(|r| matches!(r, CaseResult::Failed(_)));
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"orchestra\" tests=\"{tests}\" failures=\"{failures}\">"
    );
    for suite in suites {
        let failed = suite
            .cases
            .iter()
            .filter(|c| matches!(c.result, CaseResult::Failed(_)))
            .count();
        let skipped = suite
            .cases
            .iter()
            .filter(|c| c.result == CaseResult::Skipped)
            .count();
        let _ = writeln!(
            x,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\" skipped=\"{skipped}\" time=\"{:.3}\">",
            escape(&suite.name),
            suite.cases.len(),
            suite.time.as_secs_f64()
        );
        for case in &suite.cases {
            let _ = write!(
                x,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
                escape(&case.class),
                escape(&case.name),
                case.time.as_secs_f64()
            );
            match &case.result {
                CaseResult::Passed => x.push_str("/>\n"),
                CaseResult::Skipped => x.push_str("><skipped/></testcase>\n"),
                CaseResult::Failed(output) => {
                    let _ = writeln!(
                        x,
                        "><failure message=\"failed\">{}</failure></testcase>",
                        escape(output)
                    );
                }
            }
        }
        x.push_str("  </testsuite>\n");
    }
    x.push_str("</testsuites>\n");
    x
}

/// Escapes text for XML attributes and content, dropping characters XML 1.0 cannot hold.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(action: &str, test: Option<&str>, output: Option<&str>) -> GoTestEvent {
        GoTestEvent {
            action: action.into(),
            package: Some("example.com/users".into()),
            test: test.map(Into::into),
            elapsed: Some(0.01),
            output: output.map(Into::into),
        }
    }

    #[test]
    fn one_case_per_go_test() {
        let events = [
            ev("run", Some("TestA"), None),
            ev("output", Some("TestA"), Some("=== RUN TestA\n")),
            ev("pass", Some("TestA"), None),
            ev("output", Some("TestB"), Some("bad <thing> & \"more\"\n")),
            ev("fail", Some("TestB"), None),
            ev("skip", Some("TestC"), None),
            ev("fail", None, None),
        ];
        let suite = Suite::from_go("users", &events, Duration::from_secs(1), Some("x"));
        assert_eq!(suite.cases.len(), 3);
        let xml = render(&[&suite]);
        assert!(xml.contains("tests=\"3\" failures=\"1\""), "{xml}");
        assert!(
            xml.contains("bad &lt;thing&gt; &amp; &quot;more&quot;"),
            "{xml}"
        );
        assert!(xml.contains("<skipped/>"));
    }

    #[test]
    fn a_build_failure_is_a_failed_case() {
        let suite = Suite::from_go("users", &[], Duration::ZERO, Some("syntax error"));
        assert!(matches!(suite.cases[0].result, CaseResult::Failed(ref o) if o == "syntax error"));
    }
}
