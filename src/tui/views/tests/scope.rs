//! What narrows the Tests view after a jump: one endpoint's requests, or the requests whose
//! trace passes through one frame.

use crate::analysis::NONE;
use crate::run::FrameId;
use crate::tui::context::{Ctx, TestEntry};

/// What narrows the whole explorer after a jump.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Requests to one endpoint group.
    Endpoint(u32),
    /// Requests whose trace passes through one frame.
    Frame(FrameId),
}

/// The scope and what is precomputed for it.
#[derive(Debug, Clone, Default)]
pub struct ScopeState {
    /// The scope, if any.
    pub scope: Option<Scope>,
    traces: Vec<bool>,
    /// With a frame scope: its requests in time order (computed once per scope).
    frame_requests: Vec<u32>,
}

impl ScopeState {
    /// Sets the scope and precomputes its traces and requests.
    pub fn set(&mut self, ctx: &Ctx, scope: Option<Scope>) {
        self.scope = scope;
        self.traces.clear();
        self.frame_requests = Vec::new();
        let Some(Scope::Frame(f)) = scope else {
            return;
        };
        let index = &ctx.index;
        self.traces = vec![false; ctx.run.traces.len()];
        for &t in index.frame_traces.get(f as usize).into_iter().flatten() {
            if let Some(b) = self.traces.get_mut(t as usize) {
                *b = true;
            }
        }
        let total = index.frame_requests.get(f as usize).copied().unwrap_or(0) as usize;
        let n = ctx.run.requests.len();
        self.frame_requests = if total > n / 16 {
            // Many requests: one scan in time order beats sorting them.
            (0..n as u32)
                .filter(|&r| {
                    let t = index.req_trace[r as usize];
                    self.traces.get(t as usize).copied().unwrap_or(false)
                })
                .collect()
        } else {
            let mut v: Vec<u32> = Vec::with_capacity(total);
            for &t in index.frame_traces.get(f as usize).into_iter().flatten() {
                v.extend_from_slice(&index.trace_requests[t as usize]);
            }
            v.sort_unstable();
            v
        };
    }

    /// True when request `r` is in scope.
    pub fn contains(&self, ctx: &Ctx, r: u32) -> bool {
        match self.scope {
            None => true,
            Some(Scope::Endpoint(g)) => ctx.index.req_group.get(r as usize) == Some(&g),
            Some(Scope::Frame(_)) => {
                let t = ctx.index.req_trace.get(r as usize).copied().unwrap_or(NONE);
                self.traces.get(t as usize).copied().unwrap_or(false)
            }
        }
    }

    /// Every request in scope, in time order.
    pub fn requests(&self, ctx: &Ctx) -> Vec<u32> {
        match self.scope {
            None => (0..ctx.run.requests.len() as u32).collect(),
            Some(Scope::Endpoint(g)) => ctx
                .index
                .groups
                .get(g as usize)
                .map(|x| x.requests.clone())
                .unwrap_or_default(),
            Some(Scope::Frame(_)) => self.frame_requests.clone(),
        }
    }

    /// The requests of a test entry, in scope.
    pub fn entry_requests(&self, ctx: &Ctx, e: TestEntry) -> Vec<u32> {
        let base: &[u32] = match e {
            TestEntry::All => return self.requests(ctx),
            TestEntry::NoTest => &ctx.index.unattributed,
            TestEntry::Spec(s) => ctx
                .index
                .spec_requests
                .get(s.index())
                .map(Vec::as_slice)
                .unwrap_or(&[]),
        };
        if self.scope.is_none() {
            base.to_vec()
        } else {
            base.iter()
                .copied()
                .filter(|&r| self.contains(ctx, r))
                .collect()
        }
    }

    /// How the title names the scope.
    pub fn text(&self, ctx: &Ctx) -> Option<String> {
        Some(match self.scope? {
            Scope::Endpoint(g) => format!("calling {}", ctx.group_label(g)),
            Scope::Frame(fr) => {
                let func = ctx.node_text(fr);
                // The short name: after the last '/'.
                format!("through {}", func.rsplit('/').next().unwrap_or(func))
            }
        })
    }
}
