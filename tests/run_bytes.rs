//! RUN.json bytes stay as they were: a run written before the request columns were defined
//! once (`src/run/format/columns.rs`) is read and written again byte for byte, through both
//! parses, and reading it without some columns changes only those fields.

mod common;

use common::*;

use auditscope::run::format;

/// `run-v4-golden.json.gz`: see tests/fixtures/PROVENANCE.md for how it was made.
fn golden() -> Vec<u8> {
    fixture_bytes("run-v4-golden.json.gz")
}

/// The bytes with the `generator` value (which names the auditscope version) blanked.
fn without_generator(bytes: &[u8]) -> String {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let start = text.find("\"generator\":\"").unwrap() + "\"generator\":\"".len();
    let end = start + text[start..].find('"').unwrap();
    format!("{}{}", &text[..start], &text[end..])
}

#[test]
fn a_golden_run_json_is_written_back_byte_for_byte() {
    let bytes = golden();
    // The fixture has what the columns can hold: backtraces, agents kept as parts and whole,
    // steps, a release, requests without a time or a latency.
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.starts_with("{\"format\":\"auditscope-run\",\"version\":4,"));
    for run in [
        format::read_run_from_slice(&bytes, "golden").unwrap(),
        format::read_run_one_pass(&bytes, "golden").unwrap(),
    ] {
        assert!(run.requests.len() > 1_000, "{}", run.requests.len());
        assert!(run.traces.len() > 10);
        assert!(run.specs.iter().any(|s| !s.steps.is_empty()));
        assert!(run.release.is_some());
        let mut again = Vec::new();
        format::write_run_to(&run, &mut again).unwrap();
        let (want, got) = (without_generator(&bytes), without_generator(&again));
        assert_eq!(want.len(), got.len());
        assert!(want == got, "RUN.json bytes changed");
    }
}

#[test]
fn reading_without_columns_changes_only_those_fields() {
    let bytes = golden();
    let all = format::read_run_from_slice(&bytes, "golden").unwrap();
    let skip = format::Skip::columns(&["audit_id", "reason", "api_version", "stage_events"]);
    let some = format::read_run_from_slice_skipping(&bytes, "golden", skip).unwrap();
    assert_eq!(some.requests.len(), all.requests.len());
    for (s, a) in some.requests.iter().zip(&all.requests) {
        let mut a = a.clone();
        a.audit_id = "".into();
        a.reason = 0;
        a.object.api_version = 0;
        a.stage_events = 0;
        assert_eq!(*s, a);
    }
}

#[test]
fn report_latency_and_diff_read_runs_as_a_full_read_does() {
    // Both read RUN.json without the columns they do not use: their output is that of the
    // same run given as raw inputs... here, of the run read whole and written again.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("RUN.json");
    std::fs::write(&path, golden()).unwrap();
    let latency = |p: &std::path::Path| {
        bin()
            .args(["report", "latency", "--top", "5", "--format", "json"])
            .arg(p)
            .output()
            .unwrap()
    };
    let out = latency(&path);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // The slowest requests carry their audit IDs (that column is read).
    let slowest = report["slowest"].as_array().unwrap();
    assert_eq!(slowest.len(), 5);
    let run = format::read_run_from_slice(&golden(), "golden").unwrap();
    for s in slowest {
        let id = s["audit_id"].as_str().unwrap();
        assert!(run.requests.iter().any(|r| &*r.audit_id == id), "{id}");
    }
    let want = auditscope::report::latency::latency_report(&run, &|_| true, Default::default(), 5);
    assert_eq!(report, serde_json::to_value(&want).unwrap());
}

#[test]
fn a_diff_side_read_without_columns_is_the_side_of_the_whole_run() {
    use auditscope::diff::{Side, SideKind, SideOptions, load_side};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("RUN.json");
    std::fs::write(&path, golden()).unwrap();
    let shown = path.display().to_string();
    let opts = SideOptions::default();
    let read = load_side(std::slice::from_ref(&shown), "old", &opts).unwrap();
    let run = format::read_run_from_slice(&golden(), "golden").unwrap();
    let whole = Side::from_run(&run, shown, SideKind::Run, &opts).unwrap();
    assert!(read.requests.as_ref().is_some_and(|r| !r.is_empty()));
    assert_eq!(read.requests, whole.requests);
    assert_eq!(read.latency, whole.latency);
    assert_eq!(read.eligible, whole.eligible);
    assert_eq!(read.release, whole.release);
    assert_eq!(
        serde_json::to_value(&read.coverage).unwrap(),
        serde_json::to_value(&whole.coverage).unwrap()
    );
}
