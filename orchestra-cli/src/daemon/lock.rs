//! The daemon's lock: one live daemon per project.
//!
//! An exclusive `flock` on `.orchestra/daemon.lock`, held for the daemon's whole life. The
//! kernel drops it when the process dies, however it dies, so a crashed daemon never blocks
//! the next one and two daemons can never run at once.

use std::fs::File;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg};

/// The held lock; dropping it releases it.
pub struct DaemonLock {
    lock: Flock<File>,
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another daemon holds it.
    #[error("another orchestra daemon already runs for this project")]
    Held,
    /// The lock file could not be opened.
    #[error("cannot open {path}")]
    Open {
        /// The lock file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl DaemonLock {
    /// Takes the lock without waiting.
    pub fn acquire(path: &Path) -> Result<Self, LockError> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(|source| LockError::Open {
                path: path.display().to_string(),
                source,
            })?;
        let lock =
            Flock::lock(file, FlockArg::LockExclusiveNonblock).map_err(|_| LockError::Held)?;
        Ok(Self { lock })
    }

    /// Takes the lock, or finds that another daemon serves the project (`None`). While the
    /// lock is held by a daemon that does not answer on `socket`, that daemon is either
    /// starting (it will answer) or exiting (it will release the lock): wait for one or
    /// the other, up to `patience`. So a client that came just as the last daemon left
    /// (or was killed: a dying daemon's socket does not count) gets a new one instead of
    /// nobody.
    pub async fn acquire_or_defer(
        path: &Path,
        socket: &Path,
        patience: Duration,
    ) -> Result<Option<Self>, LockError> {
        let deadline = Instant::now() + patience;
        loop {
            match Self::acquire(path) {
                Ok(lock) => return Ok(Some(lock)),
                Err(LockError::Held) => {}
                Err(e) => return Err(e),
            }
            if super::client::connect_live(socket).await.is_some() || Instant::now() >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The device and inode of the locked file, to notice when its path no longer leads to
    /// it (the state folder was removed or replaced).
    pub fn file_id(&self) -> Option<(u64, u64)> {
        use std::os::unix::fs::MetadataExt;
        self.lock.metadata().ok().map(|m| (m.dev(), m.ino()))
    }

    /// Whether some process holds the lock now (the daemon is alive).
    pub fn is_held(path: &Path) -> bool {
        matches!(Self::acquire(path), Err(LockError::Held))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_one_holder_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("daemon.lock");
        let first = DaemonLock::acquire(&path).unwrap();
        assert!(matches!(DaemonLock::acquire(&path), Err(LockError::Held)));
        assert!(DaemonLock::is_held(&path));
        drop(first);
        assert!(!DaemonLock::is_held(&path));
        assert!(DaemonLock::acquire(&path).is_ok());
    }
}
