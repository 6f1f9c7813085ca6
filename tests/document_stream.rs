//! Documents read as a stream (`ingest::document`: scanned, then read again piece by piece)
//! give exactly what reading them whole gives (`read_audit_held_whole`, the way stdin
//! is still read): the same events with the same numbers, the same accounting and the same
//! errors, on every document fixture and on documents cut short, with garbage inside, with
//! invalid UTF-8, concatenated, in arrays, and on one long line; at every block size.

use std::path::Path;

use auditscope::ingest::audit::{
    AuditEvent, AuditStats, ReadOptions, read_audit_held_whole, read_audit_with_block_size,
};
use auditscope::ingest::source::IngestError;

/// A reader: `read_audit_with_block_size` or `read_audit_held_whole`.
type Reader = fn(
    &str,
    &ReadOptions,
    usize,
    &mut dyn FnMut(&AuditEvent<'_>, u64),
) -> Result<AuditStats, IngestError>;

/// Everything a read gives, as text to compare.
fn outcome(read: Reader, path: &str, block: usize, strict: bool) -> (Vec<String>, String) {
    let opts = ReadOptions {
        strict,
        ..ReadOptions::default()
    };
    let mut events = Vec::new();
    let result = read(path, &opts, block, &mut |ev, line| {
        events.push(format!("{line} {ev:?}"));
    });
    let summary = match result {
        Ok(stats) => format!(
            "ok bytes={} lines={} {:?}",
            stats.info.bytes, stats.info.lines, stats.accounting
        ),
        Err(e) => format!("error {e}"),
    };
    (events, summary)
}

/// Reads `data` streamed at several block sizes and held whole: all the same.
fn same(name: &str, data: &[u8], blocks: &[usize]) -> (usize, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("doc.json");
    std::fs::write(&file, data).unwrap();
    let path = file.to_str().unwrap();
    let whole = outcome(read_audit_held_whole, path, 1 << 20, false);
    for &block in blocks {
        let streamed = outcome(read_audit_with_block_size, path, block, false);
        check(&streamed, &whole, &format!("{name}, block {block}"));
        let held = outcome(read_audit_held_whole, path, block, false);
        check(&held, &whole, &format!("{name}, held whole, block {block}"));
    }
    // --strict stops at the same place with the same error.
    let strict_streamed = outcome(read_audit_with_block_size, path, 1 << 20, true);
    let strict_whole = outcome(read_audit_held_whole, path, 1 << 20, true);
    check(&strict_streamed, &strict_whole, &format!("{name}, strict"));
    (whole.0.len(), whole.1)
}

/// Reads `data` streamed at several block sizes: all the same (no comparison with the
/// whole reading, for the inputs where it depended on the block size).
fn streamed_alike(name: &str, data: &[u8], blocks: &[usize]) -> (Vec<String>, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("doc.json");
    std::fs::write(&file, data).unwrap();
    let path = file.to_str().unwrap();
    let first = outcome(read_audit_with_block_size, path, 1 << 20, false);
    for &block in blocks {
        let streamed = outcome(read_audit_with_block_size, path, block, false);
        check(&streamed, &first, &format!("{name}, block {block}"));
    }
    first
}

/// The same outcome, said briefly when not.
fn check(a: &(Vec<String>, String), b: &(Vec<String>, String), what: &str) {
    assert_eq!(a.1, b.1, "{what}");
    assert_eq!(a.0.len(), b.0.len(), "{what}: event count");
    if let Some(i) = (0..a.0.len()).find(|&i| a.0[i] != b.0[i]) {
        panic!("{what}: event {i} differs:\n{}\n{}", a.0[i], b.0[i]);
    }
}

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let data = std::fs::read(&path).unwrap();
    if name.ends_with(".gz") {
        use std::io::Read;
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&data[..])
            .read_to_end(&mut out)
            .unwrap();
        return out;
    }
    data
}

const DOCUMENTS: [&str; 7] = [
    "aks-eventhub-kube-audit-records.json",
    "audit-eventlist-v1.json",
    "audit-opensearch-response.json",
    "eks-cloudwatch-filter-log-events.json",
    "eks-cloudwatch-subscription.json.gz",
    "gke-khi-entries.json",
    "apisnoop-testdata-audit_event.json",
];

#[test]
fn document_fixtures_read_alike() {
    let mut events = 0;
    for name in DOCUMENTS {
        let (n, summary) = same(name, &fixture(name), &[1, 7, 64, 1 << 20]);
        assert!(summary.starts_with("ok"), "{name}: {summary}");
        events += n;
    }
    assert!(events > 20, "{events}");
    // JSON-lines inputs are not documents and keep reading as lines.
    for name in [
        "audit-eventlist-lines.jsonl",
        "audit-opensearch-hits.jsonl",
        "shipper-log-message.jsonl",
        "cri-kube-apiserver.log",
        "gke-khi-mixed.jsonl",
    ] {
        same(name, &fixture(name), &[7, 1 << 20]);
    }
}

/// Where to put something inside a string value: after the first `":"`.
fn inside_a_string(data: &[u8]) -> usize {
    data.windows(3)
        .position(|w| w == b"\":\"")
        .map_or(data.len() / 2, |p| p + 3)
}

#[test]
fn damaged_documents_read_alike() {
    for name in DOCUMENTS {
        let data = fixture(name);
        let len = data.len();
        // Cut short.
        for cut in [1, len / 3, len / 2, len - 3, len - 1] {
            same(&format!("{name} cut at {cut}"), &data[..cut], &[7, 1 << 20]);
        }
        // Garbage in the middle, and right after the document.
        let mut garbage = data[..len / 2].to_vec();
        garbage.extend_from_slice(b"}}garbage{{");
        garbage.extend_from_slice(&data[len / 2..]);
        same(&format!("{name} with garbage"), &garbage, &[7, 1 << 20]);
        let mut after = data.clone();
        after.extend_from_slice(b"\nnot json\n");
        same(&format!("{name} then garbage"), &after, &[7, 1 << 20]);
        // Invalid UTF-8 inside a string: replaced, the document still read.
        let at = inside_a_string(&data);
        let mut bad = data[..at].to_vec();
        bad.extend_from_slice(b"\xff\xfe\xc3");
        bad.extend_from_slice(&data[at..]);
        same(&format!("{name} with invalid UTF-8"), &bad, &[7, 1 << 20]);
        // A control character inside a string: not JSON.
        let mut control = data[..at].to_vec();
        control.push(0x01);
        control.extend_from_slice(&data[at..]);
        same(
            &format!("{name} with a control character"),
            &control,
            &[7, 1 << 20],
        );
        // A byte order mark.
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(&data);
        same(&format!("{name} after a BOM"), &bom, &[7, 1 << 20]);
    }
}

/// A gzip file is decompressed twice (scanned, then read by pieces): as held whole.
#[test]
fn gzip_documents_read_alike() {
    use std::io::Write;
    for name in DOCUMENTS {
        let data = fixture(name);
        for (what, bytes) in [("whole", &data[..]), ("cut short", &data[..data.len() / 2])] {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(bytes).unwrap();
            let gz = gz.finish().unwrap();
            same(&format!("{name} {what}, gzip"), &gz, &[7, 1 << 20]);
        }
    }
}

#[test]
fn concatenated_and_array_documents_read_alike() {
    for name in DOCUMENTS {
        let data = fixture(name);
        let mut twice = data.clone();
        twice.extend_from_slice(b"\n");
        twice.extend_from_slice(&data);
        same(&format!("{name} twice"), &twice, &[7, 1 << 20]);
        let mut array = b"[".to_vec();
        array.extend_from_slice(&data);
        array.extend_from_slice(b",\n");
        array.extend_from_slice(&data);
        array.extend_from_slice(b"]");
        same(&format!("{name} in an array"), &array, &[7, 1 << 20]);
    }
}

/// A document on one line longer than the first block: the scan decides what the first line
/// is, as `is_document` decides when it can see the whole line.
#[test]
fn long_single_line_documents_read_alike() {
    let event = String::from_utf8(fixture("apisnoop-testdata-audit_event.json")).unwrap();
    let event: serde_json::Value = serde_json::from_str(&event).unwrap();
    let event = serde_json::to_string(&event).unwrap();
    let quoted = serde_json::to_string(&event).unwrap();
    let record = format!(r#"{{"category":"kube-audit","properties":{{"log":{quoted}}}}}"#);
    let n = (3 << 20) / record.len() + 1;
    let records = vec![record; n].join(",");
    let doc = format!(r#"{{"records":[{records}]}}"#);
    assert!(doc.len() > 3 << 20);
    let blocks = [4096, 1 << 20];
    let (count, summary) = same("long Event Hubs line", doc.as_bytes(), &blocks);
    assert_eq!(count, n, "{summary}");
    same("long line, newline", format!("{doc}\n").as_bytes(), &blocks);
    same(
        "long line, blanks",
        format!("\n  \n{doc} \r\n \n").as_bytes(),
        &blocks,
    );
    // JSON by itself and more lines after: JSON lines, the line's items numbered 1 and the
    // event after it 2. (Reading it whole, it was a document when what followed the line fit
    // in the reader's last read, lines otherwise: now it is lines whatever the sizes.)
    let (events, summary) = same(
        "long line then an event",
        format!("{doc}\n{event}\n").as_bytes(),
        &blocks,
    );
    assert_eq!(events, n + 1, "{summary}");
    let (events, _) = streamed_alike(
        "long line then an event",
        format!("{doc}\n{event}\n").as_bytes(),
        &blocks,
    );
    assert!(events[n - 1].starts_with("1 ") && events[n].starts_with("2 "));
    let (events, _) = streamed_alike(
        "long line then many events",
        format!("{doc}\n{}", format!("{event}\n").repeat(3000)).as_bytes(),
        &blocks,
    );
    assert_eq!(events.len(), n + 3000);
    same(
        "long line then many events",
        format!("{doc}\n{}", format!("{event}\n").repeat(3000)).as_bytes(),
        &[1 << 20],
    );
    // Two values on the line: a document of two values.
    same(
        "two long values",
        format!("{doc} {doc}").as_bytes(),
        &blocks,
    );
    // Cut short, with garbage: line by line.
    same(
        "long line cut short",
        &doc.as_bytes()[..doc.len() - 2],
        &blocks,
    );
    same(
        "long line cut, then lines",
        format!("{}\n{event}\n", &doc[..doc.len() - 2]).as_bytes(),
        &blocks,
    );
    // A long first line that opens a pretty-printed document.
    let open = format!(
        "{{\"records\":[{records},\n{}\n]}}\n",
        records
            .split_at(records.len() / 2)
            .0
            .rsplit_once(",{\"category\"")
            .unwrap()
            .0
    );
    same("long line opening a document", open.as_bytes(), &blocks);
    // A long CRI line: lines.
    same(
        "long CRI line",
        format!("2026-01-01T00:00:00.000000000Z stdout F {doc}\n").as_bytes(),
        &blocks,
    );
}

/// A pretty-printed CloudWatch document broken after thousands of good items, far past the
/// first blocks (a bad escape, a control byte, an unescaped quote, a cut inside a string):
/// nothing is read from it as a document (the events it gives are those of its lines, as held
/// whole), whatever the block size.
#[test]
fn a_document_broken_after_many_good_items_reads_alike() {
    let event = String::from_utf8(fixture("apisnoop-testdata-audit_event.json")).unwrap();
    let event: serde_json::Value = serde_json::from_str(&event).unwrap();
    let quoted = serde_json::to_string(&serde_json::to_string(&event).unwrap()).unwrap();
    let item = format!(
        "    {{\n      \"logStreamName\": \"kube-apiserver-audit-x\",\n      \"timestamp\": 1767225600000,\n      \"message\": {quoted},\n      \"eventId\": \"1\"\n    }}"
    );
    let n = 3000;
    let doc = format!(
        "{{\n  \"events\": [\n{}\n  ]\n}}\n",
        vec![item; n].join(",\n")
    );
    let blocks = [4096, 1 << 20];
    let (count, summary) = same("many good items", doc.as_bytes(), &blocks);
    assert_eq!(count, n, "{summary}");
    // The last item's message, just past its first escaped quote.
    let at = doc.rfind("\\\"").unwrap() + 2;
    for (what, broken) in [
        ("a bad escape", format!("{}\\q{}", &doc[..at], &doc[at..])),
        (
            "a control byte",
            format!("{}\u{1}{}", &doc[..at], &doc[at..]),
        ),
        ("a bare quote", format!("{}\"{}", &doc[..at], &doc[at..])),
        (
            "a \\u without hex",
            format!("{}\\u12x4{}", &doc[..at], &doc[at..]),
        ),
        ("a cut", doc[..at].to_string()),
    ] {
        let (events, summary) = same(&format!("broken by {what}"), broken.as_bytes(), &blocks);
        // Read as lines: an item's `"message": …` line is not an event by itself.
        assert!(events < n, "{what}: {events} {summary}");
    }
}
