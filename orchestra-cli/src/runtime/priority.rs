//! Keeping the daemon's log care from being starved by the services it supervises.
//!
//! A fleet of busy services (a replica looping on `echo`) takes every core it can get.
//! With the scheduler's fair share the daemon gets one part in as many as there are busy
//! replicas, and the rotation of their logs (copying each file's head to `.log.1`, at the
//! rate the fleet writes) falls ever further behind: logs grow far past `max_size`.
//!
//! Linux shares CPU between sessions first when autogroup is on (each replica leads a
//! session of its own, and so does the daemon), and between threads within a session by
//! their nice value. So the daemon raises its session's autogroup priority, and the log
//! care thread its own, where the system allows it (root, `CAP_SYS_NICE`, or an
//! `RLIMIT_NICE` that permits it); otherwise it says once, in daemon.log, that rotation
//! may lag behind busy services.

use std::io;

/// The nice value asked for: enough to weigh as much as about ten busy replicas, while a
/// daemon that is idle (nearly always) costs nothing for it.
const NICE: i32 = -10;

/// Raises the priority of the daemon's session (when the daemon leads it, so a terminal's
/// session is never changed) and of the calling thread. Failures are logged, not returned:
/// the daemon works the same without, only later under load.
pub fn raise_for_log_care() {
    let session = raise_session();
    let thread = rustix::process::setpriority_process(None, NICE).map_err(io::Error::from);
    match (session, thread) {
        (Ok(()), Ok(())) => tracing::debug!(nice = NICE, "log care runs at a raised priority"),
        (session, thread) => {
            let why = session.err().or(thread.err());
            tracing::info!(
                error = ?why,
                "cannot raise the log care's priority: under heavy load from the services, rotation may lag behind `logs.max_size`"
            );
        }
    }
}

/// Sets the autogroup nice value of the daemon's session; nothing to do where autogroup
/// is not in use.
fn raise_session() -> io::Result<()> {
    let pid = nix::unistd::getpid();
    if nix::unistd::getsid(None).map_err(io::Error::from)? != pid {
        // Not our own session: raising it would raise whoever shares it.
        return Ok(());
    }
    match std::fs::write("/proc/self/autogroup", NICE.to_string()) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}
