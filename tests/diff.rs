//! `auditscope diff`: APISnoop's published 1.33 and 1.34 coverage files compared with each
//! other (the expected differences are worked out here from the files' JSON, independently
//! of the library), the gate's exit status, errors, filters and the explorer's marks.

mod common;

use std::collections::BTreeSet;

use auditscope::diff::{EndpointMark, SideKind, SideOptions, TestMark, compare, load_side};
use auditscope::report::filter::FilterArgs;
use common::apisnoop::published_differences;
use common::{bin, fixture, fixture_bytes};
use serde_json::Value;

const V133: &str = "apisnoop-coverage-1.33.0.json.gz";
const V134: &str = "apisnoop-coverage-1.34.0.json.gz";

/// The endpoint differences two published files show, computed from their JSON:
/// (added, removed, newly tested, no longer tested).
fn expected(old: &str, new: &str) -> (Vec<String>, Vec<String>, Vec<String>, Vec<String>) {
    let read = |name: &str| -> Value { serde_json::from_slice(&fixture_bytes(name)).unwrap() };
    let [added, removed, newly, lost] = published_differences(&read(old), &read(new));
    (added, removed, newly, lost)
}

/// Runs `auditscope ARGS`; (status, stdout, stderr).
fn run(args: &[&str]) -> (i32, String, String) {
    let out = bin().args(args).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn diff_json(args: &[&str]) -> Value {
    let mut all = vec!["diff", "--format", "json"];
    all.extend_from_slice(args);
    let (status, stdout, stderr) = run(&all);
    assert_eq!(status, 0, "{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn published_files_give_exactly_their_endpoint_differences() {
    let opts = SideOptions::default();
    let old = load_side(&[fixture(V133)], "old", &opts).unwrap();
    let new = load_side(&[fixture(V134)], "new", &opts).unwrap();
    assert_eq!(old.kind, SideKind::Apisnoop);
    assert_eq!(old.release.as_deref(), Some("1.33.0"));
    let d = compare(&old, &new);
    let (added, removed, newly, lost) = expected(V133, V134);
    assert_eq!(
        (added.len(), removed.len(), newly.len(), lost.len()),
        (66, 50, 12, 0)
    );
    assert_eq!(d.endpoints.added, added);
    assert_eq!(d.endpoints.removed, removed);
    assert_eq!(d.endpoints.newly_tested, newly);
    assert_eq!(d.endpoints.no_longer_tested, lost);
    assert!(d.releases_differ);
    // The tests that now hit a newly tested endpoint are listed with it.
    assert_eq!(
        d.endpoints.tests["readCoreV1Namespace"].len(),
        d.endpoints.tests["readCoreV1Namespace"]
            .iter()
            .collect::<BTreeSet<_>>()
            .len()
    );
    assert!(!d.endpoints.tests["readCoreV1Namespace"].is_empty());
    assert_eq!(d.totals.old.total_conformance_eligible_endpoints, 510);
    assert_eq!(d.totals.new.total_conformance_eligible_endpoints, 551);

    // The other way round, the twelve are no longer tested.
    let back = compare(&new, &old);
    let (added, removed, newly, lost) = expected(V134, V133);
    assert_eq!(back.endpoints.added, added);
    assert_eq!(back.endpoints.removed, removed);
    assert_eq!(back.endpoints.newly_tested, newly);
    assert_eq!(back.endpoints.no_longer_tested, lost);
    assert_eq!(back.endpoints.no_longer_tested.len(), 12);
    assert!(back.gate().is_err());
    assert!(d.gate().is_ok());
}

#[test]
fn gate_exits_0_one_way_and_1_the_other() {
    let (status, stdout, stderr) = run(&["diff", "--gate", &fixture(V133), &fixture(V134)]);
    assert_eq!(status, 0, "{stderr}");
    assert_eq!(stderr, "");
    assert!(stdout.starts_with(
        "conformance-eligible coverage 504/510 (98.8%) → 505/551 (91.7%): -7.2 points, +1 tested, +41 eligible; releases differ (1.33.0 → 1.34.0), compared by operationId\n"
    ), "{stdout}");

    let (status, stdout, stderr) = run(&["diff", "--gate", &fixture(V134), &fixture(V133)]);
    assert_eq!(status, 1);
    // The report is still written; the verdict is one line on stderr.
    assert!(
        stdout.contains("endpoints no longer tested: 12\n"),
        "{stdout}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    // Eligibility comes from the 1.33 release table and the one rule set: the two
    // ServiceCIDR writes are not eligible there, so they come last.
    assert_eq!(
        stderr,
        "auditscope: gate: 12 endpoints no longer tested (10 conformance-eligible, listed first): \
         createNetworkingV1IPAddress, deleteNetworkingV1CollectionIPAddress, \
         deleteNetworkingV1IPAddress, listNetworkingV1IPAddress, listNetworkingV1ServiceCIDR, \
         patchNetworkingV1IPAddress, readCoreV1Namespace, readNetworkingV1IPAddress, \
         readNetworkingV1ServiceCIDRStatus, replaceNetworkingV1IPAddress, \
         patchNetworkingV1ServiceCIDR, replaceNetworkingV1ServiceCIDR\n"
    );
}

#[test]
fn json_has_the_documented_keys() {
    let v = diff_json(&[&fixture(V133), &fixture(V134)]);
    let keys = |v: &Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    for k in ["added", "removed", "newly_tested", "no_longer_tested"] {
        assert!(v["endpoints"][k].is_array(), "endpoints.{k}");
    }
    for k in ["added", "removed", "changed"] {
        assert!(v["tests"][k].is_array(), "tests.{k}");
    }
    let changed = &v["tests"]["changed"][0];
    for k in ["test", "gained", "lost"] {
        assert!(changed.get(k).is_some(), "tests.changed[].{k}");
    }
    // Requests are not counted in an APISnoop file.
    assert!(changed["requests_old"].is_null());
    let mut keys = keys(&v["totals"]["old"]);
    keys.sort();
    let mut names = [
        "total endpoints",
        "tested endpoints",
        "total conformance eligible endpoints",
        "tested conformance eligible endpoints",
        "new conformance eligible endpoints",
        "new tested conformance eligible endpoints",
    ];
    names.sort();
    assert_eq!(keys, names);
    assert_eq!(v["totals"]["new"]["tested endpoints"], 497);
    assert_eq!(v["old"]["kind"], "apisnoop");
    assert_eq!(v["releases_differ"], true);
    let (added, ..) = expected(V133, V134);
    assert_eq!(strings(&v["endpoints"]["added"]), added);
}

#[test]
fn filters_apply_to_both_sides() {
    let v = diff_json(&[&fixture(V134), &fixture(V133), "--endpoint", "^read"]);
    assert_eq!(
        strings(&v["endpoints"]["no_longer_tested"]),
        [
            "readCoreV1Namespace",
            "readNetworkingV1IPAddress",
            "readNetworkingV1ServiceCIDRStatus"
        ]
    );
    assert!(
        strings(&v["endpoints"]["removed"])
            .iter()
            .all(|id| id.starts_with("read"))
    );
    // With --spec, an endpoint counts as tested only by the tests left.
    let v = diff_json(&[&fixture(V134), &fixture(V133), "--spec", "NoSuchTest"]);
    assert_eq!(
        strings(&v["endpoints"]["no_longer_tested"]),
        Vec::<String>::new()
    );
    assert_eq!(strings(&v["tests"]["removed"]), Vec::<String>::new());
    let notes = strings(&v["notes"]);
    assert!(
        notes
            .iter()
            .any(|n| n.ends_with("the filters narrow the lists; its totals are as published"))
    );
}

#[test]
fn a_side_of_no_known_kind_is_one_line_and_status_2() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("notes.txt");
    std::fs::write(&junk, "hello\n").unwrap();
    let junk = junk.to_str().unwrap();
    let (status, stdout, stderr) = run(&["diff", junk, &fixture(V134)]);
    assert_eq!(status, 2);
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        format!(
            "auditscope: {junk}: neither a RUN.json, an APISnoop coverage file nor raw inputs (no audit events: 1 line: 1 invalid JSON, first at {junk}:1)\n"
        )
    );
    // A damaged APISnoop file is named too, with the place of the problem.
    let bad = dir.path().join("1.35.0.json");
    std::fs::write(&bad, "{\"spec\": 5}").unwrap();
    let bad = bad.to_str().unwrap();
    let (status, _, stderr) = run(&["diff", bad, &fixture(V134)]);
    assert_eq!(status, 2);
    assert_eq!(
        stderr,
        format!(
            "auditscope: {bad}: not a valid APISnoop coverage file: invalid type: integer `5`, expected a string at line 1 column 10\n"
        )
    );
    // An APISnoop file is a side on its own.
    let (status, _, stderr) = run(&[
        "diff",
        &fixture(V133),
        &fixture(V134),
        "--old",
        &fixture("apisnoop-example-user-agent.log"),
    ]);
    assert_eq!(status, 2);
    assert_eq!(
        stderr,
        format!(
            "auditscope: {}: is an APISnoop coverage file and makes a side on its own; name other inputs for the other side\n",
            fixture(V133)
        )
    );
    let (status, _, stderr) = run(&["diff", &fixture(V133)]);
    assert_eq!(status, 2);
    assert_eq!(
        stderr,
        "auditscope: name two sides to compare: auditscope diff OLD NEW\n"
    );
}

#[test]
fn raw_inputs_against_themselves_change_nothing() {
    let log = fixture("apisnoop-example-user-agent.log");
    let (status, stdout, stderr) = run(&["diff", "--gate", &log, &log]);
    assert_eq!(status, 0, "{stderr}");
    let first = stdout.lines().next().unwrap();
    assert!(
        first.ends_with(": +0.0 points, +0 tested, +0 eligible"),
        "{first}"
    );
    assert!(stdout.contains("\nendpoints newly tested: 0\n"));
    assert!(stdout.contains("\ntests changed: 0\n"));
    assert!(stdout.contains(&format!("old: {log} (raw inputs, ")));
}

#[test]
fn marks_for_the_explorer() {
    let opts = SideOptions {
        filter: FilterArgs::default(),
        ..SideOptions::default()
    };
    let old = load_side(&[fixture(V133)], "old", &opts).unwrap();
    let new = load_side(&[fixture(V134)], "new", &opts).unwrap();
    let d = compare(&old, &new);
    assert_eq!(
        d.endpoint_mark("readCoreV1Namespace"),
        Some(EndpointMark::NewlyTested)
    );
    assert_eq!(
        d.endpoint_mark("createResourceV1DeviceClass"),
        Some(EndpointMark::Added)
    );
    assert_eq!(
        d.endpoint_mark("createResourceV1alpha3DeviceClass"),
        Some(EndpointMark::Removed)
    );
    assert_eq!(d.endpoint_mark("readCoreV1NamespacedPod"), None);
    let changed = &d.tests.changed[0].test;
    assert_eq!(d.test_mark(changed), Some(TestMark::Changed));
    if let Some(added) = d.tests.added.first() {
        assert_eq!(d.test_mark(added), Some(TestMark::Added));
    }
    assert_eq!(d.test_mark("no such test"), None);
    let back = compare(&new, &old);
    assert_eq!(
        back.endpoint_mark("readCoreV1Namespace"),
        Some(EndpointMark::NoLongerTested)
    );
}

/// A run whose requests hit operations by id, each with the given latency in milliseconds.
fn run_with_latencies(requests: &[(&str, &str, i64)]) -> auditscope::run::Run {
    use auditscope::endpoints::EndpointTable;
    use auditscope::run::{Request, Run, Stage};
    let table = EndpointTable::embedded();
    let mut run = Run {
        operations: table.operations().to_vec(),
        ..Run::default()
    };
    for (i, &(verb, op, ms)) in requests.iter().enumerate() {
        let received = 1_700_000_000_000_000 + i as i64 * 1_000_000;
        let request = Request {
            audit_id: format!("id-{i}").into(),
            verb: run.strings.intern(verb),
            uri: run.strings.intern("/api/v1/x"),
            code: 200,
            stage: Stage::ResponseComplete,
            stage_events: 1,
            received,
            completed: received + ms * 1000,
            endpoint: table.find(op),
            ..Request::default()
        };
        run.requests.push(request);
    }
    run
}

#[test]
fn latency_regressions_beyond_the_threshold() {
    use auditscope::diff::{LatencyThreshold, Side, compare_with};
    let old = run_with_latencies(&[
        ("get", "readCoreV1Namespace", 10),
        ("get", "readCoreV1Namespace", 10),
        ("get", "readCoreV1Namespace", 12),
        ("list", "listCoreV1Node", 5),
        ("get", "readCoreV1Node", 40),
    ]);
    let new = run_with_latencies(&[
        // p50 10 → 30 ms: over 1.5× and 10 ms.
        ("get", "readCoreV1Namespace", 30),
        ("get", "readCoreV1Namespace", 30),
        ("get", "readCoreV1Namespace", 31),
        // 1.8× but only 4 ms more: not a regression by default.
        ("list", "listCoreV1Node", 9),
        // Faster.
        ("get", "readCoreV1Node", 20),
        // A watch lasts long by design and is never measured.
        ("watch", "watchCoreV1NodeList", 60_000),
        ("watch", "watchCoreV1NodeList", 60_000),
    ]);
    let opts = SideOptions::default();
    let old = Side::from_run(&old, "old".into(), SideKind::Run, &opts).unwrap();
    let new = Side::from_run(&new, "new".into(), SideKind::Run, &opts).unwrap();
    let d = compare(&old, &new);
    let l = d.latency.as_ref().unwrap();
    assert_eq!(l.threshold, LatencyThreshold::default());
    assert_eq!(l.regressions.len(), 1);
    let r = &l.regressions[0];
    assert_eq!(r.endpoint, "readCoreV1Namespace");
    assert_eq!((r.count_old, r.count_new), (3, 3));
    assert_eq!((r.p50_old_ms, r.p50_new_ms), (10.0, 30.0));
    assert_eq!((r.p99_old_ms, r.p99_new_ms), (12.0, 31.0));
    // A lower bar lists listCoreV1Node too, the larger p99 growth first.
    let d = compare_with(&old, &new, "1.5x,1ms".parse().unwrap());
    let names: Vec<&str> = d
        .latency
        .as_ref()
        .unwrap()
        .regressions
        .iter()
        .map(|r| r.endpoint.as_str())
        .collect();
    assert_eq!(names, ["readCoreV1Namespace", "listCoreV1Node"]);
    let mut text = Vec::new();
    auditscope::diff::write_text(&d, &mut text).unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(text.contains(
        "latency regressions (p50 or p99 over 1.5× and at least 1 ms): 2\n  readCoreV1Namespace  p50 10.0 → 30.0 ms, p99 12.0 → 31.0 ms  (requests 3 → 3)\n  listCoreV1Node  p50 5.0 → 9.0 ms, p99 5.0 → 9.0 ms  (requests 1 → 1)\n"
    ), "{text}");
    // An APISnoop file has no latencies: none are compared.
    let file = load_side(&[fixture(V133)], "old", &opts).unwrap();
    assert!(compare(&file, &new).latency.is_none());
}
