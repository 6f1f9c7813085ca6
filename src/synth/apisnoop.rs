//! Runs rebuilt from an APISnoop coverage file (`resources/coverage/X.Y.Z.json`), to check
//! that `correlate` and `report coverage` count as APISnoop does.
//!
//! [`from_coverage`] writes an audit log and a ginkgo v2 `e2e.log` in which:
//! - every test in an endpoint's `tests[]` calls it once with the e2e framework's user agent
//!   (`e2e.test/vX.Y.Z (linux/amd64) kubernetes/… -- <test>`), inside that test's window;
//! - the test named `""` (requests of the e2e binary that name no spec) calls its endpoints
//!   with the bare `e2e.test/…` user agent, before the first spec;
//! - an endpoint whose `tests[]` ends with `null` although tests hit it (other clients hit it
//!   too, in APISnoop's data) is also called by a controller or a kubelet, inside a spec's
//!   window, so only the user agent rule keeps it from counting; a third of the untested
//!   endpoints get such calls too, and must stay untested.
//!
//! Each call is one `ResponseComplete` event with a 2xx code. The request is built from the
//! endpoint's path template and method, the way the API server logs it: the verb follows the
//! method (`list` for list actions), a HEAD proxy call is a `get` whose URI ends in `HEAD`
//! (`…/proxy?method=HEAD`, `…/proxy/some/path/with/HEAD`), an OPTIONS one has an empty verb.
//! The method comes from the action, and for `connect` operations from the operationId
//! (`connectCoreV1HeadNamespacedPodProxy` → HEAD). Same file, same bytes.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::json;

use super::SynthError;
use super::write::{parts, push_ts};
use crate::model::release::Release;
use crate::report::coverage::Coverage;
use crate::run::Micros;

/// What [`from_coverage`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApisnoopRun {
    /// The audit log (`audit.log`).
    pub audit_path: PathBuf,
    /// The ginkgo v2 log (`e2e.log`).
    pub e2e_log_path: PathBuf,
    /// The release of the coverage file (`1.33`).
    pub release: String,
    /// Requests made by tests (one per endpoint and test, `""` included).
    pub test_requests: u64,
    /// Requests made by controllers and kubelets (they must not count).
    pub other_requests: u64,
    /// Specs in the e2e log (every named test).
    pub specs: usize,
}

/// 2025-01-06T10:00:00Z: the rebuilt runs start here.
const START: Micros = 1_736_157_600_000_000;

/// The HTTP method of an APISnoop endpoint, from its action and, for `connect`, from the
/// word after the version in its operationId.
fn method_of(endpoint: &str, action: Option<&str>) -> Option<&'static str> {
    match action.unwrap_or("") {
        "get" | "list" | "watch" | "watchlist" => Some("GET"),
        "post" => Some("POST"),
        "put" => Some("PUT"),
        "patch" => Some("PATCH"),
        "delete" | "deletecollection" => Some("DELETE"),
        "connect" => {
            const WORDS: [(&str, &str); 7] = [
                ("Get", "GET"),
                ("Post", "POST"),
                ("Put", "PUT"),
                ("Patch", "PATCH"),
                ("Delete", "DELETE"),
                ("Head", "HEAD"),
                ("Options", "OPTIONS"),
            ];
            // connect<Group><Version><Method><Rest>: the method follows `V<digits>` (and an
            // optional `alpha1`/`beta2`).
            let rest = endpoint.strip_prefix("connect")?;
            let at = rest.find(|c: char| c.is_ascii_digit())?;
            let after = rest[at..].trim_start_matches(|c: char| c.is_ascii_digit());
            let after = ["alpha", "beta"]
                .iter()
                .find_map(|w| after.strip_prefix(w))
                .map_or(after, |a| {
                    a.trim_start_matches(|c: char| c.is_ascii_digit())
                });
            WORDS
                .iter()
                .find(|(w, _)| after.starts_with(w))
                .map(|&(_, m)| m)
        }
        // Non-resource paths (`/version`, `/apis`) have no action: they are read.
        _ => Some("GET"),
    }
}

/// The verb and `requestURI` the API server logs for a call to `path` (a template) with
/// `method`.
fn request_for(path: &str, method: &str, action: Option<&str>) -> (String, String) {
    let mut uri = String::with_capacity(path.len() + 16);
    let mut tail_param = false;
    let segs: Vec<&str> = path.split('/').collect();
    for (i, seg) in segs.iter().enumerate() {
        if i > 0 {
            uri.push('/');
        }
        if seg.len() >= 2 && seg.starts_with('{') && seg.ends_with('}') {
            match *seg {
                "{namespace}" => uri.push_str("e2e-apisnoop"),
                "{name}" => uri.push_str("obj-1"),
                s if i + 1 == segs.len() && s.ends_with("path}") => {
                    tail_param = true;
                    uri.push_str("some/path/with/");
                    uri.push_str(method);
                }
                _ => uri.push_str("x1"),
            }
        } else {
            uri.push_str(seg);
        }
    }
    let verb = match (method, action.unwrap_or("")) {
        ("GET", "list") => "list",
        ("GET", "watch" | "watchlist") => "watch",
        ("GET" | "HEAD", _) => "get",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", "deletecollection") => "deletecollection",
        ("DELETE", _) => "delete",
        _ => "",
    };
    if (method == "HEAD" || method == "OPTIONS") && !tail_param {
        uri.push_str("?method=");
        uri.push_str(method);
    }
    (verb.to_string(), uri)
}

fn stamp(t: Micros) -> String {
    let mut v = Vec::with_capacity(27);
    push_ts(&mut v, t, true, true);
    String::from_utf8_lossy(&v).into_owned()
}

/// `01/06/25 10:00:00.123` (ginkgo v2 STEP suffix).
fn step_stamp(t: Micros) -> String {
    let (y, mo, d, h, mi, s, us) = parts(t);
    format!(
        "{mo:02}/{d:02}/{:02} {h:02}:{mi:02}:{s:02}.{:03}",
        y.rem_euclid(100),
        us / 1000
    )
}

struct Writer {
    out: BufWriter<File>,
    path: PathBuf,
    n: u64,
}

impl Writer {
    #[allow(clippy::too_many_arguments)]
    fn event(
        &mut self,
        t: Micros,
        verb: &str,
        uri: &str,
        user: &str,
        agent: &str,
        code: u16,
    ) -> Result<(), SynthError> {
        self.n += 1;
        let line = json!({
            "kind": "Event",
            "apiVersion": "audit.k8s.io/v1",
            "level": "Metadata",
            "auditID": format!("00000000-0000-4000-8000-{:012x}", self.n),
            "stage": "ResponseComplete",
            "requestURI": uri,
            "verb": verb,
            "user": {"username": user, "groups": ["system:authenticated"]},
            "sourceIPs": ["172.18.0.1"],
            "userAgent": agent,
            "responseStatus": {"metadata": {}, "code": code},
            "requestReceivedTimestamp": stamp(t),
            "stageTimestamp": stamp(t + 2_000),
            "annotations": {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": ""}
        });
        writeln!(self.out, "{line}").map_err(|source| SynthError::Io {
            path: self.path.clone(),
            source,
        })
    }
}

/// Splits a spec's full text into a container and the rest, for the e2e log's header.
fn split_name(name: &str) -> (&str, &str) {
    let cut = if name.starts_with('[') {
        name.find("] ").map(|i| i + 1)
    } else {
        name.find(' ')
    };
    match cut {
        Some(i) => (&name[..i], name[i..].trim_start()),
        None => (name, ""),
    }
}

/// Writes `audit.log` and `e2e.log` into `dir` (created if missing) from the APISnoop
/// coverage document `json`. See the module documentation for what they hold.
pub fn from_coverage(json: &[u8], dir: &Path) -> Result<ApisnoopRun, SynthError> {
    let coverage: Coverage = serde_json::from_slice(json)
        .map_err(|e| SynthError::Options(format!("not an APISnoop coverage file: {e}")))?;
    let release_text = coverage.release.clone().unwrap_or_default();
    let release = Release::parse(&release_text).ok_or_else(|| {
        SynthError::Options(format!("coverage file has no release: {release_text:?}"))
    })?;
    std::fs::create_dir_all(dir).map_err(|source| SynthError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let version = format!("v{}", release.patch_zero());
    let e2e_agent = format!("e2e.test/{version} (linux/amd64) kubernetes/0123456");

    // Tests in the file's order, and per test the (verb, uri) calls it makes.
    let mut names: Vec<String> = coverage.tests.iter().map(|t| t.test.clone()).collect();
    let mut seen: std::collections::HashSet<String> = names.iter().cloned().collect();
    for e in &coverage.endpoints {
        for t in &e.tests {
            if seen.insert(t.clone()) {
                names.push(t.clone());
            }
        }
    }
    let index: std::collections::HashMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let mut calls: Vec<Vec<(String, String)>> = vec![Vec::new(); names.len()];
    let mut others: Vec<(String, String, bool)> = Vec::new();
    for (k, e) in coverage.endpoints.iter().enumerate() {
        let method = method_of(&e.endpoint, e.action.as_deref())
            .ok_or_else(|| SynthError::Options(format!("no method for endpoint {}", e.endpoint)))?;
        let (verb, uri) = request_for(&e.path, method, e.action.as_deref());
        for t in &e.tests {
            if let Some(&i) = index.get(t.as_str()) {
                calls[i].push((verb.clone(), uri.clone()));
            }
        }
        if e.other_clients || (e.tests.is_empty() && k % 3 == 0) {
            others.push((verb, uri, k % 2 == 0));
        }
    }

    let audit_path = dir.join("audit.log");
    let file = File::create(&audit_path).map_err(|source| SynthError::Io {
        path: audit_path.clone(),
        source,
    })?;
    let mut w = Writer {
        out: BufWriter::new(file),
        path: audit_path.clone(),
        n: 0,
    };
    let mut log = String::with_capacity(names.len() * 400 + 1000);
    let _ = writeln!(
        log,
        "Running Suite: Kubernetes e2e suite - /usr/local/bin\n====================================================\nRandom Seed: 1736157600 - will randomize all specs\n\nWill run {} of {} specs",
        names.len(),
        names.len()
    );
    let _ = writeln!(
        log,
        "------------------------------\n[SynchronizedBeforeSuite] \ntest/e2e/e2e.go:77\n[SynchronizedBeforeSuite] TOP-LEVEL\n  test/e2e/e2e.go:77\nSTEP: e2e test version: {version} {}\nINFO: kube-apiserver version: {version}\n------------------------------\n[SynchronizedBeforeSuite] PASSED [1.000 seconds]\n[SynchronizedBeforeSuite] \ntest/e2e/e2e.go:77\n",
        step_stamp(START)
    );
    let mut t = START + 1_000_000;
    let mut test_requests = 0u64;
    // The e2e binary's requests without a spec name: suite setup, before the first spec.
    if let Some(&i) = index.get("") {
        for (verb, uri) in &calls[i] {
            w.event(t, verb, uri, "kubernetes-admin", &e2e_agent, 200)?;
            test_requests += 1;
            t += 1_000;
        }
    }
    t += 1_000_000;
    let mut specs = 0usize;
    let mut other_iter = others.iter();
    let mut other_requests = 0u64;
    let per_spec = others.len().div_ceil(names.len().max(1)).max(1);
    for (i, name) in names.iter().enumerate() {
        if name.is_empty() {
            continue;
        }
        specs += 1;
        let start = t;
        let agent = format!("{e2e_agent} -- {name}");
        let (container, text) = split_name(name);
        let _ = writeln!(
            log,
            "------------------------------\n{container}\n  {text}\n  test/e2e/apisnoop.go:{}\nSTEP: Creating a kubernetes client {}",
            i + 1,
            step_stamp(start)
        );
        t += 1_000;
        for (verb, uri) in &calls[i] {
            let code = if verb == "create" { 201 } else { 200 };
            w.event(t, verb, uri, "kubernetes-admin", &agent, code)?;
            test_requests += 1;
            t += 1_000;
        }
        // Controllers and kubelets at work inside the spec's window: attributed by time at
        // most, never by user agent, so they must not count.
        for (verb, uri, kubelet) in other_iter.by_ref().take(per_spec) {
            let (user, agent) = if *kubelet {
                (
                    "system:node:kind-worker",
                    format!("kubelet/{version} (linux/amd64) kubernetes/0123456"),
                )
            } else {
                (
                    "system:kube-controller-manager",
                    format!(
                        "kube-controller-manager/{version} (linux/amd64) kubernetes/0123456/system:serviceaccount:kube-system:generic-garbage-collector"
                    ),
                )
            };
            w.event(t, verb, uri, user, &agent, 200)?;
            other_requests += 1;
            t += 1_000;
        }
        let end = t;
        let _ = writeln!(
            log,
            "STEP: Destroying namespace \"e2e-apisnoop\" for this suite. {}\n------------------------------\n• [{:.3} seconds]\n{container}\n  {text}\n  test/e2e/apisnoop.go:{}\n",
            step_stamp(end),
            (end - start) as f64 / 1e6,
            i + 1
        );
        t += 1_000_000;
    }
    w.out.flush().map_err(|source| SynthError::Io {
        path: audit_path.clone(),
        source,
    })?;
    let _ = writeln!(
        log,
        "------------------------------\n\nRan {specs} of {specs} Specs in {:.3} seconds\nSUCCESS! -- {specs} Passed | 0 Failed | 0 Pending | 0 Skipped\nPASS",
        (t - START) as f64 / 1e6
    );
    let e2e_log_path = dir.join("e2e.log");
    std::fs::write(&e2e_log_path, log).map_err(|source| SynthError::Io {
        path: e2e_log_path.clone(),
        source,
    })?;
    Ok(ApisnoopRun {
        audit_path,
        e2e_log_path,
        release: release.to_string(),
        test_requests,
        other_requests,
        specs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_and_requests() {
        let m = |id, action| method_of(id, Some(action));
        assert_eq!(
            m("connectCoreV1HeadNamespacedPodProxy", "connect"),
            Some("HEAD")
        );
        assert_eq!(
            m("connectCoreV1OptionsNodeProxyWithPath", "connect"),
            Some("OPTIONS")
        );
        assert_eq!(
            m("connectCoreV1PostNamespacedPodExec", "connect"),
            Some("POST")
        );
        assert_eq!(m("connectFooV1beta2GetThing", "connect"), Some("GET"));
        assert_eq!(m("listCoreV1Node", "list"), Some("GET"));
        assert_eq!(method_of("getCodeVersion", None), Some("GET"));
        assert_eq!(
            request_for(
                "/api/v1/namespaces/{namespace}/pods/{name}/proxy",
                "HEAD",
                Some("connect")
            ),
            (
                "get".into(),
                "/api/v1/namespaces/e2e-apisnoop/pods/obj-1/proxy?method=HEAD".into()
            )
        );
        assert_eq!(
            request_for(
                "/api/v1/nodes/{name}/proxy/{path}",
                "OPTIONS",
                Some("connect")
            ),
            (
                String::new(),
                "/api/v1/nodes/obj-1/proxy/some/path/with/OPTIONS".into()
            )
        );
        assert_eq!(
            request_for(
                "/api/v1/namespaces/{namespace}/pods",
                "DELETE",
                Some("deletecollection")
            ),
            (
                "deletecollection".into(),
                "/api/v1/namespaces/e2e-apisnoop/pods".into()
            )
        );
        assert_eq!(
            split_name("[sig-node] Pods should x"),
            ("[sig-node]", "Pods should x")
        );
        assert_eq!(split_name("Probing x"), ("Probing", "x"));
    }
}
