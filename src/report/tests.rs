//! `report tests`: per spec its status, duration, requests by attribution, distinct
//! `verb path` keys and the operations it hit.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use crate::run::{Attribution, NO_TIME, OpId, Request, Run, Spec, time};
use crate::text::escape_control;

use super::verb_path_key;

/// One spec's line.
#[derive(Debug, Serialize, PartialEq)]
pub struct TestRow {
    pub name: String,
    pub status: &'static str,
    pub duration: Option<f64>,
    pub start: Option<String>,
    pub conformance: bool,
    /// Requests by attribution kind (`ua`, `window`).
    pub requests: BTreeMap<&'static str, u64>,
    /// Distinct `verb path` keys.
    pub keys: usize,
    /// Operations hit, with counts, most hit first.
    pub operations: Vec<(String, u64)>,
    /// Requests that matched no operation.
    pub unmatched: u64,
}

/// Builds the rows for the specs `show` accepts (suite nodes excluded), in time order.
pub fn tests(
    run: &Run,
    show: &dyn Fn(&Spec) -> bool,
    keep: &dyn Fn(&Request) -> bool,
) -> Vec<TestRow> {
    struct Acc {
        by_attr: BTreeMap<&'static str, u64>,
        keys: HashSet<String>,
        ops: BTreeMap<OpId, u64>,
        unmatched: u64,
    }
    let mut acc: Vec<Acc> = run
        .specs
        .iter()
        .map(|_| Acc {
            by_attr: BTreeMap::new(),
            keys: HashSet::new(),
            ops: BTreeMap::new(),
            unmatched: 0,
        })
        .collect();
    for req in &run.requests {
        let Some(spec) = req.spec else { continue };
        if !keep(req) {
            continue;
        }
        let Some(a) = acc.get_mut(spec.index()) else {
            continue;
        };
        *a.by_attr.entry(req.attribution.as_str()).or_default() += 1;
        a.keys.insert(verb_path_key(run, req));
        match req.endpoint {
            Some(op) => *a.ops.entry(op).or_default() += 1,
            None => a.unmatched += 1,
        }
    }
    let mut rows: Vec<(i64, TestRow)> = run
        .specs
        .iter()
        .zip(acc)
        .filter(|(s, _)| !s.suite_node && show(s))
        .map(|(s, a)| {
            let mut requests = a.by_attr;
            for kind in [Attribution::Ua, Attribution::Window] {
                requests.entry(kind.as_str()).or_default();
            }
            let mut operations: Vec<(String, u64)> = a
                .ops
                .into_iter()
                .filter_map(|(op, n)| run.operations.get(op.index()).map(|o| (o.id.clone(), n)))
                .collect();
            operations.sort_by(|x, y| y.1.cmp(&x.1).then_with(|| x.0.cmp(&y.0)));
            let start = if s.start != NO_TIME {
                s.start
            } else {
                s.window_start
            };
            (
                if start == NO_TIME { i64::MAX } else { start },
                TestRow {
                    name: run.str(s.name).to_string(),
                    status: s.status.as_str(),
                    duration: s.duration,
                    start: (start != NO_TIME).then(|| time::rfc3339(start)),
                    conformance: s.conformance,
                    requests,
                    keys: a.keys.len(),
                    operations,
                    unmatched: a.unmatched,
                },
            )
        })
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.name.cmp(&b.1.name)));
    rows.into_iter().map(|(_, r)| r).collect()
}

/// Writes the rows as an aligned table; with `operations`, each spec's operations beneath it.
pub fn write_text(
    rows: &[TestRow],
    operations: bool,
    w: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    writeln!(
        w,
        "{:<8} {:>9} {:>7} {:>7} {:>5} {:>4}  SPEC",
        "STATUS", "SECONDS", "UA", "WINDOW", "KEYS", "OPS"
    )?;
    for r in rows {
        let duration = r
            .duration
            .map(|d| format!("{d:.3}"))
            .unwrap_or_else(|| "-".to_string());
        writeln!(
            w,
            "{:<8} {:>9} {:>7} {:>7} {:>5} {:>4}  {}",
            r.status,
            duration,
            r.requests.get("ua").copied().unwrap_or(0),
            r.requests.get("window").copied().unwrap_or(0),
            r.keys,
            r.operations.len(),
            escape_control(&r.name)
        )?;
        if operations {
            for (op, n) in &r.operations {
                writeln!(w, "    {n:>6}  {op}")?;
            }
            if r.unmatched > 0 {
                writeln!(w, "    {:>6}  (unmatched)", r.unmatched)?;
            }
        }
    }
    Ok(())
}
