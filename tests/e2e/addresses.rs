//! One way to address another service: the example shop, whose gateway and orders find
//! their upstreams only through `USERS_ADDR` and `ORDERS_ADDR`, runs unchanged on the host
//! and under `--docker`, and an order placed through the gateway travels gateway → orders →
//! users in both.

use orchestra_tests::{Fleet, PATIENCE, http_post, poll_until, require_go};

use crate::engine::{EngineCleanup, docker_ready, unique_name};
use crate::examples::shop_on_free_ports;

const SHOP: [&str; 3] = ["gateway", "users", "orders"];

/// Places an order for user 1 through the gateway until it is accepted: `201` proves the
/// gateway reached orders and orders reached users.
fn order_through_the_gateway(gateway: u16) -> String {
    let url = format!("http://127.0.0.1:{gateway}/orders");
    let order = r#"{"user_id": 1, "item": "tea", "quantity": 2}"#;
    poll_until(PATIENCE, "an order accepted through the gateway", || {
        http_post(&url, order)
            .filter(|(status, _)| *status == 201)
            .map(|(_, body)| body)
    })
}

/// `orchestra export SVC`'s `KEY='value'` lines, as pairs.
fn exported(fleet: &Fleet, service: &str) -> Vec<(String, String)> {
    let out = fleet.cmd(["export", service]).assert_success();
    out.stdout
        .lines()
        .filter_map(|l| l.strip_prefix("export ")?.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.trim_matches('\'').to_owned()))
        .collect()
}

#[test]
fn on_the_host_a_service_reaches_its_dependencies_at_loopback() {
    require_go();
    let (fleet, gateway) = shop_on_free_ports();
    let users = gateway + 1;
    let env = exported(&fleet, "orders");
    for (key, value) in [
        ("USERS_HOST", "127.0.0.1".to_owned()),
        ("USERS_PORT", users.to_string()),
        ("USERS_ADDR", format!("127.0.0.1:{users}")),
        ("USERS_URL", format!("http://127.0.0.1:{users}")),
    ] {
        assert!(
            env.contains(&(key.to_owned(), value.clone())),
            "{key}={value} missing from {env:?}"
        );
    }

    fleet
        .cmd(["start"].into_iter().chain(SHOP))
        .assert_success();
    let body = order_through_the_gateway(gateway);
    assert!(body.contains("\"item\":\"tea\""), "{body}");
    fleet.cmd(["stop"]).assert_success();
}

#[test]
fn under_docker_a_service_reaches_its_dependencies_by_container_name() {
    require_go();
    if !docker_ready() {
        return;
    }
    let name = unique_name("e2e-addr", "shop");
    let _cleanup = EngineCleanup(name.clone());
    let (fleet, gateway) = shop_on_free_ports();
    let yml = fleet.read("orchestra.yml");
    fleet.write("orchestra.yml", format!("name: {name}\n{yml}"));

    let out = fleet
        .cmd(["start", "--docker"].into_iter().chain(SHOP))
        .assert_success();
    let body = order_through_the_gateway(gateway);
    assert!(body.contains("\"item\":\"tea\""), "{body}\n{out}");
    fleet.cmd(["stop"]).assert_success();
}
