//! The Backtrace pane: the merged call tree of the selection.

use super::steps::{StepNode, StepTree};
use crate::analysis::NONE;
use crate::analysis::tree::{CallTree, KEY_FOLDED, KEY_TRUNCATED, TreeOptions};
use crate::fasthash::FxMap;
use crate::run::TraceId;
use crate::tui::component::{Component, ListPane, ListState, Outcome, list_pane_state};
use crate::tui::context::{Ctx, TestEntry};
use crate::tui::filter::{Query, TextMatch};
use crate::tui::keymap::Action;
use crate::tui::search::highlighted_query;
use crate::tui::widgets::{pane_frame, short_file, short_function, window};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

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

/// The Backtrace pane's state.
#[derive(Debug, Clone)]
pub struct BacktracePane {
    /// The merged call tree.
    pub tree: CallTree,
    /// Cursor in `tree.rows`.
    pub state: ListState,
    /// Orientation and folding of the tree.
    pub options: TreeOptions,
    /// What the tree is built from.
    pub source: BtSource,
    /// Requests behind the tree.
    pub requests: usize,
    /// The filter text.
    pub filter: String,
    /// Rows of the last draw.
    pub page: usize,
    /// When the selection has no backtraces: its spec → step → endpoint tree instead.
    pub steps: Option<StepTree>,
}

impl Default for BacktracePane {
    fn default() -> Self {
        BacktracePane {
            tree: CallTree::default(),
            state: ListState::default(),
            options: TreeOptions::default(),
            source: BtSource::None,
            requests: 0,
            filter: String::new(),
            page: 10,
            steps: None,
        }
    }
}

impl BacktracePane {
    /// The node under the cursor.
    pub fn selected_node(&self) -> Option<u32> {
        self.tree.rows.get(self.state.sel).map(|r| r.node)
    }

    /// The key (frame) of the node under the cursor.
    pub fn selected_key(&self) -> Option<u32> {
        self.selected_node()
            .and_then(|n| self.tree.nodes.get(n as usize))
            .map(|n| n.key)
    }

    /// Builds the tree of `reqs` for `src`.
    pub fn set_source(&mut self, ctx: &Ctx, src: BtSource, reqs: &[u32]) {
        let index = &ctx.index;
        let mut untraced = 0u64;
        let trace_of = |r: u32| index.req_trace.get(r as usize).copied().unwrap_or(NONE);
        let traces: Vec<(TraceId, u64)> = if reqs.len() < 4096 {
            let mut counts: FxMap<TraceId, u64> = FxMap::default();
            for &r in reqs {
                match trace_of(r) {
                    NONE => untraced += 1,
                    t => *counts.entry(t).or_default() += 1,
                }
            }
            let mut v: Vec<(TraceId, u64)> = counts.into_iter().collect();
            v.sort_unstable();
            v
        } else {
            // Large selections: dense counts over every trace of the run.
            let mut counts = vec![0u64; ctx.run.traces.len()];
            for &r in reqs {
                match trace_of(r) {
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
        self.tree = CallTree::build(&ctx.run, &traces, untraced, self.options);
        self.requests = reqs.len();
        self.source = src;
        self.state = ListState::default();
        // No backtrace at all: the steps the requests were made in say more than nothing.
        self.steps = if self.tree.rows.is_empty() && !reqs.is_empty() {
            Some(StepTree::build(ctx, reqs))
        } else {
            None
        };
        if !self.filter.is_empty() {
            self.refilter(ctx);
        }
    }

    /// The selected row of the steps tree in full: the spec's name, the step's text with its
    /// time and location, or the endpoint.
    pub fn steps_full_text(&self, ctx: &Ctx) -> Option<String> {
        let steps = self.steps.as_ref()?;
        let row = steps.row_at(self.state.sel)?;
        let text = steps.text(ctx, row);
        let place = steps.step_place(ctx, row);
        Some(match row.node {
            StepNode::Step(..) => format!("STEP: {text}  {place} · {} requests", row.count),
            _ => format!("{text} · {} requests", row.count),
        })
    }

    fn draw_steps(&mut self, f: &mut Frame, area: Rect, ctx: &Ctx, focused: bool) {
        let theme = ctx.theme;
        let Some(steps) = &self.steps else {
            return;
        };
        let title = format!(
            "Steps: {} req, {} steps · no backtraces: spec → step → endpoint",
            steps.requests, steps.steps
        );
        let inner = pane_frame(f, area, ctx, &title, &self.filter, focused);
        self.page = inner.height as usize;
        let height = inner.height as usize;
        let (start, end) = window(&mut self.state, steps.view.len(), height);
        let q = Query::parse(&self.filter).unwrap_or_default();
        let mut lines = Vec::with_capacity(end - start + 1);
        for pos in start..end {
            let Some(row) = steps.row_at(pos) else {
                continue;
            };
            let indent = "  ".repeat(row.depth as usize);
            let text = steps.text(ctx, row);
            let base = match row.node {
                StepNode::Spec(_) => theme.title,
                StepNode::Outside(_) => theme.dim,
                StepNode::Step(..) if row.count == 0 => theme.dim,
                _ => Style::new(),
            };
            let mut spans = vec![
                Span::styled(format!("{:>6} ", row.count), theme.dim),
                Span::raw(indent),
            ];
            if let StepNode::Step(..) = row.node {
                spans.push(Span::styled("STEP ", theme.marker));
            }
            spans.extend(highlighted_query(text, &q, base, &theme));
            let place = steps.step_place(ctx, row);
            if !place.is_empty() {
                spans.push(Span::styled(format!("  {place}"), theme.dim));
            }
            let mut line = Line::from(spans);
            if pos == self.state.sel {
                line = line.patch_style(theme.selection(focused));
            }
            lines.push(line);
        }
        if steps.view.is_empty() {
            lines.push(Line::styled("(no match)", theme.dim));
        } else if steps.no_endpoints && lines.len() < height {
            lines.push(Line::styled(
                "  (endpoints per step: select one test)",
                theme.dim,
            ));
        }
        f.render_widget(Paragraph::new(lines), inner);
    }

    /// Puts the cursor on node `keep` if it is shown.
    pub fn restore_cursor(&mut self, keep: Option<u32>) {
        if let Some(n) = keep
            && let Some(pos) = self.tree.row_of(n)
        {
            self.state.sel = pos;
        }
        self.state.clamp(self.tree.rows.len());
    }

    /// Opens the way to the node with frame `key` and puts the cursor on it.
    pub fn reveal_key(&mut self, key: u32) {
        if let Some(n) = self.tree.nodes.iter().position(|n| n.key == key) {
            self.tree.reveal(n as u32);
            self.restore_cursor(Some(n as u32));
        }
    }

    fn refilter(&mut self, ctx: &Ctx) {
        if let Some(steps) = &mut self.steps {
            steps.refilter(ctx, &self.filter);
            self.state.clamp(steps.view.len());
            return;
        }
        let keep = self.selected_node();
        if self.filter.is_empty() {
            self.tree.set_filter(None);
        } else {
            // Text only (fields are about requests and tests); a bad query matches nothing.
            let q = Query::parse(&self.filter).ok();
            let mut cache: FxMap<u32, bool> = FxMap::default();
            let matched: Vec<bool> = self
                .tree
                .nodes
                .iter()
                .map(|n| {
                    *cache.entry(n.key).or_insert_with(|| {
                        q.as_ref().is_some_and(|q| {
                            q.match_text(short_function(ctx.node_text(n.key)), false)
                                == TextMatch::Exact
                        })
                    })
                })
                .collect();
            self.tree.set_filter(Some(matched));
        }
        self.restore_cursor(keep);
    }

    /// The backtrace in view as text: `verb requestURI`, then each frame's function
    /// indented 4 spaces and `file:line` indented 8. For a merged tree, the trace of the
    /// first request (in scope) through the node under the cursor.
    pub fn text(&self, ctx: &Ctx, in_scope: impl Fn(u32) -> bool) -> Option<(u32, String)> {
        let run = &ctx.run;
        let (req, trace) = match self.source {
            BtSource::Request(r) => (r, *ctx.index.req_trace.get(r as usize)?),
            BtSource::None => return None,
            _ => {
                let node = self.selected_node()?;
                let t = self.tree.nodes.get(node as usize)?.sample_trace;
                let reqs = ctx.index.trace_requests.get(t as usize)?;
                let r = *reqs.iter().find(|&&r| in_scope(r)).or(reqs.first())?;
                (r, t)
            }
        };
        let request = run.requests.get(req as usize)?;
        let trace = run.traces.get(trace as usize)?;
        let mut out = format!("{} {}\n", run.str(request.verb), run.str(request.uri));
        let caller_first = self.options.caller_first;
        let frames: Vec<u32> = if caller_first {
            trace.frames.iter().rev().copied().collect()
        } else {
            trace.frames.clone()
        };
        if trace.truncated && caller_first {
            out.push_str("    [truncated: outer frames missing]\n");
        }
        for f in frames {
            if let Some(fr) = run.frames.get(f as usize) {
                out.push_str(&format!(
                    "    {}\n        {}:{}\n",
                    run.str(fr.function),
                    run.str(fr.file),
                    fr.line
                ));
            }
        }
        if trace.truncated && !caller_first {
            out.push_str("    [truncated: outer frames missing]\n");
        }
        Some((req, out))
    }
}

impl Component for BacktracePane {
    fn handle(&mut self, _ctx: &Ctx, action: Action) -> Outcome {
        if let Some(steps) = &self.steps {
            return match action {
                Action::Collapse => {
                    if let Some(p) = steps.parent_of(self.state.sel) {
                        self.state.sel = p;
                    }
                    Outcome::Done
                }
                Action::Open | Action::Expand | Action::ExpandSubtree => Outcome::Done,
                Action::ExpandAll | Action::CollapseAll => Outcome::Done,
                _ => Outcome::Ignored,
            };
        }
        let Some(n) = self.selected_node() else {
            return match action {
                Action::Open | Action::Expand | Action::Collapse => Outcome::Done,
                _ => Outcome::Ignored,
            };
        };
        match action {
            Action::Open => {
                let open = self.tree.expanded.get(n as usize).copied().unwrap_or(false);
                self.tree.set_expanded(n, !open);
                self.restore_cursor(Some(n));
            }
            Action::Expand => {
                self.tree.set_expanded(n, true);
                self.restore_cursor(Some(n));
            }
            Action::Collapse => {
                if self.tree.has_children(n) && self.tree.is_open(n) && self.filter.is_empty() {
                    self.tree.set_expanded(n, false);
                    self.restore_cursor(Some(n));
                } else {
                    // Already closed: go to the parent.
                    let parent = self
                        .tree
                        .nodes
                        .get(n as usize)
                        .map(|x| x.parent)
                        .unwrap_or(n);
                    self.restore_cursor(Some(parent));
                }
            }
            Action::ExpandSubtree => self.tree.expand_subtree(n),
            Action::ExpandAll => {
                self.tree.set_all(true);
                self.restore_cursor(Some(n));
            }
            Action::CollapseAll => {
                let keep = self.tree.path_to(n)[0];
                self.tree.set_all(false);
                self.restore_cursor(Some(keep));
            }
            _ => return Outcome::Ignored,
        }
        Outcome::Done
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, ctx: &Ctx, focused: bool) {
        if self.steps.is_some() {
            self.draw_steps(f, area, ctx, focused);
            return;
        }
        let theme = ctx.theme;
        let what = match &self.source {
            BtSource::None => "nothing selected".to_string(),
            BtSource::Request(r) => {
                let req = &ctx.run.requests[*r as usize];
                format!("{} {}", ctx.run.str(req.verb), ctx.run.str(req.uri))
            }
            BtSource::Group(_, g) => format!("{} ({} req)", ctx.group_label(*g), self.requests),
            BtSource::Test(_) => format!("{} req, {} traces", self.requests, self.tree.traces),
        };
        let orient = if self.options.caller_first {
            "caller-first"
        } else {
            "callee-first"
        };
        let fold = if self.options.fold { ", folded" } else { "" };
        let title = format!("Backtrace: {what} · {orient}{fold}");
        let inner = pane_frame(f, area, ctx, &title, &self.filter, focused);
        self.page = inner.height as usize;
        let height = inner.height as usize;
        let (start, end) = window(&mut self.state, self.tree.rows.len(), height);
        let q = Query::parse(&self.filter).unwrap_or_default();
        let mut lines = Vec::with_capacity(end - start + 1);
        for pos in start..end {
            let Some(row) = self.tree.rows.get(pos).copied() else {
                continue;
            };
            let node = &self.tree.nodes[row.node as usize];
            let glyph = if node.child_len == 0 {
                " "
            } else if self.tree.is_open(row.node) {
                "▾"
            } else {
                "▸"
            };
            let indent = " ".repeat(row.depth as usize);
            let mut spans = vec![
                Span::styled(format!("{:>6} ", node.count), theme.dim),
                Span::raw(format!("{indent}{glyph} ")),
            ];
            match node.key {
                KEY_FOLDED | KEY_TRUNCATED => {
                    spans.push(Span::styled(
                        ctx.node_text(node.key).to_string(),
                        theme.marker,
                    ));
                }
                key => {
                    spans.extend(highlighted_query(
                        short_function(ctx.node_text(key)),
                        &q,
                        Style::new(),
                        &theme,
                    ));
                    if let Some(fr) = ctx.run.frames.get(key as usize) {
                        spans.push(Span::styled(
                            format!("  {}:{}", short_file(ctx.run.str(fr.file)), fr.line),
                            theme.dim,
                        ));
                    }
                }
            }
            let mut line = Line::from(spans);
            if pos == self.state.sel {
                line = line.patch_style(theme.selection(focused));
            }
            lines.push(line);
        }
        if self.tree.rows.is_empty() {
            let msg = match self.source {
                BtSource::None => "(select a test or request)",
                _ if !self.filter.is_empty() => "(no match)",
                _ => "(no backtrace: these requests carry no stacktrace in their user agent)",
            };
            lines.push(Line::styled(msg, theme.dim));
        } else if self.tree.untraced > 0 && lines.len() < height {
            lines.push(Line::styled(
                format!("  + {} requests without a backtrace", self.tree.untraced),
                theme.dim,
            ));
        }
        f.render_widget(Paragraph::new(lines), inner);
    }
}

impl ListPane for BacktracePane {
    fn len(&self) -> usize {
        match &self.steps {
            Some(s) => s.view.len(),
            None => self.tree.rows.len(),
        }
    }
    list_pane_state!();
    fn set_filter(&mut self, ctx: &Ctx, text: String) {
        self.filter = text;
        self.refilter(ctx);
    }
    fn row_matches(&self, ctx: &Ctx, pos: usize) -> bool {
        if let Some(steps) = &self.steps {
            return steps.matches(ctx, &self.filter, pos);
        }
        self.filter.is_empty()
            || self.tree.rows.get(pos).is_some_and(|r| {
                self.tree
                    .matched
                    .as_ref()
                    .is_some_and(|mm| mm.get(r.node as usize).copied().unwrap_or(false))
            })
    }
}
