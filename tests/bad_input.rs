//! The bad-input matrix: each case drives the real binary and asserts its exact outcome, one of
//! - read correctly (the counts are asserted);
//! - skipped and counted, with reason and line number (`report summary --format json`);
//! - a one-line error on stderr naming the file, exit status 2, and no `-o` output or
//!   temporary file left behind.
//!
//! Never a panic, never a hang: every run has a timeout. The inputs are written at test time
//! into a temporary folder, and the binary runs there so the paths in messages are short.

mod common;

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

/// What one run of the binary gave.
struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs the binary in `dir` with a timeout, checking it did not panic.
fn run_in(dir: &Path, args: &[&str]) -> Outcome {
    let out = common::bin()
        .current_dir(dir)
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let outcome = Outcome {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        outcome.code.is_some(),
        "killed (timeout?): {args:?}\n{}",
        outcome.stderr
    );
    assert!(
        !outcome.stderr.contains("panicked"),
        "{args:?} panicked:\n{}",
        outcome.stderr
    );
    outcome
}

/// The names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Asserts that `correlate` on `args` fails with exactly `message` (one line, exit 2) and that
/// neither the `-o` file nor a temporary file is left; then that `report summary` on the same
/// inputs fails the same way.
fn assert_error(dir: &Path, args: &[&str], message: &str) {
    let before = listing(dir);
    let mut correlate = vec!["correlate"];
    correlate.extend_from_slice(args);
    correlate.extend_from_slice(&["-o", "out.json"]);
    let out = run_in(dir, &correlate);
    assert_eq!(out.code, Some(2), "{correlate:?}: {}", out.stderr);
    assert_eq!(out.stderr, format!("auditscope: {message}\n"));
    assert_eq!(out.stderr.lines().count(), 1);
    assert_eq!(listing(dir), before, "correlate left a file behind");

    let mut summary = vec!["report", "summary"];
    summary.extend_from_slice(args);
    let out = run_in(dir, &summary);
    assert_eq!(out.code, Some(2), "{summary:?}");
    assert_eq!(out.stderr, format!("auditscope: {message}\n"));
    assert_eq!(out.stdout, "");
}

/// `report summary --format json` on `args`, checking the accounting identity.
fn summary(dir: &Path, args: &[&str]) -> Value {
    let mut all = vec!["report", "summary", "--format", "json"];
    all.extend_from_slice(args);
    let out = run_in(dir, &all);
    assert_eq!(out.code, Some(0), "{all:?}: {}", out.stderr);
    let s: Value = serde_json::from_str(&out.stdout).unwrap();
    let skipped: u64 = s["skipped"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(
        s["lines"].as_u64().unwrap(),
        s["requests"].as_u64().unwrap() + s["stage_events_merged"].as_u64().unwrap() + skipped,
        "accounting identity"
    );
    s
}

/// The stdout of a successful run.
fn stdout_of(dir: &Path, args: &[&str]) -> String {
    let out = run_in(dir, args);
    assert_eq!(out.code, Some(0), "{args:?}: {}", out.stderr);
    out.stdout
}

/// One audit event line (v1) with the given changes on top of a plain `get`.
fn event(changes: Value) -> String {
    let mut ev = json!({
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Metadata",
        "auditID": "00000000-0000-0000-0000-000000000001",
        "stage": "ResponseComplete",
        "requestURI": "/api/v1/namespaces/default/pods/p",
        "verb": "get",
        "user": {"username": "u"},
        "userAgent": "e2e.test/v1.35.0 (linux/amd64) kubernetes/abc",
        "responseStatus": {"code": 200},
        "requestReceivedTimestamp": "2020-01-01T00:00:00.000001Z",
        "stageTimestamp": "2020-01-01T00:00:00.000002Z",
    });
    for (k, v) in changes.as_object().unwrap() {
        ev[k] = v.clone();
    }
    ev.to_string()
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) {
    std::fs::write(dir.join(name), bytes).unwrap();
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// Deterministic "random" bytes (an LCG), never `\n`, so they make exactly one line.
fn noise(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            match (x >> 24) as u8 {
                b'\n' => 0xff,
                b => b,
            }
        })
        .collect()
}

fn skipped(s: &Value, reason: &str) -> (u64, Vec<String>) {
    let count = s["skipped"][reason].as_u64().unwrap_or(0);
    let first = s["skipped_first"][reason]
        .as_array()
        .map(|a| a.iter().map(|p| p.as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    (count, first)
}

#[test]
fn truncated_gzip_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let whole = std::fs::read(common::fixture("audit2rbac-demo-v1beta1.log.gz")).unwrap();
    write(dir.path(), "cut.log.gz", &whole[..3000]);
    assert_error(
        dir.path(),
        &["--audit", "cut.log.gz"],
        "cut.log.gz: gzip stream is damaged or truncated: unexpected end of gzip stream",
    );
}

#[test]
fn gzip_magic_then_garbage_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = vec![0x1f, 0x8b];
    bytes.extend_from_slice(b"this is no deflate stream at all");
    write(dir.path(), "bad.gz", bytes);
    assert_error(
        dir.path(),
        &["--audit", "bad.gz"],
        "bad.gz: gzip stream is damaged or truncated: invalid gzip header",
    );
}

#[test]
fn gzip_of_garbage_holds_no_events() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "noise.gz", gzip(&noise(4096)));
    assert_error(
        dir.path(),
        &["--audit", "noise.gz"],
        "noise.gz: holds no audit events (1 line: 1 invalid JSON, first at noise.gz:1)",
    );
}

#[test]
fn binary_bytes_alone_are_an_error_and_among_events_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "noise.bin", noise(2000));
    assert_error(
        dir.path(),
        &["--audit", "noise.bin"],
        "noise.bin: holds no audit events (1 line: 1 invalid JSON, first at noise.bin:1)",
    );

    let mut mixed = event(json!({})).into_bytes();
    mixed.push(b'\n');
    mixed.extend_from_slice(&noise(2000));
    mixed.push(b'\n');
    mixed.extend_from_slice(event(json!({"auditID": "a2"})).as_bytes());
    mixed.push(b'\n');
    write(dir.path(), "mixed.log", mixed);
    let s = summary(dir.path(), &["--audit", "mixed.log"]);
    assert_eq!(s["lines"], 3);
    assert_eq!(s["requests"], 2);
    assert_eq!(
        skipped(&s, "invalid JSON"),
        (1, vec!["mixed.log:2".to_string()])
    );
}

#[test]
fn ten_megabyte_line_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let huge = "x".repeat(10 << 20);
    let text = format!(
        "{}\n{}\n",
        event(json!({"auditID": "big", "requestURI": format!("/api/v1/namespaces/{huge}")})),
        event(json!({"auditID": "small"}))
    );
    assert!(text.len() > 10 << 20);
    write(dir.path(), "big.log", text);
    let s = summary(dir.path(), &["--audit", "big.log"]);
    assert_eq!(
        (s["lines"].as_u64(), s["requests"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(s["skipped"], json!({}));
}

#[test]
fn invalid_utf8_in_a_user_agent_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let line = event(
        json!({"userAgent": "e2e.test/v1.35.0 (linux/amd64) kubernetes/abc -- [sig-x] a BAD spec"}),
    );
    let bytes = line.replace("BAD", "\u{1}").into_bytes();
    // Put two bytes that are not UTF-8 where the marker was (inside the JSON string).
    let bytes: Vec<u8> = bytes
        .iter()
        .flat_map(|&b| if b == 1 { vec![0xff, 0xfe] } else { vec![b] })
        .collect();
    write(dir.path(), "utf8.log", bytes);
    let s = summary(dir.path(), &["--audit", "utf8.log"]);
    assert_eq!(
        (s["lines"].as_u64(), s["requests"].as_u64()),
        (Some(1), Some(1))
    );
    let events = stdout_of(dir.path(), &["report", "events", "--audit", "utf8.log"]);
    assert!(
        events.contains("user-agent=\"e2e.test/v1.35.0 (linux/amd64) kubernetes/abc -- [sig-x] a \u{fffd}\u{fffd} spec\""),
        "{events}"
    );
}

#[test]
fn empty_and_whitespace_only_hold_no_events() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "empty.log", "");
    assert_error(
        dir.path(),
        &["--audit", "empty.log"],
        "empty.log: holds no audit events",
    );
    write(dir.path(), "blank.log", " \n\n\t \r\n  ");
    assert_error(
        dir.path(),
        &["--audit", "blank.log"],
        "blank.log: holds no audit events",
    );
}

#[test]
fn json_that_is_not_an_event_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{}\n{{\"kind\":\"Pod\",\"metadata\":{{\"name\":\"p\"}}}}\n\"just a string\"\n{}\n",
        event(json!({})),
        event(json!({"auditID": "b"}))
    );
    write(dir.path(), "kinds.log", text);
    let s = summary(dir.path(), &["--audit", "kinds.log"]);
    assert_eq!(
        (s["lines"].as_u64(), s["requests"].as_u64()),
        (Some(4), Some(2))
    );
    assert_eq!(
        skipped(&s, "not an audit event"),
        (
            2,
            vec!["kinds.log:2".to_string(), "kinds.log:3".to_string()]
        )
    );
}

#[test]
fn duplicate_audit_ids_with_conflicting_fields_keep_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let text = [
        event(json!({"auditID": "d1", "stage": "RequestReceived"})),
        event(json!({"auditID": "d1", "verb": "delete",
            "requestURI": "/api/v1/namespaces/x/secrets/s", "responseStatus": {"code": 403}})),
        event(json!({"auditID": "d1", "stageTimestamp": "2020-01-01T00:00:00.5Z"})),
    ]
    .join("\n");
    write(dir.path(), "dup.log", text);
    let s = summary(dir.path(), &["--audit", "dup.log"]);
    assert_eq!(s["lines"], 3);
    assert_eq!(s["requests"], 1);
    assert_eq!(s["stage_events_merged"], 2);
    assert_eq!(
        s["notes"],
        json!([
            "1 stage events disagreed with their request's verb or URI; the first event's were kept"
        ])
    );
    let events = stdout_of(dir.path(), &["report", "events", "--audit", "dup.log"]);
    assert_eq!(events.lines().count(), 1);
    assert!(events.contains(" method=\"get\" "), "{events}");
    assert!(
        events.contains(" uri=\"/api/v1/namespaces/default/pods/p\" "),
        "{events}"
    );
}

#[test]
fn events_out_of_time_order_are_attributed_by_their_time() {
    let dir = tempfile::tempdir().unwrap();
    // Spec A runs 00:00:00–00:00:10, spec B 00:00:10–00:00:20; the last entry closes B.
    let entries = [
        ("2020-01-01T00:00:00.000000", "[sig-a] A ", "  does a"),
        ("2020-01-01T00:00:10.000000", "[sig-b] B ", "  does b"),
        ("2020-01-01T00:00:20.000000", "[AfterSuite] ", "  done"),
    ]
    .map(|(t, c, n)| json!({"timestamp": t, "lines": [c, n, "  /x/e2e.go:1"]}).to_string())
    .join("\n");
    write(dir.path(), "entries.log", entries + "\n");
    let at = |id: &str, t: &str| {
        event(
            json!({"auditID": id, "userAgent": "kubectl/v1.35.0 (linux/amd64) kubernetes/abc",
            "requestReceivedTimestamp": t, "stageTimestamp": t}),
        )
    };
    // Written B, A, B, A: newest first.
    let audit = [
        at("b1", "2020-01-01T00:00:15Z"),
        at("a1", "2020-01-01T00:00:05Z"),
        at("b2", "2020-01-01T00:00:12Z"),
        at("a2", "2020-01-01T00:00:01Z"),
    ]
    .join("\n");
    write(dir.path(), "audit.log", audit);
    let args = ["--audit", "audit.log", "--entries", "entries.log"];
    let s = summary(dir.path(), &args);
    assert_eq!(s["requests"], 4);
    assert_eq!(s["attribution"]["window"], 4);
    let tests: Value = serde_json::from_str(&stdout_of(
        dir.path(),
        &[&["report", "tests", "--format", "json"][..], &args[..]].concat(),
    ))
    .unwrap();
    let windows: Vec<(String, u64)> = tests
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_string(),
                t["requests"]["window"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        windows,
        [
            ("[sig-a] A does a".to_string(), 2),
            ("[sig-b] B does b".to_string(), 2),
            ("[AfterSuite] done".to_string(), 0)
        ]
    );
    // Reports list requests in time order, whatever the order in the log.
    let events = stdout_of(dir.path(), &[&["report", "events"][..], &args[..]].concat());
    let ids: Vec<&str> = events
        .lines()
        .map(|l| l.split("id=\"").nth(1).unwrap().split('"').next().unwrap())
        .collect();
    assert_eq!(ids, ["a2", "a1", "b2", "b1"]);
}

#[test]
fn timestamps_with_offsets_and_without_fraction() {
    let dir = tempfile::tempdir().unwrap();
    let text = [
        event(
            json!({"auditID": "t1", "requestReceivedTimestamp": "2020-01-01T02:00:00+02:00",
            "stageTimestamp": "2020-01-01T02:00:01+02:00"}),
        ),
        event(
            json!({"auditID": "t2", "requestReceivedTimestamp": "2020-01-01T00:00:02Z",
            "stageTimestamp": "2020-01-01T00:00:03.5-01:30"}),
        ),
    ]
    .join("\n");
    write(dir.path(), "tz.log", text);
    let events = stdout_of(dir.path(), &["report", "events", "--audit", "tz.log"]);
    let times: Vec<&str> = events
        .lines()
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(times, ["2020-01-01T00:00:00Z", "2020-01-01T00:00:02Z"]);
    let requests: Vec<Value> = stdout_of(
        dir.path(),
        &[
            "report", "requests", "--format", "json", "--audit", "tz.log",
        ],
    )
    .lines()
    .map(|l| serde_json::from_str(l).unwrap())
    .collect();
    assert_eq!(requests.len(), 2);
}

#[test]
fn v1beta1_events_with_only_timestamp() {
    let dir = tempfile::tempdir().unwrap();
    let line = json!({"kind": "Event", "apiVersion": "audit.k8s.io/v1beta1", "level": "Metadata",
        "timestamp": "2018-06-19T03:15:27Z", "auditID": "v1", "stage": "ResponseComplete",
        "requestURI": "/api", "verb": "get", "user": {"username": "x"}});
    write(dir.path(), "beta.log", line.to_string() + "\n");
    let s = summary(dir.path(), &["--audit", "beta.log"]);
    assert_eq!(
        (s["lines"].as_u64(), s["requests"].as_u64()),
        (Some(1), Some(1))
    );
    let events = stdout_of(dir.path(), &["report", "events", "--audit", "beta.log"]);
    assert!(
        events.starts_with("2018-06-19T03:15:27Z AUDIT: id=\"v1\" "),
        "{events}"
    );
}

#[test]
fn unknown_api_version_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "v9.log",
        event(json!({"apiVersion": "audit.k8s.io/v9"})) + "\n",
    );
    assert_error(
        dir.path(),
        &["--audit", "v9.log"],
        "v9.log: holds no audit events (1 line: 1 unknown apiVersion, first at v9.log:1)",
    );
    let text = format!(
        "{}\n{}\n",
        event(json!({})),
        event(json!({"auditID": "x", "apiVersion": "audit.k8s.io/v9"}))
    );
    write(dir.path(), "mixed.log", text);
    let s = summary(dir.path(), &["--audit", "mixed.log"]);
    assert_eq!(
        (s["lines"].as_u64(), s["requests"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(
        skipped(&s, "unknown apiVersion"),
        (1, vec!["mixed.log:2".to_string()])
    );
}

/// A small audit log that every e2e-side case correlates with.
fn plain_audit(dir: &Path) {
    write(dir, "audit.log", event(json!({})) + "\n");
}

fn tests_json(dir: &Path, e2e: &[&str]) -> Value {
    let args = [
        &[
            "report",
            "tests",
            "--format",
            "json",
            "--audit",
            "audit.log",
        ][..],
        e2e,
    ]
    .concat();
    serde_json::from_str(&stdout_of(dir, &args)).unwrap()
}

#[test]
fn windows_line_endings_in_an_e2e_log() {
    let dir = tempfile::tempdir().unwrap();
    plain_audit(dir.path());
    let lf = String::from_utf8(common::fixture_bytes(
        "k8s-conformance-v1.33-civo-e2e.log.head.txt",
    ))
    .unwrap();
    write(dir.path(), "lf.log", &lf);
    write(dir.path(), "crlf.log", lf.replace('\n', "\r\n"));
    let with_lf = tests_json(dir.path(), &["--e2e-log", "lf.log"]);
    let with_crlf = tests_json(dir.path(), &["--e2e-log", "crlf.log"]);
    assert_eq!(with_lf, with_crlf);
    assert_eq!(with_crlf.as_array().unwrap().len(), 1);
    assert_eq!(
        with_crlf[0]["name"],
        "[sig-network] HostPort validates that there is no conflict between pods with same hostPort but different hostIP and protocol [LinuxOnly] [Conformance]"
    );
    assert_eq!(with_crlf[0]["status"], "passed");
    assert_eq!(with_crlf[0]["duration"], 17.544);
    assert_eq!(with_crlf[0]["start"], "2025-10-14T02:19:56.986000Z");
}

#[test]
fn e2e_log_cut_off_mid_spec_keeps_the_spec_unfinished() {
    let dir = tempfile::tempdir().unwrap();
    plain_audit(dir.path());
    let whole = String::from_utf8(common::fixture_bytes(
        "k8s-conformance-v1.33-civo-e2e.log.head.txt",
    ))
    .unwrap();
    // Cut in the middle of the HostPort spec's STEP lines (line 45 of 57), mid-line.
    let cut: String = whole.lines().take(45).collect::<Vec<_>>().join("\n");
    write(dir.path(), "cut.log", &cut[..cut.len() - 20]);
    let tests = tests_json(dir.path(), &["--e2e-log", "cut.log"]);
    assert_eq!(tests.as_array().unwrap().len(), 1);
    assert_eq!(tests[0]["status"], "unknown");
    assert_eq!(tests[0]["duration"], Value::Null);
    assert_eq!(tests[0]["start"], "2025-10-14T02:19:56.986000Z");
}

#[test]
fn junit_with_entities_and_cdata() {
    let dir = tempfile::tempdir().unwrap();
    plain_audit(dir.path());
    write(
        dir.path(),
        "junit.xml",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<testsuites><testsuite name=\"Kubernetes e2e suite\" tests=\"2\">\
         <testcase name=\"[sig-x] a &amp; b &lt;c&gt; &quot;q&quot; &#233;&#x41;\" classname=\"Kubernetes e2e suite\" time=\"1.25\">\
         <failure message=\"m &amp; n\"><![CDATA[x <y> & ]]]]><![CDATA[> z]]></failure>\
         <system-out><![CDATA[</testcase><testcase name=\"fake\">]]></system-out></testcase>\
         <testcase name=\"[sig-y] skipped one\" time=\"0\"><skipped message=\"s\"/></testcase></testsuite></testsuites>",
    );
    let tests = tests_json(dir.path(), &["--junit", "junit.xml"]);
    let rows: Vec<(&str, &str, f64)> = tests
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap(),
                t["status"].as_str().unwrap(),
                t["duration"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("[sig-x] a & b <c> \"q\" éA", "failed", 1.25),
            ("[sig-y] skipped one", "skipped", 0.0)
        ]
    );
}

/// A RUN.json correlated from a fixture, written into `dir` as `run.json`; its bytes.
fn run_json(dir: &Path) -> Vec<u8> {
    let audit = common::fixture("apisnoop-example-user-agent.log");
    let out = run_in(dir, &["correlate", "--audit", &audit, "-o", "run.json"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    std::fs::read(dir.join("run.json")).unwrap()
}

#[test]
fn run_json_from_a_newer_schema() {
    let dir = tempfile::tempdir().unwrap();
    let text = String::from_utf8(run_json(dir.path())).unwrap();
    assert!(text.contains("\"version\":4,"));
    write(
        dir.path(),
        "new.json",
        text.replacen("\"version\":4,", "\"version\":99,", 1),
    );
    let out = run_in(dir.path(), &["report", "summary", "new.json"]);
    assert_eq!(out.code, Some(2));
    assert_eq!(
        out.stderr,
        "auditscope: new.json: written by a newer auditscope (schema version 99; this build reads up to 4): upgrade auditscope\n"
    );
}

#[test]
fn truncated_run_json() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = run_json(dir.path());
    // Cut inside the strings table, well past the header.
    let cut = bytes
        .windows(10)
        .position(|w| w == b"\"strings\":")
        .unwrap()
        + 40;
    write(dir.path(), "cut.json", &bytes[..cut]);
    let out = run_in(dir.path(), &["report", "summary", "cut.json"]);
    assert_eq!(out.code, Some(2));
    assert_eq!(out.stderr.lines().count(), 1);
    // serde_json names what it was parsing (a list here); the place is the cut.
    assert!(
        out.stderr
            .starts_with("auditscope: cut.json: not a RUN.json (or damaged): EOF while parsing a ")
            && out.stderr.ends_with(&format!(" at line 1 column {cut}\n")),
        "{}",
        out.stderr
    );
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    assert_error(
        dir.path(),
        &["--audit", "missing.log"],
        "missing.log: No such file or directory (os error 2)",
    );
    assert_error(
        dir.path(),
        &["missing.log"],
        "missing.log: No such file or directory (os error 2)",
    );
}

#[test]
fn strict_stops_at_the_first_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{}\n{{\"kind\":\"Event\",\"auditID\":\n{}\n",
        event(json!({})),
        event(json!({"auditID": "b"}))
    );
    write(dir.path(), "bad.log", text);
    assert_error(
        dir.path(),
        &["--strict", "--audit", "bad.log"],
        "bad.log:2: invalid JSON",
    );
    // Without --strict the same line is skipped and counted.
    let s = summary(dir.path(), &["--audit", "bad.log"]);
    assert_eq!(
        (s["lines"].as_u64(), s["requests"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(
        skipped(&s, "invalid JSON"),
        (1, vec!["bad.log:2".to_string()])
    );
}

#[test]
fn output_into_a_missing_folder_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    plain_audit(dir.path());
    let out = run_in(
        dir.path(),
        &[
            "correlate",
            "--audit",
            "audit.log",
            "-o",
            "nowhere/run.json",
        ],
    );
    assert_eq!(out.code, Some(2));
    assert_eq!(
        out.stderr,
        "auditscope: nowhere/run.json: No such file or directory (os error 2)\n"
    );
    assert_eq!(listing(dir.path()), ["audit.log"]);
}

#[test]
fn output_onto_a_folder_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    plain_audit(dir.path());
    std::fs::create_dir(dir.path().join("out.json")).unwrap();
    let out = run_in(
        dir.path(),
        &["correlate", "--audit", "audit.log", "-o", "out.json"],
    );
    assert_eq!(out.code, Some(2));
    assert_eq!(
        out.stderr,
        "auditscope: out.json: Is a directory (os error 21)\n"
    );
    // The RUN.json was written to a temporary file beside it, which is gone again.
    assert_eq!(listing(dir.path()), ["audit.log", "out.json"]);
    assert_eq!(listing(&dir.path().join("out.json")), Vec::<String>::new());
}
