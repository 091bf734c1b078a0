//! Network checks from the host: a TCP connection and an HTTP GET. Each returns why it
//! failed as text, which ends up in the "not ready" error when time runs out.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a connected socket is watched for an immediate close (see [`tcp`]).
const SETTLE: Duration = Duration::from_millis(150);

/// Whether something accepts and keeps a TCP connection at `addr`.
///
/// Connecting is not enough for a published port: Docker's userland proxy accepts on the
/// host port as soon as the container starts, then closes the connection when nothing
/// listens inside yet. So a connection closed without a byte within a short settle time
/// counts as a failure; one kept open (or one that sends a greeting) is a listener.
pub(crate) async fn tcp(addr: SocketAddr) -> Result<(), String> {
    let mut stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    let mut byte = [0u8; 1];
    match tokio::time::timeout(SETTLE, stream.read(&mut byte)).await {
        Err(_) | Ok(Ok(1..)) => Ok(()),
        Ok(Ok(0)) => Err(format!(
            "{addr} accepted and closed the connection at once (nothing listens behind it yet)"
        )),
        Ok(Err(e)) => Err(format!("connection to {addr} failed: {e}")),
    }
}

/// Whether an HTTP GET of `url` (plain `http://` only) answers 2xx or 3xx.
pub(crate) async fn http(url: &str) -> Result<(), String> {
    let (host_port, path) = split_url(url)?;
    let mut stream = TcpStream::connect(host_port.as_str())
        .await
        .map_err(|e| format!("cannot connect to {host_port}: {e}"))?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host_port}\r\nUser-Agent: orchestra\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("cannot send the request to {url}: {e}"))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 512];
    while !head.contains(&b'\n') && head.len() < 4096 {
        let n = stream
            .read(&mut buf)
            .await
            .map_err(|e| format!("cannot read the answer of {url}: {e}"))?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    match status_code(&head) {
        Some(code) if (200..400).contains(&code) => Ok(()),
        Some(code) => Err(format!("GET {url} answered {code}")),
        None => Err(format!("GET {url} gave no HTTP status line")),
    }
}

/// `http://host:port/path` into `("host:port", "/path")`.
fn split_url(url: &str) -> Result<(String, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("`{url}` is not an http:// URL (https is not probed)"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        return Err(format!("`{url}` names no host"));
    }
    let host_port = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    Ok((host_port, path.to_owned()))
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
    fn urls_split_into_address_and_path() {
        assert_eq!(
            split_url("http://127.0.0.1:8080/health?x=1").unwrap(),
            ("127.0.0.1:8080".to_owned(), "/health?x=1".to_owned())
        );
        assert_eq!(
            split_url("http://localhost").unwrap(),
            ("localhost:80".to_owned(), "/".to_owned())
        );
        assert!(split_url("https://x/").unwrap_err().contains("https"));
    }

    #[test]
    fn status_lines_parse() {
        assert_eq!(status_code(b"HTTP/1.1 204 No Content\r\n"), Some(204));
        assert_eq!(status_code(b"SSH-2.0-OpenSSH\r\n"), None);
    }

    #[tokio::test]
    async fn tcp_tells_a_listener_from_an_accept_and_close() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // First connection: accepted and kept open. Second: accepted and closed at once.
        let server = tokio::spawn(async move {
            let (kept, _) = listener.accept().await.unwrap();
            let (closed, _) = listener.accept().await.unwrap();
            drop(closed);
            kept
        });
        tcp(addr).await.unwrap();
        let err = tcp(addr).await.unwrap_err();
        assert!(err.contains("closed the connection"), "{err}");
        drop(server.await.unwrap());
        let gone = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let free = gone.local_addr().unwrap();
        drop(gone);
        assert!(tcp(free).await.unwrap_err().contains("cannot connect"));
    }

    #[tokio::test]
    async fn http_accepts_2xx_and_reports_other_codes() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            for answer in ["HTTP/1.1 200 OK\r\n\r\nok", "HTTP/1.1 503 Busy\r\n\r\n"] {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await.unwrap();
                s.write_all(answer.as_bytes()).await.unwrap();
            }
        });
        let url = format!("http://{addr}/health");
        http(&url).await.unwrap();
        assert_eq!(
            http(&url).await.unwrap_err(),
            format!("GET {url} answered 503")
        );
    }
}
