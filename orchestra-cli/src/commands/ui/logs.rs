//! The log pane's lines: the last few thousand lines of the fleet's logs and events, which
//! of them are shown (all, or one unit's), where the view is scrolled to, and the search.
//!
//! Every entry gets a sequence number as it arrives. A scrolled view is anchored to the
//! number of its bottom line, so lines arriving meanwhile do not move what is being read;
//! an unanchored view follows the newest line.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::SystemTime;

use orchestra_logs::LogLine;
use regex::Regex;

/// How many entries the pane keeps; older ones are dropped as new ones come.
pub(super) const CAPACITY: usize = 10_000;

/// A line of the pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Entry {
    /// A line a service or vendor wrote.
    Output(LogLine),
    /// Something that happened to a unit (`api.0 killed by SIGKILL after 2.0s`).
    Event {
        /// The service it is about.
        unit: Arc<str>,
        /// The replica it is about (`api.0`), or the service.
        label: String,
        /// What happened (`killed by SIGKILL after 2.0s`).
        text: String,
        /// When the UI heard of it.
        ts: SystemTime,
        /// Whether it is bad news (an exit, a crash, a failed build).
        bad: bool,
    },
}

impl Entry {
    /// The service or vendor the entry belongs to.
    pub(super) fn unit(&self) -> &str {
        match self {
            Self::Output(line) => &line.unit,
            Self::Event { unit, .. } => unit,
        }
    }

    /// Its text, without a label.
    pub(super) fn text(&self) -> &str {
        match self {
            Self::Output(line) => &line.line,
            Self::Event { text, .. } => text,
        }
    }

    /// When it was written, when known.
    pub(super) fn ts(&self) -> Option<SystemTime> {
        match self {
            Self::Output(line) => line.ts,
            Self::Event { ts, .. } => Some(*ts),
        }
    }
}

/// An entry with its sequence number.
#[derive(Debug, Clone)]
pub(super) struct Stored {
    /// Increases by one per entry, never reused.
    pub seq: u64,
    /// The entry.
    pub entry: Entry,
}

/// A search: its pattern and the match the view is on.
#[derive(Debug, Clone)]
pub(super) struct Search {
    /// What was typed.
    pub pattern: String,
    /// The pattern as a case-insensitive regular expression (taken literally when it is
    /// not a valid one).
    pub regex: Regex,
    /// The entry of the current match.
    pub current: Option<u64>,
}

/// The pane's state.
#[derive(Debug)]
pub(super) struct LogView {
    entries: VecDeque<Stored>,
    next_seq: u64,
    capacity: usize,
    /// Only this unit's entries, or every one.
    focus: Option<String>,
    /// The bottom entry of a scrolled view; `None` follows the newest.
    anchor: Option<u64>,
    search: Option<Search>,
    /// Whether each line shows its time.
    pub timestamps: bool,
}

impl Default for LogView {
    fn default() -> Self {
        Self::with_capacity(CAPACITY)
    }
}

impl LogView {
    /// A pane keeping at most `capacity` entries.
    pub(super) fn with_capacity(capacity: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            next_seq: 0,
            capacity: capacity.max(1),
            focus: None,
            anchor: None,
            search: None,
            timestamps: false,
        }
    }

    /// Adds entries at the end, dropping the oldest beyond the capacity.
    pub(super) fn extend(&mut self, entries: impl IntoIterator<Item = Entry>) {
        for entry in entries {
            self.entries.push_back(Stored {
                seq: self.next_seq,
                entry,
            });
            self.next_seq += 1;
        }
        while self.entries.len() > self.capacity {
            self.entries.pop_front();
        }
    }

    /// The unit whose entries are shown, `None` for all.
    pub(super) fn focus(&self) -> Option<&str> {
        self.focus.as_deref()
    }

    /// Shows only `unit`'s entries (all for `None`), following the newest.
    pub(super) fn set_focus(&mut self, unit: Option<String>) {
        if self.focus != unit {
            self.focus = unit;
            self.anchor = None;
        }
    }

    /// Whether the view follows the newest entry.
    pub(super) fn is_following(&self) -> bool {
        self.anchor.is_none()
    }

    /// The search in force.
    pub(super) fn search(&self) -> Option<&Search> {
        self.search.as_ref()
    }

    fn shown(&self, stored: &Stored) -> bool {
        self.focus
            .as_deref()
            .is_none_or(|unit| stored.entry.unit() == unit)
    }

    /// The entries shown, newest first, starting from the bottom of the view.
    fn upwards_from_bottom(&self) -> impl Iterator<Item = &Stored> {
        let anchor = self.anchor.unwrap_or(u64::MAX);
        self.entries
            .iter()
            .rev()
            .filter(move |s| s.seq <= anchor)
            .filter(|s| self.shown(s))
    }

    /// The entries that fill a pane `height` lines high, oldest first. A view scrolled
    /// above its first `height` entries shows those.
    pub(super) fn window(&self, height: usize) -> Vec<&Stored> {
        let mut lines: Vec<&Stored> = self.upwards_from_bottom().take(height).collect();
        lines.reverse();
        if lines.len() < height {
            let after = lines.last().map_or(0, |s| s.seq + 1);
            let more = self
                .entries
                .iter()
                .filter(|s| s.seq >= after && self.shown(s))
                .take(height - lines.len());
            lines.extend(more);
        }
        lines
    }

    /// Scrolls `n` lines towards older entries.
    pub(super) fn scroll_up(&mut self, n: usize, height: usize) {
        // Not past the point where the first entry is at the top.
        let upwards: Vec<u64> = self.upwards_from_bottom().map(|s| s.seq).collect();
        let lowest = upwards.len().saturating_sub(height.max(1));
        if let Some(&seq) = upwards.get(n.min(lowest)) {
            self.anchor = Some(seq);
        }
    }

    /// Scrolls `n` lines towards newer entries; reaching the newest follows again.
    pub(super) fn scroll_down(&mut self, n: usize) {
        let Some(anchor) = self.anchor else { return };
        if n == 0 {
            return;
        }
        let newer: Vec<u64> = self
            .entries
            .iter()
            .filter(|s| s.seq > anchor && self.shown(s))
            .map(|s| s.seq)
            .take(n + 1)
            .collect();
        // Landing on the newest entry is following it.
        self.anchor = (newer.len() > n).then(|| newer[n - 1]);
    }

    /// Shows the oldest entries.
    pub(super) fn top(&mut self, height: usize) {
        self.scroll_up(usize::MAX, height);
    }

    /// Follows the newest entry again.
    pub(super) fn follow(&mut self) {
        self.anchor = None;
    }

    /// Searches for `pattern`, case-insensitive, from the bottom of the view upwards; the
    /// view moves to the match. Returns whether anything matched.
    pub(super) fn start_search(&mut self, pattern: &str) -> bool {
        if pattern.is_empty() {
            self.search = None;
            return true;
        }
        let regex = Regex::new(&format!("(?i){pattern}"))
            .or_else(|_| Regex::new(&format!("(?i){}", regex::escape(pattern))))
            .expect("an escaped pattern is a valid regular expression");
        let found = self
            .upwards_from_bottom()
            .find(|s| regex.is_match(s.entry.text()))
            .map(|s| s.seq);
        self.search = Some(Search {
            pattern: pattern.to_owned(),
            regex,
            current: found,
        });
        if let Some(seq) = found {
            self.anchor = Some(seq);
        }
        found.is_some()
    }

    /// Moves to the next older match (`older`) or newer one. Returns whether there was one.
    pub(super) fn next_match(&mut self, older: bool) -> bool {
        let Some(search) = &self.search else {
            return false;
        };
        let from = search
            .current
            .or(self.anchor)
            .unwrap_or(if older { u64::MAX } else { 0 });
        let hit = |s: &&Stored| self.shown(s) && search.regex.is_match(s.entry.text());
        let found = if older {
            self.entries.iter().rev().filter(|s| s.seq < from).find(hit)
        } else {
            self.entries.iter().filter(|s| s.seq > from).find(hit)
        }
        .map(|s| s.seq);
        if let Some(seq) = found {
            self.anchor = Some(seq);
            if let Some(search) = &mut self.search {
                search.current = Some(seq);
            }
        }
        found.is_some()
    }

    /// Ends the search.
    pub(super) fn clear_search(&mut self) {
        self.search = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(unit: &str, text: &str) -> Entry {
        Entry::Event {
            unit: Arc::from(unit),
            label: unit.to_owned(),
            text: text.to_owned(),
            ts: SystemTime::UNIX_EPOCH,
            bad: false,
        }
    }

    fn texts(view: &LogView, height: usize) -> Vec<&str> {
        view.window(height).iter().map(|s| s.entry.text()).collect()
    }

    fn numbered(view: &mut LogView, unit: &str, range: std::ops::Range<u32>) {
        view.extend(range.map(|i| event(unit, &format!("line {i}"))));
    }

    #[test]
    fn the_view_follows_the_newest_lines_within_its_capacity() {
        let mut view = LogView::with_capacity(5);
        numbered(&mut view, "api", 0..8);
        assert_eq!(texts(&view, 3), ["line 5", "line 6", "line 7"]);
        assert_eq!(texts(&view, 10).len(), 5);
        assert!(view.is_following());
    }

    #[test]
    fn a_scrolled_view_stays_put_while_lines_arrive() {
        let mut view = LogView::default();
        numbered(&mut view, "api", 0..10);
        view.scroll_up(2, 3);
        assert_eq!(texts(&view, 3), ["line 5", "line 6", "line 7"]);
        numbered(&mut view, "api", 10..20);
        assert_eq!(texts(&view, 3), ["line 5", "line 6", "line 7"]);
        view.scroll_down(1);
        assert_eq!(texts(&view, 3), ["line 6", "line 7", "line 8"]);
        view.scroll_down(100);
        assert!(view.is_following());
        assert_eq!(texts(&view, 1), ["line 19"]);
        view.top(3);
        assert_eq!(texts(&view, 3), ["line 0", "line 1", "line 2"]);
        view.scroll_up(5, 3);
        assert_eq!(texts(&view, 3), ["line 0", "line 1", "line 2"]);
    }

    #[test]
    fn a_focus_shows_one_unit() {
        let mut view = LogView::default();
        view.extend([event("api", "a1"), event("web", "w1"), event("api", "a2")]);
        view.set_focus(Some("web".into()));
        assert_eq!(texts(&view, 5), ["w1"]);
        view.set_focus(None);
        assert_eq!(texts(&view, 5), ["a1", "w1", "a2"]);
    }

    #[test]
    fn search_moves_between_matches_case_insensitively() {
        let mut view = LogView::default();
        view.extend([
            event("api", "GET /a"),
            event("api", "error one"),
            event("api", "ok"),
            event("api", "Error two"),
            event("api", "ok"),
        ]);
        assert!(view.start_search("error"));
        assert_eq!(texts(&view, 1), ["Error two"]);
        assert!(view.next_match(true));
        assert_eq!(texts(&view, 1), ["error one"]);
        assert!(!view.next_match(true), "no older match");
        assert!(view.next_match(false));
        assert_eq!(texts(&view, 1), ["Error two"]);
        // Not a valid regular expression: taken literally.
        assert!(!view.start_search("ok ("));
        assert!(!view.start_search("missing"));
        assert_eq!(view.search().map(|s| s.current), Some(None));
        view.clear_search();
        assert!(view.search().is_none());
    }
}
