//! Runs rebuilt from APISnoop's published coverage files (`synth::apisnoop`: an audit log and
//! a ginkgo log in which every test of an endpoint's `tests[]` calls it with the e2e user
//! agent, plus controller and kubelet traffic that must not count) go through the binary's
//! `correlate --release X.Y` and `report coverage --format json --ineligible FILE`, and must
//! give back the file: its endpoint set, every field of every endpoint, `tested`,
//! `conf_tested` and the test lists exactly (order and `null`s included), and the tests[]
//! entries. The six totals are checked for 1.37 with APISnoop's current ineligible list;
//! README ("Counting as APISnoop does") says why the older files' totals differ.
//!
//! Then `diff` on the rebuilt 1.33 and 1.34 runs (and with the 1.33 file itself as OLD) gives
//! exactly the endpoint differences the two files show, and `--gate` exits 0 one way and 1
//! the other (issue 12).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use auditscope::endpoints::conformance::Eligibility;
use auditscope::synth::apisnoop::from_coverage;
use common::apisnoop::{published, published_differences};
use common::{bin, fixture, fixture_bytes, json_of};
use serde_json::Value;

const INELIGIBLE: &str = "apisnoop-ineligible_endpoints.json.gz";

/// Writes the rebuilt inputs of `release` into `dir` and correlates them into `dir/RUN.json`.
fn rebuild(release: &str, dir: &Path) -> PathBuf {
    let bytes = fixture_bytes(&format!("apisnoop-coverage-{release}.json.gz"));
    let written = from_coverage(&bytes, dir).unwrap();
    assert!(written.test_requests > 1000 && written.other_requests > 100);
    let run = dir.join("RUN.json");
    let minor = release.rsplit_once('.').unwrap().0;
    bin()
        .args(["correlate", "--release", minor])
        .arg(&written.audit_path)
        .arg(&written.e2e_log_path)
        .arg("-o")
        .arg(&run)
        .assert()
        .success();
    run
}

fn coverage_of(run: &Path, ineligible: Option<&str>, conformance: Option<&Path>) -> Value {
    let mut cmd = bin();
    cmd.args(["report", "coverage", "--format", "json"])
        .arg(run);
    if let Some(file) = ineligible {
        cmd.arg("--ineligible").arg(fixture(file));
    }
    if let Some(file) = conformance {
        cmd.arg("--conformance").arg(file);
    }
    json_of(&mut cmd)
}

/// A conformance.yaml listing the conformance tests of a published file, as the
/// conformance.yaml APISnoop read when it wrote the file had them (it reads kubernetes'
/// master copy of the day; the snapshot we embed is of another day).
fn conformance_yaml_of(theirs: &Value, dir: &Path) -> PathBuf {
    let mut yaml = String::new();
    for t in theirs["tests"].as_array().unwrap() {
        if t["conformance_test"] != Value::Bool(true) {
            continue;
        }
        let promoted = t["promotion_release"].as_str().unwrap();
        let release = promoted.strip_suffix(".0").unwrap_or(promoted);
        yaml.push_str(&format!(
            "- testname: {}\n  codename: {}\n  description: ''\n  release: v{release}\n  file: {}\n",
            t["testname"], t["test"], t["file"]
        ));
    }
    let path = dir.join("conformance.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

/// Endpoints by operationId.
fn endpoints(v: &Value) -> BTreeMap<String, Value> {
    v["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["endpoint"].as_str().unwrap().to_string(), e.clone()))
        .collect()
}

/// Compares every endpoint and test entry; returns the differences, one line each.
fn differences(ours: &Value, theirs: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let (o, t) = (endpoints(ours), endpoints(theirs));
    for id in t.keys().filter(|k| !o.contains_key(*k)) {
        out.push(format!("missing endpoint {id}"));
    }
    for id in o.keys().filter(|k| !t.contains_key(*k)) {
        out.push(format!("extra endpoint {id}"));
    }
    for (id, theirs) in &t {
        let Some(ours) = o.get(id) else { continue };
        for (key, value) in theirs.as_object().unwrap() {
            if ours.get(key) != Some(value) {
                let show = |v: Option<&Value>| {
                    let s = v.map_or("absent".into(), |v| v.to_string());
                    s.chars().take(160).collect::<String>()
                };
                out.push(format!(
                    "{id}.{key}: ours {} theirs {}",
                    show(ours.get(key)),
                    show(Some(value))
                ));
            }
        }
    }
    let order = |v: &Value| -> Vec<String> {
        v["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["endpoint"].as_str().unwrap().to_string())
            .collect()
    };
    if order(ours) != order(theirs) && out.is_empty() {
        out.push("endpoints in another order".into());
    }
    if ours["tests"] != theirs["tests"] {
        let (a, b) = (
            ours["tests"].as_array().unwrap(),
            theirs["tests"].as_array().unwrap(),
        );
        out.push(format!(
            "tests[]: ours {} entries, theirs {}",
            a.len(),
            b.len()
        ));
        for (x, y) in a.iter().zip(b) {
            if x != y {
                out.push(format!("first differing test: ours {x} theirs {y}"));
                break;
            }
        }
    }
    out
}

const TOTALS: [&str; 6] = [
    "total endpoints",
    "tested endpoints",
    "total conformance eligible endpoints",
    "tested conformance eligible endpoints",
    "new conformance eligible endpoints",
    "new tested conformance eligible endpoints",
];

fn totals(v: &Value) -> Vec<u64> {
    TOTALS.iter().map(|k| v[*k].as_u64().unwrap()).collect()
}

/// Rebuilds `release`'s file, checks the whole document against it with the file's own
/// conformance list, and the endpoints with the embedded list; returns our document (embedded
/// list), theirs, and how many tests[] entries the embedded list describes otherwise.
fn reproduce(release: &str) -> (Value, Value, usize, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let run = rebuild(release, dir.path());
    let theirs = published(release);
    let yaml = conformance_yaml_of(&theirs, dir.path());
    let ours = coverage_of(&run, Some(INELIGIBLE), Some(&yaml));
    let diffs = differences(&ours, &theirs);
    assert!(
        diffs.is_empty(),
        "{release}: {} differences:\n{}",
        diffs.len(),
        diffs
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    for key in ["release", "spec"] {
        assert_eq!(ours[key], theirs[key], "{release} {key}");
    }
    // With the embedded conformance.yaml the endpoints are the same, and the tests[] entries
    // differ only where that snapshot lists other tests (or names them otherwise).
    let embedded = coverage_of(&run, Some(INELIGIBLE), None);
    assert_eq!(embedded["endpoints"], theirs["endpoints"], "{release}");
    let (a, b) = (
        embedded["tests"].as_array().unwrap(),
        theirs["tests"].as_array().unwrap(),
    );
    assert_eq!(a.len(), b.len());
    let mut other = 0;
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x["test"], y["test"]);
        if x != y {
            other += 1;
            assert!(
                x["conformance_test"] != y["conformance_test"] || x["testname"] != y["testname"],
                "{release}: {x} vs {y}"
            );
        }
    }
    (embedded, theirs, other, dir)
}

/// Totals of the rebuilt run with the embedded (kubernetes' 99-entry) ineligible list: the list
/// of the older files' day.
fn totals_with_embedded_list(dir: &Path) -> Vec<u64> {
    totals(&coverage_of(&dir.join("RUN.json"), None, None))
}

/// Eligible endpoints (of the published file, under the embedded list) whose first
/// conformance test was promoted at or before `release`, by APISnoop's later data
/// (`conformance-endpoints.json`): how the older files' `tested conformance eligible
/// endpoints` was counted, and (all, new) of them.
fn tested_by_later_data(theirs: &Value, previous: &Value, release: (u32, u32)) -> (usize, usize) {
    let data: Value =
        serde_json::from_slice(&fixture_bytes("apisnoop-conformance-endpoints.json.gz")).unwrap();
    let first: BTreeMap<&str, (u32, u32)> = data
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| {
            let r = e["tested_release"].as_str()?;
            let mut parts = r.split('.').map(|p| p.parse::<u32>().unwrap());
            Some((e["endpoint"].as_str()?, (parts.next()?, parts.next()?)))
        })
        .collect();
    let before: std::collections::BTreeSet<&str> = endpoints_of(previous);
    let rules = Eligibility::embedded();
    let (mut all, mut new) = (0, 0);
    for e in theirs["endpoints"].as_array().unwrap() {
        let id = e["endpoint"].as_str().unwrap();
        let eligible = e["level"] == "stable"
            && !e["description"]
                .as_str()
                .unwrap_or("")
                .to_lowercase()
                .contains("deprecated")
            && !rules.is_ineligible(id);
        if eligible && first.get(id).is_some_and(|r| *r <= release) {
            all += 1;
            new += usize::from(!before.contains(id));
        }
    }
    (all, new)
}

fn endpoints_of(v: &Value) -> std::collections::BTreeSet<&str> {
    v["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["endpoint"].as_str().unwrap())
        .collect()
}

#[test]
fn rebuilt_1_33_gives_back_its_file() {
    let (ours, theirs, other, dir) = reproduce("1.33.0");
    assert_eq!(other, 20);
    assert_eq!(ours["release_date"], theirs["release_date"]);
    assert_eq!(totals(&theirs), [843, 485, 510, 504, 10, 9]);
    // With APISnoop's current list: 508 eligible.
    assert_eq!(totals(&ours), [843, 485, 508, 452, 10, 0]);
    // With the list of its day, the eligible and new counts are the file's; the tested ones
    // are what the run's conformance specs hit (452), where the file counts APISnoop's later
    // data: 495 endpoints first tested by 1.33 plus the 9 new IP address / service CIDR
    // endpoints, whose tests that data now dates 1.34.
    assert_eq!(
        totals_with_embedded_list(dir.path()),
        [843, 485, 510, 452, 10, 0]
    );
    // (1.32's file is not among the fixtures, so only the count of all is checked.)
    let (all, _) = tested_by_later_data(&theirs, &theirs, (1, 33));
    assert_eq!(all, 495);
}

#[test]
fn rebuilt_1_34_gives_back_its_file() {
    let (ours, theirs, other, dir) = reproduce("1.34.0");
    assert_eq!(other, 20);
    assert_eq!(ours["release_date"], theirs["release_date"]);
    assert_eq!(totals(&theirs), [859, 497, 551, 505, 41, 0]);
    assert_eq!(totals(&ours)[..2], [859, 497]);
    // The list of its day gives the file's eligible and new counts; its 505 tested are
    // exactly the eligible endpoints APISnoop's later data says were first tested by 1.34 (of
    // the 41 new, none), not what the run hit (462).
    assert_eq!(
        totals_with_embedded_list(dir.path()),
        [859, 497, 551, 462, 41, 0]
    );
    let previous = published("1.33.0");
    assert_eq!(tested_by_later_data(&theirs, &previous, (1, 34)), (505, 0));
}

#[test]
fn rebuilt_1_37_gives_back_its_file_and_all_six_totals() {
    let (ours, theirs, other, _dir) = reproduce("1.37.0");
    assert_eq!(other, 227);
    assert_eq!(totals(&ours), totals(&theirs));
    assert_eq!(totals(&ours), [874, 591, 563, 563, 0, 0]);
    // Untouched: APISnoop dates the release in development by its CI run.
    assert_eq!(ours["release_date"], Value::Null);
}

/// `diff --format json OLD NEW`: its four endpoint lists, sorted, and the exit status of the
/// same comparison with `--gate`.
fn diff_of(old: &Path, new: &Path) -> ([Vec<String>; 4], i32) {
    let v = json_of(bin().args(["diff", "--format", "json"]).arg(old).arg(new));
    let list = |key: &str| -> Vec<String> {
        let mut l: Vec<String> = v["endpoints"][key]
            .as_array()
            .unwrap_or_else(|| panic!("endpoints.{key} in {v}"))
            .iter()
            .map(|e| e.as_str().unwrap().to_string())
            .collect();
        l.sort();
        l
    };
    let lists = [
        list("added"),
        list("removed"),
        list("newly_tested"),
        list("no_longer_tested"),
    ];
    let gate = bin()
        .args(["diff", "--gate"])
        .arg(old)
        .arg(new)
        .output()
        .unwrap();
    (lists, gate.status.code().unwrap())
}

/// Issue 12: runs rebuilt from the 1.33 and 1.34 files differ exactly as the files do, also
/// with the 1.33 file itself as OLD, and the gate passes one way and fails the other.
#[test]
fn diff_of_rebuilt_1_33_and_1_34_runs_gives_the_published_differences() {
    let (d133, d134) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (r133, r134) = (
        rebuild("1.33.0", d133.path()),
        rebuild("1.34.0", d134.path()),
    );
    let (p133, p134) = (published("1.33.0"), published("1.34.0"));
    let forward = published_differences(&p133, &p134);
    let backward = published_differences(&p134, &p133);
    assert_eq!(
        forward.iter().map(Vec::len).collect::<Vec<_>>(),
        [66, 50, 12, 0]
    );
    assert_eq!(backward[3].len(), 12);

    let (lists, gate) = diff_of(&r133, &r134);
    assert_eq!(lists, forward);
    assert_eq!(gate, 0, "1.33 → 1.34 loses nothing");
    let (lists, gate) = diff_of(&r134, &r133);
    assert_eq!(lists, backward);
    assert_eq!(gate, 1, "1.34 → 1.33 loses 12 endpoints");

    // The published 1.33 file itself as OLD.
    let file133 = PathBuf::from(fixture("apisnoop-coverage-1.33.0.json.gz"));
    let file134 = PathBuf::from(fixture("apisnoop-coverage-1.34.0.json.gz"));
    let (lists, gate) = diff_of(&file133, &r134);
    assert_eq!(lists, forward);
    assert_eq!(gate, 0);
    let (lists, gate) = diff_of(&file134, &r133);
    assert_eq!(lists, backward);
    assert_eq!(gate, 1);
}

/// The older files (1.17 to 1.27): the rebuilt runs give back every endpoint with every field,
/// in order, and the two totals that do not depend on the lists of the day (1.17 to 1.19 have
/// no totals). In-process, to stay quick.
#[test]
fn older_files_give_back_every_endpoint() {
    use auditscope::correlate::{Inputs, Options, correlate};
    use auditscope::model::Release;
    use auditscope::report::coverage::{CoverageOptions, CoverageRules, coverage};
    use auditscope::report::filter::RequestFilter;
    let rules = CoverageRules::embedded();
    let filter = RequestFilter::default();
    let opts = CoverageOptions {
        filter: &filter,
        count_window: false,
        success_only: false,
        rules: &rules,
    };
    for minor in 17..=27 {
        let release = format!("1.{minor}.0");
        let dir = tempfile::tempdir().unwrap();
        let bytes = fixture_bytes(&format!("apisnoop-coverage-{release}.json.gz"));
        let written = from_coverage(&bytes, dir.path()).unwrap();
        let run = correlate(
            &Inputs {
                audit: vec![written.audit_path.display().to_string()],
                e2e_logs: vec![written.e2e_log_path.display().to_string()],
                ..Inputs::default()
            },
            &Options {
                release: Some(Release::new(1, minor)),
                ..Options::default()
            },
        )
        .unwrap();
        let ours = serde_json::to_value(coverage(&[&run], &opts).unwrap()).unwrap();
        let theirs = published(&release);
        // Every key their endpoints have (the oldest have no `release`), and the order; the
        // tests[] entries of those files carry fewer keys and the conformance list of their day.
        let diffs: Vec<String> = differences(&ours, &theirs)
            .into_iter()
            .filter(|d| !d.starts_with("tests[]") && !d.starts_with("first differing test"))
            .collect();
        assert!(diffs.is_empty(), "{release}: {diffs:?}");
        let order = |v: &Value| -> Vec<Value> {
            v["endpoints"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["endpoint"].clone())
                .collect()
        };
        assert_eq!(order(&ours), order(&theirs), "{release}");
        if minor >= 20 {
            assert_eq!(totals(&ours)[..2], totals(&theirs)[..2], "{release}");
        }
    }
}
