//! Colour in the error only on a terminal, and never when asked not to.

use orchestra_tests::{Cmd, Fleet, orchestra_bin};

use super::bad_fleet;

/// The same failing `config`, with stderr on a pipe or (through `script`) on a terminal.
fn error_output(fleet: &Fleet, args: &[&str], env: &[(&str, &str)], tty: bool) -> String {
    let mut cmd = if tty {
        let mut line = orchestra_bin().display().to_string();
        for arg in args {
            line.push(' ');
            line.push_str(arg);
        }
        Cmd::new("script", ["-qec", &line, "/dev/null"], fleet.root())
    } else {
        Cmd::new(orchestra_bin(), args, fleet.root())
    };
    cmd = cmd.env_remove("NO_COLOR");
    for (k, v) in env {
        cmd = cmd.env(k, v);
    }
    let out = cmd.run();
    assert!(
        out.stdout.contains("unknown key") || out.stderr.contains("unknown key"),
        "the command did not fail as set up: {out}"
    );
    format!("{}{}", out.stdout, out.stderr)
}

#[test]
fn colours_only_on_a_terminal_and_never_when_told_not_to() {
    let fleet = bad_fleet("", &[("api", "run: ./api\nprot: 80\n")]);
    let escape = "\x1b[";
    // On a terminal the error is coloured: so the checks below are not vacuous.
    assert!(error_output(&fleet, &["config"], &[], true).contains(escape));
    for (args, env, tty) in [
        (&["config"][..], &[][..], false),
        (&["config"], &[("NO_COLOR", "1")], true),
        (&["--no-color", "config"], &[], true),
        (&["config", "--no-color"], &[], true),
    ] {
        let text = error_output(&fleet, args, env, tty);
        assert!(
            !text.contains(escape),
            "escape codes with {args:?} {env:?} tty={tty}: {text:?}"
        );
    }
}
