//! An account of every line: `lines read = requests + stage events merged + lines skipped`.
//!
//! Checked here on every audit fixture in `tests/fixtures/` (found by trying every file, so a
//! new fixture is covered without editing this list's logic), through the library, through
//! RUN.json, and as `report summary` prints it. The bad-input cases that read anything check
//! the same identity in `tests/bad_input.rs` (its `summary` helper).

mod common;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use auditscope::correlate::{CorrelateError, Inputs, Options, correlate};
use auditscope::ingest::source::IngestError;
use auditscope::run::Run;
use auditscope::run::format::{read_run_from_slice, write_run_to};

/// `(lines, requests, stage events merged, skipped)`.
type Account = (u64, u64, u64, u64);

/// The [`Account`] of a run.
fn account(run: &Run) -> Account {
    let a = &run.accounting;
    (
        a.lines,
        run.requests.len() as u64,
        a.stage_events_merged,
        a.skipped_total(),
    )
}

fn assert_identity(name: &str, run: &Run) {
    let (lines, requests, merged, skipped) = account(run);
    assert_eq!(
        lines,
        requests + merged + skipped,
        "{name}: {lines} lines != {requests} requests + {merged} merged + {skipped} skipped"
    );
    // Every event is either a new request or merged into one.
    assert_eq!(run.accounting.events, requests + merged, "{name}: events");
    let per_input: u64 = run.inputs.iter().map(|i| i.lines).sum();
    assert_eq!(per_input, lines, "{name}: input lines");
}

/// Every fixture that could be JSON, correlated alone with its kind detected; the audit ones
/// give a run. Computed once for all tests here (the reads are the slow part).
fn fixture_runs() -> &'static BTreeMap<String, Run> {
    static RUNS: OnceLock<BTreeMap<String, Run>> = OnceLock::new();
    RUNS.get_or_init(read_fixture_runs)
}

fn read_fixture_runs() -> BTreeMap<String, Run> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut runs = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        // `sources/` holds what some fixtures were made from.
        if path.is_dir() {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // Audit logs are JSON: skip the text files (the 2018 output.txt alone is 190k lines).
        let bytes = common::fixture_bytes(&name);
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        if !matches!(first, Some(b'{' | b'[')) {
            continue;
        }
        let inputs = Inputs {
            auto: vec![path.display().to_string()],
            ..Inputs::default()
        };
        match correlate(&inputs, &Options::default()) {
            Ok(run) => {
                runs.insert(name, run);
            }
            // e2e logs and JUnit files (no audit log), files that hold no events, and RUN.json
            // fixtures (runs, not inputs).
            Err(
                CorrelateError::NoAudit
                | CorrelateError::RunGiven { .. }
                | CorrelateError::Ingest(IngestError::NoEvents { .. }),
            ) => {}
            Err(e) => panic!("{name}: {e}"),
        }
    }
    runs
}

#[test]
fn every_audit_fixture_accounts_for_every_line() {
    let runs = fixture_runs();
    let got: Vec<(&str, Account)> = runs
        .iter()
        .map(|(name, run)| (name.as_str(), account(run)))
        .collect();
    assert_eq!(
        got,
        [
            ("aks-eventhub-kube-audit-records.json", (22, 22, 0, 0)),
            ("apisnoop-example-user-agent.log", (8, 8, 0, 0)),
            ("apisnoop-testdata-audit_event.json", (1, 1, 0, 0)),
            ("audit-eventlist-lines.jsonl", (5, 5, 0, 0)),
            ("audit-eventlist-v1.json", (5, 5, 0, 0)),
            ("audit-opensearch-hits.jsonl", (3, 3, 0, 0)),
            ("audit-opensearch-response.json", (4, 4, 0, 0)),
            ("audit-opensearch-source.jsonl", (3, 3, 0, 0)),
            ("audit2rbac-demo-v1beta1.log.gz", (757, 437, 320, 0)),
            ("eks-cloudwatch-filter-log-events.json", (8, 8, 0, 0)),
            ("eks-cloudwatch-subscription.json.gz", (8, 8, 0, 0)),
            ("gke-khi-entries.json", (4, 3, 0, 1)),
            ("gke-khi-mixed.jsonl", (6, 5, 0, 1)),
            ("shipper-log-message.jsonl", (9, 8, 0, 1)),
        ]
    );
    for (name, run) in runs {
        assert_identity(name, run);
    }
}

#[test]
fn run_json_stores_the_account() {
    for (name, run) in fixture_runs() {
        let mut bytes = Vec::new();
        write_run_to(run, &mut bytes).unwrap();
        let back = read_run_from_slice(&bytes, name).unwrap();
        assert_eq!(back.accounting, run.accounting, "{name}");
        assert_eq!(account(&back), account(run), "{name}");
        assert_identity(name, &back);
    }
}

#[test]
fn skipped_lines_are_accounted_with_merged_stages() {
    // Two stages of one request, one of another, then three kinds of bad line.
    let ev = |id: &str, stage: &str| {
        serde_json::json!({"kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": id,
            "stage": stage, "verb": "get", "requestURI": "/api",
            "requestReceivedTimestamp": "2020-01-01T00:00:00Z",
            "stageTimestamp": "2020-01-01T00:00:01Z"})
        .to_string()
    };
    let text = [
        ev("a", "RequestReceived"),
        ev("a", "ResponseComplete"),
        "not json".to_string(),
        ev("b", "ResponseComplete"),
        "{\"kind\":\"Pod\"}".to_string(),
        ev("c", "Nonsense"),
        String::new(),
    ]
    .join("\n");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    std::fs::write(&path, text).unwrap();
    let inputs = Inputs {
        audit: vec![path.display().to_string()],
        ..Inputs::default()
    };
    let run = correlate(&inputs, &Options::default()).unwrap();
    assert_identity("inline", &run);
    let skipped: BTreeMap<&str, u64> = run
        .accounting
        .skipped
        .iter()
        .map(|(k, v)| (k.as_str(), v.count))
        .collect();
    assert_eq!(account(&run).0, 6, "the empty line is not a line read");
    assert_eq!(account(&run).1, 2);
    assert_eq!(account(&run).2, 1);
    assert_eq!(skipped.values().sum::<u64>(), 3, "{skipped:?}");
    assert_eq!(skipped.get("invalid JSON"), Some(&1));
    assert_eq!(skipped.get("not an audit event"), Some(&1));
}

#[test]
fn report_summary_prints_the_check() {
    let out = common::bin()
        .args([
            "report",
            "summary",
            &common::fixture("audit2rbac-demo-v1beta1.log.gz"),
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let check: Vec<&str> = text.lines().filter(|l| l.starts_with("check")).collect();
    assert_eq!(
        check,
        ["check      757 lines = 437 requests + 320 merged + 0 skipped"]
    );
}
