//! End-to-end correlation on the real fixtures: counts, attribution, and the reports' exact text.

mod common;

use std::io::Write;

use auditscope::correlate::{Inputs, Options, correlate};
use auditscope::run::{Attribution, NO_TIME, Run, SpecStatus};
use common::*;

fn run_of(audit: &[&str], others: &[&str]) -> Run {
    let inputs = Inputs {
        audit: audit.iter().map(|a| fixture(a)).collect(),
        auto: others.iter().map(|a| a.to_string()).collect(),
        ..Inputs::default()
    };
    correlate(&inputs, &Options::default()).expect("correlates")
}

fn attribution(run: &Run, kind: Attribution) -> usize {
    run.requests
        .iter()
        .filter(|r| r.attribution == kind)
        .count()
}

#[test]
fn user_agent_backtraces_are_parsed_for_all_eight_requests() {
    let run = run_of(&["apisnoop-example-user-agent.log"], &[]);
    assert_eq!(run.requests.len(), 8);
    let frames: Vec<usize> = run
        .requests
        .iter()
        .map(|r| run.trace_of(r).expect("has a trace").frames.len())
        .collect();
    assert!(frames.iter().all(|&n| n == 13 || n == 14), "{frames:?}");
    assert_eq!(frames.iter().filter(|&&n| n == 13).count(), 1);
    for r in &run.requests {
        let t = run.trace_of(r).unwrap();
        assert!(!t.truncated);
        let first = run.frames[t.frames[0] as usize];
        assert_eq!(
            run.str(first.function),
            "k8s.io/kubernetes/vendor/k8s.io/client-go/rest.(*Request).Do()"
        );
        assert_eq!(first.line, 805);
        let last = run.frames[*t.frames.last().unwrap() as usize];
        assert_eq!(run.str(last.function), "main.main()");
        assert_eq!(run.str(run.agents[r.agent as usize].product), "kubectl");
    }
    // No spec names and no e2e description: nothing is attributed.
    assert_eq!(attribution(&run, Attribution::None), 8);
}

#[test]
fn backtraces_report_prints_the_2018_form() {
    let out = stdout_of(
        bin()
            .args(["report", "backtraces"])
            .arg(fixture("apisnoop-example-user-agent.log")),
    );
    let text = out;
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "get /api?timeout=32s");
    assert_eq!(
        lines[1],
        "    k8s.io/kubernetes/vendor/k8s.io/client-go/rest.(*Request).Do()"
    );
    assert_eq!(
        lines[2],
        "        _output/local/go/src/k8s.io/kubernetes/vendor/k8s.io/client-go/rest/request.go:805"
    );
    // 8 request lines + 2 lines per frame (7 x 14 + 13 frames).
    assert_eq!(lines.len(), 8 + 2 * (7 * 14 + 13));
}

#[test]
fn stage_events_merge_into_requests() {
    let run = run_of(&["audit2rbac-demo-v1beta1.log.gz"], &[]);
    assert_eq!(run.accounting.lines, 757);
    assert_eq!(run.requests.len(), 437);
    assert_eq!(run.accounting.stage_events_merged, 320);
    assert_eq!(run.accounting.skipped_total(), 0);
    let merged = run.requests.iter().filter(|r| r.stage_events == 2).count();
    assert_eq!(merged, 320);
    assert!(
        run.requests
            .iter()
            .all(|r| r.stage == auditscope::run::Stage::ResponseComplete)
    );
    let forbidden = run.requests.iter().filter(|r| r.code == 403).count();
    let impersonated_403 = run
        .requests
        .iter()
        .filter(|r| r.code == 403 && r.impersonated.is_some())
        .count();
    assert!(forbidden > 0);
    assert_eq!(forbidden, impersonated_403);
}

#[test]
fn rbac_denials_are_listed_with_user_and_impersonation() {
    let out = stdout_of(
        bin()
            .args(["report", "requests", "--code", "403"])
            .arg(fixture("audit2rbac-demo-v1beta1.log.gz")),
    );
    let text = out;
    let rows: Vec<&str> = text.lines().skip(1).collect();
    let run = run_of(&["audit2rbac-demo-v1beta1.log.gz"], &[]);
    assert_eq!(
        rows.len(),
        run.requests.iter().filter(|r| r.code == 403).count()
    );
    assert!(rows[0].starts_with("2017-09-11T19:55:05.000000Z  403 list    system:admin"));
    assert!(rows[0].contains(" bob "));
    assert!(rows[0].ends_with("| /api/v1/namespaces/default/pods | -"));
    // Columns stay aligned whatever the user names' lengths: DECISION starts at the same
    // place on every line.
    let at = text.lines().next().unwrap().find("DECISION").unwrap();
    for row in &rows {
        let prefix: String = row.chars().take(at).collect();
        assert!(prefix.ends_with(' '), "{row}");
        assert!(!row.chars().nth(at).unwrap().is_whitespace(), "{row}");
    }
}

#[test]
fn event_string_matches_the_api_server_form() {
    let out = stdout_of(
        bin()
            .args(["report", "events"])
            .arg(fixture("apisnoop-testdata-audit_event.json")),
    );
    assert_eq!(
        out,
        "2022-02-03T19:34:21.840719Z AUDIT: id=\"8adac407-313f-4ed1-a03d-e1baa262da50\" stage=\"ResponseComplete\" ip=\"34.82.164.162\" method=\"get\" user=\"system:node-problem-detector\" groups=\"\\\"system:authenticated\\\"\" as=\"<self>\" asgroups=\"<lookup>\" user-agent=\"node-problem-detector/v0.8.9\" namespace=\"<none>\" uri=\"/api/v1/nodes/bootstrap-e2e-minion-group-9s5q\" response=\"403\"\n"
    );
}

#[test]
fn every_audit_shape_correlates() {
    let cases: [(&str, usize); 6] = [
        ("aks-eventhub-kube-audit-records.json", 22),
        ("audit-eventlist-v1.json", 0),
        ("audit-eventlist-lines.jsonl", 0),
        ("audit-opensearch-response.json", 0),
        ("audit-opensearch-hits.jsonl", 0),
        ("audit-opensearch-source.jsonl", 0),
    ];
    for (name, expected) in cases {
        let run = run_of(&[name], &[]);
        let n = run.requests.len();
        if expected > 0 {
            assert_eq!(n, expected, "{name}");
        } else {
            assert!(n > 0, "{name}");
        }
        assert_eq!(
            run.accounting.lines,
            run.requests.len() as u64
                + run.accounting.stage_events_merged
                + run.accounting.skipped_total(),
            "{name}"
        );
    }
    let aks = run_of(&["aks-eventhub-kube-audit-records.json"], &[]);
    assert!(
        aks.requests
            .iter()
            .all(|r| r.decision != auditscope::run::Decision::Unknown)
    );
    assert_eq!(aks.requests.iter().filter(|r| r.code == 409).count(), 1);
}

#[test]
fn rotated_logs_merge_in_time_order() {
    let text = String::from_utf8(fixture_bytes("audit2rbac-demo-v1beta1.log.gz")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = lines.split_at(400);
    // The newer half first, as a shell glob of rotated files may list them.
    let first = dir.path().join("audit-1.log");
    let second = dir.path().join("audit-2.log");
    std::fs::write(&first, b.join("\n")).unwrap();
    std::fs::write(&second, a.join("\n")).unwrap();
    let inputs = Inputs {
        audit: vec![first.display().to_string(), second.display().to_string()],
        ..Inputs::default()
    };
    let run = correlate(&inputs, &Options::default()).unwrap();
    assert_eq!(run.requests.len(), 437);
    assert_eq!(run.accounting.stage_events_merged, 320);
    assert!(
        run.requests
            .windows(2)
            .all(|w| w[0].received <= w[1].received)
    );
    assert_eq!(run.inputs.len(), 2);
}

/// Audit events for a real ginkgo v2 run: per spec one request whose user agent names it
/// (timed before the run, so only the name can tie it) and one kubectl request in the middle
/// of its window.
fn audit_for_v126(dir: &std::path::Path) -> (std::path::PathBuf, Vec<String>) {
    let log = auditscope::ingest::e2e::read_e2e(&fixture("vcluster-v1.26-e2e.log.gz"), None, None)
        .unwrap();
    let path = dir.join("audit.log");
    let mut f = std::fs::File::create(&path).unwrap();
    let mut names = Vec::new();
    for (i, spec) in log.specs.iter().filter(|s| !s.suite_node).enumerate() {
        names.push(spec.name.clone());
        let ua = format!(
            "e2e.test/v1.26.0 (linux/amd64) kubernetes/b69b3b2 -- {}",
            spec.name
        );
        let middle = spec.start + (spec.end - spec.start) / 2;
        for (j, (t, agent)) in [
            (1_000_000_000_000_000i64 + i as i64, ua.as_str()),
            (middle, "kubectl/v1.26.0 (linux/amd64) kubernetes/b69b3b2"),
        ]
        .iter()
        .enumerate()
        {
            writeln!(f, "{}", list_pods_event(&format!("{i}-{j}"), agent, *t)).unwrap();
        }
    }
    (path, names)
}

#[test]
fn ginkgo_v2_log_and_junit_attribute_by_name_and_window() {
    let dir = tempfile::tempdir().unwrap();
    let (audit, names) = audit_for_v126(dir.path());
    assert_eq!(names.len(), 368);
    let inputs = Inputs {
        audit: vec![audit.display().to_string()],
        auto: vec![
            fixture("vcluster-v1.26-e2e.log.gz"),
            fixture("vcluster-v1.26-junit_01.xml.gz"),
        ],
        ..Inputs::default()
    };
    let run = correlate(&inputs, &Options::default()).unwrap();
    let ran: Vec<_> = run
        .specs
        .iter()
        .filter(|s| !s.suite_node && s.window_start != NO_TIME)
        .collect();
    assert_eq!(ran.len(), 368, "each spec once");
    assert!(ran.iter().all(|s| s.status == SpecStatus::Passed));
    let skipped = run
        .specs
        .iter()
        .filter(|s| s.status == SpecStatus::Skipped)
        .count();
    assert_eq!(skipped, 6701);
    assert_eq!(attribution(&run, Attribution::Ua), 368);
    assert_eq!(attribution(&run, Attribution::Window), 368);
    assert_eq!(attribution(&run, Attribution::Ambiguous), 0);
    // Both requests of each spec land on that spec.
    let mut per_spec = std::collections::HashMap::new();
    for r in &run.requests {
        *per_spec.entry(r.spec.unwrap()).or_insert(0) += 1;
    }
    assert_eq!(per_spec.len(), 368);
    assert!(per_spec.values().all(|&n| n == 2));
}

#[test]
fn overlapping_windows_are_ambiguous_and_marks_open_windows() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.log");
    let event = |id: &str, t: &str, uri: &str| {
        format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"{id}","stage":"ResponseComplete","requestURI":"{uri}","verb":"get","user":{{"username":"u"}},"userAgent":"kubectl/v1.30.0 (linux/amd64) kubernetes/abc","requestReceivedTimestamp":"{t}","stageTimestamp":"{t}"}}"#
        )
    };
    let lines = [
        event(
            "m1",
            "2024-01-01T00:00:00Z",
            "/apisnoop-mark?test=%5Bsig-apps%5D+first",
        ),
        event("a", "2024-01-01T00:00:05Z", "/api/v1/pods"),
        event(
            "m2",
            "2024-01-01T00:00:10+00:00",
            "/apisnoop-mark?test=second",
        ),
        event("b", "2024-01-01T02:00:12.5+02:00", "/api/v1/nodes"),
    ];
    std::fs::write(&audit, lines.join("\n")).unwrap();
    // Two ginkgo nodes' logs whose specs overlap in time.
    let log = |spec: &str, from: &str, to: &str| {
        format!(
            "Running Suite: Kubernetes e2e suite\n------------------------------\n{spec}\ntest/e2e/x.go:1\n  STEP: one @ 01/01/24 {from}\n  STEP: two @ 01/01/24 {to}\n• [1.000 seconds]\n------------------------------\n"
        )
    };
    let node1 = dir.path().join("node1.log");
    let node2 = dir.path().join("node2.log");
    std::fs::write(&node1, log("[sig-x] alpha works", "00:00:20", "00:00:40")).unwrap();
    std::fs::write(&node2, log("[sig-x] beta works", "00:00:30", "00:00:50")).unwrap();
    let mut lines = lines.to_vec();
    lines.push(event("c", "2024-01-01T00:00:25Z", "/api/v1/a"));
    lines.push(event("d", "2024-01-01T00:00:35Z", "/api/v1/b"));
    lines.push(event("e", "2024-01-01T00:00:45Z", "/api/v1/c"));
    std::fs::write(&audit, lines.join("\n")).unwrap();
    let inputs = Inputs {
        audit: vec![audit.display().to_string()],
        e2e_logs: vec![node1.display().to_string(), node2.display().to_string()],
        ..Inputs::default()
    };
    let run = correlate(&inputs, &Options::default()).unwrap();
    let spec_of = |id: &str| {
        let r = run.requests.iter().find(|r| &*r.audit_id == id).unwrap();
        (
            r.attribution,
            run.spec_of(r).map(|s| run.str(s.name).to_string()),
        )
    };
    assert_eq!(
        spec_of("a"),
        (Attribution::Window, Some("[sig-apps] first".into()))
    );
    assert_eq!(spec_of("b"), (Attribution::Window, Some("second".into())));
    // The last mark's window runs on; the logs' windows overlap it, and each other.
    assert_eq!(spec_of("d").0, Attribution::Ambiguous);
    assert_eq!(spec_of("d").1, None);
}

#[test]
fn entries_log_and_ginkgo_v1_log_give_windows() {
    let dir = tempfile::tempdir().unwrap();
    let (audit, entries, _) = replay_2018(dir.path(), 5);
    let run = correlate(
        &Inputs {
            audit: vec![audit.display().to_string()],
            entries: vec![entries.display().to_string()],
            ..Inputs::default()
        },
        &Options::default(),
    )
    .unwrap();
    assert_eq!(run.specs.iter().filter(|s| !s.suite_node).count(), 5);
    assert_eq!(attribution(&run, Attribution::None), 0);
    assert_eq!(attribution(&run, Attribution::Ambiguous), 0);

    // The ginkgo v1 log of the same run: its year comes from the file.
    let v1 = correlate(
        &Inputs {
            audit: vec![audit.display().to_string()],
            e2e_logs: vec![fixture("apisnoop-20180605-capture-e2e.log.gz")],
            ..Inputs::default()
        },
        &Options::default(),
    )
    .unwrap();
    assert_eq!(v1.specs.iter().filter(|s| !s.suite_node).count(), 703);
    assert!(
        v1.notes.iter().any(|n| n.contains("2018")),
        "{:?}",
        v1.notes
    );
    let first = v1
        .specs
        .iter()
        .filter(|s| s.start != NO_TIME)
        .map(|s| s.start)
        .min()
        .unwrap();
    assert_eq!(
        auditscope::run::time::rfc3339(first)[..10].to_string(),
        "2018-06-05"
    );
}

#[test]
fn stdin_is_read_with_a_dash() {
    let out = stdout_of(
        bin()
            .args(["report", "summary", "--format", "json", "--audit", "-"])
            .write_stdin(fixture_bytes("audit2rbac-demo-v1beta1.log.gz")),
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["lines"], 757);
    assert_eq!(v["requests"], 437);
    assert_eq!(v["stage_events_merged"], 320);
    assert_eq!(v["attribution"]["none"], 437);
    assert_eq!(v["specs"], 0);
    assert!(v["skipped"].as_object().unwrap().is_empty());
}

#[test]
fn report_tests_with_request_filters_lists_only_the_specs_that_hit() {
    let dir = tempfile::tempdir().unwrap();
    let (audit, entries, _) = replay_2018(dir.path(), 8);
    let args = |extra: &[&str]| {
        let mut a: Vec<String> = vec![
            "report".into(),
            "tests".into(),
            "--format".into(),
            "json".into(),
        ];
        a.extend(["--audit".into(), audit.display().to_string()]);
        a.extend(["--entries".into(), entries.display().to_string()]);
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let json = |extra: &[&str]| -> Vec<serde_json::Value> {
        let out = stdout_of(bin().args(args(extra)));
        serde_json::from_str(&out).unwrap()
    };
    let all = json(&[]);
    assert_eq!(all.len(), 8);
    // The operation hit by the fewest specs.
    let hits_of = |name: &str| {
        all.iter()
            .filter(|r| {
                r["operations"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|op| op[0] == name)
            })
            .count()
    };
    let mut ops: Vec<String> = all
        .iter()
        .flat_map(|r| r["operations"].as_array().unwrap().clone())
        .map(|op| op[0].as_str().unwrap().to_string())
        .collect();
    ops.sort();
    ops.dedup();
    let rare = ops
        .iter()
        .min_by_key(|o| (hits_of(o), o.to_string()))
        .unwrap();
    let expected = hits_of(rare);
    let hit = json(&["--endpoint", &format!("^{rare}$")]);
    assert!(expected > 0 && expected < all.len(), "{expected}");
    assert_eq!(hit.len(), expected);
    assert!(json(&["--code", "403"]).is_empty(), "no 403 in the replay");
    assert_eq!(json(&["--spec", "."]).len(), 8);
}

/// `correlate -o` matches requests to operations while it writes (the endpoint column last):
/// the file is the one the library's correlation writes, byte for byte, notes included.
#[test]
fn correlate_o_writes_what_correlation_then_writing_writes() {
    let dir = tempfile::tempdir().unwrap();
    let opts = auditscope::synth::SynthOptions {
        events: 4_000,
        specs: 10,
        ..auditscope::synth::SynthOptions::default()
    };
    let s = auditscope::synth::generate(&opts, dir.path()).unwrap();
    let inputs = [&s.audit_path, &s.e2e_log_path, &s.junit_path].map(|p| p.display().to_string());
    let out = dir.path().join("RUN.json");
    bin()
        .arg("correlate")
        .args(&inputs)
        .args(["--note", "first", "--note", "second", "-o"])
        .arg(&out)
        .assert()
        .success();
    let mut run = correlate(
        &Inputs {
            auto: inputs.to_vec(),
            ..Inputs::default()
        },
        &Options::default(),
    )
    .unwrap();
    run.notes
        .splice(0..0, ["first".to_string(), "second".to_string()]);
    assert!(run.requests.iter().filter(|r| r.endpoint.is_some()).count() > 1_000);
    let mut expected = Vec::new();
    auditscope::run::format::write_run_to(&run, &mut expected).unwrap();
    assert!(std::fs::read(&out).unwrap() == expected);
}

/// An audit log of two requests: the first read received at `first_time`, the second (the
/// run's earliest) on 2018-06-05, the day of the 2018 ginkgo v1 log.
fn two_request_audit(path: &std::path::Path, first_time: &str) {
    let event = |id: &str, time: &str| {
        format!(
            "{{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\",\"auditID\":\"{id}\",\"stage\":\"ResponseComplete\",\"requestURI\":\"/api/v1/namespaces/default/pods\",\"verb\":\"list\",\"user\":{{\"username\":\"admin\"}},\"userAgent\":\"kubectl/v1.12.0\",\"responseStatus\":{{\"code\":200}},\"requestReceivedTimestamp\":\"{time}\",\"stageTimestamp\":\"{time}\"}}\n"
        )
    };
    std::fs::write(
        path,
        event("a", first_time) + &event("b", "2018-06-05T03:40:00.000000Z"),
    )
    .unwrap();
}

/// `correlate -o` reads the e2e inputs while the audit log is read, with the year of the first
/// event read (a ginkgo v1 log's timestamps have none); the run's year is the earliest
/// request's. The file it writes is the one `correlate` and `write_run` write, whether the
/// two years agree (the inputs read ahead are used) or not (they are read again).
#[test]
fn correlate_and_write_reads_e2e_ahead_and_writes_the_same_run() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("same-year", "2018-06-05T04:00:00.000000Z"),
        ("later-year-first", "2019-06-05T04:00:00.000000Z"),
    ];
    for (name, first_time) in cases {
        let audit = dir.path().join(format!("{name}.log"));
        two_request_audit(&audit, first_time);
        let inputs = Inputs {
            audit: vec![audit.display().to_string()],
            e2e_logs: vec![fixture("apisnoop-20180605-capture-e2e.log.gz")],
            ..Inputs::default()
        };
        let written = dir.path().join(format!("{name}-written.json"));
        let returned = auditscope::correlate::correlate_and_write(
            &inputs,
            &Options::default(),
            Vec::new(),
            &written,
        )
        .unwrap();
        let expected_run = correlate(&inputs, &Options::default()).unwrap();
        let expected = dir.path().join(format!("{name}-expected.json"));
        auditscope::run::format::write_run(&expected_run, &expected).unwrap();
        assert_eq!(
            std::fs::read(&written).unwrap(),
            std::fs::read(&expected).unwrap(),
            "{name}"
        );
        assert_eq!(returned.notes, expected_run.notes, "{name}");
        assert_eq!(
            returned.specs.iter().filter(|s| !s.suite_node).count(),
            703,
            "{name}"
        );
    }
}

/// An e2e log on stdin cannot be read twice: `correlate -o` reads it once, after the audit
/// log, even when the first event's year is not the run's.
#[test]
fn correlate_o_reads_an_e2e_log_on_stdin_once() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.log");
    two_request_audit(&audit, "2019-06-05T04:00:00.000000Z");
    let out = dir.path().join("RUN.json");
    stdout_of(
        bin()
            .args(["correlate", "--e2e-log", "-", "-o"])
            .arg(&out)
            .arg(&audit)
            .write_stdin(fixture_bytes("apisnoop-20180605-capture-e2e.log.gz")),
    );
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let specs = v["specs"].as_array().unwrap();
    let named = |s: &&serde_json::Value| s["suite_node"] != serde_json::Value::Bool(true);
    assert_eq!(specs.iter().filter(named).count(), 703);
}
