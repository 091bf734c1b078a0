//! Leading-edge debouncing with a trailing catch-up, per service, as pure bookkeeping over
//! instants.
//!
//! An editor saves one file: the service fires at once, when the file is complete (closed
//! after writing, or renamed into place), so a single save costs no quiet period. What
//! follows within the quiet period (`rerun.debounce`) of the last change — the rest of a
//! `git checkout`, a formatter rewriting the file — is held and fires once, a quiet period
//! after the last change; the rerun pipeline then drops the build it started for the first
//! file and builds again, so a burst is still served by one replacement. A change that is
//! not complete yet (data written, a file created, a new folder) waits for the quiet period.
//! A stream that never pauses fires again every [`cap`], so a tool rewriting a file forever
//! cannot starve the rerun.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use orchestra_core::name::ServiceName;

/// The longest a burst is held back: ten quiet periods, and at least two seconds so that a
/// large `git checkout` under the default 100 ms quiet period still gives one catch-up.
pub(crate) fn cap(quiet: Duration) -> Duration {
    (quiet * 10).max(super::MAX_WAIT_FLOOR)
}

/// Files named per burst at most: enough to say what changed.
const MAX_FILES: usize = 64;

/// More new folders than this in one burst are not all remembered: a burst that creates that
/// many without one relevant file is rare, and the scan of the first ones decides.
const MAX_FOLDERS: usize = 256;

/// What one change tells about its service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// A relevant file changed; `complete` when it is in its final state (closed after
    /// writing, renamed, removed), so a rebuild can start at once.
    Relevant {
        /// The file.
        file: PathBuf,
        /// Whether the file is complete.
        complete: bool,
    },
    /// A folder appeared; it counts if it holds a relevant file once the burst is over
    /// (scanned then, when the watcher has long since added it and what it holds).
    NewFolder(PathBuf),
}

#[derive(Debug)]
struct Burst {
    /// Since when it may fire at the cap.
    first: Instant,
    last: Instant,
    quiet: Duration,
    /// It fired already: later changes wait for the quiet period.
    fired: bool,
    /// It is to fire now, on its leading edge.
    leading: bool,
    /// It changed after firing, and that is to be told at once (see [`Debouncer::take_stale`]).
    stale: bool,
    /// That was told.
    told: bool,
    relevant: bool,
    files: BTreeSet<PathBuf>,
    folders: Vec<PathBuf>,
}

impl Burst {
    fn deadline(&self) -> Instant {
        if self.leading {
            return self.first;
        }
        (self.last + self.quiet).min(self.first + cap(self.quiet))
    }

    fn is_quiet(&self, now: Instant) -> bool {
        self.last + self.quiet <= now
    }
}

/// A burst (or its leading edge) that is due.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Due {
    /// The service.
    pub(crate) name: ServiceName,
    /// A relevant file changed: fire without looking further.
    pub(crate) relevant: bool,
    /// The relevant files that changed (the first [`MAX_FILES`]).
    pub(crate) files: BTreeSet<PathBuf>,
    /// New folders to scan for relevant files when `relevant` is false.
    pub(crate) folders: Vec<PathBuf>,
}

/// Open bursts, one per service at most.
#[derive(Debug, Default)]
pub(crate) struct Debouncer {
    bursts: HashMap<ServiceName, Burst>,
}

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
            fired: false,
            leading: false,
            stale: false,
            told: false,
            relevant: false,
            files: BTreeSet::new(),
            folders: Vec::new(),
        });
        burst.last = burst.last.max(now);
        if burst.fired && !burst.told {
            burst.stale = true;
        }
        match change {
            Change::Relevant { file, complete } => {
                burst.relevant = true;
                burst.folders.clear();
                if burst.files.len() < MAX_FILES {
                    burst.files.insert(file);
                }
                if complete && !burst.fired {
                    burst.leading = true;
                    burst.first = now;
                }
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

    /// Returns the bursts due at `now`, earliest deadline first, so names go out in the
    /// order their bursts ended. A leading edge or a burst held at its cap fires and stays
    /// open (quiet again, for what follows); a burst whose quiet period is over closes.
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
                let burst = self.bursts.get_mut(&name)?;
                let fired = Due {
                    name: name.clone(),
                    relevant: burst.relevant,
                    files: std::mem::take(&mut burst.files),
                    folders: std::mem::take(&mut burst.folders),
                };
                if burst.is_quiet(now) && !burst.leading {
                    self.bursts.remove(&name);
                } else {
                    burst.leading = false;
                    burst.told = false;
                    burst.stale = false;
                    burst.fired = true;
                    burst.relevant = false;
                    burst.first = now;
                }
                (fired.relevant || !fired.folders.is_empty()).then_some(fired)
            })
            .collect()
    }

    /// The services that changed again since they fired, once per firing: what was started
    /// for them works on sources that are being rewritten (the rest of a burst follows when
    /// it is quiet).
    pub(crate) fn take_stale(&mut self) -> BTreeSet<ServiceName> {
        self.bursts
            .iter_mut()
            .filter(|(_, b)| b.stale)
            .map(|(name, b)| {
                b.stale = false;
                b.told = true;
                name.clone()
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

    fn written(file: &str, complete: bool) -> Change {
        Change::Relevant {
            file: file.into(),
            complete,
        }
    }

    #[test]
    fn a_saved_file_fires_at_once_and_nothing_follows() {
        let t0 = Instant::now();
        let mut d = Debouncer::default();
        d.record(&users(), ms(100), t0, written("/p/users/main.go", false));
        assert_eq!(d.next_deadline(), Some(t0 + ms(100)), "still being written");
        d.record(
            &users(),
            ms(100),
            t0 + ms(1),
            written("/p/users/main.go", true),
        );
        assert_eq!(d.next_deadline(), Some(t0 + ms(1)), "closed: due now");
        let due = d.take_due(t0 + ms(1));
        assert!(d.take_stale().is_empty(), "nothing changed since");
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].files, BTreeSet::from(["/p/users/main.go".into()]));
        assert!(d.take_due(t0 + ms(101)).is_empty(), "nothing more changed");
        assert_eq!(d.next_deadline(), None, "and the burst is closed");
    }

    #[test]
    fn what_follows_the_leading_edge_fires_once_a_quiet_period_after_its_last_change() {
        let t0 = Instant::now();
        let mut d = Debouncer::default();
        for i in 0..10 {
            let file = format!("/p/users/f{i}.go");
            d.record(&users(), ms(100), t0 + ms(i * 50), written(&file, true));
            if i == 0 {
                assert_eq!(d.take_due(t0).len(), 1, "the leading edge");
            }
        }
        assert_eq!(d.take_stale(), BTreeSet::from([users()]), "told once");
        assert!(d.take_stale().is_empty());
        assert_eq!(d.next_deadline(), Some(t0 + ms(550)));
        assert!(d.take_due(t0 + ms(549)).is_empty());
        let due = d.take_due(t0 + ms(550));
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].files.len(), 9, "the files after the leading one");
        assert_eq!(d.next_deadline(), None);
    }

    #[test]
    fn a_never_ending_stream_fires_at_the_cap_and_not_again_at_once() {
        let t0 = Instant::now();
        let mut d = Debouncer::default();
        let mut fired = Vec::new();
        let mut t = t0;
        while t < t0 + ms(5000) {
            d.record(&users(), ms(100), t, written("/p/users/main.go", true));
            if !d.take_due(t).is_empty() {
                fired.push(t - t0);
            }
            t += ms(50);
        }
        assert_eq!(fired, [ms(0), ms(2000), ms(4000)]);
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
        assert!(
            d.take_due(t0).is_empty(),
            "a folder waits for the quiet period"
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
        d.record(&users(), ms(100), t0, written("/p/users/a/x.go", false));
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
        d.record(&orders, ms(300), t0, written("/p/orders/a.go", false));
        d.record(
            &users(),
            ms(100),
            t0 + ms(150),
            written("/p/users/a.go", false),
        );
        let names: Vec<_> = d
            .take_due(t0 + ms(260))
            .into_iter()
            .map(|d| d.name)
            .collect();
        assert_eq!(names, [users()], "orders is still quiet");
        d.record(
            &users(),
            ms(100),
            t0 + ms(250),
            written("/p/users/a.go", false),
        );
        let names: Vec<_> = d
            .take_due(t0 + ms(400))
            .into_iter()
            .map(|d| d.name)
            .collect();
        assert_eq!(names, [orders, users()], "earliest deadline first");
        d.record(&users(), ms(100), t0, written("/p/users/a.go", false));
        d.forget(&users());
        assert_eq!(d.next_deadline(), None);
    }
}
