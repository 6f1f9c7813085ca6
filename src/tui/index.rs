//! Derived indexes built once from a [`Run`]: requests per spec, per endpoint, per trace,
//! per frame, and the distinct strings the explorer matches against.
//!
//! Building is O(requests); everything a keystroke needs afterwards touches only distinct
//! strings or the requests of the current selection.

use super::fasthash::FxMap;
use crate::run::{FrameId, Run, SpecId, StrId, TraceId};
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
    pub op: Option<u32>,
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
    /// Endpoint groups.
    pub groups: Vec<EndpointGroup>,
    /// Each group's position in label order (so sorting by label compares integers).
    pub group_rank: Vec<u32>,
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
    /// Distinct specs whose requests pass through each frame.
    pub frame_tests: Vec<u32>,
    /// Distinct function names and the frames that carry each.
    pub functions: Vec<(Box<str>, Vec<FrameId>)>,
    /// `file` and `line` of every frame (copied so a search needs only the index).
    pub frame_files: Vec<(Box<str>, u32)>,
}

/// A frame found by [`search_frames`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrameHit {
    pub frame: FrameId,
    pub function: String,
    pub file: String,
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
        let n_specs = run.specs.len();
        let mut spec_requests: Vec<Vec<u32>> = vec![Vec::new(); n_specs];
        let mut unattributed = Vec::new();
        let mut req_group = Vec::with_capacity(run.requests.len());
        let mut req_trace = Vec::with_capacity(run.requests.len());
        let mut groups: Vec<EndpointGroup> = Vec::new();
        let mut op_group: Vec<u32> = vec![NONE; run.operations.len()];
        let mut raw_group: FxMap<(StrId, StrId), u32> = FxMap::default();
        let mut raw_label: FxMap<String, u32> = FxMap::default();
        let mut trace_requests: Vec<Vec<u32>> = vec![Vec::new(); run.traces.len()];
        let mut trace_specs: Vec<Vec<SpecId>> = vec![Vec::new(); run.traces.len()];

        for (i, req) in run.requests.iter().enumerate() {
            let i = i as u32;
            match req.spec {
                Some(s) if (s as usize) < n_specs => spec_requests[s as usize].push(i),
                _ => unattributed.push(i),
            }
            let g = match req.endpoint.filter(|&op| (op as usize) < op_group.len()) {
                Some(op) => {
                    let slot = &mut op_group[op as usize];
                    if *slot == NONE {
                        *slot = groups.len() as u32;
                        let label = run.operations[op as usize].id.clone();
                        groups.push(EndpointGroup {
                            label,
                            op: Some(op),
                            requests: Vec::new(),
                        });
                    }
                    *slot
                }
                None => *raw_group.entry((req.verb, req.uri)).or_insert_with(|| {
                    let label = format!("{} {}", run.str(req.verb), strip_query(run.str(req.uri)));
                    *raw_label.entry(label.clone()).or_insert_with(|| {
                        groups.push(EndpointGroup {
                            label,
                            op: None,
                            requests: Vec::new(),
                        });
                        (groups.len() - 1) as u32
                    })
                }),
            };
            if let Some(group) = groups.get_mut(g as usize) {
                group.requests.push(i);
            }
            req_group.push(g);
            let t = run
                .agents
                .get(req.agent as usize)
                .and_then(|a| a.trace)
                .filter(|&t| (t as usize) < trace_requests.len());
            match t {
                Some(t) => {
                    trace_requests[t as usize].push(i);
                    if let Some(s) = req.spec.filter(|&s| (s as usize) < n_specs) {
                        let specs = &mut trace_specs[t as usize];
                        if specs.last() != Some(&s) {
                            specs.push(s);
                        }
                    }
                    req_trace.push(t);
                }
                None => req_trace.push(NONE),
            }
        }
        for specs in &mut trace_specs {
            specs.sort_unstable();
            specs.dedup();
        }

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
        let mut by_label: Vec<u32> = (0..groups.len() as u32).collect();
        by_label.sort_unstable_by(|&a, &b| groups[a as usize].label.cmp(&groups[b as usize].label));
        let mut group_rank = vec![0u32; groups.len()];
        for (rank, &g) in by_label.iter().enumerate() {
            group_rank[g as usize] = rank as u32;
        }
        // Tests per frame: per spec, its distinct traces, each frame counted once per spec.
        let mut frame_tests = vec![0u32; run.frames.len()];
        let mut last_spec = vec![NONE; run.frames.len()];
        let mut traces_of_spec: Vec<u32> = Vec::new();
        for (s, reqs) in spec_requests.iter().enumerate() {
            traces_of_spec.clear();
            traces_of_spec.extend(
                reqs.iter()
                    .map(|&r| req_trace[r as usize])
                    .filter(|&t| t != NONE),
            );
            traces_of_spec.sort_unstable();
            traces_of_spec.dedup();
            for &t in &traces_of_spec {
                for &f in &run.traces[t as usize].frames {
                    if let Some(last) = last_spec.get_mut(f as usize)
                        && *last != s as u32
                    {
                        *last = s as u32;
                        frame_tests[f as usize] += 1;
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
            groups,
            group_rank,
            req_trace,
            trace_requests,
            trace_specs,
            frame_traces,
            frame_requests,
            frame_tests,
            functions,
            frame_files,
        }
    }

    /// The number of distinct specs whose requests pass through a frame.
    pub fn frame_test_count(&self, frame: FrameId) -> usize {
        self.frame_tests.get(frame as usize).copied().unwrap_or(0) as usize
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
