//! Reading a file through a memory map (`ReadOptions::mapped`, the `correlate` command's way)
//! gives exactly what reading it with `read` gives: the same events with the same line
//! numbers, the same accounting, the same errors and the same bytes counted for progress, on
//! every fixture and on inputs made to cross the block boundaries (lines longer than a block,
//! blank lines, a last line without its newline, CRLF, invalid lines, a byte order mark, CRI
//! parts), at several block sizes. A file that shrinks while mapped ends the process with one
//! line naming it and status 2.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use auditscope::ingest::audit::{ReadOptions, read_audit_with_block_size};

/// Everything a read gives, as text to compare: the events with their numbers, then the
/// result and the bytes counted.
fn outcome(path: &str, block: usize, strict: bool, mapped: bool) -> (Vec<String>, String, u64) {
    let counted = Arc::new(AtomicU64::new(0));
    let opts = ReadOptions {
        strict,
        mapped,
        bytes_read: Some(Arc::clone(&counted)),
        ..ReadOptions::default()
    };
    let mut events = Vec::new();
    let result = read_audit_with_block_size(path, &opts, block, &mut |ev, line| {
        events.push(format!("{line} {ev:?}"));
    });
    // The bytes counted for progress are compared on a whole read: a read stopped early has
    // read ahead by as much as its buffers hold, which differs.
    let summary = match result {
        Ok(stats) => format!(
            "ok bytes={} lines={} {:?} {:?}",
            stats.info.bytes, stats.info.lines, stats.info, stats.accounting,
        ),
        Err(e) => format!("error {e}"),
    };
    (events, summary, counted.load(Ordering::Relaxed))
}

/// The same outcome, said briefly when not.
fn check(a: &(Vec<String>, String), b: &(Vec<String>, String), what: &str) {
    assert_eq!(a.1, b.1, "{what}");
    assert_eq!(a.0.len(), b.0.len(), "{what}: event count");
    if let Some(i) = (0..a.0.len()).find(|&i| a.0[i] != b.0[i]) {
        panic!("{what}: event {i} differs:\n{}\n{}", a.0[i], b.0[i]);
    }
}

/// Mapped and read alike at every block size of `blocks`, strict or not; gives the outcome.
fn alike_file(path: &str, name: &str, blocks: &[usize]) -> (Vec<String>, String) {
    let size = std::fs::metadata(path).unwrap().len();
    let mut first = None;
    for &block in blocks {
        for strict in [false, true] {
            let (events, summary, counted) = outcome(path, block, strict, false);
            let read = (events, summary);
            let (events, summary, mapped_counted) = outcome(path, block, strict, true);
            let what = format!("{name}, block {block}, strict {strict}");
            check(&(events, summary), &read, &what);
            // Every byte counted, once, when the file was read whole as lines. (A document is
            // scanned, then read again, and the read path's reader thread may still count
            // bytes read ahead while the scan counts its own, as it may after an error: no
            // fixed number to compare. A gzip file is read either way.)
            if counted == size && read.1.starts_with("ok") && !name.ends_with(".gz") {
                assert_eq!(mapped_counted, size, "{what}: bytes counted");
            }
            if !strict {
                first.get_or_insert(read);
            }
        }
    }
    first.unwrap()
}

/// [`alike_file`] of `data` written to a file.
fn alike(name: &str, data: &[u8], blocks: &[usize]) -> (Vec<String>, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("audit.log");
    std::fs::write(&file, data).unwrap();
    alike_file(file.to_str().unwrap(), name, blocks)
}

fn decompressed(path: &Path) -> Vec<u8> {
    let data = std::fs::read(path).unwrap();
    if path.extension().is_some_and(|e| e == "gz") {
        use std::io::Read;
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&data[..])
            .read_to_end(&mut out)
            .unwrap();
        return out;
    }
    data
}

/// A plain audit event on one line.
fn event(id: usize, pad: usize) -> String {
    format!(
        concat!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","#,
            r#""auditID":"id-{}","stage":"ResponseComplete","requestURI":"/api/v1/pods?x={}","#,
            r#""verb":"list","user":{{"username":"u","groups":["g"]}},"userAgent":"e2e.test","#,
            r#""responseStatus":{{"code":200}},"#,
            r#""requestReceivedTimestamp":"2024-01-01T00:00:{:02}.000000Z","#,
            r#""stageTimestamp":"2024-01-01T00:00:{:02}.100000Z"}}"#
        ),
        id,
        "p".repeat(pad),
        id % 60,
        id % 60
    )
}

#[test]
fn every_fixture_reads_alike() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut read = 0;
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    names.sort();
    for path in names {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // The file as it is (gzip is read, not mapped: the same either way) and decompressed
        // (mapped).
        alike_file(path.to_str().unwrap(), &name, &[1 << 20]);
        let data = decompressed(&path);
        let blocks: &[usize] = match data.len() {
            0..=65_536 => &[1, 7, 64, 4096, 1 << 20],
            65_537..=1_048_576 => &[4096, 1 << 20],
            _ => &[1 << 20],
        };
        let (events, _) = alike(&format!("{name}, decompressed"), &data, blocks);
        read += events.len();
    }
    assert!(read > 500, "{read}");
}

#[test]
fn lines_across_blocks_read_alike() {
    let mut data = Vec::new();
    for i in 0..200 {
        let line = match i % 10 {
            // Longer than the block sizes below, and than four of them (sent in parts).
            0 => event(i, 9000),
            1 => String::new(),
            2 => "   \t".to_string(),
            3 => "{not json".to_string(),
            4 => r#"{"kind":"Other"}"#.to_string(),
            5 => format!("{}\r", event(i, 3)),
            6 => format!("{}\r", event(i, 20_000)),
            _ => event(i, i),
        };
        data.extend_from_slice(line.as_bytes());
        data.push(b'\n');
    }
    let blocks = [1, 7, 512, 4096, 5000, 1 << 20];
    let (events, summary) = alike("mixed", &data, &blocks);
    assert!(events.len() > 100, "{summary}");
    // The last line without its newline, after a blank one, and a line that is longer than
    // the rest of the file's blocks.
    let mut tail = data.clone();
    tail.extend_from_slice(b"\n");
    tail.extend_from_slice(event(999, 50_000).as_bytes());
    let (more, _) = alike("no final newline", &tail, &blocks);
    assert_eq!(more.len(), events.len() + 1);
    // A byte order mark.
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(&data);
    let (with_bom, _) = alike("bom", &bom, &blocks);
    assert_eq!(with_bom.len(), events.len());
    // One line, no newline; one line longer than any block, with its newline.
    alike("one line", event(1, 10).as_bytes(), &blocks);
    alike(
        "one long line",
        format!("{}\n", event(1, 100_000)).as_bytes(),
        &blocks,
    );
    // Nothing but blank and bad lines: the same error.
    let (none, summary) = alike("no events", b"\n\n{bad\n\r\n", &blocks);
    assert!(none.is_empty() && summary.starts_with("error"), "{summary}");
}

#[test]
fn cri_parts_across_blocks_read_alike() {
    let body = event(7, 30_000);
    let (a, b) = body.split_at(body.len() / 2);
    let mut data = String::new();
    for i in 0..20 {
        data.push_str(&format!("2024-01-01T00:00:00.1Z stdout P {a}\n"));
        if i % 3 != 0 {
            data.push_str(&format!("2024-01-01T00:00:00.1Z stdout F {b}\n"));
        }
        data.push_str(&format!(
            "2024-01-01T00:00:00.1Z stdout F {}\n",
            event(i, 5)
        ));
    }
    let (events, summary) = alike("cri", data.as_bytes(), &[7, 4096, 20_000, 1 << 20]);
    assert!(events.len() >= 20, "{summary}");
}

/// Set (to the file to read) when this test binary is run again by
/// [`a_file_that_shrinks_while_mapped_is_an_error`].
const SHRINK_CHILD: &str = "AUDITSCOPE_TEST_SHRINKING_FILE";

/// Reads a mapped file and cuts it to nothing at its first event: the next byte read from the
/// map raises SIGBUS, and the process must end with the error for that file, status 2.
/// Run as a child process (the handler ends the whole process). Linux only: elsewhere files
/// are read, not mapped.
#[cfg(target_os = "linux")]
#[test]
fn a_file_that_shrinks_while_mapped_is_an_error() {
    if let Ok(path) = std::env::var(SHRINK_CHILD) {
        let opts = ReadOptions {
            mapped: true,
            ..ReadOptions::default()
        };
        let mut cut = false;
        let result = read_audit_with_block_size(&path, &opts, 4096, &mut |_, _| {
            if !cut {
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .unwrap()
                    .set_len(0)
                    .unwrap();
                cut = true;
            }
        });
        // Not reached: the map is read after the cut.
        println!("read to the end: {:?}", result.map(|s| s.accounting.events));
        std::process::exit(0);
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("shrinks.log");
    let data: String = (0..2000).map(|i| event(i, 100) + "\n").collect();
    std::fs::write(&file, data).unwrap();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_file_that_shrinks_while_mapped_is_an_error",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(SHRINK_CHILD, &file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "stdout: {}\nstderr: {stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    let expected = format!(
        "auditscope: {}: the file shrank while it was being read\n",
        file.display()
    );
    assert!(stderr.ends_with(&expected), "{stderr}");
}
