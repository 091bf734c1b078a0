//! Reading a connection's one request line, bounded in size and in time: a client that
//! sends a huge line or nothing at all must neither fill the daemon's memory nor keep it
//! alive after its fleet is gone.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

/// The longest request the daemon reads. A start carries the whole resolved project: a
/// thousand services with no environment of their own already take close to 1 MiB (about
/// 900 bytes each, measured), and every variable adds to each service. 8 MiB leaves room
/// for large fleets while a runaway or hostile client costs the daemon little.
pub const MAX_REQUEST_BYTES: u64 = 8 * 1024 * 1024;

/// How long a connection may take to send its request. A client writes it as soon as it
/// connects; a connection that sends nothing is dropped after this.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What arrived on a connection.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    /// One line (without its newline).
    Line(Vec<u8>),
    /// The client closed without sending anything (it only checked that a daemon answers).
    Closed,
    /// The line grew past [`MAX_REQUEST_BYTES`]; the rest was not read.
    TooLong,
    /// Nothing complete arrived within the time allowed.
    Idle,
}

/// Reads one request line from `read` within `timeout`, reading at most
/// [`MAX_REQUEST_BYTES`] (and one byte more to tell a line that long from a longer one).
pub async fn read_request(
    read: impl AsyncBufRead + Unpin,
    timeout: Duration,
) -> io::Result<Incoming> {
    let mut line = Vec::new();
    let mut limited = read.take(MAX_REQUEST_BYTES + 1);
    let Ok(read) = tokio::time::timeout(timeout, limited.read_until(b'\n', &mut line)).await else {
        return Ok(Incoming::Idle);
    };
    if read? == 0 {
        return Ok(Incoming::Closed);
    }
    if line.last() == Some(&b'\n') {
        line.pop();
    } else if line.len() as u64 > MAX_REQUEST_BYTES {
        return Ok(Incoming::TooLong);
    }
    Ok(Incoming::Line(line))
}

/// Reads and drops whatever a client sends after its request, to notice when it hangs up
/// (`Ok(0)`) without keeping what it sends.
pub async fn discard(read: &mut (impl AsyncBufRead + Unpin)) -> io::Result<usize> {
    let n = read.fill_buf().await?.len();
    read.consume(n);
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read(bytes: &[u8]) -> Incoming {
        read_request(bytes, Duration::from_secs(5)).await.unwrap()
    }

    #[tokio::test]
    async fn a_line_is_read_without_its_newline() {
        assert_eq!(read(b"{}\nrest").await, Incoming::Line(b"{}".to_vec()));
        assert_eq!(
            read(b"{} at the end").await,
            Incoming::Line(b"{} at the end".to_vec())
        );
        assert_eq!(read(b"").await, Incoming::Closed);
    }

    #[tokio::test]
    async fn a_line_past_the_cap_is_refused_unread() {
        let cap = usize::try_from(MAX_REQUEST_BYTES).unwrap();
        let mut exactly = vec![b'x'; cap];
        exactly.push(b'\n');
        assert!(matches!(read(&exactly).await, Incoming::Line(l) if l.len() == cap));
        let longer = vec![b'x'; cap * 3];
        assert_eq!(read(&longer).await, Incoming::TooLong);
    }

    #[tokio::test]
    async fn a_silent_connection_is_given_up_on() {
        let (client, server) = tokio::io::duplex(64);
        let server = tokio::io::BufReader::new(server);
        let got = read_request(server, Duration::from_millis(50))
            .await
            .unwrap();
        assert_eq!(got, Incoming::Idle);
        drop(client);
    }
}
