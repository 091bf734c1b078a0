//! Network readiness checks from this machine, one attempt each: a TCP connection and an
//! HTTP GET. Services' `ready: tcp`/`ready: http` probes and vendors' `ready` checks both
//! use these, so "ready" means the same thing for both.
//!
//! # How it works
//!
//! - Every attempt is bounded by [`ATTEMPT_TIMEOUT`]; the caller retries.
//! - A TCP connection counts only if the peer keeps it: Docker's userland proxy accepts on
//!   a published port as soon as the container starts and closes the connection when
//!   nothing listens inside yet. After connecting, the socket is watched for `settle`; a
//!   close without a byte in that time is a failure. A settle of zero still catches a close
//!   that already happened, at no cost; vendors behind published ports pass
//!   [`PROXY_SETTLE`].
//! - The HTTP GET is a minimal HTTP/1.1 request with `Connection: close`; the answer must
//!   begin with an `HTTP/` status line whose code is 2xx or 3xx. Only `http://` is probed.

use std::io;
use std::time::Duration;

use orchestra_core::HumanDuration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The longest one attempt may take.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a connection to a port published by Docker is watched for an immediate close
/// (see the module docs).
pub const PROXY_SETTLE: Duration = Duration::from_millis(150);

/// How many bytes of an HTTP answer are read looking for the status line.
const HEAD_LIMIT: usize = 4096;

/// Why one probe attempt failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProbeError {
    /// The URL is not a plain `http://` one.
    #[error("`{url}` is not an http:// URL (https is not probed)")]
    NotHttp {
        /// The URL as written.
        url: String,
    },
    /// The URL has no host, or a port that is not a number.
    #[error("`{url}` {problem}")]
    BadUrl {
        /// The URL as written.
        url: String,
        /// What is wrong with it, e.g. "names no host".
        problem: &'static str,
    },
    /// Nothing accepted the connection.
    #[error("cannot connect to {target}")]
    Connect {
        /// `host:port`.
        target: String,
        /// What the connection attempt said.
        #[source]
        source: io::Error,
    },
    /// Something accepted the connection and closed it at once (a proxy with nothing behind).
    #[error("{target} accepted and closed the connection at once (nothing listens behind it yet)")]
    ClosedAtOnce {
        /// `host:port`.
        target: String,
    },
    /// The attempt took longer than [`ATTEMPT_TIMEOUT`].
    #[error("{what} did not answer within {}", HumanDuration(ATTEMPT_TIMEOUT))]
    TimedOut {
        /// `tcp host:port` or `GET url`.
        what: String,
    },
    /// Sending the request or reading the answer failed.
    #[error("GET {url} broke off")]
    Exchange {
        /// The URL.
        url: String,
        /// The socket's error.
        #[source]
        source: io::Error,
    },
    /// The answer does not begin with an HTTP status line.
    #[error("GET {url} gave no HTTP status line")]
    NotAnAnswer {
        /// The URL.
        url: String,
    },
    /// The server answered with a code outside 2xx and 3xx.
    #[error("GET {url} answered {code}")]
    Status {
        /// The URL.
        url: String,
        /// The status code.
        code: u16,
    },
}

/// Where an `http://` URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpTarget {
    /// The host, without the brackets of an IPv6 address.
    pub host: String,
    /// The port (80 when the URL names none).
    pub port: u16,
    /// The path and query, at least `/`.
    pub path: String,
}

impl HttpTarget {
    /// Splits `http://host[:port][/path]`.
    ///
    /// ```
    /// # use orchestra_supervisor::probe::HttpTarget;
    /// let t = HttpTarget::parse("http://[::1]:9000/health?x=1")?;
    /// assert_eq!((t.host.as_str(), t.port, t.path.as_str()), ("::1", 9000, "/health?x=1"));
    /// assert_eq!(HttpTarget::parse("http://localhost")?.port, 80);
    /// assert!(HttpTarget::parse("https://localhost").is_err());
    /// # Ok::<(), orchestra_supervisor::probe::ProbeError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ProbeError::NotHttp`] or [`ProbeError::BadUrl`].
    pub fn parse(url: &str) -> Result<Self, ProbeError> {
        let bad = |problem| ProbeError::BadUrl {
            url: url.to_owned(),
            problem,
        };
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| ProbeError::NotHttp {
                url: url.to_owned(),
            })?;
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) if rest[i..].starts_with('?') => (&rest[..i], format!("/{}", &rest[i..])),
            Some(i) => (&rest[..i], rest[i..].to_owned()),
            None => (rest, "/".to_owned()),
        };
        let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
            let (host, after) = bracketed
                .split_once(']')
                .ok_or_else(|| bad("has an unclosed `[`"))?;
            match after.strip_prefix(':') {
                Some(p) => (host, p.parse().map_err(|_| bad("has a bad port"))?),
                None if after.is_empty() => (host, 80),
                None => return Err(bad("has a bad port")),
            }
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, p.parse().map_err(|_| bad("has a bad port"))?),
                None => (authority, 80),
            }
        };
        if host.is_empty() {
            return Err(bad("names no host"));
        }
        Ok(Self {
            host: host.to_owned(),
            port,
            path,
        })
    }

    /// The `Host` header's value: the port is named unless it is 80.
    fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == 80 {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

/// One TCP attempt: passes when `host:port` accepts a connection and keeps it for `settle`
/// (or sends a byte sooner). An empty host is `127.0.0.1`.
///
/// # Errors
///
/// [`ProbeError::Connect`], [`ProbeError::ClosedAtOnce`] or [`ProbeError::TimedOut`].
pub async fn tcp(host: &str, port: u16, settle: Duration) -> Result<(), ProbeError> {
    let host = if host.is_empty() { "127.0.0.1" } else { host };
    let target = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let attempt = async {
        let stream =
            TcpStream::connect((host, port))
                .await
                .map_err(|source| ProbeError::Connect {
                    target: target.clone(),
                    source,
                })?;
        settled(stream, settle, &target).await
    };
    tokio::time::timeout(ATTEMPT_TIMEOUT, attempt)
        .await
        .unwrap_or_else(|_| {
            Err(ProbeError::TimedOut {
                what: format!("tcp {target}"),
            })
        })
}

/// Whether a connected peer keeps the connection for `settle`. A read that returns 0 bytes
/// means it closed; a byte (a greeting) or silence until `settle` means it listens.
async fn settled(mut stream: TcpStream, settle: Duration, target: &str) -> Result<(), ProbeError> {
    let mut byte = [0u8; 1];
    let read = if settle.is_zero() {
        // Only what already arrived: no waiting on the common path.
        match stream.try_read(&mut byte) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            other => other,
        }
    } else {
        match tokio::time::timeout(settle, stream.read(&mut byte)).await {
            Err(_) => return Ok(()),
            Ok(read) => read,
        }
    };
    match read {
        Ok(0) => Err(ProbeError::ClosedAtOnce {
            target: target.to_owned(),
        }),
        Ok(_) => Ok(()),
        Err(source) => Err(ProbeError::Connect {
            target: target.to_owned(),
            source,
        }),
    }
}

/// One HTTP attempt: passes when a GET of `url` answers 2xx or 3xx.
///
/// # Errors
///
/// A bad URL, a failed connection or exchange, an answer that is not HTTP, another
/// status, or [`ProbeError::TimedOut`].
pub async fn http(url: &str) -> Result<(), ProbeError> {
    let target = HttpTarget::parse(url)?;
    tokio::time::timeout(ATTEMPT_TIMEOUT, get(url, &target))
        .await
        .unwrap_or_else(|_| {
            Err(ProbeError::TimedOut {
                what: format!("GET {url}"),
            })
        })
}

async fn get(url: &str, target: &HttpTarget) -> Result<(), ProbeError> {
    let mut stream = TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(|source| ProbeError::Connect {
            target: target.host_header(),
            source,
        })?;
    let exchange = |source| ProbeError::Exchange {
        url: url.to_owned(),
        source,
    };
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: orchestra\r\nConnection: close\r\n\r\n",
        target.path,
        target.host_header()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(exchange)?;
    let mut head = Vec::new();
    let mut buf = [0u8; 512];
    while !head.contains(&b'\n') && head.len() < HEAD_LIMIT {
        let n = stream.read(&mut buf).await.map_err(exchange)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    match status_code(&head) {
        Some(code) if (200..400).contains(&code) => Ok(()),
        Some(code) => Err(ProbeError::Status {
            url: url.to_owned(),
            code,
        }),
        None => Err(ProbeError::NotAnAnswer {
            url: url.to_owned(),
        }),
    }
}

/// The code of an `HTTP/1.x 200 OK` status line.
fn status_code(head: &[u8]) -> Option<u16> {
    let line = head.split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut words = line.split_whitespace();
    words.next().filter(|v| v.starts_with("HTTP/"))?;
    words.next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_parse() {
        assert_eq!(status_code(b"HTTP/1.1 204 No Content\r\n"), Some(204));
        assert_eq!(status_code(b"HTTP/1.0 503\r\n"), Some(503));
        assert_eq!(status_code(b"SSH-2.0-OpenSSH\r\n"), None);
        assert_eq!(status_code(b""), None);
    }

    #[test]
    fn urls_that_cannot_be_probed_say_why() {
        for (url, why) in [
            ("https://x/", "https is not probed"),
            ("http:///health", "names no host"),
            ("http://x:http/", "has a bad port"),
            ("http://[::1/", "unclosed"),
        ] {
            let e = HttpTarget::parse(url).unwrap_err().to_string();
            assert!(e.contains(why), "{url}: {e}");
        }
        let t = HttpTarget::parse("http://127.0.0.1:8080?ready").unwrap();
        assert_eq!(t.path, "/?ready");
        assert_eq!(t.host_header(), "127.0.0.1:8080");
        assert_eq!(
            HttpTarget::parse("http://[::1]/").unwrap().host_header(),
            "[::1]"
        );
    }
}
