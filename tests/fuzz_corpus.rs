//! Replays every committed fuzz input (`fuzz/corpus/<target>/` and `fuzz/artifacts/<target>/`)
//! through the same functions the libFuzzer targets call (`fuzz/targets.rs`), so the corpus
//! keeps guarding against regressions without running the fuzzer in CI.

#[path = "../fuzz/targets.rs"]
#[allow(dead_code)]
mod targets;

use std::path::Path;

/// Runs `f` on every file under `fuzz/{corpus,artifacts}/<target>/`; returns how many.
fn replay(target: &str, f: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut count = 0;
    for dir in ["corpus", "artifacts"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths.into_iter().filter(|p| p.is_file()) {
            let bytes = std::fs::read(&path).unwrap();
            let outcome = std::panic::catch_unwind(|| f(&bytes));
            assert!(outcome.is_ok(), "{} panicked", path.display());
            count += 1;
        }
    }
    count
}

#[test]
fn audit_line_corpus() {
    assert!(replay("audit_line", targets::audit_line) >= 17);
}

#[test]
fn audit_event_corpus() {
    assert!(replay("audit_event", targets::audit_event) >= 8);
}

#[test]
fn useragent_corpus() {
    assert!(replay("useragent", targets::useragent) >= 7);
}

#[test]
fn e2e_log_corpus() {
    assert!(replay("e2e_log", targets::e2e_log) >= 6);
}

#[test]
fn junit_corpus() {
    assert!(replay("junit", targets::junit) >= 4);
}

#[test]
fn run_json_corpus() {
    assert!(replay("run_json", targets::run_json) >= 3);
}

#[test]
fn correlate_corpus() {
    assert!(replay("correlate", targets::correlate) >= 3);
}

#[test]
fn gke_entry_corpus() {
    assert!(replay("gke_entry", targets::gke_entry) >= 7);
}

#[test]
fn cri_log_corpus() {
    assert!(replay("cri_log", targets::cri_log) >= 3);
}

#[test]
fn cloudwatch_corpus() {
    assert!(replay("cloudwatch", targets::cloudwatch) >= 3);
}

#[test]
fn log_wrapper_corpus() {
    assert!(replay("log_wrapper", targets::log_wrapper) >= 5);
}

#[test]
fn diff_side_corpus() {
    assert!(replay("diff_side", targets::diff_side) >= 4);
}

#[test]
fn filter_query_corpus() {
    assert!(replay("filter_query", targets::filter_query) >= 12);
}

#[test]
fn document_stream_corpus() {
    assert!(replay("document_stream", targets::document_stream) >= 10);
}
