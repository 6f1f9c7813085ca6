//! Hand-rolled formatting for the generator: JSON escaping, numbers, timestamps, audit
//! events, request bodies, and the text of `entries.log`, `e2e.log` and `junit_01.xml`.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::tables::{IMAGES, Res};
use super::{RC, RR, RS, Req, Rng, Spec};
use crate::run::Micros;

/// A writer that counts the bytes passing through.
pub(super) struct Counting<W> {
    inner: W,
    pub count: u64,
}

impl<W> Counting<W> {
    pub fn new(inner: W) -> Self {
        Counting { inner, count: 0 }
    }
    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Appends `s` JSON-escaped (without quotes).
pub(super) fn esc(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        let rep: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\t' => b"\\t",
            0..=0x1f => b"\\u0000",
            _ => continue,
        };
        out.extend_from_slice(&b[start..i]);
        if rep == b"\\u0000" {
            out.extend_from_slice(format!("\\u{c:04x}").as_bytes());
        } else {
            out.extend_from_slice(rep);
        }
        start = i + 1;
    }
    out.extend_from_slice(&b[start..]);
}

/// Appends a decimal number.
pub(super) fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

fn push2(out: &mut Vec<u8>, v: u32) {
    out.push(b'0' + (v / 10 % 10) as u8);
    out.push(b'0' + (v % 10) as u8);
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (Hinnant's algorithm).
pub(super) fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Broken-down UTC time: (year, month, day, hour, minute, second, microsecond).
pub(super) fn parts(t: Micros) -> (i64, u32, u32, u32, u32, u32, u32) {
    let secs = t.div_euclid(1_000_000);
    let us = t.rem_euclid(1_000_000) as u32;
    let (y, mo, d) = civil(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400) as u32;
    (y, mo, d, sod / 3600, sod / 60 % 60, sod % 60, us)
}

/// Appends `2018-06-05T03:31:00[.123456][Z]`.
pub(super) fn push_ts(out: &mut Vec<u8>, t: Micros, frac: bool, zulu: bool) {
    let (y, mo, d, h, mi, s, us) = parts(t);
    push_u64(out, y.clamp(0, 9999) as u64);
    out.push(b'-');
    push2(out, mo);
    out.push(b'-');
    push2(out, d);
    out.push(b'T');
    push2(out, h);
    out.push(b':');
    push2(out, mi);
    out.push(b':');
    push2(out, s);
    if frac {
        out.push(b'.');
        let mut buf = [b'0'; 6];
        let mut v = us;
        for slot in buf.iter_mut().rev() {
            *slot = b'0' + (v % 10) as u8;
            v /= 10;
        }
        out.extend_from_slice(&buf);
    }
    if zulu {
        out.push(b'Z');
    }
}

/// Writes a random (version 4 shaped) UUID.
pub(super) fn uuid(id: &mut [u8; 36], a: u64, b: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bits = (u128::from(a) << 64 | u128::from(b)) & !(0xF000u128 << 64) | (0x4000u128 << 64);
    let mut n = 0;
    for (i, slot) in id.iter_mut().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            *slot = b'-';
            continue;
        }
        *slot = HEX[((bits >> (124 - 4 * n)) & 0xF) as usize];
        n += 1;
    }
}

/// Appends one stage event of `req` as a JSON line.
pub(super) fn event(out: &mut Vec<u8>, req: &Req, stage: u8) {
    let at = match stage {
        RR => req.received,
        RS => req.started,
        _ => req.completed,
    };
    if req.v1beta1 {
        out.extend_from_slice(b"{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1beta1\",\"metadata\":{\"creationTimestamp\":\"");
        push_ts(out, at, false, true);
        out.extend_from_slice(b"\"},\"level\":\"");
        out.extend_from_slice(req.level.as_bytes());
        out.extend_from_slice(b"\",\"timestamp\":\"");
        push_ts(out, at, false, true);
    } else {
        out.extend_from_slice(
            b"{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"",
        );
        out.extend_from_slice(req.level.as_bytes());
    }
    out.extend_from_slice(b"\",\"auditID\":\"");
    out.extend_from_slice(&req.id);
    out.extend_from_slice(match stage {
        RR => b"\",\"stage\":\"RequestReceived\",".as_slice(),
        RS => b"\",\"stage\":\"ResponseStarted\",".as_slice(),
        _ => b"\",\"stage\":\"ResponseComplete\",".as_slice(),
    });
    out.extend_from_slice(&req.head);
    if stage != RR {
        out.extend_from_slice(&req.status);
    }
    if stage == RC {
        out.extend_from_slice(&req.objects);
    }
    out.extend_from_slice(b",\"requestReceivedTimestamp\":\"");
    push_ts(out, req.received, true, true);
    out.extend_from_slice(b"\",\"stageTimestamp\":\"");
    push_ts(out, at, true, true);
    out.push(b'"');
    if stage != RR {
        out.extend_from_slice(&req.annotations);
    }
    out.extend_from_slice(b"}\n");
}

/// Opens an object of `r`'s kind (with `kind_suffix`, e.g. `List`): `{"kind":…,"apiVersion":…`.
pub(super) fn type_meta(out: &mut Vec<u8>, r: &Res, kind_suffix: &str) {
    out.extend_from_slice(b"{\"kind\":\"");
    out.extend_from_slice(r.kind.as_bytes());
    out.extend_from_slice(kind_suffix.as_bytes());
    out.extend_from_slice(b"\",\"apiVersion\":\"");
    if !r.group.is_empty() {
        out.extend_from_slice(r.group.as_bytes());
        out.push(b'/');
    }
    out.extend_from_slice(r.version.as_bytes());
    out.push(b'"');
}

/// Appends a small object body of resource `r`: a patch, a request object, or (with
/// `meta`: uid seed and creation time) a response object.
pub(super) fn body(
    out: &mut Vec<u8>,
    rng: &mut Rng,
    r: &Res,
    ns: &str,
    name: Option<&str>,
    patch: bool,
    meta: Option<(u64, Micros)>,
) {
    if patch {
        out.extend_from_slice(b"{\"metadata\":{\"labels\":{\"test-");
        out.extend_from_slice(r.name.as_bytes());
        out.extend_from_slice(b"-static\":\"true\"}},\"spec\":{\"replicas\":");
        push_u64(out, rng.below(5) + 1);
        out.extend_from_slice(b"}}");
        return;
    }
    type_meta(out, r, "");
    out.extend_from_slice(b",\"metadata\":{");
    if let Some(n) = name {
        out.extend_from_slice(b"\"name\":\"");
        esc(out, n);
        out.extend_from_slice(b"\",");
    } else {
        out.extend_from_slice(b"\"generateName\":\"");
        out.extend_from_slice(r.name.as_bytes());
        out.extend_from_slice(b"-\",");
    }
    if r.namespaced {
        out.extend_from_slice(b"\"namespace\":\"");
        esc(out, ns);
        out.extend_from_slice(b"\",");
    }
    match meta {
        Some((uid, t)) => {
            out.extend_from_slice(b"\"uid\":\"");
            let mut id = [0u8; 36];
            uuid(&mut id, uid.wrapping_mul(0x9E37_79B9_7F4A_7C15), rng.next());
            out.extend_from_slice(&id);
            out.extend_from_slice(b"\",\"resourceVersion\":\"");
            push_u64(out, uid);
            out.extend_from_slice(b"\",\"creationTimestamp\":\"");
            push_ts(out, t, false, true);
            out.extend_from_slice(b"\",");
        }
        None => out.extend_from_slice(b"\"creationTimestamp\":null,"),
    }
    out.extend_from_slice(b"\"labels\":{\"name\":\"");
    out.extend_from_slice(r.name.as_bytes());
    out.extend_from_slice(b"\",\"time\":\"");
    push_u64(out, rng.below(1_000_000_000));
    out.extend_from_slice(b"\"}}");
    match r.kind {
        "Pod"
        | "Deployment"
        | "ReplicaSet"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicationController"
        | "Job" => {
            let pod = r.kind == "Pod";
            out.extend_from_slice(b",\"spec\":{");
            if !pod {
                out.extend_from_slice(b"\"replicas\":");
                push_u64(out, rng.below(3) + 1);
                out.extend_from_slice(b",\"selector\":{\"matchLabels\":{\"name\":\"");
                out.extend_from_slice(r.name.as_bytes());
                out.extend_from_slice(b"\"}},\"template\":{\"metadata\":{\"creationTimestamp\":null,\"labels\":{\"name\":\"");
                out.extend_from_slice(r.name.as_bytes());
                out.extend_from_slice(b"\"}},\"spec\":{");
            }
            out.extend_from_slice(b"\"containers\":[{\"name\":\"c\",\"image\":\"");
            out.extend_from_slice(rng.pick(IMAGES).as_bytes());
            out.extend_from_slice(b"\",\"args\":[\"--port=8080\"],\"ports\":[{\"containerPort\":8080,\"protocol\":\"TCP\"}],\"resources\":{},\"volumeMounts\":[{\"name\":\"test-volume\",\"mountPath\":\"/test-volume\"}],\"terminationMessagePath\":\"/dev/termination-log\",\"terminationMessagePolicy\":\"File\",\"imagePullPolicy\":\"IfNotPresent\"}],\"volumes\":[{\"name\":\"test-volume\",\"emptyDir\":{}}],\"restartPolicy\":\"");
            out.extend_from_slice(if r.kind == "Job" {
                b"OnFailure"
            } else {
                b"Always"
            });
            out.extend_from_slice(b"\",\"terminationGracePeriodSeconds\":30,\"dnsPolicy\":\"ClusterFirst\",\"securityContext\":{},\"schedulerName\":\"default-scheduler\"}");
            if !pod {
                out.extend_from_slice(b"}}");
            }
            out.extend_from_slice(b",\"status\":{}}");
        }
        "ConfigMap" | "Secret" => {
            out.extend_from_slice(b",\"data\":{\"data-1\":\"");
            let n = 16 + rng.below(200);
            for _ in 0..n {
                out.push(
                    rng.pick(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
                );
            }
            out.extend_from_slice(b"\",\"data-2\":\"value-2\\n\",\"data-3\":\"value-3\\n\"}}");
        }
        "Service" => {
            out.extend_from_slice(b",\"spec\":{\"ports\":[{\"name\":\"http\",\"protocol\":\"TCP\",\"port\":80,\"targetPort\":8080}],\"selector\":{\"name\":\"");
            out.extend_from_slice(r.name.as_bytes());
            out.extend_from_slice(b"\"},\"type\":\"ClusterIP\",\"sessionAffinity\":\"None\"},\"status\":{\"loadBalancer\":{}}}");
        }
        _ => out.extend_from_slice(b",\"spec\":{}}"),
    }
}

/// `entries.log`: one JSON line per spec (the 2018 spy), then the AfterSuite entry.
pub(super) fn entries(specs: &[Spec], end: Micros) -> Vec<u8> {
    const LOC: &str = "/go/src/k8s.io/kubernetes/_output/dockerized/go/src/k8s.io/kubernetes/";
    let mut out = Vec::with_capacity(specs.len() * 300 + 300);
    for s in specs {
        out.extend_from_slice(b"{\"timestamp\": \"");
        push_ts(&mut out, s.start, true, false);
        out.extend_from_slice(b"\", \"lines\": [\"");
        esc(&mut out, &s.container);
        out.extend_from_slice(b" \", \"  ");
        esc(&mut out, &s.text);
        out.extend_from_slice(b"\", \"  ");
        out.extend_from_slice(LOC.as_bytes());
        esc(&mut out, &s.location);
        out.extend_from_slice(b"\"]}\n");
    }
    let at = end - 1_000_000;
    let stamp = klog_stamp(at);
    out.extend_from_slice(b"{\"timestamp\": \"");
    push_ts(&mut out, at, true, false);
    out.extend_from_slice(
        format!(
            "\", \"lines\": [\"{stamp}: INFO: Running AfterSuite actions on all node\", \"{stamp}: INFO: Running AfterSuite actions on node 1\", \"\"]}}\n"
        )
        .as_bytes(),
    );
    out
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `Jun  5 03:31:07.599` (e2e framework log prefix, no year).
fn klog_stamp(t: Micros) -> String {
    let (_, mo, d, h, mi, s, us) = parts(t);
    let m = MONTHS
        .get(mo.saturating_sub(1) as usize)
        .copied()
        .unwrap_or("Jan");
    format!("{m} {d:>2} {h:02}:{mi:02}:{s:02}.{:03}", us / 1000)
}

/// `02/01/23 17:08:03.431` (ginkgo v2 STEP suffix).
fn step_stamp(t: Micros) -> String {
    let (y, mo, d, h, mi, s, us) = parts(t);
    format!(
        "{mo:02}/{d:02}/{:02} {h:02}:{mi:02}:{s:02}.{:03}",
        y.rem_euclid(100),
        us / 1000
    )
}

fn secs(a: Micros, b: Micros) -> f64 {
    (b - a) as f64 / 1e6
}

/// `e2e.log` in ginkgo v2 verbose form.
pub(super) fn e2e_log(
    specs: &[Spec],
    skipped: &[(String, String)],
    start: Micros,
    end: Micros,
    rng: &mut Rng,
) -> Vec<u8> {
    let mut o = String::with_capacity(specs.len() * 1500 + 2000);
    let _ = writeln!(
        o,
        "I{} 1 e2e.go:126] Starting e2e run \"5923448e-1811-4df7-8de8-19b695566f39\" on Ginkgo node 1",
        {
            let (_, mo, d, h, mi, s, us) = parts(start);
            format!("{mo:02}{d:02} {h:02}:{mi:02}:{s:02}.{us:06}     ")
        }
    );
    let total = specs.len() + skipped.len();
    let _ = writeln!(
        o,
        "Running Suite: Kubernetes e2e suite - /usr/local/bin\n====================================================\nRandom Seed: 1675271283 - will randomize all specs\n\nWill run {} of {} specs",
        specs.len(),
        total
    );
    let mut skip_iter = skipped.iter();
    for (i, s) in specs.iter().enumerate() {
        if i % 4 == 3 && skip_iter.next().is_some() {
            o.push_str("------------------------------\nS\n");
        }
        let (file, _) = s.location.rsplit_once(':').unwrap_or((&s.location, ""));
        let sig_dir = file.rsplit_once('/').map(|x| x.0).unwrap_or("test/e2e");
        o.push_str("------------------------------\n");
        let _ = writeln!(o, "{}\n  {}\n  {}", s.container, s.text, s.location);
        let _ = writeln!(
            o,
            "[BeforeEach] {}\n  set up framework | framework.go:178",
            s.container
        );
        let _ = writeln!(
            o,
            "STEP: Creating a kubernetes client {}",
            step_stamp(s.start)
        );
        let _ = writeln!(
            o,
            "{}: INFO: >>> kubeConfig: /tmp/kubeconfig-1078699277",
            klog_stamp(s.start)
        );
        let _ = writeln!(
            o,
            "STEP: Building a namespace api object, basename {} {}",
            s.base,
            step_stamp(s.start + 1_000)
        );
        let _ = writeln!(
            o,
            "STEP: Waiting for a default service account to be provisioned in namespace {}",
            step_stamp(s.start + 17_000)
        );
        let _ = writeln!(o, "[It] {}\n  {}", s.text, s.location);
        for (at, text) in &s.steps {
            let _ = writeln!(o, "STEP: {text} {}", step_stamp(*at));
            if rng.chance(0.5) {
                let _ = writeln!(
                    o,
                    "{}: INFO: observed {} in namespace {} ",
                    klog_stamp(*at + 3_000),
                    text.split(' ').next_back().unwrap_or(""),
                    s.ns
                );
            }
        }
        if s.failed {
            let _ = writeln!(
                o,
                "{}: INFO: Unexpected error: timed out waiting for the condition",
                klog_stamp(s.end - 2_000_000)
            );
        }
        let _ = writeln!(
            o,
            "[AfterEach] {}\n  test/e2e/framework/node/init/init.go:32",
            s.container
        );
        let _ = writeln!(
            o,
            "STEP: Destroying namespace \"{}\" for this suite. {}",
            s.ns,
            step_stamp(s.end - 1_000_000)
        );
        o.push_str("------------------------------\n");
        let d = secs(s.start, s.end);
        let tag = if s.failed {
            "[FAILED] "
        } else if d > 5.0 {
            "[SLOW TEST] "
        } else {
            ""
        };
        let _ = writeln!(
            o,
            "• {tag}[{d:.3} seconds]\n{}\n{sig_dir}/framework.go:23\n  {}\n  {}\n",
            s.container, s.text, s.location
        );
    }
    for _ in skip_iter {
        o.push_str("------------------------------\nS\n");
    }
    let failed = specs.iter().filter(|s| s.failed).count();
    let _ = writeln!(
        o,
        "------------------------------\n\nRan {} of {} Specs in {:.3} seconds",
        specs.len(),
        total,
        secs(start, end)
    );
    if failed == 0 {
        let _ = writeln!(
            o,
            "SUCCESS! -- {} Passed | 0 Failed | 0 Pending | {} Skipped\nPASS",
            specs.len(),
            skipped.len()
        );
    } else {
        let _ = writeln!(
            o,
            "FAIL! -- {} Passed | {failed} Failed | 0 Pending | {} Skipped\n--- FAIL: TestE2E",
            specs.len() - failed,
            skipped.len()
        );
    }
    o.into_bytes()
}

fn xml_esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `junit_01.xml` in ginkgo v2 form.
pub(super) fn junit(
    specs: &[Spec],
    skipped: &[(String, String)],
    start: Micros,
    end: Micros,
) -> Vec<u8> {
    let total = specs.len() + skipped.len() + 2;
    let failed = specs.iter().filter(|s| s.failed).count();
    let t = secs(start, end);
    let mut ts = Vec::new();
    push_ts(&mut ts, start, false, false);
    let ts = String::from_utf8_lossy(&ts);
    let mut o = String::with_capacity(total * 250 + 2000);
    let _ = writeln!(o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    let _ = writeln!(
        o,
        "  <testsuites tests=\"{total}\" disabled=\"{}\" errors=\"0\" failures=\"{failed}\" time=\"{t}\">",
        skipped.len()
    );
    let _ = writeln!(
        o,
        "      <testsuite name=\"Kubernetes e2e suite\" package=\"/usr/local/bin\" tests=\"{total}\" disabled=\"0\" skipped=\"{}\" errors=\"0\" failures=\"{failed}\" time=\"{t}\" timestamp=\"{ts}\">",
        skipped.len()
    );
    let _ = writeln!(
        o,
        "          <properties>\n              <property name=\"SuiteSucceeded\" value=\"{}\"></property>\n              <property name=\"FocusStrings\" value=\"\\[Conformance\\]\"></property>\n          </properties>",
        failed == 0
    );
    let _ = writeln!(
        o,
        "          <testcase name=\"[SynchronizedBeforeSuite]\" classname=\"Kubernetes e2e suite\" status=\"passed\" time=\"0.04986893\"></testcase>"
    );
    let mut skip_iter = skipped.iter();
    for (i, s) in specs.iter().enumerate() {
        if i % 4 == 3
            && let Some((c, x)) = skip_iter.next()
        {
            skip_case(&mut o, c, x);
        }
        let name = xml_esc(&format!("[It] {}", s.full));
        let d = secs(s.start, s.end);
        if s.failed {
            let _ = writeln!(
                o,
                "          <testcase name=\"{name}\" classname=\"Kubernetes e2e suite\" status=\"failed\" time=\"{d}\">\n              <failure message=\"timed out waiting for the condition\" type=\"failed\">[FAILED] timed out waiting for the condition\nIn [It] at: {}</failure>\n              <system-err>STEP: Destroying namespace &quot;{}&quot; for this suite.</system-err>\n          </testcase>",
                xml_esc(&s.location),
                xml_esc(&s.ns)
            );
        } else {
            let _ = writeln!(
                o,
                "          <testcase name=\"{name}\" classname=\"Kubernetes e2e suite\" status=\"passed\" time=\"{d}\"></testcase>"
            );
        }
    }
    for (c, x) in skip_iter {
        skip_case(&mut o, c, x);
    }
    let _ = writeln!(
        o,
        "          <testcase name=\"[SynchronizedAfterSuite]\" classname=\"Kubernetes e2e suite\" status=\"passed\" time=\"9.2195e-05\"></testcase>"
    );
    o.push_str("      </testsuite>\n  </testsuites>");
    o.into_bytes()
}

fn skip_case(o: &mut String, c: &str, x: &str) {
    let name = xml_esc(&format!("[It] {c} {x}"));
    let _ = writeln!(
        o,
        "          <testcase name=\"{name}\" classname=\"Kubernetes e2e suite\" status=\"skipped\" time=\"0\">\n              <skipped message=\"skipped\"></skipped>\n          </testcase>"
    );
}
