//! Keeping the daemon's log care from being starved by the services it supervises.
//!
//! A fleet of busy services (a replica looping on `echo`) takes every core it can get.
//! With the scheduler's fair share the daemon gets one part in as many as there are busy
//! replicas, and the rotation of their logs (copying each file's head to `.log.1`, at the
//! rate the fleet writes) falls ever further behind: logs grow far past `max_size`.
//!
//! Linux shares CPU between sessions first when autogroup is on, then between the threads
//! of a session by their nice value. The replicas are process groups inside the daemon's
//! session, so the fleet and the daemon weigh as one session against the developer's
//! terminal (which is why the session's own weight is left alone: raising it would raise
//! the whole fleet above the terminal). Inside that session, the log care thread raises
//! its own priority where the system allows it (root, `CAP_SYS_NICE`, or an `RLIMIT_NICE`
//! that permits it); otherwise it says once, in daemon.log, that rotation may lag behind
//! busy services.

use std::io;

/// The nice value asked for: enough to weigh as much as about ten busy replicas, while a
/// daemon that is idle (nearly always) costs nothing for it.
const NICE: i32 = -10;

/// Raises the priority of the calling thread (on Linux, `setpriority` of the process id
/// 0 applies to the calling thread only). A failure is logged, not returned: the daemon
/// works the same without, only later under load.
pub fn raise_for_log_care() {
    match rustix::process::setpriority_process(None, NICE).map_err(io::Error::from) {
        Ok(()) => tracing::debug!(nice = NICE, "log care runs at a raised priority"),
        Err(why) => tracing::info!(
            error = %why,
            "cannot raise the log care's priority: under heavy load from the services, rotation may lag behind `logs.max_size`"
        ),
    }
}
