//! Reading e2e run descriptions (ginkgo v1/v2 logs, entries.log, JUnit) from the real fixtures.

use auditscope::ingest::e2e::{
    E2eInput, E2eKind, SpecRecord, combine, micros_from_parts, read_e2e, sniff,
};
use auditscope::ingest::source::read_to_vec;
use auditscope::run::{NO_TIME, SpecStatus};

const FIX: &str = "tests/fixtures";

fn read(name: &str) -> E2eInput {
    read_e2e(&format!("{FIX}/{name}"), None, None).expect("fixture reads")
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, us: u32) -> i64 {
    micros_from_parts(y, mo, d, h, mi, s, us).expect("valid time")
}

fn count(specs: &[SpecRecord], status: SpecStatus) -> usize {
    specs
        .iter()
        .filter(|s| !s.suite_node && s.status == status)
        .count()
}

fn find<'a>(specs: &'a [SpecRecord], name: &str) -> &'a SpecRecord {
    let hits: Vec<_> = specs.iter().filter(|s| s.name == name).collect();
    assert_eq!(hits.len(), 1, "{name}");
    hits[0]
}

#[test]
fn sniff_detects_each_fixture() {
    let cases = [
        ("apisnoop-20180605-entries.log.gz", Some(E2eKind::Entries)),
        (
            "apisnoop-20180605-capture-e2e.log.gz",
            Some(E2eKind::GinkgoV1),
        ),
        ("vcluster-v1.26-e2e.log.gz", Some(E2eKind::GinkgoV2)),
        ("vcluster-v1.34-e2e.log", Some(E2eKind::GinkgoV2)),
        (
            "k8s-conformance-v1.33-civo-e2e.log.head.txt",
            Some(E2eKind::GinkgoV2),
        ),
        (
            "k8s-conformance-v1.33-civo-e2e.log.tail.txt",
            Some(E2eKind::GinkgoV2),
        ),
        ("k8s-e2e-research-junit_01.xml.gz", Some(E2eKind::Junit)),
        ("vcluster-v1.26-junit_01.xml.gz", Some(E2eKind::Junit)),
        ("vcluster-v1.34-junit_01.xml.gz", Some(E2eKind::Junit)),
        (
            "k8s-conformance-v1.33-civo-junit_01.excerpt.xml",
            Some(E2eKind::Junit),
        ),
        ("apisnoop-testdata-audit_event.json", None),
        ("apisnoop-example-user-agent.log", None),
        ("audit2rbac-demo-v1beta1.log.gz", None),
        ("aks-eventhub-kube-audit-records.json", None),
    ];
    for (name, want) in cases {
        let bytes = read_to_vec(&format!("{FIX}/{name}")).expect("read");
        let head = &bytes[..bytes.len().min(64 * 1024)];
        assert_eq!(sniff(head), want, "{name}");
    }
    // An audit event line with a `timestamp` is not an entry.
    assert_eq!(
        sniff(br#"{"kind":"Event","timestamp":"2018-06-19T03:15:27Z","auditID":"x","lines":[]}"#),
        None
    );
    assert_eq!(
        sniff(br#"{"timestamp": "2018-06-05T03:34:03.723486", "lines": ["a", "  b", "  c"]}"#),
        Some(E2eKind::Entries)
    );
}

#[test]
fn entries_log() {
    let input = read("apisnoop-20180605-entries.log.gz");
    assert_eq!(input.kind, E2eKind::Entries);
    assert_eq!(input.specs.len(), 703);
    assert_eq!(input.specs.iter().filter(|s| s.suite_node).count(), 1);
    let first = &input.specs[0];
    assert_eq!(
        first.name,
        "[sig-network] Services should check NodePort out-of-range"
    );
    assert_eq!(
        first.location.as_deref(),
        Some("test/e2e/network/service.go:1077")
    );
    assert_eq!(first.header[0], "[sig-network] Services ");
    assert_eq!(first.header.len(), 3);
    assert_eq!(first.start, utc(2018, 6, 5, 3, 34, 3, 723_486));
    assert_eq!(first.end, NO_TIME);
    assert_eq!(first.line, 1);
    // Interior double spaces are kept as the source has them.
    assert_eq!(
        input.specs[4].name,
        "[sig-storage] PersistentVolumes-local  [Volume type: dir-bindmounted] Set fsGroup for local volume should not set different fsGroups for two pods simultaneously"
    );
    let last = input.specs.last().expect("entries");
    assert!(last.suite_node);
    assert_eq!(last.start, utc(2018, 6, 5, 15, 31, 18, 814_488));
    assert_eq!(last.header[2], "");
    // 179 entries have a stray `S` line first: the header is still the last three lines.
    assert!(
        input
            .notes
            .iter()
            .any(|n| n.contains("179 entries had a stray first line"))
    );
    assert!(input.specs.iter().all(|s| s.header.len() == 3));
    assert!(
        input
            .specs
            .iter()
            .all(|s| s.header[0] != "S" && s.header[0] != "SS")
    );
}

#[test]
fn ginkgo_v1_capture_log() {
    let input = read("apisnoop-20180605-capture-e2e.log.gz");
    assert_eq!(input.kind, E2eKind::GinkgoV1);
    let specs = &input.specs;
    // "Will run 703 of 967": 703 headers, one per spec that was started. Of those, 635 ran
    // (631 passed + 4 failed, "Ran 635 of 967") and 68 were skipped at run time
    // (51 in BeforeEach + 17 in the body). Plus two suite nodes: the BeforeSuite output
    // before the first spec and the AfterSuite lines after the last.
    assert_eq!(specs.len(), 705);
    assert_eq!(specs.iter().filter(|s| s.suite_node).count(), 2);
    assert_eq!(count(specs, SpecStatus::Passed), 631);
    assert_eq!(count(specs, SpecStatus::Failed), 4);
    assert_eq!(count(specs, SpecStatus::Skipped), 68);
    assert_eq!(count(specs, SpecStatus::Unknown), 0);
    assert!(
        input
            .notes
            .iter()
            .any(|n| n == "year 2018 taken from the file")
    );
    assert!(
        input
            .notes
            .iter()
            .any(|n| n == "failure summary names 4 specs, 4 found in the log")
    );

    let before = &specs[0];
    assert_eq!(before.name, "[BeforeSuite]");
    assert_eq!(before.start, utc(2018, 6, 5, 3, 31, 7, 842_000));
    assert_eq!(before.end, utc(2018, 6, 5, 3, 31, 13, 116_000));

    let s = find(
        specs,
        "[sig-network] Services should check NodePort out-of-range",
    );
    assert_eq!(s.status, SpecStatus::Passed);
    assert_eq!(s.duration, Some(8.572));
    assert_eq!(s.start, utc(2018, 6, 5, 3, 34, 3, 722_000));
    assert_eq!(s.end, utc(2018, 6, 5, 3, 34, 12, 294_000));
    assert_eq!(
        s.location.as_deref(),
        Some("test/e2e/network/service.go:1077")
    );
    assert_eq!(
        s.header,
        vec![
            "[sig-network] Services ".to_string(),
            "  should check NodePort out-of-range".to_string(),
            "  /go/src/k8s.io/kubernetes/_output/dockerized/go/src/k8s.io/kubernetes/test/e2e/network/service.go:1077".to_string(),
        ]
    );
    let f = find(
        specs,
        "[sig-network] Loadbalancing: L7 [Slow] Nginx should conform to Ingress spec",
    );
    assert_eq!(f.status, SpecStatus::Failed);
    assert_eq!(f.duration, Some(12.91));

    let after = specs.last().expect("specs");
    assert_eq!(after.name, "[AfterSuite]");
    assert!(after.suite_node);
    assert_eq!(after.start, utc(2018, 6, 5, 15, 31, 18, 813_000));

    // Same specs, in the same order, as the entries.log the 2018 spy wrote from this run.
    let entries = read("apisnoop-20180605-entries.log.gz");
    let log_names: Vec<&str> = specs[1..704].iter().map(|s| s.name.as_str()).collect();
    let entry_names: Vec<&str> = entries.specs[..702]
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(&log_names[1..], &entry_names[..]);
}

#[test]
fn ginkgo_v1_year_hint_when_file_has_none() {
    let text = "Running Suite: Kubernetes e2e suite\nWill run 1 of 2 specs\n\n[sig-x] A \n  does b\n  /go/src/k8s.io/kubernetes/test/e2e/x.go:12\nJun  5 03:31:07.599: INFO: hi\n\n• [SLOW TEST:1.000 seconds]\n";
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("v1.log");
    std::fs::write(&p, text).expect("write");
    let path = p.to_str().expect("utf8");
    let hinted = read_e2e(path, Some(E2eKind::GinkgoV1), Some(2019)).expect("reads");
    assert!(
        hinted
            .notes
            .iter()
            .any(|n| n == "no year in the file: using the given year 2019")
    );
    assert_eq!(hinted.specs.len(), 1);
    assert_eq!(hinted.specs[0].name, "[sig-x] A does b");
    assert_eq!(hinted.specs[0].start, utc(2019, 6, 5, 3, 31, 7, 599_000));
    let none = read_e2e(path, Some(E2eKind::GinkgoV1), None).expect("reads");
    assert_eq!(none.specs[0].start, NO_TIME);
    assert_eq!(none.specs[0].status, SpecStatus::Passed);
}

#[test]
fn ginkgo_v2_vcluster_126_each_spec_once() {
    let input = read("vcluster-v1.26-e2e.log.gz");
    assert_eq!(input.kind, E2eKind::GinkgoV2);
    let specs = &input.specs;
    let tests: Vec<_> = specs.iter().filter(|s| !s.suite_node).collect();
    assert_eq!(tests.len(), 368);
    assert_eq!(count(specs, SpecStatus::Passed), 368);
    let mut names: Vec<&str> = tests.iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(
        names.len(),
        368,
        "a spec summarised again is still one spec"
    );
    let suites: Vec<&str> = specs
        .iter()
        .filter(|s| s.suite_node)
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(
        suites,
        vec![
            "[SynchronizedBeforeSuite]",
            "[SynchronizedAfterSuite]",
            "[ReportAfterSuite] Kubernetes e2e suite report",
            "[ReportAfterSuite] Kubernetes e2e JUnit report"
        ]
    );
    let first = &tests[0];
    assert_eq!(
        first.name,
        "[sig-node] Pods should run through the lifecycle of Pods and PodStatus [Conformance]"
    );
    assert_eq!(first.start, utc(2023, 2, 1, 17, 8, 3, 431_000));
    assert_eq!(first.end, utc(2023, 2, 1, 17, 8, 14, 727_000));
    assert_eq!(first.duration, Some(11.31));
    assert_eq!(
        first.location.as_deref(),
        Some("test/e2e/common/node/pods.go:896")
    );
    assert!(tests.iter().all(|s| s.start != NO_TIME && s.end >= s.start));
}

#[test]
fn ginkgo_v2_civo_excerpts_strip_labels() {
    let head = read("k8s-conformance-v1.33-civo-e2e.log.head.txt");
    let names: Vec<&str> = head.specs.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "[ReportBeforeSuite]",
            "[SynchronizedBeforeSuite]",
            "[sig-network] HostPort validates that there is no conflict between pods with same hostPort but different hostIP and protocol [LinuxOnly] [Conformance]"
        ]
    );
    let spec = &head.specs[2];
    assert_eq!(spec.status, SpecStatus::Passed);
    assert_eq!(spec.duration, Some(17.544));
    assert_eq!(spec.start, utc(2025, 10, 14, 2, 19, 56, 986_000));
    assert_eq!(spec.end, utc(2025, 10, 14, 2, 20, 14, 520_000));
    assert_eq!(
        spec.location.as_deref(),
        Some("test/e2e/network/hostport.go:63")
    );
    // The JUnit excerpt names the same spec without labels.
    let junit = read("k8s-conformance-v1.33-civo-junit_01.excerpt.xml");
    assert_eq!(junit.specs.len(), 13);
    assert!(junit.specs.iter().any(|s| s.name == spec.name));
    let tail = read("k8s-conformance-v1.33-civo-e2e.log.tail.txt");
    assert_eq!(tail.specs.len(), 3);
    assert!(
        tail.specs
            .iter()
            .all(|s| s.suite_node && s.status == SpecStatus::Passed)
    );
}

#[test]
fn ginkgo_v2_compact_log_has_no_names() {
    let input = read("vcluster-v1.34-e2e.log");
    assert_eq!(input.kind, E2eKind::GinkgoV2);
    assert!(input.specs.is_empty());
    assert!(
        input
            .notes
            .iter()
            .any(|n| n.contains("names must come from JUnit"))
    );
}

#[test]
fn junit_files() {
    let v1 = read("k8s-e2e-research-junit_01.xml.gz");
    assert_eq!(v1.specs.len(), 641);
    assert_eq!(count(&v1.specs, SpecStatus::Passed), 147);
    assert_eq!(count(&v1.specs, SpecStatus::Skipped), 494);
    assert_eq!(count(&v1.specs, SpecStatus::Failed), 0);
    let s = find(
        &v1.specs,
        "[sig-network] Services should provide secure master service [Conformance]",
    );
    assert_eq!(s.duration, Some(6.45621956));

    let v126 = read("vcluster-v1.26-junit_01.xml.gz");
    assert_eq!(v126.specs.len(), 7072);
    assert_eq!(count(&v126.specs, SpecStatus::Passed), 368);
    assert_eq!(count(&v126.specs, SpecStatus::Skipped), 6701);
    assert_eq!(v126.specs.iter().filter(|s| s.suite_node).count(), 3);
    assert!(v126.specs.iter().all(|s| !s.name.starts_with("[It] ")));
    assert!(v126.notes.iter().any(|n| n.contains("2023-02-01T17:08:03")));

    let v134 = read("vcluster-v1.34-junit_01.xml.gz");
    assert_eq!(v134.specs.len(), 7136);
    assert_eq!(count(&v134.specs, SpecStatus::Passed), 424);
    assert_eq!(count(&v134.specs, SpecStatus::Skipped), 6708);
    assert_eq!(v134.specs.iter().filter(|s| s.suite_node).count(), 4);
}

#[test]
fn junit_entities_and_cdata() {
    let xml = r#"<?xml version="1.0"?>
<testsuites><testsuite name="s" tests="2" timestamp="2024-01-02T03:04:05">
<testcase name="[It] [sig-x] A &quot;quoted&quot; &amp; &lt;b&gt; --port 0" time="1.5"><failure><![CDATA[boom <here>]]></failure></testcase>
<testcase name="[sig-y] &#65;B" time="0"/>
</testsuite></testsuites>"#;
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("j.xml");
    std::fs::write(&p, xml).expect("write");
    let input = read_e2e(p.to_str().expect("utf8"), None, None).expect("reads");
    assert_eq!(input.kind, E2eKind::Junit);
    assert_eq!(input.specs[0].name, r#"[sig-x] A "quoted" & <b> --port 0"#);
    assert_eq!(input.specs[0].status, SpecStatus::Failed);
    assert_eq!(input.specs[0].duration, Some(1.5));
    assert_eq!(input.specs[0].line, 3);
    assert_eq!(input.specs[1].name, "[sig-y] AB");
    assert_eq!(input.specs[1].status, SpecStatus::Passed);
}

#[test]
fn combine_log_and_junit() {
    let log = read("vcluster-v1.26-e2e.log.gz");
    let junit = read("vcluster-v1.26-junit_01.xml.gz");
    let (specs, notes) = combine(vec![junit, log]);
    // 368 specs that ran (window + passed), 6701 skipped from JUnit (no window), and the
    // 4 suite nodes (3 named by both; the JUnit reporter node is only in the log).
    assert_eq!(specs.len(), 7073);
    let ran: Vec<_> = specs
        .iter()
        .filter(|s| !s.suite_node && s.start != NO_TIME)
        .collect();
    assert_eq!(ran.len(), 368);
    assert!(
        ran.iter()
            .all(|s| s.status == SpecStatus::Passed && s.end != NO_TIME)
    );
    let skipped: Vec<_> = specs
        .iter()
        .filter(|s| s.status == SpecStatus::Skipped)
        .collect();
    assert_eq!(skipped.len(), 6701);
    assert!(
        skipped
            .iter()
            .all(|s| s.start == NO_TIME && s.end == NO_TIME)
    );
    assert_eq!(specs.iter().filter(|s| s.suite_node).count(), 4);
    let pods = find(
        &specs,
        "[sig-node] Pods should run through the lifecycle of Pods and PodStatus [Conformance]",
    );
    // Duration from JUnit (more digits than the log's).
    assert!(
        pods.duration
            .is_some_and(|d| (d - 11.31).abs() < 0.01 && d != 11.31)
    );
    assert_eq!(pods.start, utc(2023, 2, 1, 17, 8, 3, 431_000));
    assert!(notes.iter().any(|n| n.contains(
        "371 testcases matched a logged spec, 6701 only in JUnit (kept without a window); 1 logged specs not in this JUnit"
    )));
}

#[test]
fn combine_compact_log_takes_names_from_junit() {
    let (specs, _) = combine(vec![
        read("vcluster-v1.34-e2e.log"),
        read("vcluster-v1.34-junit_01.xml.gz"),
    ]);
    assert_eq!(specs.len(), 7136);
    assert_eq!(count(&specs, SpecStatus::Passed), 424);
    assert!(specs.iter().all(|s| s.start == NO_TIME));
}

#[test]
fn crlf_and_cut_off_logs() {
    let bytes = read_to_vec(&format!("{FIX}/vcluster-v1.26-e2e.log.gz")).expect("read");
    let text = String::from_utf8(bytes).expect("utf8");
    let dir = tempfile::tempdir().expect("tempdir");
    // CRLF line endings read the same.
    let crlf = text.replace('\n', "\r\n");
    let p = dir.path().join("crlf.log");
    std::fs::write(&p, &crlf).expect("write");
    let a = read_e2e(p.to_str().expect("utf8"), None, None).expect("reads");
    let b = read("vcluster-v1.26-e2e.log.gz");
    assert_eq!(a.specs, b.specs);
    // Cut in the middle of the first spec's output.
    let cut_at = text
        .find("STEP: Building a namespace api object, basename pods")
        .expect("line present");
    let p = dir.path().join("cut.log");
    std::fs::write(&p, &text[..cut_at + 20]).expect("write");
    let cut = read_e2e(p.to_str().expect("utf8"), None, None).expect("reads");
    assert_eq!(cut.specs.len(), 2);
    let last = &cut.specs[1];
    assert_eq!(last.status, SpecStatus::Unknown);
    assert_eq!(last.start, utc(2023, 2, 1, 17, 8, 3, 431_000));
    assert!(
        cut.notes
            .iter()
            .any(|n| n.starts_with("log ends inside spec"))
    );
    // Arbitrary prefixes never panic.
    for n in [0, 1, 100, 1000, 5000, 77_777] {
        let end = (0..=n.min(text.len()))
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        std::fs::write(&p, &text[..end]).expect("write");
        let _ = read_e2e(p.to_str().expect("utf8"), Some(E2eKind::GinkgoV2), None);
        let _ = read_e2e(p.to_str().expect("utf8"), Some(E2eKind::GinkgoV1), None);
        let _ = read_e2e(p.to_str().expect("utf8"), Some(E2eKind::Junit), None);
    }
}
