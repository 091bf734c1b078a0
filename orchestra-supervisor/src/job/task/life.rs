//! The life of a replica across its runs: the restart policy and backoff between runs,
//! restarts asked for by hand, and the wait in a final state (from which a restart can
//! still bring a crashed or exited replica back).

use std::sync::Arc;
use std::time::Duration;

use orchestra_core::ReplicaState;
use orchestra_core::policy::Backoff;

use super::{RunEnd, Task};
use crate::backend::RunningReplica;
use crate::event::FleetEvent;
use crate::job::Control;

impl Task {
    /// Runs the replica until it is done; then waits, answering late messages, until
    /// every handle is gone or a restart brings it back.
    pub(in crate::job) async fn run(mut self, mut adopted: Option<(Arc<dyn RunningReplica>, u64)>) {
        loop {
            let (state, reason) = self.life(adopted.take()).await;
            self.remove_record();
            self.set(state, None, None, reason);
            if state == ReplicaState::Stopped {
                self.emit(|replica| FleetEvent::Stopped { replica });
            }
            if !self.rest(state).await {
                return;
            }
            self.restarts += 1;
            self.gave_up_after = None;
        }
    }

    /// Runs, restarts by policy with backoff, until stopped or given up on: the final
    /// state, and why.
    async fn life(
        &mut self,
        mut adopted: Option<(Arc<dyn RunningReplica>, u64)>,
    ) -> (ReplicaState, Option<String>) {
        let mut backoff = Backoff::new(self.config.backoff);
        loop {
            let end = match adopted.take() {
                Some((running, started_at)) => self.supervise(running, started_at, None).await,
                None => self.spawn_and_supervise().await,
            };
            let (end, uptime, reason) = match end {
                RunEnd::Stopped => return (ReplicaState::Stopped, None),
                RunEnd::Restart => {
                    self.emit(|replica| FleetEvent::Stopped { replica });
                    backoff = Backoff::new(self.config.backoff);
                    self.restarts += 1;
                    continue;
                }
                RunEnd::GaveUp(reason) => return self.crashed(reason),
                RunEnd::Ended(end, uptime, reason) => {
                    self.last_exit = Some((end, uptime));
                    (end, uptime, reason)
                }
            };
            if !self.config.restart.should_restart(end) {
                if end.success() {
                    return (ReplicaState::Exited, Some(reason));
                }
                return self.crashed(reason);
            }
            let Some(delay) = backoff.after_exit(uptime) else {
                let restarts = backoff.consecutive();
                self.emit(|replica| FleetEvent::GaveUp {
                    replica,
                    restarts,
                    reason: reason.clone(),
                });
                self.gave_up_after = Some(restarts);
                let reason = format!("{reason}; gave up after {restarts} restarts in a row");
                return (ReplicaState::Crashed, Some(reason));
            };
            self.set(ReplicaState::Backoff, None, None, Some(reason.clone()));
            let attempt = self.restarts + 1;
            self.emit(|replica| FleetEvent::Restarting {
                replica,
                delay,
                attempt,
            });
            if self.wait_out(delay).await {
                return (ReplicaState::Stopped, None);
            }
            self.restarts += 1;
        }
    }

    fn crashed(&self, reason: String) -> (ReplicaState, Option<String>) {
        self.emit(|replica| FleetEvent::Crashed {
            replica,
            reason: reason.clone(),
        });
        (ReplicaState::Crashed, Some(reason))
    }

    /// Waits in a final state, answering messages: `true` when a restart arrived (a
    /// stopped replica stays stopped: its stop was meant), `false` once every handle is
    /// gone.
    async fn rest(&mut self, state: ReplicaState) -> bool {
        while let Some(msg) = self.inbox.recv().await {
            match msg {
                Control::Signal(_, reply) => {
                    let _ = reply.send(Ok(0));
                }
                Control::Restart(reply) if state != ReplicaState::Stopped => {
                    self.restart_reply = Some(reply);
                    return true;
                }
                Control::Restart(_) | Control::Stop => {}
            }
        }
        false
    }

    /// Sleeps through a backoff delay; `true` when a stop arrived meanwhile.
    async fn wait_out(&mut self, delay: Duration) -> bool {
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                () = &mut sleep => return false,
                msg = self.inbox.recv() => match msg {
                    Some(Control::Stop) | None => return true,
                    Some(Control::Signal(_, reply)) => { let _ = reply.send(Ok(0)); }
                    Some(Control::Restart(reply)) => {
                        self.restart_reply = Some(reply);
                        return false;
                    }
                },
            }
        }
    }
}
