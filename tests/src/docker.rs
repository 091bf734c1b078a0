//! Whether a Docker engine answers, asked the way a client would: `GET /_ping` over the
//! engine's socket, written by hand so the harness needs no Docker client.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

/// Where the Docker engine is expected to listen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DockerEndpoint {
    /// A Unix socket (`unix:///var/run/docker.sock`, the default).
    Unix(PathBuf),
    /// A TCP address `host:port` (`tcp://…`; TLS is not spoken).
    Tcp(String),
}

impl DockerEndpoint {
    /// From `DOCKER_HOST`, or the default socket.
    pub fn from_env() -> Self {
        Self::parse(std::env::var("DOCKER_HOST").ok().as_deref())
    }

    /// From a `DOCKER_HOST` value.
    pub fn parse(docker_host: Option<&str>) -> Self {
        match docker_host.filter(|h| !h.is_empty()) {
            Some(host) => match host.strip_prefix("tcp://") {
                Some(addr) => Self::Tcp(addr.trim_end_matches('/').to_owned()),
                None => Self::Unix(host.strip_prefix("unix://").unwrap_or(host).into()),
            },
            None => Self::Unix("/var/run/docker.sock".into()),
        }
    }

    /// Sends `GET /_ping` and succeeds when the engine answers 200 `OK`.
    pub fn ping(&self) -> io::Result<()> {
        let timeout = Some(Duration::from_secs(3));
        let answer = match self {
            Self::Unix(path) => {
                let mut stream = UnixStream::connect(path)?;
                stream.set_read_timeout(timeout)?;
                stream.set_write_timeout(timeout)?;
                exchange(&mut stream)?
            }
            Self::Tcp(addr) => {
                let mut stream = TcpStream::connect(addr)?;
                stream.set_read_timeout(timeout)?;
                stream.set_write_timeout(timeout)?;
                exchange(&mut stream)?
            }
        };
        let status_ok = answer.split_whitespace().nth(1) == Some("200");
        if status_ok && answer.trim_end().ends_with("OK") {
            Ok(())
        } else {
            let first_line = answer.lines().next().unwrap_or("an empty answer");
            Err(io::Error::other(format!(
                "unexpected answer to /_ping: {first_line}"
            )))
        }
    }
}

impl fmt::Display for DockerEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unix(path) => write!(f, "unix://{}", path.display()),
            Self::Tcp(addr) => write!(f, "tcp://{addr}"),
        }
    }
}

fn exchange(stream: &mut (impl Read + Write)) -> io::Result<String> {
    stream.write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")?;
    let mut answer = Vec::new();
    // Keep what arrived before an error: a reset right after the answer is still an answer.
    if let Err(e) = stream.read_to_end(&mut answer)
        && answer.is_empty()
    {
        return Err(e);
    }
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

/// True when a Docker engine answers. Otherwise prints why the calling test skips and
/// returns false — or panics when `ORCHESTRA_REQUIRE_DOCKER=1`, so a machine that should
/// run the Docker tests cannot silently skip them.
///
/// ```no_run
/// if !orchestra_tests::docker_or_skip() {
///     return;
/// }
/// // … the test that needs Docker …
/// ```
pub fn docker_or_skip() -> bool {
    let required = std::env::var("ORCHESTRA_REQUIRE_DOCKER").is_ok_and(|v| v == "1");
    let endpoint = DockerEndpoint::from_env();
    let ping = endpoint.ping();
    docker_decision(&endpoint, ping, required)
}

/// The decision of [`docker_or_skip`], apart from the environment it reads.
pub fn docker_decision(endpoint: &DockerEndpoint, ping: io::Result<()>, required: bool) -> bool {
    match ping {
        Ok(()) => true,
        Err(e) if required => {
            panic!("ORCHESTRA_REQUIRE_DOCKER=1 but no Docker engine answers at {endpoint}: {e}")
        }
        Err(e) => {
            eprintln!("skipping: no Docker engine answers at {endpoint}: {e}");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_host_forms() {
        assert_eq!(
            DockerEndpoint::parse(None),
            DockerEndpoint::Unix("/var/run/docker.sock".into())
        );
        assert_eq!(
            DockerEndpoint::parse(Some("")),
            DockerEndpoint::Unix("/var/run/docker.sock".into())
        );
        assert_eq!(
            DockerEndpoint::parse(Some("unix:///run/d.sock")),
            DockerEndpoint::Unix("/run/d.sock".into())
        );
        assert_eq!(
            DockerEndpoint::parse(Some("tcp://10.0.0.1:2375/")),
            DockerEndpoint::Tcp("10.0.0.1:2375".into())
        );
        assert_eq!(
            DockerEndpoint::parse(Some("tcp://h:1")).to_string(),
            "tcp://h:1"
        );
    }
}
