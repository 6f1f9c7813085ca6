//! Fixture access and the 2018 replay, shared by the tests and `examples/replay_2018.rs`.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The path of a fixture file.
pub fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// A fixture's bytes, gunzipped when its name ends in `.gz`.
pub fn fixture_bytes(name: &str) -> Vec<u8> {
    let raw = std::fs::read(fixture(name)).expect("fixture exists");
    if name.ends_with(".gz") {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .expect("fixture gunzips");
        out
    } else {
        raw
    }
}

/// One block of the 2018 `output.txt`: its text and its `(count, verb, path)` lines.
pub struct Block2018 {
    pub text: String,
    pub hits: Vec<(u64, String, String)>,
}

/// Splits the 2018 output into its blocks.
pub fn blocks_2018() -> Vec<Block2018> {
    let text = String::from_utf8(fixture_bytes("apisnoop-20180605-output.txt.gz")).unwrap();
    let mut blocks = Vec::new();
    let chunks: Vec<&str> = text.split("----------------\n").skip(1).collect();
    let last = chunks.len().saturating_sub(1);
    for (i, chunk) in chunks.iter().enumerate() {
        // Blocks are joined by `\n`; the last block's final `\n` is its empty last line.
        let body = if i == last {
            chunk
        } else {
            chunk.strip_suffix('\n').unwrap_or(chunk)
        };
        let mut hits = Vec::new();
        for line in body.lines().skip(4) {
            let rest = line.trim_start();
            let (count, key) = rest.split_once(": ").expect("hit line");
            let (verb, path) = key.split_once(' ').expect("verb path");
            hits.push((count.parse().unwrap(), verb.to_string(), path.to_string()));
        }
        blocks.push(Block2018 {
            text: format!("----------------\n{body}"),
            hits,
        });
    }
    blocks
}

/// Rebuilds an audit log that the 2018 pipeline would have turned into the first `n` blocks
/// of its output (one ResponseComplete event per counted request, inside the spec's window),
/// with an entries.log of those `n` specs plus the final AfterSuite entry. Returns the
/// audit path, the entries path, and the expected `report hits` text.
pub fn replay_2018(dir: &Path, n: usize) -> (PathBuf, PathBuf, String) {
    let entries_text =
        String::from_utf8(fixture_bytes("apisnoop-20180605-entries.log.gz")).unwrap();
    let entries: Vec<&str> = entries_text.lines().collect();
    let blocks = blocks_2018();
    assert_eq!(entries.len(), blocks.len());
    let last = entries.len() - 1;
    let chosen: Vec<usize> = (0..n).chain(std::iter::once(last)).collect();

    let entries_path = dir.join("entries.log");
    let mut ef = std::fs::File::create(&entries_path).unwrap();
    for &i in &chosen {
        writeln!(ef, "{}", entries[i]).unwrap();
    }

    let starts: Vec<chrono::NaiveDateTime> = entries
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            chrono::NaiveDateTime::parse_from_str(
                v["timestamp"].as_str().unwrap(),
                "%Y-%m-%dT%H:%M:%S%.f",
            )
            .unwrap()
        })
        .collect();
    let audit_path = dir.join("audit.log");
    let mut af = std::io::BufWriter::new(std::fs::File::create(&audit_path).unwrap());
    let mut id = 0u64;
    for &i in chosen.iter().filter(|&&i| i != last) {
        let start = starts[i].and_utc().timestamp_micros();
        let mut k: i64 = 0;
        for (count, verb, path) in &blocks[i].hits {
            for _ in 0..*count {
                id += 1;
                k += 1;
                // Spread over the spec's first millisecond: inside its window, whatever its length.
                let t = chrono::DateTime::from_timestamp_micros(start + k % 1000).unwrap();
                let ts = t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
                writeln!(
                    af,
                    r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1beta1","level":"Metadata","timestamp":"{ts}","auditID":"id-{id}","stage":"ResponseComplete","requestURI":{},"verb":"{verb}","user":{{"username":"e2e"}},"sourceIPs":["10.0.0.1"],"responseStatus":{{"code":200}},"requestReceivedTimestamp":"{ts}","stageTimestamp":"{ts}"}}"#,
                    serde_json::to_string(path).unwrap()
                )
                .unwrap();
            }
        }
    }
    af.flush().unwrap();
    let expected = chosen
        .iter()
        .map(|&i| blocks[i].text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    (audit_path, entries_path, expected)
}
