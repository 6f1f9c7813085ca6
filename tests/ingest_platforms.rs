//! Audit logs as platforms deliver them (GKE Cloud Logging, EKS CloudWatch, log shippers, CRI
//! container logs) and prow-like artifact folders, read from the fixtures written by
//! `tests/fixtures/make-platform-shapes.py` from real records (see PROVENANCE.md).

mod common;

use std::io::{Read, Write};

use auditscope::correlate::{Inputs, Options, correlate};
use auditscope::ingest::audit::{ReadOptions, read_audit_with_block_size};
use auditscope::run::{Attribution, Run};
use common::*;

fn run_of(paths: &[String]) -> Run {
    let inputs = Inputs {
        auto: paths.to_vec(),
        ..Inputs::default()
    };
    correlate(&inputs, &Options::default()).expect("correlates")
}

/// Each request as `verb uri | user | code | operation | source IP | user agent's start`.
fn rows(run: &Run) -> Vec<String> {
    let mut rows: Vec<String> = run
        .requests
        .iter()
        .map(|r| {
            let user = run.users[r.user as usize].name;
            let agent = run.agent_of(r).map_or(String::new(), |a| {
                a.string_ids()
                    .first()
                    .map_or(String::new(), |&s| run.str(s).chars().take(20).collect())
            });
            format!(
                "{} {} | {} | {} | {} | {} | {}",
                run.str(r.verb),
                run.str(r.uri),
                run.str(user),
                r.code,
                run.operation_of(r).map_or("-", |o| o.id.as_str()),
                run.str(r.source_ips),
                agent
            )
        })
        .collect();
    rows.sort();
    rows
}

fn skipped(run: &Run) -> Vec<(String, u64, Vec<String>)> {
    run.accounting
        .skipped
        .iter()
        .map(|(k, v)| (k.clone(), v.count, v.first.clone()))
        .collect()
}

#[test]
fn gke_entries_map_to_requests_users_codes_and_operations() {
    let path = fixture("gke-khi-entries.json");
    let run = run_of(std::slice::from_ref(&path));
    assert_eq!(
        rows(&run),
        [
            "create /api/v1/namespaces/1-2-deployment-update/pods | system:serviceaccount:kube-system:replicaset-controller | 201 | createCoreV1NamespacedPod | 172.16.0.3 | kube-controller-mana",
            "patch /api/v1/namespaces/1-2-deployment-update/pods/nginx-deployment-surge-8655b4b8c5-xf5f4/status | system:node:gke-sample-cluster-default-abcdefgh-abcd | 200 | patchCoreV1NamespacedPodStatus | 10.146.0.7 | kubelet/v1.28.14 (li",
            "patch /api/v1/namespaces/1-2-deployment-update/pods/nginx-deployment-surge-8655b4b8c5-xf5f4/status | system:node:gke-sample-cluster-default-abcdefgh-abcd | 200 | patchCoreV1NamespacedPodStatus | 10.146.0.7 | kubelet/v1.28.14 (li",
        ]
    );
    // The audit ID is the entry's operation id; the decision and reason come from its labels.
    let create = run
        .requests
        .iter()
        .find(|r| run.str(r.verb) == "create")
        .unwrap();
    assert_eq!(&*create.audit_id, "85371f7c-2383-4041-96e8-dad63d2d1990");
    assert_eq!(create.decision, auditscope::run::Decision::Allow);
    assert!(
        run.str(create.reason)
            .starts_with("RBAC: allowed by ClusterRoleBinding")
    );
    assert_eq!(
        run.str(create.object.name),
        "nginx-deployment-surge-8655b4b8c5-xf5f4"
    );
    // The cluster's own (container.googleapis.com) entry is not a Kubernetes API request.
    assert_eq!(
        skipped(&run),
        [(
            "not a Kubernetes API entry".to_string(),
            1,
            vec![format!("{path}:4")]
        )]
    );
}

#[test]
fn a_mixed_file_loses_nothing() {
    let path = fixture("gke-khi-mixed.jsonl");
    let run = run_of(std::slice::from_ref(&path));
    assert_eq!(run.accounting.lines, 6);
    assert_eq!(
        run.requests.len(),
        5,
        "two plain events and three GKE entries"
    );
    let plain = rows(&run_of(&[fixture("apisnoop-example-user-agent.log")]));
    let mixed = rows(&run);
    assert_eq!(mixed.iter().filter(|r| plain.contains(r)).count(), 2);
    assert_eq!(mixed.iter().filter(|r| r.contains("gke-sample")).count(), 2);
    assert_eq!(
        skipped(&run),
        [(
            "not a Kubernetes API entry".to_string(),
            1,
            vec![format!("{path}:5")]
        )]
    );
}

/// Every wrapper of the eight kubectl events gives the same requests as the plain file.
#[test]
fn wrapped_events_read_like_the_plain_log() {
    let plain = rows(&run_of(&[fixture("apisnoop-example-user-agent.log")]));
    assert_eq!(plain.len(), 8);
    for (name, lines, skips) in [
        ("eks-cloudwatch-filter-log-events.json", 8, vec![]),
        ("eks-cloudwatch-subscription.json.gz", 8, vec![]),
        ("eks-cloudwatch-s3-export.log", 8, vec![]),
        (
            "shipper-log-message.jsonl",
            9,
            vec![("not an audit event".to_string(), 1, vec![":9".to_string()])],
        ),
        (
            "cri-kube-apiserver.log",
            9,
            vec![("not an audit event".to_string(), 1, vec![":25".to_string()])],
        ),
    ] {
        let path = fixture(name);
        let run = run_of(std::slice::from_ref(&path));
        assert_eq!(rows(&run), plain, "{name}");
        assert_eq!(run.accounting.lines, lines, "{name}");
        let want: Vec<_> = skips
            .into_iter()
            .map(|(r, n, places)| {
                (
                    r,
                    n,
                    places
                        .iter()
                        .map(|p| format!("{path}{p}"))
                        .collect::<Vec<_>>(),
                )
            })
            .collect();
        assert_eq!(skipped(&run), want, "{name}");
    }
}

/// CRI parts are joined the same whatever the block size, and numbered by their first part.
#[test]
fn cri_parts_join_across_blocks() {
    let path = fixture("cri-kube-apiserver.log");
    let read = |block| {
        let mut seen = Vec::new();
        let stats =
            read_audit_with_block_size(&path, &ReadOptions::default(), block, &mut |e, n| {
                seen.push((n, e.audit_id.to_string()))
            })
            .unwrap();
        (seen, stats.accounting)
    };
    let (big, acc) = read(1 << 20);
    assert_eq!(big.len(), 8);
    assert_eq!(big[0].0, 1);
    assert!(big.windows(2).all(|w| w[0].0 < w[1].0));
    for block in [7, 100, 1500] {
        assert_eq!(read(block), (big.clone(), acc.clone()), "block {block}");
    }
}

#[test]
fn unfinished_cri_parts_are_skipped_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("0.log");
    let event = std::fs::read_to_string(fixture("apisnoop-example-user-agent.log")).unwrap();
    let event = event.lines().next().unwrap();
    let (a, b) = event.split_at(100);
    let text = format!(
        "2018-06-19T03:15:27.1Z stdout P {a}\n{event}\n2018-06-19T03:15:27.2Z stdout F {event}\n2018-06-19T03:15:27.3Z stdout P {b}\n"
    );
    std::fs::write(&path, text).unwrap();
    let p = path.display().to_string();
    let run = run_of(std::slice::from_ref(&p));
    assert_eq!(run.accounting.lines, 4);
    assert_eq!(run.accounting.events, 2);
    assert_eq!(
        skipped(&run),
        [(
            "CRI partial line without its end".to_string(),
            2,
            vec![format!("{p}:1"), format!("{p}:4")]
        )]
    );
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// A prow-like artifacts folder: `build-log.txt` (the ginkgo log), `artifacts/junit_01.xml`,
/// the API server's rotated audit logs (the older one gzipped, named after the newer one)
/// and files that are none of these.
fn prow_tree(root: &std::path::Path) -> Vec<String> {
    let log = fixture_bytes("vcluster-v1.26-e2e.log.gz");
    let specs =
        auditscope::ingest::e2e::read_e2e(&fixture("vcluster-v1.26-e2e.log.gz"), None, None)
            .unwrap()
            .specs;
    let mut lines = Vec::new();
    let mut names = Vec::new();
    for (i, spec) in specs.iter().filter(|s| !s.suite_node).enumerate() {
        names.push(spec.name.clone());
        let ts = chrono::DateTime::from_timestamp_micros(spec.start + 1_000)
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let event = serde_json::json!({
            "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
            "auditID": format!("id-{i}"), "stage": "ResponseComplete",
            "requestURI": "/api/v1/namespaces/default/pods", "verb": "list",
            "user": {"username": "admin"}, "sourceIPs": ["10.0.0.1"],
            "userAgent": format!("e2e.test/v1.26.0 (linux/amd64) kubernetes/b69b3b2 -- {}", spec.name),
            "responseStatus": {"code": 200},
            "requestReceivedTimestamp": ts, "stageTimestamp": ts,
        });
        lines.push(event.to_string());
    }
    let half = lines.len() / 2;
    let master = root.join("artifacts/bootstrap-e2e-master");
    std::fs::create_dir_all(&master).unwrap();
    std::fs::write(root.join("build-log.txt"), &log).unwrap();
    std::fs::write(
        root.join("artifacts/junit_01.xml"),
        fixture_bytes("vcluster-v1.26-junit_01.xml.gz"),
    )
    .unwrap();
    std::fs::write(
        master.join("kube-apiserver-audit.log.1.gz"),
        gzip((lines[..half].join("\n") + "\n").as_bytes()),
    )
    .unwrap();
    std::fs::write(
        master.join("kube-apiserver-audit.log"),
        lines[half..].join("\n") + "\n",
    )
    .unwrap();
    std::fs::write(
        master.join("kube-apiserver.log"),
        "I0101 00:00:00.000000       1 server.go:1] starting\n",
    )
    .unwrap();
    std::fs::write(root.join("started.json"), "{\"timestamp\": 1}\n").unwrap();
    std::fs::write(root.join(".DS_Store"), "x").unwrap();
    names
}

#[test]
fn a_prow_folder_correlates_with_one_argument() {
    let dir = tempfile::tempdir().unwrap();
    let names = prow_tree(dir.path());
    let root = dir.path().display().to_string();
    let run = run_of(std::slice::from_ref(&root));
    assert_eq!(run.requests.len(), names.len());
    assert!(
        run.requests
            .iter()
            .all(|r| r.attribution == Attribution::Ua)
    );
    let inputs: Vec<(String, String)> = run
        .inputs
        .iter()
        .map(|i| (i.path.replace(&root, "DIR"), i.kind.clone()))
        .collect();
    assert_eq!(
        inputs,
        [
            // Oldest first: the rotated log, whatever its name.
            (
                "DIR/artifacts/bootstrap-e2e-master/kube-apiserver-audit.log.1.gz".to_string(),
                "audit".to_string()
            ),
            (
                "DIR/artifacts/bootstrap-e2e-master/kube-apiserver-audit.log".to_string(),
                "audit".to_string()
            ),
            (
                "DIR/artifacts/junit_01.xml".to_string(),
                "junit".to_string()
            ),
            ("DIR/build-log.txt".to_string(), "ginkgo-v2".to_string()),
        ]
    );
    assert!(
        run.notes.iter().any(
            |n| n == &format!("{root}: took 2 audit log(s) and 2 e2e input(s), left 2 file(s)")
        ),
        "{:?}",
        run.notes
    );
}

#[test]
fn correlate_dir_says_what_it_took_and_left() {
    let dir = tempfile::tempdir().unwrap();
    prow_tree(dir.path());
    let root = dir.path().display().to_string();
    let out = dir.path().join("RUN.json");
    let assert = bin()
        .args(["correlate", &root, "-o"])
        .arg(&out)
        .assert()
        .success();
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    let lines: Vec<String> = stderr
        .lines()
        .filter(|l| l.contains(" took ") || l.contains(" left "))
        .map(|l| l.replace(&root, "DIR"))
        .collect();
    assert_eq!(
        lines,
        [
            "auditscope: took DIR/artifacts/bootstrap-e2e-master/kube-apiserver-audit.log.1.gz (audit log)",
            "auditscope: took DIR/artifacts/bootstrap-e2e-master/kube-apiserver-audit.log (audit log)",
            "auditscope: took DIR/artifacts/junit_01.xml (junit)",
            "auditscope: took DIR/build-log.txt (ginkgo-v2)",
            "auditscope: left DIR/artifacts/bootstrap-e2e-master/kube-apiserver.log: not an audit log, e2e log or JUnit file",
            "auditscope: left DIR/started.json: not an audit log, e2e log or JUnit file",
        ]
    );
    // The folder's RUN.json is an output: a second correlate of the folder leaves it.
    let again = bin().args(["report", "summary", &root]).assert().success();
    let stderr = String::from_utf8(again.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.contains("RUN.json: a RUN.json (an output, not an input)"),
        "{stderr}"
    );
}

/// `report … | head`: the reader closes the pipe early; the command ends quietly with 0.
#[test]
fn a_closed_stdout_is_not_an_error() {
    for args in [
        &["report", "requests", "--format", "json"][..],
        &["report", "requests"][..],
        &["report", "events", "--format", "json"][..],
    ] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_auditscope"))
            .args(args)
            .arg(fixture("audit2rbac-demo-v1beta1.log.gz"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = [0u8; 16];
        child.stdout.take().unwrap().read_exact(&mut first).unwrap();
        // stdout is dropped (closed) here, before the report is written out.
        let out = child.wait_with_output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{args:?}");
        assert_eq!(out.status.code(), Some(0), "{args:?}");
    }
}
