//! Trailing-edge debouncing per service, as pure bookkeeping over instants.
//!
//! A burst of changes of one service fires once, a quiet period (`rerun.debounce`) after its
//! last change. A stream of changes that never pauses still fires once [`cap`] after its first
//! change, so a tool rewriting a file forever cannot starve the rerun.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use orchestra_core::name::ServiceName;

/// The longest a burst is held back: ten quiet periods, and at least two seconds so that a
/// large `git checkout` under the default 100 ms quiet period still gives one rebuild.
pub(crate) fn cap(quiet: Duration) -> Duration {
    (quiet * 10).max(super::MAX_WAIT_FLOOR)
}

/// What one change tells about its service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// A relevant file changed.
    Relevant,
    /// A folder appeared; it counts if it holds a relevant file once the burst is over
    /// (scanned then, when the watcher has long since added it and what it holds).
    NewFolder(PathBuf),
}

#[derive(Debug)]
struct Burst {
    first: Instant,
    last: Instant,
    quiet: Duration,
    relevant: bool,
    folders: Vec<PathBuf>,
}

impl Burst {
    fn deadline(&self) -> Instant {
        (self.last + self.quiet).min(self.first + cap(self.quiet))
    }
}

/// A burst whose quiet period is over.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Due {
    /// The service.
    pub(crate) name: ServiceName,
    /// A relevant file changed: fire without looking further.
    pub(crate) relevant: bool,
    /// New folders to scan for relevant files when `relevant` is false.
    pub(crate) folders: Vec<PathBuf>,
}

/// Open bursts, one per service at most.
#[derive(Debug, Default)]
pub(crate) struct Debouncer {
    bursts: HashMap<ServiceName, Burst>,
}

/// More new folders than this in one burst are not all remembered: a burst that creates that
/// many without one relevant file is rare, and the scan of the first ones decides.
const MAX_FOLDERS: usize = 256;

impl Debouncer {
    /// Records a change of `name` at `now`, opening a burst or extending the open one.
    pub(crate) fn record(
        &mut self,
        name: &ServiceName,
        quiet: Duration,
        now: Instant,
        change: Change,
    ) {
        let burst = self.bursts.entry(name.clone()).or_insert_with(|| Burst {
            first: now,
            last: now,
            quiet,
            relevant: false,
            folders: Vec::new(),
        });
        burst.last = burst.last.max(now);
        match change {
            Change::Relevant => {
                burst.relevant = true;
                burst.folders.clear();
            }
            Change::NewFolder(folder) => {
                if !burst.relevant && burst.folders.len() < MAX_FOLDERS {
                    burst.folders.push(folder);
                }
            }
        }
    }

    /// When the next burst is due, if any is open.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.bursts.values().map(Burst::deadline).min()
    }

    /// Closes and returns the bursts due at `now`, earliest deadline first, so names go out
    /// in the order their bursts ended.
    pub(crate) fn take_due(&mut self, now: Instant) -> Vec<Due> {
        let mut due: Vec<(Instant, ServiceName)> = self
            .bursts
            .iter()
            .map(|(n, b)| (b.deadline(), n.clone()))
            .filter(|(deadline, _)| *deadline <= now)
            .collect();
        due.sort();
        due.into_iter()
            .map(|(_, name)| name)
            .filter_map(|name| {
                let burst = self.bursts.remove(&name)?;
                Some(Due {
                    name,
                    relevant: burst.relevant,
                    folders: burst.folders,
                })
            })
            .collect()
    }

    /// Drops the open burst of a service that is no longer watched.
    pub(crate) fn forget(&mut self, name: &ServiceName) {
        self.bursts.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn users() -> ServiceName {
        ServiceName::new("users").expect("valid name")
    }

    #[test]
    fn a_burst_fires_once_a_quiet_period_after_its_last_change() {
        let t0 = Instant::now();
        let mut d = Debouncer::default();
        for i in 0..10 {
            d.record(&users(), ms(100), t0 + ms(i * 50), Change::Relevant);
        }
        assert_eq!(d.next_deadline(), Some(t0 + ms(550)));
        assert!(d.take_due(t0 + ms(549)).is_empty());
        let due = d.take_due(t0 + ms(550));
        assert_eq!(due.len(), 1);
        assert!(due[0].relevant);
        assert_eq!(d.next_deadline(), None);
    }

    #[test]
    fn a_never_ending_stream_fires_at_the_cap() {
        let t0 = Instant::now();
        let mut d = Debouncer::default();
        let mut t = t0;
        while t < t0 + ms(5000) {
            d.record(&users(), ms(100), t, Change::Relevant);
            t += ms(50);
        }
        assert_eq!(d.next_deadline(), Some(t0 + cap(ms(100))));
        assert_eq!(cap(ms(100)), ms(2000));
        assert_eq!(cap(ms(500)), ms(5000));
    }

    #[test]
    fn new_folders_are_kept_for_a_scan_until_a_relevant_change() {
        let t0 = Instant::now();
        let mut d = Debouncer::default();
        d.record(
            &users(),
            ms(100),
            t0,
            Change::NewFolder("/p/users/a".into()),
        );
        let due = d.take_due(t0 + ms(100));
        assert_eq!(due[0].folders, [PathBuf::from("/p/users/a")]);
        assert!(!due[0].relevant);

        d.record(
            &users(),
            ms(100),
            t0,
            Change::NewFolder("/p/users/a".into()),
        );
        d.record(&users(), ms(100), t0, Change::Relevant);
        d.record(
            &users(),
            ms(100),
            t0,
            Change::NewFolder("/p/users/b".into()),
        );
        let due = d.take_due(t0 + ms(100));
        assert!(due[0].relevant && due[0].folders.is_empty());
    }

    #[test]
    fn services_debounce_independently() {
        let t0 = Instant::now();
        let mut d = Debouncer::default();
        let orders = ServiceName::new("orders").expect("valid name");
        d.record(&orders, ms(300), t0, Change::Relevant);
        d.record(&users(), ms(100), t0 + ms(150), Change::Relevant);
        let names: Vec<_> = d
            .take_due(t0 + ms(260))
            .into_iter()
            .map(|d| d.name)
            .collect();
        assert_eq!(names, [users()], "orders is still quiet");
        d.record(&users(), ms(100), t0 + ms(250), Change::Relevant);
        let names: Vec<_> = d
            .take_due(t0 + ms(400))
            .into_iter()
            .map(|d| d.name)
            .collect();
        assert_eq!(names, [orders, users()], "earliest deadline first");
        d.record(&users(), ms(100), t0, Change::Relevant);
        d.forget(&users());
        assert_eq!(d.next_deadline(), None);
    }
}
