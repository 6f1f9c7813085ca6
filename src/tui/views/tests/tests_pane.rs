//! The Tests pane: specs with status, duration and request count.

use super::scope::ScopeState;
use crate::run::{NO_TIME, SpecId, SpecStatus};
use crate::tui::component::{Component, ListPane, ListState, Outcome, list_pane_state};
use crate::tui::context::{Ctx, TestEntry};
use crate::tui::filter::{Query, QueryError, RequestPredicate, TextMatch};
use crate::tui::keymap::Action;
use crate::tui::search::highlighted_query;
use crate::tui::widgets::{pane_frame, window};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// A row of the Tests pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestRow {
    /// What the row stands for.
    pub entry: TestEntry,
    /// Requests of the entry in scope.
    pub hits: u64,
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
    /// By status: failures first, then unknown, passed, skipped.
    Status,
    /// By duration, longest first.
    Duration,
}

impl SortKey {
    /// The name shown in the pane title.
    pub fn name(self) -> &'static str {
        match self {
            SortKey::Start => "start",
            SortKey::Name => "name",
            SortKey::Requests => "requests",
            SortKey::Status => "status",
            SortKey::Duration => "duration",
        }
    }

    fn next(self) -> SortKey {
        match self {
            SortKey::Start => SortKey::Name,
            SortKey::Name => SortKey::Requests,
            SortKey::Requests => SortKey::Status,
            SortKey::Status => SortKey::Duration,
            SortKey::Duration => SortKey::Start,
        }
    }
}

/// The Tests pane's state.
#[derive(Debug, Clone)]
pub struct TestsPane {
    /// The order of the spec rows.
    pub sort: SortKey,
    /// Requests of all tests and of none are listed (pseudo entries).
    pub show_all: bool,
    /// Every row (unfiltered).
    pub rows: Vec<TestRow>,
    /// Indexes into `rows` that pass the filter.
    pub view: Vec<u32>,
    /// Selection in `view`.
    pub state: ListState,
    /// The filter text.
    pub filter: String,
    /// Rows of the last draw.
    pub page: usize,
    /// Skipped and pending specs are listed.
    pub show_skipped: bool,
    /// Skipped specs (matching the filter) left out of the list.
    pub hidden_skipped: usize,
    /// Position in `view` where the fuzzy matches begin (`view.len()` when none).
    pub fuzzy_from: usize,
    /// Requests counted per row: only the test's own (`ua`, `none`), without `window`.
    pub hide_window: bool,
    /// With request fields in the filter: matching requests per spec.
    pub match_hits: Option<Vec<u32>>,
    /// The parsed filter, or why it does not parse.
    pub query: Result<Query, QueryError>,
    scope_text: Option<String>,
}

/// Fuzzy matches listed after the substring matches, at most.
pub const FUZZY_LIMIT: usize = 20;

/// True for specs that did not run (hidden by default).
pub fn not_run(status: SpecStatus) -> bool {
    matches!(status, SpecStatus::Skipped | SpecStatus::Pending)
}

fn status_rank(status: SpecStatus) -> u8 {
    match status {
        SpecStatus::Failed => 0,
        SpecStatus::Unknown => 1,
        SpecStatus::Passed => 2,
        SpecStatus::Pending => 3,
        SpecStatus::Skipped => 4,
    }
}

impl TestsPane {
    /// An empty pane.
    pub fn new(show_all: bool) -> TestsPane {
        TestsPane {
            sort: SortKey::Start,
            show_all,
            rows: Vec::new(),
            view: Vec::new(),
            state: ListState::default(),
            filter: String::new(),
            page: 10,
            show_skipped: false,
            hidden_skipped: 0,
            fuzzy_from: 0,
            hide_window: false,
            match_hits: None,
            query: Ok(Query::default()),
            scope_text: None,
        }
    }

    /// Selects the first listed spec with requests (the first screen).
    pub fn select_first_with_requests(&mut self) {
        if let Some(pos) = self.view.iter().position(|&i| {
            let r = &self.rows[i as usize];
            matches!(r.entry, TestEntry::Spec(_)) && r.hits > 0
        }) {
            self.state.sel = pos;
        }
    }

    /// Spec rows listed (pseudo rows not counted).
    pub fn listed_specs(&self) -> usize {
        self.view
            .iter()
            .filter(|&&i| matches!(self.rows[i as usize].entry, TestEntry::Spec(_)))
            .count()
    }

    /// The selected entry.
    pub fn selected(&self) -> Option<TestEntry> {
        let i = *self.view.get(self.state.sel)?;
        self.rows.get(i as usize).map(|r| r.entry)
    }

    /// Selects `entry` if it is listed; true when it is.
    pub fn select(&mut self, entry: TestEntry) -> bool {
        match self
            .view
            .iter()
            .position(|&i| self.rows[i as usize].entry == entry)
        {
            Some(pos) => {
                self.state.sel = pos;
                true
            }
            None => false,
        }
    }

    fn scoped(&self) -> bool {
        self.scope_text.is_some()
    }

    /// Rebuilds the rows for a scope, keeping `keep` (or the selection) selected.
    pub fn rebuild(&mut self, ctx: &Ctx, scope: &ScopeState, keep: Option<TestEntry>) {
        let keep = keep.or_else(|| self.selected());
        let run = &ctx.run;
        let mut rows: Vec<TestRow> = Vec::new();
        let n_specs = run.specs.len();
        let spec_rows: Vec<TestRow> = match scope.scope {
            None => {
                if self.show_all {
                    rows.push(TestRow {
                        entry: TestEntry::All,
                        hits: run.requests.len() as u64,
                    });
                    rows.push(TestRow {
                        entry: TestEntry::NoTest,
                        hits: ctx.index.unattributed.len() as u64,
                    });
                }
                let own = |s: usize| -> u64 {
                    let reqs = &ctx.index.spec_requests[s];
                    if self.hide_window {
                        reqs.iter().filter(|&&r| !ctx.index.is_window(r)).count() as u64
                    } else {
                        reqs.len() as u64
                    }
                };
                (0..n_specs)
                    .map(|s| TestRow {
                        entry: TestEntry::Spec(SpecId::from_index(s)),
                        hits: own(s),
                    })
                    .collect()
            }
            Some(_) => {
                let reqs = scope.requests(ctx);
                let mut hits = vec![0u64; n_specs + 1];
                for &r in &reqs {
                    if self.hide_window && ctx.index.is_window(r) {
                        continue;
                    }
                    let s = run.requests[r as usize]
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
                (0..n_specs)
                    .filter(|&s| hits[s] > 0)
                    .map(|s| TestRow {
                        entry: TestEntry::Spec(SpecId::from_index(s)),
                        hits: hits[s],
                    })
                    .collect()
            }
        };
        rows.extend(spec_rows);
        self.rows = rows;
        self.scope_text = scope.text(ctx);
        self.sort_rows(ctx);
        self.refilter(ctx);
        if let Some(k) = keep {
            self.select(k);
        }
        self.state.clamp(self.view.len());
    }

    /// Sorts the spec rows (pseudo rows stay first).
    fn sort_rows(&mut self, ctx: &Ctx) {
        let run = &ctx.run;
        let first_spec = self
            .rows
            .iter()
            .position(|r| matches!(r.entry, TestEntry::Spec(_)))
            .unwrap_or(self.rows.len());
        let spec_rows = &mut self.rows[first_spec..];
        let spec_of = |r: &TestRow| match r.entry {
            TestEntry::Spec(s) => run.specs.get(s.index()),
            _ => None,
        };
        match self.sort {
            SortKey::Start => spec_rows.sort_by_key(|r| {
                let start = spec_of(r).map(|s| s.start).unwrap_or(NO_TIME);
                // Unknown start times last.
                (start == NO_TIME, start, entry_key(r.entry))
            }),
            SortKey::Name => spec_rows.sort_by(|a, b| {
                let na = spec_of(a).map(|s| run.str(s.name)).unwrap_or("");
                let nb = spec_of(b).map(|s| run.str(s.name)).unwrap_or("");
                na.cmp(nb)
            }),
            SortKey::Requests => spec_rows.sort_by_key(|r| std::cmp::Reverse(r.hits)),
            SortKey::Status => spec_rows.sort_by_key(|r| {
                let s = spec_of(r);
                (
                    s.map(|s| status_rank(s.status)).unwrap_or(9),
                    s.map(|s| (s.start == NO_TIME, s.start)),
                )
            }),
            SortKey::Duration => spec_rows.sort_by(|a, b| {
                let d = |r: &TestRow| spec_of(r).and_then(|s| s.duration).unwrap_or(-1.0);
                d(b).total_cmp(&d(a))
            }),
        }
    }

    fn refilter(&mut self, ctx: &Ctx) {
        self.query = Query::parse(&self.filter);
        let Ok(q) = &self.query else {
            self.view.clear();
            self.fuzzy_from = 0;
            self.hidden_skipped = 0;
            self.state.clamp(0);
            return;
        };
        let run = &ctx.run;
        let show_skipped = self.show_skipped || q.asks_status();
        // Request fields: a test is kept when one of its requests meets them all.
        let mut pred = RequestPredicate::new(ctx, q);
        self.match_hits = pred.is_active().then(|| {
            ctx.index
                .spec_requests
                .iter()
                .map(|reqs| {
                    reqs.iter()
                        .filter(|&&r| !(self.hide_window && ctx.index.is_window(r)))
                        .filter(|&&r| pred.matches(ctx, r))
                        .count() as u32
                })
                .collect()
        });
        let scoped = self.scoped();
        let mut exact: Vec<u32> = Vec::new();
        let mut fuzzy: Vec<(i64, u32)> = Vec::new();
        let mut hidden = 0;
        for (i, row) in self.rows.iter().enumerate() {
            let mut skipped = false;
            match row.entry {
                TestEntry::Spec(s) => {
                    let Some(spec) = run.specs.get(s.index()) else {
                        continue;
                    };
                    if !q.match_status(spec.status) {
                        continue;
                    }
                    if let Some(h) = &self.match_hits
                        && h.get(s.index()).copied().unwrap_or(0) == 0
                    {
                        continue;
                    }
                    skipped = !show_skipped && not_run(spec.status);
                }
                // The pseudo rows are not names to search.
                _ if !q.is_empty() => continue,
                _ => {}
            }
            match q.match_text(ctx.entry_name(row.entry, scoped), !skipped) {
                TextMatch::Exact if skipped => hidden += 1,
                TextMatch::Exact => exact.push(i as u32),
                TextMatch::Fuzzy(score) => fuzzy.push((score, i as u32)),
                TextMatch::No => {}
            }
        }
        fuzzy.sort_by_key(|&(score, i)| (std::cmp::Reverse(score), i));
        fuzzy.truncate(FUZZY_LIMIT);
        self.fuzzy_from = exact.len();
        self.hidden_skipped = hidden;
        self.view = exact;
        self.view.extend(fuzzy.into_iter().map(|(_, i)| i));
        self.state.clamp(self.view.len());
    }

    /// Shows or hides the specs that did not run.
    pub fn toggle_skipped(&mut self, ctx: &Ctx) -> String {
        let keep = self.selected();
        self.show_skipped = !self.show_skipped;
        self.refilter(ctx);
        if let Some(k) = keep {
            self.select(k);
        }
        if self.show_skipped {
            "showing skipped and pending tests".into()
        } else {
            "skipped and pending tests hidden".into()
        }
    }
}

fn entry_key(e: TestEntry) -> u32 {
    match e {
        TestEntry::Spec(s) => s.0,
        _ => 0,
    }
}

impl Component for TestsPane {
    fn handle(&mut self, ctx: &Ctx, action: Action) -> Outcome {
        match action {
            Action::CycleSort => {
                let keep = self.selected();
                self.sort = self.sort.next();
                self.sort_rows(ctx);
                self.refilter(ctx);
                if let Some(k) = keep {
                    self.select(k);
                }
                Outcome::Message(format!("tests sorted by {}", self.sort.name()))
            }
            _ => Outcome::Ignored,
        }
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, ctx: &Ctx, focused: bool) {
        let theme = ctx.theme;
        let fuzzy = self.view.len() - self.fuzzy_from;
        let mut title = format!("Tests ({}", self.listed_specs() - fuzzy);
        if fuzzy > 0 {
            title.push_str(&format!(" + {fuzzy} ≈"));
        }
        if self.hidden_skipped > 0 {
            title.push_str(&format!(" · {} skipped hidden", self.hidden_skipped));
        }
        title.push_str(&format!(") by {}", self.sort.name()));
        if self.hide_window {
            title.push_str(" · own requests");
        }
        let marks = ctx.baseline.as_ref().map(|d| {
            let t = &d.tests;
            format!(
                "+{} −{} ~{}",
                t.added.len(),
                t.removed.len(),
                t.changed.len()
            )
        });
        if let Some(m) = &marks {
            title.push_str(&format!(" · vs baseline {m}"));
        }
        if let Some(scope) = &self.scope_text {
            title = format!("{title} · {scope}");
        }
        // A narrow pane cuts a long title mid-word; keep the counts whole instead (the
        // sort and scope are in the status line and help).
        if title.chars().count() + 4 > area.width as usize && self.hidden_skipped > 0 {
            title = format!("Tests ({}", self.listed_specs() - fuzzy);
            if fuzzy > 0 {
                title.push_str(&format!(" + {fuzzy} ≈"));
            }
            title.push_str(&format!(", −{} skipped)", self.hidden_skipped));
            if let Some(m) = &marks {
                title.push_str(&format!(" {m}"));
            }
        }
        let empty = Query::default();
        let query = self.query.as_ref().unwrap_or(&empty);
        let inner = pane_frame(f, area, ctx, &title, &self.filter, focused);
        self.page = inner.height as usize;
        let height = inner.height as usize;
        let (start, end) = window(&mut self.state, self.view.len(), height);
        let scoped = self.scoped();
        let width = inner.width as usize;
        let narrow = width < 60;
        let mut lines = Vec::with_capacity(end - start);
        for pos in start..end {
            let Some(row) = self
                .view
                .get(pos)
                .and_then(|&i| self.rows.get(i as usize))
                .copied()
            else {
                continue;
            };
            let name = ctx.entry_name(row.entry, scoped);
            let (status, style, dur, dim) = match row.entry {
                TestEntry::Spec(s) => {
                    let spec = &ctx.run.specs[s.index()];
                    let st = match spec.status {
                        SpecStatus::Passed => theme.passed,
                        SpecStatus::Failed => theme.failed,
                        SpecStatus::Skipped | SpecStatus::Pending => theme.skipped,
                        SpecStatus::Unknown => theme.dim,
                    };
                    let dur = spec
                        .duration
                        .map(|d| format!("{d:.1}s"))
                        .unwrap_or_default();
                    let label = if spec.suite_node {
                        "suite"
                    } else {
                        match spec.status {
                            SpecStatus::Passed => "pass",
                            SpecStatus::Failed => "FAIL",
                            SpecStatus::Skipped => "skip",
                            SpecStatus::Pending => "pend",
                            SpecStatus::Unknown => "?",
                        }
                    };
                    (label, st, dur, spec.suite_node)
                }
                _ => ("", theme.marker, String::new(), false),
            };
            let mut base = if dim {
                theme.dim
            } else {
                ratatui::style::Style::new()
            };
            if row.entry == TestEntry::All || row.entry == TestEntry::NoTest {
                base = theme.marker;
            }
            let fuzzy_row = pos >= self.fuzzy_from;
            if fuzzy_row {
                base = theme.dim;
            }
            let hits = match (&self.match_hits, row.entry) {
                (Some(h), TestEntry::Spec(s)) => u64::from(h.get(s.index()).copied().unwrap_or(0)),
                _ => row.hits,
            };
            let status_style = if dim { theme.dim } else { style };
            // Against `--baseline`: + tests endpoints now and none before, − the reverse,
            // ~ gained or lost endpoints.
            let mark = match (&ctx.baseline, row.entry) {
                (Some(d), TestEntry::Spec(_)) => match d.test_mark(name) {
                    Some(crate::diff::TestMark::Added) => Some("+ "),
                    Some(crate::diff::TestMark::Removed) => Some("− "),
                    Some(crate::diff::TestMark::Changed) => Some("~ "),
                    None => Some("  "),
                },
                (Some(_), _) => Some("  "),
                _ => None,
            };
            let mut line = if narrow {
                // Narrow: the name first (what people read), the count at the right.
                let glyph = match status {
                    "pass" => '✓',
                    "FAIL" => '✗',
                    "skip" => '-',
                    "pend" => '…',
                    "suite" => '◆',
                    "" => ' ',
                    _ => '?',
                };
                let count = format!(" {hits}");
                let room = width.saturating_sub(
                    2 + count.chars().count()
                        + 2 * fuzzy_row as usize
                        + 2 * mark.is_some() as usize,
                );
                let shown: String = name.chars().take(room).collect();
                let pad = room.saturating_sub(shown.chars().count());
                let mut spans = vec![Span::styled(format!("{glyph} "), status_style)];
                if let Some(m) = mark {
                    spans.push(Span::styled(m, theme.highlight));
                }
                if fuzzy_row {
                    spans.push(Span::styled("≈ ", theme.marker));
                }
                spans.extend(highlighted_query(&shown, query, base, &theme));
                spans.push(Span::raw(" ".repeat(pad)));
                spans.push(Span::styled(count, theme.dim));
                Line::from(spans)
            } else {
                let mut spans = vec![
                    Span::styled(format!("{status:<5}"), status_style),
                    Span::styled(format!("{hits:>6}{dur:>7} "), theme.dim),
                ];
                if let Some(m) = mark {
                    spans.push(Span::styled(m, theme.highlight));
                }
                if fuzzy_row {
                    spans.push(Span::styled("≈ ", theme.marker));
                }
                spans.extend(highlighted_query(name, query, base, &theme));
                Line::from(spans)
            };
            if pos == self.state.sel {
                line = line.patch_style(theme.selection(focused));
            }
            lines.push(line);
        }
        if self.view.is_empty() {
            let msg = match &self.query {
                Err(e) => format!("({e})"),
                Ok(_) if !self.filter.is_empty() => "(no match)".into(),
                Ok(_) if self.hidden_skipped > 0 => "(every test was skipped: S shows them)".into(),
                Ok(_) if ctx.reading => "(no tests read yet)".into(),
                Ok(_) => "(no tests in this run)".into(),
            };
            lines.push(Line::styled(msg, theme.dim));
        }
        f.render_widget(Paragraph::new(lines), inner);
    }
}

impl ListPane for TestsPane {
    list_pane_state!(view);
    fn set_filter(&mut self, ctx: &Ctx, text: String) {
        self.filter = text;
        self.refilter(ctx);
        // A position kept from before the filter changed would land on an arbitrary row,
        // often a fuzzy one: the best match is first.
        if !self.filter.is_empty() && self.state.sel >= self.fuzzy_from {
            self.state.sel = 0;
        }
    }
    fn row_matches(&self, _ctx: &Ctx, pos: usize) -> bool {
        // Every listed row passed the filter; the fuzzy ones are not stepped to.
        pos < self.fuzzy_from
    }
}
