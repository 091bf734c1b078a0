//! Readiness probes: each kind checked once, and the retry loop around them.
//!
//! A tcp or http probe that reaches a port on this machine counts only when the replica's
//! own process tree holds the listening socket: another program on the port (a replica of
//! another service, a server left running) answers the same, and "ready" would be a lie.
//! While that is so, the probe says who holds the port, and the replica shows it as its
//! reason.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use orchestra_core::chain::error_chain;
use orchestra_core::spec::{ReadyCheck, ReadyProbe, ReplicaSpec};
use orchestra_core::{HumanDuration, ReplicaId};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::backend::RunningReplica;
use crate::probe::{self, HttpTarget};
use crate::strays::port_holder;
use crate::unix::spawn::spawn_group;

/// How often the log probe reads new lines.
const LOG_POLL: Duration = Duration::from_millis(50);
/// The first retry comes this soon: most services are ready within milliseconds of being
/// spawned, and their dependants (and `start`) should not wait a whole interval for them.
const FIRST_RETRY: Duration = Duration::from_millis(5);

/// Who a probe is for: the replica that must own what answers, and where to say why it
/// does not.
pub(crate) struct Prober<'a> {
    /// The replica's process tree.
    pub owner: &'a dyn RunningReplica,
    /// Why the replica is not ready yet, when another program answers for it.
    pub note: &'a watch::Sender<Option<String>>,
}

/// Retries the probe until it passes, or fails with `not ready after <timeout>: <last
/// error>`. The pause between attempts starts at [`FIRST_RETRY`] and doubles up to the
/// probe's `interval`.
pub(crate) async fn wait_ready(
    probe: &ReadyProbe,
    spec: &ReplicaSpec,
    (log, log_offset): (&Path, u64),
    prober: Prober<'_>,
) -> Result<(), String> {
    let deadline = Instant::now() + probe.timeout;
    let mut log_reader = LogReader::new(log.to_path_buf(), log_offset);
    let regex = match &probe.check {
        ReadyCheck::Log { regex } => {
            Some(regex::Regex::new(regex).map_err(|e| format!("bad log regex: {e}"))?)
        }
        _ => None,
    };
    let interval = match probe.check {
        ReadyCheck::Log { .. } => LOG_POLL,
        _ => probe.interval,
    };
    let mut pause = FIRST_RETRY.min(interval);
    let mut previous: Option<String> = None;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let attempt = async {
            match &probe.check {
                ReadyCheck::Tcp { host, port } => {
                    let port = port
                        .trim()
                        .parse()
                        .map_err(|_| format!("`{port}` is not a port"))?;
                    // No settle: the ownership check below already tells a replica's own
                    // listener from anything else answering on the port.
                    probe::tcp(host, port, Duration::ZERO)
                        .await
                        .map_err(|e| error_chain(&e))?;
                    owned(host, port, &spec.id, &prober).await
                }
                ReadyCheck::Http { url } => {
                    let target = HttpTarget::parse(url).map_err(|e| error_chain(&e))?;
                    probe::http(url).await.map_err(|e| error_chain(&e))?;
                    owned(&target.host, target.port, &spec.id, &prober).await
                }
                ReadyCheck::Exec { command } => check_exec(command, spec).await,
                ReadyCheck::Log { .. } => log_reader.matches(regex.as_ref()),
            }
        };
        let error =
            match tokio::time::timeout(remaining.max(Duration::from_millis(1)), attempt).await {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(e)) => e,
                // Cut short by the deadline: what the attempt before said is the news.
                Err(_) => previous
                    .take()
                    .unwrap_or_else(|| "the probe did not answer in time".to_owned()),
            };
        let last_error = previous.insert(error);
        if Instant::now() + pause >= deadline {
            return Err(format!(
                "not ready after {}: {last_error}",
                HumanDuration(probe.timeout)
            ));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(interval);
    }
}

/// A probe reached `host:port`: it counts when the host is another machine (nothing to
/// check there) or the replica listens on the port itself. Otherwise the replica's note
/// names who does.
async fn owned(host: &str, port: u16, id: &ReplicaId, prober: &Prober<'_>) -> Result<(), String> {
    if !is_this_machine(host) || prober.owner.listens_on(port).await {
        return Ok(());
    }
    let why = match port_holder(port) {
        Some(h) if h.pid != 0 => format!(
            "port {port} answers, but from pid {} ({}), not from {id}",
            h.pid, h.cmdline
        ),
        Some(_) => {
            format!("port {port} answers, but from a process of another user, not from {id}")
        }
        None => format!("port {port} answered, but no process of {id} listens on it"),
    };
    prober.note.send_replace(Some(why.clone()));
    Err(why)
}

/// Whether a probe's host is this machine: empty (the default), `localhost`, a loopback
/// or unspecified address.
fn is_this_machine(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.is_empty()
        || host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified())
}

async fn check_exec(
    command: &orchestra_core::spec::CommandSpec,
    spec: &ReplicaSpec,
) -> Result<(), String> {
    let argv = command.argv();
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| "empty probe command".to_owned())?;
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .current_dir(&spec.dir)
        .envs(&spec.env)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = spawn_group(cmd).map_err(|e| format!("`{command}`: {e}"))?;
    // Declared after `child`, so dropped first: when the attempt is abandoned (the probe
    // timed out), the probe's group is killed while its leader is still unreaped.
    let guard = KillGroupOnDrop(Some(child.pid));
    let status = child.wait().await;
    guard.disarm();
    match status {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!("`{command}` {}", crate::unix::process_end(status))),
        Err(e) => Err(format!("`{command}`: {e}")),
    }
}

/// Kills a probe's process group if the probe is dropped before it ended. Its leader is
/// our unreaped child then, so the group id cannot have been handed to anyone else.
struct KillGroupOnDrop(Option<i32>);

impl KillGroupOnDrop {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for KillGroupOnDrop {
    fn drop(&mut self) {
        if let Some(pgid) = self.0.filter(|&p| p > 1) {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pgid),
                nix::sys::signal::Signal::SIGKILL,
            );
            tracing::debug!(pgid, "killed an abandoned exec probe");
        }
    }
}

/// Reads a log file from an offset, line by line, across attempts.
struct LogReader {
    path: PathBuf,
    offset: u64,
    partial: Vec<u8>,
}

impl LogReader {
    fn new(path: PathBuf, offset: u64) -> Self {
        Self {
            path,
            offset,
            partial: Vec::new(),
        }
    }

    fn matches(&mut self, regex: Option<&regex::Regex>) -> Result<(), String> {
        let Some(regex) = regex else {
            return Err("no regex".into());
        };
        let mut file = std::fs::File::open(&self.path).map_err(|e| format!("log: {e}"))?;
        file.seek(SeekFrom::Start(self.offset))
            .map_err(|e| format!("log: {e}"))?;
        let mut fresh = Vec::new();
        file.read_to_end(&mut fresh)
            .map_err(|e| format!("log: {e}"))?;
        self.offset += fresh.len() as u64;
        self.partial.extend_from_slice(&fresh);
        let mut found = false;
        while let Some(end) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=end).collect();
            found |= regex.is_match(String::from_utf8_lossy(&line).trim_end());
        }
        if found {
            Ok(())
        } else {
            Err(format!("no log line matched `{regex}`"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_of_this_machine_are_recognised() {
        for host in [
            "",
            "localhost",
            "127.0.0.1",
            "127.0.1.1",
            "::1",
            "[::1]",
            "0.0.0.0",
        ] {
            assert!(is_this_machine(host), "{host}");
        }
        for host in ["db.internal", "10.1.2.3", "example.com"] {
            assert!(!is_this_machine(host), "{host}");
        }
    }

    #[test]
    fn the_log_reader_sees_only_new_complete_lines() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("r.log");
        std::fs::write(&path, "old: listening\n").unwrap();
        let offset = std::fs::metadata(&path).unwrap().len();
        let mut reader = LogReader::new(path.clone(), offset);
        let re = regex::Regex::new("listening").unwrap();
        assert!(reader.matches(Some(&re)).is_err());
        let mut f = orchestra_core::paths::open_append(&path).unwrap();
        std::io::Write::write_all(&mut f, b"now listen").unwrap();
        assert!(reader.matches(Some(&re)).is_err());
        std::io::Write::write_all(&mut f, b"ing on 80\n").unwrap();
        assert!(reader.matches(Some(&re)).is_ok());
    }
}
