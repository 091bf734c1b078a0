//! Replacing a scaled service's replicas one at a time, so that it keeps serving.
//!
//! Replica n of a service has its own port (port + n), so its successor can start only once
//! it has stopped. A roll therefore goes replica by replica: stop old n, start new n, wait
//! until it is ready, then n + 1 — at every moment all replicas but one are up. Replicas
//! that are not running (missing, crashed) go first, since replacing them costs nothing.
//!
//! When a new replica fails to become ready, the roll stops there: the failure is reported
//! and the replicas not yet replaced keep running the previous build.

use std::collections::BTreeMap;

use orchestra_core::ReplicaId;
use orchestra_core::spec::ServiceSpec;

use super::{replica_ready, start_replica};
use crate::engine::Failed;
use crate::engine::fleet::{Ctx, stop_all};
use crate::job::ReplicaHandle;

/// Whether replacing `to_start` should roll: the service has several replicas and at least
/// one of those replaced still runs (a first start has nothing to keep up).
pub(super) fn rolls(scale: u32, to_start: &[u32], existing: &BTreeMap<u32, ReplicaHandle>) -> bool {
    scale > 1 && to_start.iter().any(|i| live(existing, *i))
}

fn live(existing: &BTreeMap<u32, ReplicaHandle>, index: u32) -> bool {
    existing.get(&index).is_some_and(|h| !h.state().is_final())
}

/// Replaces the replicas `to_start` of `service` one at a time; stops at the first new
/// replica that does not become ready, leaving the rest as they were.
pub(super) async fn roll(
    ctx: &Ctx,
    service: &ServiceSpec,
    to_start: &[u32],
    existing: &BTreeMap<u32, ReplicaHandle>,
) -> Vec<Failed> {
    let (mut order, running): (Vec<u32>, Vec<u32>) =
        to_start.iter().partition(|&&i| !live(existing, i));
    order.extend(running);
    for (done, &index) in order.iter().enumerate() {
        if let Some(old) = existing.get(&index) {
            stop_all(ctx, vec![old.clone()]).await;
        }
        let new = start_replica(ctx, service, index);
        if let Some(mut failure) = replica_ready(ctx, &new).await {
            if let Failed::NotReady { kept, .. } = &mut failure {
                kept.extend(
                    order[done + 1..]
                        .iter()
                        .filter(|&&i| live(existing, i))
                        .map(|&i| ReplicaId::new(service.name.clone(), i)),
                );
            }
            tracing::warn!(service = %service.name, reason = %failure, "roll stopped");
            return vec![failure];
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;
    use std::time::Duration;

    use orchestra_core::policy::RestartPolicy;
    use orchestra_core::protocol::{Phase, Progress};
    use orchestra_core::spec::{CommandSpec, ProjectSpec, ReadyCheck, ReadyProbe, ServiceSpec};
    use orchestra_core::{ProjectName, ServiceName, StateDir};
    use tokio::sync::mpsc;

    use crate::engine::{Engine, StartOptions};

    /// Three replicas that say `up` after a moment (their readiness), except replica 1 once
    /// the file `fail` exists.
    fn project(root: &Path) -> ProjectSpec {
        let run = "if [ -e fail ] && [ \"$ORCHESTRA_REPLICA\" = 1 ]; then exit 3; fi; \
                   sleep 0.2; echo up; exec sleep 1000";
        let service = ServiceSpec {
            scale: 3,
            ready: Some(ReadyProbe {
                check: ReadyCheck::Log { regex: "up".into() },
                timeout: Duration::from_secs(30),
                interval: ReadyProbe::DEFAULT_INTERVAL,
            }),
            restart: RestartPolicy::Never,
            stop_timeout: Duration::from_secs(5),
            ..ServiceSpec::command(
                ServiceName::new("web").expect("a valid name"),
                root,
                CommandSpec::Shell(run.into()),
            )
        };
        ProjectSpec {
            services: BTreeMap::from([(service.name.clone(), service)]),
            ..ProjectSpec::empty(ProjectName::new("test").expect("a valid name"), root)
        }
    }

    async fn pids(engine: &Engine) -> Vec<Option<i32>> {
        engine.status().await.into_iter().map(|s| s.pid).collect()
    }

    /// The replica phases of a request, as `(replica, phase)`.
    fn phases(mut rx: mpsc::UnboundedReceiver<Progress>) -> Vec<(u32, Phase)> {
        let mut seen = Vec::new();
        while let Ok(p) = rx.try_recv() {
            if let Some(r) = p.replica {
                seen.push((r, p.phase));
            }
        }
        seen
    }

    fn position(seen: &[(u32, Phase)], replica: u32, phase: Phase) -> usize {
        seen.iter()
            .position(|&(r, p)| r == replica && p == phase)
            .unwrap_or_else(|| panic!("no {phase:?} for replica {replica} in {seen:?}"))
    }

    #[tokio::test]
    async fn a_restart_replaces_one_replica_at_a_time() {
        let tmp = tempfile::tempdir().expect("a temp dir");
        let p = project(tmp.path());
        let engine = Engine::new(StateDir::for_project(tmp.path()));
        let (tx, _) = mpsc::unbounded_channel();
        assert!(
            engine
                .start(&p, &[], StartOptions::default(), tx)
                .await
                .is_ok()
        );
        let before = pids(&engine).await;

        let (tx, rx) = mpsc::unbounded_channel();
        let outcome = engine.restart(&p, &[], tx).await;
        assert!(outcome.is_ok(), "{outcome:?}");
        let seen = phases(rx);
        for n in 0..2 {
            // Replica n is ready again before replica n + 1 goes down.
            assert!(
                position(&seen, n, Phase::Ready) < position(&seen, n + 1, Phase::Stopping),
                "{seen:?}"
            );
        }
        let after = pids(&engine).await;
        assert!(
            before.iter().zip(&after).all(|(b, a)| b != a),
            "{before:?} {after:?}"
        );
        let (tx, _) = mpsc::unbounded_channel();
        assert!(engine.stop(&[], tx).await.is_ok());
    }

    #[tokio::test]
    async fn a_replica_that_fails_stops_the_roll_and_keeps_the_rest() {
        let tmp = tempfile::tempdir().expect("a temp dir");
        let p = project(tmp.path());
        let engine = Engine::new(StateDir::for_project(tmp.path()));
        let (tx, _) = mpsc::unbounded_channel();
        assert!(
            engine
                .start(&p, &[], StartOptions::default(), tx)
                .await
                .is_ok()
        );
        let before = pids(&engine).await;

        std::fs::write(tmp.path().join("fail"), "").expect("the marker is written");
        let (tx, _) = mpsc::unbounded_channel();
        let outcome = engine.restart(&p, &[], tx).await;
        assert!(!outcome.is_ok());
        assert_eq!(outcome.failures.len(), 1, "{outcome:?}");
        let reason = &outcome.failures[0].to_string();
        assert!(
            reason.starts_with("web.1: ")
                && reason.ends_with("stopped replacing replicas, web.2 kept"),
            "{reason}"
        );
        let after = pids(&engine).await;
        assert_ne!(after[0], before[0], "web.0 was replaced");
        assert_eq!(after[1], None, "the new web.1 failed");
        assert_eq!(after[2], before[2], "web.2 still runs the previous build");
        let (tx, _) = mpsc::unbounded_channel();
        assert!(engine.stop(&[], tx).await.is_ok());
    }
}
