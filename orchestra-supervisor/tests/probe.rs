//! The shared TCP and HTTP probe against real sockets: listeners that keep a connection,
//! accept and close at once (as Docker's proxy does), answer 200, 503, something that is
//! not HTTP, or nothing at all.
#![allow(clippy::unwrap_used, missing_docs)]

use std::net::SocketAddr;
use std::time::Duration;

use orchestra_supervisor::probe::{self, PROXY_SETTLE, ProbeError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

async fn listener() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    (l, addr)
}

/// A port nothing listens on: bound, then released.
async fn free_port() -> u16 {
    let (l, addr) = listener().await;
    drop(l);
    addr.port()
}

#[tokio::test]
async fn tcp_passes_on_a_listener_that_keeps_the_connection() {
    let (l, addr) = listener().await;
    let server = tokio::spawn(async move { l.accept().await.unwrap() });
    probe::tcp("127.0.0.1", addr.port(), PROXY_SETTLE)
        .await
        .unwrap();
    drop(server.await.unwrap());
    // An empty host means this machine.
    let (l, addr) = listener().await;
    let server = tokio::spawn(async move { l.accept().await.unwrap() });
    probe::tcp("", addr.port(), Duration::ZERO).await.unwrap();
    drop(server.await.unwrap());
}

#[tokio::test]
async fn tcp_fails_on_an_accept_and_close_within_the_settle_time() {
    let (l, addr) = listener().await;
    tokio::spawn(async move {
        let (s, _) = l.accept().await.unwrap();
        drop(s);
    });
    let e = probe::tcp("127.0.0.1", addr.port(), PROXY_SETTLE)
        .await
        .unwrap_err();
    assert!(matches!(e, ProbeError::ClosedAtOnce { .. }), "{e:?}");
    assert!(e.to_string().contains("nothing listens behind it"), "{e}");
}

#[tokio::test]
async fn tcp_passes_on_a_greeting_before_the_settle_time() {
    let (l, addr) = listener().await;
    tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        s.write_all(b"+OK ready\r\n").await.unwrap();
        // Closing right after a greeting is still a listener.
    });
    probe::tcp("127.0.0.1", addr.port(), Duration::from_secs(30))
        .await
        .unwrap();
}

#[tokio::test]
async fn tcp_on_a_closed_port_names_the_target_and_the_system_reason() {
    let port = free_port().await;
    let e = probe::tcp("127.0.0.1", port, Duration::ZERO)
        .await
        .unwrap_err();
    let ProbeError::Connect { target, source } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(target, &format!("127.0.0.1:{port}"));
    assert_eq!(source.kind(), std::io::ErrorKind::ConnectionRefused);
}

/// Serves one canned answer per connection, after reading the request.
fn serve(l: TcpListener, answers: &'static [&'static str]) -> tokio::task::JoinHandle<Vec<String>> {
    tokio::spawn(async move {
        let mut requests = Vec::new();
        for answer in answers {
            let (mut s, _) = l.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let n = s.read(&mut buf).await.unwrap();
            requests.push(String::from_utf8_lossy(&buf[..n]).into_owned());
            s.write_all(answer.as_bytes()).await.unwrap();
        }
        requests
    })
}

#[tokio::test]
async fn http_passes_on_2xx_and_3xx_and_reports_other_answers() {
    let (l, addr) = listener().await;
    let server = serve(
        l,
        &[
            "HTTP/1.1 200 OK\r\n\r\nok",
            "HTTP/1.0 302 Found\r\nLocation: /x\r\n\r\n",
            "HTTP/1.1 503 Busy\r\n\r\n",
            "SSH-2.0-OpenSSH_9.6\r\n",
        ],
    );
    let url = format!("http://{addr}/health?deep=1");
    probe::http(&url).await.unwrap();
    probe::http(&url).await.unwrap();
    let e = probe::http(&url).await.unwrap_err();
    assert!(matches!(e, ProbeError::Status { code: 503, .. }), "{e:?}");
    assert_eq!(e.to_string(), format!("GET {url} answered 503"));
    let e = probe::http(&url).await.unwrap_err();
    assert!(matches!(e, ProbeError::NotAnAnswer { .. }), "{e:?}");
    let requests = server.await.unwrap();
    // A well-formed HTTP/1.1 request: path and query, the port in Host, no keep-alive.
    assert!(
        requests[0].starts_with("GET /health?deep=1 HTTP/1.1\r\n"),
        "{}",
        requests[0]
    );
    assert!(
        requests[0].contains(&format!("\r\nHost: {addr}\r\n")),
        "{}",
        requests[0]
    );
    assert!(
        requests[0].contains("\r\nConnection: close\r\n"),
        "{}",
        requests[0]
    );
}

#[tokio::test]
async fn http_on_a_closed_port_or_a_bad_url_says_why() {
    let port = free_port().await;
    let e = probe::http(&format!("http://127.0.0.1:{port}/"))
        .await
        .unwrap_err();
    assert!(matches!(e, ProbeError::Connect { .. }), "{e:?}");
    let e = probe::http("https://127.0.0.1/").await.unwrap_err();
    assert!(e.to_string().contains("https is not probed"), "{e}");
}

#[tokio::test]
async fn an_attempt_that_gets_no_answer_times_out() {
    let (l, addr) = listener().await;
    // Accepts and reads, never answers.
    let _server = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = [0u8; 1024];
        while s.read(&mut buf).await.unwrap_or(0) > 0 {}
        std::future::pending::<()>().await;
    });
    let e = probe::http(&format!("http://{addr}/")).await.unwrap_err();
    assert!(matches!(e, ProbeError::TimedOut { .. }), "{e:?}");
    assert!(e.to_string().contains("did not answer within 2s"), "{e}");
}
