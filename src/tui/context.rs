//! What every part of the explorer reads: the run, its indexes, the keymap, the styles and
//! the clipboard. Views and panes own their state and borrow this.

use super::clipboard::Clipboard;
use super::keymap::{Keymap, Mode};
use super::theme::Theme;
use crate::analysis::RunIndex;
use crate::analysis::tree::{KEY_FOLDED, KEY_TRUNCATED};
use crate::diff::Diff;
use crate::report::latency::{Latency, latency_of};
use crate::run::{Micros, Run, SpecId};
use std::sync::Arc;

/// In [`Ctx::latency`]: a watch or stream, whose duration is not a response time.
pub const LAT_LONG_RUNNING: Micros = -1;
/// In [`Ctx::latency`]: no latency (never completed in the log, or a time missing).
pub const LAT_MISSING: Micros = -2;

/// Every request's latency in microseconds as `report latency` counts it, or
/// [`LAT_LONG_RUNNING`] / [`LAT_MISSING`]: computed once, so sorts and columns cost no
/// string look-ups per key.
pub fn latencies(run: &Run) -> Vec<Micros> {
    run.requests
        .iter()
        .map(|r| match latency_of(run, r) {
            Latency::Measured(us) => us,
            Latency::LongRunning => LAT_LONG_RUNNING,
            Latency::Missing => LAT_MISSING,
        })
        .collect()
}

/// The p99 (nearest rank) and maximum of the measured latencies among `reqs`, with how many
/// were measured; long-running requests and those without a latency are left out. O(n): a
/// selection, not a sort.
pub fn p99_max(latency: &[Micros], reqs: &[u32]) -> Option<(Micros, Micros, usize)> {
    let mut v: Vec<Micros> = reqs
        .iter()
        .filter_map(|&r| latency.get(r as usize).copied())
        .filter(|&l| l >= 0)
        .collect();
    let n = v.len();
    if n == 0 {
        return None;
    }
    let rank = (990 * n).div_ceil(1000).max(1);
    let max = v.iter().copied().max().unwrap_or(0);
    let (_, p99, _) = v.select_nth_unstable(rank - 1);
    Some((*p99, max, n))
}

/// An entry of the Tests pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TestEntry {
    /// Every request (in scope).
    All,
    /// Requests attributed to no spec.
    NoTest,
    /// One spec.
    Spec(SpecId),
}

/// The run and what is shared by every view.
pub struct Ctx {
    /// The run being explored (shared with work done off the event loop's thread, such as
    /// a filter's matches over the whole run).
    pub run: Arc<Run>,
    /// Indexes derived from the run once (shared as the run is).
    pub index: Arc<RunIndex>,
    /// The bindings in effect.
    pub keymap: Keymap,
    /// Styles (monochrome with `NO_COLOR`).
    pub theme: Theme,
    /// Where copies go.
    pub clipboard: Clipboard,
    /// What keys do now (browsing or typing into a prompt).
    pub mode: Mode,
    /// Each request's latency ([`latencies`]).
    pub latency: Vec<Micros>,
    /// The comparison with `--baseline OLD`, when given: marks endpoints and tests.
    pub baseline: Option<Diff>,
    /// The run is still being read or followed ([`super::live`]): an empty list says that
    /// nothing was read yet rather than that the run has nothing.
    pub reading: bool,
}

impl Ctx {
    /// True when the run has requests and tests but no request belongs to a test (an audit
    /// log and an e2e log of different runs), once it is read whole: every test lists nothing.
    pub fn no_request_tied(&self) -> bool {
        !self.reading
            && !self.run.specs.is_empty()
            && !self.run.requests.is_empty()
            && self.index.unattributed.len() == self.run.requests.len()
    }

    /// A request's latency as a short cell: `12.3ms`, `stream` (long-running), or empty.
    pub fn latency_cell(&self, r: u32) -> String {
        match self.latency.get(r as usize).copied() {
            Some(LAT_LONG_RUNNING) => "stream".into(),
            Some(l) if l >= 0 => format!("{:.1}ms", l as f64 / 1000.0),
            _ => String::new(),
        }
    }

    /// The text of an endpoint group.
    pub fn group_label(&self, g: u32) -> &str {
        self.index
            .groups
            .get(g as usize)
            .map(|x| x.label.as_str())
            .unwrap_or("?")
    }

    /// The name of a test entry; `scoped` when a jump narrowed the explorer.
    pub fn entry_name(&self, e: TestEntry, scoped: bool) -> &str {
        match e {
            TestEntry::All if scoped => "(all matching requests)",
            TestEntry::All => "(all requests)",
            TestEntry::NoTest => "(no test)",
            TestEntry::Spec(s) => self
                .run
                .specs
                .get(s.index())
                .map(|sp| self.run.str(sp.name))
                .unwrap_or("?"),
        }
    }

    /// The function of a frame, or the marker text of a special node.
    pub fn node_text(&self, key: u32) -> &str {
        match key {
            KEY_FOLDED => "⋯ vendored/runtime frames",
            KEY_TRUNCATED => "[truncated: outer frames missing]",
            f => self
                .run
                .frames
                .get(f as usize)
                .map(|fr| self.run.str(fr.function))
                .unwrap_or("?"),
        }
    }
}
