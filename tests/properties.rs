//! Property tests where the invariant is easy to state:
//! - splitting an audit input into blocks of any size never changes what is read;
//! - a RUN.json written then read gives the same run (written again, the same bytes).
//!
//! Inputs are generated from a mix of real fixture events and damaged lines.

mod common;

use std::sync::OnceLock;

use auditscope::correlate::{Inputs, Options, correlate};
use auditscope::ingest::audit::{ReadOptions, read_audit, read_audit_with_block_size};
use auditscope::run::Accounting;
use auditscope::run::format::{read_run_from_slice, write_run_to};
use proptest::prelude::*;

/// Real event lines: the user-agent example (backtraces) and the v1beta1 demo (stages).
fn real_lines() -> &'static [String] {
    static LINES: OnceLock<Vec<String>> = OnceLock::new();
    LINES.get_or_init(|| {
        let mut lines: Vec<String> = Vec::new();
        for name in [
            "apisnoop-example-user-agent.log",
            "audit2rbac-demo-v1beta1.log.gz",
        ] {
            let text = String::from_utf8(common::fixture_bytes(name)).unwrap();
            lines.extend(text.lines().take(40).map(str::to_string));
        }
        lines
    })
}

/// One line of a generated audit log: a real event, or something damaged.
fn line() -> impl Strategy<Value = String> {
    let n = real_lines().len();
    prop_oneof![
        6 => (0..n).prop_map(|i| real_lines()[i].clone()),
        1 => (0..n, 1usize..200).prop_map(|(i, cut)| {
            let l = &real_lines()[i];
            let mut at = cut.min(l.len());
            while !l.is_char_boundary(at) {
                at -= 1;
            }
            l[..at].to_string()
        }),
        1 => Just(String::new()),
        1 => Just("  \t".to_string()),
        1 => Just("{\"kind\":\"Pod\"}".to_string()),
        1 => "[ -~]{0,40}",
    ]
}

/// A generated audit log: lines joined by `\n` or `\r\n`, with or without a final newline.
fn audit_text() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec(line(), 1..30),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(lines, crlf, final_newline)| {
            let sep = if crlf { "\r\n" } else { "\n" };
            let mut text = lines.join(sep);
            if final_newline {
                text.push_str(sep);
            }
            text.into_bytes()
        })
}

/// Everything the reader gave: `(line, auditID, stage, received)` per event, and the account.
type Read = (Vec<(u64, String, String, Option<i64>)>, Accounting);

fn read(path: &str, block: Option<usize>) -> Result<Read, String> {
    let mut events = Vec::new();
    let mut sink = |ev: &auditscope::ingest::audit::AuditEvent<'_>, line: u64| {
        events.push((
            line,
            ev.audit_id.to_string(),
            ev.stage.to_string(),
            ev.received(),
        ))
    };
    let opts = ReadOptions::default();
    let stats = match block {
        Some(size) => read_audit_with_block_size(path, &opts, size, &mut sink),
        None => read_audit(path, &opts, &mut sink),
    }
    .map_err(|e| e.to_string())?;
    Ok((events, stats.accounting))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn block_size_never_changes_what_is_read(text in audit_text(), block in 1usize..600) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log").display().to_string();
        std::fs::write(&path, &text).unwrap();
        let whole = read(&path, None);
        let split = read(&path, Some(block));
        prop_assert_eq!(&whole, &split);
        if let Ok((events, acc)) = whole {
            prop_assert_eq!(acc.lines, events.len() as u64 + acc.skipped_total());
        }
    }

}

proptest! {
    // Each case correlates and writes the whole embedded endpoint table twice (~0.2 s in debug).
    #![proptest_config(ProptestConfig { cases: 10, ..ProptestConfig::default() })]

    #[test]
    fn run_json_round_trips(text in audit_text()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log").display().to_string();
        std::fs::write(&path, &text).unwrap();
        let inputs = Inputs { audit: vec![path], ..Inputs::default() };
        // An input of damaged lines only holds no events: nothing to round-trip.
        if let Ok(run) = correlate(&inputs, &Options::default()) {
            let mut first = Vec::new();
            write_run_to(&run, &mut first).unwrap();
            let back = read_run_from_slice(&first, "run.json").unwrap();
            let mut second = Vec::new();
            write_run_to(&back, &mut second).unwrap();
            prop_assert!(first == second, "written again, the RUN.json differs");
            prop_assert_eq!(&back.accounting, &run.accounting);
            prop_assert_eq!(back.requests.len(), run.requests.len());
            let a = &back.accounting;
            prop_assert_eq!(
                a.lines,
                back.requests.len() as u64 + a.stage_events_merged + a.skipped_total()
            );
        }
    }
}

/// Every audit fixture reads the same with tiny, odd and huge blocks.
#[test]
fn audit_fixtures_read_the_same_in_any_block_size() {
    for name in [
        "aks-eventhub-kube-audit-records.json",
        "apisnoop-example-user-agent.log",
        "apisnoop-testdata-audit_event.json",
        "audit-eventlist-lines.jsonl",
        "audit-eventlist-v1.json",
        "audit-opensearch-hits.jsonl",
        "audit-opensearch-response.json",
        "audit-opensearch-source.jsonl",
        "audit2rbac-demo-v1beta1.log.gz",
    ] {
        let path = common::fixture(name);
        let whole = read(&path, None).unwrap();
        assert!(!whole.0.is_empty(), "{name}");
        for block in [1, 7, 4096, 1 << 22] {
            assert_eq!(
                read(&path, Some(block)).unwrap(),
                whole,
                "{name} in blocks of {block}"
            );
        }
    }
}

/// RUN.json round trip on runs correlated from the fixtures with their e2e inputs.
#[test]
fn fixture_runs_round_trip() {
    let runs = [
        Inputs {
            audit: vec![common::fixture("apisnoop-example-user-agent.log")],
            ..Inputs::default()
        },
        Inputs {
            audit: vec![common::fixture("audit2rbac-demo-v1beta1.log.gz")],
            junit: vec![common::fixture(
                "k8s-conformance-v1.33-civo-junit_01.excerpt.xml",
            )],
            ..Inputs::default()
        },
        Inputs {
            audit: vec![common::fixture("audit-eventlist-v1.json")],
            e2e_logs: vec![common::fixture(
                "k8s-conformance-v1.33-civo-e2e.log.head.txt",
            )],
            ..Inputs::default()
        },
    ];
    for inputs in runs {
        let run = correlate(&inputs, &Options::default()).unwrap();
        let mut first = Vec::new();
        write_run_to(&run, &mut first).unwrap();
        let back = read_run_from_slice(&first, "run.json").unwrap();
        let mut second = Vec::new();
        write_run_to(&back, &mut second).unwrap();
        assert!(first == second, "{:?}", inputs.audit);
        assert_eq!(back.specs, run.specs);
        assert_eq!(back.accounting, run.accounting);
        assert_eq!(back.inputs, run.inputs);
    }
}

/// Found by `block_size_never_changes_what_is_read`: a lone JSON line after a blank line (or
/// before trailing blanks) was read as a one-line document with the default block size, but
/// as JSON lines when the first block held only the blank line, so its number differed.
#[test]
fn lone_line_between_blank_lines_is_numbered_the_same_in_any_block_size() {
    let dir = tempfile::tempdir().unwrap();
    let event = &real_lines()[0];
    let array = format!("[{event},{event}]");
    for text in [
        format!("\n{event}\n"),
        format!("\n\n  \n{event}"),
        format!("{array}\n\n\n"),
        format!("\r\n{array}\r\n\r\n"),
    ] {
        let path = dir.path().join("audit.log").display().to_string();
        std::fs::write(&path, &text).unwrap();
        let whole = read(&path, None).unwrap();
        for block in [1, 2, 7, 64] {
            assert_eq!(
                read(&path, Some(block)).unwrap(),
                whole,
                "{text:?} in {block}"
            );
        }
    }
}

/// Pieces of filter queries: field names, values, operators, quotes and stray bytes, so that
/// random joins reach the parser's branches rather than only plain words.
const QUERY_PIECES: &[&str] = &[
    "status:",
    "code:",
    "attr:",
    "user:",
    "verb:",
    "op:",
    "slow:",
    "re:",
    "!",
    "\"",
    " ",
    "failed",
    "passed|skipped",
    "4xx",
    "403",
    "500-599",
    "ua|window",
    ">500ms",
    "<2s",
    "(",
    "[",
    "*",
    "|",
    "sig-apps",
    "ü",
    "İ",
    ":",
    "-",
    "ms",
    "s",
    "\t",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// The explorer's filter parser never panics, and a query that parses matches its own text,
    /// sample rows and highlight positions within bounds (the `filter_query` fuzz target's checks).
    #[test]
    fn filter_query_never_panics(
        pieces in proptest::collection::vec(0..QUERY_PIECES.len(), 0..12),
        noise in proptest::collection::vec(any::<u8>(), 0..8),
    ) {
        let mut bytes: Vec<u8> = pieces.iter().flat_map(|&i| QUERY_PIECES[i].bytes()).collect();
        bytes.extend(noise);
        fuzz_targets::filter_query(&bytes);
    }
}

#[path = "../fuzz/targets.rs"]
#[allow(dead_code)]
mod fuzz_targets;
