//! Tests of the run generator: determinism, exact counts, formats, sizes.

use std::collections::BTreeSet;
use std::path::Path;

use auditscope::synth::{SynthOptions, SynthSummary, generate};

fn run(events: u64, specs: u32, seed: u64, dir: &Path) -> SynthSummary {
    let opts = SynthOptions {
        events,
        specs,
        seed,
        ..SynthOptions::default()
    };
    match generate(&opts, dir) {
        Ok(s) => s,
        Err(e) => panic!("generate failed: {e}"),
    }
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

#[test]
fn same_seed_same_bytes_other_seed_differs() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let sa = run(5_000, 8, 7, a.path());
    let sb = run(5_000, 8, 7, b.path());
    let sc = run(5_000, 8, 8, c.path());
    for f in ["audit.log", "entries.log", "e2e.log", "junit_01.xml"] {
        assert_eq!(
            read(&a.path().join(f)),
            read(&b.path().join(f)),
            "{f} differs for the same seed"
        );
    }
    assert_ne!(
        read(&a.path().join("audit.log")),
        read(&c.path().join("audit.log"))
    );
    assert_eq!(
        sa,
        SynthSummary {
            audit_path: sa.audit_path.clone(),
            entries_path: sa.entries_path.clone(),
            e2e_log_path: sa.e2e_log_path.clone(),
            junit_path: sa.junit_path.clone(),
            ..sb
        }
    );
    assert_ne!(sa.spec_names, sc.spec_names);
}

#[test]
fn counts_and_fields_match_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let s = run(20_000, 12, 42, dir.path());
    let audit = read(&s.audit_path);
    assert_eq!(audit.len() as u64, s.bytes);
    let text = String::from_utf8(audit).unwrap();
    let mut ids = BTreeSet::new();
    let mut lines = 0u64;
    let (mut v1beta1, mut truncated, mut spec_ua) = (0u64, BTreeSet::new(), BTreeSet::new());
    for line in text.lines() {
        lines += 1;
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("bad JSON {e}: {line}"));
        for k in [
            "auditID",
            "stage",
            "verb",
            "requestURI",
            "requestReceivedTimestamp",
            "stageTimestamp",
        ] {
            assert!(
                v.get(k).and_then(|x| x.as_str()).is_some(),
                "missing {k}: {line}"
            );
        }
        let id = v["auditID"].as_str().unwrap().to_string();
        if v["apiVersion"] == "audit.k8s.io/v1beta1" {
            v1beta1 += 1;
            assert!(v["timestamp"].is_string() && v["metadata"]["creationTimestamp"].is_string());
        }
        let ua = v["userAgent"].as_str().unwrap_or("");
        if ua.ends_with("...TRUNCATED") {
            assert_eq!(ua.len(), 1024 + "...TRUNCATED".len());
            truncated.insert(id.clone());
        }
        if ua.contains(" -- ") {
            spec_ua.insert(id.clone());
        }
        ids.insert(id);
    }
    assert_eq!(lines, 20_000);
    assert_eq!(s.events, 20_000);
    assert_eq!(ids.len() as u64, s.requests);
    assert_eq!(v1beta1, s.v1beta1_events);
    assert_eq!(truncated.len() as u64, s.truncated_user_agents);
    assert!(s.truncated_user_agents > 20, "{}", s.truncated_user_agents);
    assert!(s.requests_with_stacktrace > 100);
    assert!(spec_ua.len() as u64 <= s.requests_with_spec_ua && spec_ua.len() > 500);
    let ratio = s.events as f64 / s.requests as f64;
    assert!((2.0..2.4).contains(&ratio), "events per request {ratio}");
    let avg = s.bytes as f64 / s.events as f64;
    assert!((1200.0..1800.0).contains(&avg), "bytes per event {avg}");
    let attributed: u64 = s.spec_requests.iter().sum();
    assert_eq!(attributed + s.unattributed_requests, s.requests);
    let share = s.unattributed_requests as f64 / s.requests as f64;
    assert!((0.02..0.10).contains(&share), "unattributed share {share}");
    for ns in &s.spec_namespaces {
        assert!(
            ns.starts_with("e2e-tests-") && text.contains(ns.as_str()),
            "{ns}"
        );
    }
}

#[test]
fn entries_e2e_log_and_junit_have_one_spec_each() {
    let dir = tempfile::tempdir().unwrap();
    let s = run(3_000, 16, 3, dir.path());
    let entries = String::from_utf8(read(&s.entries_path)).unwrap();
    let lines: Vec<&str> = entries.lines().collect();
    assert_eq!(lines.len(), 16 + 1);
    for (l, name) in lines.iter().zip(&s.spec_names) {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        let ls = v["lines"].as_array().unwrap();
        assert_eq!(ls.len(), 3);
        let full = format!(
            "{}{}",
            ls[0].as_str().unwrap(),
            ls[1].as_str().unwrap().trim_start()
        );
        assert_eq!(&full, name);
        assert!(ls[2].as_str().unwrap().contains("/test/e2e/"));
    }
    assert!(lines[16].contains("Running AfterSuite actions on all node"));
    let log = String::from_utf8(read(&s.e2e_log_path)).unwrap();
    assert_eq!(log.lines().filter(|l| l.starts_with("• ")).count(), 16);
    assert_eq!(
        log.lines().filter(|l| *l == "S").count() as u32,
        s.skipped_specs
    );
    let junit = String::from_utf8(read(&s.junit_path)).unwrap();
    assert_eq!(
        junit.matches("<testcase name=\"[It]").count() as u32,
        16 + s.skipped_specs
    );
    assert_eq!(
        junit.matches("status=\"skipped\"").count() as u32,
        s.skipped_specs
    );
    assert_eq!(
        junit.matches("status=\"failed\"").count() as u32,
        s.failed_specs
    );
    assert_eq!(s.skipped_specs, 4);
}

#[test]
fn gzip_output_decompresses_to_the_counted_bytes() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let opts = SynthOptions {
        events: 2_000,
        specs: 3,
        seed: 5,
        gzip: true,
        ..SynthOptions::default()
    };
    let s = generate(&opts, dir.path()).unwrap();
    assert!(s.audit_path.ends_with("audit.log.gz"));
    let gz = read(&s.audit_path);
    assert_eq!(gz.len() as u64, s.file_bytes);
    let mut text = String::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(text.len() as u64, s.bytes);
    assert_eq!(text.lines().count(), 2_000);
}

#[test]
fn zero_specs_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let opts = SynthOptions {
        specs: 0,
        ..SynthOptions::default()
    };
    assert!(generate(&opts, dir.path()).is_err());
}

/// Throughput measurement (release): `cargo test --release --test synth -- --ignored --nocapture`.
#[test]
#[ignore]
fn throughput() {
    for gzip in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let opts = SynthOptions {
            events: 300_000,
            specs: 200,
            seed: 1,
            gzip,
            ..SynthOptions::default()
        };
        let t = std::time::Instant::now();
        let s = generate(&opts, dir.path()).unwrap();
        let secs = t.elapsed().as_secs_f64();
        println!(
            "gzip={gzip}: {} events, {} requests, {} MB ({} MB on disk) in {secs:.2}s = {:.0} MB/s",
            s.events,
            s.requests,
            s.bytes / 1_000_000,
            s.file_bytes / 1_000_000,
            s.bytes as f64 / 1e6 / secs
        );
    }
}
