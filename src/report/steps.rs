//! `report steps`: per spec, its `STEP:` lines and how many of its requests were received
//! during each (see [`crate::run::steps`] for when a step begins and ends).
//!
//! A spec's requests are those attributed to it by `ua` or `window`; `outside_steps` counts
//! the ones received before its first step (or without a time), so the steps' counts and
//! `outside_steps` add up to the spec's requests.

use serde::Serialize;

use crate::run::{Attribution, NO_TIME, Request, Run, Spec, time};
use crate::text::escape_control;

/// One step's line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepRow {
    pub text: String,
    /// RFC 3339, `null` when the log gave no time.
    pub start: Option<String>,
    /// `file.go:123`, `null` when the log gave none.
    pub location: Option<String>,
    /// The spec's requests received during the step.
    pub requests: u64,
}

/// One spec's steps.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpecSteps {
    pub spec: String,
    pub steps: Vec<StepRow>,
    /// The spec's requests received outside every step.
    pub outside_steps: u64,
}

/// The specs `show` accepts that ran (have a window, steps or requests), suite nodes left
/// out, in time order; counting the requests `keep` accepts.
pub fn steps_report(
    run: &Run,
    show: &dyn Fn(&Spec) -> bool,
    keep: &dyn Fn(&Request) -> bool,
) -> Vec<SpecSteps> {
    // Per spec: requests per step, then outside steps last.
    let mut counts: Vec<Vec<u64>> = run
        .specs
        .iter()
        .map(|s| vec![0; s.steps.len() + 1])
        .collect();
    let mut any: Vec<bool> = vec![false; run.specs.len()];
    for req in &run.requests {
        if !matches!(req.attribution, Attribution::Ua | Attribution::Window) || !keep(req) {
            continue;
        }
        let Some(spec) = req.spec else { continue };
        let (Some(spec_def), Some(c)) = (run.specs.get(spec.index()), counts.get_mut(spec.index()))
        else {
            continue;
        };
        let slot = spec_def
            .step_at(req.received)
            .unwrap_or(spec_def.steps.len());
        c[slot] += 1;
        any[spec.index()] = true;
    }
    let mut rows: Vec<(i64, usize, SpecSteps)> = run
        .specs
        .iter()
        .enumerate()
        .filter(|(i, s)| {
            !s.suite_node
                && show(s)
                && (s.window_start != NO_TIME || !s.steps.is_empty() || any[*i])
        })
        .map(|(i, s)| {
            let c = &counts[i];
            let steps = s
                .steps
                .iter()
                .zip(c)
                .map(|(st, &n)| StepRow {
                    text: run.str(st.text).to_string(),
                    start: (st.start != NO_TIME).then(|| time::rfc3339(st.start)),
                    location: (st.location != 0).then(|| run.str(st.location).to_string()),
                    requests: n,
                })
                .collect();
            let start = [s.start, s.window_start]
                .into_iter()
                .find(|&t| t != NO_TIME)
                .unwrap_or(i64::MAX);
            (
                start,
                i,
                SpecSteps {
                    spec: run.str(s.name).to_string(),
                    steps,
                    outside_steps: c.last().copied().unwrap_or(0),
                },
            )
        })
        .collect();
    rows.sort_by_key(|(start, i, _)| (*start, *i));
    rows.into_iter().map(|(_, _, r)| r).collect()
}

/// Writes each spec, then its steps with their request counts.
pub fn write_text(rows: &[SpecSteps], w: &mut dyn std::io::Write) -> std::io::Result<()> {
    if !rows.is_empty() && rows.iter().all(|r| r.steps.is_empty()) {
        writeln!(
            w,
            "(no STEP lines: they come from a verbose ginkgo log, not from JUnit, entries.log or a non-verbose log)"
        )?;
    }
    for (n, r) in rows.iter().enumerate() {
        if n > 0 {
            writeln!(w)?;
        }
        let total: u64 = r.steps.iter().map(|s| s.requests).sum::<u64>() + r.outside_steps;
        writeln!(
            w,
            "{}  ({} steps, {total} requests)",
            escape_control(&r.spec),
            r.steps.len()
        )?;
        for s in &r.steps {
            write!(
                w,
                "  {:>6}  {:<27}  {}",
                s.requests,
                s.start.as_deref().unwrap_or("-"),
                escape_control(&s.text)
            )?;
            if let Some(loc) = &s.location {
                write!(w, "  ({})", escape_control(loc))?;
            }
            writeln!(w)?;
        }
        writeln!(w, "  {:>6}  {:<27}  (outside steps)", r.outside_steps, "")?;
    }
    Ok(())
}
