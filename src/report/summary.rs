//! `report summary`: an account of the run — lines read, requests, stage events merged,
//! lines skipped by reason with their first places, specs, requests by attribution.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::run::Run;
use crate::text::escape_control;

/// The summary; its JSON keys are part of the interface.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Summary {
    pub lines: u64,
    pub requests: u64,
    pub stage_events_merged: u64,
    /// Reason → count.
    pub skipped: BTreeMap<String, u64>,
    /// Reason → first places (`path:line`).
    pub skipped_first: BTreeMap<String, Vec<String>>,
    pub specs: u64,
    pub suite_nodes: u64,
    /// `ua`, `window`, `ambiguous`, `none` → count.
    pub attribution: BTreeMap<&'static str, u64>,
    /// Requests that matched an OpenAPI operation, and those that matched none.
    pub matched: u64,
    pub unmatched: u64,
    /// The release whose endpoint table was used and how it was chosen; `null` for runs
    /// written before auditscope knew releases (they were matched against v1.35).
    pub release: Option<crate::run::RunRelease>,
    pub inputs: Vec<crate::run::InputInfo>,
    pub notes: Vec<String>,
}

/// Summarises `run`.
pub fn summary(run: &Run) -> Summary {
    let acc = &run.accounting;
    let matched = run.requests.iter().filter(|r| r.endpoint.is_some()).count() as u64;
    Summary {
        lines: acc.lines,
        requests: run.requests.len() as u64,
        stage_events_merged: acc.stage_events_merged,
        skipped: acc
            .skipped
            .iter()
            .map(|(k, v)| (k.clone(), v.count))
            .collect(),
        skipped_first: acc
            .skipped
            .iter()
            .map(|(k, v)| (k.clone(), v.first.clone()))
            .collect(),
        specs: run.specs.iter().filter(|s| !s.suite_node).count() as u64,
        suite_nodes: run.specs.iter().filter(|s| s.suite_node).count() as u64,
        attribution: run
            .attribution_counts()
            .iter()
            .map(|(a, n)| (a.as_str(), *n))
            .collect(),
        matched,
        unmatched: run.requests.len() as u64 - matched,
        release: run.release.clone(),
        inputs: run.inputs.clone(),
        notes: run.notes.clone(),
    }
}

impl Summary {
    /// Writes the summary for people.
    pub fn write_text(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        for input in &self.inputs {
            writeln!(
                w,
                "input      {} ({}, {} bytes, {} lines)",
                escape_control(&input.path),
                input.kind,
                input.bytes,
                input.lines
            )?;
        }
        let skipped: u64 = self.skipped.values().sum();
        writeln!(w, "lines      {}", self.lines)?;
        writeln!(w, "requests   {}", self.requests)?;
        writeln!(w, "merged     {} stage events", self.stage_events_merged)?;
        writeln!(w, "skipped    {skipped} lines")?;
        for (reason, count) in &self.skipped {
            let first = self
                .skipped_first
                .get(reason)
                .map(|v| v.join(", "))
                .unwrap_or_default();
            writeln!(
                w,
                "  {count:>8}  {reason} (first at {})",
                escape_control(&first)
            )?;
        }
        writeln!(
            w,
            "check      {} lines = {} requests + {} merged + {} skipped{}",
            self.lines,
            self.requests,
            self.stage_events_merged,
            skipped,
            if self.lines == self.requests + self.stage_events_merged + skipped {
                ""
            } else {
                "  (MISMATCH)"
            }
        )?;
        writeln!(
            w,
            "specs      {} (+{} suite nodes)",
            self.specs, self.suite_nodes
        )?;
        let attr = |k: &str| self.attribution.get(k).copied().unwrap_or(0);
        writeln!(
            w,
            "attributed ua {}  window {}  ambiguous {}  none {}",
            attr("ua"),
            attr("window"),
            attr("ambiguous"),
            attr("none")
        )?;
        match &self.release {
            Some(r) => {
                let evidence = if r.evidence.is_empty() {
                    String::new()
                } else {
                    format!(": {}", escape_control(&r.evidence))
                };
                writeln!(
                    w,
                    "release    {} ({}{evidence})",
                    r.release,
                    r.source.describe()
                )?;
            }
            None => writeln!(
                w,
                "release    not recorded (a run written before releases were known: v1.35 table)"
            )?,
        }
        writeln!(
            w,
            "endpoints  {} requests matched an operation, {} unmatched",
            self.matched, self.unmatched
        )?;
        for note in &self.notes {
            writeln!(w, "note       {}", escape_control(note))?;
        }
        Ok(())
    }
}
