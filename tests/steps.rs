//! `report steps` on the real ginkgo v2 run (v1.26 e2e.log and JUnit, with a generated audit
//! log): each spec's steps are its `STEP:` lines, and the counts add up to its requests.

mod common;

use std::collections::HashMap;
use std::io::Write;

use auditscope::correlate::{Inputs, Options, correlate};
use auditscope::ingest::e2e::{E2eKind, read_e2e};
use auditscope::ingest::ginkgo::parse_step;
use auditscope::run::{Attribution, NO_TIME};
use common::{bin, fixture, fixture_bytes, list_pods_event, stdout_of};
use serde_json::Value;

/// `2023-02-01T17:08:03.431000Z` from the log's `02/01/23 17:08:03.431`.
fn rfc3339_of_log_time(date: &str, time: &str) -> String {
    let t =
        chrono::NaiveDateTime::parse_from_str(&format!("{date} {time}"), "%m/%d/%y %H:%M:%S%.f")
            .unwrap();
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// The log's own `STEP:` lines, by a reading of the raw text: the spec output prints them
/// at the start of the line (the slow-spec summaries repeat them indented), text then
/// `MM/DD/YY HH:MM:SS.mmm`.
fn raw_steps() -> Vec<(String, String)> {
    let text = String::from_utf8(fixture_bytes("vcluster-v1.26-e2e.log.gz")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let ends_in_time = |l: &str| {
        let w: Vec<&str> = l.rsplitn(3, ' ').collect();
        w.len() >= 2 && w[1].len() == 8 && w[1].as_bytes()[2] == b'/' && w[0].contains(':')
    };
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let Some(first) = l.strip_prefix("STEP: ") else {
            continue;
        };
        // A message holding a newline goes on until the line that ends with the time.
        let mut message = vec![first.trim_end().to_string()];
        let mut last = i;
        while !ends_in_time(lines[last]) {
            last += 1;
            message.push(lines[last].trim_end().to_string());
        }
        let end = message.pop().unwrap();
        let words: Vec<&str> = end.rsplitn(3, ' ').collect();
        let (time, date) = (words[0], words[1]);
        let before = if last == i {
            words[2]
        } else {
            words.get(2).copied().unwrap_or("")
        };
        // Trailing blanks of a message are not kept.
        let before = if last == i {
            before.trim_end().to_string()
        } else {
            before.trim().to_string()
        };
        if last == i {
            message = vec![before];
        } else if !before.is_empty() {
            message.push(before);
        }
        let message: Vec<String> = message.into_iter().filter(|m| !m.is_empty()).collect();
        out.push((message.join("\n"), rfc3339_of_log_time(date, time)));
    }
    out
}

/// Writes an audit log for the run: per spec, one request naming the spec in its user agent
/// shortly after each step that lasts at least 1 ms, one timed long before the run (outside
/// every step), and one kubectl request (no spec name) in the middle of the spec's window.
/// Returns the expected request count of each step, by spec name.
fn write_audit(path: &std::path::Path) -> HashMap<String, (Vec<u64>, u64)> {
    let log = read_e2e(&fixture("vcluster-v1.26-e2e.log.gz"), None, None).unwrap();
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut expected = HashMap::new();
    let mut n = 0u64;
    let mut event = |t: i64, agent: &str| {
        n += 1;
        writeln!(f, "{}", list_pods_event(&format!("id-{n}"), agent, t)).unwrap();
    };
    for (i, spec) in log.specs.iter().filter(|s| !s.suite_node).enumerate() {
        let ua = format!(
            "e2e.test/v1.26.0 (linux/amd64) kubernetes/b69b3b2 -- {}",
            spec.name
        );
        let mut per_step = vec![0u64; spec.steps.len()];
        for (k, step) in spec.steps.iter().enumerate() {
            let next = spec.steps.get(k + 1).map_or(i64::MAX, |s| s.start);
            if next >= step.start + 1_000 {
                event(step.start + 500, &ua);
                per_step[k] += 1;
            }
        }
        event(1_000_000_000_000_000 + i as i64, &ua);
        let mut outside = 1;
        let middle = spec.start + (spec.end - spec.start) / 2;
        event(middle, "kubectl/v1.26.0 (linux/amd64) kubernetes/b69b3b2");
        match spec.steps.iter().rposition(|s| s.start <= middle) {
            Some(k) => per_step[k] += 1,
            None => outside += 1,
        }
        expected.insert(spec.name.clone(), (per_step, outside));
    }
    expected
}

#[test]
fn report_steps_on_the_v126_run_gives_each_specs_step_lines_and_counts_that_add_up() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.log");
    let expected = write_audit(&audit);
    let inputs = Inputs {
        audit: vec![audit.display().to_string()],
        auto: vec![
            fixture("vcluster-v1.26-e2e.log.gz"),
            fixture("vcluster-v1.26-junit_01.xml.gz"),
        ],
        ..Inputs::default()
    };
    let run = correlate(&inputs, &Options::default()).unwrap();
    assert_eq!(
        run.requests
            .iter()
            .filter(|r| r.attribution == Attribution::Window)
            .count(),
        368
    );
    let run_json = dir.path().join("RUN.json");
    auditscope::run::format::write_run(&run, &run_json).unwrap();
    // The steps survive RUN.json.
    let back = auditscope::run::format::read_run(&run_json).unwrap();
    let steps = |r: &auditscope::run::Run| -> Vec<Vec<(String, i64, String)>> {
        r.specs
            .iter()
            .map(|s| {
                s.steps
                    .iter()
                    .map(|st| {
                        (
                            r.str(st.text).to_string(),
                            st.start,
                            r.str(st.location).to_string(),
                        )
                    })
                    .collect()
            })
            .collect()
    };
    assert_eq!(steps(&back), steps(&run));
    assert_eq!(steps(&run).iter().map(Vec::len).sum::<usize>(), 3624);

    let out = stdout_of(
        bin()
            .args(["report", "steps", "--format", "json"])
            .arg(&run_json),
    );
    let report: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(report.len(), 368, "every spec that ran");

    // Every STEP line of the log, in order, and nothing else.
    let got: Vec<(String, String)> = report
        .iter()
        .flat_map(|s| s["steps"].as_array().unwrap().iter())
        .map(|st| {
            assert!(
                st["location"].is_null(),
                "this log prints no step locations"
            );
            (
                st["text"].as_str().unwrap().to_string(),
                st["start"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let raw = raw_steps();
    assert_eq!(raw.len(), 3624);
    if let Some(i) = (0..got.len().max(raw.len())).find(|&i| got.get(i) != raw.get(i)) {
        panic!(
            "step {i} differs: report {:?}, log {:?} ({} in the report)",
            got.get(i),
            raw.get(i),
            got.len()
        );
    }

    // The first spec's steps, as the log prints them.
    let first = &report[0];
    assert_eq!(
        first["spec"],
        "[sig-node] Pods should run through the lifecycle of Pods and PodStatus [Conformance]"
    );
    let texts: Vec<&str> = first["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts[0], "Creating a kubernetes client");
    assert_eq!(
        texts[12],
        "Destroying namespace \"pods-8189\" for this suite."
    );
    assert_eq!(texts.len(), 13);

    // Counts: exactly where each request was put, and they add up to the spec's requests.
    let mut per_spec_requests: HashMap<String, u64> = HashMap::new();
    for r in &run.requests {
        if let Some(s) = run.spec_of(r) {
            *per_spec_requests
                .entry(run.str(s.name).to_string())
                .or_default() += 1;
        }
    }
    for s in &report {
        let name = s["spec"].as_str().unwrap();
        let counts: Vec<u64> = s["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|st| st["requests"].as_u64().unwrap())
            .collect();
        let outside = s["outside_steps"].as_u64().unwrap();
        let (want_steps, want_outside) = &expected[name];
        assert_eq!(&counts, want_steps, "{name}");
        assert_eq!(outside, *want_outside, "{name}");
        assert_eq!(
            counts.iter().sum::<u64>() + outside,
            per_spec_requests[name],
            "{name}"
        );
    }
}

#[test]
fn report_steps_text_and_spec_filter() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.log");
    write_audit(&audit);
    let out = stdout_of(
        bin()
            .args(["report", "steps", "--spec", "should patch a pod status"])
            .arg(&audit)
            .arg(fixture("vcluster-v1.26-e2e.log.gz")),
    );
    insta::assert_snapshot!(out);
}

#[test]
fn step_lines_of_every_ginkgo_shape() {
    let v2 = parse_step(
        "STEP: Creating a kubernetes client 02/01/23 17:08:03.431",
        7,
    )
    .unwrap();
    assert_eq!(v2.text, "Creating a kubernetes client");
    assert_eq!(v2.location, None);
    assert_eq!(v2.line, 7);
    assert_eq!(v2.start, 1_675_271_283_431_000);
    let at = parse_step(
        "STEP: Building a namespace api object, basename hostport @ 10/14/25 02:19:56.987",
        1,
    )
    .unwrap();
    assert_eq!(
        at.text,
        "Building a namespace api object, basename hostport"
    );
    assert_ne!(at.start, NO_TIME);
    // ginkgo v2 -vv adds the location.
    let vv = parse_step(
        "STEP: creating a pod - k8s.io/kubernetes/test/e2e/common/node/pods.go:1082 @ 10/14/25 02:19:56.987",
        1,
    )
    .unwrap();
    assert_eq!(vv.text, "creating a pod");
    assert_eq!(
        vv.location.as_deref(),
        Some("test/e2e/common/node/pods.go:1082")
    );
    assert_eq!(vv.start, at.start);
    // A dash in the text is not a location.
    let dash = parse_step("STEP: scale up - then down @ 10/14/25 02:19:56.987", 1).unwrap();
    assert_eq!(dash.text, "scale up - then down");
    assert_eq!(dash.location, None);
    // ginkgo v1: no time on the line.
    let v1 = parse_step("STEP: Creating a kubernetes client", 1).unwrap();
    assert_eq!(v1.text, "Creating a kubernetes client");
    assert_eq!(v1.start, NO_TIME);
    assert_eq!(parse_step("END STEP: x @ 10/14/25 02:19:56.987", 1), None);
}

#[test]
fn ginkgo_v1_steps_start_at_the_next_time_logged() {
    let log = read_e2e(
        &fixture("apisnoop-20180605-capture-e2e.log.gz"),
        Some(E2eKind::GinkgoV1),
        None,
    )
    .unwrap();
    let with_steps: Vec<_> = log.specs.iter().filter(|s| !s.steps.is_empty()).collect();
    assert!(
        with_steps.len() > 100,
        "{} specs with steps",
        with_steps.len()
    );
    // The services spec of the head of the log: its first step, and the time of the line after it.
    let first = with_steps
        .iter()
        .flat_map(|s| s.steps.iter())
        .find(|s| s.text == "creating service in namespace e2e-tests-services-2r2fw")
        .unwrap();
    assert_eq!(
        chrono::DateTime::from_timestamp_micros(first.start)
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "2018-06-05T03:31:14.248023Z"
    );
}

#[test]
fn ginkgo_v2_at_form_steps_of_the_v133_conformance_log() {
    let log = read_e2e(
        &fixture("k8s-conformance-v1.33-civo-e2e.log.head.txt"),
        None,
        None,
    )
    .unwrap();
    let steps: Vec<(String, String)> = log
        .specs
        .iter()
        .flat_map(|s| s.steps.iter())
        .map(|st| {
            (
                st.text.clone(),
                chrono::DateTime::from_timestamp_micros(st.start)
                    .unwrap()
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            )
        })
        .collect();
    assert_eq!(steps.len(), 11);
    assert_eq!(
        steps[0],
        (
            "Creating a kubernetes client".to_string(),
            "2025-10-14T02:19:56.986Z".to_string()
        )
    );
    assert_eq!(
        steps[10],
        (
            "Destroying namespace \"hostport-5888\" for this suite.".to_string(),
            "2025-10-14T02:20:14.520Z".to_string()
        )
    );
}
