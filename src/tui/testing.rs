//! A small builder for hand-made runs, and the sample run the explorer's tests use.
//!
//! Public (but hidden from the docs) so integration tests and benchmarks can build runs
//! without the ingest pipeline.

use crate::endpoints::Operation;
use crate::run::{
    Agent, AgentId, Attribution, Decision, Frame, Level, Micros, ObjectRef, OpId, Request, Run,
    Spec, SpecId, SpecStatus, Stage, Trace, TraceId, User, UserId,
};
use std::collections::HashMap;

/// Builds a [`Run`] by hand: interns strings and pushes tables.
#[derive(Debug, Default)]
pub struct RunBuilder {
    /// The run being built.
    pub run: Run,
    frames: HashMap<(String, String, u32), u32>,
}

/// One request to add with [`RunBuilder::request`].
#[derive(Debug, Clone)]
pub struct Req<'a> {
    pub verb: &'a str,
    pub uri: &'a str,
    pub code: u16,
    pub user: UserId,
    pub agent: AgentId,
    pub spec: Option<SpecId>,
    pub attribution: Attribution,
    pub endpoint: Option<OpId>,
    pub received: Micros,
    pub latency_us: i64,
    pub namespace: &'a str,
}

impl RunBuilder {
    /// An empty run.
    pub fn new() -> RunBuilder {
        RunBuilder::default()
    }

    /// Adds an operation.
    pub fn op(&mut self, id: &str, method: &str, path: &str) -> OpId {
        self.run.operations.push(Operation {
            id: id.into(),
            method: method.into(),
            path: path.into(),
            ..Default::default()
        });
        OpId::from_index(self.run.operations.len() - 1)
    }

    /// Adds a spec that ran `[start, start + secs)`.
    pub fn spec(&mut self, name: &str, status: SpecStatus, start: Micros, secs: f64) -> SpecId {
        let name = self.run.strings.intern(name);
        let end = start + (secs * 1e6) as i64;
        self.run.specs.push(Spec {
            name,
            status,
            duration: Some(secs),
            start,
            end,
            window_start: start,
            window_end: end,
            ..Default::default()
        });
        SpecId::from_index(self.run.specs.len() - 1)
    }

    /// Adds a user.
    pub fn user(&mut self, name: &str, groups: &[&str]) -> UserId {
        let name = self.run.strings.intern(name);
        let groups = groups.iter().map(|g| self.run.strings.intern(g)).collect();
        self.run.users.push(User { name, groups });
        (self.run.users.len() - 1) as UserId
    }

    /// Adds a trace from `(function, file, line)` frames, innermost first.
    pub fn trace(&mut self, frames: &[(&str, &str, u32)], truncated: bool) -> TraceId {
        let mut ids = Vec::new();
        for &(function, file, line) in frames {
            let key = (function.to_string(), file.to_string(), line);
            let id = match self.frames.get(&key) {
                Some(&id) => id,
                None => {
                    let function = self.run.strings.intern(function);
                    let file = self.run.strings.intern(file);
                    self.run.frames.push(Frame {
                        function,
                        file,
                        line,
                    });
                    let id = (self.run.frames.len() - 1) as u32;
                    self.frames.insert(key, id);
                    id
                }
            };
            ids.push(id);
        }
        self.run.traces.push(Trace {
            frames: ids,
            truncated,
        });
        (self.run.traces.len() - 1) as TraceId
    }

    /// Adds a user agent, optionally carrying a trace.
    pub fn agent(&mut self, raw: &str, trace: Option<TraceId>) -> AgentId {
        let raw = self.run.strings.intern(raw);
        self.run.agents.push(Agent {
            text: crate::run::AgentText::Whole(raw),
            trace,
            ..Default::default()
        });
        (self.run.agents.len() - 1) as AgentId
    }

    /// Adds a request; the audit id is made from its position.
    pub fn request(&mut self, r: Req<'_>) -> u32 {
        let n = self.run.requests.len();
        let s = &mut self.run.strings;
        self.run.requests.push(Request {
            audit_id: format!("00000000-0000-4000-8000-{n:012}").into(),
            verb: s.intern(r.verb),
            uri: s.intern(r.uri),
            user: r.user,
            impersonated: None,
            source_ips: s.intern("10.0.0.7"),
            agent: r.agent,
            object: ObjectRef {
                namespace: s.intern(r.namespace),
                ..Default::default()
            },
            code: r.code,
            level: Level::Metadata,
            stage: Stage::ResponseComplete,
            stage_events: 2,
            received: r.received,
            completed: r.received + r.latency_us,
            decision: Decision::Allow,
            reason: s.intern("RBAC: allowed by ClusterRoleBinding \"e2e\""),
            spec: r.spec,
            attribution: r.attribution,
            endpoint: r.endpoint,
            input: 0,
            line: n as u64 + 1,
        });
        n as u32
    }

    /// The finished run.
    pub fn build(self) -> Run {
        self.run
    }
}

/// 2024-05-01T10:00:00Z in microseconds.
pub const T0: Micros = 1_714_557_600_000_000;

const VENDOR: &str = "k8s.io/kubernetes/vendor/k8s.io/client-go";
const SRC: &str = "_output/local/go/src/k8s.io/kubernetes";

/// The sample run used by the explorer's tests: four specs (one a suite node), eleven
/// operations-or-paths, five traces (one truncated), requests of no spec, and one skip.
pub fn sample_run() -> Run {
    let mut b = RunBuilder::new();
    let read_pod = b.op(
        "readCoreV1NamespacedPod",
        "GET",
        "/api/v1/namespaces/{namespace}/pods/{name}",
    );
    let create_pod = b.op(
        "createCoreV1NamespacedPod",
        "POST",
        "/api/v1/namespaces/{namespace}/pods",
    );
    let list_ns = b.op("listCoreV1Namespace", "GET", "/api/v1/namespaces");
    let create_ns = b.op("createCoreV1Namespace", "POST", "/api/v1/namespaces");
    let delete_ns = b.op(
        "deleteCoreV1Namespace",
        "DELETE",
        "/api/v1/namespaces/{name}",
    );

    let s_pods = b.spec(
        "[sig-node] Pods should get a host IP [NodeConformance] [Conformance]",
        SpecStatus::Passed,
        T0,
        4.5,
    );
    let s_ns = b.spec(
        "[sig-api-machinery] Namespaces [Serial] should ensure that all pods are removed when a namespace is deleted [Conformance]",
        SpecStatus::Failed,
        T0 + 5_000_000,
        12.25,
    );
    let s_skip = b.spec(
        "[sig-storage] CSI mock volume should be skipped",
        SpecStatus::Skipped,
        T0 + 18_000_000,
        0.0,
    );
    let s_suite = b.spec(
        "[SynchronizedAfterSuite]",
        SpecStatus::Passed,
        T0 + 20_000_000,
        1.0,
    );
    b.run.specs[s_suite.index()].suite_node = true;
    let _ = s_skip;

    let e2e = b.user(
        "kubernetes-admin",
        &["system:masters", "system:authenticated"],
    );
    let kcm = b.user(
        "system:serviceaccount:kube-system:namespace-controller",
        &[],
    );

    let do_ = (
        "k8s.io/kubernetes/vendor/k8s.io/client-go/rest.(*Request).Do()",
        "_output/local/go/src/k8s.io/kubernetes/vendor/k8s.io/client-go/rest/request.go",
        805,
    );
    let pods_get = (
        "k8s.io/kubernetes/vendor/k8s.io/client-go/kubernetes/typed/core/v1.(*pods).Get()",
        "_output/local/go/src/k8s.io/kubernetes/vendor/k8s.io/client-go/kubernetes/typed/core/v1/pod.go",
        73,
    );
    let _ = (VENDOR, SRC);
    let pods_create = (
        "k8s.io/kubernetes/vendor/k8s.io/client-go/kubernetes/typed/core/v1.(*pods).Create()",
        "_output/local/go/src/k8s.io/kubernetes/vendor/k8s.io/client-go/kubernetes/typed/core/v1/pod.go",
        86,
    );
    let ns_create = (
        "k8s.io/kubernetes/vendor/k8s.io/client-go/kubernetes/typed/core/v1.(*namespaces).Create()",
        "_output/local/go/src/k8s.io/kubernetes/vendor/k8s.io/client-go/kubernetes/typed/core/v1/namespace.go",
        83,
    );
    let fw_create_ns = (
        "k8s.io/kubernetes/test/e2e/framework.CreateTestingNS()",
        "_output/local/go/src/k8s.io/kubernetes/test/e2e/framework/util.go",
        351,
    );
    let fw_before = (
        "k8s.io/kubernetes/test/e2e/framework.(*Framework).BeforeEach()",
        "_output/local/go/src/k8s.io/kubernetes/test/e2e/framework/framework.go",
        216,
    );
    let pod_client_create = (
        "k8s.io/kubernetes/test/e2e/framework.(*PodClient).CreateSync()",
        "_output/local/go/src/k8s.io/kubernetes/test/e2e/framework/pods.go",
        91,
    );
    let pods_test = (
        "k8s.io/kubernetes/test/e2e/common.glob..func17.1()",
        "_output/local/go/src/k8s.io/kubernetes/test/e2e/common/pods.go",
        145,
    );
    let ns_test = (
        "k8s.io/kubernetes/test/e2e/apimachinery.ensurePodsAreRemovedWhenNamespaceIsDeleted()",
        "_output/local/go/src/k8s.io/kubernetes/test/e2e/apimachinery/namespace.go",
        98,
    );
    let ginkgo = (
        "k8s.io/kubernetes/vendor/github.com/onsi/ginkgo/internal/leafnodes.(*runner).runSync()",
        "_output/local/go/src/k8s.io/kubernetes/vendor/github.com/onsi/ginkgo/internal/leafnodes/runner.go",
        113,
    );
    let testing_run = (
        "testing.tRunner()",
        "/usr/local/go/src/testing/testing.go",
        777,
    );
    let goexit = (
        "runtime.goexit()",
        "/usr/local/go/src/runtime/asm_amd64.s",
        2361,
    );

    let t_before = b.trace(
        &[
            do_,
            ns_create,
            fw_create_ns,
            fw_before,
            ginkgo,
            testing_run,
            goexit,
        ],
        false,
    );
    let t_get = b.trace(
        &[do_, pods_get, pods_test, ginkgo, testing_run, goexit],
        false,
    );
    let t_create = b.trace(
        &[
            do_,
            pods_create,
            pod_client_create,
            pods_test,
            ginkgo,
            testing_run,
            goexit,
        ],
        false,
    );
    let t_ns_create = b.trace(
        &[
            do_,
            pods_create,
            pod_client_create,
            ns_test,
            ginkgo,
            testing_run,
            goexit,
        ],
        false,
    );
    let t_trunc = b.trace(&[do_, pods_get, pods_test], true);

    let ua = |s: &str| {
        format!("e2e.test/v1.12.0 (linux/amd64) kubernetes/b143093 stacktrace=[{s}] -- spec")
    };
    let a_before = b.agent(&ua("before"), Some(t_before));
    let a_get = b.agent(&ua("get"), Some(t_get));
    let a_create = b.agent(&ua("create"), Some(t_create));
    let a_ns = b.agent(&ua("ns"), Some(t_ns_create));
    let a_trunc = b.agent(&ua("trunc...TRUNCATED"), Some(t_trunc));
    let a_kcm = b.agent(
        "kube-controller-manager/v1.12.0 (linux/amd64) kubernetes/b143093/system:serviceaccount:kube-system:namespace-controller",
        None,
    );

    let at = std::cell::Cell::new(T0 + 100_000);
    let add = |b: &mut RunBuilder,
               verb: &str,
               uri: &str,
               code: u16,
               user: UserId,
               agent: AgentId,
               spec: Option<SpecId>,
               endpoint: Option<OpId>| {
        at.set(at.get() + 250_000);
        let at = at.get();
        b.request(Req {
            verb,
            uri,
            code,
            user,
            agent,
            spec,
            attribution: if spec.is_some() {
                Attribution::Ua
            } else {
                Attribution::None
            },
            endpoint,
            received: at,
            latency_us: 1_234 + (at % 7_000),
            namespace: if uri.contains("e2e-tests-pods") {
                "e2e-tests-pods-x7k2q"
            } else if uri.contains("e2e-tests-ns") {
                "e2e-tests-ns-9fzqp"
            } else {
                ""
            },
        })
    };
    let p = Some(s_pods);
    let n = Some(s_ns);
    add(
        &mut b,
        "create",
        "/api/v1/namespaces",
        201,
        e2e,
        a_before,
        p,
        Some(create_ns),
    );
    add(
        &mut b,
        "create",
        "/api/v1/namespaces/e2e-tests-pods-x7k2q/pods",
        201,
        e2e,
        a_create,
        p,
        Some(create_pod),
    );
    for _ in 0..3 {
        add(
            &mut b,
            "get",
            "/api/v1/namespaces/e2e-tests-pods-x7k2q/pods/pod-hostip-1",
            200,
            e2e,
            a_get,
            p,
            Some(read_pod),
        );
    }
    add(
        &mut b,
        "get",
        "/api/v1/namespaces/e2e-tests-pods-x7k2q/pods/pod-hostip-1?resourceVersion=0",
        200,
        e2e,
        a_trunc,
        p,
        Some(read_pod),
    );
    add(
        &mut b,
        "list",
        "/api/v1/namespaces?limit=500",
        200,
        e2e,
        a_get,
        p,
        Some(list_ns),
    );
    at.set(T0 + 5_100_000);
    add(
        &mut b,
        "create",
        "/api/v1/namespaces",
        201,
        e2e,
        a_before,
        n,
        Some(create_ns),
    );
    for _ in 0..2 {
        add(
            &mut b,
            "create",
            "/api/v1/namespaces/e2e-tests-ns-9fzqp/pods",
            201,
            e2e,
            a_ns,
            n,
            Some(create_pod),
        );
    }
    add(
        &mut b,
        "delete",
        "/api/v1/namespaces/e2e-tests-ns-9fzqp",
        200,
        e2e,
        a_ns,
        n,
        Some(delete_ns),
    );
    add(
        &mut b,
        "get",
        "/apis/metrics.k8s.io/v1beta1?timeout=32s",
        404,
        e2e,
        a_ns,
        n,
        None,
    );
    add(
        &mut b,
        "get",
        "/apis/metrics.k8s.io/v1beta1?timeout=32s",
        404,
        e2e,
        a_ns,
        n,
        None,
    );
    at.set(T0 + 15_000_000);
    add(
        &mut b,
        "deletecollection",
        "/api/v1/namespaces/e2e-tests-ns-9fzqp/pods",
        200,
        kcm,
        a_kcm,
        None,
        None,
    );
    add(
        &mut b,
        "list",
        "/api/v1/namespaces?limit=500",
        200,
        kcm,
        a_kcm,
        None,
        Some(list_ns),
    );
    let mut run = b.build();
    run.accounting.lines = 30;
    run.accounting
        .skip("invalid json", || "audit.log:17".to_string());
    run
}

/// A large synthetic run for timing: `requests` requests over `specs` specs, 300 operations,
/// about 20,000 distinct traces over 4,000 frames, a tenth of the requests of no spec.
pub fn big_run(requests: usize, specs: usize) -> Run {
    let mut b = RunBuilder::new();
    // A small deterministic generator (no dependency, same run every time).
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let ops: Vec<OpId> = (0..300)
        .map(|i| {
            b.op(
                &format!("op{i}CoreV1Thing"),
                "GET",
                &format!("/api/v1/things{i}"),
            )
        })
        .collect();
    let spec_ids: Vec<SpecId> = (0..specs)
        .map(|i| {
            b.spec(
                &format!(
                    "[sig-area{}] Feature {} should behave number {i}",
                    i % 13,
                    i % 97
                ),
                if i % 50 == 0 {
                    SpecStatus::Failed
                } else {
                    SpecStatus::Passed
                },
                T0 + i as i64 * 1_000_000,
                1.0,
            )
        })
        .collect();
    let user = b.user("kubernetes-admin", &["system:masters"]);
    let functions: Vec<String> = (0..4000)
        .map(|i| {
            format!(
                "k8s.io/kubernetes/test/e2e/pkg{}.(*T{}).Method{i}()",
                i % 40,
                i % 200
            )
        })
        .collect();
    let mut agents = Vec::new();
    for t in 0..20_000u64 {
        let depth = 6 + (t % 8) as usize;
        let mut frames = vec![(
            "k8s.io/client-go/rest.(*Request).Do()".to_string(),
            "vendor/k8s.io/client-go/rest/request.go".to_string(),
            805u32,
        )];
        for d in 0..depth {
            let f = (next() % 4000) as usize;
            frames.push((
                functions[f].clone(),
                format!("test/e2e/pkg{}/file{}.go", f % 40, d),
                (f % 900) as u32 + 1,
            ));
        }
        let refs: Vec<(&str, &str, u32)> = frames
            .iter()
            .map(|(a, b, c)| (a.as_str(), b.as_str(), *c))
            .collect();
        let tr = b.trace(&refs, t % 17 == 0);
        agents.push(b.agent(&format!("e2e.test/v1.35 stacktrace=[{t}]"), Some(tr)));
    }
    for i in 0..requests {
        let r = next();
        let spec = if r % 10 == 0 {
            None
        } else {
            spec_ids.get(i * specs / requests.max(1)).copied()
        };
        let op = ops[(r >> 8) as usize % ops.len()];
        let uri = format!("/api/v1/things{}/obj{}", op, (r >> 20) % 1000);
        b.request(Req {
            verb: "get",
            uri: &uri,
            code: 200,
            user,
            agent: agents[(r >> 32) as usize % agents.len()],
            spec,
            attribution: if spec.is_some() {
                Attribution::Ua
            } else {
                Attribution::None
            },
            endpoint: if r % 7 == 0 { None } else { Some(op) },
            received: T0 + i as i64 * 1000,
            latency_us: 1000,
            namespace: "",
        });
    }
    b.build()
}
