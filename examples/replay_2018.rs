//! Rebuilds, from the 2018 run's `entries.log` and `output.txt`, an audit log with one event per
//! request that pipeline counted, so `report hits` can be checked against all 703 blocks:
//!
//! ```sh
//! cargo run --release --example replay_2018 -- /tmp/replay 702
//! target/release/auditscope report hits --audit /tmp/replay/audit.log --entries /tmp/replay/entries.log > /tmp/replay/hits.txt
//! cmp /tmp/replay/hits.txt /tmp/replay/expected.txt && echo identical
//! ```
//! The second argument is how many specs to keep (702 = all; the AfterSuite entry is always kept).

#[path = "../tests/common/fixtures.rs"]
mod common;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().unwrap_or_else(|| "/tmp/replay".into()));
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(702);
    std::fs::create_dir_all(&dir).expect("create the output folder");
    let (audit, entries, expected) = common::replay_2018(&dir, n);
    std::fs::write(dir.join("expected.txt"), expected).expect("write expected.txt");
    println!(
        "wrote {}, {}, {}",
        audit.display(),
        entries.display(),
        dir.join("expected.txt").display()
    );
}
