//! `Request::Subscribe`: the fleet's events, streamed to a client as they happen.
//!
//! Each subscriber reads the engine's event stream at its own pace: a client that reads
//! slowly only delays its own connection, and one that falls too far behind is told how
//! many events it missed ([`Event::Missed`]) rather than slowing the fleet or the daemon's
//! memory. The stream ends when the client hangs up.

use orchestra_core::protocol::Event;
use orchestra_supervisor::Engine;
use tokio::io::{AsyncBufRead, AsyncWrite};

use super::incoming;
use super::server::write_event;

/// Writes `engine`'s events to `write` until the client closes `read` (or the engine is
/// gone, which ends the stream with `Done`).
pub(super) async fn stream(
    engine: &Engine,
    read: &mut (impl AsyncBufRead + Unpin),
    write: &mut (impl AsyncWrite + Unpin),
) -> std::io::Result<()> {
    let mut events = engine.subscribe();
    loop {
        tokio::select! {
            next = events.recv() => {
                let event = match next {
                    Some(Ok(event)) => Event::Fleet(event),
                    Some(Err(missed)) => Event::Missed { count: missed.count },
                    None => Event::Done { ok: true, failures: Vec::new() },
                };
                write_event(write, &event).await?;
                if matches!(event, Event::Done { .. }) {
                    return Ok(());
                }
            }
            read = incoming::discard(read) => {
                if !matches!(read, Ok(n) if n > 0) {
                    return Ok(());
                }
            }
        }
    }
}
