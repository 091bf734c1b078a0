//! Ports claimed by services (`port` to `port + scale - 1`) and vendors (their host ports):
//! two claims on one port are refused before anything starts.

use crate::error::Problem;
use crate::read::Origin;
use crate::source::Target;

struct Claim {
    first: u32,
    last: u32,
    who: String,
    file: String,
}

/// The ports claimed so far.
#[derive(Default)]
pub(crate) struct PortClaims {
    claims: Vec<Claim>,
}

fn range(first: u32, last: u32) -> String {
    if first == last {
        first.to_string()
    } else {
        format!("{first}–{last}")
    }
}

impl PortClaims {
    /// Claims `count` ports from `port` for `who`, written at `origin`.
    pub fn claim(
        &mut self,
        port: u16,
        count: u32,
        who: String,
        origin: &Origin,
        problems: &mut Vec<Problem>,
    ) {
        let first = u32::from(port);
        let last = first + count.max(1) - 1;
        if last > u32::from(u16::MAX) {
            problems.push(
                origin
                    .problem(
                        Target::Value,
                        format!("{who} needs ports {}, beyond 65535", range(first, last)),
                        "base port",
                    )
                    .help("replica n listens on port + n: lower the port or the scale"),
            );
            return;
        }
        if let Some(other) = self
            .claims
            .iter()
            .find(|c| c.first <= last && first <= c.last)
        {
            let shared = first.max(other.first);
            problems.push(
                origin
                    .problem(
                        Target::Value,
                        format!(
                            "port {shared} is claimed twice: by {} ({}, in {}) and by {who} ({})",
                            other.who,
                            range(other.first, other.last),
                            other.file,
                            range(first, last)
                        ),
                        &format!("also used by {}", other.who),
                    )
                    .help("give each one its own ports; a service with `scale: N` uses `port` to `port + N - 1`"),
            );
            return;
        }
        self.claims.push(Claim {
            first,
            last,
            who,
            file: origin.file.name.clone(),
        });
    }
}
