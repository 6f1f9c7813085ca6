//! `auditscope export`: Parquet read back with the parquet crate's own reader, NDJSON with the
//! same rows, one partition per run replaced whole, nothing left behind on error, and DuckDB
//! running the queries of docs/export.md to the numbers of `report summary`, `report coverage`
//! and `report endpoints`.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::{Field, Row, RowAccessor};
use serde_json::Value;

use auditscope::run::{Run, format};

/// The bundled demo run: synthetic requests plus real kubectl events with backtraces.
fn demo_path() -> String {
    format!("{}/assets/demo/RUN.json.gz", env!("CARGO_MANIFEST_DIR"))
}

fn demo_run() -> Run {
    auditscope::cli::demo_run().unwrap()
}

/// A second, generated run correlated with its ginkgo log: written to `dir/RUN2.json`.
fn second_run(dir: &Path) -> PathBuf {
    let synth = dir.join("synth");
    bin()
        .args([
            "synth", "--events", "3000", "--specs", "6", "--seed", "3", "-o",
        ])
        .arg(&synth)
        .assert()
        .success();
    let out = dir.join("RUN2.json");
    bin()
        .arg("correlate")
        .arg(synth.join("audit.log"))
        .arg(synth.join("e2e.log"))
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    out
}

/// Every file under `dir` (relative paths), sorted.
fn files(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out.sort();
    out
}

/// The rows of every Parquet file of one table partition, in file order.
fn parquet_rows(partition: &Path) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut names: Vec<PathBuf> = std::fs::read_dir(partition)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for path in names {
        let reader = SerializedFileReader::try_from(path.as_path()).unwrap();
        for row in reader.get_row_iter(None).unwrap() {
            rows.push(row.unwrap());
        }
    }
    rows
}

/// A row's fields by name.
fn fields(row: &Row) -> BTreeMap<String, Field> {
    row.get_column_iter()
        .map(|(n, f)| (n.clone(), f.clone()))
        .collect()
}

fn text(f: &Field) -> Option<String> {
    match f {
        Field::Str(s) => Some(s.clone()),
        Field::Null => None,
        other => panic!("not text: {other:?}"),
    }
}

/// `(function, file, line)` of each frame of a `frames` value.
fn frames(f: &Field) -> Vec<(String, String, i64)> {
    let Field::ListInternal(list) = f else {
        panic!("frames is not a list: {f:?}")
    };
    list.elements()
        .iter()
        .map(|e| {
            let Field::Group(g) = e else {
                panic!("frame is not a struct: {e:?}")
            };
            (
                g.get_string(0).unwrap().clone(),
                g.get_string(1).unwrap().clone(),
                g.get_long(2).unwrap(),
            )
        })
        .collect()
}

/// The one partition folder of `table` under `out`.
fn partition(out: &Path, table: &str) -> PathBuf {
    let release = std::fs::read_dir(out.join(table))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::read_dir(release)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
}

#[test]
fn parquet_reads_back_every_request_spec_and_operation() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("wh");
    let run = demo_run();
    let id = auditscope::export::run_id(&run);
    let release = auditscope::export::release_of(&run);
    let done = bin()
        .arg("export")
        .arg(demo_path())
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(
        stderr.contains(&format!(
            "release={release}/run={id}: 441 requests, 12 specs, {} operations",
            run.operations.len()
        )),
        "{stderr}"
    );
    assert_eq!(id, "20180605T033112Z-180a76275f58");
    assert_eq!(
        files(&out),
        ["operations", "requests", "specs"]
            .map(|t| format!("{t}/release={release}/run={id}/part-00000.parquet"))
    );

    let rows = parquet_rows(&partition(&out, "requests"));
    assert_eq!(rows.len(), run.requests.len());
    let mut with_frames = 0;
    for (row, req) in rows.iter().zip(&run.requests) {
        let f = fields(row);
        assert_eq!(text(&f["audit_id"]).unwrap(), &*req.audit_id);
        assert_eq!(text(&f["attribution"]).unwrap(), req.attribution.as_str());
        assert_eq!(text(&f["verb"]).unwrap(), run.str(req.verb));
        assert_eq!(text(&f["request_uri"]).unwrap(), run.str(req.uri));
        assert_eq!(
            text(&f["operation_id"]),
            run.operation_of(req).map(|o| o.id.clone())
        );
        assert_eq!(
            text(&f["spec"]),
            run.spec_of(req).map(|s| run.str(s.name).to_string())
        );
        assert_eq!(
            text(&f["user_agent"]).unwrap(),
            run.agent_of(req).map(|a| run.agent_text(a)).unwrap()
        );
        assert_eq!(f["received"], Field::TimestampMicros(req.received));
        match req.code {
            0 => assert_eq!(f["code"], Field::Null),
            c => assert_eq!(f["code"], Field::Long(i64::from(c))),
        }
        let want: Vec<(String, String, i64)> = run
            .trace_of(req)
            .map(|t| {
                t.frames
                    .iter()
                    .map(|&id| {
                        let fr = &run.frames[id as usize];
                        (
                            run.str(fr.function).to_string(),
                            run.str(fr.file).to_string(),
                            i64::from(fr.line),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        with_frames += usize::from(!want.is_empty());
        assert_eq!(frames(&f["frames"]), want, "{}", req.audit_id);
    }
    // The eight real kubectl events carry backtraces.
    assert!(with_frames >= 8, "{with_frames} requests with frames");

    let specs = parquet_rows(&partition(&out, "specs"));
    assert_eq!(specs.len(), run.specs.len());
    for (row, spec) in specs.iter().zip(&run.specs) {
        let f = fields(row);
        assert_eq!(text(&f["name"]).unwrap(), run.str(spec.name));
        assert_eq!(text(&f["status"]).unwrap(), spec.status.as_str());
        assert_eq!(f["conformance"], Field::Bool(spec.conformance));
    }
    let ops = parquet_rows(&partition(&out, "operations"));
    assert_eq!(ops.len(), run.operations.len());
    let names: Vec<Option<String>> = ops
        .iter()
        .map(|r| text(&fields(r)["operation_id"]))
        .collect();
    let want: Vec<Option<String>> = run.operations.iter().map(|o| Some(o.id.clone())).collect();
    assert_eq!(names, want);
    // The operations `report coverage` calls tested are the ones flagged tested.
    let cov = report_json(&["report", "coverage"], Path::new(&demo_path()));
    let mut tested: Vec<String> = ops
        .iter()
        .map(fields)
        .filter(|f| f["tested"] == Field::Bool(true))
        .filter_map(|f| text(&f["operation_id"]))
        .collect();
    tested.sort();
    tested.dedup();
    let mut want: Vec<String> = cov["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["tested"] == true)
        .map(|e| e["endpoint"].as_str().unwrap().to_string())
        .collect();
    want.sort();
    want.dedup();
    assert!(!want.is_empty());
    assert_eq!(tested, want);
}

#[test]
fn ndjson_holds_the_rows_of_the_parquet_files() {
    let dir = tempfile::tempdir().unwrap();
    let (pq, nd) = (dir.path().join("pq"), dir.path().join("nd"));
    bin()
        .arg("export")
        .arg(demo_path())
        .arg("--out")
        .arg(&pq)
        .assert()
        .success();
    bin()
        .args(["export", "--format", "ndjson", "--gzip"])
        .arg(demo_path())
        .arg("--out")
        .arg(&nd)
        .assert()
        .success();
    for table in ["requests", "specs", "operations"] {
        let rows = parquet_rows(&partition(&pq, table));
        let file = partition(&nd, table).join("part-00000.ndjson.gz");
        let bytes = std::fs::read(&file).unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
            .unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), rows.len(), "{table}");
        for (row, line) in rows.iter().zip(&lines) {
            let obj = line.as_object().unwrap();
            let f = fields(row);
            // The same columns (serde_json's map sorts them), the first one first.
            let mut names: Vec<&String> = row.get_column_iter().map(|(n, _)| n).collect();
            let first = names[0].clone();
            names.sort();
            assert_eq!(obj.keys().collect::<Vec<_>>(), names);
            assert!(text.starts_with(&format!("{{\"{first}\":")));
            for (name, field) in &f {
                let got = &obj[name];
                match field {
                    Field::Null => assert!(got.is_null(), "{table}.{name}"),
                    Field::Str(s) => assert_eq!(got.as_str(), Some(s.as_str()), "{table}.{name}"),
                    Field::Long(v) => assert_eq!(got.as_i64(), Some(*v), "{table}.{name}"),
                    Field::Bool(v) => assert_eq!(got.as_bool(), Some(*v), "{table}.{name}"),
                    Field::Double(v) => assert_eq!(got.as_f64(), Some(*v), "{table}.{name}"),
                    Field::TimestampMicros(t) => assert_eq!(
                        got.as_str().unwrap(),
                        auditscope::run::time::rfc3339(*t),
                        "{table}.{name}"
                    ),
                    Field::ListInternal(_) => {
                        let want: Vec<Value> = frames(field)
                            .into_iter()
                            .map(|(function, file, line)| {
                                serde_json::json!({"function": function, "file": file, "line": line})
                            })
                            .collect();
                        assert_eq!(got.as_array().unwrap(), &want, "{table}.{name}");
                    }
                    other => panic!("{table}.{name}: unexpected {other:?}"),
                }
            }
        }
    }
}

#[test]
fn runs_get_a_partition_each_and_a_reexport_replaces_it_whole() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("wh");
    let second = second_run(dir.path());
    bin()
        .arg("export")
        .arg(demo_path())
        .arg(&second)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let first = files(&out);
    assert_eq!(first.len(), 6, "{first:?}");
    let runs: std::collections::BTreeSet<&str> =
        first.iter().map(|f| f.split('/').nth(2).unwrap()).collect();
    assert_eq!(runs.len(), 2, "{runs:?}");

    // A file left in the old partition is gone after a re-export: the folder was replaced.
    let demo_specs = out
        .join("specs")
        .join(format!(
            "release={}",
            auditscope::export::release_of(&demo_run())
        ))
        .join(format!("run={}", auditscope::export::run_id(&demo_run())));
    std::fs::write(demo_specs.join("stray.parquet"), b"x").unwrap();
    bin()
        .arg("export")
        .arg(demo_path())
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    assert_eq!(files(&out), first);

    // An error in the second run, after the first was written: nothing of the first is put
    // in place, and no staging folder is left.
    let fresh = dir.path().join("fresh");
    let damaged = dir.path().join("damaged.json");
    let text = std::fs::read(&second).unwrap();
    std::fs::write(&damaged, &text[..text.len() / 2]).unwrap();
    let failed = bin()
        .arg("export")
        .arg(demo_path())
        .arg(&damaged)
        .arg("--out")
        .arg(&fresh)
        .output()
        .unwrap();
    assert_eq!(failed.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(
        stderr.contains("damaged.json: not a RUN.json (or damaged)"),
        "{stderr}"
    );
    assert_eq!(files(&fresh), Vec::<String>::new());
    let failed = bin()
        .arg("export")
        .arg(demo_path())
        .args(["--run-id", "../escape", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(failed.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&failed.stderr)
            .contains("run ID \"../escape\" cannot name a partition"),
        "{}",
        String::from_utf8_lossy(&failed.stderr)
    );
    assert_eq!(files(&out), first);
    // Only the three tables are in DIR: the staging folders were removed.
    let mut top: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    assert_eq!(top, ["operations", "requests", "specs"]);
}

/// JSON a command prints.
fn report_json(args: &[&str], run: &Path) -> Value {
    let out = stdout_of(bin().args(args).arg(run).args(["--format", "json"]));
    serde_json::from_str(&out).unwrap()
}

/// Runs tests/export_duckdb.py; `None` (the test is skipped) when duckdb cannot be imported.
fn duckdb_queries(out: &Path, format: &str) -> Option<Value> {
    let script = format!("{}/tests/export_duckdb.py", env!("CARGO_MANIFEST_DIR"));
    let doc = format!("{}/docs/export.md", env!("CARGO_MANIFEST_DIR"));
    let result = std::process::Command::new("python3")
        .arg(script)
        .arg(doc)
        .arg(out)
        .arg(format)
        .output();
    let done = match result {
        Ok(done) => done,
        Err(e) => {
            eprintln!("SKIPPED: python3 cannot be run ({e}); .ci/run installs python3's duckdb");
            return None;
        }
    };
    if done.status.code() == Some(3) {
        eprintln!(
            "SKIPPED: {} (.ci/run installs it with pip)",
            String::from_utf8_lossy(&done.stdout).trim()
        );
        return None;
    }
    assert!(
        done.status.success(),
        "{}{}",
        String::from_utf8_lossy(&done.stdout),
        String::from_utf8_lossy(&done.stderr)
    );
    Some(serde_json::from_slice(&done.stdout).unwrap())
}

/// The rows of one query as maps from column to value.
fn query_rows(result: &Value, name: &str) -> Vec<BTreeMap<String, Value>> {
    let q = &result[name];
    let columns: Vec<String> = q["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    q["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            columns
                .iter()
                .cloned()
                .zip(r.as_array().unwrap().iter().cloned())
                .collect()
        })
        .collect()
}

#[test]
fn duckdb_over_the_export_gives_the_reports_numbers() {
    // DuckDB comes from Python's `duckdb` package, which .ci/run installs with pip; without
    // it this test says so and checks nothing more.
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("RUN.json");
    std::fs::write(&demo, fixture_like_demo()).unwrap();
    let second = second_run(dir.path());
    for format in ["parquet", "ndjson"] {
        let out = dir.path().join(format);
        bin()
            .args(["export", "--format", format])
            .arg(&demo)
            .arg(&second)
            .arg("--out")
            .arg(&out)
            .assert()
            .success();
        let Some(result) = duckdb_queries(&out, format) else {
            return;
        };
        for path in [&demo, &second] {
            let run = format::read_run(path).unwrap();
            let id = auditscope::export::run_id(&run);
            let of_run = |name: &str| -> Vec<BTreeMap<String, Value>> {
                query_rows(&result, name)
                    .into_iter()
                    .filter(|r| r["run"] == id.as_str())
                    .collect()
            };
            // report summary: requests by attribution.
            let summary = report_json(&["report", "summary"], path);
            let mut by_attr: BTreeMap<String, u64> = BTreeMap::new();
            for r in of_run("attribution") {
                by_attr.insert(
                    r["attribution"].as_str().unwrap().to_string(),
                    r["requests"].as_u64().unwrap(),
                );
            }
            let want: BTreeMap<String, u64> = summary["attribution"]
                .as_object()
                .unwrap()
                .iter()
                .filter(|(_, n)| n.as_u64() != Some(0))
                .map(|(k, n)| (k.clone(), n.as_u64().unwrap()))
                .collect();
            assert_eq!(by_attr, want, "{format} {id}");
            assert_eq!(
                by_attr.values().sum::<u64>(),
                summary["requests"].as_u64().unwrap()
            );

            // report coverage: the six totals.
            let cov = report_json(&["report", "coverage"], path);
            let per_run = of_run("coverage_per_run");
            assert_eq!(per_run.len(), 1);
            let row = &per_run[0];
            for (column, key) in [
                ("total_endpoints", "total endpoints"),
                ("tested_endpoints", "tested endpoints"),
                (
                    "total_conformance_eligible",
                    "total conformance eligible endpoints",
                ),
                (
                    "tested_conformance_eligible",
                    "tested conformance eligible endpoints",
                ),
                (
                    "new_conformance_eligible",
                    "new conformance eligible endpoints",
                ),
                (
                    "new_tested_conformance_eligible",
                    "new tested conformance eligible endpoints",
                ),
            ] {
                assert_eq!(row[column], cov[key], "{format} {id} {column}");
            }

            // report endpoints: hits, specs and attribution per operation.
            let endpoints = report_json(&["report", "endpoints"], path);
            let got: Vec<(String, u64, u64, [u64; 4])> = of_run("endpoint_hits")
                .iter()
                .map(|r| {
                    let n = |k: &str| r[k].as_u64().unwrap();
                    (
                        r["operation_id"].as_str().unwrap().to_string(),
                        n("hits"),
                        n("specs"),
                        [n("ua"), n("window"), n("ambiguous"), n("none")],
                    )
                })
                .collect();
            let want: Vec<(String, u64, u64, [u64; 4])> = endpoints["endpoints"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    let b = &e["by_attribution"];
                    let n = |v: &Value| v.as_u64().unwrap();
                    (
                        e["endpoint"].as_str().unwrap().to_string(),
                        n(&e["hits"]),
                        n(&e["specs"]),
                        [
                            n(&b["ua"]),
                            n(&b["window"]),
                            n(&b["ambiguous"]),
                            n(&b["none"]),
                        ],
                    )
                })
                .collect();
            assert!(!want.is_empty());
            assert_eq!(got, want, "{format} {id}");
        }
        // Untested eligible endpoints, merged over the release's runs: every eligible one
        // that no run's conformance specs tested.
        let per_release = query_rows(&result, "coverage_per_release");
        for r in &per_release {
            let release = r["release"].as_str().unwrap();
            let untested = query_rows(&result, "untested_eligible")
                .iter()
                .filter(|u| u["release"].as_str() == Some(release))
                .count() as u64;
            assert_eq!(
                untested,
                r["total_conformance_eligible"].as_u64().unwrap()
                    - r["tested_conformance_eligible"].as_u64().unwrap()
            );
        }
        assert!(!query_rows(&result, "requests_per_spec").is_empty());
        assert!(!query_rows(&result, "frames").is_empty());
    }
}

/// The demo run as a plain RUN.json (the bundled file is gzipped).
fn fixture_like_demo() -> Vec<u8> {
    let mut bytes = Vec::new();
    format::write_run_to(&demo_run(), &mut bytes).unwrap();
    bytes
}
