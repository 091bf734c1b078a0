//! Vendors are log sources like services, on a real Docker engine: `logs redis` shows the
//! container's output (and `logs app redis` both, merged; `logs ~redis` the rest), a
//! misspelt name gets the closest service or vendor, and `vendors logs -f` and `logs -f`
//! follow it.

use std::io::{Read, Write};
use std::net::TcpStream;

use orchestra_tests::{Fleet, PATIENCE, wait_until};

use super::{Stream, split_formatted, wait_until_following};
use crate::engine::{EngineCleanup, docker_ready, unique_name};

/// Asks the Redis on `port` to save, which makes it log `DB saved on disk`.
fn redis_save(port: u16) {
    let mut conn = TcpStream::connect(("127.0.0.1", port)).expect("redis answers");
    conn.write_all(b"*1\r\n$4\r\nSAVE\r\n").expect("SAVE sent");
    let mut reply = [0u8; 5];
    conn.read_exact(&mut reply).expect("SAVE answered");
    assert_eq!(&reply, b"+OK\r\n");
}

#[test]
fn a_vendor_is_a_log_source_like_a_service() {
    if !docker_ready() {
        return;
    }
    let name = unique_name("e2e", "vlogs");
    let _cleanup = EngineCleanup(name.clone());
    let fleet = Fleet::new();
    let port = fleet.ports(1);
    let fleet = fleet
        .orchestra_yml(&format!(
            "name: {name}\nvendors:\n  redis:\n    image: orchestra-test/redis:7\n    \
             ports: [\"{port}:6379\"]\n    ready: {{ tcp: 6379 }}\n"
        ))
        .service(
            "app",
            "depends_on: [redis]\nrun: \"echo app up; exec sleep 1000\"\n",
        );
    fleet.cmd(["start"]).assert_success();
    wait_until(PATIENCE, "redis's output in its log", || {
        std::fs::read_to_string(fleet.path(".orchestra/logs/vendor.redis.log"))
            .is_ok_and(|t| t.contains("Ready to accept connections"))
    });

    let out = fleet.cmd(["logs", "redis"]).assert_success();
    assert!(out.stdout.contains("Ready to accept connections"), "{out}");
    assert!(
        out.stdout
            .lines()
            .all(|l| split_formatted(l).is_some_and(|(label, _)| label == "redis")),
        "only redis's lines:\n{out}"
    );
    let out = fleet.cmd(["logs", "app", "redis"]).assert_success();
    assert!(
        out.stdout.contains("app up") && out.stdout.contains("Ready to accept connections"),
        "{out}"
    );
    let out = fleet.cmd(["logs", "~redis"]).assert_success();
    assert!(
        out.stdout.contains("app up") && !out.stdout.contains("Ready to accept"),
        "{out}"
    );
    let out = fleet.cmd(["logs", "redsi"]).assert_exit(2);
    assert!(
        out.stderr.contains("no service or vendor named `redsi`")
            && out.stderr.contains("did you mean `redis`?"),
        "{out}"
    );
    let out = fleet.cmd(["logs", "ap"]).assert_exit(2);
    assert!(out.stderr.contains("did you mean `app`?"), "{out}");

    // Both the vendors' own follow and the whole fleet's show a line redis writes now.
    let follow = |args: &[&str]| {
        let stream = Stream::spawn(&fleet, args, Vec::new(), |seen: &mut Vec<String>, line| {
            seen.push(line.to_owned());
        });
        wait_until_following(stream.pid());
        stream
    };
    let vendors = follow(&["vendors", "logs", "-f", "-n", "0"]);
    let fleet_wide = follow(&["logs", "-f", "-n", "0"]);
    redis_save(port);
    for (what, stream) in [("vendors logs -f", vendors), ("logs -f", fleet_wide)] {
        let seen = stream.wait_for(PATIENCE, what, |seen| {
            seen.iter()
                .any(|l| l.contains("DB saved on disk"))
                .then(|| seen.clone())
        });
        stream.interrupt();
        assert!(
            seen.iter()
                .filter(|l| l.contains("DB saved on disk"))
                .all(|l| split_formatted(l).is_some_and(|(label, _)| label == "redis")),
            "`{what}` labels redis's lines `redis`: {seen:?}"
        );
        assert!(
            seen.iter().all(|l| !l.contains("Ready to accept")),
            "`{what}` with -n 0: no history: {seen:?}"
        );
    }
    fleet.cmd(["stop"]).assert_success();
}
