//! Static tables the generator draws from: resources and their paths (as in the v1.35
//! endpoint table), actors (users, user agents, source IPs, RBAC reasons) and client-go /
//! ginkgo stack frames of the 2018 backtrace patch.

/// A Kubernetes resource the generator can touch.
pub(super) struct Res {
    /// Path prefix of the group version: `/api/v1` or `/apis/apps/v1`.
    pub prefix: &'static str,
    /// API group (`""` for core).
    pub group: &'static str,
    /// API version.
    pub version: &'static str,
    /// Plural resource name as in paths.
    pub plural: &'static str,
    /// Kind, for request bodies.
    pub kind: &'static str,
    /// Prefix of object names.
    pub name: &'static str,
    /// Whether objects live in a namespace.
    pub namespaced: bool,
    /// Subresources reachable on an object.
    pub subs: &'static [&'static str],
    /// client-go typed package (`core/v1`) and file stem (`pod`).
    pub typed: (&'static str, &'static str),
}

#[allow(clippy::too_many_arguments)] // a table row constructor, positional on purpose
const fn r(
    prefix: &'static str,
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    kind: &'static str,
    name: &'static str,
    namespaced: bool,
    subs: &'static [&'static str],
    typed: (&'static str, &'static str),
) -> Res {
    Res {
        prefix,
        group,
        version,
        plural,
        kind,
        name,
        namespaced,
        subs,
        typed,
    }
}

/// Resource indexes used by the generator (positions in [`RESOURCES`]).
pub(super) mod ri {
    pub const PODS: usize = 0;
    pub const SERVICES: usize = 1;
    pub const CONFIGMAPS: usize = 2;
    pub const SECRETS: usize = 3;
    pub const SERVICEACCOUNTS: usize = 4;
    pub const ENDPOINTS: usize = 5;
    pub const EVENTS: usize = 6;
    pub const PVCS: usize = 7;
    pub const RCS: usize = 8;
    pub const QUOTAS: usize = 9;
    pub const DEPLOYMENTS: usize = 12;
    pub const REPLICASETS: usize = 13;
    pub const STATEFULSETS: usize = 14;
    pub const DAEMONSETS: usize = 15;
    pub const CONTROLLERREVISIONS: usize = 16;
    pub const JOBS: usize = 17;
    pub const CRONJOBS: usize = 18;
    pub const HPAS: usize = 19;
    pub const INGRESSES: usize = 20;
    pub const NETPOLS: usize = 21;
    pub const PDBS: usize = 22;
    pub const ROLES: usize = 23;
    pub const ROLEBINDINGS: usize = 24;
    pub const LEASES: usize = 25;
    pub const ENDPOINTSLICES: usize = 26;
    pub const NODES: usize = 28;
    pub const PVS: usize = 29;
    pub const CRDS: usize = 30;
    pub const STORAGECLASSES: usize = 31;
    pub const WEBHOOKS: usize = 32;
    pub const NAMESPACES: usize = 33;
    /// Number of namespaced resources the namespace controller lists on teardown.
    pub const NAMESPACED: usize = 28;
}

const SCALE: &[&str] = &["status", "scale"];
const STATUS: &[&str] = &["status"];

/// Resources, namespaced first (the namespace controller walks `0..NAMESPACED`).
pub(super) static RESOURCES: [Res; 34] = [
    r(
        "/api/v1",
        "",
        "v1",
        "pods",
        "Pod",
        "pod",
        true,
        &[
            "status",
            "log",
            "exec",
            "proxy",
            "binding",
            "eviction",
            "ephemeralcontainers",
        ],
        ("core/v1", "pod"),
    ),
    r(
        "/api/v1",
        "",
        "v1",
        "services",
        "Service",
        "svc",
        true,
        &["status", "proxy"],
        ("core/v1", "service"),
    ),
    r(
        "/api/v1",
        "",
        "v1",
        "configmaps",
        "ConfigMap",
        "configmap-test",
        true,
        &[],
        ("core/v1", "configmap"),
    ),
    r(
        "/api/v1",
        "",
        "v1",
        "secrets",
        "Secret",
        "secret-test",
        true,
        &[],
        ("core/v1", "secret"),
    ),
    r(
        "/api/v1",
        "",
        "v1",
        "serviceaccounts",
        "ServiceAccount",
        "sa",
        true,
        &["token"],
        ("core/v1", "serviceaccount"),
    ),
    r(
        "/api/v1",
        "",
        "v1",
        "endpoints",
        "Endpoints",
        "endpoint",
        true,
        &[],
        ("core/v1", "endpoints"),
    ),
    r(
        "/api/v1",
        "",
        "v1",
        "events",
        "Event",
        "event-test",
        true,
        &[],
        ("core/v1", "event"),
    ),
    r(
        "/api/v1",
        "",
        "v1",
        "persistentvolumeclaims",
        "PersistentVolumeClaim",
        "pvc",
        true,
        STATUS,
        ("core/v1", "persistentvolumeclaim"),
    ),
    r(
        "/api/v1",
        "",
        "v1",
        "replicationcontrollers",
        "ReplicationController",
        "rc",
        true,
        SCALE,
        ("core/v1", "replicationcontroller"),
    ),
    r(
        "/api/v1",
        "",
        "v1",
        "resourcequotas",
        "ResourceQuota",
        "test-quota",
        true,
        STATUS,
        ("core/v1", "resourcequota"),
    ),
    r(
        "/api/v1",
        "",
        "v1",
        "limitranges",
        "LimitRange",
        "limitrange",
        true,
        &[],
        ("core/v1", "limitrange"),
    ),
    r(
        "/api/v1",
        "",
        "v1",
        "podtemplates",
        "PodTemplate",
        "podtemplate",
        true,
        &[],
        ("core/v1", "podtemplate"),
    ),
    r(
        "/apis/apps/v1",
        "apps",
        "v1",
        "deployments",
        "Deployment",
        "test-deployment",
        true,
        SCALE,
        ("apps/v1", "deployment"),
    ),
    r(
        "/apis/apps/v1",
        "apps",
        "v1",
        "replicasets",
        "ReplicaSet",
        "test-rs",
        true,
        SCALE,
        ("apps/v1", "replicaset"),
    ),
    r(
        "/apis/apps/v1",
        "apps",
        "v1",
        "statefulsets",
        "StatefulSet",
        "ss",
        true,
        SCALE,
        ("apps/v1", "statefulset"),
    ),
    r(
        "/apis/apps/v1",
        "apps",
        "v1",
        "daemonsets",
        "DaemonSet",
        "daemon-set",
        true,
        STATUS,
        ("apps/v1", "daemonset"),
    ),
    r(
        "/apis/apps/v1",
        "apps",
        "v1",
        "controllerrevisions",
        "ControllerRevision",
        "revision",
        true,
        &[],
        ("apps/v1", "controllerrevision"),
    ),
    r(
        "/apis/batch/v1",
        "batch",
        "v1",
        "jobs",
        "Job",
        "foo",
        true,
        STATUS,
        ("batch/v1", "job"),
    ),
    r(
        "/apis/batch/v1",
        "batch",
        "v1",
        "cronjobs",
        "CronJob",
        "cronjob",
        true,
        STATUS,
        ("batch/v1", "cronjob"),
    ),
    r(
        "/apis/autoscaling/v2",
        "autoscaling",
        "v2",
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        "hpa",
        true,
        STATUS,
        ("autoscaling/v2", "horizontalpodautoscaler"),
    ),
    r(
        "/apis/networking.k8s.io/v1",
        "networking.k8s.io",
        "v1",
        "ingresses",
        "Ingress",
        "ingress",
        true,
        STATUS,
        ("networking/v1", "ingress"),
    ),
    r(
        "/apis/networking.k8s.io/v1",
        "networking.k8s.io",
        "v1",
        "networkpolicies",
        "NetworkPolicy",
        "allow-client",
        true,
        &[],
        ("networking/v1", "networkpolicy"),
    ),
    r(
        "/apis/policy/v1",
        "policy",
        "v1",
        "poddisruptionbudgets",
        "PodDisruptionBudget",
        "pdb",
        true,
        STATUS,
        ("policy/v1", "poddisruptionbudget"),
    ),
    r(
        "/apis/rbac.authorization.k8s.io/v1",
        "rbac.authorization.k8s.io",
        "v1",
        "roles",
        "Role",
        "role",
        true,
        &[],
        ("rbac/v1", "role"),
    ),
    r(
        "/apis/rbac.authorization.k8s.io/v1",
        "rbac.authorization.k8s.io",
        "v1",
        "rolebindings",
        "RoleBinding",
        "rolebinding",
        true,
        &[],
        ("rbac/v1", "rolebinding"),
    ),
    r(
        "/apis/coordination.k8s.io/v1",
        "coordination.k8s.io",
        "v1",
        "leases",
        "Lease",
        "lease",
        true,
        &[],
        ("coordination/v1", "lease"),
    ),
    r(
        "/apis/discovery.k8s.io/v1",
        "discovery.k8s.io",
        "v1",
        "endpointslices",
        "EndpointSlice",
        "slice",
        true,
        &[],
        ("discovery/v1", "endpointslice"),
    ),
    r(
        "/apis/events.k8s.io/v1",
        "events.k8s.io",
        "v1",
        "events",
        "Event",
        "event",
        true,
        &[],
        ("events/v1", "event"),
    ),
    r(
        "/api/v1",
        "",
        "v1",
        "nodes",
        "Node",
        "node",
        false,
        &["status", "proxy"],
        ("core/v1", "node"),
    ),
    r(
        "/api/v1",
        "",
        "v1",
        "persistentvolumes",
        "PersistentVolume",
        "pv",
        false,
        STATUS,
        ("core/v1", "persistentvolume"),
    ),
    r(
        "/apis/apiextensions.k8s.io/v1",
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        "e2e-test-crd",
        false,
        STATUS,
        ("apiextensions/v1", "customresourcedefinition"),
    ),
    r(
        "/apis/storage.k8s.io/v1",
        "storage.k8s.io",
        "v1",
        "storageclasses",
        "StorageClass",
        "sc",
        false,
        &[],
        ("storage/v1", "storageclass"),
    ),
    r(
        "/apis/admissionregistration.k8s.io/v1",
        "admissionregistration.k8s.io",
        "v1",
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        "webhook",
        false,
        &[],
        ("admissionregistration/v1", "validatingwebhookconfiguration"),
    ),
    r(
        "/api/v1",
        "",
        "v1",
        "namespaces",
        "Namespace",
        "ns",
        false,
        &["status", "finalize"],
        ("core/v1", "namespace"),
    ),
];

/// Resource families a spec mostly works on, by SIG (first bracket of the container text).
pub(super) fn families(sig: &str) -> &'static [usize] {
    use ri::*;
    match sig {
        "[sig-apps]" => &[
            DEPLOYMENTS,
            REPLICASETS,
            STATEFULSETS,
            DAEMONSETS,
            JOBS,
            CRONJOBS,
            RCS,
            PODS,
        ],
        "[sig-network]" => &[
            SERVICES,
            ENDPOINTS,
            ENDPOINTSLICES,
            PODS,
            INGRESSES,
            NETPOLS,
        ],
        "[sig-storage]" => &[PVCS, PVS, CONFIGMAPS, SECRETS, PODS, STORAGECLASSES],
        "[sig-cli]" => &[PODS, SERVICES, RCS, DEPLOYMENTS, CONFIGMAPS],
        "[sig-api-machinery]" => &[CRDS, QUOTAS, CONFIGMAPS, SECRETS, LEASES, WEBHOOKS],
        "[sig-auth]" => &[SERVICEACCOUNTS, SECRETS, ROLES, ROLEBINDINGS, PODS],
        "[sig-scheduling]" => &[PODS, NODES, RCS, PDBS],
        "[sig-autoscaling]" => &[HPAS, DEPLOYMENTS, RCS, PODS],
        _ => &[PODS, CONFIGMAPS, SECRETS, EVENTS],
    }
}

/// Go package directory of a SIG's tests, for frames of `test/e2e/<dir>`.
pub(super) fn sig_dir(sig: &str) -> &'static str {
    match sig {
        "[sig-apps]" => "apps",
        "[sig-network]" => "network",
        "[sig-storage]" => "storage",
        "[sig-cli]" => "kubectl",
        "[sig-api-machinery]" => "apimachinery",
        "[sig-auth]" => "auth",
        "[sig-scheduling]" => "scheduling",
        "[sig-autoscaling]" => "autoscaling",
        "[sig-instrumentation]" => "instrumentation",
        "[sig-node]" => "node",
        _ => "common",
    }
}

/// The client-go version string shared by all binaries of the run.
pub(super) const VERSION: &str = "/v1.12.0 (linux/amd64) kubernetes/b143093";

/// Group lists as raw JSON.
pub(super) const G_MASTERS: &str = r#"["system:masters","system:authenticated"]"#;
pub(super) const G_KUBE_SYSTEM_SA: &str =
    r#"["system:serviceaccounts","system:serviceaccounts:kube-system","system:authenticated"]"#;
pub(super) const G_NODES: &str = r#"["system:nodes","system:authenticated"]"#;
pub(super) const G_AUTH: &str = r#"["system:authenticated"]"#;

/// Controllers of kube-controller-manager (each runs as its own service account) and
/// the resources they touch in a test's namespace.
pub(super) static CONTROLLERS: &[(&str, &[usize])] = &[
    (
        "deployment-controller",
        &[ri::DEPLOYMENTS, ri::REPLICASETS, ri::PODS],
    ),
    ("replicaset-controller", &[ri::REPLICASETS, ri::PODS]),
    (
        "statefulset-controller",
        &[
            ri::STATEFULSETS,
            ri::PODS,
            ri::PVCS,
            ri::CONTROLLERREVISIONS,
        ],
    ),
    ("daemon-set-controller", &[ri::DAEMONSETS, ri::PODS]),
    ("job-controller", &[ri::JOBS, ri::PODS]),
    ("cronjob-controller", &[ri::CRONJOBS, ri::JOBS]),
    ("replication-controller", &[ri::RCS, ri::PODS]),
    (
        "endpoint-controller",
        &[ri::ENDPOINTS, ri::SERVICES, ri::PODS],
    ),
    (
        "endpointslice-controller",
        &[ri::ENDPOINTSLICES, ri::SERVICES],
    ),
    ("disruption-controller", &[ri::PDBS, ri::PODS]),
    ("horizontal-pod-autoscaler", &[ri::HPAS, ri::DEPLOYMENTS]),
    (
        "resourcequota-controller",
        &[ri::QUOTAS, ri::PODS, ri::CONFIGMAPS],
    ),
    (
        "generic-garbage-collector",
        &[ri::PODS, ri::REPLICASETS, ri::CONFIGMAPS],
    ),
    ("persistent-volume-binder", &[ri::PVCS, ri::PVS]),
    ("pvc-protection-controller", &[ri::PVCS, ri::PODS]),
    ("service-account-controller", &[ri::SERVICEACCOUNTS]),
];

/// e2e framework helpers that call client-go (function, file, line).
pub(super) static HELPERS: &[(&str, &str, u32)] = &[
    (
        "framework.(*PodClient).CreateSync()",
        "test/e2e/framework/pods.go",
        83,
    ),
    (
        "framework.(*PodClient).Create()",
        "test/e2e/framework/pods.go",
        66,
    ),
    (
        "framework.(*PodClient).Update.func1()",
        "test/e2e/framework/pods.go",
        114,
    ),
    (
        "framework.(*PodClient).DeleteSync()",
        "test/e2e/framework/pods.go",
        127,
    ),
    (
        "framework.WaitForPodNameRunningInNamespace()",
        "test/e2e/framework/util.go",
        1517,
    ),
    (
        "framework.waitForPodCondition()",
        "test/e2e/framework/util.go",
        626,
    ),
    (
        "framework.(*Framework).CreateNamespace()",
        "test/e2e/framework/framework.go",
        382,
    ),
    (
        "framework.(*Framework).BeforeEach()",
        "test/e2e/framework/framework.go",
        226,
    ),
    (
        "framework.(*Framework).AfterEach()",
        "test/e2e/framework/framework.go",
        333,
    ),
    (
        "framework.(*Framework).MatchContainerOutput()",
        "test/e2e/framework/framework.go",
        456,
    ),
    (
        "framework.(*Framework).TestContainerOutput()",
        "test/e2e/framework/util.go",
        2289,
    ),
    (
        "framework.WaitForDeploymentComplete()",
        "test/e2e/framework/deployment_util.go",
        175,
    ),
    (
        "framework.UpdateDeploymentWithRetries()",
        "test/e2e/framework/deployment_util.go",
        62,
    ),
    (
        "framework.(*StatefulSetTester).WaitForRunning()",
        "test/e2e/framework/statefulset_utils.go",
        542,
    ),
    (
        "framework.(*StatefulSetTester).Scale()",
        "test/e2e/framework/statefulset_utils.go",
        416,
    ),
    (
        "framework.DeleteRCAndWaitForGC()",
        "test/e2e/framework/util.go",
        3029,
    ),
    ("framework.RunRC()", "test/e2e/framework/util.go", 2412),
    (
        "framework.(*RCConfig).start()",
        "test/e2e/framework/util.go",
        2755,
    ),
    (
        "framework.WaitForService()",
        "test/e2e/framework/util.go",
        1765,
    ),
    (
        "framework.(*ServiceTestJig).CreateTCPServiceOrFail()",
        "test/e2e/framework/service_util.go",
        166,
    ),
    (
        "framework.(*ServiceTestJig).UpdateService()",
        "test/e2e/framework/service_util.go",
        580,
    ),
    (
        "framework.WaitForPersistentVolumeClaimPhase()",
        "test/e2e/framework/util.go",
        1068,
    ),
    (
        "framework.CreatePVC()",
        "test/e2e/framework/pv_util.go",
        525,
    ),
    (
        "framework.WaitForDefaultServiceAccountInNamespace()",
        "test/e2e/framework/util.go",
        1040,
    ),
    (
        "framework.CheckPodsRunningReady()",
        "test/e2e/framework/util.go",
        1455,
    ),
    ("framework.GetPodLogs()", "test/e2e/framework/util.go", 2198),
    (
        "framework.ExecCommandInContainerWithFullOutput()",
        "test/e2e/framework/exec_util.go",
        89,
    ),
    (
        "framework.WaitForJobFinish()",
        "test/e2e/framework/jobs_util.go",
        197,
    ),
    (
        "framework.ScaleResource()",
        "test/e2e/framework/util.go",
        2912,
    ),
    (
        "framework.WaitForNamespacesDeleted()",
        "test/e2e/framework/util.go",
        1152,
    ),
];

/// Outermost frames: ginkgo internals and `testing.tRunner` (function, file, line).
pub(super) static GINKGO: &[(&str, &str, u32)] = &[
    (
        "github.com/onsi/ginkgo/internal/leafnodes.(*runner).runSync()",
        "vendor/github.com/onsi/ginkgo/internal/leafnodes/runner.go",
        113,
    ),
    (
        "github.com/onsi/ginkgo/internal/leafnodes.(*runner).run()",
        "vendor/github.com/onsi/ginkgo/internal/leafnodes/runner.go",
        64,
    ),
    (
        "github.com/onsi/ginkgo/internal/leafnodes.(*ItNode).Run()",
        "vendor/github.com/onsi/ginkgo/internal/leafnodes/it_node.go",
        26,
    ),
    (
        "github.com/onsi/ginkgo/internal/spec.(*Spec).runSample()",
        "vendor/github.com/onsi/ginkgo/internal/spec/spec.go",
        203,
    ),
    (
        "github.com/onsi/ginkgo/internal/spec.(*Spec).Run()",
        "vendor/github.com/onsi/ginkgo/internal/spec/spec.go",
        138,
    ),
    (
        "github.com/onsi/ginkgo/internal/specrunner.(*SpecRunner).runSpec()",
        "vendor/github.com/onsi/ginkgo/internal/specrunner/spec_runner.go",
        200,
    ),
    (
        "github.com/onsi/ginkgo/internal/specrunner.(*SpecRunner).runSpecs()",
        "vendor/github.com/onsi/ginkgo/internal/specrunner/spec_runner.go",
        170,
    ),
    (
        "github.com/onsi/ginkgo/internal/specrunner.(*SpecRunner).Run()",
        "vendor/github.com/onsi/ginkgo/internal/specrunner/spec_runner.go",
        66,
    ),
    (
        "github.com/onsi/ginkgo/internal/suite.(*Suite).Run()",
        "vendor/github.com/onsi/ginkgo/internal/suite/suite.go",
        62,
    ),
];

/// The outermost frame of every e2e trace.
pub(super) const T_RUNNER: &str = "testing.tRunner():/usr/local/go/src/testing/testing.go:777";

/// Cluster-wide background requests (verb, URI, actor kind) unrelated to any spec.
pub(super) static BACKGROUND: &[(&str, &str, Actor)] = &[
    (
        "list",
        "/apis/admissionregistration.k8s.io/v1alpha1/initializerconfigurations",
        Actor::Apiserver,
    ),
    (
        "get",
        "/apis/extensions/v1beta1/namespaces/kube-system/daemonsets/fluentd-gcp-v3.0.0",
        Actor::Addon,
    ),
    (
        "get",
        "/api/v1/namespaces/kube-system/secrets/fluentd-gcp-scaler-token-85n8x",
        Actor::Addon,
    ),
    (
        "get",
        "/api/v1/namespaces/kube-system/endpoints/kube-scheduler?timeout=10s",
        Actor::Scheduler,
    ),
    (
        "update",
        "/api/v1/namespaces/kube-system/endpoints/kube-scheduler?timeout=10s",
        Actor::Scheduler,
    ),
    (
        "get",
        "/api/v1/namespaces/kube-system/endpoints/kube-controller-manager?timeout=10s",
        Actor::LeaderElection,
    ),
    (
        "update",
        "/api/v1/namespaces/kube-system/endpoints/kube-controller-manager?timeout=10s",
        Actor::LeaderElection,
    ),
    (
        "get",
        "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/NODE?timeout=10s",
        Actor::Kubelet,
    ),
    (
        "update",
        "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/NODE?timeout=10s",
        Actor::Kubelet,
    ),
    (
        "patch",
        "/api/v1/nodes/NODE/status?timeout=10s",
        Actor::Kubelet,
    ),
    (
        "get",
        "/api/v1/nodes/NODE?resourceVersion=0&timeout=10s",
        Actor::Kubelet,
    ),
    (
        "watch",
        "/api/v1/services?resourceVersion=RV&timeout=7m22s&timeoutSeconds=442&watch=true",
        Actor::Proxy,
    ),
    (
        "watch",
        "/api/v1/endpoints?resourceVersion=RV&timeout=8m5s&timeoutSeconds=485&watch=true",
        Actor::Proxy,
    ),
    (
        "watch",
        "/api/v1/pods?resourceVersion=RV&timeout=6m14s&timeoutSeconds=374&watch=true",
        Actor::Scheduler,
    ),
    (
        "watch",
        "/api/v1/nodes?resourceVersion=RV&timeout=9m1s&timeoutSeconds=541&watch=true",
        Actor::Scheduler,
    ),
    (
        "watch",
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings?resourceVersion=RV&timeout=5m3s&timeoutSeconds=303&watch=true",
        Actor::Apiserver,
    ),
    (
        "list",
        "/api/v1/namespaces?limit=500&resourceVersion=0",
        Actor::Controller,
    ),
    ("get", "/api/v1/namespaces/default", Actor::Apiserver),
    ("get", "/api/v1/namespaces/kube-system", Actor::Apiserver),
    (
        "list",
        "/api/v1/resourcequotas?limit=500&resourceVersion=0",
        Actor::Apiserver,
    ),
    ("get", "/api?timeout=32s", Actor::Controller),
    ("get", "/apis?timeout=32s", Actor::Controller),
    (
        "get",
        "/apis/metrics.k8s.io/v1beta1?timeout=32s",
        Actor::Controller,
    ),
];

/// Who makes a request: picks the user, groups, user agent, source IP and RBAC reason.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Actor {
    /// The e2e test binary's own client (spec name and/or stack trace in the UA).
    E2e,
    /// kubectl run by a test (own UA, no spec name).
    Kubectl,
    /// A kube-controller-manager controller (service account user).
    Controller,
    /// kube-controller-manager's leader election.
    LeaderElection,
    /// The scheduler.
    Scheduler,
    /// A kubelet.
    Kubelet,
    /// kube-proxy.
    Proxy,
    /// The API server's own loopback client.
    Apiserver,
    /// A cluster add-on (fluentd scaler).
    Addon,
    /// A test's restricted service account (often forbidden).
    TestSa,
}

/// Discovery paths e2e and kubectl clients hit.
pub(super) static DISCOVERY: &[&str] = &[
    "/api",
    "/apis",
    "/api/v1",
    "/version",
    "/apis/apps/v1",
    "/apis/batch/v1",
    "/apis/autoscaling/v2",
    "/apis/networking.k8s.io/v1",
    "/apis/policy/v1",
    "/apis/rbac.authorization.k8s.io/v1",
    "/apis/storage.k8s.io/v1",
    "/apis/apiextensions.k8s.io/v1",
    "/apis/coordination.k8s.io/v1",
    "/apis/discovery.k8s.io/v1",
    "/apis/events.k8s.io/v1",
    "/apis/admissionregistration.k8s.io/v1",
    "/apis/authorization.k8s.io/v1",
    "/apis/authentication.k8s.io/v1",
    "/apis/certificates.k8s.io/v1",
    "/apis/scheduling.k8s.io/v1",
    "/openapi/v2",
];

/// Container images used in generated pod bodies.
pub(super) static IMAGES: &[&str] = &[
    "k8s.gcr.io/nginx-slim-amd64:0.20",
    "gcr.io/kubernetes-e2e-test-images/mounttest-amd64:1.0",
    "gcr.io/kubernetes-e2e-test-images/netexec-amd64:1.0",
    "k8s.gcr.io/busybox:1.24",
    "gcr.io/kubernetes-e2e-test-images/serve-hostname-amd64:1.1",
    "k8s.gcr.io/pause:3.1",
    "docker.io/library/redis:5.0.5-alpine",
];
