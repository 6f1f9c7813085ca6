//! The 2018 spy's `entries.log`: one JSON object per line,
//! `{"timestamp": "2018-06-05T03:34:03.723486", "lines": [...]}`, one per spec start.
//!
//! The timestamp is UTC without a zone. `lines` holds the spec header printed after a dash
//! separator: container text, spec text, location; some entries carry a stray first line
//! (`S` marks of skipped specs), so the header is the LAST 3 lines. The final entry is the
//! AfterSuite message and becomes a suite node.

use serde::Deserialize;

use crate::ingest::e2e::{SpecRecord, micros_from_parts};
use crate::ingest::source::IngestError;
use crate::run::NO_TIME;

#[derive(Deserialize)]
struct Entry {
    timestamp: String,
    lines: Vec<String>,
}

/// Parses a whole `entries.log`. A line that is not an entry is an error naming the line
/// (the file is small and machine-written: a bad line means a wrong or damaged file).
pub fn parse_entries(
    path: &str,
    bytes: &[u8],
) -> Result<(Vec<SpecRecord>, Vec<String>), IngestError> {
    let mut specs = Vec::new();
    let mut notes = Vec::new();
    let mut stray = 0usize;
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line_no = i as u64 + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let entry: Entry = serde_json::from_slice(raw).map_err(|e| IngestError::Strict {
            path: path.to_string(),
            line: line_no,
            reason: format!("not an entries.log entry: {e}"),
        })?;
        let start = parse_naive_utc(&entry.timestamp).ok_or_else(|| IngestError::Strict {
            path: path.to_string(),
            line: line_no,
            reason: format!("bad timestamp {:?}", entry.timestamp),
        })?;
        if entry.lines.len() > 3 {
            stray += 1;
        }
        let header: Vec<String> = entry
            .lines
            .iter()
            .skip(entry.lines.len().saturating_sub(3))
            .cloned()
            .collect();
        let suite_node = header
            .iter()
            .any(|l| l.contains("Running AfterSuite actions"));
        let mut spec = SpecRecord::named(String::new(), line_no);
        if suite_node {
            spec.name = "[AfterSuite]".to_string();
        } else {
            let first = header.first().map(String::as_str).unwrap_or("");
            let second = header.get(1).map(String::as_str).unwrap_or("");
            spec.name = match (first.trim_end(), second.trim()) {
                ("", s) => s.to_string(),
                (c, "") => c.to_string(),
                (c, s) => format!("{c} {s}"),
            };
            spec.location = header
                .get(2)
                .map(|l| short_location(l.trim()))
                .filter(|l| !l.is_empty());
        }
        spec.header = header;
        spec.suite_node = suite_node;
        spec.start = start;
        spec.end = NO_TIME;
        specs.push(spec);
    }
    let suite = specs.iter().filter(|s| s.suite_node).count();
    notes.push(format!(
        "{} entries: {} specs, {suite} suite nodes; {stray} entries had a stray first line",
        specs.len(),
        specs.len() - suite
    ));
    notes.push("timestamps read as UTC (entries.log carries no zone)".to_string());
    Ok((specs, notes))
}

/// The path of a spec's source from the repository root: `…/k8s.io/kubernetes/test/e2e/x.go:1`
/// becomes `test/e2e/x.go:1`; other paths are kept.
pub fn short_location(loc: &str) -> String {
    match loc.rfind("k8s.io/kubernetes/") {
        Some(i) => loc[i + "k8s.io/kubernetes/".len()..].to_string(),
        None => loc.to_string(),
    }
}

/// Parses `2018-06-05T03:34:03.723486` (optionally ending in `Z`) as UTC.
fn parse_naive_utc(s: &str) -> Option<i64> {
    let s = s.trim().trim_end_matches('Z');
    let (date, time) = s.split_once(['T', ' '])?;
    let mut d = date.splitn(3, '-');
    let year = d.next()?.parse().ok()?;
    let month = d.next()?.parse().ok()?;
    let day = d.next()?.parse().ok()?;
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut t = hms.splitn(3, ':');
    let hour = t.next()?.parse().ok()?;
    let min = t.next()?.parse().ok()?;
    let sec = t.next()?.parse().ok()?;
    let micro = fraction_micros(frac)?;
    micros_from_parts(year, month, day, hour, min, sec, micro)
}

/// Decimal fraction digits (`723486`, `43`, ``) as microseconds.
pub fn fraction_micros(frac: &str) -> Option<u32> {
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut micro = 0u32;
    for (i, b) in frac.bytes().take(6).enumerate() {
        micro += u32::from(b - b'0') * 10u32.pow(5 - i as u32);
    }
    Some(micro)
}
