//! The command line's surface: help, and the resolved configuration of the example fleet.

use orchestra_tests::{Fleet, examples_dir};

#[test]
fn help_exits_zero_and_lists_the_commands() {
    let out = Fleet::new().cmd(["--help"]).assert_success();
    for command in ["start", "stop", "ps", "logs"] {
        assert!(
            out.stdout.contains(command),
            "--help does not mention {command}:\n{out}"
        );
    }
}

#[test]
fn config_of_the_example_names_every_service_and_vendor() {
    // A copy, so nothing the command writes lands in the repository.
    let fleet = Fleet::new().copy_dir(examples_dir().join("shop"), "shop");
    let out = fleet.cmd(["-C", "shop", "config"]).assert_success();
    for name in ["gateway", "users", "orders", "redis"] {
        assert!(
            out.stdout.contains(name),
            "`config` does not show {name}:\n{out}"
        );
    }
}

#[test]
fn a_command_help_shows_its_own_options_first_then_the_global_ones_in_a_fixed_order() {
    let fleet = Fleet::new();
    let out = fleet
        .cmd(["stop", "--help"])
        .env("COLUMNS", "100")
        .assert_success();
    insta::assert_snapshot!("stop_help", out.stdout);

    // Every command: its own section first, the global one last, in declaration order.
    for command in ["start", "ps", "logs", "test", "exec", "export"] {
        let out = fleet
            .cmd([command, "--help"])
            .env("COLUMNS", "100")
            .assert_success();
        let help = &out.stdout;
        let own = help.find("\nOptions:\n").expect("an Options section");
        let global = help
            .find("\nGlobal options:\n")
            .expect("a Global options section");
        assert!(
            own < global,
            "{command}: own options after global ones:\n{help}"
        );
        let order: Vec<usize> = [
            "--config",
            "--directory",
            "--no-color",
            "--quiet",
            "--verbose",
        ]
        .iter()
        .map(|flag| help[global..].find(flag).expect("every global flag") + global)
        .collect();
        assert!(
            order.is_sorted(),
            "{command}: global flags out of order:\n{help}"
        );
        assert!(
            !help[own..global].contains("--no-color"),
            "{command}: a global flag among its own:\n{help}"
        );
    }
}

#[test]
fn start_that_selects_no_service_says_so_with_exit_2() {
    let fleet = Fleet::new()
        .orchestra_yml("groups:\n  none: []\n")
        .service("users", "run: sleep 60\n")
        .service("orders", "run: sleep 60\n");
    for args in [&["start", "~users", "~orders"][..], &["start", "@none"]] {
        let out = fleet.cmd(args).run();
        assert_eq!(out.code(), Some(2), "{args:?}: {out}");
        assert!(out.stderr.contains("nothing to start"), "{args:?}: {out}");
        assert!(
            out.stderr.contains("help: the services are: orders, users"),
            "{args:?}: {out}"
        );
    }
    // Nothing ran: no daemon was even asked.
    assert!(!fleet.path(".orchestra/daemon.sock").exists());

    let empty = Fleet::new().orchestra_yml("");
    let out = empty.cmd(["start"]).run();
    assert_eq!(out.code(), Some(2), "{out}");
    assert!(
        out.stderr
            .contains("nothing to start: the project has no services or vendors"),
        "{out}"
    );
    assert!(out.stderr.contains("orchestra init --services"), "{out}");
}
