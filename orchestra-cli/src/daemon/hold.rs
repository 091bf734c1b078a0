//! The daemon's hold on its state folder. `.orchestra` removed or replaced under a running
//! fleet (`git clean -fdx`, `rm -rf .orchestra`) is noticed and taken back, so that the
//! next command finds the fleet instead of starting a second one.
//!
//! # How it works
//!
//! The daemon remembers the files it holds — the lock file it locked and the socket it
//! listens on — by device and inode, and once a second looks at their paths again. A
//! missing or different file means the folder was removed or replaced: the daemon creates
//! it again, locks the new lock file, listens on a new socket, points its own log at a new
//! `daemon.log`, and the caller writes the replicas' records again. If another daemon locked
//! the new folder first (a command came in the moment between), the project is that
//! daemon's: this one must stop its fleet and leave, so that two fleets never run.

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use orchestra_core::StateDir;
use tokio::net::UnixListener;

use super::listen;
use super::lock::{DaemonLock, LockError};

/// A file as the kernel knows it: device and inode.
type FileId = (u64, u64);

fn file_id(path: &Path) -> Option<FileId> {
    std::fs::symlink_metadata(path)
        .ok()
        .map(|m| (m.dev(), m.ino()))
}

/// The lock and socket a daemon holds in its state folder.
pub struct Hold {
    /// Held for its drop: the flock lives as long as the daemon holds the folder.
    lock: DaemonLock,
    lock_id: Option<FileId>,
    socket_id: Option<FileId>,
}

/// Why the folder could not be taken back.
#[derive(Debug, thiserror::Error)]
pub enum Lost {
    /// Another daemon locked the new folder first.
    #[error("another orchestra daemon took the recreated state folder")]
    Taken,
    /// Something could not be created or bound.
    #[error("cannot take back the state folder: {context}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

impl Hold {
    /// The hold of a daemon that locked `lock` and listens on the state folder's socket.
    pub fn new(lock: DaemonLock, state: &StateDir) -> Self {
        Self {
            lock_id: lock.file_id(),
            socket_id: file_id(&state.socket()),
            lock,
        }
    }

    /// Whether the socket at its path is still the one this daemon listens on.
    pub fn owns_socket(&self, state: &StateDir) -> bool {
        self.socket_id.is_some() && file_id(&state.socket()) == self.socket_id
    }

    /// Remembers the socket just bound again at its path (a daemon that was leaving
    /// stays for late clients).
    pub fn rebound(&mut self, state: &StateDir) {
        self.socket_id = file_id(&state.socket());
    }

    /// Whether the lock file and socket at their paths are still the ones held.
    pub fn is_intact(&self, state: &StateDir) -> bool {
        self.lock_id.is_some() && file_id(&state.lock()) == self.lock_id && self.owns_socket(state)
    }

    /// Takes the folder back after [`is_intact`](Self::is_intact) said no: creates it,
    /// locks the new lock file (if the lock file was replaced) and listens on a new
    /// socket, which is returned.
    pub fn reclaim(&mut self, state: &StateDir) -> Result<UnixListener, Lost> {
        let io = |context: String| move |source| Lost::Io { context, source };
        state
            .create()
            .map_err(io(format!("creating {}", state.root().display())))?;
        if file_id(&state.lock()) != self.lock_id {
            let lock = DaemonLock::acquire(&state.lock()).map_err(|e| match e {
                LockError::Held => Lost::Taken,
                LockError::Open { path, source } => Lost::Io {
                    context: format!("opening {path}"),
                    source,
                },
            })?;
            self.lock_id = lock.file_id();
            self.lock = lock;
        }
        let socket = state.socket();
        let listener = listen::bind_private(&socket)
            .map_err(io(format!("listening on {}", socket.display())))?;
        self.socket_id = file_id(&socket);
        Ok(listener)
    }
}

/// Points the daemon's stdout and stderr (its log) at a new `daemon.log`: the old one was
/// removed with the folder, and what the daemon says next should be readable.
pub fn reopen_log(state: &StateDir) {
    let path = state.daemon_log();
    let reopened = orchestra_core::paths::open_append(&path).and_then(|log| {
        nix::unistd::dup2_stdout(&log)?;
        nix::unistd::dup2_stderr(&log)?;
        Ok(())
    });
    if let Err(e) = reopened {
        tracing::warn!(path = %path.display(), error = %e, "cannot reopen the daemon's log");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A daemon's folder as the daemon keeps it: created, locked, listened on and held.
    fn held_folder() -> (tempfile::TempDir, StateDir, UnixListener, Hold) {
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir::for_project(tmp.path());
        state.create().unwrap();
        let lock = DaemonLock::acquire(&state.lock()).unwrap();
        let listener = listen::bind_private(&state.socket()).unwrap();
        let hold = Hold::new(lock, &state);
        (tmp, state, listener, hold)
    }

    #[tokio::test]
    async fn a_removed_folder_is_noticed_and_taken_back() {
        let (_tmp, state, _listener, mut hold) = held_folder();
        assert!(hold.is_intact(&state));

        std::fs::remove_dir_all(state.root()).unwrap();
        assert!(!hold.is_intact(&state));
        let _listener = hold.reclaim(&state).unwrap();
        assert!(hold.is_intact(&state));
        assert!(
            DaemonLock::is_held(&state.lock()),
            "the new lock file is held"
        );
    }

    #[tokio::test]
    async fn a_folder_another_daemon_locked_first_is_lost() {
        let (_tmp, state, _listener, mut hold) = held_folder();

        std::fs::remove_dir_all(state.root()).unwrap();
        state.create().unwrap();
        let _other = DaemonLock::acquire(&state.lock()).unwrap();
        assert!(matches!(hold.reclaim(&state), Err(Lost::Taken)));
    }
}
