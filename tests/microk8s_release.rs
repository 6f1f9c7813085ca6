//! A MicroK8s-style audit log: every control-plane component runs inside one `kubelite`
//! binary, so its requests carry `kubelite/v1.25.6 (linux/amd64) kubernetes/ff2c119` user
//! agents (the scheduler's with `/scheduler` appended), next to a newer kubectl. Without
//! `--release`, `correlate` takes release 1.25 from the components (not from kubectl), and the
//! API server's own `flowcontrol.apiserver.k8s.io/v1beta2` requests (priority and fairness
//! config, removed from the tables after 1.28) match their operations; so do kubectl's
//! `autoscaling/v2beta2` ones (removed after 1.25).
//!
//! The log is written here: no public MicroK8s audit log was found (the shared samples hold
//! none), so the events follow the shape of the real AKS/kind ones in `tests/fixtures/`.

mod common;

use common::{bin, stdout_of};
use serde_json::{Value, json};

const KUBELITE: &str = "kubelite/v1.25.6 (linux/amd64) kubernetes/ff2c119";
const KUBECTL: &str = "kubectl/v1.27.1 (linux/amd64) kubernetes/4c94112";

/// (verb, requestURI, user, user agent, code, operationId it must match).
fn requests() -> Vec<(
    &'static str,
    &'static str,
    &'static str,
    String,
    u16,
    &'static str,
)> {
    let k = || KUBELITE.to_string();
    vec![
        (
            "list",
            "/apis/flowcontrol.apiserver.k8s.io/v1beta2/flowschemas?limit=500&resourceVersion=0",
            "system:apiserver",
            k(),
            200,
            "listFlowcontrolApiserverV1beta2FlowSchema",
        ),
        (
            "watch",
            "/apis/flowcontrol.apiserver.k8s.io/v1beta2/prioritylevelconfigurations?allowWatchBookmarks=true&resourceVersion=1&timeout=8m&timeoutSeconds=480&watch=true",
            "system:apiserver",
            k(),
            200,
            "listFlowcontrolApiserverV1beta2PriorityLevelConfiguration",
        ),
        (
            "patch",
            "/apis/flowcontrol.apiserver.k8s.io/v1beta2/flowschemas/exempt/status?fieldManager=api-priority-and-fairness-config-consumer-v1",
            "system:apiserver",
            k(),
            200,
            "patchFlowcontrolApiserverV1beta2FlowSchemaStatus",
        ),
        (
            "get",
            "/apis/flowcontrol.apiserver.k8s.io/v1beta2/prioritylevelconfigurations/exempt",
            "system:apiserver",
            k(),
            200,
            "readFlowcontrolApiserverV1beta2PriorityLevelConfiguration",
        ),
        (
            "get",
            "/api/v1/nodes/microk8s-vm?timeout=10s",
            "system:node:microk8s-vm",
            k(),
            200,
            "readCoreV1Node",
        ),
        (
            "update",
            "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/microk8s-vm?timeout=10s",
            "system:node:microk8s-vm",
            k(),
            200,
            "replaceCoordinationV1NamespacedLease",
        ),
        (
            "list",
            "/api/v1/pods?limit=500&resourceVersion=0",
            "system:kube-scheduler",
            format!("{KUBELITE}/scheduler"),
            200,
            "listCoreV1PodForAllNamespaces",
        ),
        (
            "create",
            "/apis/autoscaling/v2beta2/namespaces/default/horizontalpodautoscalers?fieldManager=kubectl-client-side-apply",
            "admin",
            KUBECTL.to_string(),
            201,
            "createAutoscalingV2beta2NamespacedHorizontalPodAutoscaler",
        ),
        (
            "get",
            "/apis/autoscaling/v2beta2/namespaces/default/horizontalpodautoscalers/web",
            "admin",
            KUBECTL.to_string(),
            200,
            "readAutoscalingV2beta2NamespacedHorizontalPodAutoscaler",
        ),
    ]
}

#[test]
fn microk8s_log_gets_release_1_25_and_its_v1beta2_requests_match() {
    let dir = tempfile::tempdir().unwrap();
    let reqs = requests();
    let mut log = String::new();
    for (i, (verb, uri, user, agent, code, _)) in reqs.iter().enumerate() {
        let event = json!({
            "kind": "Event",
            "apiVersion": "audit.k8s.io/v1",
            "level": "Metadata",
            "auditID": format!("6b5c1d2e-0000-4000-8000-{i:012}"),
            "stage": "ResponseComplete",
            "requestURI": uri,
            "verb": verb,
            "user": {"username": user, "groups": ["system:authenticated"]},
            "sourceIPs": ["127.0.0.1"],
            "userAgent": agent,
            "responseStatus": {"metadata": {}, "code": code},
            "requestReceivedTimestamp": format!("2023-02-10T09:15:{i:02}.100000Z"),
            "stageTimestamp": format!("2023-02-10T09:15:{i:02}.104000Z"),
        });
        log.push_str(&event.to_string());
        log.push('\n');
    }
    let audit = dir.path().join("audit.log");
    std::fs::write(&audit, log).unwrap();
    let run = dir.path().join("RUN.json");
    bin()
        .arg("correlate")
        .arg(&audit)
        .arg("-o")
        .arg(&run)
        .assert()
        .success();

    let out = stdout_of(
        bin()
            .args(["report", "summary", "--format", "json"])
            .arg(&run),
    );
    let summary: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        summary["release"]["release"], "1.25",
        "{}",
        summary["release"]
    );
    assert_eq!(summary["release"]["source"], "component-user-agent");
    assert_eq!(summary["release"]["evidence"], "kubelite/v1.25.6");
    let text = stdout_of(bin().args(["report", "summary"]).arg(&run));
    assert!(
        text.contains("release    1.25 (from the cluster components' user agents"),
        "{text}"
    );

    // Every request matched its operation of the 1.25 table.
    let out = stdout_of(
        bin()
            .args(["report", "endpoints", "--format", "json"])
            .arg(&run),
    );
    let endpoints = out;
    for (_, uri, _, _, _, op) in &reqs {
        assert!(
            endpoints.contains(&format!("\"{op}\"")),
            "{op} ({uri}) not hit:\n{endpoints}"
        );
    }
    let v: Value = serde_json::from_str(&endpoints).unwrap();
    assert_eq!(
        (v["requests"].as_u64(), v["matched"].as_u64()),
        (Some(reqs.len() as u64), Some(reqs.len() as u64)),
        "{}",
        v["unmatched"]
    );

    // The same log matched against the newest table leaves the v1beta2 groups unmatched.
    let latest = stdout_of(
        bin()
            .args([
                "report",
                "endpoints",
                "--format",
                "json",
                "--release",
                "1.37",
            ])
            .arg(&run),
    );
    assert!(!latest.contains("\"listFlowcontrolApiserverV1beta2FlowSchema\""));
}
