//! `report endpoints`: which operations the run hit, how often, from which specs.

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};

use serde::Serialize;

use super::filter::{RequestFilter, unmatched_key};
use crate::run::{Attribution, Micros, NO_TIME, OpId, Run, SpecId};

/// Requests of one operation by how they were tied to a spec.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ByAttribution {
    pub ua: u64,
    pub window: u64,
    pub ambiguous: u64,
    pub none: u64,
}

/// One operation that was hit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndpointRow {
    /// operationId.
    pub endpoint: String,
    pub method: String,
    pub path: String,
    pub hits: u64,
    /// Distinct specs whose requests hit it.
    pub specs: u64,
    /// Of those, the `[Conformance]` specs.
    pub conformance_specs: u64,
    /// First and last request time, UTC RFC 3339; `None` when no request had a time.
    pub first: Option<String>,
    pub last: Option<String>,
    pub by_attribution: ByAttribution,
}

/// Requests no operation matched, by `verb path`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnmatchedRow {
    /// `verb path`, query string dropped.
    pub request: String,
    pub hits: u64,
    /// The releases whose table has an operation for it (`1.17-1.24`), when the run's
    /// release has none; empty when no release has one.
    pub other_releases: String,
}

/// The endpoints report (`--format json` serializes it as is).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndpointsReport {
    /// Requests that passed the filter.
    pub requests: u64,
    /// Of those, requests matched to an operation.
    pub matched: u64,
    /// Operations hit, by hits descending then operationId.
    pub endpoints: Vec<EndpointRow>,
    /// Unmatched requests, by hits descending then key.
    pub unmatched: Vec<UnmatchedRow>,
}

#[derive(Default)]
struct Acc {
    hits: u64,
    specs: HashSet<SpecId>,
    first: Micros,
    last: Micros,
    by: ByAttribution,
}

/// Formats microseconds since the epoch as UTC RFC 3339 (`None` for [`NO_TIME`]).
pub fn rfc3339(t: Micros) -> Option<String> {
    if t == NO_TIME {
        return None;
    }
    chrono::DateTime::from_timestamp_micros(t)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
}

/// Counts the filtered requests of `run` per operation.
pub fn endpoints_report(run: &Run, filter: &RequestFilter) -> EndpointsReport {
    let mut per_op: HashMap<OpId, Acc> = HashMap::new();
    let mut unmatched: HashMap<String, u64> = HashMap::new();
    let (mut requests, mut matched) = (0u64, 0u64);
    for req in &run.requests {
        if !filter.matches(run, req) {
            continue;
        }
        requests += 1;
        let Some(op) = req.endpoint.filter(|&o| o.index() < run.operations.len()) else {
            *unmatched.entry(unmatched_key(run, req)).or_default() += 1;
            continue;
        };
        matched += 1;
        let acc = per_op.entry(op).or_insert_with(|| Acc {
            first: NO_TIME,
            last: NO_TIME,
            ..Acc::default()
        });
        acc.hits += 1;
        if let Some(spec) = req.spec {
            acc.specs.insert(spec);
        }
        if req.received != NO_TIME {
            if acc.first == NO_TIME || req.received < acc.first {
                acc.first = req.received;
            }
            if acc.last == NO_TIME || req.received > acc.last {
                acc.last = req.received;
            }
        }
        match req.attribution {
            Attribution::Ua => acc.by.ua += 1,
            Attribution::Window => acc.by.window += 1,
            Attribution::Ambiguous => acc.by.ambiguous += 1,
            Attribution::None => acc.by.none += 1,
        }
    }
    let mut endpoints: Vec<EndpointRow> = per_op
        .into_iter()
        .filter_map(|(op, acc)| {
            let o = run.operations.get(op.index())?;
            let conformance_specs = acc
                .specs
                .iter()
                .filter(|&&s| run.specs.get(s.index()).is_some_and(|s| s.conformance))
                .count() as u64;
            Some(EndpointRow {
                endpoint: o.id.clone(),
                method: o.method.clone(),
                path: o.path.clone(),
                hits: acc.hits,
                specs: acc.specs.len() as u64,
                conformance_specs,
                first: rfc3339(acc.first),
                last: rfc3339(acc.last),
                by_attribution: acc.by,
            })
        })
        .collect();
    endpoints.sort_by(|a, b| {
        b.hits
            .cmp(&a.hits)
            .then_with(|| a.endpoint.cmp(&b.endpoint))
    });
    // Built only when something is unmatched, and asked once per distinct `verb path`.
    let tables = (!unmatched.is_empty())
        .then(|| crate::endpoints::ReleaseTables::new(crate::endpoints::Catalog::embedded()));
    let mut unmatched: Vec<UnmatchedRow> = unmatched
        .into_iter()
        .map(|(request, hits)| {
            let (verb, path) = request.split_once(' ').unwrap_or(("", &request));
            let other_releases = tables
                .as_ref()
                .map(|t| t.matching(verb, path).to_text())
                .unwrap_or_default();
            UnmatchedRow {
                request,
                hits,
                other_releases,
            }
        })
        .collect();
    unmatched.sort_by(|a, b| b.hits.cmp(&a.hits).then_with(|| a.request.cmp(&b.request)));
    EndpointsReport {
        requests,
        matched,
        endpoints,
        unmatched,
    }
}

impl EndpointsReport {
    /// Writes the report as aligned columns for people.
    pub fn write_text(&self, w: &mut dyn Write) -> io::Result<()> {
        writeln!(
            w,
            "{} requests, {} matched to {} operations, {} unmatched",
            self.requests,
            self.matched,
            self.endpoints.len(),
            self.requests - self.matched
        )?;
        if !self.endpoints.is_empty() {
            let header = [
                "ENDPOINT", "HITS", "SPECS", "CONF", "UA", "WINDOW", "AMBIG", "NONE", "FIRST",
                "LAST",
            ];
            let rows: Vec<[String; 10]> = self
                .endpoints
                .iter()
                .map(|r| {
                    [
                        r.endpoint.clone(),
                        r.hits.to_string(),
                        r.specs.to_string(),
                        r.conformance_specs.to_string(),
                        r.by_attribution.ua.to_string(),
                        r.by_attribution.window.to_string(),
                        r.by_attribution.ambiguous.to_string(),
                        r.by_attribution.none.to_string(),
                        r.first.clone().unwrap_or_else(|| "-".into()),
                        r.last.clone().unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect();
            writeln!(w)?;
            write_table(
                w,
                &header,
                &rows,
                &[
                    false, true, true, true, true, true, true, true, false, false,
                ],
            )?;
        }
        if !self.unmatched.is_empty() {
            writeln!(w)?;
            let rows: Vec<[String; 3]> = self
                .unmatched
                .iter()
                .map(|r| {
                    let other = if r.other_releases.is_empty() {
                        "-".to_string()
                    } else {
                        r.other_releases.clone()
                    };
                    [r.hits.to_string(), other, r.request.clone()]
                })
                .collect();
            write_table(
                w,
                &["HITS", "MATCHED IN", "UNMATCHED REQUEST"],
                &rows,
                &[true, false, false],
            )?;
        }
        Ok(())
    }
}

/// Writes rows under a header, each column as wide as its widest cell (by characters);
/// `right[i]` right-aligns column `i`. The last column is not padded. Cells come from the
/// inputs (request paths, operation names), so their control characters are shown escaped.
fn write_table<const N: usize>(
    w: &mut dyn Write,
    header: &[&str; N],
    rows: &[[String; N]],
    right: &[bool; N],
) -> io::Result<()> {
    let rows: Vec<[String; N]> = rows
        .iter()
        .map(|row| std::array::from_fn(|i| crate::text::escape_control(&row[i]).into_owned()))
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |w: &mut dyn Write, cells: [&str; N]| -> io::Result<()> {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            let pad = widths[i].saturating_sub(cell.chars().count());
            if right[i] {
                out.extend(std::iter::repeat_n(' ', pad));
                out.push_str(cell);
            } else {
                out.push_str(cell);
                if i + 1 < N {
                    out.extend(std::iter::repeat_n(' ', pad));
                }
            }
        }
        writeln!(w, "{}", out.trim_end())
    };
    line(w, *header)?;
    for row in &rows {
        line(w, std::array::from_fn(|i| row[i].as_str()))?;
    }
    Ok(())
}
