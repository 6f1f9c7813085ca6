//! Writes the endpoint table of an OpenAPI v2 spec in auditscope's text form.
//!
//! ```text
//! cargo run --example gen_endpoints -- assets/openapi/k8s-v1.35-swagger.json.gz > assets/endpoints/k8s-v1.35.tsv
//! ```
//!
//! The input may be gzip (detected by its magic bytes) or plain JSON.

use std::io::Write;
use std::process::ExitCode;

use auditscope::endpoints::EndpointTable;
use auditscope::ingest::source::read_to_vec;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [path] = args.as_slice() else {
        eprintln!("usage: gen_endpoints <swagger.json[.gz]>");
        return ExitCode::from(2);
    };
    let bytes = match read_to_vec(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let table = match EndpointTable::from_openapi(&bytes) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::from(2);
        }
    };
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(table.to_tsv().as_bytes()) {
        eprintln!("writing the table: {e}");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
