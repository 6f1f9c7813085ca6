//! The Tests pane: specs with status, duration and request count.

use super::scope::ScopeState;
use crate::run::{NO_TIME, SpecId, SpecStatus};
use crate::tui::component::{Component, ListPane, ListState, Outcome};
use crate::tui::context::{Ctx, TestEntry};
use crate::tui::keymap::Action;
use crate::tui::search::{highlighted, matcher, matches};
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

    fn next(self) -> SortKey {
        match self {
            SortKey::Start => SortKey::Name,
            SortKey::Name => SortKey::Requests,
            SortKey::Requests => SortKey::Start,
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
    scope_text: Option<String>,
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
            scope_text: None,
        }
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
                (0..n_specs)
                    .map(|s| TestRow {
                        entry: TestEntry::Spec(SpecId::from_index(s)),
                        hits: ctx.index.spec_requests[s].len() as u64,
                    })
                    .collect()
            }
            Some(_) => {
                let reqs = scope.requests(ctx);
                let mut hits = vec![0u64; n_specs + 1];
                for &r in &reqs {
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
        }
    }

    fn refilter(&mut self, ctx: &Ctx) {
        let m = matcher();
        let scoped = self.scoped();
        self.view = (0..self.rows.len() as u32)
            .filter(|&i| {
                matches(
                    &m,
                    ctx.entry_name(self.rows[i as usize].entry, scoped),
                    &self.filter,
                )
            })
            .collect();
        self.state.clamp(self.view.len());
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
        let mut title = format!("Tests ({}) by {}", self.view.len(), self.sort.name());
        if let Some(scope) = &self.scope_text {
            title = format!("{title} · {scope}");
        }
        let inner = pane_frame(f, area, ctx, &title, &self.filter, focused);
        self.page = inner.height as usize;
        let height = inner.height as usize;
        let (start, end) = window(&mut self.state, self.view.len(), height);
        let scoped = self.scoped();
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
            let mut spans = vec![
                Span::styled(format!("{status:<5}"), if dim { theme.dim } else { style }),
                Span::styled(format!("{:>6}{dur:>7} ", row.hits), theme.dim),
            ];
            spans.extend(highlighted(name, &self.filter, base, &theme));
            let mut line = Line::from(spans);
            if pos == self.state.sel {
                line = line.patch_style(theme.selection(focused));
            }
            lines.push(line);
        }
        if self.view.is_empty() {
            lines.push(Line::styled(
                if self.filter.is_empty() {
                    "(no tests in this run)"
                } else {
                    "(no match)"
                },
                theme.dim,
            ));
        }
        f.render_widget(Paragraph::new(lines), inner);
    }
}

impl ListPane for TestsPane {
    fn len(&self) -> usize {
        self.view.len()
    }
    fn list(&mut self) -> &mut ListState {
        &mut self.state
    }
    fn page(&self) -> usize {
        self.page
    }
    fn filter(&self) -> &str {
        &self.filter
    }
    fn set_filter(&mut self, ctx: &Ctx, text: String) {
        self.filter = text;
        self.refilter(ctx);
    }
    fn row_matches(&self, ctx: &Ctx, pos: usize) -> bool {
        self.filter.is_empty()
            || self.view.get(pos).is_some_and(|&i| {
                matches(
                    &matcher(),
                    ctx.entry_name(self.rows[i as usize].entry, self.scoped()),
                    &self.filter,
                )
            })
    }
}
