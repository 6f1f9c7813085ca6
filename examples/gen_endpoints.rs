//! Writes the embedded endpoint catalog: every release's operations, one row per operation
//! and field variant, with the releases that have it.
//!
//! ```text
//! cargo run --example gen_endpoints > assets/endpoints/k8s-releases.tsv
//! ```
//!
//! The inputs are listed in `auditscope::endpoints::catalog::SOURCES` (Kubernetes OpenAPI
//! specs under `assets/openapi/`, APISnoop coverage files under `tests/fixtures/`); run it
//! from the repository root.

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let catalog = match auditscope::endpoints::catalog::build_from_sources(".") {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gen_endpoints: {e}");
            return ExitCode::from(2);
        }
    };
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(catalog.to_tsv().as_bytes()) {
        eprintln!("writing the catalog: {e}");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
