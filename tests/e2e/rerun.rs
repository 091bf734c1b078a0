//! Rerun through the real binary: an edit of a Go service's source is rebuilt and served; a
//! broken build or a failing test never replaces what runs; a burst of changes gives one
//! rebuild; ignored files give none; a scaled service is replaced one replica at a time;
//! `orchestra restart` takes the same path.
//!
//! The service is a small Go HTTP server written by the test, whose answer is the Go const
//! `greeting` (in greeting.go) and its pid: editing the const and reading the answer shows
//! which build serves. Assertions that nothing happens (no second rebuild, no rebuild for
//! an ignored file) watch the rerun count through a quiet period with `holds_for`:
//! [`QUIET`], longer than the watcher's longest hold-back of a burst (2 s).

mod edits;
mod monorepo;
mod rolling;
mod watching;

use std::time::Duration;

use orchestra_tests::{Fleet, http_get, poll_until, require_go};
use serde_json::Value;

/// How long a fleet with a Go build may take on a busy machine.
const BUILD_PATIENCE: Duration = Duration::from_secs(240);

/// Long enough for a change the watcher saw to have started a rebuild: its debounce (100 ms)
/// and longest hold-back of a burst (2 s), with a margin for a loaded machine.
const QUIET: Duration = Duration::from_secs(4);

const MAIN_GO: &str = r#"package main

import (
	"fmt"
	"net/http"
	"os"
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s pid %d\n", greeting, os.Getpid())
	})
	fmt.Println("listening on", os.Getenv("PORT"))
	if err := http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), nil); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
}
"#;

/// A unit test that fails when the greeting is `broken`.
const MAIN_TEST_GO: &str = r#"package main

import "testing"

func TestGreetingIsNotBroken(t *testing.T) {
	if greeting == "broken" {
		t.Fatalf("the greeting is %q", greeting)
	}
}
"#;

/// The source of greeting.go answering `text`.
fn greeting_go(text: &str) -> String {
    format!("package main\n\nconst greeting = \"{text}\"\n")
}

/// A fleet with Go service `web` (answering `v1`) in folder `web/`, on `scale` free ports;
/// `yml` is added to its service.yml. Returns the fleet and web's first port.
fn go_fleet(scale: u16, yml: &str) -> (Fleet, u16) {
    go_fleet_in("web/", "", scale, yml)
}

/// [`go_fleet`] with web's folder being `dir` (`""`: the project root) and `orchestra_yml`.
fn go_fleet_in(dir: &str, orchestra_yml: &str, scale: u16, yml: &str) -> (Fleet, u16) {
    require_go();
    let fleet = Fleet::new().orchestra_yml(orchestra_yml);
    let port = fleet.ports(scale);
    let fleet = fleet
        .file(
            format!("{dir}go.mod"),
            "module orchestra.test/web\n\ngo 1.19\n",
        )
        .file(format!("{dir}main.go"), MAIN_GO)
        .file(format!("{dir}main_test.go"), MAIN_TEST_GO)
        .file(format!("{dir}greeting.go"), greeting_go("v1"))
        .file(
            format!("{dir}service.yml"),
            format!("name: web\nport: {port}\nscale: {scale}\nready: {{ tcp: $PORT }}\n{yml}"),
        );
    (fleet, port)
}

/// What replica on `port` answers: its greeting and pid.
fn answer(port: u16) -> Option<(String, u32)> {
    let (code, body) = http_get(&format!("http://127.0.0.1:{port}/"))?;
    if code != 200 {
        return None;
    }
    let (greeting, pid) = body.trim().split_once(" pid ")?;
    Some((greeting.to_owned(), pid.parse().ok()?))
}

/// Waits until the replica on `port` answers `greeting`; returns its pid.
fn wait_for_greeting(port: u16, greeting: &str) -> u32 {
    poll_until(
        BUILD_PATIENCE,
        &format!("port {port} to answer {greeting:?}"),
        || answer(port).and_then(|(g, pid)| (g == greeting).then_some(pid)),
    )
}

/// Everything `orchestra logs web` shows (its rotated history included).
fn logs(fleet: &Fleet) -> String {
    fleet
        .cmd(["logs", "web", "-n", "1000000"])
        .assert_success()
        .stdout
}

/// How many reruns web's log announces (`[orchestra] web: web/greeting.go changed →
/// rebuilding`); a build started again for newer changes of the same rerun is not one.
fn reruns(fleet: &Fleet) -> usize {
    logs(fleet)
        .lines()
        .filter(|l| l.contains("[orchestra] web: ") && l.contains("changed → rebuilding"))
        .count()
}

/// The `reason` `ps --json` shows for web.0 (`None` when there is none).
fn ps_reason(fleet: &Fleet) -> Option<String> {
    let out = fleet.cmd(["ps", "--json"]).assert_success();
    let rows: Vec<Value> = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("`ps --json` printed no JSON array ({e}): {out}"));
    let row = rows
        .iter()
        .find(|r| r["service"] == "web" && r["replica"] == 0)
        .unwrap_or_else(|| panic!("no web.0 in {rows:?}"));
    row["reason"].as_str().map(str::to_owned)
}
