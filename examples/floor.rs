//! The floor `correlate` is measured against (issue 15, `bench/run.sh`): the least work that
//! still reads every audit event of a JSON-lines log — a serde struct of the six fields a
//! correlation cannot do without (`auditID`, `stage`, `requestURI`, `verb`, `userAgent`,
//! `requestReceivedTimestamp`), borrowing from the input, parsed in parallel on rayon, line by
//! line. Nothing is kept: it prints how many lines parsed, how many did not, and a checksum of
//! the field lengths (so the parse cannot be optimized away).
//!
//! The file is read in blocks of 4 MB cut at line boundaries, one block read while the previous
//! one is parsed, so its memory stays small and reading overlaps parsing, as `correlate` does.
//!
//! ```sh
//! cargo run --release --example floor -- audit.log
//! ```

use std::borrow::Cow;
use std::io::Read;
use std::sync::mpsc::sync_channel;

use rayon::prelude::*;
use serde::Deserialize;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The six fields; `Cow` borrows unless a string holds escapes (`\u0026` in URIs).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Floor<'a> {
    #[serde(rename = "auditID", borrow)]
    audit_id: Cow<'a, str>,
    #[serde(borrow)]
    stage: Cow<'a, str>,
    #[serde(rename = "requestURI", borrow)]
    request_uri: Cow<'a, str>,
    #[serde(borrow)]
    verb: Cow<'a, str>,
    #[serde(borrow, default)]
    user_agent: Cow<'a, str>,
    #[serde(borrow)]
    request_received_timestamp: Cow<'a, str>,
}

const BLOCK: usize = 4 << 20;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: floor AUDIT.log");
        std::process::exit(2);
    };
    let mut file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(2);
        }
    };
    let (tx, rx) = sync_channel::<Vec<u8>>(1);
    let reader = std::thread::spawn(move || -> std::io::Result<()> {
        let mut carry = Vec::new();
        loop {
            let mut buf = std::mem::take(&mut carry);
            let start = buf.len();
            buf.resize(start + BLOCK, 0);
            let mut len = start;
            while len < buf.len() {
                match file.read(&mut buf[len..])? {
                    0 => break,
                    n => len += n,
                }
            }
            buf.truncate(len);
            let eof = len < start + BLOCK;
            if !eof && let Some(cut) = memchr::memrchr(b'\n', &buf) {
                carry.extend_from_slice(&buf[cut + 1..]);
                buf.truncate(cut + 1);
            }
            if tx.send(buf).is_err() || eof {
                return Ok(());
            }
        }
    });
    let (mut ok, mut bad, mut sum) = (0u64, 0u64, 0u64);
    for block in rx {
        let (o, b, s) = block
            .par_split(|&c| c == b'\n')
            .filter(|l| !l.is_empty())
            .map(|line| match serde_json::from_slice::<Floor<'_>>(line) {
                Ok(f) => (
                    1u64,
                    0u64,
                    (f.audit_id.len()
                        + f.stage.len()
                        + f.request_uri.len()
                        + f.verb.len()
                        + f.user_agent.len()
                        + f.request_received_timestamp.len()) as u64,
                ),
                Err(_) => (0, 1, 0),
            })
            .reduce(|| (0, 0, 0), |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2));
        ok += o;
        bad += b;
        sum += s;
    }
    if let Ok(Err(e)) = reader.join() {
        eprintln!("{path}: {e}");
        std::process::exit(2);
    }
    println!("{path}: {ok} events, {bad} not parsed, checksum {sum}");
}
