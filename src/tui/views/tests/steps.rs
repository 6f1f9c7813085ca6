//! What the third pane shows when the selection carries no backtraces (every modern run: the
//! client-go stacktrace patch was never merged): **spec → step → endpoint** with request
//! counts. Steps are the spec's ginkgo `STEP:` lines; a request goes into the step during
//! which it was received ([`crate::run::Run::step_of`], as `report steps` counts), the rest
//! into "(outside steps)".

use crate::analysis::NONE;
use crate::fasthash::FxMap;
use crate::run::{Attribution, NO_TIME, SpecId};
use crate::tui::context::Ctx;
use crate::tui::filter::{Query, TextMatch};

/// Above this many requests the endpoints under each step are left out (spec → step only):
/// the counts stay O(requests) with dense arrays, and a key stays fast on 900k requests.
pub const ENDPOINTS_BELOW: usize = 200_000;

/// What a row stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepNode {
    /// A spec (`None`: requests of no test, or ambiguous ones).
    Spec(Option<SpecId>),
    /// One of the spec's steps (index into [`crate::run::Spec::steps`]).
    Step(SpecId, usize),
    /// The spec's requests received before its first step (or of a spec without steps).
    Outside(Option<SpecId>),
    /// An endpoint group ([`crate::analysis::RunIndex::groups`]).
    Endpoint(u32),
}

/// One row of the tree, all levels open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepRow {
    /// 0 spec, 1 step, 2 endpoint.
    pub depth: u8,
    /// What it is.
    pub node: StepNode,
    /// Requests under it.
    pub count: u64,
}

/// The spec → step → endpoint tree of a selection.
#[derive(Debug, Clone, Default)]
pub struct StepTree {
    /// Every row, parents before children.
    pub rows: Vec<StepRow>,
    /// Indexes into `rows` listed (after the filter).
    pub view: Vec<u32>,
    /// Requests behind the tree.
    pub requests: usize,
    /// Steps of the specs listed.
    pub steps: usize,
    /// True when the endpoints under each step were left out ([`ENDPOINTS_BELOW`]).
    pub no_endpoints: bool,
}

/// Per spec (in order of its first request): per step slot, per endpoint group, a count.
struct Acc {
    spec: Option<SpecId>,
    /// Slot `k` is step `k`; the last slot is "outside steps".
    slots: Vec<FxMap<u32, u64>>,
    totals: Vec<u64>,
}

impl StepTree {
    /// Builds the tree of `reqs` (request indexes, any order).
    pub fn build(ctx: &Ctx, reqs: &[u32]) -> StepTree {
        let run = &ctx.run;
        let with_endpoints = reqs.len() < ENDPOINTS_BELOW;
        let mut order: FxMap<Option<SpecId>, usize> = FxMap::default();
        let mut accs: Vec<Acc> = Vec::new();
        for &r in reqs {
            let Some(req) = run.requests.get(r as usize) else {
                continue;
            };
            let spec = match req.attribution {
                Attribution::Ua | Attribution::Window => req.spec,
                _ => None,
            };
            let i = *order.entry(spec).or_insert_with(|| {
                let n = spec
                    .and_then(|s| run.specs.get(s.index()))
                    .map_or(0, |s| s.steps.len());
                accs.push(Acc {
                    spec,
                    slots: vec![FxMap::default(); if with_endpoints { n + 1 } else { 0 }],
                    totals: vec![0; n + 1],
                });
                accs.len() - 1
            });
            let acc = &mut accs[i];
            let outside = acc.totals.len() - 1;
            let slot = run.step_of(req).map_or(outside, |s| s.step.min(outside));
            acc.totals[slot] += 1;
            if with_endpoints {
                let g = ctx.index.req_group.get(r as usize).copied().unwrap_or(NONE);
                *acc.slots[slot].entry(g).or_default() += 1;
            }
        }
        let mut tree = StepTree {
            requests: reqs.len(),
            no_endpoints: !with_endpoints,
            ..StepTree::default()
        };
        for acc in accs {
            let total: u64 = acc.totals.iter().sum();
            tree.rows.push(StepRow {
                depth: 0,
                node: StepNode::Spec(acc.spec),
                count: total,
            });
            let outside = acc.totals.len() - 1;
            for (k, &count) in acc.totals.iter().enumerate() {
                let node = match acc.spec {
                    Some(s) if k < outside => StepNode::Step(s, k),
                    _ if count == 0 => continue,
                    _ => StepNode::Outside(acc.spec),
                };
                if k < outside {
                    tree.steps += 1;
                }
                tree.rows.push(StepRow {
                    depth: 1,
                    node,
                    count,
                });
                let Some(groups) = acc.slots.get(k) else {
                    continue;
                };
                let mut groups: Vec<(u32, u64)> = groups.iter().map(|(&g, &c)| (g, c)).collect();
                groups.sort_unstable_by(|a, b| {
                    b.1.cmp(&a.1)
                        .then_with(|| ctx.group_label(a.0).cmp(ctx.group_label(b.0)))
                });
                for (g, c) in groups {
                    tree.rows.push(StepRow {
                        depth: 2,
                        node: StepNode::Endpoint(g),
                        count: c,
                    });
                }
            }
        }
        tree.view = (0..tree.rows.len() as u32).collect();
        tree
    }

    /// The text a row is shown and matched with.
    pub fn text<'a>(&self, ctx: &'a Ctx, row: &StepRow) -> &'a str {
        let run = &ctx.run;
        match row.node {
            StepNode::Spec(Some(s)) => {
                ctx.entry_name(crate::tui::context::TestEntry::Spec(s), false)
            }
            StepNode::Spec(None) => "(no test)",
            StepNode::Step(s, k) => run
                .specs
                .get(s.index())
                .and_then(|sp| sp.steps.get(k))
                .map_or("?", |st| run.str(st.text)),
            StepNode::Outside(_) => "(outside steps)",
            StepNode::Endpoint(g) => ctx.group_label(g),
        }
    }

    /// Where and when a step began: `17:08:03.431  file.go:123`; empty for other rows.
    pub fn step_place(&self, ctx: &Ctx, row: &StepRow) -> String {
        let StepNode::Step(s, k) = row.node else {
            return String::new();
        };
        let run = &ctx.run;
        let Some(st) = run.specs.get(s.index()).and_then(|sp| sp.steps.get(k)) else {
            return String::new();
        };
        let mut out = if st.start == NO_TIME {
            String::new()
        } else {
            chrono::DateTime::from_timestamp_micros(st.start)
                .map(|d| d.format("%H:%M:%S%.3f").to_string())
                .unwrap_or_default()
        };
        if st.location != 0 {
            out.push_str("  ");
            out.push_str(run.str(st.location));
        }
        out
    }

    /// The row at view position `pos`.
    pub fn row_at(&self, pos: usize) -> Option<&StepRow> {
        self.view.get(pos).and_then(|&i| self.rows.get(i as usize))
    }

    /// Lists the rows whose text matches `filter`, with their parents; all rows when empty.
    /// A filter that does not parse lists nothing.
    pub fn refilter(&mut self, ctx: &Ctx, filter: &str) {
        if filter.is_empty() {
            self.view = (0..self.rows.len() as u32).collect();
            return;
        }
        let Ok(q) = Query::parse(filter) else {
            self.view.clear();
            return;
        };
        let mut keep = vec![false; self.rows.len()];
        let mut parents: [usize; 3] = [0; 3];
        for (i, row) in self.rows.iter().enumerate() {
            let d = row.depth.min(2) as usize;
            parents[d] = i;
            if q.match_text(self.text(ctx, row), false) == TextMatch::Exact {
                keep[i] = true;
                for &p in &parents[..d] {
                    keep[p] = true;
                }
            }
        }
        self.view = (0..self.rows.len() as u32)
            .filter(|&i| keep[i as usize])
            .collect();
    }

    /// True when the row at `pos` matches the filter itself (not only through a child).
    pub fn matches(&self, ctx: &Ctx, filter: &str, pos: usize) -> bool {
        if filter.is_empty() {
            return true;
        }
        let Ok(q) = Query::parse(filter) else {
            return false;
        };
        self.row_at(pos)
            .is_some_and(|r| q.match_text(self.text(ctx, r), false) == TextMatch::Exact)
    }

    /// The view position of the parent of the row at `pos`.
    pub fn parent_of(&self, pos: usize) -> Option<usize> {
        let depth = self.row_at(pos)?.depth;
        (0..pos)
            .rev()
            .find(|&p| self.row_at(p).is_some_and(|r| r.depth < depth))
    }
}
