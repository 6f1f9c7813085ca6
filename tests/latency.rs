//! `report latency`: its percentiles equal those computed independently from the audit log's
//! raw lines, and bad or long-running requests are kept apart.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::io::Write;

use auditscope::correlate::{Inputs, Options, correlate};
use auditscope::report::latency::EndpointKey;
use auditscope::synth::{SynthOptions, generate};
use common::{bin, json_of, stdout_of};
use serde_json::Value;

/// Microseconds since the epoch of an RFC 3339 time.
fn micros(v: &Value) -> Option<i64> {
    let t = chrono::DateTime::parse_from_rfc3339(v.as_str()?).ok()?;
    Some(t.timestamp_micros())
}

/// Nearest rank by the book: the value at rank ⌈p·n⌉ of the sorted values.
fn rank(sorted: &[i64], p: f64) -> i64 {
    let r = (p * sorted.len() as f64 - 1e-9).ceil().max(1.0) as usize;
    sorted[r - 1]
}

/// Hand-written events appended to the generated log: a request whose stage time is before
/// its received time, an exec stream logged only as ResponseStarted, and a request that never
/// got past RequestReceived.
const ODD_EVENTS: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"odd-negative","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods/x","verb":"get","user":{"username":"admin"},"userAgent":"kubectl/v1.30.0 (linux/amd64) kubernetes/abc","objectRef":{"resource":"pods","namespace":"default","name":"x","apiVersion":"v1"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2018-06-05T09:00:00.500000Z","stageTimestamp":"2018-06-05T09:00:00.100000Z"}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"odd-exec","stage":"ResponseStarted","requestURI":"/api/v1/namespaces/default/pods/x/exec?command=sh","verb":"create","user":{"username":"admin"},"userAgent":"kubectl/v1.30.0 (linux/amd64) kubernetes/abc","objectRef":{"resource":"pods","subresource":"exec","namespace":"default","name":"x","apiVersion":"v1"},"responseStatus":{"code":101},"requestReceivedTimestamp":"2018-06-05T09:00:01.000000Z","stageTimestamp":"2018-06-05T09:00:01.200000Z"}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"odd-received","stage":"RequestReceived","requestURI":"/api/v1/namespaces/default/pods/y","verb":"get","user":{"username":"admin"},"userAgent":"kubectl/v1.30.0 (linux/amd64) kubernetes/abc","objectRef":{"resource":"pods","namespace":"default","name":"y","apiVersion":"v1"},"requestReceivedTimestamp":"2018-06-05T09:00:02.000000Z","stageTimestamp":"2018-06-05T09:00:02.000000Z"}
"#;

#[test]
fn endpoint_percentiles_equal_those_computed_from_the_raw_log() {
    let dir = tempfile::tempdir().unwrap();
    let opts = SynthOptions {
        events: 30_000,
        specs: 12,
        seed: 7,
        ..SynthOptions::default()
    };
    let s = generate(&opts, dir.path()).unwrap();
    let audit = s.audit_path.clone();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&audit)
        .unwrap()
        .write_all(ODD_EVENTS.as_bytes())
        .unwrap();

    // Correlated once, for the endpoint each audit ID matched and for the command to read.
    let inputs = Inputs {
        audit: vec![audit.display().to_string()],
        auto: vec![
            s.e2e_log_path.display().to_string(),
            s.junit_path.display().to_string(),
        ],
        ..Inputs::default()
    };
    let run = correlate(&inputs, &Options::default()).unwrap();
    let endpoint_of: HashMap<&str, String> = run
        .requests
        .iter()
        .map(|r| {
            (
                &*r.audit_id,
                EndpointKey::of(&run, r).name(&run).to_string(),
            )
        })
        .collect();
    let run_json = dir.path().join("RUN.json");
    auditscope::run::format::write_run(&run, &run_json).unwrap();

    // Independently: the stage events of each audit ID, from the log's lines.
    struct Seen {
        received: Option<i64>,
        last_stage: u8,
        last_time: Option<i64>,
        verb: String,
        subresource: String,
    }
    let stage_rank = |s: &str| match s {
        "RequestReceived" => 0,
        "ResponseStarted" => 1,
        "ResponseComplete" => 2,
        "Panic" => 3,
        _ => 0,
    };
    let mut seen: HashMap<String, Seen> = HashMap::new();
    for line in std::fs::read_to_string(&audit).unwrap().lines() {
        let ev: Value = serde_json::from_str(line).unwrap();
        let id = ev["auditID"].as_str().unwrap().to_string();
        let stage = stage_rank(ev["stage"].as_str().unwrap());
        let received = micros(&ev["requestReceivedTimestamp"]);
        let at = micros(&ev["stageTimestamp"]);
        let e = seen.entry(id).or_insert(Seen {
            received: None,
            last_stage: 0,
            last_time: None,
            verb: ev["verb"].as_str().unwrap().to_string(),
            subresource: ev["objectRef"]["subresource"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        });
        if let Some(r) = received {
            e.received = Some(e.received.map_or(r, |x: i64| x.min(r)));
        }
        if stage >= e.last_stage {
            e.last_stage = stage;
            e.last_time = at.or(e.last_time);
        }
    }
    let mut groups: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let (mut long_running, mut no_latency) = (0u64, 0u64);
    for (id, e) in &seen {
        let stream = matches!(
            e.subresource.as_str(),
            "exec" | "attach" | "portforward" | "proxy"
        );
        if e.verb == "watch" || e.last_stage == 1 || stream {
            long_running += 1;
            continue;
        }
        match (e.last_stage, e.received, e.last_time) {
            (2 | 3, Some(r), Some(t)) if t >= r => groups
                .entry(endpoint_of[id.as_str()].clone())
                .or_default()
                .push(t - r),
            _ => no_latency += 1,
        }
    }
    let ms = |us: i64| us as f64 / 1000.0;
    let expected: BTreeMap<String, (u64, f64, f64, f64, f64)> = groups
        .into_iter()
        .map(|(k, mut v)| {
            v.sort();
            let row = (
                v.len() as u64,
                ms(rank(&v, 0.5)),
                ms(rank(&v, 0.9)),
                ms(rank(&v, 0.99)),
                ms(*v.last().unwrap()),
            );
            (k, row)
        })
        .collect();

    let out = stdout_of(
        bin()
            .args(["report", "latency", "--by", "endpoint", "--format", "json"])
            .arg(&run_json),
    );
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["by"], "endpoint");
    let got: BTreeMap<String, (u64, f64, f64, f64, f64)> = report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["key"].as_str().unwrap().to_string(),
                (
                    g["count"].as_u64().unwrap(),
                    g["p50_ms"].as_f64().unwrap(),
                    g["p90_ms"].as_f64().unwrap(),
                    g["p99_ms"].as_f64().unwrap(),
                    g["max_ms"].as_f64().unwrap(),
                ),
            )
        })
        .collect();
    assert!(expected.len() > 100, "{} endpoints", expected.len());
    assert_eq!(got, expected);
    // Sorted by p99, slowest first.
    let p99s: Vec<f64> = report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["p99_ms"].as_f64().unwrap())
        .collect();
    assert!(p99s.windows(2).all(|w| w[0] >= w[1]));
    // Every request is somewhere: measured, long-running or without a latency.
    assert_eq!(report["long_running"].as_u64().unwrap(), long_running);
    assert_eq!(report["no_latency"].as_u64().unwrap(), no_latency);
    assert!(long_running > 100, "{long_running} long-running");
    let measured: u64 = expected.values().map(|g| g.0).sum();
    assert_eq!(report["measured"].as_u64().unwrap(), measured);
    assert_eq!(
        measured + long_running + no_latency,
        run.requests.len() as u64
    );
    // The 10 slowest, slowest first, equal to the largest latencies measured.
    let slowest = report["slowest"].as_array().unwrap();
    assert_eq!(slowest.len(), 10);
    let max_all = expected.values().map(|g| g.4).fold(0.0, f64::max);
    assert_eq!(slowest[0]["latency_ms"].as_f64().unwrap(), max_all);
    assert!(
        slowest
            .windows(2)
            .all(|w| w[0]["latency_ms"].as_f64() >= w[1]["latency_ms"].as_f64())
    );
    assert!(slowest[0]["uri"].as_str().unwrap().starts_with('/'));
}

#[test]
fn negative_and_missing_latencies_are_counted_apart_and_filters_apply() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.log");
    std::fs::write(&audit, ODD_EVENTS).unwrap();
    let out = stdout_of(bin().args(["report", "latency", "--audit"]).arg(&audit));
    let text = out;
    assert_eq!(
        text,
        "0 requests measured; long-running (watch, exec, attach, port-forward, proxy) kept apart: 1; no latency: 2\n   COUNT     P50 ms     P90 ms     P99 ms     MAX ms  ENDPOINT\n"
    );
    // A filter narrows what is counted.
    let report = json_of(
        bin()
            .args([
                "report", "latency", "--format", "json", "--code", "101", "--audit",
            ])
            .arg(&audit),
    );
    assert_eq!(report["long_running"], 1);
    assert_eq!(report["no_latency"], 0);
}
