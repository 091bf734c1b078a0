//! Small network helpers: free ports for fleets, and a tiny HTTP client that needs no crate.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::Mutex;
use std::time::Duration;

/// Ports handed out come from here: below Linux's ephemeral range (32768+), so outgoing
/// connections never take them, and above the well-known services.
const PORT_RANGE: std::ops::Range<u16> = 15_000..32_000;

/// `GET url` over HTTP/1.0; `Some((status, body))`, or `None` when anything fails
/// (nothing listening, a timeout, a malformed answer). Only `http://host:port/path` URLs.
pub fn http_get(url: &str) -> Option<(u16, String)> {
    http_request("GET", url, None)
}

/// `POST url` with a JSON `body`, as [`http_get`] does a GET.
pub fn http_post(url: &str, body: &str) -> Option<(u16, String)> {
    http_request("POST", url, Some(body))
}

fn http_request(method: &str, url: &str, body: Option<&str>) -> Option<(u16, String)> {
    let rest = url.strip_prefix("http://")?;
    let (host_port, path) = rest
        .find('/')
        .map_or((rest, "/"), |i| (&rest[..i], &rest[i..]));
    let addr = host_port.to_socket_addrs().ok()?.next()?;
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream
        .set_write_timeout(Some(Duration::from_secs(5)))
        .ok()?;
    let body_head = body.map_or_else(String::new, |b| {
        format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        )
    });
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: {host_port}\r\nConnection: close\r\n{body_head}\r\n{}",
        body.unwrap_or_default()
    )
    .ok()?;
    let mut raw = Vec::new();
    // A server may reset the connection right after answering (it closed without reading
    // all we sent): what arrived before the reset is still the answer.
    if stream.read_to_end(&mut raw).is_err() && raw.is_empty() {
        return None;
    }
    let raw = String::from_utf8_lossy(&raw);
    let (head, body) = raw.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_owned()))
}

/// The first of `n` consecutive ports that are all free on every interface right now.
///
/// Ports handed out by this process are never handed out again, so parallel tests do not
/// collide; the start is random so concurrent test processes are unlikely to either.
pub fn free_port_block(n: u16) -> u16 {
    static NEXT: Mutex<Option<u16>> = Mutex::new(None);
    assert!(n > 0 && n < 1000, "a block of {n} ports is not reasonable");
    let mut next = NEXT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let span = PORT_RANGE.end - PORT_RANGE.start;
    let mut base = next.unwrap_or_else(|| PORT_RANGE.start + (random() % u64::from(span)) as u16);
    for _ in 0..span {
        if base.saturating_add(n) > PORT_RANGE.end {
            base = PORT_RANGE.start;
        }
        if let Some(busy) = (base..base + n).find(|&p| !port_is_free(p)) {
            base = busy + 1;
            continue;
        }
        *next = Some(base + n);
        return base;
    }
    panic!("no block of {n} free ports in {PORT_RANGE:?}");
}

/// Whether `port` can be bound on all interfaces (as a service listening on `:port` would).
pub fn port_is_free(port: u16) -> bool {
    TcpListener::bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port))).is_ok()
}

/// A random number from the standard library's per-process hash seed.
fn random() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;

    #[test]
    fn free_port_blocks_are_free_consecutive_and_never_repeated() {
        let a = free_port_block(3);
        let b = free_port_block(3);
        assert!(b >= a + 3 || b + 3 <= a, "blocks {a} and {b} overlap");
        for port in a..a + 3 {
            assert!(port_is_free(port), "port {port} was handed out but is busy");
        }
    }

    #[test]
    fn a_bound_port_is_not_free() {
        let listener = TcpListener::bind("0.0.0.0:0").unwrap();
        assert!(!port_is_free(listener.local_addr().unwrap().port()));
    }

    #[test]
    fn http_get_reads_status_and_body() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.ends_with(b"\r\n\r\n") {
                let n = conn.read(&mut buf).unwrap();
                assert!(n > 0, "the request ended early");
                request.extend_from_slice(&buf[..n]);
            }
            let request = String::from_utf8_lossy(&request).into_owned();
            conn.write_all(b"HTTP/1.0 418 I'm a teapot\r\nContent-Length: 5\r\n\r\nshort")
                .unwrap();
            request
        });
        assert_eq!(
            http_get(&format!("http://127.0.0.1:{port}/pot?x=1")),
            Some((418, "short".to_owned()))
        );
        assert!(
            server
                .join()
                .unwrap()
                .starts_with("GET /pot?x=1 HTTP/1.0\r\n")
        );
    }

    #[test]
    fn http_get_is_none_when_nothing_listens() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        assert_eq!(http_get(&format!("http://127.0.0.1:{port}/")), None);
        assert_eq!(http_get("https://example.invalid/"), None);
    }
}
