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
