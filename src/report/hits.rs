//! `report hits`: the 2018 APISnoop pipeline's `output.txt`, byte for byte.
//!
//! Per spec: a line of 16 dashes, the window start as `YYYY-MM-DDTHH:MM:SS.ffffff`, the spec's
//! header lines, then one line per `verb path` key: four spaces, the count right-aligned in
//! four columns, `: `, the key; sorted by count descending, then key ascending. Lines are joined
//! by `\n` with no final newline. Unlike 2018, a request is counted once (not once per stage),
//! and only for the spec it is attributed to.

use std::collections::HashMap;

use serde::Serialize;

use crate::run::{Request, Run, SpecId, time};
use crate::text::escape_control;

use super::verb_path_key;

/// One spec's block.
#[derive(Debug, Serialize, PartialEq)]
pub struct HitsBlock {
    pub spec: String,
    pub start: String,
    pub header: Vec<String>,
    /// `(key, count)`, in print order.
    pub hits: Vec<(String, u64)>,
}

/// Counts hits per spec for the specs that have a start time, in time order.
pub fn hits(run: &Run, keep: &dyn Fn(&Request) -> bool) -> Vec<HitsBlock> {
    let mut per_spec: HashMap<SpecId, HashMap<String, u64>> = HashMap::new();
    for req in &run.requests {
        if let Some(spec) = req.spec
            && keep(req)
        {
            *per_spec
                .entry(spec)
                .or_default()
                .entry(verb_path_key(run, req))
                .or_default() += 1;
        }
    }
    let mut order: Vec<(i64, usize)> = run
        .specs
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let start = if s.window_start != crate::run::NO_TIME {
                s.window_start
            } else {
                s.start
            };
            (start != crate::run::NO_TIME).then_some((start, i))
        })
        .collect();
    order.sort();
    order
        .into_iter()
        .map(|(start, i)| {
            let spec = &run.specs[i];
            let mut counts: Vec<(String, u64)> = per_spec
                .remove(&(SpecId::from_index(i)))
                .unwrap_or_default()
                .into_iter()
                .collect();
            counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let header = if spec.header.is_empty() {
                vec![run.str(spec.name).to_string()]
            } else {
                spec.header
                    .iter()
                    .map(|h| run.str(*h).to_string())
                    .collect()
            };
            HitsBlock {
                spec: run.str(spec.name).to_string(),
                start: time::python_isoformat(start),
                header,
                hits: counts,
            }
        })
        .collect()
}

/// Writes the blocks in the 2018 text form (no final newline). Control characters are escaped.
pub fn write_text(blocks: &[HitsBlock], w: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut first = true;
    for block in blocks {
        let mut lines: Vec<String> = Vec::with_capacity(2 + block.header.len() + block.hits.len());
        lines.push("-".repeat(16));
        lines.push(block.start.clone());
        lines.extend(block.header.iter().map(|h| escape_control(h).into_owned()));
        for (key, count) in &block.hits {
            lines.push(format!("    {count:>4}: {}", escape_control(key)));
        }
        if !first {
            w.write_all(b"\n")?;
        }
        first = false;
        w.write_all(lines.join("\n").as_bytes())?;
    }
    Ok(())
}
