//! The daemon's socket: bound private to its owner, and closed without dropping a client.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use tokio::net::{UnixListener, UnixStream};

/// How long a closing daemon looks for connections that arrived just before it unlinked
/// its socket. A client's `connect` is queued before it returns, so those are already
/// there and the next turn of the event loop reports them; the few milliseconds are for
/// a `connect` that found the socket just before the unlink and is still enqueueing. Kept
/// short: a whole `stop` waits for the daemon to be gone.
const LAST_CALL: Duration = Duration::from_millis(5);

/// The first pause after a failed `accept`, doubled at each failure in a row up to
/// [`ACCEPT_PAUSE_MAX`].
const ACCEPT_PAUSE_MIN: Duration = Duration::from_millis(10);
/// The longest pause after failed `accept`s: a client waits at most this long once
/// descriptors are free again.
const ACCEPT_PAUSE_MAX: Duration = Duration::from_secs(1);

/// How long to wait after a failed `accept` before the next one.
#[derive(Debug, Default)]
pub struct AcceptPause {
    next: Option<Duration>,
}

impl AcceptPause {
    /// The pause to take after one more failure in a row (10 ms doubling to 1 s).
    pub fn next_pause(&mut self) -> Duration {
        let pause = self.next.unwrap_or(ACCEPT_PAUSE_MIN);
        self.next = Some((pause * 2).min(ACCEPT_PAUSE_MAX));
        pause
    }

    /// Logs the first failure of a run and sleeps the pause.
    pub async fn after_failure(&mut self, error: &io::Error) {
        if self.next.is_none() {
            tracing::warn!(%error, "cannot accept connections; pausing between tries");
        }
        tokio::time::sleep(self.next_pause()).await;
    }

    /// A connection was accepted: the next failure starts from the shortest pause.
    pub fn reset(&mut self) {
        self.next = None;
    }
}

/// Listens on `socket` (replacing a file left there), mode 0600.
pub fn bind_private(socket: &Path) -> io::Result<UnixListener> {
    match std::fs::remove_file(socket) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let listener = UnixListener::bind(socket)?;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Unlinks `socket`, so that no new client can connect, then takes the connections that
/// were queued before that. A daemon that decided to exit must serve them instead: their
/// clients already count on it.
pub async fn close(listener: &UnixListener, socket: &Path) -> Vec<UnixStream> {
    let _ = std::fs::remove_file(socket);
    let mut queued = Vec::new();
    while let Ok(Ok((stream, _))) = tokio::time::timeout(LAST_CALL, listener.accept()).await {
        queued.push(stream);
    }
    queued
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_accepts_pause_longer_up_to_a_second_and_start_over_after_a_success() {
        let mut pause = AcceptPause::default();
        let pauses: Vec<u128> = (0..9).map(|_| pause.next_pause().as_millis()).collect();
        assert_eq!(pauses, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        pause.reset();
        assert_eq!(pause.next_pause(), ACCEPT_PAUSE_MIN);
    }
}
