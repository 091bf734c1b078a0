//! Waiting for a state by polling with a deadline: tests never sleep a fixed time.

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// How often a condition is polled: fast enough to keep tests quick, slow enough not to
/// steal the CPU from the processes under test.
const POLL_EVERY: Duration = Duration::from_millis(25);

/// A deadline generous enough for a loaded CI machine, for things that normally take
/// milliseconds.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Polls `f` until it returns true; panics naming `what` when `deadline` passes first.
///
/// ```
/// let mut polls = 0;
/// orchestra_tests::wait_until(std::time::Duration::from_secs(1), "three polls", || {
///     polls += 1;
///     polls == 3
/// });
/// ```
pub fn wait_until(deadline: Duration, what: &str, mut f: impl FnMut() -> bool) {
    poll_until(deadline, what, || f().then_some(()));
}

/// Polls `f` until it returns a value; panics naming `what` when `deadline` passes first.
pub fn poll_until<T>(deadline: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = f() {
            return value;
        }
        assert!(
            start.elapsed() < deadline,
            "timed out after {deadline:?} waiting for {what}"
        );
        std::thread::sleep(POLL_EVERY);
    }
}

/// Checks that `f` stays true for all of `window`, polling it; panics naming `what` the
/// moment it turns false. Proving that something does *not* happen (no rerun after an
/// ignored file) needs a window; this watches the state through it instead of sleeping.
pub fn holds_for(window: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    loop {
        assert!(f(), "{what} stopped holding after {:?}", start.elapsed());
        if start.elapsed() >= window {
            return;
        }
        std::thread::sleep(POLL_EVERY);
    }
}

/// Waits until something accepts TCP connections on 127.0.0.1:`port`.
pub fn wait_for_port(port: u16) {
    wait_until(
        PATIENCE,
        &format!("port {port} to accept connections"),
        || port_accepts(port),
    );
}

/// Whether something accepts TCP connections on 127.0.0.1:`port` right now.
pub fn port_accepts(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_until_returns_the_first_value() {
        let mut n = 0;
        let got = poll_until(Duration::from_secs(1), "n to reach 2", || {
            n += 1;
            (n >= 2).then_some(n * 10)
        });
        assert_eq!(got, 20);
    }

    #[test]
    #[should_panic(expected = "n below 3 stopped holding")]
    fn holds_for_panics_as_soon_as_the_state_changes() {
        let mut n = 0;
        holds_for(Duration::from_secs(10), "n below 3", || {
            n += 1;
            n < 3
        });
    }

    #[test]
    #[should_panic(expected = "timed out after 50ms waiting for the impossible")]
    fn wait_until_panics_with_what_it_waited_for() {
        wait_until(Duration::from_millis(50), "the impossible", || false);
    }
}
