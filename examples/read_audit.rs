//! Reads audit logs and prints what was read, timing nothing itself: for measuring the reader
//! alone (no correlation) from outside, e.g. `/usr/bin/time -v`, on plain and wrapped logs.
//!
//! ```sh
//! cargo run --release --example read_audit -- audit.log [more.log …]
//! ```

use auditscope::ingest::audit::{ReadOptions, read_audit};

// The allocator `auditscope` itself uses (src/main.rs), so the reader is measured as it runs there.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    auditscope::allocator::keep_freed_memory();
    auditscope::allocator::small_pages();
    for path in std::env::args().skip(1) {
        let mut bytes_of_ids = 0usize;
        match read_audit(&path, &ReadOptions::default(), &mut |ev, _| {
            // Touch what the correlation would: the ID, the verb, the URI.
            bytes_of_ids += ev.audit_id.len() + ev.verb.len() + ev.request_uri.len();
        }) {
            Ok(stats) => println!(
                "{path}: {} lines, {} events, {} skipped, {bytes_of_ids} id/verb/uri bytes",
                stats.accounting.lines,
                stats.accounting.events,
                stats.accounting.skipped_total()
            ),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(2);
            }
        }
    }
}
