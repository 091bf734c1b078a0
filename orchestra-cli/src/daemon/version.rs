//! Both sides of the protocol version check (see `orchestra_core::protocol`, "Versions"):
//! the daemon reads a request line's version before the request, and the client refuses a
//! daemon that answers in another one. Either way the user is told how to stop the daemon
//! that does not match, since after an upgrade it is the old daemon that still runs.

use std::fmt;
use std::path::PathBuf;

use orchestra_core::protocol::{Envelope, Event, PROTOCOL_VERSION, VersionOf};

/// Reads a request line, refusing a client of another protocol version: the error event to
/// answer it with.
pub fn read_request(line: &[u8]) -> Result<Envelope, Event> {
    let unreadable =
        |e: serde_json::Error| Event::error(format!("the daemon cannot read this request: {e}"));
    // A bare request of protocol 1 has no version.
    let client = serde_json::from_slice::<VersionOf>(line)
        .map_err(unreadable)?
        .protocol
        .unwrap_or(1);
    if client != PROTOCOL_VERSION {
        let me = std::process::id();
        return Err(Event::error(format!(
            "this orchestra daemon (pid {me}) speaks protocol {PROTOCOL_VERSION} and the client \
             protocol {client}: they are different versions of orchestra; {}",
            StopHint::of(i32::try_from(me).unwrap_or(0)),
        )));
    }
    serde_json::from_slice(line).map_err(unreadable)
}

/// How to stop the daemon `pid`: with the binary that started it (when it is still there),
/// or by SIGTERM, on which a daemon of any version stops its fleet and leaves.
#[derive(Debug, Clone)]
pub struct StopHint {
    /// The daemon.
    pub pid: i32,
    /// Its binary, unless it was replaced or removed since it started.
    pub exe: Option<PathBuf>,
}

impl StopHint {
    /// The hint for the daemon `pid`, its binary read from /proc.
    pub fn of(pid: i32) -> Self {
        let exe = std::fs::read_link(format!("/proc/{pid}/exe"))
            .ok()
            // An upgrade in place leaves the old binary's path marked " (deleted)".
            .filter(|exe| exe.is_file());
        Self { pid, exe }
    }
}

impl fmt::Display for StopHint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pid = self.pid;
        match &self.exe {
            Some(exe) => write!(f, "stop the daemon with `{} stop`", exe.display())?,
            None => f.write_str(
                "stop the daemon with `orchestra stop` from the version that started it",
            )?,
        }
        write!(
            f,
            " or `kill {pid}` (it stops its fleet as it leaves), then run the command again"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(line: &str) -> String {
        match read_request(line.as_bytes()) {
            Err(Event::Error { message, protocol }) => {
                assert_eq!(protocol, Some(PROTOCOL_VERSION));
                message
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_request_of_this_version_is_read() {
        let envelope = read_request(br#"{"protocol":2,"request":{"request":"status"}}"#);
        assert_eq!(
            envelope,
            Ok(Envelope::new(orchestra_core::protocol::Request::Status))
        );
    }

    #[test]
    fn other_versions_are_refused_with_how_to_stop_the_daemon() {
        let old = refusal(r#"{"request":"status"}"#);
        assert!(
            old.contains("speaks protocol 2 and the client protocol 1"),
            "{old}"
        );
        assert!(old.contains("stop the daemon with `"), "{old}");
        assert!(
            old.contains(&format!("`kill {}`", std::process::id())),
            "{old}"
        );
        let newer = refusal(r#"{"protocol":3,"request":{"request":"anything new"}}"#);
        assert!(newer.contains("the client protocol 3"), "{newer}");
        let garbage = refusal("not json");
        assert!(
            garbage.starts_with("the daemon cannot read this request"),
            "{garbage}"
        );
    }
}
