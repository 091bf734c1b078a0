//! Whatever the files hold, loading returns Ok or Err (and the error renders); it never
//! panics or hangs.

mod common;

use std::sync::OnceLock;

use common::Fixture;
use orchestra_config::{Project, Section};
use proptest::prelude::*;

/// A valid configuration to mutate, so that mutations reach deep into the parser.
const BASE_PROJECT: &str = "env: { A: \"1\", B: \"${A}x\" }\nbefore: [\"true\"]\nstart: { env: { C: c } }\nservices: [\"*\"]\ndefaults: { stop_timeout: 5s }\nvendors:\n  pg:\n    image: postgres:16\n    ports: [\"5432:5432\"]\n    volumes: [\"d:/data\"]\n    ready: { tcp: 5432, timeout: 1m }\nlogs: { max_size: 10MiB, keep: 2 }\n";
const BASE_SERVICE: &str = "name: users\nport: 8080\nscale: 2\nrun: \"{bin} --port {port}\"\ndepends_on: [pg]\nready:\n  http: \"http://127.0.0.1:$PORT/health\"\n  timeout: 10s\nrestart: { policy: always, max_restarts: 3 }\nstop_signal: SIGINT\nwatch: [\"**/*.go\"]\nrerun: { test: true, debounce: 200ms }\ndocker: { image: null }\n";

/// Characters that matter to YAML and to our own syntax.
const SPECIAL: &[&str] = &[
    ":", "-", " ", "\t", "\n", "{", "}", "[", "]", ",", "\"", "'", "#", "&a", "*a", "!", "|", ">",
    "$", "${", "~", "?", "%", "@", "`", "\u{0}", "\u{feff}", "é", "  ", "---\n", "<<: ",
];

fn mutation() -> impl Strategy<Value = (usize, usize, String)> {
    (
        any::<usize>(),
        0usize..8,
        prop_oneof![
            prop::sample::select(SPECIAL).prop_map(str::to_owned),
            "[a-z_]{1,8}",
            "[ -~]{0,12}",
        ],
    )
}

fn mutate(base: &str, edits: &[(usize, usize, String)]) -> String {
    let mut s = base.to_owned();
    for (at, delete, insert) in edits {
        let mut at = at % (s.len() + 1);
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        let mut end = (at + delete).min(s.len());
        while !s.is_char_boundary(end) {
            end += 1;
        }
        s.replace_range(at..end, insert);
    }
    s
}

/// One project folder reused by every case (writing files is the slow part).
fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| Fixture::new(&[]))
}

fn check(project: &[u8], service: &[u8]) {
    let f = fixture();
    f.write("orchestra.yml", project);
    f.write("users/service.yml", service);
    match Project::load(&f.config()) {
        Ok(p) => {
            let _ = p.service_names();
            if let Err(e) = p.resolve_with(Section::Start, &|_| None) {
                let _ = common::render(&e);
            }
        }
        Err(e) => {
            let _ = common::render(&e);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn mutated_configurations_never_panic(
        project_edits in prop::collection::vec(mutation(), 0..4),
        service_edits in prop::collection::vec(mutation(), 0..4),
    ) {
        check(
            mutate(BASE_PROJECT, &project_edits).as_bytes(),
            mutate(BASE_SERVICE, &service_edits).as_bytes(),
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    #[test]
    fn random_bytes_never_panic(
        project in prop::collection::vec(any::<u8>(), 0..200),
        service in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        check(&project, &service);
    }

    #[test]
    fn random_text_never_panics(project in "\\PC{0,200}", service in "(\\PC|\n|\t|:|-){0,200}") {
        check(project.as_bytes(), service.as_bytes());
    }
}
