//! The fleet's event stream: every [`FleetEvent`] the replica jobs and the engine emit,
//! to any number of subscribers.
//!
//! Emitting never waits and never fails: the stream is a bounded ring
//! ([`EventBus::CAPACITY`] events, a tokio broadcast channel). Each subscriber reads at its
//! own pace; one that falls more than the capacity behind loses the oldest events it had
//! not read, and is told so once ([`Missed`]) before it reads on from the oldest event
//! still kept. So a slow or stuck subscriber costs the engine nothing and memory stays
//! bounded, and a subscriber that needs the whole picture after a gap asks for
//! [`Engine::status`](crate::Engine::status) again.

use tokio::sync::broadcast;

pub use orchestra_core::event::FleetEvent;

/// Where events are emitted; cloneable, each clone emits into the same stream. The
/// [`Engine`](crate::Engine) has one ([`Engine::subscribe`](crate::Engine::subscribe));
/// a program driving [`ReplicaHandle`](crate::ReplicaHandle)s itself makes its own.
#[derive(Debug, Clone)]
pub struct EventBus(broadcast::Sender<FleetEvent>);

impl EventBus {
    /// How many events a subscriber may fall behind before it misses some.
    pub const CAPACITY: usize = 1024;

    /// A stream nobody listens to yet.
    pub fn new() -> Self {
        Self(broadcast::channel(Self::CAPACITY).0)
    }

    /// A subscription to the events emitted from now on.
    pub fn subscribe(&self) -> Subscription {
        Subscription(self.0.subscribe())
    }

    /// Emits `event` to every subscriber (to none when there are none).
    pub(crate) fn emit(&self, event: FleetEvent) {
        tracing::debug!(%event, "fleet event");
        let _ = self.0.send(event);
    }
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

/// One subscriber's view of the stream, from the moment it subscribed.
#[derive(Debug)]
pub struct Subscription(broadcast::Receiver<FleetEvent>);

impl Subscription {
    /// The next event, waiting for one. `Some(Err(Missed))` once after the subscriber fell
    /// behind (the next call reads on from the oldest event kept); `None` when no event can
    /// come any more (every emitter, the engine with its jobs, is gone).
    pub async fn recv(&mut self) -> Option<Result<FleetEvent, Missed>> {
        match self.0.recv().await {
            Ok(event) => Some(Ok(event)),
            Err(broadcast::error::RecvError::Lagged(count)) => Some(Err(Missed { count })),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }

    /// The next event if one is waiting, without waiting.
    pub fn try_recv(&mut self) -> Option<Result<FleetEvent, Missed>> {
        match self.0.try_recv() {
            Ok(event) => Some(Ok(event)),
            Err(broadcast::error::TryRecvError::Lagged(count)) => Some(Err(Missed { count })),
            Err(_) => None,
        }
    }
}

/// A subscriber fell behind the stream and these events were dropped for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("missed {count} fleet events: the subscriber fell behind")]
pub struct Missed {
    /// How many events it missed.
    pub count: u64,
}

#[cfg(test)]
mod tests {
    use orchestra_core::{ReplicaId, ServiceName};

    use super::*;

    fn stopped(index: u32) -> FleetEvent {
        FleetEvent::Stopped {
            replica: ReplicaId::new(ServiceName::new("api").unwrap(), index),
        }
    }

    #[tokio::test]
    async fn a_subscriber_that_falls_behind_misses_the_oldest_and_reads_on() {
        let bus = EventBus::new();
        let mut slow = bus.subscribe();
        let total = EventBus::CAPACITY as u32 + 10;
        for i in 0..total {
            bus.emit(stopped(i));
        }
        assert_eq!(slow.recv().await, Some(Err(Missed { count: 10 })));
        assert_eq!(slow.recv().await, Some(Ok(stopped(10))));
        let mut rest = 1;
        while let Some(Ok(_)) = slow.try_recv() {
            rest += 1;
        }
        assert_eq!(rest, EventBus::CAPACITY);
    }

    #[tokio::test]
    async fn the_stream_ends_when_every_emitter_is_gone() {
        let bus = EventBus::new();
        let mut sub = bus.subscribe();
        bus.emit(stopped(0));
        drop(bus);
        assert_eq!(sub.recv().await, Some(Ok(stopped(0))));
        assert_eq!(sub.recv().await, None);
    }
}
