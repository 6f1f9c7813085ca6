//! The Requests pane: the selected test's requests grouped by endpoint.

use super::text_matches::TextMatches;
use crate::analysis::{NONE, RunIndex};
use crate::fasthash::FxMap;
use crate::run::Attribution;
use crate::run::Micros;
use crate::tui::component::{Component, ListPane, ListState, Outcome, list_pane_state};
use crate::tui::context::Ctx;
use crate::tui::context::p99_max;
use crate::tui::filter::{Query, QueryError, RequestPredicate, TextMatch};
use crate::tui::keymap::Action;
use crate::tui::search::highlighted_query;
use crate::tui::widgets::{pane_frame, window};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use std::collections::HashSet;

/// Requests shown per page of an expanded group: bigger groups are cut (with a note) so
/// a 100k-request group does not make 100k rows.
pub const GROUP_ROWS_LIMIT: usize = 5000;

/// One endpoint group of the selected test: its requests are
/// `group_reqs[start..start + len]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupSlice {
    /// The endpoint group ([`crate::analysis::RunIndex::groups`]).
    pub group: u32,
    /// First position in [`RequestsPane::group_reqs`].
    pub start: u32,
    /// How many requests.
    pub len: u32,
}

impl GroupSlice {
    /// The range in [`RequestsPane::group_reqs`].
    pub fn range(&self) -> std::ops::Range<usize> {
        self.start as usize..(self.start + self.len) as usize
    }
}

/// A row of the Requests pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReqRow {
    /// An endpoint group with its request count.
    Group {
        /// The group ([`crate::analysis::RunIndex::groups`]).
        group: u32,
        /// Requests of the selected test in it.
        count: u32,
    },
    /// One request of an open group.
    Request {
        /// The request ([`crate::run::Run::requests`]).
        req: u32,
        /// Its group.
        group: u32,
    },
}

/// How the Requests pane orders endpoint groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReqSort {
    /// Most requests first.
    #[default]
    Count,
    /// Slowest p99 latency first (watches and streams left out); requests in a group slowest
    /// first.
    Latency,
}

/// A latency in microseconds as a short cell: `4.2ms`, `123ms`, `1.5s`.
pub fn ms_cell(us: Micros) -> String {
    let ms = us as f64 / 1000.0;
    if ms < 10.0 {
        format!("{ms:.1}ms")
    } else if ms < 1000.0 {
        format!("{ms:.0}ms")
    } else {
        format!("{:.1}s", ms / 1000.0)
    }
}

/// The Requests pane's state.
#[derive(Debug, Clone, Default)]
pub struct RequestsPane {
    /// The order of the groups.
    pub sort: ReqSort,
    /// Each listed group's p99 latency, computed when first drawn or sorted on.
    pub p99: FxMap<u32, Option<Micros>>,
    /// Requests of the selected test, grouped: sorted by count.
    pub groups: Vec<GroupSlice>,
    /// The requests of every group in `groups`, group after group.
    pub group_reqs: Vec<u32>,
    /// Endpoint groups opened.
    pub expanded: HashSet<u32>,
    /// Rows (groups, and the requests of open groups).
    pub rows: Vec<ReqRow>,
    /// Indexes into `rows` that pass the filter.
    pub view: Vec<u32>,
    /// Selection in `view`.
    pub state: ListState,
    /// The filter text.
    pub filter: String,
    /// Rows of the last draw.
    pub page: usize,
    /// True when a test entry is selected.
    pub has_test: bool,
    /// The selected test's requests before the filter, in time order.
    pub all: Vec<u32>,
    /// Requests attributed by time window are left out.
    pub hide_window: bool,
    /// Requests attributed by time window per group (parallel to `groups`).
    pub window_counts: Vec<u32>,
    /// The parsed filter, or why it does not parse.
    pub query: Option<Result<Query, QueryError>>,
    /// What the filter's text matched so far (kept while the filter text stays).
    text_matches: TextMatches,
}

/// The requests of `reqs` grouped by endpoint, groups in id order, each group's requests in
/// the order of `reqs` (requests of no group left out): a counting sort, O(requests + groups)
/// with two allocations however many groups.
fn group_many(index: &RunIndex, reqs: &[u32]) -> (Vec<GroupSlice>, Vec<u32>) {
    let n_groups = index.groups.len();
    let mut sizes = vec![0u32; n_groups];
    for &r in reqs {
        if let Some(c) = index
            .req_group
            .get(r as usize)
            .and_then(|&g| sizes.get_mut(g as usize))
        {
            *c += 1;
        }
    }
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
    for &r in reqs {
        let g = index.req_group.get(r as usize).copied().unwrap_or(NONE);
        if let Some(pos) = start.get_mut(g as usize)
            && let Some(slot) = flat.get_mut(*pos as usize)
        {
            *slot = r;
            *pos += 1;
        }
    }
    (groups, flat)
}

/// [`group_many`] for a list much shorter than the run's groups (a test's few thousand
/// requests among hundreds of thousands of `verb path` groups of a large run): a stable sort
/// of the list by group, O(requests log requests), where the counting sort would clear two
/// arrays of every group at each selection.
fn group_few(index: &RunIndex, reqs: &[u32]) -> (Vec<GroupSlice>, Vec<u32>) {
    let n_groups = index.groups.len() as u32;
    let mut pairs: Vec<(u32, u32)> = reqs
        .iter()
        .filter_map(|&r| {
            let g = index.req_group.get(r as usize).copied()?;
            (g < n_groups).then_some((g, r))
        })
        .collect();
    pairs.sort_by_key(|&(g, _)| g);
    let mut groups: Vec<GroupSlice> = Vec::new();
    for (at, &(g, _)) in pairs.iter().enumerate() {
        match groups.last_mut() {
            Some(last) if last.group == g => last.len += 1,
            _ => groups.push(GroupSlice {
                group: g,
                start: at as u32,
                len: 1,
            }),
        }
    }
    (groups, pairs.into_iter().map(|(_, r)| r).collect())
}

/// `1 request`, `2 requests`.
pub fn plural(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// `HH:MM:SS.mmm` of a time in microseconds (UTC).
fn clock(t: i64) -> String {
    chrono::DateTime::from_timestamp_micros(t)
        .map(|d| d.format("%H:%M:%S%.3f").to_string())
        .unwrap_or_else(|| "--:--:--.---".into())
}

impl RequestsPane {
    /// The selected row.
    pub fn selected(&self) -> Option<ReqRow> {
        let i = *self.view.get(self.state.sel)?;
        self.rows.get(i as usize).copied()
    }

    /// The requests of group `g` (empty when the test has none).
    pub fn requests_of_group(&self, g: u32) -> &[u32] {
        self.groups
            .iter()
            .find(|gs| gs.group == g)
            .and_then(|gs| self.group_reqs.get(gs.range()))
            .unwrap_or(&[])
    }

    /// Empties the pane (no test selected).
    pub fn clear(&mut self) {
        self.all.clear();
        self.window_counts.clear();
        self.groups.clear();
        self.group_reqs.clear();
        self.rows.clear();
        self.view.clear();
        self.has_test = false;
    }

    /// Shows `reqs` (a test's requests, in time order): closes every group and selects the
    /// first row.
    pub fn load(&mut self, ctx: &Ctx, reqs: Vec<u32>) {
        self.all = reqs;
        self.has_test = true;
        self.expanded.clear();
        self.state = ListState::default();
        self.regroup(ctx);
    }

    /// The requests that pass the filter and the window switch.
    fn passing(&mut self, ctx: &Ctx) -> Vec<u32> {
        let query = match Query::parse(&self.filter) {
            Ok(q) => q,
            Err(e) => {
                self.query = Some(Err(e));
                return Vec::new();
            }
        };
        let mut pred = RequestPredicate::new(ctx, &query);
        let index = &ctx.index;
        // The window switch and the request fields first (the fields read the request
        // structs, so only when asked).
        let kept: std::borrow::Cow<[u32]> = if self.hide_window || pred.is_active() {
            let hide = self.hide_window;
            self.all
                .iter()
                .copied()
                .filter(|&r| !(hide && index.is_window(r)) && pred.matches(ctx, r))
                .collect::<Vec<u32>>()
                .into()
        } else {
            self.all.as_slice().into()
        };
        let out = if query.has_text() {
            self.text_matches.passing(ctx, &self.filter, &query, &kept)
        } else {
            kept.into_owned()
        };
        self.query = Some(Ok(query));
        out
    }

    /// Groups the passing requests by endpoint, keeping the selection where it can.
    fn regroup(&mut self, ctx: &Ctx) {
        let keep = self.selected();
        let reqs = if self.filter.is_empty() && !self.hide_window {
            self.query = None;
            std::mem::take(&mut self.all)
        } else {
            self.passing(ctx)
        };
        self.group(ctx, &reqs);
        if self.filter.is_empty() && !self.hide_window {
            self.all = reqs;
        }
        self.rebuild_rows(ctx, keep);
    }

    fn group(&mut self, ctx: &Ctx, reqs: &[u32]) {
        let index = &ctx.index;
        let (mut groups, flat) = if reqs.len() < index.groups.len() / 8 {
            group_few(index, reqs)
        } else {
            group_many(index, reqs)
        };
        // Most requests first; ties by label, except for huge lists (every request of a
        // large run) where group order keeps the sort to integers.
        if groups.len() <= 5000 {
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
        // Every request of the run (the whole-run entry): the index counted them already.
        let whole =
            reqs.len() == ctx.run.requests.len() && index.group_window.len() == index.groups.len();
        self.window_counts = groups
            .iter()
            .map(|gs| {
                if whole {
                    return index
                        .group_window
                        .get(gs.group as usize)
                        .copied()
                        .unwrap_or(0);
                }
                flat.get(gs.range())
                    .unwrap_or(&[])
                    .iter()
                    .filter(|&&r| ctx.index.is_window(r))
                    .count() as u32
            })
            .collect();
        self.groups = groups;
        self.group_reqs = flat;
        self.p99.clear();
        if self.sort == ReqSort::Latency {
            self.sort_by_latency(ctx);
        }
    }

    /// The p99 latency of a listed group (cached until the groups change).
    pub fn group_p99(&mut self, ctx: &Ctx, group: u32) -> Option<Micros> {
        if let Some(&p) = self.p99.get(&group) {
            return p;
        }
        let p = p99_max(&ctx.latency, self.requests_of_group(group)).map(|(p99, _, _)| p99);
        self.p99.insert(group, p);
        p
    }

    /// Orders the groups slowest p99 first (groups without a measured latency last, by
    /// count), and each group's requests slowest first.
    fn sort_by_latency(&mut self, ctx: &Ctx) {
        let lat = |r: u32| ctx.latency.get(r as usize).copied().unwrap_or(-2);
        for gs in &self.groups {
            if let Some(slice) = self.group_reqs.get_mut(gs.range()) {
                slice.sort_by_key(|&r| std::cmp::Reverse(lat(r)));
            }
        }
        let groups: Vec<u32> = self.groups.iter().map(|g| g.group).collect();
        for g in groups {
            self.group_p99(ctx, g);
        }
        let p99 = &self.p99;
        self.groups.sort_by_key(|gs| {
            (
                std::cmp::Reverse(p99.get(&gs.group).copied().flatten()),
                std::cmp::Reverse(gs.len),
            )
        });
        // window_counts is parallel to groups: recount in the new order.
        self.window_counts = self
            .groups
            .iter()
            .map(|gs| {
                self.group_reqs
                    .get(gs.range())
                    .unwrap_or(&[])
                    .iter()
                    .filter(|&&r| ctx.index.is_window(r))
                    .count() as u32
            })
            .collect();
    }

    /// Rebuilds the rows after a group opened or closed, keeping `keep` (or the selection).
    pub fn rebuild_rows(&mut self, ctx: &Ctx, keep: Option<ReqRow>) {
        let keep = keep.or_else(|| self.selected());
        self.rows.clear();
        for gs in &self.groups {
            self.rows.push(ReqRow::Group {
                group: gs.group,
                count: gs.len,
            });
            if self.expanded.contains(&gs.group) {
                let reqs = self.group_reqs.get(gs.range()).unwrap_or(&[]);
                for &r in reqs.iter().take(GROUP_ROWS_LIMIT) {
                    self.rows.push(ReqRow::Request {
                        req: r,
                        group: gs.group,
                    });
                }
            }
        }
        self.refilter(ctx);
        if let Some(k) = keep
            && let Some(pos) = self.view.iter().position(|&i| self.rows[i as usize] == k)
        {
            self.state.sel = pos;
        }
        self.state.clamp(self.view.len());
    }

    /// The text a row is matched on.
    pub fn row_text<'a>(&self, ctx: &'a Ctx, row: ReqRow) -> &'a str {
        match row {
            ReqRow::Group { group, .. } => ctx.group_label(group),
            ReqRow::Request { req, .. } => ctx
                .run
                .requests
                .get(req as usize)
                .map(|r| ctx.run.str(r.uri))
                .unwrap_or(""),
        }
    }

    fn refilter(&mut self, _ctx: &Ctx) {
        // The filter applies to requests before grouping: every row is listed.
        self.view = (0..self.rows.len() as u32).collect();
        self.state.clamp(self.view.len());
    }

    /// Shows or hides the requests attributed by time window.
    pub fn set_hide_window(&mut self, ctx: &Ctx, hide: bool) {
        self.hide_window = hide;
        self.regroup(ctx);
    }

    fn toggle(&mut self, ctx: &Ctx, group: u32) {
        if !self.expanded.remove(&group) {
            self.expanded.insert(group);
        }
        self.rebuild_rows(ctx, None);
    }
}

impl Component for RequestsPane {
    fn handle(&mut self, ctx: &Ctx, action: Action) -> Outcome {
        if action == Action::CycleSort {
            self.sort = match self.sort {
                ReqSort::Count => ReqSort::Latency,
                ReqSort::Latency => ReqSort::Count,
            };
            let keep = self.selected();
            self.regroup(ctx);
            self.rebuild_rows(ctx, keep);
            return Outcome::Message(match self.sort {
                ReqSort::Count => "endpoints sorted by request count".into(),
                ReqSort::Latency => {
                    "endpoints sorted by p99 latency, slowest first (watches and streams left out)"
                        .into()
                }
            });
        }
        let Some(row) = self.selected() else {
            return Outcome::Ignored;
        };
        match (action, row) {
            (Action::Open, ReqRow::Group { group, .. }) => {
                self.toggle(ctx, group);
                Outcome::Done
            }
            (Action::Expand, ReqRow::Group { group, .. }) => {
                self.expanded.insert(group);
                self.rebuild_rows(ctx, Some(row));
                Outcome::Done
            }
            (Action::Collapse, ReqRow::Group { group, .. }) => {
                self.expanded.remove(&group);
                self.rebuild_rows(ctx, Some(row));
                Outcome::Done
            }
            (Action::Collapse, ReqRow::Request { group, .. }) => {
                self.expanded.remove(&group);
                let count = self.requests_of_group(group).len() as u32;
                self.rebuild_rows(ctx, Some(ReqRow::Group { group, count }));
                Outcome::Selected
            }
            _ => Outcome::Ignored,
        }
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, ctx: &Ctx, focused: bool) {
        let theme = ctx.theme;
        let total = self.group_reqs.len();
        let windowed: u32 = self.window_counts.iter().sum();
        let mut title = format!(
            "Requests ({total} in {}",
            plural(self.groups.len(), "endpoint")
        );
        if self.sort == ReqSort::Latency {
            title.push_str(", by p99");
        }
        if self.hide_window {
            title.push_str(") · window hidden");
        } else if windowed > 0 {
            title.push_str(&format!(") · {windowed} by window"));
        } else {
            title.push(')');
        }
        let inner = pane_frame(f, area, ctx, &title, &self.filter, focused);
        self.page = inner.height as usize;
        let height = inner.height as usize;
        let (start, end) = window(&mut self.state, self.view.len(), height);
        // The p99 of the groups in view, computed before the rows borrow the pane.
        for pos in start..end {
            if let Some(ReqRow::Group { group, .. }) = self
                .view
                .get(pos)
                .and_then(|&i| self.rows.get(i as usize))
                .copied()
            {
                self.group_p99(ctx, group);
            }
        }
        let empty = Query::default();
        let q = match &self.query {
            Some(Ok(q)) => q,
            _ => &empty,
        };
        let run = &ctx.run;
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
            let mut line = match row {
                ReqRow::Group { group, count } => {
                    let open = self.expanded.contains(&group);
                    let op = ctx
                        .index
                        .groups
                        .get(group as usize)
                        .and_then(|g| g.op)
                        .is_some();
                    // The group's p99 latency in a fixed column (help says which).
                    let p99 = self
                        .p99
                        .get(&group)
                        .copied()
                        .flatten()
                        .map(ms_cell)
                        .unwrap_or_else(|| "-".into());
                    let mut spans = vec![
                        Span::raw(format!("{} {count:>6} ", if open { "▾" } else { "▸" })),
                        Span::styled(format!("{p99:>6}  "), theme.dim),
                    ];
                    let win = self
                        .groups
                        .iter()
                        .position(|gs| gs.group == group)
                        .and_then(|i| self.window_counts.get(i))
                        .copied()
                        .unwrap_or(0);
                    spans.extend(highlighted_query(
                        ctx.group_label(group),
                        q,
                        if op { Style::new() } else { theme.dim },
                        &theme,
                    ));
                    if win > 0 {
                        let what = if win == count {
                            "  all by window".to_string()
                        } else {
                            format!("  {win} by window")
                        };
                        spans.push(Span::styled(what, theme.dim));
                    }
                    if open && count as usize > GROUP_ROWS_LIMIT {
                        spans.push(Span::styled(
                            format!("  (first {GROUP_ROWS_LIMIT} shown)"),
                            theme.dim,
                        ));
                    }
                    Line::from(spans)
                }
                ReqRow::Request { req, .. } => {
                    let r = &run.requests[req as usize];
                    let user = run
                        .users
                        .get(r.user as usize)
                        .map(|u| run.str(u.name))
                        .unwrap_or("");
                    let code_style = if r.code >= 400 {
                        theme.failed
                    } else {
                        theme.dim
                    };
                    // Requests of others during the test (time window) are dimmed.
                    let base = if r.attribution == Attribution::Window {
                        theme.dim
                    } else {
                        Style::new()
                    };
                    let mut spans = vec![
                        Span::styled(format!("    {} ", clock(r.received)), theme.dim),
                        Span::styled(format!("{} ", run.str(r.verb)), base),
                    ];
                    spans.extend(highlighted_query(run.str(r.uri), q, base, &theme));
                    spans.push(Span::styled(format!(" {}", r.code), code_style));
                    spans.push(Span::styled(
                        format!(
                            " {user} {} {}",
                            ctx.latency_cell(req),
                            r.attribution.as_str()
                        ),
                        theme.dim,
                    ));
                    Line::from(spans)
                }
            };
            if pos == self.state.sel {
                line = line.patch_style(theme.selection(focused));
            }
            lines.push(line);
        }
        if self.view.is_empty() {
            let msg = if let Some(Err(e)) = &self.query {
                format!("({e})")
            } else if !self.filter.is_empty() {
                "(no match)".into()
            } else if !self.has_test {
                "(no test selected)".into()
            } else if self.hide_window && !self.all.is_empty() {
                "(only requests by time window: w shows them)".into()
            } else if ctx.no_request_tied() {
                NO_REQUEST_TIED.into()
            } else {
                "(no requests)".into()
            };
            for part in msg.split('\n') {
                lines.push(Line::styled(part.to_string(), theme.dim));
            }
        }
        f.render_widget(Paragraph::new(lines), inner);
    }
}

/// Said instead of "(no requests)" when the run has requests but none is tied to any test (an
/// audit log and an e2e log of different runs, or a folder of unrelated samples): every test
/// is empty, and only `a` shows anything.
/// Two short lines, so narrow panes show it whole.
const NO_REQUEST_TIED: &str = "(no test has requests:\n a shows all of them)";

impl ListPane for RequestsPane {
    list_pane_state!(view);
    fn set_filter(&mut self, ctx: &Ctx, text: String) {
        self.filter = text;
        self.regroup(ctx);
        // On a large run the whole run is matched on a thread meanwhile, for `a`.
        if let Some(Ok(query)) = &self.query
            && query.has_text()
        {
            self.text_matches.ahead(ctx, &self.filter, query);
        }
    }
    fn row_matches(&self, ctx: &Ctx, pos: usize) -> bool {
        let Some(Ok(q)) = &self.query else {
            return true;
        };
        self.view.get(pos).is_some_and(|&i| {
            q.match_text(self.row_text(ctx, self.rows[i as usize]), false) == TextMatch::Exact
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::App;
    use crate::tui::testing::{big_run, sample_run};

    /// Grouping by sort (a short list) and by counting (a long one) give the same groups, in
    /// the same order, with each group's requests in the list's order.
    #[test]
    fn grouping_few_and_many_agree() {
        for run in [sample_run(), big_run(50_000, 20)] {
            let app = App::for_test(run, true);
            let index = &app.ctx.index;
            let n = app.ctx.run.requests.len() as u32;
            let lists: Vec<Vec<u32>> = vec![
                (0..n).collect(),
                (0..n).step_by(13).collect(),
                (0..n).rev().step_by(7).collect(),
                index
                    .spec_requests
                    .iter()
                    .flatten()
                    .copied()
                    .take(300)
                    .collect(),
                Vec::new(),
            ];
            for list in lists {
                let few = group_few(index, &list);
                assert_eq!(few, group_many(index, &list), "{} requests", list.len());
                let grouped: usize = few.0.iter().map(|g| g.len as usize).sum();
                assert_eq!(grouped, few.1.len());
            }
        }
    }
}
