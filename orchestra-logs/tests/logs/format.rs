//! Snapshots of the formatted output.

use std::time::{Duration, UNIX_EPOCH};

use orchestra_logs::{Formatter, LogLine, LogSource, json_line, write_json_line};

fn sources() -> Vec<LogSource> {
    [
        "users.0.log",
        "users.1.log",
        "orders.0.log",
        "vendor.postgres.log",
        "orders.build.log",
    ]
    .iter()
    .map(|n| LogSource::from_path(&std::path::Path::new("/logs").join(n)).unwrap())
    .collect()
}

fn lines() -> Vec<LogLine> {
    let s = sources();
    let t = UNIX_EPOCH + Duration::from_millis(1_795_687_200_123);
    vec![
        LogLine::new(&s[0], "listening on :8080", Some(t)),
        LogLine::new(
            &s[1],
            "listening on :8081",
            Some(t + Duration::from_millis(5)),
        ),
        LogLine::new(&s[2], "connected to \"postgres\"", None),
        LogLine::new(
            &s[3],
            "database system is ready",
            Some(t + Duration::from_secs(61)),
        ),
        LogLine::new(&s[4], "go: downloading example.com/x v1.0.0", None),
    ]
}

fn render(f: &Formatter) -> String {
    lines().iter().map(|l| f.format(l) + "\n").collect()
}

#[test]
fn plain_prefixes_are_aligned() {
    let f = Formatter::new(&sources(), false, false);
    insta::assert_snapshot!(render(&f));
}

#[test]
fn plain_with_timestamps() {
    let f = Formatter::new(&sources(), false, true).utc(true);
    insta::assert_snapshot!(render(&f));
}

#[test]
fn coloured_prefixes() {
    let f = Formatter::new(&sources(), true, true).utc(true);
    insta::assert_snapshot!(render(&f).replace('\x1b', "\\e"));
}

#[test]
fn json_lines() {
    let out: String = lines().iter().map(|l| json_line(l) + "\n").collect();
    // The streaming writer writes the same bytes.
    let mut written = Vec::new();
    for l in &lines() {
        write_json_line(l, &mut written).unwrap();
    }
    assert_eq!(String::from_utf8(written).unwrap(), out);
    insta::assert_snapshot!(out);
}

#[test]
fn a_single_replica_is_labelled_by_its_service_and_new_replicas_widen() {
    let users0 = LogSource::from_path(std::path::Path::new("/l/users.0.log")).unwrap();
    let mut f = Formatter::new(std::slice::from_ref(&users0), false, false);
    let line = LogLine::new(&users0, "hi", None);
    assert_eq!(f.format(&line), "users | hi");
    let users1 = LogSource::from_path(std::path::Path::new("/l/users.10.log")).unwrap();
    f.observe(&LogLine::new(&users1, "hey", None));
    assert_eq!(f.format(&line), "users.0  | hi");
    // Colours are stable per unit.
    assert_eq!(
        orchestra_logs::format::color_of("users"),
        orchestra_logs::format::color_of("users")
    );
}

/// `write_line`, the streaming path, writes exactly what `format` returns, in every mode.
#[test]
fn write_line_matches_format() {
    for (color, timestamps) in [(false, false), (false, true), (true, false), (true, true)] {
        let mut f = Formatter::new(&sources(), color, timestamps).utc(true);
        let mut written = Vec::new();
        for l in lines().iter().chain(lines().iter()) {
            f.write_line(l, &mut written).unwrap();
        }
        let expected = render(&f).repeat(2);
        assert_eq!(String::from_utf8(written).unwrap(), expected);
    }
}

/// A source that appears mid-stream widens the prefixes and numbers a service's replicas
/// from then on: prefixes rendered before are not reused.
#[test]
fn write_line_follows_new_sources() {
    let path = |n: &str| LogSource::from_path(&std::path::Path::new("/logs").join(n)).unwrap();
    let web0 = path("web.0.log");
    let mut f = Formatter::new(&[], false, false);
    let mut out = Vec::new();
    f.write_line(&LogLine::new(&web0, "one", None), &mut out)
        .unwrap();
    f.write_line(&LogLine::new(&path("web.1.log"), "two", None), &mut out)
        .unwrap();
    f.write_line(&LogLine::new(&web0, "three", None), &mut out)
        .unwrap();
    f.write_line(
        &LogLine::new(&path("vendor.postgres.log"), "four", None),
        &mut out,
    )
    .unwrap();
    f.write_line(&LogLine::new(&web0, "five", None), &mut out)
        .unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "web | one\nweb.1 | two\nweb.0 | three\npostgres | four\nweb.0    | five\n"
    );
}
