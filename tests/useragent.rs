//! User agent parsing on the real 2018 backtrace agents and on the forms e2e clients send.

use auditscope::ingest::useragent::{ParsedFrame, parse};
use proptest::prelude::*;

fn fixture_agents() -> Vec<String> {
    let text = std::fs::read_to_string("tests/fixtures/apisnoop-example-user-agent.log")
        .expect("fixture present");
    text.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("fixture line is JSON");
            v["userAgent"].as_str().expect("userAgent").to_string()
        })
        .collect()
}

#[test]
fn fixture_backtraces() {
    let agents = fixture_agents();
    assert_eq!(agents.len(), 8);
    let counts: Vec<usize> = agents
        .iter()
        .map(|ua| parse(ua).trace.expect("has trace").frames.len())
        .collect();
    assert_eq!(counts, vec![14, 14, 14, 14, 14, 14, 13, 14]);
    for ua in &agents {
        let p = parse(ua);
        assert_eq!(p.product, "kubectl");
        assert_eq!(p.version, "v1.12.0");
        assert_eq!(
            (p.os, p.arch, p.commit, p.suffix),
            ("linux", "amd64", "b143093", "")
        );
        assert_eq!(p.spec, None);
        let t = p.trace.expect("trace");
        assert!(!t.truncated);
        assert_eq!(
            t.frames[0],
            ParsedFrame {
                function: "k8s.io/kubernetes/vendor/k8s.io/client-go/rest.(*Request).Do()",
                file: "_output/local/go/src/k8s.io/kubernetes/vendor/k8s.io/client-go/rest/request.go",
                line: 805,
            }
        );
        let last = t.frames.last().expect("frames");
        assert_eq!(last.function, "main.main()");
        assert_eq!(
            last.file,
            "_output/local/go/src/k8s.io/kubernetes/cmd/kubectl/kubectl.go"
        );
        assert_eq!(last.line, 50);
    }
}

#[test]
fn truncated_at_1024_bytes() {
    let agents = fixture_agents();
    let mut cut = agents[0].as_bytes()[..1024].to_vec();
    cut.extend_from_slice(b"...TRUNCATED");
    let cut = String::from_utf8(cut).expect("ascii agent");
    let p = parse(&cut);
    assert_eq!(p.product, "kubectl");
    let t = p.trace.expect("trace");
    assert!(t.truncated);
    // Whole frames that fit in the first 1024 bytes, the partial one dropped.
    let whole = parse(&agents[0]).trace.expect("trace").frames;
    assert_eq!(t.frames.len(), 5);
    assert_eq!(&t.frames[..], &whole[..5]);
}

#[test]
fn spec_names_split_at_first_separator() {
    let ua = "e2e.test/v1.26.0 (linux/amd64) kubernetes/b9c7b3e -- [sig-cli] Kubectl client Kubectl port forwarding should support --port 0 -- and more";
    let p = parse(ua);
    assert_eq!(p.product, "e2e.test");
    assert_eq!(p.version, "v1.26.0");
    assert_eq!(p.commit, "b9c7b3e");
    assert_eq!(
        p.spec,
        Some(
            "[sig-cli] Kubectl client Kubectl port forwarding should support --port 0 -- and more"
        )
    );
    assert!(p.trace.is_none());
}

#[test]
fn spec_and_trace_in_either_order() {
    let spec_first = "e2e.test/v1.12.0 (linux/amd64) kubernetes/b143093 -- [sig-x] A should --port 0 stacktrace=[a.F():f.go:1;main.main():m.go:2]";
    let p = parse(spec_first);
    assert_eq!(p.spec, Some("[sig-x] A should --port 0"));
    let t = p.trace.expect("trace");
    assert_eq!(t.frames.len(), 2);
    assert_eq!(t.frames[1].function, "main.main()");
    let trace_first = "e2e.test/v1.12.0 (linux/amd64) kubernetes/b143093 stacktrace=[a.F():f.go:1;main.main():m.go:2] -- [sig-x] A -- B";
    let q = parse(trace_first);
    assert_eq!(q.product, "e2e.test");
    assert_eq!(q.spec, Some("[sig-x] A -- B"));
    assert_eq!(q.trace.expect("trace").frames, t.frames);
}

#[test]
fn base_with_suffix() {
    let p = parse(
        "hyperkube/v1.15.10 (linux/amd64) kubernetes/1171c1c/system:serviceaccount:kube-system:replicaset-controller",
    );
    assert_eq!(p.product, "hyperkube");
    assert_eq!(p.version, "v1.15.10");
    assert_eq!(p.commit, "1171c1c");
    assert_eq!(
        p.suffix,
        "system:serviceaccount:kube-system:replicaset-controller"
    );
    let q =
        parse("kube-controller-manager/v1.29.0 (linux/amd64) kubernetes/3f7a50f/leader-election");
    assert_eq!(q.suffix, "leader-election");
}

#[test]
fn garbage_is_all_product() {
    for ua in [
        "",
        "Go-http-client/2.0",
        "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101",
        "a (b",
        "x/y (o/a) notkubernetes/c",
        "stacktrace=[",
        " -- ",
        "...TRUNCATED",
        "x stacktrace=[;;;:::]",
    ] {
        let p = parse(ua);
        assert_eq!(p.version, "", "{ua}");
        assert_eq!(p.commit, "", "{ua}");
    }
    assert_eq!(parse("Go-http-client/2.0").product, "Go-http-client/2.0");
    assert_eq!(parse(" -- ").spec, Some(""));
    let odd = parse("x stacktrace=[;;;:::]");
    assert_eq!(odd.product, "x");
    // Empty pieces are skipped; the one odd piece is kept as it is, not guessed at.
    let frames = odd.trace.expect("trace").frames;
    assert_eq!(frames.len(), 1);
    assert_eq!(
        (frames[0].function, frames[0].file, frames[0].line),
        ("", "::", 0)
    );
}

#[test]
fn frame_file_with_colon() {
    let p = parse("x/1 (a/b) kubernetes/c stacktrace=[pkg.F():C:/src/f.go:12]");
    let f = p.trace.expect("trace").frames;
    assert_eq!(f.len(), 1);
    assert_eq!(
        (f[0].function, f[0].file, f[0].line),
        ("pkg.F()", "C:/src/f.go", 12)
    );
}

proptest! {
    #[test]
    fn roundtrip(
        product in "[a-z][a-z0-9.-]{0,12}",
        version in "v[0-9]\\.[0-9]{1,2}\\.[0-9]",
        commit in "[0-9a-f]{7}",
        suffix in proptest::option::of("[a-z:-]{1,20}"),
        spec in proptest::option::of("[ -~]{0,60}"),
        frames in proptest::option::of(proptest::collection::vec(
            ("[a-z./()*A-Z]{1,20}", "[a-z/_.:]{1,20}\\.go", 0u32..100_000), 0..6)),
        trace_first in any::<bool>(),
    ) {
        prop_assume!(spec.as_deref().is_none_or(|s| !s.contains("stacktrace=[")));
        let mut base = format!("{product}/{version} (linux/amd64) kubernetes/{commit}");
        if let Some(s) = &suffix { base.push('/'); base.push_str(s); }
        // Function names end in `()` as in the patch's output.
        let frames: Option<Vec<(String, String, u32)>> = frames.map(|v| v.into_iter().map(|(f, file, l)| (format!("{f}()"), file, l)).collect());
        let trace_text = frames.as_ref().map(|v| {
            let parts: Vec<String> = v.iter().map(|(f, file, l)| format!("{f}:{file}:{l}")).collect();
            format!(" stacktrace=[{}]", parts.join(";"))
        });
        let spec_text = spec.as_ref().map(|s| format!(" -- {s}"));
        let ua = if trace_first {
            format!("{base}{}{}", trace_text.clone().unwrap_or_default(), spec_text.clone().unwrap_or_default())
        } else {
            format!("{base}{}{}", spec_text.clone().unwrap_or_default(), trace_text.clone().unwrap_or_default())
        };
        let p = parse(&ua);
        prop_assert_eq!(p.product, product.as_str());
        prop_assert_eq!(p.version, version.as_str());
        prop_assert_eq!(p.commit, commit.as_str());
        prop_assert_eq!(p.suffix, suffix.as_deref().unwrap_or(""));
        prop_assert_eq!(p.spec, spec.as_deref());
        match (&p.trace, &frames) {
            (None, None) => {}
            (Some(t), Some(v)) => {
                prop_assert!(!t.truncated);
                let got: Vec<(String, String, u32)> = t.frames.iter().map(|f| (f.function.to_string(), f.file.to_string(), f.line)).collect();
                prop_assert_eq!(&got, v);
            }
            _ => prop_assert!(false, "trace presence differs for {}", ua),
        }
    }

    #[test]
    fn never_panics(ua in "\\PC{0,200}") {
        let _ = parse(&ua);
    }
}
