//! The pids of children this process spawned through Orchestra and still waits for.
//!
//! The orphan reaper must never reap one of them: tokio waits for its own children by pid,
//! and a status stolen by `waitpid` would turn that wait into an error. Spawning happens
//! under the same lock the reaper takes, so a child that dies at once is registered before
//! the reaper can look at it.

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard, PoisonError};

static OWNED: Mutex<Option<HashSet<i32>>> = Mutex::new(None);

/// The registry, locked.
pub(crate) struct Owned(MutexGuard<'static, Option<HashSet<i32>>>);

impl Owned {
    pub fn lock() -> Self {
        Self(OWNED.lock().unwrap_or_else(PoisonError::into_inner))
    }

    pub fn insert(&mut self, pid: i32) -> OwnedPid {
        self.0.get_or_insert_with(HashSet::new).insert(pid);
        OwnedPid(pid)
    }

    pub fn contains(&self, pid: i32) -> bool {
        self.0.as_ref().is_some_and(|s| s.contains(&pid))
    }
}

/// Keeps a pid registered until dropped (after its wait returned).
#[derive(Debug)]
pub(crate) struct OwnedPid(i32);

impl Drop for OwnedPid {
    fn drop(&mut self) {
        if let Some(set) = Owned::lock().0.as_mut() {
            set.remove(&self.0);
        }
    }
}
