//! The explorer's state and its update function: every key becomes an [`Action`] applied here.

use super::clipboard::{Clipboard, Sink};
use super::index::{FrameHit, NONE, RunIndex, search_frames};
use super::keymap::{Action, Keymap};
use super::search::{matcher, matches};
use super::theme::Theme;
use super::tree::{CallTree, KEY_FOLDED, KEY_TRUNCATED, TreeOptions};
use crate::fasthash::FxMap;
use crate::run::{FrameId, NO_TIME, Run, SpecId, TraceId};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::HashSet;

/// The three panes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pane {
    /// The Tests pane.
    Tests,
    /// The Requests pane.
    Requests,
    /// The Backtrace pane.
    Backtrace,
}

impl Pane {
    fn index(self) -> usize {
        match self {
            Pane::Tests => 0,
            Pane::Requests => 1,
            Pane::Backtrace => 2,
        }
    }
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

/// A row of the Tests pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestRow {
    /// What the row stands for.
    pub entry: TestEntry,
    /// Requests of the entry in scope.
    pub hits: u64,
}

/// What narrows the whole explorer after a jump.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Requests to one endpoint group.
    Endpoint(u32),
    /// Requests whose trace passes through one frame.
    Frame(FrameId),
}

/// Sort order of the Tests pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// By start time (unknown last).
    Start,
    /// By spec name.
    Name,
    /// By request count, most first.
    Requests,
}

impl SortKey {
    /// The name shown in the pane title.
    pub fn name(self) -> &'static str {
        match self {
            SortKey::Start => "start",
            SortKey::Name => "name",
            SortKey::Requests => "requests",
        }
    }
}

/// One endpoint group of the selected test: its requests are
/// `group_reqs[start..start + len]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupSlice {
    /// The endpoint group ([`RunIndex::groups`]).
    pub group: u32,
    /// First position in [`App::group_reqs`].
    pub start: u32,
    /// How many requests.
    pub len: u32,
}

impl GroupSlice {
    /// The range in [`App::group_reqs`].
    pub fn range(&self) -> std::ops::Range<usize> {
        self.start as usize..(self.start + self.len) as usize
    }
}

/// A row of the Requests pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReqRow {
    /// An endpoint group with its request count.
    Group {
        /// The group ([`RunIndex::groups`]).
        group: u32,
        /// Requests of the selected test in it.
        count: u32,
    },
    /// One request of an open group.
    Request {
        /// The request ([`Run::requests`]).
        req: u32,
        /// Its group.
        group: u32,
    },
}

/// What the Backtrace pane shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BtSource {
    /// Nothing.
    None,
    /// Every request of a test entry.
    Test(TestEntry),
    /// The requests of an endpoint group within a test entry.
    Group(TestEntry, u32),
    /// One request.
    Request(u32),
}

/// An overlay over the panes.
#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    /// Nothing.
    None,
    /// The key list.
    Help {
        /// Lines scrolled.
        scroll: u16,
    },
    /// One request in full.
    Detail {
        /// The request.
        req: u32,
        /// Lines scrolled.
        scroll: u16,
    },
    /// The global function search.
    FrameSearch {
        /// What was typed.
        query: String,
        /// The frames found, best first.
        hits: Vec<FrameHit>,
        /// The selected hit.
        sel: usize,
    },
}

/// Selection and scroll position of a list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListState {
    /// Index into the pane's view.
    pub sel: usize,
    /// First visible row (maintained when drawing).
    pub offset: usize,
}

impl ListState {
    fn clamp(&mut self, len: usize) {
        if self.sel >= len {
            self.sel = len.saturating_sub(1);
        }
    }
}

/// A place in the explorer, for the jump history.
#[derive(Debug, Clone, PartialEq)]
struct Nav {
    scope: Option<Scope>,
    show_all: bool,
    test: Option<TestEntry>,
    req: Option<ReqRow>,
    focus: Pane,
    bt: BtSource,
    bt_node_key: Option<u32>,
}

/// Options the explorer starts with.
#[derive(Debug, Clone, Default)]
pub struct AppOptions {
    /// Start with requests of all tests and of none (`--all`).
    pub show_all: bool,
}

/// The explorer's state.
pub struct App {
    /// The run being explored.
    pub run: Run,
    /// Indexes derived from the run once.
    pub index: RunIndex,
    /// The bindings in effect.
    pub keymap: Keymap,
    /// Styles (monochrome with `NO_COLOR`).
    pub theme: Theme,
    /// Where copies go.
    pub clipboard: Clipboard,
    /// The focused pane.
    pub focus: Pane,
    /// The overlay shown over the panes, if any.
    pub overlay: Overlay,
    /// Requests of all tests and of none are listed (pseudo entries in Tests).
    pub show_all: bool,
    /// What a jump narrowed the explorer to.
    pub scope: Option<Scope>,
    scope_traces: Vec<bool>,
    /// With a frame scope: its requests in time order (computed once per scope).
    scope_frame_requests: Vec<u32>,
    /// The Tests pane order.
    pub sort: SortKey,
    /// Tests pane rows (unfiltered) and the filtered view (indexes into rows).
    pub tests: Vec<TestRow>,
    /// Indexes into `tests` that pass the filter.
    pub tests_view: Vec<u32>,
    /// Selection in `tests_view`.
    pub tests_state: ListState,
    /// Requests of the selected test, grouped: (group, requests) sorted by count.
    pub groups: Vec<GroupSlice>,
    /// The requests of every group in `groups`, group after group.
    pub group_reqs: Vec<u32>,
    /// Endpoint groups opened in the Requests pane.
    pub expanded_groups: HashSet<u32>,
    /// Requests pane rows (groups, and the requests of open groups).
    pub req_rows: Vec<ReqRow>,
    /// Indexes into `req_rows` that pass the filter.
    pub req_view: Vec<u32>,
    /// Selection in `req_view`.
    pub req_state: ListState,
    /// The merged call tree and its cursor (index into `tree.rows`).
    pub tree: CallTree,
    /// Cursor in `tree.rows`.
    pub tree_state: ListState,
    /// Orientation and folding of the tree.
    pub tree_options: TreeOptions,
    /// What the Backtrace pane shows.
    pub bt_source: BtSource,
    /// Set while restoring a place: the tree is built once at the end.
    hold_backtrace: bool,
    /// Requests behind the backtrace in view.
    pub bt_requests: usize,
    /// Per pane filter text, and whether the user is typing it.
    pub filters: [String; 3],
    /// True while the focused pane's filter is being typed.
    pub typing: bool,
    back: Vec<Nav>,
    fwd: Vec<Nav>,
    /// The last message for the status line.
    pub message: Option<String>,
    /// Set when the user quits.
    pub quit: bool,
    /// Rows of each pane's list area at the last draw (for half-page moves).
    pub page: [usize; 3],
}

/// Requests shown per page of an expanded group: bigger groups are cut (with a note) so
/// a 100k-request group does not make 100k rows.
pub const GROUP_ROWS_LIMIT: usize = 5000;

impl App {
    /// Builds the state for a run: O(requests) once.
    pub fn new(run: Run, keymap: Keymap, clipboard: Clipboard, options: AppOptions) -> App {
        let index = RunIndex::build(&run);
        let mut app = App {
            run,
            index,
            keymap,
            theme: Theme::from_env(),
            clipboard,
            focus: Pane::Tests,
            overlay: Overlay::None,
            show_all: options.show_all,
            scope: None,
            scope_traces: Vec::new(),
            scope_frame_requests: Vec::new(),
            sort: SortKey::Start,
            tests: Vec::new(),
            tests_view: Vec::new(),
            tests_state: ListState::default(),
            groups: Vec::new(),
            group_reqs: Vec::new(),
            expanded_groups: HashSet::new(),
            req_rows: Vec::new(),
            req_view: Vec::new(),
            req_state: ListState::default(),
            tree: CallTree::default(),
            tree_state: ListState::default(),
            tree_options: TreeOptions::default(),
            bt_source: BtSource::None,
            hold_backtrace: false,
            bt_requests: 0,
            filters: Default::default(),
            typing: false,
            back: Vec::new(),
            fwd: Vec::new(),
            message: None,
            quit: false,
            page: [10; 3],
        };
        // A labelled run (the bundled demo) says so on its first screen.
        app.message = app
            .run
            .notes
            .iter()
            .find(|n| n.starts_with("DEMO RUN"))
            .map(|n| crate::text::escape_control(n).into_owned());
        app.rebuild_tests(None);
        app.on_test_changed();
        app
    }

    /// An app for tests: default keymap, colour theme, clipboard into a buffer.
    pub fn for_test(run: Run, show_all: bool) -> App {
        let mut app = App::new(
            run,
            Keymap::default_keymap(),
            Clipboard {
                route: super::clipboard::Route::Osc52,
                sink: Sink::Buffer(Vec::new()),
            },
            AppOptions { show_all },
        );
        app.theme = Theme::color();
        app
    }

    // ----- derived data -------------------------------------------------------------

    /// The requests of group `g` in the selected test (empty when it has none).
    pub fn requests_of_group(&self, g: u32) -> &[u32] {
        self.groups
            .iter()
            .find(|gs| gs.group == g)
            .and_then(|gs| self.group_reqs.get(gs.range()))
            .unwrap_or(&[])
    }

    /// The text of an endpoint group.
    pub fn group_label(&self, g: u32) -> &str {
        self.index
            .groups
            .get(g as usize)
            .map(|x| x.label.as_str())
            .unwrap_or("?")
    }

    /// The name of a test entry.
    pub fn entry_name(&self, e: TestEntry) -> &str {
        match e {
            TestEntry::All => {
                if self.scope.is_some() {
                    "(all matching requests)"
                } else {
                    "(all requests)"
                }
            }
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

    fn in_scope(&self, r: u32) -> bool {
        match self.scope {
            None => true,
            Some(Scope::Endpoint(g)) => self.index.req_group.get(r as usize) == Some(&g),
            Some(Scope::Frame(_)) => {
                let t = self
                    .index
                    .req_trace
                    .get(r as usize)
                    .copied()
                    .unwrap_or(NONE);
                self.scope_traces.get(t as usize).copied().unwrap_or(false)
            }
        }
    }

    /// Every request in scope, in time order.
    fn scope_requests(&self) -> Vec<u32> {
        match self.scope {
            None => (0..self.run.requests.len() as u32).collect(),
            Some(Scope::Endpoint(g)) => self
                .index
                .groups
                .get(g as usize)
                .map(|x| x.requests.clone())
                .unwrap_or_default(),
            Some(Scope::Frame(_)) => self.scope_frame_requests.clone(),
        }
    }

    /// The requests of a test entry, in scope.
    pub fn entry_requests(&self, e: TestEntry) -> Vec<u32> {
        let base: &[u32] = match e {
            TestEntry::All => return self.scope_requests(),
            TestEntry::NoTest => &self.index.unattributed,
            TestEntry::Spec(s) => self
                .index
                .spec_requests
                .get(s.index())
                .map(Vec::as_slice)
                .unwrap_or(&[]),
        };
        if self.scope.is_none() {
            base.to_vec()
        } else {
            base.iter().copied().filter(|&r| self.in_scope(r)).collect()
        }
    }

    /// The selected test entry.
    pub fn selected_test(&self) -> Option<TestEntry> {
        let i = *self.tests_view.get(self.tests_state.sel)?;
        self.tests.get(i as usize).map(|r| r.entry)
    }

    /// The selected Requests row.
    pub fn selected_req_row(&self) -> Option<ReqRow> {
        let i = *self.req_view.get(self.req_state.sel)?;
        self.req_rows.get(i as usize).copied()
    }

    /// The tree node under the cursor.
    pub fn selected_node(&self) -> Option<u32> {
        self.tree.rows.get(self.tree_state.sel).map(|r| r.node)
    }

    // ----- rebuilding ---------------------------------------------------------------

    fn rebuild_tests(&mut self, keep: Option<TestEntry>) {
        let keep = keep.or_else(|| self.selected_test());
        let mut rows: Vec<TestRow> = Vec::new();
        let n_specs = self.run.specs.len();
        let mut spec_rows: Vec<TestRow>;
        match self.scope {
            None => {
                if self.show_all {
                    rows.push(TestRow {
                        entry: TestEntry::All,
                        hits: self.run.requests.len() as u64,
                    });
                    rows.push(TestRow {
                        entry: TestEntry::NoTest,
                        hits: self.index.unattributed.len() as u64,
                    });
                }
                spec_rows = (0..n_specs)
                    .map(|s| TestRow {
                        entry: TestEntry::Spec(SpecId::from_index(s)),
                        hits: self.index.spec_requests[s].len() as u64,
                    })
                    .collect();
            }
            Some(_) => {
                let reqs = self.scope_requests();
                let mut hits = vec![0u64; n_specs + 1];
                for &r in &reqs {
                    let s = self.run.requests[r as usize]
                        .spec
                        .filter(|&s| s.index() < n_specs)
                        .map(|s| s.index())
                        .unwrap_or(n_specs);
                    hits[s] += 1;
                }
                rows.push(TestRow {
                    entry: TestEntry::All,
                    hits: reqs.len() as u64,
                });
                if hits[n_specs] > 0 {
                    rows.push(TestRow {
                        entry: TestEntry::NoTest,
                        hits: hits[n_specs],
                    });
                }
                spec_rows = (0..n_specs)
                    .filter(|&s| hits[s] > 0)
                    .map(|s| TestRow {
                        entry: TestEntry::Spec(SpecId::from_index(s)),
                        hits: hits[s],
                    })
                    .collect();
            }
        }
        let specs = &self.run.specs;
        let run = &self.run;
        let spec_of = |r: &TestRow| match r.entry {
            TestEntry::Spec(s) => specs.get(s.index()),
            _ => None,
        };
        match self.sort {
            SortKey::Start => spec_rows.sort_by_key(|r| {
                let start = spec_of(r).map(|s| s.start).unwrap_or(NO_TIME);
                // Unknown start times last.
                (start == NO_TIME, start)
            }),
            SortKey::Name => spec_rows.sort_by(|a, b| {
                let na = spec_of(a).map(|s| run.str(s.name)).unwrap_or("");
                let nb = spec_of(b).map(|s| run.str(s.name)).unwrap_or("");
                na.cmp(nb)
            }),
            SortKey::Requests => spec_rows.sort_by_key(|r| std::cmp::Reverse(r.hits)),
        }
        rows.extend(spec_rows);
        self.tests = rows;
        self.refilter_tests();
        if let Some(k) = keep
            && let Some(pos) = self
                .tests_view
                .iter()
                .position(|&i| self.tests[i as usize].entry == k)
        {
            self.tests_state.sel = pos;
        }
        self.tests_state.clamp(self.tests_view.len());
    }

    fn refilter_tests(&mut self) {
        let q = &self.filters[0];
        let m = matcher();
        self.tests_view = (0..self.tests.len() as u32)
            .filter(|&i| matches(&m, self.entry_name(self.tests[i as usize].entry), q))
            .collect();
        self.tests_state.clamp(self.tests_view.len());
    }

    fn on_test_changed(&mut self) {
        let Some(entry) = self.selected_test() else {
            self.groups.clear();
            self.req_rows.clear();
            self.req_view.clear();
            self.set_backtrace(BtSource::None);
            return;
        };
        let reqs = self.entry_requests(entry);
        // Dense counting by group id: O(requests of the test), no hashing.
        let n_groups = self.index.groups.len();
        let mut sizes = vec![0u32; n_groups];
        for &r in &reqs {
            if let Some(c) = self
                .index
                .req_group
                .get(r as usize)
                .and_then(|&g| sizes.get_mut(g as usize))
            {
                *c += 1;
            }
        }
        // Counting sort into one flat array: two allocations however many groups.
        let mut groups: Vec<GroupSlice> = Vec::new();
        let mut start = vec![NONE; n_groups];
        let mut at = 0u32;
        for (g, &n) in sizes.iter().enumerate() {
            if n > 0 {
                start[g] = at;
                groups.push(GroupSlice {
                    group: g as u32,
                    start: at,
                    len: n,
                });
                at += n;
            }
        }
        let mut flat = vec![0u32; at as usize];
        for &r in &reqs {
            let g = self
                .index
                .req_group
                .get(r as usize)
                .copied()
                .unwrap_or(NONE);
            if let Some(pos) = start.get_mut(g as usize)
                && let Some(slot) = flat.get_mut(*pos as usize)
            {
                *slot = r;
                *pos += 1;
            }
        }
        // Most requests first; ties by label, except for huge lists (every request of a
        // large run) where group order keeps the sort to integers.
        if groups.len() <= 5000 {
            let index = &self.index;
            let label = |g: u32| {
                index
                    .groups
                    .get(g as usize)
                    .map(|x| x.label.as_str())
                    .unwrap_or("")
            };
            groups.sort_unstable_by(|a, b| {
                b.len
                    .cmp(&a.len)
                    .then_with(|| label(a.group).cmp(label(b.group)))
            });
        } else {
            groups.sort_unstable_by_key(|gs| (std::cmp::Reverse(gs.len), gs.group));
        }
        self.groups = groups;
        self.group_reqs = flat;
        self.expanded_groups.clear();
        self.req_state = ListState::default();
        self.rebuild_req_rows(None);
        self.sync_backtrace();
    }

    fn rebuild_req_rows(&mut self, keep: Option<ReqRow>) {
        let keep = keep.or_else(|| self.selected_req_row());
        self.req_rows.clear();
        for gs in &self.groups {
            self.req_rows.push(ReqRow::Group {
                group: gs.group,
                count: gs.len,
            });
            if self.expanded_groups.contains(&gs.group) {
                let reqs = self.group_reqs.get(gs.range()).unwrap_or(&[]);
                for &r in reqs.iter().take(GROUP_ROWS_LIMIT) {
                    self.req_rows.push(ReqRow::Request {
                        req: r,
                        group: gs.group,
                    });
                }
            }
        }
        self.refilter_requests();
        if let Some(k) = keep
            && let Some(pos) = self
                .req_view
                .iter()
                .position(|&i| self.req_rows[i as usize] == k)
        {
            self.req_state.sel = pos;
        }
        self.req_state.clamp(self.req_view.len());
    }

    /// The text a Requests row is matched on.
    pub fn req_row_text(&self, row: ReqRow) -> &str {
        match row {
            ReqRow::Group { group, .. } => self.group_label(group),
            ReqRow::Request { req, .. } => self
                .run
                .requests
                .get(req as usize)
                .map(|r| self.run.str(r.uri))
                .unwrap_or(""),
        }
    }

    /// True when a row matches its pane's filter directly.
    pub fn row_matches(&self, pane: Pane, view_pos: usize) -> bool {
        let q = &self.filters[pane.index()];
        if q.is_empty() {
            return true;
        }
        let m = matcher();
        match pane {
            Pane::Tests => self
                .tests_view
                .get(view_pos)
                .is_some_and(|&i| matches(&m, self.entry_name(self.tests[i as usize].entry), q)),
            Pane::Requests => self
                .req_view
                .get(view_pos)
                .is_some_and(|&i| matches(&m, self.req_row_text(self.req_rows[i as usize]), q)),
            Pane::Backtrace => self.tree.rows.get(view_pos).is_some_and(|r| {
                self.tree
                    .matched
                    .as_ref()
                    .is_some_and(|mm| mm.get(r.node as usize).copied().unwrap_or(false))
            }),
        }
    }

    fn refilter_requests(&mut self) {
        let q = self.filters[1].clone();
        if q.is_empty() {
            self.req_view = (0..self.req_rows.len() as u32).collect();
        } else {
            let m = matcher();
            // Match each distinct string once per keystroke.
            let mut group_ok: FxMap<u32, bool> = FxMap::default();
            let mut uri_ok: FxMap<u32, bool> = FxMap::default();
            let mut keep = vec![false; self.req_rows.len()];
            let mut group_row: usize = 0;
            for (i, row) in self.req_rows.iter().enumerate() {
                match *row {
                    ReqRow::Group { group, .. } => {
                        group_row = i;
                        let ok = *group_ok
                            .entry(group)
                            .or_insert_with(|| matches(&m, self.group_label(group), &q));
                        keep[i] = ok;
                    }
                    ReqRow::Request { req, group } => {
                        let g_ok = group_ok.get(&group).copied().unwrap_or(false);
                        let uri = self.run.requests[req as usize].uri;
                        let ok = *uri_ok
                            .entry(uri)
                            .or_insert_with(|| matches(&m, self.run.str(uri), &q));
                        if g_ok || ok {
                            keep[i] = true;
                            keep[group_row] = true;
                        }
                    }
                }
            }
            self.req_view = (0..self.req_rows.len() as u32)
                .filter(|&i| keep[i as usize])
                .collect();
        }
        self.req_state.clamp(self.req_view.len());
    }

    fn refilter_tree(&mut self) {
        let keep = self.selected_node();
        let q = self.filters[2].clone();
        if q.is_empty() {
            self.tree.set_filter(None);
        } else {
            let m = matcher();
            let mut cache: FxMap<u32, bool> = FxMap::default();
            let matched: Vec<bool> = self
                .tree
                .nodes
                .iter()
                .map(|n| {
                    *cache.entry(n.key).or_insert_with(|| {
                        matches(
                            &m,
                            super::widgets::short_function(self.node_text(n.key)),
                            &q,
                        )
                    })
                })
                .collect();
            self.tree.set_filter(Some(matched));
        }
        self.restore_tree_cursor(keep);
    }

    fn restore_tree_cursor(&mut self, keep: Option<u32>) {
        if let Some(n) = keep
            && let Some(pos) = self.tree.row_of(n)
        {
            self.tree_state.sel = pos;
        }
        self.tree_state.clamp(self.tree.rows.len());
    }

    /// Picks the backtrace source from the focus and selection, rebuilding the tree if it changed.
    fn sync_backtrace(&mut self) {
        let src = match self.focus {
            Pane::Backtrace => return,
            Pane::Tests => self
                .selected_test()
                .map(BtSource::Test)
                .unwrap_or(BtSource::None),
            Pane::Requests => match (self.selected_req_row(), self.selected_test()) {
                (Some(ReqRow::Request { req, .. }), _) => BtSource::Request(req),
                (Some(ReqRow::Group { group, .. }), Some(t)) => BtSource::Group(t, group),
                (_, Some(t)) => BtSource::Test(t),
                _ => BtSource::None,
            },
        };
        self.set_backtrace(src);
    }

    fn set_backtrace(&mut self, src: BtSource) {
        if src == self.bt_source || self.hold_backtrace {
            return;
        }
        let reqs: Vec<u32> = match &src {
            BtSource::None => Vec::new(),
            BtSource::Test(t) => self.entry_requests(*t),
            BtSource::Group(_, g) => self.requests_of_group(*g).to_vec(),
            BtSource::Request(r) => vec![*r],
        };
        let mut untraced = 0u64;
        let traces: Vec<(TraceId, u64)> = if reqs.len() < 4096 {
            let mut counts: FxMap<TraceId, u64> = FxMap::default();
            for &r in &reqs {
                match self
                    .index
                    .req_trace
                    .get(r as usize)
                    .copied()
                    .unwrap_or(NONE)
                {
                    NONE => untraced += 1,
                    t => *counts.entry(t).or_default() += 1,
                }
            }
            let mut v: Vec<(TraceId, u64)> = counts.into_iter().collect();
            v.sort_unstable();
            v
        } else {
            // Large selections: dense counts over every trace of the run.
            let mut counts = vec![0u64; self.run.traces.len()];
            for &r in &reqs {
                match self
                    .index
                    .req_trace
                    .get(r as usize)
                    .copied()
                    .unwrap_or(NONE)
                {
                    NONE => untraced += 1,
                    t => {
                        if let Some(c) = counts.get_mut(t as usize) {
                            *c += 1;
                        }
                    }
                }
            }
            counts
                .iter()
                .enumerate()
                .filter(|(_, c)| **c > 0)
                .map(|(t, c)| (t as TraceId, *c))
                .collect()
        };
        self.tree = CallTree::build(&self.run, &traces, untraced, self.tree_options);
        self.bt_requests = reqs.len();
        self.bt_source = src;
        self.tree_state = ListState::default();
        if !self.filters[2].is_empty() {
            self.refilter_tree();
        }
    }

    fn rebuild_tree_same_source(&mut self) {
        let keep_key = self
            .selected_node()
            .and_then(|n| self.tree.nodes.get(n as usize))
            .map(|n| n.key);
        let src = std::mem::replace(&mut self.bt_source, BtSource::None);
        self.set_backtrace(src);
        if let Some(k) = keep_key
            && let Some(n) = self.tree.nodes.iter().position(|n| n.key == k)
        {
            self.tree.reveal(n as u32);
            self.restore_tree_cursor(Some(n as u32));
        }
    }

    // ----- history ------------------------------------------------------------------

    fn nav(&self) -> Nav {
        Nav {
            scope: self.scope,
            show_all: self.show_all,
            test: self.selected_test(),
            req: self.selected_req_row(),
            focus: self.focus,
            bt: self.bt_source.clone(),
            bt_node_key: self
                .selected_node()
                .and_then(|n| self.tree.nodes.get(n as usize))
                .map(|n| n.key),
        }
    }

    fn restore(&mut self, nav: Nav) {
        self.hold_backtrace = true;
        self.set_scope(nav.scope);
        self.show_all = nav.show_all;
        self.focus = nav.focus;
        self.rebuild_tests(nav.test);
        self.on_test_changed();
        if let Some(row) = nav.req {
            if let ReqRow::Request { group, .. } = row {
                self.expanded_groups.insert(group);
            }
            self.rebuild_req_rows(Some(row));
        }
        self.hold_backtrace = false;
        self.set_backtrace(nav.bt);
        if let Some(k) = nav.bt_node_key
            && let Some(n) = self.tree.nodes.iter().position(|n| n.key == k)
        {
            self.tree.reveal(n as u32);
            self.restore_tree_cursor(Some(n as u32));
        }
    }

    fn push_history(&mut self) {
        let nav = self.nav();
        self.back.push(nav);
        self.fwd.clear();
    }

    /// How many places `back` would go.
    pub fn history_depth(&self) -> (usize, usize) {
        (self.back.len(), self.fwd.len())
    }

    fn set_scope(&mut self, scope: Option<Scope>) {
        self.scope = scope;
        self.scope_traces.clear();
        if let Some(Scope::Frame(f)) = scope {
            self.scope_traces = vec![false; self.run.traces.len()];
            for &t in self
                .index
                .frame_traces
                .get(f as usize)
                .into_iter()
                .flatten()
            {
                self.scope_traces[t as usize] = true;
            }
            let total = self
                .index
                .frame_requests
                .get(f as usize)
                .copied()
                .unwrap_or(0) as usize;
            let n = self.run.requests.len();
            self.scope_frame_requests = if total > n / 16 {
                // Many requests: one scan in time order beats sorting them.
                (0..n as u32)
                    .filter(|&r| {
                        let t = self.index.req_trace[r as usize];
                        self.scope_traces.get(t as usize).copied().unwrap_or(false)
                    })
                    .collect()
            } else {
                let mut v: Vec<u32> = Vec::with_capacity(total);
                for &t in self
                    .index
                    .frame_traces
                    .get(f as usize)
                    .into_iter()
                    .flatten()
                {
                    v.extend_from_slice(&self.index.trace_requests[t as usize]);
                }
                v.sort_unstable();
                v
            };
        } else {
            self.scope_frame_requests = Vec::new();
        }
        // The tree must be rebuilt even when the selection keeps its name.
        self.bt_source = BtSource::None;
    }

    /// Narrows everything to `scope` and selects `entry` (pushing the current place first).
    fn jump(&mut self, scope: Option<Scope>, entry: Option<TestEntry>, focus: Pane) {
        self.push_history();
        self.set_scope(scope);
        self.filters = Default::default();
        self.typing = false;
        self.rebuild_tests(entry);
        if entry.is_none() || self.selected_test() != entry {
            self.tests_state.sel = 0;
        }
        self.focus = focus;
        // Build the tree once, for the place we land on.
        self.hold_backtrace = true;
        self.on_test_changed();
        self.hold_backtrace = false;
        if focus == Pane::Backtrace {
            if let Some(t) = self.selected_test() {
                self.set_backtrace(BtSource::Test(t));
            }
        } else {
            self.sync_backtrace();
        }
    }

    // ----- input --------------------------------------------------------------------

    /// Handles one key press.
    pub fn handle_key(&mut self, key: KeyEvent) {
        let action = self.keymap.action(&key);
        if action == Some(Action::ForceQuit) {
            self.quit = true;
            return;
        }
        if let Overlay::FrameSearch { .. } = self.overlay {
            self.frame_search_key(key);
            return;
        }
        if self.typing {
            self.typing_key(key);
            return;
        }
        if let Some(a) = action {
            self.apply(a);
        }
    }

    fn typing_key(&mut self, key: KeyEvent) {
        let p = self.focus.index();
        match key.code {
            KeyCode::Esc => {
                self.typing = false;
                self.filters[p].clear();
                self.refilter_focused();
            }
            KeyCode::Enter => {
                self.typing = false;
            }
            KeyCode::Backspace => {
                self.filters[p].pop();
                self.refilter_focused();
            }
            KeyCode::Up => self.apply(Action::Up),
            KeyCode::Down => self.apply(Action::Down),
            KeyCode::Char(c)
                if !key
                    .modifiers
                    .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
            {
                self.filters[p].push(c);
                self.refilter_focused();
            }
            _ => {}
        }
    }

    fn refilter_focused(&mut self) {
        match self.focus {
            Pane::Tests => {
                let before = self.selected_test();
                self.refilter_tests();
                if self.selected_test() != before {
                    self.on_test_changed();
                }
            }
            Pane::Requests => {
                let before = self.selected_req_row();
                self.refilter_requests();
                if self.selected_req_row() != before {
                    self.sync_backtrace();
                }
            }
            Pane::Backtrace => self.refilter_tree(),
        }
    }

    fn frame_search_key(&mut self, key: KeyEvent) {
        let Overlay::FrameSearch { query, hits, sel } = &mut self.overlay else {
            return;
        };
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let mut requery = false;
        match key.code {
            KeyCode::Esc => {
                self.overlay = Overlay::None;
                return;
            }
            KeyCode::Enter => {
                if let Some(hit) = hits.get(*sel) {
                    let f = hit.frame;
                    self.overlay = Overlay::None;
                    self.jump_to_frame(f);
                }
                return;
            }
            KeyCode::Up => *sel = sel.saturating_sub(1),
            KeyCode::Char('p') if ctrl => *sel = sel.saturating_sub(1),
            KeyCode::Down => *sel = (*sel + 1).min(hits.len().saturating_sub(1)),
            KeyCode::Char('n') if ctrl => *sel = (*sel + 1).min(hits.len().saturating_sub(1)),
            KeyCode::Backspace => {
                query.pop();
                requery = true;
            }
            KeyCode::Char(c) if !ctrl => {
                query.push(c);
                requery = true;
            }
            _ => {}
        }
        if requery {
            let q = query.clone();
            let new_hits = search_frames(&self.index, &q, 200);
            if let Overlay::FrameSearch { hits, sel, .. } = &mut self.overlay {
                *hits = new_hits;
                *sel = 0;
            }
        }
    }

    /// Narrows to requests through `frame` and puts the Backtrace cursor on it.
    pub fn jump_to_frame(&mut self, frame: FrameId) {
        self.jump(
            Some(Scope::Frame(frame)),
            Some(TestEntry::All),
            Pane::Backtrace,
        );
        if let Some(n) = self.tree.nodes.iter().position(|n| n.key == frame) {
            self.tree.reveal(n as u32);
            self.restore_tree_cursor(Some(n as u32));
        }
        self.message = Some(self.frame_summary(frame));
    }

    /// `function: N requests, M endpoints, K tests` for the status line.
    fn frame_summary(&self, frame: FrameId) -> String {
        let plural = |n: u64, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
        let reqs = self
            .index
            .frame_requests
            .get(frame as usize)
            .copied()
            .unwrap_or(0);
        format!(
            "{}: {}, {}, {}",
            self.node_text(frame),
            plural(reqs, "request"),
            plural(self.groups.len() as u64, "endpoint"),
            plural(self.index.frame_test_count(frame) as u64, "test")
        )
    }

    fn move_sel(&mut self, f: impl Fn(usize, usize, usize) -> usize) {
        let p = self.focus.index();
        let page = self.page[p].max(2) / 2;
        match self.focus {
            Pane::Tests => {
                let len = self.tests_view.len();
                let before = self.tests_state.sel;
                self.tests_state.sel = f(before, len, page).min(len.saturating_sub(1));
                if self.tests_state.sel != before {
                    self.on_test_changed();
                }
            }
            Pane::Requests => {
                let len = self.req_view.len();
                let before = self.req_state.sel;
                self.req_state.sel = f(before, len, page).min(len.saturating_sub(1));
                if self.req_state.sel != before {
                    self.sync_backtrace();
                }
            }
            Pane::Backtrace => {
                let len = self.tree.rows.len();
                self.tree_state.sel = f(self.tree_state.sel, len, page).min(len.saturating_sub(1));
            }
        }
    }

    fn step_match(&mut self, forward: bool) {
        let len = match self.focus {
            Pane::Tests => self.tests_view.len(),
            Pane::Requests => self.req_view.len(),
            Pane::Backtrace => self.tree.rows.len(),
        };
        if len == 0 || self.filters[self.focus.index()].is_empty() {
            self.message = Some("no filter: press / to search".into());
            return;
        }
        let cur = match self.focus {
            Pane::Tests => self.tests_state.sel,
            Pane::Requests => self.req_state.sel,
            Pane::Backtrace => self.tree_state.sel,
        };
        for step in 1..=len {
            let i = if forward {
                (cur + step) % len
            } else {
                (cur + len - step % len) % len
            };
            if self.row_matches(self.focus, i) {
                self.move_sel(|_, _, _| i);
                return;
            }
        }
    }

    /// Applies one action.
    pub fn apply(&mut self, action: Action) {
        // Overlays take the keys first.
        match &mut self.overlay {
            Overlay::Help { scroll } | Overlay::Detail { scroll, .. } => {
                match action {
                    Action::Quit | Action::Escape | Action::Help | Action::Open => {
                        self.overlay = Overlay::None
                    }
                    Action::Down => *scroll = scroll.saturating_add(1),
                    Action::Up => *scroll = scroll.saturating_sub(1),
                    Action::HalfPageDown => *scroll = scroll.saturating_add(10),
                    Action::HalfPageUp => *scroll = scroll.saturating_sub(10),
                    Action::Top => *scroll = 0,
                    Action::CopyRequest | Action::CopyBacktrace => {
                        if let Overlay::Detail { req, .. } = self.overlay {
                            if action == Action::CopyRequest {
                                self.copy_request(req);
                            } else {
                                self.copy_backtrace();
                            }
                        }
                    }
                    _ => {}
                }
                return;
            }
            Overlay::FrameSearch { .. } | Overlay::None => {}
        }
        self.message = None;
        match action {
            Action::ForceQuit | Action::Quit => self.quit = true,
            Action::Down => self.move_sel(|s, _, _| s + 1),
            Action::Up => self.move_sel(|s, _, _| s.saturating_sub(1)),
            Action::Top => self.move_sel(|_, _, _| 0),
            Action::Bottom => self.move_sel(|_, len, _| len.saturating_sub(1)),
            Action::HalfPageDown => self.move_sel(|s, _, p| s + p),
            Action::HalfPageUp => self.move_sel(|s, _, p| s.saturating_sub(p)),
            Action::NextPane | Action::PrevPane => {
                self.focus = match (self.focus, action == Action::NextPane) {
                    (Pane::Tests, true) | (Pane::Backtrace, false) => Pane::Requests,
                    (Pane::Requests, true) | (Pane::Tests, false) => Pane::Backtrace,
                    (Pane::Backtrace, true) | (Pane::Requests, false) => Pane::Tests,
                };
                self.sync_backtrace();
            }
            Action::Open => self.open(),
            Action::Expand => self.expand(true),
            Action::Collapse => self.expand(false),
            Action::ExpandSubtree => {
                if let Some(n) = self.selected_node() {
                    self.tree.expand_subtree(n);
                }
            }
            Action::ExpandAll => {
                let keep = self.selected_node();
                self.tree.set_all(true);
                self.restore_tree_cursor(keep);
            }
            Action::CollapseAll => {
                let keep = self.selected_node().map(|n| self.tree.path_to(n)[0]);
                self.tree.set_all(false);
                self.restore_tree_cursor(keep);
            }
            Action::ToggleOrientation => {
                self.tree_options.caller_first = !self.tree_options.caller_first;
                self.rebuild_tree_same_source();
                self.message = Some(if self.tree_options.caller_first {
                    "caller-first: from the test function inwards".into()
                } else {
                    "callee-first: from the client call outwards".into()
                });
            }
            Action::ToggleFold => {
                self.tree_options.fold = !self.tree_options.fold;
                self.rebuild_tree_same_source();
                self.message = Some(if self.tree_options.fold {
                    "vendored and runtime frames folded".into()
                } else {
                    "all frames shown".into()
                });
            }
            Action::CycleSort => {
                self.sort = match self.sort {
                    SortKey::Start => SortKey::Name,
                    SortKey::Name => SortKey::Requests,
                    SortKey::Requests => SortKey::Start,
                };
                self.rebuild_tests(None);
                self.message = Some(format!("tests sorted by {}", self.sort.name()));
            }
            Action::ToggleAll => {
                self.show_all = !self.show_all;
                let keep = self.selected_test();
                self.rebuild_tests(if self.show_all {
                    Some(TestEntry::All)
                } else {
                    keep
                });
                self.bt_source = BtSource::None;
                self.on_test_changed();
                self.message = Some(if self.show_all {
                    "showing all requests, and those of no test".into()
                } else {
                    "showing tests only".into()
                });
            }
            Action::EndpointTests | Action::EndpointFrames => {
                let group = match (self.focus, self.selected_req_row()) {
                    (
                        Pane::Requests,
                        Some(ReqRow::Group { group, .. } | ReqRow::Request { group, .. }),
                    ) => group,
                    _ => {
                        self.message = Some("select an endpoint in the Requests pane first".into());
                        return;
                    }
                };
                if action == Action::EndpointTests {
                    self.jump(Some(Scope::Endpoint(group)), None, Pane::Tests);
                    // The first real test, past the pseudo entries.
                    if let Some(pos) = self
                        .tests_view
                        .iter()
                        .position(|&i| matches!(self.tests[i as usize].entry, TestEntry::Spec(_)))
                    {
                        self.tests_state.sel = pos;
                        self.on_test_changed();
                    }
                    let n = self
                        .tests
                        .iter()
                        .filter(|r| matches!(r.entry, TestEntry::Spec(_)))
                        .count();
                    self.message =
                        Some(format!("{}: called by {n} tests", self.group_label(group)));
                } else {
                    self.jump(
                        Some(Scope::Endpoint(group)),
                        Some(TestEntry::All),
                        Pane::Backtrace,
                    );
                    self.message = Some(format!(
                        "{}: every caller across all tests ({} requests)",
                        self.group_label(group),
                        self.bt_requests
                    ));
                }
            }
            Action::FrameUses => {
                let Some(key) = self
                    .selected_node()
                    .and_then(|n| self.tree.nodes.get(n as usize))
                    .map(|n| n.key)
                else {
                    return;
                };
                if key == KEY_FOLDED || key == KEY_TRUNCATED {
                    self.message = Some("not a frame: unfold (z) first".into());
                    return;
                }
                self.jump(
                    Some(Scope::Frame(key)),
                    Some(TestEntry::All),
                    Pane::Requests,
                );
                self.message = Some(self.frame_summary(key));
            }
            Action::Back => {
                if let Some(nav) = self.back.pop() {
                    let cur = self.nav();
                    self.fwd.push(cur);
                    self.restore(nav);
                } else {
                    self.message = Some("no earlier place".into());
                }
            }
            Action::Forward => {
                if let Some(nav) = self.fwd.pop() {
                    let cur = self.nav();
                    self.back.push(cur);
                    self.restore(nav);
                } else {
                    self.message = Some("no later place".into());
                }
            }
            Action::Search => {
                self.typing = true;
                self.filters[self.focus.index()].clear();
                self.refilter_focused();
            }
            Action::NextMatch => self.step_match(true),
            Action::PrevMatch => self.step_match(false),
            Action::FrameSearch => {
                self.overlay = Overlay::FrameSearch {
                    query: String::new(),
                    hits: search_frames(&self.index, "", 200),
                    sel: 0,
                };
            }
            Action::CopyBacktrace => self.copy_backtrace(),
            Action::CopySpec => match self.selected_test() {
                Some(TestEntry::Spec(s)) => {
                    let name = self.entry_name(TestEntry::Spec(s)).to_string();
                    self.message = Some(self.clipboard.copy("test name", &name));
                }
                _ => self.message = Some("select a test first".into()),
            },
            Action::CopyRequest => match self.selected_req_row() {
                Some(ReqRow::Request { req, .. }) => self.copy_request(req),
                _ => self.message = Some("select a request first (Enter opens a group)".into()),
            },
            Action::Help => self.overlay = Overlay::Help { scroll: 0 },
            Action::Escape => {
                if !self.filters[self.focus.index()].is_empty() {
                    self.filters[self.focus.index()].clear();
                    self.refilter_focused();
                } else if self.scope.is_some() {
                    let focus = self.focus;
                    let entry = self.selected_test().filter(|e| *e != TestEntry::All);
                    self.jump(None, entry, focus);
                    self.message = Some("filter cleared".into());
                }
            }
        }
    }

    fn open(&mut self) {
        match self.focus {
            Pane::Tests => {
                self.focus = Pane::Requests;
                self.sync_backtrace();
            }
            Pane::Requests => match self.selected_req_row() {
                Some(ReqRow::Group { group, .. }) => {
                    if !self.expanded_groups.remove(&group) {
                        self.expanded_groups.insert(group);
                    }
                    self.rebuild_req_rows(None);
                }
                Some(ReqRow::Request { req, .. }) => {
                    self.overlay = Overlay::Detail { req, scroll: 0 };
                }
                None => {}
            },
            Pane::Backtrace => {
                if let Some(n) = self.selected_node() {
                    let open = self.tree.expanded.get(n as usize).copied().unwrap_or(false);
                    self.tree.set_expanded(n, !open);
                    self.restore_tree_cursor(Some(n));
                }
            }
        }
    }

    fn expand(&mut self, open: bool) {
        match self.focus {
            Pane::Tests => {}
            Pane::Requests => {
                let Some(row) = self.selected_req_row() else {
                    return;
                };
                match (row, open) {
                    (ReqRow::Group { group, .. }, true) => {
                        self.expanded_groups.insert(group);
                        self.rebuild_req_rows(Some(row));
                    }
                    (ReqRow::Group { group, .. }, false) => {
                        self.expanded_groups.remove(&group);
                        self.rebuild_req_rows(Some(row));
                    }
                    (ReqRow::Request { group, .. }, false) => {
                        self.expanded_groups.remove(&group);
                        let count = self.requests_of_group(group).len();
                        self.rebuild_req_rows(Some(ReqRow::Group {
                            group,
                            count: count as u32,
                        }));
                        self.sync_backtrace();
                    }
                    (ReqRow::Request { .. }, true) => {}
                }
            }
            Pane::Backtrace => {
                let Some(n) = self.selected_node() else {
                    return;
                };
                if open {
                    self.tree.set_expanded(n, true);
                } else if self.tree.has_children(n)
                    && self.tree.is_open(n)
                    && self.filters[2].is_empty()
                {
                    self.tree.set_expanded(n, false);
                } else {
                    // Already closed: go to the parent.
                    let parent = self
                        .tree
                        .nodes
                        .get(n as usize)
                        .map(|x| x.parent)
                        .unwrap_or(n);
                    self.restore_tree_cursor(Some(parent));
                    return;
                }
                self.restore_tree_cursor(Some(n));
            }
        }
    }

    // ----- copy ---------------------------------------------------------------------

    fn copy_request(&mut self, req: u32) {
        let Some(r) = self.run.requests.get(req as usize) else {
            return;
        };
        let line = super::detail::event_string(&self.run, r);
        self.message = Some(self.clipboard.copy("request", &line));
    }

    /// The backtrace in view as text: `verb requestURI`, then each frame's function
    /// indented 4 spaces and `file:line` indented 8. For a merged tree, the trace of the
    /// first request through the node under the cursor.
    pub fn backtrace_text(&self) -> Option<String> {
        let (req, trace) = match self.bt_source {
            BtSource::Request(r) => (r, *self.index.req_trace.get(r as usize)?),
            BtSource::None => return None,
            _ => {
                let node = self.selected_node()?;
                let t = self.tree.nodes.get(node as usize)?.sample_trace;
                let reqs = self.index.trace_requests.get(t as usize)?;
                let r = *reqs.iter().find(|&&r| self.in_scope(r)).or(reqs.first())?;
                (r, t)
            }
        };
        let request = self.run.requests.get(req as usize)?;
        let trace = self.run.traces.get(trace as usize)?;
        let mut out = format!(
            "{} {}\n",
            self.run.str(request.verb),
            self.run.str(request.uri)
        );
        let frames: Vec<u32> = if self.tree_options.caller_first {
            trace.frames.iter().rev().copied().collect()
        } else {
            trace.frames.clone()
        };
        if trace.truncated && self.tree_options.caller_first {
            out.push_str("    [truncated: outer frames missing]\n");
        }
        for f in frames {
            if let Some(fr) = self.run.frames.get(f as usize) {
                out.push_str(&format!(
                    "    {}\n        {}:{}\n",
                    self.run.str(fr.function),
                    self.run.str(fr.file),
                    fr.line
                ));
            }
        }
        if trace.truncated && !self.tree_options.caller_first {
            out.push_str("    [truncated: outer frames missing]\n");
        }
        Some(out)
    }

    fn copy_backtrace(&mut self) {
        match self.backtrace_text() {
            Some(text) => self.message = Some(self.clipboard.copy("backtrace", &text)),
            None => self.message = Some("no backtrace in view".into()),
        }
    }
}
