//! The Endpoints view (`2`): every operation of the run's release with its hits, tests,
//! conformance tests, level, eligibility and whether it is tested, counted by the same
//! function as `report coverage` ([`crate::report::coverage::coverage_report`]), so the
//! title's `T/N tested` is that report's. For an untested endpoint the detail says what came
//! closest ("why untested").

use super::Jump;
use crate::analysis::NONE;
use crate::diff::EndpointMark;
use crate::report::coverage::{Coverage, conformance_eligible, coverage_report};
use crate::report::filter::RequestFilter;
use crate::run::Attribution;
use crate::tui::component::{Component, ListPane, ListState, Outcome, list_pane_state};
use crate::tui::context::Ctx;
use crate::tui::context::{LAT_LONG_RUNNING, p99_max};
use crate::tui::filter::{Query, QueryError, RequestPredicate, TextMatch};
use crate::tui::keymap::Action;
use crate::tui::search::highlighted_query;
use crate::tui::views::tests::requests_pane::ms_cell;
use crate::tui::views::tests::requests_pane::plural;
use crate::tui::widgets::{pane_frame, window};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Gauge, Paragraph, Wrap};
use std::collections::{HashMap, HashSet};

/// One operation of the release.
#[derive(Debug, Clone)]
pub struct EndpointRow {
    /// The operationId.
    pub id: String,
    /// Its path template.
    pub path: String,
    /// `stable`, `beta`, `alpha`.
    pub level: String,
    /// Conformance eligible (APISnoop's rules).
    pub eligible: bool,
    /// Tested (by a spec's own requests, as `report coverage` counts).
    pub tested: bool,
    /// Tested by a `[Conformance]` spec.
    pub conf_tested: bool,
    /// Requests of the run to it (any attribution).
    pub hits: u64,
    /// Specs counted as testing it.
    pub tests: usize,
    /// Conformance specs among them.
    pub conf_tests: usize,
    /// Requests tied to a test by time window only.
    pub window_hits: u64,
    /// Requests of no test.
    pub none_hits: u64,
    /// Requests with an error response (>= 400).
    pub error_hits: u64,
    /// Its endpoint group in the explorer's index, when the run hit it.
    pub group: Option<u32>,
    /// p99 latency (nearest rank) of its measured requests, microseconds; watches and streams
    /// are left out.
    pub p99: Option<crate::run::Micros>,
    /// Its watches and streams (long-running: no latency counted).
    pub long_running: u64,
    /// `p99` and `long_running` are computed (lazily: for the rows drawn, or all rows when
    /// sorting by latency, so the first `2` on a 900k-request run stays fast).
    pub measured: bool,
    /// How it changed against `--baseline`.
    pub mark: Option<EndpointMark>,
}

impl EndpointRow {
    /// Hit, but every response an error.
    pub fn errors_only(&self) -> bool {
        self.hits > 0 && self.error_hits == self.hits
    }
}

/// Which endpoints are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Show {
    /// All.
    All,
    /// Untested.
    Untested,
    /// Untested and conformance eligible.
    UntestedEligible,
    /// Hit, but only with error responses.
    ErrorsOnly,
    /// Changed against `--baseline` (new, lost, newly tested, no longer tested).
    Changed,
}

impl Show {
    fn name(self) -> &'static str {
        match self {
            Show::All => "all",
            Show::Untested => "untested",
            Show::UntestedEligible => "untested eligible",
            Show::ErrorsOnly => "hit only with errors",
            Show::Changed => "changed vs baseline",
        }
    }
    fn next(self, baseline: bool) -> Show {
        match self {
            Show::All => Show::Untested,
            Show::Untested => Show::UntestedEligible,
            Show::UntestedEligible => Show::ErrorsOnly,
            Show::ErrorsOnly if baseline => Show::Changed,
            Show::ErrorsOnly | Show::Changed => Show::All,
        }
    }
}

/// Sort order of the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpSort {
    /// By operationId.
    Name,
    /// By hits, most first.
    Hits,
    /// By tests, most first.
    Tests,
    /// By p99 latency, slowest first.
    Latency,
}

impl EpSort {
    fn name(self) -> &'static str {
        match self {
            EpSort::Name => "name",
            EpSort::Hits => "hits",
            EpSort::Tests => "tests",
            EpSort::Latency => "p99 latency",
        }
    }
}

/// The Endpoints view's state.
#[derive(Debug, Clone)]
pub struct EndpointsView {
    /// Every operation (deprecated ones left out, as `report coverage` does).
    pub rows: Vec<EndpointRow>,
    /// Indexes into `rows` listed.
    pub view: Vec<u32>,
    /// Selection in `view`.
    pub state: ListState,
    /// The filter text.
    pub filter: String,
    /// The parsed filter.
    pub query: Result<Query, QueryError>,
    /// Which endpoints are listed.
    pub show: Show,
    /// The order.
    pub sort: EpSort,
    /// `report coverage`'s totals.
    pub tested: u64,
    /// `report coverage`'s total endpoints.
    pub total: u64,
    /// Conformance-eligible endpoints tested by conformance specs.
    pub eligible_tested: u64,
    /// Conformance-eligible endpoints.
    pub eligible_total: u64,
    /// Rows of the last draw.
    pub page: usize,
    /// Endpoints of the baseline's table that are not in this run's (`--baseline`).
    pub removed: usize,
}

/// The short mark of an endpoint's change against the baseline.
pub fn mark_text(m: Option<EndpointMark>) -> &'static str {
    match m {
        Some(EndpointMark::Added) => "new",
        Some(EndpointMark::Removed) => "gone",
        Some(EndpointMark::NewlyTested) => "+test",
        Some(EndpointMark::NoLongerTested) => "LOST",
        None => "",
    }
}

impl EndpointsView {
    /// Builds the view: one pass over the requests and `report coverage`'s function.
    pub fn new(ctx: &Ctx) -> EndpointsView {
        let run = &ctx.run;
        let coverage: Coverage = coverage_report(run, &RequestFilter::default(), false);
        // Counted as `conf_tested` is: by the spec's `[Conformance]` tag (a test's
        // `conformance_test` in the report comes from conformance.yaml instead).
        let conformance: HashSet<&str> = run
            .specs
            .iter()
            .filter(|s| s.conformance)
            .map(|s| run.str(s.name))
            .collect();
        let op_by_id: HashMap<&str, usize> = run
            .operations
            .iter()
            .enumerate()
            .map(|(i, o)| (o.id.as_str(), i))
            .collect();
        let mut group_of_op: HashMap<usize, u32> = HashMap::new();
        for (g, group) in ctx.index.groups.iter().enumerate() {
            if let Some(op) = group.op {
                group_of_op.insert(op.index(), g as u32);
            }
        }
        let mut rows = Vec::with_capacity(coverage.endpoints.len());
        for e in &coverage.endpoints {
            let Some(&op_i) = op_by_id.get(e.endpoint.as_str()) else {
                continue;
            };
            let op = &run.operations[op_i];
            if op.deprecated {
                continue;
            }
            let group = group_of_op.get(&op_i).copied();
            let (mut hits, mut window_hits, mut none_hits, mut error_hits) = (0, 0, 0, 0);
            let (p99, long_running) = (None, 0);
            if let Some(g) = group.and_then(|g| ctx.index.groups.get(g as usize)) {
                for &r in &g.requests {
                    let req = &run.requests[r as usize];
                    hits += 1;
                    match req.attribution {
                        Attribution::Window => window_hits += 1,
                        Attribution::None => none_hits += 1,
                        _ => {}
                    }
                    if req.code >= 400 {
                        error_hits += 1;
                    }
                }
            }
            rows.push(EndpointRow {
                id: e.endpoint.clone(),
                path: e.path.clone(),
                level: e.level.clone(),
                eligible: conformance_eligible(op),
                tested: e.tested,
                conf_tested: e.conf_tested,
                hits,
                tests: e.tests.len(),
                conf_tests: e
                    .tests
                    .iter()
                    .filter(|t| conformance.contains(t.as_str()))
                    .count(),
                window_hits,
                none_hits,
                error_hits,
                group,
                p99,
                long_running,
                measured: group.is_none(),
                mark: ctx
                    .baseline
                    .as_ref()
                    .and_then(|d| d.endpoint_mark(&e.endpoint)),
            });
        }
        let mut v = EndpointsView {
            rows,
            view: Vec::new(),
            state: ListState::default(),
            filter: String::new(),
            query: Ok(Query::default()),
            show: Show::All,
            sort: EpSort::Name,
            tested: coverage.tested_endpoints,
            total: coverage.total_endpoints,
            eligible_tested: coverage.tested_conformance_eligible_endpoints,
            eligible_total: coverage.total_conformance_eligible_endpoints,
            page: 10,
            removed: ctx
                .baseline
                .as_ref()
                .map_or(0, |d| d.endpoints.removed.len()),
        };
        v.refilter(ctx);
        v
    }

    /// Marks the rows against `ctx.baseline` (`--baseline`): a view built off the event loop
    /// ([`crate::tui::app::Derived`]) is built without the baseline, which the app holds.
    pub fn mark_against_baseline(&mut self, ctx: &Ctx) {
        let Some(diff) = ctx.baseline.as_ref() else {
            return;
        };
        for row in &mut self.rows {
            row.mark = diff.endpoint_mark(&row.id);
        }
        self.removed = diff.endpoints.removed.len();
        self.refilter(ctx);
    }

    /// Computes row `i`'s p99 latency and long-running count if not done yet.
    pub fn measure(&mut self, ctx: &Ctx, i: usize) {
        let Some(row) = self.rows.get_mut(i) else {
            return;
        };
        if row.measured {
            return;
        }
        row.measured = true;
        let Some(g) = row.group.and_then(|g| ctx.index.groups.get(g as usize)) else {
            return;
        };
        row.p99 = p99_max(&ctx.latency, &g.requests).map(|(p, _, _)| p);
        row.long_running = g
            .requests
            .iter()
            .filter(|&&r| ctx.latency.get(r as usize) == Some(&LAT_LONG_RUNNING))
            .count() as u64;
    }

    /// The selected endpoint.
    pub fn selected(&self) -> Option<&EndpointRow> {
        let i = *self.view.get(self.state.sel)?;
        self.rows.get(i as usize)
    }

    fn refilter(&mut self, ctx: &Ctx) {
        let keep = self.selected().map(|r| r.id.clone());
        self.query = Query::parse(&self.filter);
        let Ok(q) = &self.query else {
            self.view.clear();
            return;
        };
        // Request fields keep the endpoints with a request that meets them.
        let mut pred = RequestPredicate::new(ctx, q);
        let mut view: Vec<u32> = Vec::new();
        for (i, r) in self.rows.iter().enumerate() {
            let shown = match self.show {
                Show::All => true,
                Show::Untested => !r.tested,
                Show::UntestedEligible => !r.tested && r.eligible,
                Show::ErrorsOnly => r.errors_only(),
                Show::Changed => r.mark.is_some(),
            };
            if !shown || q.match_text(&r.id, false) != TextMatch::Exact {
                continue;
            }
            if pred.is_active() {
                let reqs = r
                    .group
                    .and_then(|g| ctx.index.groups.get(g as usize))
                    .map(|g| g.requests.as_slice())
                    .unwrap_or(&[]);
                if !reqs.iter().any(|&x| pred.matches(ctx, x)) {
                    continue;
                }
            }
            view.push(i as u32);
        }
        if self.sort == EpSort::Latency {
            for &i in &view {
                self.measure(ctx, i as usize);
            }
        }
        let rows = &self.rows;
        match self.sort {
            EpSort::Name => {}
            EpSort::Hits => view.sort_by_key(|&i| std::cmp::Reverse(rows[i as usize].hits)),
            EpSort::Tests => view.sort_by_key(|&i| std::cmp::Reverse(rows[i as usize].tests)),
            EpSort::Latency => view.sort_by_key(|&i| std::cmp::Reverse(rows[i as usize].p99)),
        }
        self.view = view;
        if let Some(id) = keep
            && let Some(pos) = self
                .view
                .iter()
                .position(|&i| self.rows[i as usize].id == id)
        {
            self.state.sel = pos;
        }
        self.state.clamp(self.view.len());
    }

    /// Why an untested endpoint is untested: what came closest.
    pub fn why_untested(&self, ctx: &Ctx, row: &EndpointRow) -> Vec<String> {
        let mut out = Vec::new();
        if row.hits == 0 {
            out.push("no request of the run reached it".into());
        }
        let ua = row.hits - row.window_hits - row.none_hits;
        if row.window_hits > 0 && ua == 0 {
            out.push(format!(
                "{} by time window only (controllers or others during a test; not counted)",
                plural(row.window_hits as usize, "request")
            ));
        }
        if row.none_hits > 0 {
            out.push(format!(
                "{} from clients without a spec name",
                plural(row.none_hits as usize, "request")
            ));
        }
        if row.errors_only() {
            out.push(format!(
                "every hit answered with an error ({} of {})",
                row.error_hits, row.hits
            ));
        }
        // The same resource's other verbs that were tested.
        let base = |p: &str| p.trim_end_matches("/{name}").to_string();
        let mine = base(&row.path);
        let siblings: Vec<&str> = self
            .rows
            .iter()
            .filter(|r| r.tested && r.id != row.id && base(&r.path) == mine)
            .map(|r| r.id.as_str())
            .collect();
        if !siblings.is_empty() {
            out.push(format!("same resource, tested: {}", siblings.join(", ")));
        }
        let _ = ctx;
        out
    }
}

impl Component for EndpointsView {
    fn handle(&mut self, ctx: &Ctx, action: Action) -> Outcome {
        if let Some(_changed) = self.apply_move(action) {
            return Outcome::Done;
        }
        match action {
            Action::CycleSort => {
                self.sort = match self.sort {
                    EpSort::Name => EpSort::Hits,
                    EpSort::Hits => EpSort::Tests,
                    EpSort::Tests => EpSort::Latency,
                    EpSort::Latency => EpSort::Name,
                };
                self.refilter(ctx);
                Outcome::Message(format!("endpoints sorted by {}", self.sort.name()))
            }
            Action::CycleShow => {
                self.show = self.show.next(ctx.baseline.is_some());
                self.refilter(ctx);
                Outcome::Message(format!("showing {} endpoints", self.show.name()))
            }
            Action::Open | Action::EndpointTests => match self.selected().and_then(|r| r.group) {
                Some(g) => Outcome::Jump(Jump::EndpointTests(g)),
                None => Outcome::Message("no request of the run reached this endpoint".into()),
            },
            Action::EndpointFrames => match self.selected().and_then(|r| r.group) {
                Some(g) => Outcome::Jump(Jump::EndpointFrames(g)),
                None => Outcome::Message("no request of the run reached this endpoint".into()),
            },
            Action::Escape if !self.filter.is_empty() => {
                self.set_filter(ctx, String::new());
                Outcome::Done
            }
            Action::NextMatch | Action::PrevMatch => {
                self.step_match(ctx, action == Action::NextMatch);
                Outcome::Done
            }
            _ => Outcome::Ignored,
        }
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, ctx: &Ctx, focused: bool) {
        let theme = ctx.theme;
        let [gauge_area, body, detail_area] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(3),
            Constraint::Length(if area.height >= 30 { 8 } else { 5 }),
        ])
        .areas(area);
        let ratio = if self.eligible_total == 0 {
            0.0
        } else {
            self.eligible_tested as f64 / self.eligible_total as f64
        };
        f.render_widget(
            Gauge::default()
                .gauge_style(theme.passed)
                .ratio(ratio.clamp(0.0, 1.0))
                .label(format!(
                    "conformance eligible: {}/{} tested by conformance tests ({:.1}%)",
                    self.eligible_tested,
                    self.eligible_total,
                    ratio * 100.0
                )),
            gauge_area,
        );
        let mut title = format!(
            "Endpoints {}/{} tested · {} {} listed by {}",
            self.tested,
            self.total,
            self.view.len(),
            self.show.name(),
            self.sort.name()
        );
        if let Some(d) = &ctx.baseline {
            let e = &d.endpoints;
            title.push_str(&format!(
                " · vs baseline: {} new, {} gone, +{} tested, {} LOST",
                e.added.len(),
                self.removed,
                e.newly_tested.len(),
                e.no_longer_tested.len()
            ));
        }
        let inner = pane_frame(f, body, ctx, &title, &self.filter, focused);
        self.page = inner.height as usize;
        let (start, end) = window(&mut self.state, self.view.len(), inner.height as usize);
        // The latency of the rows drawn and of the selected one (for the detail).
        let drawn: Vec<usize> = (start..end)
            .chain(std::iter::once(self.state.sel))
            .filter_map(|pos| self.view.get(pos).map(|&i| i as usize))
            .collect();
        for i in drawn {
            self.measure(ctx, i);
        }
        let empty = Query::default();
        let q = self.query.as_ref().unwrap_or(&empty);
        // Names first; the numbers in fixed columns at the right.
        let marks = ctx.baseline.is_some();
        // Narrow: names first; the conformance-test count and level (in the detail below)
        // make room for them.
        let wide = inner.width >= 100;
        let numbers = if wide { 46usize } else { 34 } + if marks { 7 } else { 0 };
        let name_w = (inner.width as usize).saturating_sub(numbers + 1).max(10);
        let mut lines = Vec::new();
        if start < end {
            let middle = if wide {
                format!(" {:>4} {:<6}", "conf", "level")
            } else {
                String::new()
            };
            lines.push(Line::styled(
                format!(
                    "{:<name_w$} {:>7} {:>5}{middle} {:>4} {:>6} {:>7}{}",
                    "operation",
                    "hits",
                    "tests",
                    "elig",
                    "tested",
                    "p99",
                    if marks { " vs old" } else { "" }
                ),
                theme.dim,
            ));
        }
        for pos in start..end.min(start + (inner.height as usize).saturating_sub(1)) {
            let Some(r) = self.view.get(pos).and_then(|&i| self.rows.get(i as usize)) else {
                continue;
            };
            let name: String = r.id.chars().take(name_w).collect();
            let pad = name_w.saturating_sub(name.chars().count());
            let mut spans = highlighted_query(
                &name,
                q,
                if r.tested { Style::new() } else { theme.failed },
                &theme,
            );
            spans.push(Span::raw(" ".repeat(pad)));
            let middle = if wide {
                format!(" {:>4} {:<6}", r.conf_tests, r.level)
            } else {
                String::new()
            };
            spans.push(Span::styled(
                format!(
                    " {:>7} {:>5}{middle} {:>4} {:>6} {:>7}",
                    r.hits,
                    r.tests,
                    if r.eligible { "yes" } else { "-" },
                    if r.conf_tested {
                        "conf"
                    } else if r.tested {
                        "yes"
                    } else {
                        "NO"
                    },
                    r.p99.map(ms_cell).unwrap_or_else(|| "-".into())
                ),
                theme.dim,
            ));
            if marks {
                let style = match r.mark {
                    Some(EndpointMark::NoLongerTested) => theme.failed,
                    Some(_) => theme.highlight,
                    None => theme.dim,
                };
                spans.push(Span::styled(format!(" {:>6}", mark_text(r.mark)), style));
            }
            let mut line = Line::from(spans);
            if pos == self.state.sel {
                line = line.patch_style(theme.selection(focused));
            }
            lines.push(line);
        }
        if self.view.is_empty() {
            lines.push(Line::styled(
                match &self.query {
                    Err(e) => format!("({e})"),
                    Ok(_) => "(no endpoint matches)".into(),
                },
                theme.dim,
            ));
        }
        f.render_widget(Paragraph::new(lines), inner);

        // The selected endpoint: its path, its tests, or why it is untested.
        let mut text = Vec::new();
        if let Some(r) = self.selected().cloned() {
            text.push(Line::from(vec![
                Span::styled(r.id.clone(), theme.title),
                Span::styled(
                    if r.level.is_empty() {
                        format!("  {}", r.path)
                    } else {
                        format!("  {} · {}", r.path, r.level)
                    },
                    theme.dim,
                ),
            ]));
            if let Some(m) = r.mark {
                text.push(Line::styled(
                    match m {
                        EndpointMark::Added => "vs baseline: new in this release's table",
                        EndpointMark::Removed => "vs baseline: not in this release's table",
                        EndpointMark::NewlyTested => "vs baseline: newly tested (untested before)",
                        EndpointMark::NoLongerTested => {
                            "vs baseline: LOST: tested in the baseline, untested now"
                        }
                    },
                    theme.highlight,
                ));
            }
            let latency = match (r.p99, r.long_running) {
                (Some(p), 0) => format!("; p99 latency {}", ms_cell(p)),
                (Some(p), n) => format!(
                    "; p99 latency {} ({} watches/streams left out)",
                    ms_cell(p),
                    n
                ),
                (None, n) if n > 0 => format!("; {n} watches/streams (no latency counted)"),
                _ => String::new(),
            };
            if r.tested {
                text.push(Line::raw(format!(
                    "tested by {} ({} conformance); {} hits, {} by window{latency}. Enter lists the tests and their requests.",
                    plural(r.tests, "test"),
                    r.conf_tests,
                    r.hits,
                    r.window_hits
                )));
            } else {
                text.push(Line::styled("why untested:", theme.failed));
                for why in self.why_untested(ctx, &r) {
                    text.push(Line::raw(format!("  · {why}")));
                }
            }
        }
        let block = crate::tui::widgets::pane_block("Endpoint", "", false, false, &theme);
        f.render_widget(
            Paragraph::new(text).block(block).wrap(Wrap { trim: false }),
            detail_area,
        );
        let _ = NONE;
    }
}

impl ListPane for EndpointsView {
    list_pane_state!(view);
    fn set_filter(&mut self, ctx: &Ctx, text: String) {
        self.filter = text;
        self.refilter(ctx);
    }
    fn row_matches(&self, _ctx: &Ctx, _pos: usize) -> bool {
        true
    }
}
