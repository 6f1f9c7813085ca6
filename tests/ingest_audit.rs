//! The audit event reader on the real fixtures and on deliberately broken inputs.

use std::io::Write;

use auditscope::ingest::audit::{
    AuditEvent, AuditStats, ReadOptions, parse_timestamp, read_audit, read_audit_with_block_size,
};
use auditscope::ingest::source::IngestError;
use auditscope::run::{Decision, Stage};

const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn fixture(name: &str) -> String {
    format!("{FIX}/{name}")
}

type Got = Vec<(AuditEvent<'static>, u64)>;

fn read_with(
    path: &str,
    opts: &ReadOptions,
    block: Option<usize>,
) -> Result<(Got, AuditStats), IngestError> {
    let mut got = Vec::new();
    let mut sink = |ev: &AuditEvent<'_>, line: u64| got.push((ev.clone().into_owned(), line));
    let stats = match block {
        Some(b) => read_audit_with_block_size(path, opts, b, &mut sink)?,
        None => read_audit(path, opts, &mut sink)?,
    };
    Ok((got, stats))
}

fn read(path: &str) -> (Got, AuditStats) {
    match read_with(path, &ReadOptions::default(), None) {
        Ok(r) => r,
        Err(e) => panic!("{path}: {e}"),
    }
}

fn assert_identity(stats: &AuditStats) {
    let a = &stats.accounting;
    assert_eq!(
        a.lines,
        a.events + a.skipped_total(),
        "lines = events + skipped"
    );
    assert_eq!(a.stage_events_merged, 0);
}

fn write_temp(bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(bytes).unwrap();
    f.flush().unwrap();
    f
}

fn path_of(f: &tempfile::NamedTempFile) -> String {
    f.path().to_str().unwrap().to_string()
}

fn count<F: Fn(&AuditEvent<'static>) -> bool>(got: &Got, f: F) -> usize {
    got.iter().filter(|(e, _)| f(e)).count()
}

#[test]
fn user_agent_log_v1beta1_lines() {
    let (got, stats) = read(&fixture("apisnoop-example-user-agent.log"));
    assert_eq!(got.len(), 8);
    assert_eq!(stats.accounting.lines, 8);
    assert_eq!(stats.accounting.events, 8);
    assert_identity(&stats);
    let lines: Vec<u64> = got.iter().map(|(_, l)| *l).collect();
    assert_eq!(lines, [1, 2, 3, 4, 5, 6, 7, 8]);
    let lens: Vec<usize> = got.iter().map(|(e, _)| e.user_agent.len()).collect();
    assert_eq!(lens, [2279, 2279, 2208, 2208, 2208, 2208, 1954, 2208]);
    let first = &got[0].0;
    assert_eq!(first.audit_id, "1ee40a9b-3afa-42b2-80d2-e980d17e580e");
    assert_eq!(first.api_version, "audit.k8s.io/v1beta1");
    assert_eq!(first.verb, "get");
    assert_eq!(first.request_uri, "/api?timeout=32s");
    assert_eq!(first.username(), "kubecfg");
    assert_eq!(first.received(), Some(1_529_378_127_250_302));
    assert_eq!(first.stage_time(), Some(1_529_378_127_250_544));
    assert_eq!(stats.info.kind, "audit");
    assert_eq!(stats.info.lines, 8);
    assert_eq!(stats.info.bytes, 23279);
}

#[test]
fn audit2rbac_gzip_v1beta1() {
    let (got, stats) = read(&fixture("audit2rbac-demo-v1beta1.log.gz"));
    assert_eq!(got.len(), 757);
    assert_identity(&stats);
    assert_eq!(stats.accounting.skipped_total(), 0);
    assert_eq!(
        count(&got, |e| e.stage() == Some(Stage::RequestReceived)),
        320
    );
    assert_eq!(
        count(&got, |e| e.stage() == Some(Stage::ResponseComplete)),
        437
    );
    let first = &got[0].0;
    assert_eq!(first.audit_id, "033d17af-082d-4b24-aa22-627752e83d71");
    assert_eq!(first.verb, "list");
    assert_eq!(first.code(), 403);
    let imp = first.impersonated_user.as_ref().unwrap();
    assert_eq!(imp.username, "bob");
    assert_eq!(imp.groups, ["system:authenticated"]);
    assert_eq!(first.source_ips, ["::1"]);
    let obj = first.object_ref.as_ref().unwrap();
    assert_eq!(
        (&*obj.resource, &*obj.namespace, &*obj.api_version),
        ("pods", "default", "v1")
    );
    // v1beta1 without requestReceivedTimestamp: `timestamp` stands in for both times.
    assert!(first.request_received_timestamp.is_empty());
    assert_eq!(first.received(), Some(1_505_159_705_000_000));
    assert_eq!(first.stage_time(), Some(1_505_159_705_000_000));
    // Line numbers are the physical lines.
    assert!(got.iter().enumerate().all(|(i, (_, l))| *l == i as u64 + 1));
}

#[test]
fn block_boundaries_keep_line_numbers() {
    let whole = read(&fixture("audit2rbac-demo-v1beta1.log.gz")).0;
    for block in [1, 7, 333, 1000, 4096] {
        let (got, stats) = read_with(
            &fixture("audit2rbac-demo-v1beta1.log.gz"),
            &ReadOptions::default(),
            Some(block),
        )
        .unwrap();
        assert_eq!(got.len(), 757, "block {block}");
        assert_identity(&stats);
        for ((a, la), (b, lb)) in whole.iter().zip(&got) {
            assert_eq!(
                (la, &a.audit_id, &a.stage),
                (lb, &b.audit_id, &b.stage),
                "block {block}"
            );
        }
    }
    // With blank lines and a missing final newline, across small blocks.
    let text = std::fs::read_to_string(fixture("apisnoop-example-user-agent.log")).unwrap();
    let mut spaced = String::new();
    for (i, l) in text.lines().enumerate() {
        spaced.push_str(l);
        spaced.push_str(if i % 2 == 0 { "\n\n  \n" } else { "\n" });
    }
    let spaced = spaced.trim_end();
    let f = write_temp(spaced.as_bytes());
    for block in [1, 100, 3000, 1 << 20] {
        let (got, stats) = read_with(&path_of(&f), &ReadOptions::default(), Some(block)).unwrap();
        let lines: Vec<u64> = got.iter().map(|(_, l)| *l).collect();
        assert_eq!(lines, [1, 4, 5, 8, 9, 12, 13, 16], "block {block}");
        assert_eq!(stats.accounting.lines, 8);
    }
}

#[test]
fn pretty_printed_single_event() {
    let (got, stats) = read(&fixture("apisnoop-testdata-audit_event.json"));
    assert_eq!(got.len(), 1);
    assert_eq!(stats.accounting.lines, 1);
    assert_identity(&stats);
    let (ev, item) = &got[0];
    assert_eq!(*item, 1);
    assert_eq!(ev.username(), "system:node-problem-detector");
    assert_eq!(ev.user.as_ref().unwrap().groups, ["system:authenticated"]);
    assert_eq!(ev.code(), 403);
    assert_eq!(ev.decision(), Decision::Forbid);
    assert_eq!(ev.reason(), "");
    assert_eq!(ev.level, "Request");
    assert_eq!(ev.stage(), Some(Stage::ResponseComplete));
    assert_eq!(
        ev.object_ref.as_ref().unwrap().name,
        "bootstrap-e2e-minion-group-9s5q"
    );
    assert_eq!(ev.received(), Some(1_643_916_861_840_719));
    assert_eq!(ev.stage_time(), Some(1_643_916_861_841_091));
}

#[test]
fn aks_event_hubs_records() {
    let (got, stats) = read(&fixture("aks-eventhub-kube-audit-records.json"));
    assert_eq!(got.len(), 22);
    assert_eq!(stats.accounting.lines, 22);
    assert_identity(&stats);
    assert_eq!(
        count(&got, |e| e.stage() == Some(Stage::ResponseComplete)),
        20
    );
    assert_eq!(
        count(&got, |e| e.stage() == Some(Stage::ResponseStarted)),
        2
    );
    assert_eq!(count(&got, |e| e.verb == "get"), 17);
    assert_eq!(count(&got, |e| e.verb == "watch"), 4);
    assert_eq!(count(&got, |e| e.verb == "create"), 1);
    assert_eq!(count(&got, |e| e.code() == 200), 20);
    assert_eq!(count(&got, |e| e.code() == 409), 1);
    assert_eq!(count(&got, |e| e.code() == 304), 1);
    assert_eq!(count(&got, |e| e.decision() == Decision::Allow), 22);
    assert_eq!(count(&got, |e| !e.reason().is_empty()), 11);
    let items: Vec<u64> = got.iter().map(|(_, l)| *l).collect();
    assert_eq!(items, (1..=22).collect::<Vec<u64>>());
    let first = &got[0].0;
    assert_eq!(first.audit_id, "55ffceaa-b7c3-478e-98c6-e509cd2f0dd7");
    assert_eq!(
        first.reason(),
        "RBAC: allowed by ClusterRoleBinding \"system:discovery\" of ClusterRole \"system:discovery\" to Group \"system:authenticated\""
    );
    assert_eq!(first.received(), Some(1_588_695_397_655_912));
    assert_eq!(got[21].0.audit_id, "7a40bd92-240e-4cbc-aa74-36226844ab9d");
}

fn ids(got: &Got) -> Vec<&str> {
    got.iter().map(|(e, _)| &*e.audit_id).collect()
}

#[test]
fn event_list_document_and_lines() {
    let (got, stats) = read(&fixture("audit-eventlist-v1.json"));
    assert_identity(&stats);
    assert_eq!(
        ids(&got),
        [
            "55ffceaa-b7c3-478e-98c6-e509cd2f0dd7",
            "cd7742f3-6ded-467d-af75-c1a8e333ebd0",
            "c8a9b881-23a1-464b-8c82-dae1981b34c1",
            "bc9d48a5-de42-400f-ae69-2901cf63715f",
            "8e3bf0f8-b495-450d-a404-cfdf2b51bc67",
        ]
    );
    assert_eq!(
        got.iter().map(|(_, l)| *l).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    assert_eq!(got[2].0.verb, "create");
    assert_eq!(got[2].0.code(), 409);

    let (got, stats) = read(&fixture("audit-eventlist-lines.jsonl"));
    assert_identity(&stats);
    assert_eq!(stats.accounting.lines, 5);
    assert_eq!(
        ids(&got),
        [
            "d67dc3bc-9099-41a6-bae3-5c13441b126e",
            "fb572feb-9a2a-4141-bbe9-2ba1be8c1d79",
            "f257df91-b84e-4c63-a0b3-351533449f84",
            "43740ebe-ad24-4d25-a3bd-9c190ae54e8e",
            "4b163f71-240c-47af-9838-cb30201e7733",
        ]
    );
    // Events of an EventList line carry that line's number.
    assert_eq!(
        got.iter().map(|(_, l)| *l).collect::<Vec<_>>(),
        [1, 1, 1, 2, 2]
    );
}

#[test]
fn opensearch_exports() {
    let (got, stats) = read(&fixture("audit-opensearch-response.json"));
    assert_identity(&stats);
    assert_eq!(
        ids(&got),
        [
            "3a1ffe7b-88a5-4046-a864-d3f5d912c8c8",
            "a7d1e9a6-eb19-42cd-92b4-719b2dc477db",
            "a3910698-fb1b-460d-a021-a6f28ac6e8ea",
            "9a665819-c89f-44c8-ae86-b84026be8905",
        ]
    );
    assert_eq!(count(&got, |e| e.verb == "watch"), 4);
    assert_eq!(
        count(&got, |e| e.stage() == Some(Stage::ResponseStarted)),
        2
    );

    let (got, stats) = read(&fixture("audit-opensearch-hits.jsonl"));
    assert_identity(&stats);
    assert_eq!(
        ids(&got),
        [
            "adf28da3-018f-4756-9e4a-beb1009cab70",
            "4387a586-5de4-49bc-9c49-791f1665b5e8",
            "eb4951df-43e2-49bd-8523-efe0adfd09c8",
        ]
    );
    assert_eq!(got.iter().map(|(_, l)| *l).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(
        got[0].0.request_uri,
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/aks-cluster-admin-binding"
    );

    let (got, stats) = read(&fixture("audit-opensearch-source.jsonl"));
    assert_identity(&stats);
    assert_eq!(
        ids(&got),
        [
            "beea52e6-4c78-4f45-8660-46fd0222f0b6",
            "0801d9cc-fa56-499f-a928-a71220a9d74b",
            "69f0cc33-b3c3-4dc4-9f41-05c4a4a0c8c6",
        ]
    );
}

/// The first line of the user-agent fixture, a v1beta1 event.
fn sample_line() -> String {
    let text = std::fs::read_to_string(fixture("apisnoop-example-user-agent.log")).unwrap();
    text.lines().next().unwrap().to_string()
}

#[test]
fn bad_lines_are_counted_with_reasons_and_places() {
    let good = sample_line();
    let lines = [
        good.clone(),                                                     // 1
        "{not json".to_string(),                                          // 2
        "".to_string(),                                                   // 3 blank
        r#"{"hello":"world"}"#.to_string(),                               // 4
        good.replace("audit.k8s.io/v1beta1", "audit.k8s.io/v2"),          // 5
        good.replace("\"ResponseComplete\"", "\"Whenever\""),             // 6
        good.replace("\"2018-06-19T03:15:27.250302Z\"", "\"yesterday\""), // 7
        good.replace("\"auditID\":", "\"auditId\":"),                     // 8
        good.clone(),                                                     // 9
        good[..good.len() / 2].to_string(),                               // 10 cut short
        "   ".to_string(),                                                // 11 blank
        "42".to_string(),                                                 // 12
        good.replace("\"apiVersion\":\"audit.k8s.io/v1beta1\",", ""),     // 13 no apiVersion: fine
    ];
    let f = write_temp(lines.join("\n").as_bytes());
    let path = path_of(&f);
    let (got, stats) = read_with(&path, &ReadOptions::default(), None).unwrap();
    assert_eq!(got.iter().map(|(_, l)| *l).collect::<Vec<_>>(), [1, 9, 13]);
    let a = &stats.accounting;
    assert_eq!(a.lines, 11);
    assert_eq!(a.events, 3);
    assert_identity(&stats);
    let skipped: Vec<(&str, u64, Vec<String>)> = a
        .skipped
        .iter()
        .map(|(r, i)| (r.as_str(), i.count, i.first.clone()))
        .collect();
    let at = |ls: &[u64]| ls.iter().map(|l| format!("{path}:{l}")).collect::<Vec<_>>();
    assert_eq!(
        skipped,
        [
            ("bad timestamp", 1, at(&[7])),
            ("invalid JSON", 2, at(&[2, 10])),
            ("not an audit event", 3, at(&[4, 8, 12])),
            ("unknown apiVersion", 1, at(&[5])),
            ("unknown stage", 1, at(&[6])),
        ]
    );

    // Strict: the first bad line is the error.
    let err = read_with(
        &path,
        &ReadOptions {
            strict: true,
            ..Default::default()
        },
        None,
    )
    .unwrap_err();
    assert!(matches!(err, IngestError::Strict { line: 2, .. }));
    assert_eq!(err.to_string(), format!("{path}:2: invalid JSON"));
}

#[test]
fn invalid_utf8_is_replaced_not_dropped() {
    let good = sample_line();
    let mut bytes = good
        .replacen("kubectl/v1.12.0", "kubectl/v1.\u{1}12.0", 1)
        .into_bytes();
    // Swap the marker for a lone continuation byte and an overlong sequence.
    let pos = bytes.iter().position(|&b| b == 1).unwrap();
    bytes.splice(pos..pos + 1, [0x80, 0xC0, 0xAF]);
    let mut file = bytes.clone();
    file.push(b'\n');
    file.extend_from_slice(good.as_bytes());
    let f = write_temp(&file);
    let (got, stats) = read_with(&path_of(&f), &ReadOptions::default(), None).unwrap();
    assert_eq!(got.len(), 2);
    assert_identity(&stats);
    assert!(
        got[0]
            .0
            .user_agent
            .starts_with("kubectl/v1.\u{FFFD}\u{FFFD}\u{FFFD}12.0 (linux/amd64)")
    );
    assert_eq!(got[0].0.audit_id, "1ee40a9b-3afa-42b2-80d2-e980d17e580e");
    assert_eq!(got[1].1, 2);
    // The same inside a whole document.
    let doc = [b"[\n".as_slice(), &bytes, b"\n]\n"].concat();
    let f = write_temp(&doc);
    let (got, _) = read_with(&path_of(&f), &ReadOptions::default(), None).unwrap();
    assert_eq!(got.len(), 1);
    assert!(got[0].0.user_agent.contains('\u{FFFD}'));
}

#[test]
fn crlf_line_endings() {
    let text = std::fs::read_to_string(fixture("apisnoop-example-user-agent.log")).unwrap();
    let crlf = text.replace('\n', "\r\n") + "\r\n\r\n";
    let f = write_temp(crlf.as_bytes());
    for block in [None, Some(50)] {
        let (got, stats) = read_with(&path_of(&f), &ReadOptions::default(), block).unwrap();
        assert_eq!(got.len(), 8);
        assert_eq!(stats.accounting.lines, 8);
        assert_eq!(stats.accounting.skipped_total(), 0);
        assert!(got.iter().all(|(e, _)| !e.user_agent.ends_with('\r')));
    }
    let pretty = std::fs::read_to_string(fixture("apisnoop-testdata-audit_event.json")).unwrap();
    let f = write_temp(pretty.replace('\n', "\r\n").as_bytes());
    let (got, _) = read_with(&path_of(&f), &ReadOptions::default(), None).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0.code(), 403);
}

#[test]
fn files_without_events_are_errors() {
    // The message says what the lines were instead, naming the first place of each reason.
    for (content, why) in [
        ("", ""),
        ("   \n\n\t\r\n", ""),
        (
            "hello world\nthis is not json\n",
            " (2 lines: 2 invalid JSON, first at {}:1)",
        ),
        (
            "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{}}\n",
            " (1 line: 1 not an audit event, first at {}:1)",
        ),
        (
            "{\n  \"kind\": \"Status\"\n}\n",
            " (1 line: 1 not an audit event, first at {}:1)",
        ),
    ] {
        let f = write_temp(content.as_bytes());
        let err = read_with(&path_of(&f), &ReadOptions::default(), None).unwrap_err();
        assert!(
            matches!(err, IngestError::NoEvents { .. }),
            "{content:?}: {err}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "{}: holds no audit events{}",
                path_of(&f),
                why.replace("{}", &path_of(&f))
            )
        );
    }
    let err = read_with("/nonexistent/audit.log", &ReadOptions::default(), None).unwrap_err();
    assert!(matches!(err, IngestError::Io { .. }));
    assert!(err.to_string().starts_with("/nonexistent/audit.log: "));
}

#[test]
fn truncated_gzip_is_an_error_naming_the_file() {
    let gz = std::fs::read(fixture("audit2rbac-demo-v1beta1.log.gz")).unwrap();
    let f = write_temp(&gz[..gz.len() / 2]);
    let err = read_with(&path_of(&f), &ReadOptions::default(), None).unwrap_err();
    assert!(matches!(err, IngestError::Gzip { .. }), "{err}");
    assert!(err.to_string().starts_with(&format!(
        "{}: gzip stream is damaged or truncated",
        path_of(&f)
    )));
}

#[test]
fn several_gzip_members() {
    let gz = std::fs::read(fixture("audit2rbac-demo-v1beta1.log.gz")).unwrap();
    let f = write_temp(&[gz.as_slice(), &gz].concat());
    let (got, stats) = read_with(&path_of(&f), &ReadOptions::default(), Some(10_000)).unwrap();
    assert_eq!(got.len(), 1514);
    assert_eq!(got[757].1, 758);
    assert_identity(&stats);
}

#[test]
fn ten_megabyte_line() {
    let good = sample_line();
    let big = "x".repeat(10 << 20);
    let huge = good.replacen(
        "{",
        &format!("{{\"requestObject\":{{\"data\":\"{big}\"}},"),
        1,
    );
    assert!(huge.len() > 10 << 20);
    let text = format!("{good}\n{huge}\n{good}\n");
    let f = write_temp(text.as_bytes());
    for block in [None, Some(1 << 16)] {
        let (got, stats) = read_with(&path_of(&f), &ReadOptions::default(), block).unwrap();
        assert_eq!(got.iter().map(|(_, l)| *l).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(stats.accounting.skipped_total(), 0);
    }
}

#[test]
fn timestamps_with_offsets_and_fractions() {
    assert_eq!(
        parse_timestamp("2022-02-03T19:34:21Z"),
        Some(1_643_916_861_000_000)
    );
    assert_eq!(
        parse_timestamp("2022-02-03T21:34:21+02:00"),
        Some(1_643_916_861_000_000)
    );
    assert_eq!(
        parse_timestamp("2022-02-03T21:34:21.5+02:00"),
        Some(1_643_916_861_500_000)
    );
    assert_eq!(
        parse_timestamp("2022-02-03T19:34:21.841091Z"),
        Some(1_643_916_861_841_091)
    );
    assert_eq!(
        parse_timestamp("2022-02-03T17:04:21.000001-02:30"),
        Some(1_643_916_861_000_001)
    );
    assert_eq!(parse_timestamp("2022-02-03T19:34:21"), None);
}

/// Throughput on a generated ~300 MB log (the fixture events repeated with distinct auditIDs),
/// plain and gzip. Run: `cargo test --release --test ingest_audit -- --ignored --nocapture`.
#[test]
#[ignore]
fn bench_throughput() {
    use std::time::Instant;
    let dir = std::env::temp_dir().join("auditscope-bench");
    std::fs::create_dir_all(&dir).unwrap();
    let plain = dir.join("audit.log");
    let gz = dir.join("audit.log.gz");
    if !plain.exists() || !gz.exists() {
        let mut templates: Vec<String> = Vec::new();
        let ua = std::fs::read_to_string(fixture("apisnoop-example-user-agent.log")).unwrap();
        templates.extend(ua.lines().map(str::to_string));
        let mut rbac = Vec::new();
        let gzfile = std::fs::File::open(fixture("audit2rbac-demo-v1beta1.log.gz")).unwrap();
        std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(gzfile), &mut rbac)
            .unwrap();
        templates.extend(String::from_utf8(rbac).unwrap().lines().map(str::to_string));
        let aks: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(fixture("aks-eventhub-kube-audit-records.json")).unwrap(),
        )
        .unwrap();
        for r in aks["records"].as_array().unwrap() {
            templates.push(
                r["properties"]["log"]
                    .as_str()
                    .unwrap()
                    .trim_end()
                    .to_string(),
            );
        }
        let mut out = std::io::BufWriter::new(std::fs::File::create(&plain).unwrap());
        let mut gzout = flate2::write::GzEncoder::new(
            std::io::BufWriter::new(std::fs::File::create(&gz).unwrap()),
            flate2::Compression::new(6),
        );
        let (mut written, mut k) = (0usize, 0u64);
        while written < 300 << 20 {
            for t in &templates {
                let line = t.replacen("\"auditID\":\"", &format!("\"auditID\":\"{k:08x}-"), 1);
                out.write_all(line.as_bytes()).unwrap();
                out.write_all(b"\n").unwrap();
                gzout.write_all(line.as_bytes()).unwrap();
                gzout.write_all(b"\n").unwrap();
                written += line.len() + 1;
            }
            k += 1;
        }
        out.flush().unwrap();
        gzout.finish().unwrap().flush().unwrap();
    }
    for path in [&plain, &gz, &plain, &gz] {
        let path = path.to_str().unwrap();
        let size = std::fs::metadata(path).unwrap().len();
        let cpu = || -> f64 {
            let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
            let after = stat
                .rsplit(") ")
                .next()
                .unwrap_or("")
                .split(' ')
                .collect::<Vec<_>>();
            let ticks = |i: usize| {
                after
                    .get(i)
                    .and_then(|v| v.parse::<f64>().ok())
                    .unwrap_or(0.0)
            };
            (ticks(11) + ticks(12)) / 100.0
        };
        let cpu0 = cpu();
        let start = Instant::now();
        let mut uas = 0usize;
        let stats = read_audit(
            path,
            &ReadOptions {
                progress: true,
                ..Default::default()
            },
            &mut |ev, _| uas += ev.user_agent.len(),
        )
        .unwrap();
        let secs = start.elapsed().as_secs_f64();
        let cpu_secs = cpu() - cpu0;
        let bytes = stats.info.bytes as f64;
        println!(
            "{path}: {} events, {:.0} MB decompressed ({:.0} MB on disk) in {secs:.2} s: {:.0} MB/s decompressed, {:.0} events/s, {cpu_secs:.2} CPU s (ua bytes {uas})",
            stats.accounting.events,
            bytes / 1e6,
            size as f64 / 1e6,
            bytes / 1e6 / secs,
            stats.accounting.events as f64 / secs
        );
        assert_eq!(stats.accounting.skipped_total(), 0);
    }
}

#[test]
fn streams_of_pretty_events_and_a_broken_first_line() {
    // `jq .` output: several pretty-printed events one after the other; items numbered 1, 2, ….
    let pretty = std::fs::read_to_string(fixture("apisnoop-testdata-audit_event.json")).unwrap();
    let second = pretty.replace("8adac407-313f-4ed1-a03d-e1baa262da50", "second");
    let f = write_temp(format!("{pretty}\n{second}").as_bytes());
    let (got, stats) = read_with(&path_of(&f), &ReadOptions::default(), None).unwrap();
    assert_eq!(
        ids(&got),
        ["8adac407-313f-4ed1-a03d-e1baa262da50", "second"]
    );
    assert_eq!(got.iter().map(|(_, l)| *l).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(stats.accounting.lines, 2);

    // A JSON-lines log whose first line is damaged is still read line by line.
    let text = std::fs::read_to_string(fixture("apisnoop-example-user-agent.log")).unwrap();
    let f = write_temp(format!("{{\"kind\":\"Event\",\"auditID\n{text}").as_bytes());
    let path = path_of(&f);
    let (got, stats) = read_with(&path, &ReadOptions::default(), None).unwrap();
    assert_eq!(got.len(), 8);
    assert_eq!(got[0].1, 2);
    assert_eq!(stats.accounting.lines, 9);
    assert_eq!(
        stats.accounting.skipped["invalid JSON"].first,
        [format!("{path}:1")]
    );
    // The same when the whole file is one broken document: every line is accounted for.
    let f = write_temp(b"{\n  \"kind\": \"Event\",\n  \"auditID\": \n");
    let err = read_with(&path_of(&f), &ReadOptions::default(), None).unwrap_err();
    assert!(matches!(err, IngestError::NoEvents { .. }));
}

#[test]
fn many_chunks_keep_order_and_line_numbers() {
    let gz = std::fs::read(fixture("audit2rbac-demo-v1beta1.log.gz")).unwrap();
    let mut text = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::MultiGzDecoder::new(gz.as_slice()),
        &mut text,
    )
    .unwrap();
    let one = read(&fixture("audit2rbac-demo-v1beta1.log.gz")).0;
    // Six copies: several parse chunks per block, and several blocks with a small block size.
    let f = write_temp(&text.repeat(6));
    for block in [None, Some(900_000)] {
        let (got, stats) = read_with(&path_of(&f), &ReadOptions::default(), block).unwrap();
        assert_eq!(got.len(), 6 * 757);
        assert_identity(&stats);
        for (i, (ev, line)) in got.iter().enumerate() {
            assert_eq!(*line, i as u64 + 1);
            assert_eq!(ev.audit_id, one[i % 757].0.audit_id);
        }
    }
}

/// Run by [`reads_gzip_from_stdin`] in a child process whose stdin is the gzipped fixture.
#[test]
#[ignore]
fn stdin_child() {
    if std::env::var_os("AUDITSCOPE_STDIN_CHILD").is_none() {
        return;
    }
    let (got, stats) = read("-");
    println!(
        "STDIN-EVENTS {} {} {}",
        got.len(),
        stats.info.path,
        got[756].1
    );
}

#[test]
fn reads_gzip_from_stdin() {
    use std::process::{Command, Stdio};
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "stdin_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("AUDITSCOPE_STDIN_CHILD", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let gz = std::fs::read(fixture("audit2rbac-demo-v1beta1.log.gz")).unwrap();
    child.stdin.take().unwrap().write_all(&gz).unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("STDIN-EVENTS 757 - 757"), "{stdout}");
}
