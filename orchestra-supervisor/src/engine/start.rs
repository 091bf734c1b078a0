//! A start: the counts checked against the fleet's ports, the ground cleared of processes
//! outside the engine ([`super::hygiene`]), then the services brought up in dependency
//! order ([`super::up`]), unless the start is cancelled first.

use std::collections::BTreeSet;
use std::sync::Arc;

use orchestra_core::ServiceName;
use orchestra_core::spec::ProjectSpec;

use super::fleet::{Cancelled, Events, Fleet, cancel_start, prepend, selection, unknown};
use super::hygiene::clear;
use super::order::with_dependencies;
use super::up::{Plan, bring_up};
use super::{Outcome, StartOptions};

impl Fleet {
    /// Carries out [`super::Engine::start_unless`].
    pub(super) async fn start(
        &self,
        project: Arc<ProjectSpec>,
        services: &[ServiceName],
        opts: StartOptions,
        events: Events,
        cancelled: Cancelled,
    ) -> Outcome {
        let counts = match self.check_plan(&project, &opts.scale) {
            Ok(counts) => counts,
            Err(refused) => return refused,
        };
        let unknown = unknown(&project, services);
        let set = with_dependencies(&project, &selection(&project, services));
        let ctx = self.ctx(events);
        let up = async {
            let held = match clear(&ctx, &project, &set, &counts, opts.hygiene).await {
                Ok(held) => held,
                // Refused for strays: nothing starts, and no count is remembered.
                Err(refusals) => {
                    return Outcome {
                        held_back: set.iter().cloned().collect(),
                        ..Outcome::from_failures(refusals)
                    };
                }
            };
            self.remember_counts(&opts.scale);
            let plan = Plan {
                scale: counts,
                build: !opts.no_build,
                replace: BTreeSet::new(),
                keep_live: false,
            };
            bring_up(ctx.clone(), project.clone(), set.clone(), plan, held).await
        };
        let mut outcome = tokio::select! {
            biased;
            () = cancelled => cancel_start(&ctx).await,
            outcome = up => outcome,
        };
        prepend(&mut outcome, unknown);
        outcome
    }
}
