//! The request filter, the endpoints report and APISnoop-shaped coverage, on a hand-built run.

use std::collections::BTreeSet;

use auditscope::endpoints::{EndpointTable, Release};
use auditscope::ingest::source::read_to_vec;
use auditscope::report::coverage::{
    Coverage, CoverageOptions, CoverageRules, coverage, release_operations,
};
use auditscope::report::endpoints::endpoints_report;
use auditscope::report::filter::{CodeFilter, FilterArgs, RequestFilter};
use auditscope::run::{
    Agent, AgentText, Attribution, InputInfo, ReleaseSource, Request, Run, RunRelease, Spec, SpecId,
};

/// Coverage of one run with the embedded lists.
fn coverage_report(run: &Run, filter: &RequestFilter, count_window: bool) -> Coverage {
    let rules = CoverageRules::embedded();
    let opts = CoverageOptions {
        filter,
        count_window,
        success_only: false,
        rules: &rules,
    };
    coverage(&[run], &opts).unwrap()
}

const CONF: &str =
    "[sig-node] Pods should be submitted and removed [NodeConformance] [Conformance]";
const PLAIN: &str = "[sig-node] Pods should get a host IP";

/// Builds runs by hand until the correlator lands.
struct Builder {
    run: Run,
    table: EndpointTable,
}

impl Builder {
    fn new() -> Builder {
        let table = EndpointTable::for_release(Release::new(1, 35)).unwrap();
        let run = Run {
            operations: table.operations().to_vec(),
            release: Some(RunRelease {
                release: Release::new(1, 35),
                source: ReleaseSource::Flag,
                evidence: String::new(),
                detected: None,
            }),
            inputs: vec![InputInfo {
                path: "audit.log".into(),
                kind: "audit".into(),
                bytes: 0,
                lines: 0,
            }],
            ..Run::default()
        };
        Builder { run, table }
    }

    fn spec(&mut self, name: &str, location: &str) -> SpecId {
        let spec = Spec {
            name: self.run.strings.intern(name),
            location: self.run.strings.intern(location),
            conformance: name.contains("[Conformance]"),
            ..Spec::default()
        };
        self.run.specs.push(spec);
        SpecId::from_index(self.run.specs.len() - 1)
    }

    #[allow(clippy::too_many_arguments)]
    fn req(
        &mut self,
        verb: &str,
        uri: &str,
        code: u16,
        spec: Option<SpecId>,
        attribution: Attribution,
        second: i64,
        ua: &str,
    ) {
        let raw = self.run.strings.intern(ua);
        let text = AgentText::Whole(raw);
        let agent = match self.run.agents.iter().position(|a| a.text == text) {
            Some(i) => i as u32,
            None => {
                self.run.agents.push(Agent {
                    text,
                    ..Agent::default()
                });
                (self.run.agents.len() - 1) as u32
            }
        };
        let request = Request {
            audit_id: format!("id-{}", self.run.requests.len()).into(),
            verb: self.run.strings.intern(verb),
            uri: self.run.strings.intern(uri),
            agent,
            code,
            received: 1_700_000_000_000_000 + second * 1_000_000,
            spec,
            attribution,
            endpoint: self.table.match_request(verb, uri),
            ..Request::default()
        };
        self.run.requests.push(request);
    }
}

fn sample_run() -> Run {
    let mut b = Builder::new();
    let conf = b.spec(CONF, "test/e2e/common/node/pods.go:226");
    let plain = b.spec(PLAIN, "");
    let ua = |s: &str| format!("e2e.test/v1.35.0 (linux/amd64) kubernetes/abc -- {s}");
    let (ua_conf, ua_plain) = (ua(CONF), ua(PLAIN));
    b.req(
        "create",
        "/api/v1/namespaces/ns1/pods",
        201,
        Some(conf),
        Attribution::Ua,
        0,
        &ua_conf,
    );
    b.req(
        "get",
        "/api/v1/namespaces/ns1/pods/p1",
        200,
        Some(conf),
        Attribution::Ua,
        1,
        &ua_conf,
    );
    b.req(
        "watch",
        "/api/v1/namespaces/ns1/pods?watch=true",
        200,
        Some(plain),
        Attribution::Window,
        2,
        "kubelet/v1.35.0",
    );
    b.req(
        "get",
        "/api/v1/namespaces/ns1/pods/p2",
        404,
        Some(plain),
        Attribution::Ua,
        3,
        &ua_plain,
    );
    b.req(
        "list",
        "/apis/stable.example.com/v1/crontabs?limit=5",
        200,
        None,
        Attribution::None,
        4,
        "kubectl/v1.35.0",
    );
    b.req(
        "watch",
        "/api/v1/watch/namespaces/ns1/pods",
        200,
        Some(conf),
        Attribution::Ua,
        5,
        &ua_conf,
    );
    b.req(
        "list",
        "/api/v1/namespaces/ns1/pods",
        200,
        None,
        Attribution::Ambiguous,
        6,
        "kube-controller-manager/v1.35.0",
    );
    b.req(
        "get",
        "/api/v1/namespaces/ns1/pods/p1",
        403,
        Some(conf),
        Attribution::Ua,
        7,
        &ua_conf,
    );
    b.run
}

fn endpoint<'a>(
    c: &'a auditscope::report::coverage::Coverage,
    id: &str,
) -> &'a auditscope::report::coverage::CoverageEndpoint {
    c.endpoints.iter().find(|e| e.endpoint == id).unwrap()
}

#[test]
fn code_filter_parses_classes_lists_and_ranges() {
    let f = CodeFilter::parse("4xx").unwrap();
    assert!(
        f.matches(403) && f.matches(400) && f.matches(499) && !f.matches(500) && !f.matches(200)
    );
    let f = CodeFilter::parse("200,201").unwrap();
    assert!(f.matches(200) && f.matches(201) && !f.matches(202));
    let f = CodeFilter::parse("5XX, 403").unwrap();
    assert!(f.matches(503) && f.matches(403) && !f.matches(404));
    let f = CodeFilter::parse("500-503").unwrap();
    assert!(f.matches(502) && !f.matches(504));
    for bad in ["", "4yy", "abc", "9xx", "503-500", "4xx,", "70000"] {
        assert!(CodeFilter::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn filter_args_compile_and_report_bad_regex() {
    let args = FilterArgs {
        spec: Some("Conformance".into()),
        code: Some("2xx".into()),
        ..FilterArgs::default()
    };
    let f = args.to_filter().unwrap();
    assert!(f.spec.is_some() && f.code.is_some() && f.endpoint.is_none());
    let bad = FilterArgs {
        endpoint: Some("read(".into()),
        ..FilterArgs::default()
    };
    let err = bad.to_filter().unwrap_err().to_string();
    assert!(
        err.starts_with("--endpoint: invalid regular expression \"read(\""),
        "{err}"
    );
    let bad = FilterArgs {
        code: Some("4yy".into()),
        ..FilterArgs::default()
    };
    assert!(
        bad.to_filter()
            .unwrap_err()
            .to_string()
            .starts_with("--code: \"4yy\"")
    );
}

#[test]
fn filter_matches_spec_endpoint_agent_and_code() {
    let run = sample_run();
    let count = |f: RequestFilter| run.requests.iter().filter(|r| f.matches(&run, r)).count();
    let re = |s: &str| Some(regex::Regex::new(s).unwrap());
    assert_eq!(count(RequestFilter::default()), 8);
    assert_eq!(
        count(RequestFilter {
            spec: re(r"\[Conformance\]"),
            ..Default::default()
        }),
        4
    );
    assert_eq!(
        count(RequestFilter {
            spec: re("host IP"),
            ..Default::default()
        }),
        2
    );
    assert_eq!(
        count(RequestFilter {
            endpoint: re("^readCoreV1NamespacedPod$"),
            ..Default::default()
        }),
        3
    );
    // Unmatched requests are named `verb path`.
    assert_eq!(
        count(RequestFilter {
            endpoint: re("^list /apis/stable"),
            ..Default::default()
        }),
        1
    );
    assert_eq!(
        count(RequestFilter {
            user_agent: re("^kube"),
            ..Default::default()
        }),
        3
    );
    assert_eq!(
        count(RequestFilter {
            code: CodeFilter::parse("4xx").ok(),
            ..Default::default()
        }),
        2
    );
    assert_eq!(
        count(RequestFilter {
            code: CodeFilter::parse("4xx").ok(),
            spec: re("Conformance"),
            ..Default::default()
        }),
        1
    );
}

#[test]
fn endpoints_report_counts_and_text() {
    let run = sample_run();
    let report = endpoints_report(&run, &RequestFilter::default());
    assert_eq!((report.requests, report.matched), (8, 7));
    let ids: Vec<(&str, u64)> = report
        .endpoints
        .iter()
        .map(|e| (e.endpoint.as_str(), e.hits))
        .collect();
    assert_eq!(
        ids,
        [
            ("readCoreV1NamespacedPod", 3),
            ("listCoreV1NamespacedPod", 2),
            ("createCoreV1NamespacedPod", 1),
            ("watchCoreV1NamespacedPodList", 1),
        ]
    );
    let read = &report.endpoints[0];
    assert_eq!((read.specs, read.conformance_specs), (2, 1));
    assert_eq!(read.first.as_deref(), Some("2023-11-14T22:13:21.000000Z"));
    assert_eq!(read.last.as_deref(), Some("2023-11-14T22:13:27.000000Z"));
    assert_eq!((read.by_attribution.ua, read.by_attribution.window), (3, 0));
    let list = &report.endpoints[1];
    assert_eq!(
        (
            list.by_attribution.window,
            list.by_attribution.ambiguous,
            list.specs
        ),
        (1, 1, 1)
    );
    assert_eq!(report.unmatched.len(), 1);
    assert_eq!(
        report.unmatched[0].request,
        "list /apis/stable.example.com/v1/crontabs"
    );
    let mut text = Vec::new();
    report.write_text(&mut text).unwrap();
    let text = String::from_utf8(text).unwrap();
    let expected = "\
8 requests, 7 matched to 4 operations, 1 unmatched

ENDPOINT                      HITS  SPECS  CONF  UA  WINDOW  AMBIG  NONE  FIRST                        LAST
readCoreV1NamespacedPod          3      2     1   3       0      0     0  2023-11-14T22:13:21.000000Z  2023-11-14T22:13:27.000000Z
listCoreV1NamespacedPod          2      1     0   0       1      1     0  2023-11-14T22:13:22.000000Z  2023-11-14T22:13:26.000000Z
createCoreV1NamespacedPod        1      1     1   1       0      0     0  2023-11-14T22:13:20.000000Z  2023-11-14T22:13:20.000000Z
watchCoreV1NamespacedPodList     1      1     1   1       0      0     0  2023-11-14T22:13:25.000000Z  2023-11-14T22:13:25.000000Z

HITS  MATCHED IN  UNMATCHED REQUEST
   1  -           list /apis/stable.example.com/v1/crontabs
";
    assert_eq!(text, expected);
    // Filtered to 4xx.
    let f = RequestFilter {
        code: CodeFilter::parse("4xx").ok(),
        ..Default::default()
    };
    let r = endpoints_report(&run, &f);
    assert_eq!(
        (r.requests, r.endpoints.len(), r.endpoints[0].hits),
        (2, 1, 2)
    );
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["endpoints"][0]["by_attribution"]["ua"], 2);
}

#[test]
fn coverage_counts_like_apisnoop() {
    let run = sample_run();
    let infos = release_operations(&run, &CoverageRules::embedded());
    assert_eq!(infos.len(), 1067);
    let eligible = infos.iter().filter(|i| i.eligible).count() as u64;
    let c = coverage_report(&run, &RequestFilter::default(), false);
    assert_eq!(
        c.endpoints.len(),
        1067 - 204,
        "every operation but the legacy watch ones appears"
    );
    assert_eq!(c.total_endpoints, 1067 - 204);
    assert_eq!(
        c.tested_endpoints, 2,
        "create and read pod; the legacy watch is not listed"
    );
    assert_eq!(c.total_conformance_eligible_endpoints, eligible);
    // With kubernetes' 99-entry ineligible list; APISnoop's current 101-entry list gives 549.
    assert_eq!(eligible, 551);
    assert_eq!(c.tested_conformance_eligible_endpoints, 2);
    assert_eq!(
        (
            c.new_conformance_eligible_endpoints,
            c.new_tested_conformance_eligible_endpoints
        ),
        (0, 0)
    );
    assert_eq!(c.sources, ["audit.log"]);
    let read = endpoint(&c, "readCoreV1NamespacedPod");
    assert_eq!((read.tested, read.conf_tested), (true, true));
    assert_eq!(
        read.tests,
        [PLAIN, CONF]
            .map(String::from)
            .into_iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
    );
    assert_eq!(
        (
            read.kind.as_deref(),
            read.group.as_deref(),
            read.version.as_deref()
        ),
        (Some("Pod"), Some(""), Some("v1"))
    );
    assert_eq!(
        (
            read.category.as_str(),
            read.level.as_str(),
            read.action.as_deref()
        ),
        ("core", "stable", Some("get"))
    );
    // Window and ambiguous attributions do not count by default.
    let list = endpoint(&c, "listCoreV1NamespacedPod");
    assert!(!list.tested && list.tests.is_empty());
    assert!(
        !c.endpoints
            .iter()
            .any(|e| e.endpoint == "watchCoreV1NamespacedPodList")
    );
    let version = endpoint(&c, "getCodeVersion");
    assert_eq!(
        (
            version.kind.as_deref(),
            version.group.as_deref(),
            version.action.as_deref()
        ),
        (None, None, None)
    );
    // APISnoop's order: stable first, then beta, then alpha; by operationId within.
    assert_eq!(c.endpoints[0].level, "stable");
    assert_eq!(c.endpoints[862].level, "alpha");
    assert!(c.endpoints[0].endpoint < c.endpoints[1].endpoint);
    assert_eq!(c.tests.len(), 2);
    assert_eq!(c.tests[0].test, CONF);
    assert_eq!(
        (c.tests[0].file.as_deref(), c.tests[0].conformance_test),
        (Some("test/e2e/common/node/pods.go"), true)
    );
    assert_eq!(
        (c.tests[1].file.as_deref(), c.tests[1].conformance_test),
        (None, false)
    );

    let with_window = coverage_report(&run, &RequestFilter::default(), true);
    assert_eq!(with_window.tested_endpoints, 3);
    assert!(endpoint(&with_window, "listCoreV1NamespacedPod").tested);
    assert!(!endpoint(&with_window, "listCoreV1NamespacedPod").conf_tested);

    // The filter applies: only 2xx requests leaves read tested only by the conformance spec.
    let ok = RequestFilter {
        code: CodeFilter::parse("2xx").ok(),
        ..Default::default()
    };
    let c2 = coverage_report(&run, &ok, false);
    assert_eq!(endpoint(&c2, "readCoreV1NamespacedPod").tests, [CONF]);
}

fn keys(v: &serde_json::Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn coverage_json_has_apisnoop_field_names() {
    let theirs = read_to_vec("tests/fixtures/apisnoop-coverage-1.37.0.json.gz").unwrap();
    let theirs: serde_json::Value = serde_json::from_slice(&theirs).unwrap();
    let ours = serde_json::to_value(coverage_report(
        &sample_run(),
        &RequestFilter::default(),
        false,
    ))
    .unwrap();
    assert_eq!(keys(&ours), keys(&theirs));
    assert_eq!(keys(&ours["endpoints"][0]), keys(&theirs["endpoints"][0]));
    assert_eq!(keys(&ours["tests"][0]), keys(&theirs["tests"][0]));
    assert_eq!(keys(&theirs).len(), 12);
    // Value types agree where both sides have a value.
    for key in [
        "total endpoints",
        "tested endpoints",
        "total conformance eligible endpoints",
    ] {
        assert!(ours[key].is_u64() && theirs[key].is_u64(), "{key}");
    }
    // And APISnoop's own file reads into our type.
    let parsed: auditscope::report::coverage::Coverage =
        serde_json::from_value(theirs.clone()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(parsed.endpoints.len(), 874);
    assert_eq!(parsed.total_endpoints, 874);
    assert_eq!(parsed.tested_endpoints, 591);
}

/// APISnoop's files read into our type and write back the same endpoints, `null`s and order
/// included; their lists are in the order [`apisnoop_order`] gives.
#[test]
fn apisnoop_files_round_trip_and_their_order() {
    use auditscope::report::coverage::apisnoop_order;
    for release in ["1.33.0", "1.34.0", "1.37.0"] {
        let bytes = read_to_vec(&format!(
            "tests/fixtures/apisnoop-coverage-{release}.json.gz"
        ))
        .unwrap();
        let theirs: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let parsed: Coverage = serde_json::from_value(theirs.clone()).unwrap();
        let ours = serde_json::to_value(&parsed).unwrap();
        assert_eq!(ours["endpoints"], theirs["endpoints"], "{release}");
        assert_eq!(ours["tests"], theirs["tests"], "{release}");
        for e in &parsed.endpoints {
            let mut sorted = e.tests.clone();
            apisnoop_order(&mut sorted);
            assert_eq!(sorted, e.tests, "{release} {}", e.endpoint);
        }
        let mut names: Vec<String> = parsed.tests.iter().map(|t| t.test.clone()).collect();
        let given = names.clone();
        apisnoop_order(&mut names);
        assert_eq!(names, given, "{release} tests[]");
    }
    let mut names = ["b", "CSI Mock", "CSIInline", "a b", "A b", "", "ab"].map(String::from);
    apisnoop_order(&mut names);
    assert_eq!(
        names,
        ["", "a b", "ab", "A b", "b", "CSIInline", "CSI Mock"]
    );
}

/// Requests of the e2e binary without a spec name test what they hit under the test `""`;
/// other clients put `null` in a tested operation's list; errors-only hits are flagged and
/// listed apart in the text.
#[test]
fn empty_test_name_other_clients_and_errors_only() {
    let mut b = Builder::new();
    let conf = b.spec(CONF, "");
    let ua_conf = format!("e2e.test/v1.35.0 (linux/amd64) kubernetes/abc -- {CONF}");
    b.req(
        "get",
        "/api/v1/namespaces/ns1/pods/p1",
        404,
        Some(conf),
        Attribution::Ua,
        0,
        &ua_conf,
    );
    b.req(
        "list",
        "/api/v1/nodes",
        200,
        None,
        Attribution::None,
        1,
        "e2e.test/v1.35.0 (linux/amd64) kubernetes/abc",
    );
    b.req(
        "list",
        "/api/v1/nodes",
        200,
        None,
        Attribution::None,
        2,
        "kube-scheduler/v1.35.0 (linux/amd64) kubernetes/abc/scheduler",
    );
    b.req(
        "create",
        "/api/v1/namespaces/ns1/pods/p1/binding",
        201,
        None,
        Attribution::None,
        3,
        "kube-scheduler/v1.35.0 (linux/amd64) kubernetes/abc/scheduler",
    );
    let run = b.run;
    let c = coverage_report(&run, &RequestFilter::default(), false);
    let read = endpoint(&c, "readCoreV1NamespacedPod");
    assert_eq!(
        (
            read.tested,
            read.conf_tested,
            read.errors_only,
            read.other_clients
        ),
        (true, true, true, false)
    );
    let nodes = endpoint(&c, "listCoreV1Node");
    assert_eq!(nodes.tests, [""]);
    assert_eq!(
        (
            nodes.tested,
            nodes.conf_tested,
            nodes.errors_only,
            nodes.other_clients
        ),
        (true, false, false, true)
    );
    let binding = endpoint(&c, "createCoreV1NamespacedPodBinding");
    assert!(!binding.tested && binding.tests.is_empty());
    let json = serde_json::to_value(&c).unwrap();
    let find = |id: &str| {
        json["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["endpoint"] == id)
            .unwrap()["tests"]
            .clone()
    };
    assert_eq!(find("listCoreV1Node"), serde_json::json!(["", null]));
    assert_eq!(find("readCoreV1NamespacedPod"), serde_json::json!([CONF]));
    assert_eq!(
        find("createCoreV1NamespacedPodBinding"),
        serde_json::json!([null])
    );
    // The tests: "" first, never a conformance test; the spec from conformance.yaml.
    assert_eq!(c.tests.len(), 2);
    assert_eq!(
        (
            c.tests[0].test.as_str(),
            c.tests[0].conformance_test,
            c.tests[0].file.as_deref()
        ),
        ("", false, None)
    );
    assert!(c.tests[1].conformance_test);
    let mut text = Vec::new();
    auditscope::report::coverage::write_text(&c, &mut text).unwrap();
    let text = String::from_utf8(text).unwrap();
    let tail = text.split("hit only with errors (1):\n").nth(1).unwrap();
    assert!(
        tail.starts_with("  readCoreV1NamespacedPod")
            && tail.contains("/api/v1/namespaces/{namespace}/pods/{name}"),
        "{text}"
    );
    // With --success-only the 404 does not count at all.
    let rules = CoverageRules::embedded();
    let opts = CoverageOptions {
        filter: &RequestFilter::default(),
        count_window: false,
        success_only: true,
        rules: &rules,
    };
    let ok = coverage(&[&run], &opts).unwrap();
    assert!(!endpoint(&ok, "readCoreV1NamespacedPod").tested);
}
