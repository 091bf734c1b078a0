//! Shell completion: the registration scripts, and the dynamic answers the binary gives
//! when a shell calls it back with `COMPLETE=<shell>` — commands, flags, and the project's
//! service names (plain and `~name`), found from the shell's current folder.

use orchestra_tests::{Cmd, Fleet, orchestra_bin};

fn shop() -> Fleet {
    ["users", "orders", "gateway"]
        .into_iter()
        .fold(Fleet::new().orchestra_yml(""), |fleet, name| {
            fleet.service(name, "run: sleep 60\n")
        })
        .file("users/internal/.keep", "")
}

/// What fish gets back for the command line `words` (the last one is being typed): one
/// candidate per line, with its description after a tab. Only the candidates are returned.
fn fish(fleet: &Fleet, words: &[&str]) -> Vec<String> {
    let out = fleet
        .cmd(["--", "orchestra"].iter().chain(words))
        .env("COMPLETE", "fish")
        .assert_success();
    assert_eq!(out.stderr, "", "completion wrote to stderr");
    out.stdout
        .lines()
        .map(|l| l.split('\t').next().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn registration_scripts_for_each_shell() {
    let fleet = Fleet::new();
    for shell in ["bash", "zsh", "fish"] {
        let out = fleet.cmd(["completions", shell]).assert_success();
        assert!(out.stdout.contains("orchestra"), "{shell}: {out}");
        assert!(
            out.stdout.contains("COMPLETE"),
            "{shell} script is not dynamic: {out}"
        );
    }
    let out = fleet.cmd(["completions", "powershell"]).run();
    assert_eq!(out.code(), Some(2), "{out}");
}

#[test]
fn service_names_complete_plain_and_excluded() {
    let fleet = shop();
    assert_eq!(fish(&fleet, &["start", "o"]), ["orders"]);
    assert_eq!(fish(&fleet, &["stop", "users", "g"]), ["gateway"]);
    assert_eq!(fish(&fleet, &["test", "~u"]), ["~users"]);
    let mut all_excluded = fish(&fleet, &["logs", "~"]);
    all_excluded.sort();
    assert_eq!(all_excluded, ["~gateway", "~orders", "~users"]);
    assert_eq!(fish(&fleet, &["start", "x"]), Vec::<String>::new());
}

#[test]
fn service_names_complete_from_a_subfolder_and_nothing_outside_a_project() {
    let fleet = shop();
    let out = fleet
        .cmd(["--", "orchestra", "restart", "ord"])
        .current_dir(fleet.path("users/internal"))
        .env("COMPLETE", "fish")
        .assert_success();
    assert_eq!(out.stdout.trim(), "orders");

    let outside = Fleet::new();
    let out = outside
        .cmd(["--", "orchestra", "start", "o"])
        .env("COMPLETE", "fish")
        .assert_success();
    assert_eq!(out.stdout, "", "{out}");
    assert_eq!(out.stderr, "", "{out}");
}

#[test]
fn service_names_follow_the_folder_and_file_typed_on_the_line() {
    let fleet = shop();
    let outside = Fleet::new();
    let root = fleet.root().display().to_string();
    let file = fleet.path("orchestra.yml").display().to_string();
    for words in [
        vec!["-C", root.as_str(), "start", "g"],
        vec!["--directory", root.as_str(), "start", "g"],
        vec!["-c", file.as_str(), "stop", "g"],
    ] {
        let out = outside
            .cmd(["--", "orchestra"].iter().chain(&words))
            .env("COMPLETE", "fish")
            .assert_success();
        assert_eq!(out.stdout, "gateway\n", "{words:?}: {out}");
    }
}

#[test]
fn commands_and_flags_complete() {
    let fleet = shop();
    assert_eq!(fish(&fleet, &["st"]), ["start", "stop"]);
    let mut flags = fish(&fleet, &["start", "--d"]);
    flags.sort();
    assert_eq!(flags, ["--directory", "--docker"]);
    assert_eq!(fish(&fleet, &["test", "--ju"]), ["--junit"]);
    assert_eq!(fish(&fleet, &["completions", "z"]), ["zsh"]);
    let hidden = fish(&fleet, &[""]);
    assert!(hidden.contains(&"init".to_owned()), "{hidden:?}");
    assert!(
        !hidden.iter().any(|c| c == "daemon" || c == "__services"),
        "internal commands offered: {hidden:?}"
    );
}

#[test]
fn bash_completes_through_its_registration_script() {
    // The real round trip: bash sources the script, then its completion function calls
    // `orchestra` (found on PATH) with the words typed so far.
    let fleet = shop();
    let bin_dir = orchestra_bin()
        .parent()
        .expect("in a folder")
        .display()
        .to_string();
    let script = r#"
        source <(orchestra completions bash)
        complete_words() {
            COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMP_TYPE=9; COMPREPLY=()
            _clap_complete_orchestra orchestra "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
            printf '%s\n' "${COMPREPLY[@]}" | sort | paste -sd' '
        }
        complete_words orchestra start u
        complete_words orchestra stop '~'
        complete_words orchestra exp
    "#;
    let path = format!("{bin_dir}:{}", std::env::var("PATH").unwrap_or_default());
    let out = Cmd::new(
        "bash",
        ["--noprofile", "--norc", "-c", script],
        fleet.root(),
    )
    .env("PATH", path)
    .assert_success();
    assert_eq!(
        out.stdout, "users\n~gateway ~orders ~users\nexport\n",
        "{out}"
    );
}
