//! The stop ladder: stop signal → grace → SIGKILL, with the decisions kept pure.
//!
//! [`next_step`] decides from what has been sent, the time spent and whether anything is
//! alive; [`stop_replica`] carries the decisions out against any backend. A zero timeout
//! kills at once; a "kill now" request (a second stop) jumps to SIGKILL.

use std::time::Duration;

use orchestra_core::{ProcessEnd, Signal};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::backend::RunningReplica;
use crate::error::SupervisorError;

/// How a replica is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopPlan {
    /// The first signal.
    pub signal: Signal,
    /// Grace before SIGKILL.
    pub timeout: Duration,
}

/// How often the tree is checked while waiting. Checks look at known pids only, so this is
/// cheap; a full `/proc` scan happens before each signal and before declaring it gone.
pub const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// SIGKILL is sent again this often while something survives (it may have forked).
pub const KILL_REPEAT: Duration = Duration::from_millis(500);
/// After SIGKILL, how long survivors are tolerated before the stop is reported failed
/// (a process in uninterruptible sleep dies only when its I/O returns).
pub const KILL_GIVE_UP: Duration = Duration::from_secs(10);

/// Where the ladder stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LadderState {
    /// When the stop signal was sent (time since the stop began).
    pub signalled_at: Option<Duration>,
    /// When SIGKILL was last sent, and when first.
    pub killed_at: Option<(Duration, Duration)>,
}

/// The next thing to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Send this signal to the whole tree.
    Send(Signal),
    /// Wait a little and look again.
    Poll,
    /// Everything is gone.
    Done,
    /// Still alive long after SIGKILL: give up and report.
    GiveUp,
}

/// Decides the next step. `now` is the time since the stop began.
pub fn next_step(
    plan: &StopPlan,
    state: &LadderState,
    now: Duration,
    alive: bool,
    kill_now: bool,
) -> Step {
    if !alive {
        return Step::Done;
    }
    match (state.signalled_at, state.killed_at) {
        (_, Some((first, last))) => {
            if now.saturating_sub(first) >= KILL_GIVE_UP {
                Step::GiveUp
            } else if now.saturating_sub(last) >= KILL_REPEAT {
                Step::Send(Signal::KILL)
            } else {
                Step::Poll
            }
        }
        (None, None) if kill_now || plan.timeout.is_zero() || plan.signal == Signal::KILL => {
            Step::Send(Signal::KILL)
        }
        (None, None) => Step::Send(plan.signal),
        (Some(at), None) if kill_now || now.saturating_sub(at) >= plan.timeout => {
            Step::Send(Signal::KILL)
        }
        (Some(_), None) => Step::Poll,
    }
}

/// What a stop did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopReport {
    /// How the main process ended, when known.
    pub end: Option<ProcessEnd>,
    /// Whether SIGKILL was needed.
    pub killed: bool,
}

/// Stops every process of `replica` following `plan`. Setting `kill_now` to `true` (at any
/// time) jumps to SIGKILL.
pub async fn stop_replica(
    replica: &dyn RunningReplica,
    plan: StopPlan,
    mut kill_now: watch::Receiver<bool>,
) -> Result<StopReport, SupervisorError> {
    let started = Instant::now();
    let mut state = LadderState::default();
    // Most processes exit within milliseconds of the signal: look again soon, then back off
    // to the regular interval, so a quick exit is not held up by a fixed wait. The main
    // process's exit is heard at once: a replica's successor waits for its port.
    let mut pause = Duration::from_millis(2);
    let mut heard_end = replica.end().is_some();
    loop {
        let now = started.elapsed();
        let alive = replica.alive().await;
        let urgent = *kill_now.borrow_and_update();
        match next_step(&plan, &state, now, alive, urgent) {
            Step::Done => break,
            Step::GiveUp => {
                let stats = replica.stats().await;
                return Err(SupervisorError::Unkillable {
                    replica: format!("pid {}", replica.identity().pid),
                    pids: stats.pids,
                });
            }
            Step::Send(signal) => {
                replica.signal(signal).await?;
                if signal == Signal::KILL {
                    let first = state.killed_at.map_or(now, |(first, _)| first);
                    state.killed_at = Some((first, now));
                } else {
                    state.signalled_at = Some(now);
                }
            }
            Step::Poll => {
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    _ = kill_now.changed() => {}
                    _ = replica.wait(), if !heard_end => heard_end = true,
                }
                pause = (pause * 2).min(POLL_INTERVAL);
            }
        }
    }
    // The main process's status arrives through its waiter; give it a moment.
    let end = match replica.end() {
        Some(end) => Some(end),
        None => tokio::time::timeout(Duration::from_secs(1), replica.wait())
            .await
            .ok(),
    };
    Ok(StopReport {
        end,
        killed: state.killed_at.is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAN: StopPlan = StopPlan {
        signal: Signal::TERM,
        timeout: Duration::from_secs(10),
    };
    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn graceful_then_kill_after_the_timeout() {
        let mut st = LadderState::default();
        assert_eq!(
            next_step(&PLAN, &st, S(0), true, false),
            Step::Send(Signal::TERM)
        );
        st.signalled_at = Some(S(0));
        assert_eq!(next_step(&PLAN, &st, S(5), true, false), Step::Poll);
        assert_eq!(
            next_step(&PLAN, &st, S(10), true, false),
            Step::Send(Signal::KILL)
        );
        assert_eq!(next_step(&PLAN, &st, S(3), false, false), Step::Done);
    }

    #[test]
    fn zero_timeout_and_kill_now_kill_at_once() {
        let st = LadderState::default();
        let zero = StopPlan {
            timeout: Duration::ZERO,
            ..PLAN
        };
        assert_eq!(
            next_step(&zero, &st, S(0), true, false),
            Step::Send(Signal::KILL)
        );
        assert_eq!(
            next_step(&PLAN, &st, S(0), true, true),
            Step::Send(Signal::KILL)
        );
        let signalled = LadderState {
            signalled_at: Some(S(0)),
            killed_at: None,
        };
        assert_eq!(
            next_step(&PLAN, &signalled, S(1), true, true),
            Step::Send(Signal::KILL)
        );
    }

    #[test]
    fn kill_is_repeated_then_given_up() {
        let st = LadderState {
            signalled_at: Some(S(0)),
            killed_at: Some((S(10), S(10))),
        };
        assert_eq!(
            next_step(&PLAN, &st, Duration::from_millis(10_100), true, false),
            Step::Poll
        );
        assert_eq!(
            next_step(&PLAN, &st, Duration::from_millis(10_600), true, false),
            Step::Send(Signal::KILL)
        );
        assert_eq!(next_step(&PLAN, &st, S(20), true, false), Step::GiveUp);
        assert_eq!(next_step(&PLAN, &st, S(20), false, false), Step::Done);
    }

    #[test]
    fn nothing_alive_needs_nothing() {
        assert_eq!(
            next_step(&PLAN, &LadderState::default(), S(0), false, false),
            Step::Done
        );
    }
}
