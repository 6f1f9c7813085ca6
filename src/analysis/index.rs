//! Derived indexes built once from a [`Run`]: requests per spec, per endpoint, per trace,
//! per frame, and the distinct strings the explorer matches against.
//!
//! Building is O(requests); everything a keystroke needs afterwards touches only distinct
//! strings or the requests of the current selection.

use crate::fasthash::FxMap;
use crate::run::{Attribution, FrameId, OpId, Run, SpecId, StrId, TraceId};
use fuzzy_matcher::FuzzyMatcher;
use fuzzy_matcher::skim::SkimMatcherV2;
use serde::Serialize;

/// Marks "no value" in the dense `u32` columns below.
pub const NONE: u32 = u32::MAX;

/// One group of requests in the Requests pane: an OpenAPI operation, or `verb path` for
/// requests that matched none.
#[derive(Debug, Clone)]
pub struct EndpointGroup {
    /// `operationId`, or `verb path` with the query stripped.
    pub label: String,
    /// The operation, when the requests matched one.
    pub op: Option<OpId>,
    /// Every request of the run in this group, in time order.
    pub requests: Vec<u32>,
}

/// Derived indexes over a run.
#[derive(Debug, Clone, Default)]
pub struct RunIndex {
    /// Requests per spec, in time order.
    pub spec_requests: Vec<Vec<u32>>,
    /// Requests attributed to no spec.
    pub unattributed: Vec<u32>,
    /// The endpoint group of every request.
    pub req_group: Vec<u32>,
    /// The URI of every request: a 4-byte column, so a filter over millions of requests
    /// reads it in order instead of the 128-byte request structs.
    pub req_uri: Vec<StrId>,
    /// True for every request attributed by time window (a byte column, as `req_uri`).
    pub req_window: Vec<bool>,
    /// Requests attributed by time window per endpoint group (parallel to `groups`).
    pub group_window: Vec<u32>,
    /// Endpoint groups.
    pub groups: Vec<EndpointGroup>,
    /// The trace of every request, [`NONE`] when it had none.
    pub req_trace: Vec<u32>,
    /// Requests per trace.
    pub trace_requests: Vec<Vec<u32>>,
    /// Distinct specs per trace (sorted; requests of no spec not included).
    pub trace_specs: Vec<Vec<SpecId>>,
    /// Traces per frame (each trace once).
    pub frame_traces: Vec<Vec<TraceId>>,
    /// Requests whose trace passes through each frame.
    pub frame_requests: Vec<u64>,
    /// Distinct function names and the frames that carry each.
    pub functions: Vec<(Box<str>, Vec<FrameId>)>,
    /// `file` and `line` of every frame (copied so a search needs only the index).
    pub frame_files: Vec<(Box<str>, u32)>,
}

/// A frame found by [`search_frames`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrameHit {
    /// The frame.
    pub frame: FrameId,
    /// Its function.
    pub function: String,
    /// Its source file.
    pub file: String,
    /// Its line in `file`.
    pub line: u32,
    /// Requests whose trace passes through the frame.
    pub requests: u64,
    /// Distinct specs among those requests.
    pub tests: usize,
    /// The fuzzy score (higher is better).
    pub score: i64,
    /// Char positions of the match in `function`, for highlighting.
    #[serde(skip)]
    pub indices: Vec<usize>,
}

/// Strips the query string from a request URI.
pub fn strip_query(uri: &str) -> &str {
    uri.split_once('?').map(|(p, _)| p).unwrap_or(uri)
}

impl RunIndex {
    /// Builds every index in one pass over the requests.
    pub fn build(run: &Run) -> RunIndex {
        let n = run.requests.len();
        let n_specs = run.specs.len();
        let n_traces = run.traces.len();
        // One scan over the (large) request structs into dense columns; everything else
        // works on the columns. Lists get their exact size from a counting pass, so no
        // vector grows request by request.
        let agent_trace: Vec<u32> = run
            .agents
            .iter()
            .map(|a| a.trace.filter(|&t| (t as usize) < n_traces).unwrap_or(NONE))
            .collect();
        let mut req_spec: Vec<u32> = Vec::with_capacity(n);
        let mut req_trace: Vec<u32> = Vec::with_capacity(n);
        let mut req_group: Vec<u32> = Vec::with_capacity(n);
        let mut req_uri: Vec<StrId> = Vec::with_capacity(n);
        let mut req_window: Vec<bool> = Vec::with_capacity(n);
        let mut groups: Vec<EndpointGroup> = Vec::new();
        let mut op_group: Vec<u32> = vec![NONE; run.operations.len()];
        let mut raw: Vec<u32> = Vec::new();
        for (i, req) in run.requests.iter().enumerate() {
            req_spec.push(
                req.spec
                    .filter(|&s| s.index() < n_specs)
                    .map_or(NONE, |s| s.0),
            );
            req_trace.push(agent_trace.get(req.agent as usize).copied().unwrap_or(NONE));
            req_uri.push(req.uri);
            req_window.push(req.attribution == Attribution::Window);
            match req.endpoint.filter(|&op| op.index() < op_group.len()) {
                Some(op) => {
                    let slot = &mut op_group[op.index()];
                    if *slot == NONE {
                        *slot = groups.len() as u32;
                        groups.push(EndpointGroup {
                            label: run.operations[op.index()].id.clone(),
                            op: Some(op),
                            requests: Vec::new(),
                        });
                    }
                    req_group.push(*slot);
                }
                None => {
                    raw.push(i as u32);
                    req_group.push(NONE);
                }
            }
        }
        // Requests that matched no operation: grouped by `verb path`, each distinct
        // (verb, URI) looked up once.
        let mut raw_group: FxMap<(StrId, StrId), u32> = FxMap::default();
        let mut raw_label: FxMap<(StrId, &str), u32> = FxMap::default();
        for &i in &raw {
            let req = &run.requests[i as usize];
            let g = *raw_group.entry((req.verb, req.uri)).or_insert_with(|| {
                let path = strip_query(run.str(req.uri));
                *raw_label.entry((req.verb, path)).or_insert_with(|| {
                    groups.push(EndpointGroup {
                        label: format!("{} {path}", run.str(req.verb)),
                        op: None,
                        requests: Vec::new(),
                    });
                    (groups.len() - 1) as u32
                })
            });
            req_group[i as usize] = g;
        }
        let lists = |keys: &[u32], buckets: usize| -> (Vec<Vec<u32>>, Vec<u32>) {
            let mut sizes = vec![0usize; buckets];
            let mut none = 0usize;
            for &k in keys {
                match sizes.get_mut(k as usize) {
                    Some(c) => *c += 1,
                    None => none += 1,
                }
            }
            let mut out: Vec<Vec<u32>> = sizes.iter().map(|&c| Vec::with_capacity(c)).collect();
            let mut rest = Vec::with_capacity(none);
            for (i, &k) in keys.iter().enumerate() {
                match out.get_mut(k as usize) {
                    Some(list) => list.push(i as u32),
                    None => rest.push(i as u32),
                }
            }
            (out, rest)
        };
        let (spec_requests, unattributed) = lists(&req_spec, n_specs);
        let (trace_requests, _) = lists(&req_trace, n_traces);
        let (group_lists, _) = lists(&req_group, groups.len());
        let group_window: Vec<u32> = group_lists
            .iter()
            .map(|list| list.iter().filter(|&&r| req_window[r as usize]).count() as u32)
            .collect();
        for (g, list) in groups.iter_mut().zip(group_lists) {
            g.requests = list;
        }
        let trace_specs: Vec<Vec<SpecId>> = trace_requests
            .iter()
            .map(|reqs| {
                let mut specs: Vec<SpecId> = reqs
                    .iter()
                    .map(|&r| req_spec[r as usize])
                    .filter(|&s| s != NONE)
                    .map(SpecId)
                    .collect();
                specs.sort_unstable();
                specs.dedup();
                specs
            })
            .collect();

        let mut frame_traces: Vec<Vec<TraceId>> = vec![Vec::new(); run.frames.len()];
        let mut frame_requests = vec![0u64; run.frames.len()];
        for (t, trace) in run.traces.iter().enumerate() {
            let weight = trace_requests[t].len() as u64;
            for &f in &trace.frames {
                if let Some(list) = frame_traces.get_mut(f as usize) {
                    // A frame can repeat within a trace (recursion): count the trace once.
                    if list.last() != Some(&(t as u32)) {
                        list.push(t as u32);
                        frame_requests[f as usize] += weight;
                    }
                }
            }
        }
        let mut by_function: FxMap<StrId, usize> = FxMap::default();
        let mut functions: Vec<(Box<str>, Vec<FrameId>)> = Vec::new();
        let mut frame_files = Vec::with_capacity(run.frames.len());
        for (f, frame) in run.frames.iter().enumerate() {
            frame_files.push((Box::from(run.str(frame.file)), frame.line));
            let slot = *by_function.entry(frame.function).or_insert_with(|| {
                functions.push((Box::from(run.str(frame.function)), Vec::new()));
                functions.len() - 1
            });
            if let Some((_, list)) = functions.get_mut(slot) {
                list.push(f as u32);
            }
        }
        RunIndex {
            spec_requests,
            unattributed,
            req_group,
            req_uri,
            req_window,
            group_window,
            groups,
            req_trace,
            trace_requests,
            trace_specs,
            frame_traces,
            frame_requests,
            functions,
            frame_files,
        }
    }

    /// True when request `r` was attributed by time window.
    pub fn is_window(&self, r: u32) -> bool {
        self.req_window.get(r as usize).copied().unwrap_or(false)
    }

    /// The number of distinct specs whose requests pass through a frame.
    pub fn frame_test_count(&self, frame: FrameId) -> usize {
        // Computed when asked (for search hits and messages): a bitmap over the specs
        // instead of a sort, so even a frame in every trace costs a few milliseconds.
        let mut seen = vec![false; self.spec_requests.len()];
        let mut count = 0;
        for &t in self.frame_traces.get(frame as usize).into_iter().flatten() {
            for &s in self.trace_specs.get(t as usize).into_iter().flatten() {
                if let Some(b) = seen.get_mut(s.index())
                    && !*b
                {
                    *b = true;
                    count += 1;
                }
            }
        }
        count
    }
}

/// Global search for a function across every backtrace: the frames whose function matches
/// `pattern` (fuzzy, smart case), best first, with request and test counts. An empty pattern
/// lists the frames with the most requests.
pub fn search_frames(index: &RunIndex, pattern: &str, limit: usize) -> Vec<FrameHit> {
    let matcher = SkimMatcherV2::default();
    // Score every distinct function once; positions only for the hits kept.
    let mut scored: Vec<(i64, FrameId, usize)> = Vec::new();
    for (slot, (function, frames)) in index.functions.iter().enumerate() {
        let score = if pattern.is_empty() {
            Some(0)
        } else {
            matcher.fuzzy_match(function, pattern)
        };
        if let Some(score) = score {
            scored.extend(frames.iter().map(|&f| (score, f, slot)));
        }
    }
    let requests = |f: FrameId| index.frame_requests.get(f as usize).copied().unwrap_or(0);
    scored.sort_unstable_by(|a, b| {
        b.0.cmp(&a.0)
            .then(requests(b.1).cmp(&requests(a.1)))
            .then(a.1.cmp(&b.1))
    });
    scored.truncate(limit);
    scored
        .into_iter()
        .filter_map(|(score, f, slot)| {
            let (file, line) = index.frame_files.get(f as usize)?;
            let (function, _) = index.functions.get(slot)?;
            let indices = if pattern.is_empty() {
                Vec::new()
            } else {
                matcher
                    .fuzzy_indices(function, pattern)
                    .map(|(_, i)| i)
                    .unwrap_or_default()
            };
            Some(FrameHit {
                frame: f,
                function: function.to_string(),
                file: file.to_string(),
                line: *line,
                requests: requests(f),
                tests: index.frame_test_count(f),
                score,
                indices,
            })
        })
        .collect()
}
