//! The explanation itself: from what is known of a service (its `ps` rows, its probe, the
//! rows of what it waits for, the tails of their logs, its build's first error, who holds
//! its port) to a few lines and whether it is healthy. Pure, so every case is tested
//! without a fleet.

use orchestra_core::{HumanDuration, ReplicaState, ReplicaStatus};

/// Lines of log shown under an explanation.
pub(crate) const TAIL_LINES: usize = 5;

/// Everything `why` looks at for one unit.
#[derive(Debug, Clone, Default)]
pub(crate) struct Facts {
    /// The service or vendor asked about.
    pub unit: String,
    /// Its `ps` rows, one per replica (none: never started, or stopped and forgotten).
    pub rows: Vec<ReplicaStatus>,
    /// Its ready probe, as `tcp 127.0.0.1:8080`, with its timeout.
    pub probe: Option<String>,
    /// The last lines of replica 0's log (of the vendor's, for a vendor).
    pub log_tail: Vec<String>,
    /// The first error line of its last build, when that build failed.
    pub build_error: Option<String>,
    /// Processes outside the fleet holding its ports, as `port 8080 is held by pid 12: cmd`.
    pub port_holders: Vec<String>,
    /// What it waits for, when it waits.
    pub dependency: Option<Box<Facts>>,
}

/// What `why` prints, and its exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Explanation {
    /// Whether the unit runs as it should (exit 0).
    pub healthy: bool,
    /// The lines, the first a summary.
    pub lines: Vec<String>,
}

impl Explanation {
    fn new(healthy: bool, summary: String) -> Self {
        Self {
            healthy,
            lines: vec![summary],
        }
    }

    fn line(&mut self, text: impl Into<String>) {
        self.lines.push(format!("  {}", text.into()));
    }

    fn tail(&mut self, whose: &str, tail: &[String]) {
        if tail.is_empty() {
            return;
        }
        self.line(format!("last lines of {whose}:"));
        for l in tail {
            self.lines.push(format!("    │ {l}"));
        }
    }
}

/// Explains `facts`: the replica in the worst state speaks for the unit.
pub(crate) fn explain(facts: &Facts) -> Explanation {
    let Some(row) = worst(&facts.rows) else {
        return not_running(facts, None);
    };
    let name = &facts.unit;
    let mut e = match row.state {
        ReplicaState::Running => return running(facts, row),
        ReplicaState::Exited => {
            let mut e = Explanation::new(true, format!("{name} ran to completion (exit 0)"));
            e.tail(&unit_log(facts), &facts.log_tail);
            return e;
        }
        ReplicaState::Waiting => return waiting(facts, row),
        ReplicaState::Building => Explanation::new(false, format!("{name} is being built")),
        ReplicaState::Starting => starting(facts, row),
        ReplicaState::Backoff | ReplicaState::Crashed => crashed(facts, row),
        ReplicaState::Stopping => Explanation::new(false, format!("{name} is being stopped")),
        ReplicaState::Stopped => return not_running(facts, Some(row)),
    };
    for holder in &facts.port_holders {
        e.line(holder.clone());
    }
    e.tail(&unit_log(facts), &facts.log_tail);
    e
}

/// The replica that explains the unit's state: the one furthest from running.
fn worst(rows: &[ReplicaStatus]) -> Option<&ReplicaStatus> {
    let rank = |s: ReplicaState| match s {
        ReplicaState::Crashed => 0,
        ReplicaState::Backoff => 1,
        ReplicaState::Stopped => 2,
        ReplicaState::Building => 3,
        ReplicaState::Waiting => 4,
        ReplicaState::Starting => 5,
        ReplicaState::Stopping => 6,
        ReplicaState::Exited => 7,
        ReplicaState::Running => 8,
    };
    rows.iter().min_by_key(|r| (rank(r.state), r.replica))
}

fn unit_log(facts: &Facts) -> String {
    match facts.rows.first() {
        Some(r) if r.kind == orchestra_core::state::UnitKind::Service => {
            format!("{}.{}", facts.unit, r.replica)
        }
        _ => facts.unit.clone(),
    }
}

fn running(facts: &Facts, row: &ReplicaStatus) -> Explanation {
    let ready = facts
        .rows
        .iter()
        .filter(|r| r.state == ReplicaState::Running)
        .count();
    let replicas = if facts.rows.len() > 1 {
        format!("{ready} of {} replicas are", facts.rows.len())
    } else {
        "it is".to_owned()
    };
    let probe = match &facts.probe {
        Some(p) => format!("its probe ({p}) passed"),
        None => "it has no ready probe".to_owned(),
    };
    let mut e = Explanation::new(
        ready == facts.rows.len(),
        format!("{} is running: {replicas} up and {probe}", facts.unit),
    );
    let mut detail = Vec::new();
    if let Some(pid) = row.pid {
        detail.push(format!("pid {pid}"));
    }
    if let Some(up) = row.uptime_s {
        detail.push(format!(
            "up {}",
            HumanDuration(std::time::Duration::from_secs(up))
        ));
    }
    if !row.ports.is_empty() {
        let ports: Vec<String> = row.ports.iter().map(ToString::to_string).collect();
        detail.push(format!("listening on {}", ports.join(", ")));
    }
    if row.restarts > 0 {
        detail.push(format!("{} restarts", row.restarts));
    }
    if !detail.is_empty() {
        e.line(detail.join(", "));
    }
    e
}

fn starting(facts: &Facts, row: &ReplicaStatus) -> Explanation {
    let since = row
        .uptime_s
        .map(|s| format!(" for {}", HumanDuration(std::time::Duration::from_secs(s))))
        .unwrap_or_default();
    let probe = match &facts.probe {
        Some(p) => format!("its probe {p} has not passed{since}"),
        None => format!("it has been starting{since}"),
    };
    let mut e = Explanation::new(false, format!("{} is not ready: {probe}", facts.unit));
    if let Some(reason) = &row.reason {
        e.line(reason.clone());
    }
    e
}

fn crashed(facts: &Facts, row: &ReplicaStatus) -> Explanation {
    let what = if row.state == ReplicaState::Crashed {
        "crashed"
    } else {
        "crashed and waits to be restarted"
    };
    let reason = row
        .reason
        .as_deref()
        .map(|r| format!(": {r}"))
        .unwrap_or_default();
    let mut e = Explanation::new(false, format!("{} {what}{reason}", facts.unit));
    if row.restarts > 0 {
        e.line(format!("restarted {} times", row.restarts));
    }
    if let Some(error) = &facts.build_error {
        e.line(format!("its last build failed: {error}"));
    }
    e
}

fn waiting(facts: &Facts, row: &ReplicaStatus) -> Explanation {
    let reason = row.reason.clone().unwrap_or_else(|| "waiting".into());
    let Some(dep) = &facts.dependency else {
        return Explanation::new(false, format!("{} is not started: {reason}", facts.unit));
    };
    let inner = explain(dep);
    let mut e = Explanation::new(
        false,
        format!(
            "{} is not started: it waits for {}, which is not ready",
            facts.unit, dep.unit
        ),
    );
    for line in &inner.lines {
        e.line(line.clone());
    }
    e
}

fn not_running(facts: &Facts, row: Option<&ReplicaStatus>) -> Explanation {
    let name = &facts.unit;
    let mut e = match (&facts.build_error, row.and_then(|r| r.reason.as_deref())) {
        (Some(error), _) => {
            let mut e = Explanation::new(false, format!("{name} is not running: its build failed"));
            e.line(format!("first error: {error}"));
            e
        }
        (None, Some(reason)) => Explanation::new(false, format!("{name} is not running: {reason}")),
        (None, None) => Explanation::new(
            false,
            format!("{name} is not running: it was stopped, or never started"),
        ),
    };
    // The engine's reason may already name the holder: said once is enough.
    for holder in &facts.port_holders {
        if !e.lines[0].contains(holder.as_str()) {
            e.line(holder.clone());
        }
    }
    if facts.build_error.is_none() && facts.port_holders.is_empty() {
        e.line(format!("`orchestra start {name}` starts it"));
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use orchestra_core::state::UnitKind;

    fn row(state: ReplicaState, reason: Option<&str>) -> ReplicaStatus {
        ReplicaStatus {
            pid: Some(42),
            ports: vec![8080],
            uptime_s: Some(12),
            reason: reason.map(str::to_owned),
            ..ReplicaStatus::new("users", 0, UnitKind::Service, state)
        }
    }

    fn facts(rows: Vec<ReplicaStatus>) -> Facts {
        Facts {
            unit: "users".into(),
            rows,
            probe: Some("tcp 127.0.0.1:8080".into()),
            log_tail: vec!["listening".into()],
            ..Facts::default()
        }
    }

    #[test]
    fn a_running_service_is_healthy() {
        let e = explain(&facts(vec![row(ReplicaState::Running, None)]));
        assert!(e.healthy);
        assert_eq!(
            e.lines,
            [
                "users is running: it is up and its probe (tcp 127.0.0.1:8080) passed",
                "  pid 42, up 12s, listening on 8080"
            ]
        );
    }

    #[test]
    fn a_crash_says_why_with_the_last_lines() {
        let mut r = row(
            ReplicaState::Crashed,
            Some("exited with code 2 after 0.3s; gave up after 5 restarts in a row"),
        );
        r.restarts = 5;
        let e = explain(&facts(vec![r]));
        assert!(!e.healthy);
        assert_eq!(
            e.lines,
            [
                "users crashed: exited with code 2 after 0.3s; gave up after 5 restarts in a row",
                "  restarted 5 times",
                "  last lines of users.0:",
                "    │ listening"
            ]
        );
    }

    #[test]
    fn waiting_explains_the_dependency() {
        let mut dep = facts(vec![row(ReplicaState::Starting, None)]);
        dep.unit = "orders".into();
        dep.log_tail = vec!["connecting to the database".into()];
        let mut f = facts(vec![row(ReplicaState::Waiting, Some("waiting for orders"))]);
        f.dependency = Some(Box::new(dep));
        let e = explain(&f);
        assert!(!e.healthy);
        assert_eq!(
            e.lines,
            [
                "users is not started: it waits for orders, which is not ready",
                "  orders is not ready: its probe tcp 127.0.0.1:8080 has not passed for 12s",
                "    last lines of orders.0:",
                "      │ connecting to the database"
            ]
        );
    }

    #[test]
    fn a_failed_build_shows_its_first_error_and_a_held_port_its_holder() {
        let mut f = facts(Vec::new());
        f.build_error = Some("./main.go:5:2: undefined: nope".into());
        let e = explain(&f);
        assert_eq!(
            e.lines,
            [
                "users is not running: its build failed",
                "  first error: ./main.go:5:2: undefined: nope"
            ]
        );
        let mut f = facts(vec![row(ReplicaState::Stopped, Some("port 8080 is taken"))]);
        f.port_holders = vec!["port 8080 is held by pid 7: python3 -m http.server 8080".into()];
        let e = explain(&f);
        assert_eq!(
            e.lines,
            [
                "users is not running: port 8080 is taken",
                "  port 8080 is held by pid 7: python3 -m http.server 8080"
            ]
        );
    }
}
