//! Untrusted text: a log whose user agent, URI, user name and spec text carry control
//! characters and terminal escape sequences goes through every report. The raw bytes must never
//! reach stdout (they are shown escaped), JSON output must escape them as JSON does, and error
//! lines on stderr must escape them too.

mod common;

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

/// An OSC 52 clipboard write ended by BEL, a clear screen, and a one-character C1 CSI.
const EVIL: &str = "\u{1b}]52;c;aGVsbG8=\u{7}\u{1b}[2J\u{9b}31m";

/// The raw characters that must never reach a terminal.
const RAW: [char; 3] = ['\u{1b}', '\u{7}', '\u{9b}'];

fn has_raw(s: &str) -> bool {
    s.contains(RAW)
}

/// An audit log (two requests of an evil spec, one with a backtrace) and a JUnit file naming
/// that spec, written into `dir`.
fn write_inputs(dir: &Path) -> String {
    let spec = format!("[sig-x] evil {EVIL} spec");
    let base = format!("e2e.test/v1.35.0 (linux/amd64) kubernetes/abc{EVIL}");
    let trace = format!(
        " stacktrace=[k8s.io/client-go/rest.(*Request).Do{EVIL}():/go/src/rest/request.go:42 \
         k8s.io/kubernetes/test/e2e/x.f():/go/src/e2e/x{EVIL}.go:7]"
    );
    let ev = |id: &str, ua: String, uri: String, t: &str| {
        json!({
            "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
            "auditID": id, "stage": "ResponseComplete", "verb": "get",
            "requestURI": uri, "userAgent": ua,
            "user": {"username": format!("user{EVIL}"), "groups": [format!("g{EVIL}")]},
            "impersonatedUser": {"username": format!("as{EVIL}")},
            "sourceIPs": [format!("10.0.0.1{EVIL}")],
            "objectRef": {"resource": "pods", "namespace": format!("ns{EVIL}"), "name": "p"},
            "responseStatus": {"code": 403},
            "annotations": {"authorization.k8s.io/decision": "forbid",
                "authorization.k8s.io/reason": format!("no{EVIL}")},
            "requestReceivedTimestamp": t, "stageTimestamp": t,
        })
        .to_string()
    };
    let audit = [
        ev(
            "1",
            format!("{base} -- {spec}"),
            format!("/api/v1/namespaces/ns{EVIL}/pods/p"),
            "2020-01-01T00:00:01Z",
        ),
        ev(
            "2",
            format!("{base}{trace} -- {spec}"),
            format!("/apis/evil{EVIL}/v1/things"),
            "2020-01-01T00:00:02Z",
        ),
    ]
    .join("\n");
    std::fs::write(dir.join("audit.log"), audit).unwrap();
    // entries.log gives the spec its window (and so a `hits` block); the header lines carry
    // the escapes too.
    let entries = [
        json!({"timestamp": "2020-01-01T00:00:00.000000",
            "lines": ["[sig-x] ", format!("  evil {EVIL} spec"), format!("  /go/e2e{EVIL}.go:1")]}),
        json!({"timestamp": "2020-01-01T00:00:10.000000",
            "lines": ["[AfterSuite] ", "  done", "  /go/e2e.go:2"]}),
    ]
    .map(|e| e.to_string())
    .join("\n");
    std::fs::write(dir.join("entries.log"), entries).unwrap();
    // XML 1.0 cannot carry ESC or BEL even as references; quick-xml decodes them anyway,
    // which is the worst case for us.
    let xml_spec = spec
        .replace('\u{1b}', "&#x1b;")
        .replace('\u{7}', "&#x7;")
        .replace('\u{9b}', "&#x9b;");
    std::fs::write(
        dir.join("junit.xml"),
        format!(
            "<?xml version=\"1.0\"?><testsuite><testcase name=\"{xml_spec}\" time=\"3\">\
             <failure message=\"{xml_spec}\"/></testcase></testsuite>"
        ),
    )
    .unwrap();
    spec
}

fn run_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = common::bin()
        .current_dir(dir)
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        stderr,
    )
}

const REPORTS: [&[&str]; 9] = [
    &["hits"],
    &["backtraces"],
    &["events"],
    &["requests"],
    &["tests"],
    &["tests", "--operations"],
    &["summary"],
    &["endpoints"],
    &["coverage", "--window"],
];

fn report(dir: &Path, which: &[&str], json_output: bool) -> String {
    let mut args = vec!["report"];
    args.extend_from_slice(which);
    args.extend_from_slice(&[
        "--audit",
        "audit.log",
        "--entries",
        "entries.log",
        "--junit",
        "junit.xml",
    ]);
    if json_output {
        args.extend_from_slice(&["--format", "json"]);
    }
    let (code, stdout, stderr) = run_in(dir, &args);
    assert_eq!(code, 0, "{args:?}: {stderr}");
    assert!(!has_raw(&stderr), "{args:?} stderr: {stderr:?}");
    stdout
}

#[test]
fn text_reports_show_control_characters_escaped() {
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path());
    for which in REPORTS {
        let out = report(dir.path(), which, false);
        assert!(
            !has_raw(&out),
            "report {which:?} leaked a raw control:\n{out:?}"
        );
        assert!(!out.is_empty(), "report {which:?} printed nothing");
    }
    // The evil text is there, visibly: each report names at least one evil field.
    let shown = |which: &[&str]| report(dir.path(), which, false);
    let escaped = "\\x1b]52;c;aGVsbG8=\\x07\\x1b[2J\\u{9b}31m";
    assert!(shown(&["hits"]).contains(&format!("\n  evil {escaped} spec\n")));
    assert!(shown(&["tests"]).contains(&format!("[sig-x] evil {escaped} spec")));
    assert!(shown(&["requests"]).contains(&format!("user{escaped}")));
    // (The `;` of the OSC splits frames: the backtrace shows the pieces, escaped.)
    let backtraces = shown(&["backtraces"]);
    assert!(
        backtraces.contains("\n    aGVsbG8=\\x07\\x1b[2J\\u{9b}31m.go\n"),
        "{backtraces}"
    );
    // `report events` quotes as Go's %q does.
    let go = "\\x1b]52;c;aGVsbG8=\\a\\x1b[2J\\u009b31m";
    let events = shown(&["events"]);
    assert!(events.contains(&format!("user=\"user{go}\"")), "{events}");
    assert!(
        events.contains(&format!("uri=\"/api/v1/namespaces/ns{go}/pods/p\"")),
        "{events}"
    );
}

#[test]
fn json_reports_escape_as_json_does() {
    let dir = tempfile::tempdir().unwrap();
    let spec = write_inputs(dir.path());
    for which in REPORTS {
        let out = report(dir.path(), which, true);
        assert!(
            !has_raw(&out),
            "report {which:?} --format json leaked:\n{out:?}"
        );
        // `events` and `requests` print JSON lines; the others one document.
        let values: Vec<Value> = if matches!(which[0], "events" | "requests") {
            out.lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        } else {
            vec![serde_json::from_str(&out).unwrap()]
        };
        assert!(!values.is_empty());
        // The summary names no request or spec; every other report shows the evil text.
        if which[0] != "summary" {
            assert!(out.contains("\\u001b"), "{which:?}: {out}");
            assert!(out.contains("\\u009b"), "{which:?}: {out}");
        }
    }
    // Parsed back, the text is the original.
    let tests: Value = serde_json::from_str(&report(dir.path(), &["tests"], true)).unwrap();
    assert_eq!(tests[0]["name"], spec.as_str());
}

#[test]
fn error_lines_escape_file_names() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("missing{EVIL}.log");
    let (code, stdout, stderr) = run_in(dir.path(), &["report", "summary", "--audit", &name]);
    assert_eq!(code, 2);
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        "auditscope: missing\\x1b]52;c;aGVsbG8=\\x07\\x1b[2J\\u{9b}31m.log: No such file or directory (os error 2)\n"
    );
    // And a bad line in a file with such a name, under --strict.
    std::fs::write(dir.path().join(&name), "{oops\n").unwrap();
    let (code, _, stderr) = run_in(
        dir.path(),
        &["correlate", "--strict", "--audit", &name, "-o", "r.json"],
    );
    assert_eq!(code, 2);
    assert!(!has_raw(&stderr), "{stderr:?}");
    assert_eq!(stderr.lines().count(), 1);
    // The success line of `correlate` names its output file, escaped.
    write_inputs(dir.path());
    let out = format!("run{EVIL}.json");
    let (code, _, stderr) = run_in(
        dir.path(),
        &["correlate", "--audit", "audit.log", "-o", &out],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.starts_with(
            "auditscope: wrote run\\x1b]52;c;aGVsbG8=\\x07\\x1b[2J\\u{9b}31m.json: 2 requests"
        ),
        "{stderr:?}"
    );
    let (code, summary, _) = run_in(dir.path(), &["report", "summary", &out]);
    assert_eq!(code, 0);
    assert!(!has_raw(&summary), "{summary:?}");
}
