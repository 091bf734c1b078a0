//! The daemon's socket: bound private to its owner, and closed without dropping a client.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use tokio::net::{UnixListener, UnixStream};

/// How long a closing daemon looks for connections that arrived just before it unlinked
/// its socket: they are already queued, so the next turn of the event loop reports them.
const LAST_CALL: Duration = Duration::from_millis(50);

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
