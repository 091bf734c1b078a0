//! Processes as Orchestra knows them: an identity that survives pid reuse, and how one ended.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::signal::Signal;

/// Who a process is, beyond its pid: a written-down pid is untrusted until its start time
/// and the machine's boot id match again, because the kernel recycles pids.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProcessIdentity {
    /// The process id.
    pub pid: i32,
    /// Its process group (the replica leads its own group, so usually `pid`).
    pub pgid: i32,
    /// Field 22 of `/proc/<pid>/stat`: clock ticks since boot when the process started.
    pub start_time: u64,
    /// `/proc/sys/kernel/random/boot_id` when the process was recorded.
    pub boot_id: String,
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum ProcessEnd {
    /// It exited with this code.
    Exited(i32),
    /// A signal ended it (its number).
    Signalled(i32),
    /// It ended while nobody was its parent (an adopted replica), so its status is unknown.
    Unknown,
}

impl ProcessEnd {
    /// Whether the end counts as a success for the restart policy.
    pub const fn success(self) -> bool {
        matches!(self, Self::Exited(0))
    }
}

impl fmt::Display for ProcessEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Exited(code) => write!(f, "exited with code {code}"),
            Self::Signalled(n) => match Signal::from_number(n) {
                Some(sig) => write!(f, "killed by {sig}"),
                None => write!(f, "killed by signal {n}"),
            },
            Self::Unknown => f.write_str("ended"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_ends() {
        assert_eq!(ProcessEnd::Exited(3).to_string(), "exited with code 3");
        assert_eq!(ProcessEnd::Signalled(9).to_string(), "killed by SIGKILL");
        assert!(ProcessEnd::Exited(0).success());
        assert!(!ProcessEnd::Signalled(15).success());
    }
}
