//! Reads a RUN.json and serializes it again into memory a few times, printing each time: for
//! measuring the RUN.json writer alone (no disk, no correlation).
//!
//! ```sh
//! cargo run --release --example write_run -- RUN.json [times]
//! ```

use std::time::Instant;

// The allocator `auditscope` itself uses (src/main.rs), so the writer is measured as it runs there.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    auditscope::allocator::keep_freed_memory();
    auditscope::allocator::small_pages();
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: write_run RUN.json [times]");
        std::process::exit(2);
    };
    let times: usize = args.next().and_then(|t| t.parse().ok()).unwrap_or(5);
    let run = match auditscope::run::format::read_run(std::path::Path::new(&path)) {
        Ok(run) => run,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let mut out = Vec::new();
    for _ in 0..times {
        out.clear();
        let start = Instant::now();
        if let Err(e) = auditscope::run::format::write_run_to(&run, &mut out) {
            eprintln!("{path}: {e}");
            std::process::exit(2);
        }
        println!(
            "{} bytes in {:.1} ms",
            out.len(),
            start.elapsed().as_secs_f64() * 1e3
        );
    }
}
