//! The pids of children this process spawned through Orchestra and still waits for.
//!
//! The orphan reaper must never reap one of them: tokio waits for its own children by pid,
//! and a status stolen by `waitpid` would turn that wait into an error. A child that dies
//! at once must therefore be registered before the reaper can look at it.
//!
//! Spawns share one gate and the reaper's look at the children takes it alone: any number
//! of spawns run at once (each `posix_spawn` waits for its child's `exec`, which on a
//! second core proceeds in parallel with another), and the reaper waits only for the
//! spawns in flight to register their children. A single lock around every spawn made a
//! fleet's starts one at a time.

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Shared by spawns in flight, exclusive for a look at the children.
static GATE: RwLock<()> = RwLock::new(());
static OWNED: Mutex<Option<HashSet<i32>>> = Mutex::new(None);

fn with_set<T>(f: impl FnOnce(&mut HashSet<i32>) -> T) -> T {
    let mut set = OWNED.lock().unwrap_or_else(PoisonError::into_inner);
    f(set.get_or_insert_with(HashSet::new))
}

/// A spawn in flight: no look at the children happens until it is dropped, so the child
/// it starts is registered before anyone may reap it.
pub(crate) struct Spawning {
    _gate: RwLockReadGuard<'static, ()>,
}

impl Spawning {
    pub fn begin() -> Self {
        Self {
            _gate: GATE.read().unwrap_or_else(PoisonError::into_inner),
        }
    }

    /// Registers the spawned child until the returned [`OwnedPid`] is dropped.
    #[expect(
        clippy::unused_self,
        reason = "a method of the guard, so that only a spawn holding the gate registers"
    )]
    pub fn register(&self, pid: i32) -> OwnedPid {
        with_set(|set| set.insert(pid));
        OwnedPid(pid)
    }
}

/// The registry, with no spawn in flight: what it does not hold is nobody's to wait for.
pub(crate) struct Owned {
    _gate: RwLockWriteGuard<'static, ()>,
}

impl Owned {
    pub fn lock() -> Self {
        Self {
            _gate: GATE.write().unwrap_or_else(PoisonError::into_inner),
        }
    }

    #[expect(
        clippy::unused_self,
        reason = "a method of the guard, so that the registry is read with no spawn in flight"
    )]
    pub fn contains(&self, pid: i32) -> bool {
        with_set(|set| set.contains(&pid))
    }
}

/// Keeps a pid registered until dropped (after its wait returned).
#[derive(Debug)]
pub(crate) struct OwnedPid(i32);

impl Drop for OwnedPid {
    fn drop(&mut self) {
        with_set(|set| set.remove(&self.0));
    }
}
