//! The example fleet: its Go services build, vet and pass their own tests, and once
//! `orchestra start` works, the fleet runs and answers through its gateway.

use std::process::Command;

use orchestra_tests::{
    Fleet, PATIENCE, cmdline, examples_dir, http_get, pids_with_cwd_under, require_go, wait_until,
};

const SHOP_SERVICES: [&str; 3] = ["gateway", "users", "orders"];

#[test]
fn shop_services_vet_and_pass_their_go_tests() {
    require_go();
    for service in SHOP_SERVICES {
        let dir = examples_dir().join("shop").join(service);
        for args in [&["vet", "./..."][..], &["test", "./..."]] {
            let out = Command::new("go")
                .args(args)
                .current_dir(&dir)
                .env("GOPROXY", "off")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "go {} in {service} failed:\n{}{}",
                args.join(" "),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// The shop on free ports: its fixed ports 8080–8082 are rewritten so the test cannot
/// collide with anything else on the machine.
pub(crate) fn shop_on_free_ports() -> (Fleet, u16) {
    let fleet = Fleet::new().copy_dir(examples_dir().join("shop"), ".");
    let base = fleet.ports(3);
    for service in SHOP_SERVICES {
        let file = format!("{service}/service.yml");
        let mut yml = fleet.read(&file);
        for (i, port) in ["8080", "8081", "8082"].into_iter().enumerate() {
            yml = yml.replace(port, &(base + i as u16).to_string());
        }
        fleet.write(&file, yml);
    }
    (fleet, base)
}

#[test]
fn shop_starts_serves_through_the_gateway_and_stops_completely() {
    require_go();
    let (fleet, gateway) = shop_on_free_ports();
    fleet.cmd(["start"]).assert_success();

    let user = format!("http://127.0.0.1:{gateway}/users/1");
    wait_until(PATIENCE, "the gateway to serve users", || {
        http_get(&user).is_some_and(|(code, _)| code == 200)
    });
    let (_, body) = http_get(&user).unwrap();
    assert!(body.contains("Ada Lovelace"), "{body}");

    fleet.cmd(["stop"]).assert_success();
    // The project's daemon may stay to serve the next command; nothing else may.
    let left: Vec<String> = pids_with_cwd_under(fleet.root())
        .into_iter()
        .filter_map(cmdline)
        .filter(|command| !command.contains("orchestra daemon"))
        .collect();
    assert!(left.is_empty(), "processes left after stop: {left:?}");
}

#[test]
fn shop_configuration_loads_and_resolves() {
    use orchestra_config::{Discovery, Project, Section, discover};
    use orchestra_core::spec::ProjectSpec;

    let file = discover(&Discovery::WalkUp(examples_dir().join("shop/orders"))).unwrap();
    let project = Project::load(&file).unwrap_or_else(|e| panic!("{:?}", miette::Report::new(e)));
    let resolve = |section| -> ProjectSpec {
        project
            .resolve(section)
            .unwrap_or_else(|e| panic!("{:?}", miette::Report::new(e)))
    };
    let spec = resolve(Section::Start);
    let service = |name: &str| {
        let found = spec.services.iter().find(|(n, _)| n.to_string() == name);
        found.map_or_else(|| panic!("no service {name}"), |(_, s)| s.clone())
    };

    let names: Vec<String> = spec.services.keys().map(ToString::to_string).collect();
    assert_eq!(names, ["gateway", "orders", "users"]);
    assert_eq!(
        spec.vendors
            .keys()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["redis"]
    );
    let ports = SHOP_SERVICES.map(|name| service(name).port);
    assert_eq!(ports, [Some(8080), Some(8081), Some(8082)]);
    assert_eq!(service("gateway").depends_on.len(), 2);
    assert!(
        service("users").ready.is_some(),
        "users has an HTTP ready probe"
    );
    assert_eq!(service("users").env["LOG_LEVEL"], "debug");
    // The `test:` section of orchestra.yml overrides the global env for that command only.
    let test_spec = resolve(Section::Test);
    let users_under_test = test_spec
        .services
        .iter()
        .find(|(n, _)| n.to_string() == "users")
        .unwrap()
        .1;
    assert_eq!(users_under_test.env["LOG_LEVEL"], "warn");
}
