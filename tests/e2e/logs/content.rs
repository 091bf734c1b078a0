//! Awkward output: lines written in pieces, a writer stalled mid-line, a 1 MiB line, bytes
//! that are not UTF-8, and a reader that goes away (`orchestra logs | head -1`).

use std::time::{Duration, Instant};

use orchestra_tests::{Cmd, Fleet, PATIENCE, orchestra_bin, wait_until};

use super::{Stream, by_replica, parse_json_lines, scribe, split_formatted};

/// The scribe fixture's `fragments` line `n` once joined.
fn fragment_line(n: usize) -> String {
    format!("frag {n} {}", "x".repeat(40))
}

/// The scribe fixture's `big` line of `size` bytes.
fn big_line(size: usize) -> String {
    let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut line = b"big:".to_vec();
    line.extend((0..size.saturating_sub(4)).map(|i| alphabet[i % alphabet.len()]));
    line.truncate(size);
    String::from_utf8(line).expect("ASCII")
}

/// A follower collecting every `(label, text)` it prints.
fn collect(fleet: &Fleet, args: &[&str]) -> Stream<Vec<(String, String)>> {
    Stream::spawn(fleet, args, Vec::new(), |v, line| {
        let (label, text) = split_formatted(line).unwrap_or_else(|| panic!("unlabelled: {line:?}"));
        v.push((label.to_owned(), text.to_owned()));
    })
}

fn texts(lines: &[(String, String)]) -> Vec<&str> {
    lines.iter().map(|(_, t)| t.as_str()).collect()
}

#[test]
fn lines_written_in_pieces_arrive_whole_live_and_from_history() {
    const LINES: usize = 400;
    let fleet = Fleet::new().orchestra_yml("");
    let trigger = fleet.path("go");
    let fleet = fleet.service(
        "pieces",
        &format!(
            "run: \"until [ -e '{}' ]; do sleep 0.01; done; exec '{}'\"\n\
             env: {{ MODE: fragments, LINES: \"{LINES}\", PAUSE_US: \"300\" }}\n",
            trigger.display(),
            orchestra_tests::fixture_binary("scribe").display()
        ),
    );
    fleet.cmd(["start"]).assert_success();
    let follow = collect(&fleet, &["logs", "-f"]);
    fleet.write("go", "");
    follow.wait_for(PATIENCE * 3, "scribe done", |v| {
        v.iter().any(|(_, t)| t == "scribe done").then_some(())
    });
    let expected: Vec<String> = (1..=LINES)
        .map(fragment_line)
        .chain(["scribe done".to_owned()])
        .collect();
    follow.with(|v| assert_eq!(texts(v), expected, "followed lines"));
    drop(follow);

    let out = fleet.cmd(["logs", "--json"]).assert_success();
    let history: Vec<String> = parse_json_lines(&out).into_iter().map(|(_, l)| l).collect();
    assert_eq!(history, expected);
}

#[test]
fn a_writer_stalled_mid_line_is_shown_after_a_grace_and_history_keeps_the_whole_line() {
    let fleet = Fleet::new().orchestra_yml("");
    let trigger = fleet.path("go");
    let fleet = fleet.service(
        "slow",
        &scribe(
            "stall",
            &format!(", TRIGGER: {:?}", trigger.display().to_string()),
        ),
    );
    fleet.cmd(["start"]).assert_success();
    let follow = collect(&fleet, &["logs", "-f"]);
    // The unfinished line is not held back forever: after a short grace it is shown.
    follow.wait_for(PATIENCE, "the unfinished line", |v| {
        v.iter()
            .any(|(_, t)| t.starts_with("first half"))
            .then_some(())
    });
    fleet.write("go", "");
    follow.wait_for(PATIENCE, "scribe done", |v| {
        v.iter().any(|(_, t)| t == "scribe done").then_some(())
    });
    follow.with(|v| {
        let texts = texts(v);
        // Nothing lost or repeated: the pieces shown make up the line.
        assert_eq!(texts.last(), Some(&"scribe done"), "{texts:?}");
        assert_eq!(
            texts[..texts.len() - 1].concat(),
            "first half, second half",
            "{texts:?}"
        );
    });
    drop(follow);

    let out = fleet.cmd(["logs"]).assert_success();
    assert_eq!(
        out.stdout, "slow | first half, second half\nslow | scribe done\n",
        "{out}"
    );
}

#[test]
fn a_one_mebibyte_line_passes_intact() {
    const SIZE: usize = 1 << 20;
    let fleet = Fleet::new().orchestra_yml("");
    let trigger = fleet.path("go");
    let fleet = fleet.service(
        "big",
        &format!(
            "run: \"until [ -e '{}' ]; do sleep 0.01; done; exec '{}'\"\n\
             env: {{ MODE: big, SIZE: \"{SIZE}\" }}\n",
            trigger.display(),
            orchestra_tests::fixture_binary("scribe").display()
        ),
    );
    fleet.cmd(["start"]).assert_success();
    let follow = collect(&fleet, &["logs", "-f"]);
    fleet.write("go", "");
    follow.wait_for(PATIENCE * 3, "scribe done", |v| {
        v.iter().any(|(_, t)| t == "scribe done").then_some(())
    });
    let big = big_line(SIZE);
    follow.with(|v| {
        let shown = texts(v);
        assert_eq!(
            shown.len(),
            3,
            "lines: {:?}",
            shown.iter().map(|t| t.len()).collect::<Vec<_>>()
        );
        assert!(
            shown[0] == big,
            "the followed 1 MiB line differs ({} bytes)",
            shown[0].len()
        );
        assert_eq!(&shown[1..], ["after big", "scribe done"]);
    });
    drop(follow);

    let out = fleet.cmd(["logs", "--json"]).assert_success();
    let lines: Vec<String> = parse_json_lines(&out).into_iter().map(|(_, l)| l).collect();
    assert_eq!(lines.len(), 3);
    assert!(
        lines[0] == big,
        "the 1 MiB line from history differs ({} bytes)",
        lines[0].len()
    );
    let out = fleet.cmd(["logs", "-n", "1"]).assert_success();
    assert_eq!(out.stdout, "big | scribe done\n");
}

#[test]
fn bytes_that_are_not_utf8_are_shown_lossily() {
    let fleet = Fleet::new()
        .orchestra_yml("")
        .service("raw", &scribe("binary", ""));
    fleet.cmd(["start"]).assert_success();
    let follow = collect(&fleet, &["logs", "-f"]);
    follow.wait_for(PATIENCE, "scribe done", |v| {
        v.iter().any(|(_, t)| t == "scribe done").then_some(())
    });
    let lossy = String::from_utf8_lossy(b"bytes \xff\xfe\xc3( end").into_owned();
    let expected = [lossy.as_str(), "valid é", "scribe done"];
    follow.with(|v| assert_eq!(texts(v), expected));
    drop(follow);

    let out = fleet.cmd(["logs"]).assert_success();
    assert_eq!(
        out.stdout,
        format!("raw | {lossy}\nraw | valid é\nraw | scribe done\n")
    );
    let out = fleet.cmd(["logs", "--json"]).assert_success();
    let groups = by_replica(parse_json_lines(&out));
    assert_eq!(groups[&("raw".to_owned(), 0)], expected);
}

#[test]
fn a_closed_stdout_pipe_ends_logs_quickly_and_quietly() {
    let fleet = Fleet::new().orchestra_yml("").fixture_service(
        "flood",
        "flood",
        "scale: 2\nenv: { LINES: \"100000\" }\n",
    );
    fleet.cmd(["start"]).assert_success();
    wait_until(PATIENCE * 3, "both floods to finish", || {
        let out = fleet.cmd(["logs", "-n", "1"]).assert_success();
        out.stdout.matches("flood done").count() == 2
    });

    for args in ["logs", "logs -f", "logs --json"] {
        // The exit status of orchestra itself, not of `head`, is written to a file.
        let script = format!(
            "{{ \"$OBIN\" {args} 2>stderr; echo $? >status; }} | head -1; cat status; cat stderr"
        );
        let started = Instant::now();
        let out = Cmd::new("sh", ["-c", &script], fleet.root())
            .env("OBIN", orchestra_bin())
            .timeout(Duration::from_secs(60))
            .assert_success();
        let took = started.elapsed();
        let mut lines = out.stdout.lines();
        let first = lines.next().unwrap_or_default();
        assert!(
            first.contains("line 1"),
            "`{args} | head -1` printed {first:?}"
        );
        let rest: Vec<&str> = lines.collect();
        assert_eq!(
            rest,
            ["0"],
            "`{args}` after `head` left: exit status then stderr"
        );
        assert!(
            took < Duration::from_secs(30),
            "`{args} | head -1` took {took:?}"
        );
    }
}
