//! What each fuzz target does with its input, shared by the libFuzzer targets in
//! `fuzz_targets/` and by `tests/fuzz_corpus.rs`, which replays the committed corpus through
//! the very same functions (CI does not run the fuzzer). Each function must never panic,
//! whatever the bytes; errors are fine.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use auditscope::correlate::{Inputs, Options, correlate as correlate_run};
use auditscope::ingest::audit::{
    ReadOptions, read_audit, read_audit_held_whole, read_audit_with_block_size,
};
use auditscope::ingest::decode::{cloudwatch as cw, cri, gke};
use auditscope::ingest::e2e::{E2eKind, sniff};
use auditscope::ingest::{entries, ginkgo, junit as junit_reader, useragent as ua};
use auditscope::run::format::{read_run_from_slice, write_run_to};

/// A scratch file, removed when dropped. The public readers take a path (they sniff gzip,
/// stream blocks on a thread), so the fuzzed bytes go through a real file.
pub struct Scratch(pub PathBuf);

impl Scratch {
    /// Writes `bytes` to a new file unique to this process and call.
    pub fn new(bytes: &[u8], tag: &str) -> Scratch {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("auditscope-fuzz-{}-{n}-{tag}", std::process::id()));
        // A fuzz harness with no writable temp dir cannot do anything useful.
        std::fs::write(&path, bytes).expect("write scratch file");
        Scratch(path)
    }

    /// The path as the readers take it.
    pub fn path(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Audit input (any number of lines, or a JSON document) through the public reader, once with
/// the default block size and once with tiny blocks: both must see the same events.
pub fn audit_line(data: &[u8]) {
    read_both_ways(data, "audit");
    fast_as_general(data);
}

/// Each line of `data`, and `data` whole as one value, read alike by the decoder's fast paths
/// (a wrapper read key by key, a string unescaped in one pass, a list item by item) and by its
/// general path (serde_json reading each value whole).
fn fast_as_general(data: &[u8]) {
    use auditscope::ingest::decode::parse_line_as_text as read;
    for line in data.split(|&b| b == b'\n').chain([data]) {
        assert_eq!(
            read(line, true),
            read(line, false),
            "the fast paths read differently"
        );
    }
}

/// Reads `data` as an audit log with the default block size and with 7-byte blocks: the same
/// events, the same accounting, and `lines = events + skipped`; through a memory map (as
/// `correlate` reads a file) at both block sizes, the same again; then once with `--strict`.
fn read_both_ways(data: &[u8], tag: &str) {
    let file = Scratch::new(data, tag);
    let path = file.path();
    let opts = ReadOptions::default();
    let mut big = Vec::new();
    let a = read_audit(&path, &opts, &mut |ev, line| {
        big.push((line, ev.audit_id.to_string(), ev.stage(), ev.received()))
    });
    let mut small = Vec::new();
    let b = read_audit_with_block_size(&path, &opts, 7, &mut |ev, line| {
        small.push((line, ev.audit_id.to_string(), ev.stage(), ev.received()))
    });
    // What the plain read gave, for the reads through the map below.
    let plain = a
        .as_ref()
        .map(|stats| stats.accounting.clone())
        .map_err(|e| e.to_string());
    match (a, b) {
        (Ok(a), Ok(b)) => {
            assert_eq!(big, small, "block size changed the events");
            assert_eq!(
                a.accounting, b.accounting,
                "block size changed the accounting"
            );
            let acc = &a.accounting;
            assert_eq!(
                acc.lines,
                acc.events + acc.skipped_total(),
                "a line neither read nor skipped"
            );
        }
        (Err(_), Err(_)) => {}
        (a, b) => panic!("block size changed the outcome: {a:?} vs {b:?}"),
    }
    let mapped = ReadOptions {
        mapped: true,
        ..ReadOptions::default()
    };
    for block in [auditscope::ingest::audit::DEFAULT_BLOCK_SIZE, 7] {
        let mut through_map = Vec::new();
        let m = read_audit_with_block_size(&path, &mapped, block, &mut |ev, line| {
            through_map.push((line, ev.audit_id.to_string(), ev.stage(), ev.received()))
        });
        match (&plain, m) {
            (Ok(read), Ok(m)) => {
                assert_eq!(big, through_map, "the map changed the events");
                assert_eq!(*read, m.accounting, "the map changed the accounting");
            }
            (Err(_), Err(_)) => {}
            (r, m) => panic!("the map changed the outcome: {r:?} vs {m:?}"),
        }
    }
    let strict = ReadOptions {
        strict: true,
        ..ReadOptions::default()
    };
    let _ = read_audit(&path, &strict, &mut |_, _| {});
}

/// A GKE Cloud Logging entry: decoded directly (an event it gives is complete and timed), its
/// `methodName`/`resourceName` mapping on the first two lines, and the whole input read as a
/// log (an array from `gcloud logging read`, or entries one per line).
pub fn gke_entry(data: &[u8]) {
    if let Ok(ev) = gke::decode(data) {
        assert_eq!(ev.stage(), Some(auditscope::run::Stage::ResponseComplete));
        assert!(ev.received().is_some(), "a GKE event without a time");
        assert!(!ev.audit_id.is_empty() && !ev.verb.is_empty());
    }
    let text = String::from_utf8_lossy(data);
    let mut lines = text.lines();
    let (method, resource) = (lines.next().unwrap_or(""), lines.next().unwrap_or(""));
    let mapped = gke::map_method(method, resource);
    assert!(mapped.uri.starts_with('/'), "{:?}", mapped.uri);
    read_both_ways(data, "gke");
}

/// CRI container log lines: each line split (the content is the line's end), and the input
/// read as a log, `P` parts joined, the same in any block size.
pub fn cri_log(data: &[u8]) {
    for line in data.split(|&b| b == b'\n') {
        if let Some((_, content)) = cri::split(line) {
            assert!(line.ends_with(content) || line.ends_with(b"\r"));
        }
    }
    read_both_ways(data, "cri");
}

/// CloudWatch shapes: S3 export lines split (the message is the line's end), and the input read
/// as a log (`filter-log-events` output, subscription payloads, export lines).
pub fn cloudwatch(data: &[u8]) {
    for line in data.split(|&b| b == b'\n') {
        if let Some(message) = cw::split_export_line(line) {
            assert!(line.ends_with(message) && message.first() == Some(&b'{'));
        }
    }
    read_both_ways(data, "cloudwatch");
}

/// Log shipper records (`{"log":…}`, `{"message":…}`): the input as a log, and the input
/// wrapped as one record's `log` string (also escaped the other usual ways).
pub fn log_wrapper(data: &[u8]) {
    read_both_ways(data, "wrapper");
    let text = String::from_utf8_lossy(data);
    let record = serde_json::json!({"log": text, "stream": "stdout"}).to_string();
    read_both_ways(record.as_bytes(), "wrapped");
    fast_as_general(data);
    fast_as_general(record.as_bytes());
    for record in auditscope::ingest::decode::carried_forms(&text) {
        fast_as_general(record.as_bytes());
    }
}

/// One plain audit event (a line of the API server's log): read alike by the one-pass event
/// scanner (`ingest/decode/event.rs`) and by serde_json (the general path) — as a line, as an
/// event a shipper carries as a string, escaped the usual ways (the scanner reads it as it
/// stands, escaped), as the item of a list, and as a CRI line's content. No file, no reader thread: thousands of inputs
/// a second.
pub fn audit_event(data: &[u8]) {
    fast_as_general(data);
    let text = String::from_utf8_lossy(data);
    for record in auditscope::ingest::decode::carried_forms(&text) {
        fast_as_general(record.as_bytes());
    }
    let list = [&b"["[..], data, b",", data, b"]"].concat();
    fast_as_general(&list);
    // As the content of a CRI `F` line (read in its place when it is one plain event).
    let cri = [&b"2026-01-01T00:00:00.000000000Z stdout F "[..], data].concat();
    fast_as_general(&cri);
}

/// A user agent: parsing never panics, and every part it returns is a piece of the input.
pub fn useragent(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let parsed = ua::parse(&text);
    for part in parsed.base_parts() {
        assert!(text.contains(part), "{part:?} is not in the agent");
    }
    if let Some(spec) = parsed.spec {
        assert!(text.contains(spec));
    }
    if let Some(trace) = parsed.trace {
        for f in trace.frames {
            assert!(text.contains(f.function) && text.contains(f.file));
        }
    }
}

/// An e2e log through content sniffing and every text parser (ginkgo v1, v2, entries.log).
pub fn e2e_log(data: &[u8]) {
    let _ = sniff(data);
    let text = String::from_utf8_lossy(data);
    let _ = ginkgo::parse_ginkgo(&text, E2eKind::GinkgoV1, Some(2018));
    let _ = ginkgo::parse_ginkgo(&text, E2eKind::GinkgoV2, None);
    let _ = entries::parse_entries("fuzz.log", data);
    for line in text.lines().take(64) {
        let _ = ginkgo::step_time(line);
        let _ = ginkgo::parse_step(line, 1);
        let _ = auditscope::ingest::e2e::strip_ansi(line);
    }
}

/// A JUnit file.
pub fn junit(data: &[u8]) {
    let _ = junit_reader::parse_junit("fuzz.xml", data);
}

/// A RUN.json: reading validates every index, so a run that reads must also write, read back
/// the same, and answer every report without panicking.
pub fn run_json(data: &[u8]) {
    // The fast parse (split at the top level, tables on several threads) must read exactly
    // what the one-pass parse reads, and fail with the same message.
    let fast = read_run_from_slice(data, "fuzz.json");
    let one_pass = auditscope::run::format::read_run_one_pass(data, "fuzz.json");
    match (&fast, &one_pass) {
        (Ok(a), Ok(b)) => {
            let (mut x, mut y) = (Vec::new(), Vec::new());
            write_run_to(a, &mut x).expect("write");
            write_run_to(b, &mut y).expect("write");
            assert!(x == y, "the fast and one-pass parses read different runs");
        }
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        _ => panic!(
            "fast parse: {:?}; one-pass parse: {:?}",
            fast.as_ref().err().map(|e| e.to_string()),
            one_pass.as_ref().err().map(|e| e.to_string())
        ),
    }
    let Ok(run) = fast else {
        return;
    };
    // Reading without some columns gives the same run with those fields at their default.
    let skip = auditscope::run::format::Skip::columns(&["audit_id", "line", "latency"]);
    if let Ok(some) = auditscope::run::format::read_run_from_slice_skipping(data, "fuzz.json", skip)
    {
        assert_eq!(some.requests.len(), run.requests.len());
        for (s, r) in some.requests.iter().zip(&run.requests) {
            let mut r = r.clone();
            (r.audit_id, r.line, r.completed) = ("".into(), 0, auditscope::run::NO_TIME);
            assert_eq!(*s, r);
        }
    }
    let mut out = Vec::new();
    write_run_to(&run, &mut out).expect("a run that was read can be written");
    let again = read_run_from_slice(&out, "again.json").expect("a written run reads back");
    assert_eq!(run.requests.len(), again.requests.len());
    reports(&run);
}

/// The whole correlation on small inputs: the data is split at the first `\0\0` into an
/// audit log and an e2e input (whose kind is sniffed).
pub fn correlate(data: &[u8]) {
    let split = data
        .windows(2)
        .position(|w| w == [0, 0])
        .unwrap_or(data.len());
    let (audit, rest) = data.split_at(split);
    let e2e = rest.get(2..).unwrap_or(&[]);
    let audit_file = Scratch::new(audit, "audit");
    let e2e_file = Scratch::new(e2e, "e2e");
    let inputs = Inputs {
        audit: vec![audit_file.path()],
        auto: vec![e2e_file.path()],
        ..Inputs::default()
    };
    if let Ok(run) = correlate_run(&inputs, &Options::default()) {
        let acc = &run.accounting;
        assert_eq!(
            acc.lines,
            run.requests.len() as u64 + acc.stage_events_merged + acc.skipped_total(),
            "accounting does not add up"
        );
        let mut out = Vec::new();
        write_run_to(&run, &mut out).expect("a correlated run can be written");
        read_run_from_slice(&out, "fuzz.json").expect("a correlated run reads back");
        reports(&run);
    }
}

/// Every report, text and JSON, into a buffer.
fn reports(run: &auditscope::run::Run) {
    use auditscope::report;
    let keep = |_: &auditscope::run::Request| true;
    let mut out = Vec::new();
    let _ = report::hits::write_text(&report::hits::hits(run, &keep), &mut out);
    let _ = report::backtraces::write_text(&report::backtraces::backtraces(run, &keep), &mut out);
    let _ = report::events::write_text(run, &keep, &mut out);
    let _ = report::events::write_table(run, &keep, &mut out);
    let _ = report::summary::summary(run).write_text(&mut out);
    let rows = report::tests::tests(run, &|_| true, &keep);
    let _ = report::tests::write_text(&rows, true, &mut out);
    let all = report::filter::RequestFilter::default();
    let _ = report::endpoints::endpoints_report(run, &all).write_text(&mut out);
    let rules = report::coverage::CoverageRules::embedded();
    let opts = report::coverage::CoverageOptions {
        filter: &all,
        count_window: true,
        success_only: true,
        rules: &rules,
    };
    if let Ok(c) = report::coverage::coverage(&[run], &opts) {
        let _ = report::coverage::write_text(&c, &mut out);
    }
    for req in &run.requests {
        let _ = serde_json::to_vec(&report::events::event_json(run, req));
    }
}

/// One side of `auditscope diff`: the bytes are sniffed as a RUN.json, an APISnoop coverage
/// file or raw inputs and reduced to a side; a side that reads compares with itself to no
/// change at all, and the comparison writes as text and JSON.
pub fn diff_side(data: &[u8]) {
    use auditscope::diff::{compare, load_side, write_text};
    let file = Scratch::new(data, "side");
    let opts = auditscope::diff::SideOptions::default();
    if let Ok(side) = load_side(&[file.path()], "old", &opts) {
        let d = compare(&side, &side);
        let e = &d.endpoints;
        assert!(
            e.added.is_empty() && e.removed.is_empty(),
            "a side differs from itself"
        );
        assert!(e.newly_tested.is_empty() && e.no_longer_tested.is_empty());
        assert!(d.tests.added.is_empty() && d.tests.removed.is_empty());
        assert!(d.tests.changed.is_empty());
        assert!(d.gate().is_ok());
        assert!(d.latency.as_ref().is_none_or(|l| l.regressions.is_empty()));
        let mut out = Vec::new();
        let _ = write_text(&d, &mut out);
        let _ = serde_json::to_vec(&d);
    }
}

/// `filter_query`: the explorer's filter parser (`tui::filter::Query::parse`); a query that
/// parses is matched against its own text and a sample row, and its highlight positions
/// stay inside the text.
pub fn filter_query(data: &[u8]) {
    use auditscope::run::{Attribution, SpecStatus};
    use auditscope::tui::filter::{Query, RequestFacts, highlight_positions};
    let text = String::from_utf8_lossy(data);
    let Ok(q) = Query::parse(&text) else {
        return;
    };
    for row in [
        text.as_ref(),
        "[sig-apps] Deployment deployment should delete old replica sets [Conformance]",
        "ünicode İstanbul ǅ",
    ] {
        let _ = q.match_text(row, true);
        let n = row.chars().count();
        assert!(highlight_positions(row, &q).iter().all(|&i| i < n));
    }
    let _ = q.match_status(SpecStatus::Failed);
    let _ = q.match_request(&RequestFacts {
        code: 403,
        attribution: Attribution::Window,
        user: &text,
        verb: "get",
        op: "readCoreV1NamespacedPod",
        latency_us: Some(i64::MAX),
    });
}

/// A document read as a stream (`ingest::document`: scanned, then read piece by piece) and read
/// whole (serde_json reading every value, as before): the same items, or neither reads it as a
/// document; at 1-, 7- and 4096-byte blocks. Then through the public reader: a file read twice
/// (scanned, then read by pieces) and held whole (as stdin is), at 7-byte blocks and
/// the default: the same events, numbers, accounting and errors.
pub fn document_stream(data: &[u8]) {
    use auditscope::ingest::document::{read_by_pieces_as_text, read_whole_as_text};
    let whole = read_whole_as_text(data);
    for block in [1, 7, 4096] {
        assert!(
            read_by_pieces_as_text(data, block) == whole,
            "reading by pieces (block {block}) differs from reading whole"
        );
    }
    let file = Scratch::new(data, "document");
    let path = file.path();
    let opts = ReadOptions::default();
    let read = |streamed: bool, block: usize| {
        let mut events = Vec::new();
        let result = if streamed {
            read_audit_with_block_size(&path, &opts, block, &mut |ev, line| {
                events.push(format!("{line} {ev:?}"))
            })
        } else {
            read_audit_held_whole(&path, &opts, block, &mut |ev, line| {
                events.push(format!("{line} {ev:?}"))
            })
        };
        let summary = match result {
            Ok(s) => format!("{} {} {:?}", s.info.bytes, s.info.lines, s.accounting),
            Err(e) => e.to_string(),
        };
        (events, summary)
    };
    let held = read(false, 1 << 20);
    for block in [7, 1 << 20] {
        assert!(
            read(true, block) == held,
            "streamed (block {block}) differs from held whole"
        );
    }
}
