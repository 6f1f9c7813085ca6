//! `report hits` reproduces the 2018 pipeline's output.txt byte for byte.

mod common;

use common::*;

#[test]
fn hits_reproduce_2018_output_for_the_first_specs() {
    let dir = tempfile::tempdir().unwrap();
    let (audit, entries, expected) = replay_2018(dir.path(), 12);
    let out = stdout_of(
        bin()
            .args(["report", "hits", "--audit"])
            .arg(&audit)
            .arg("--entries")
            .arg(&entries),
    );
    let got = out;
    assert_eq!(got.len(), expected.len());
    assert!(got == expected, "output differs from the 2018 blocks");
    // 13 blocks: 12 specs and the AfterSuite entry, which counts nothing.
    assert_eq!(got.matches("----------------\n").count(), 13);
    assert!(got.ends_with("Running AfterSuite actions on node 1\n"));
}

#[test]
fn hits_from_a_saved_run_equal_hits_from_raw_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let (audit, entries, expected) = replay_2018(dir.path(), 3);
    let run = dir.path().join("RUN.json");
    bin()
        .args(["correlate", "--audit"])
        .arg(&audit)
        .arg("--entries")
        .arg(&entries)
        .arg("-o")
        .arg(&run)
        .assert()
        .success();
    let out = stdout_of(bin().args(["report", "hits"]).arg(&run));
    assert_eq!(out, expected);
}
