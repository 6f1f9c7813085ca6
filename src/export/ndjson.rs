//! Tables as newline-delimited JSON (one object per row, keys in column order), gzipped or
//! not: the form BigQuery loads, and DuckDB reads with `read_json`.
//!
//! Values as in the Parquet files: text as strings, times as RFC 3339 strings in UTC with
//! microseconds (`2026-01-02T03:04:05.123456Z`, which BigQuery reads as a TIMESTAMP), `null`
//! for a missing value, and `frames` as a list of `{"function","file","line"}` objects.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::ops::Range;
use std::path::Path;

use super::table::{Cell, Table, Text};
use super::{ExportError, TableWriter};

/// Writes NDJSON files, gzipped when `gzip` is set.
pub struct NdjsonWriter {
    /// Compress each file with gzip (fastest level).
    pub gzip: bool,
}

impl TableWriter for NdjsonWriter {
    fn extension(&self) -> &'static str {
        if self.gzip { "ndjson.gz" } else { "ndjson" }
    }

    fn write_file(
        &self,
        table: &Table<'_>,
        rows: Range<usize>,
        path: &Path,
    ) -> Result<(), ExportError> {
        let io = |source| ExportError::Io {
            path: path.display().to_string(),
            source,
        };
        let file = File::create(path).map_err(io)?;
        let out = BufWriter::with_capacity(1 << 20, file);
        let file = if self.gzip {
            let mut gz = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
            write_rows(table, rows, &mut gz).map_err(io)?;
            gz.finish().map_err(io)?
        } else {
            let mut out = out;
            write_rows(table, rows, &mut out).map_err(io)?;
            out
        };
        file.into_inner()
            .map_err(|e| io(e.into_error()))?
            .sync_all()
            .map_err(io)
    }
}

/// Writes rows `rows` of `table`, one JSON object per line.
pub fn write_rows(table: &Table<'_>, rows: Range<usize>, w: &mut dyn Write) -> std::io::Result<()> {
    // Keys are plain names: written once with their quotes and colon.
    let keys: Vec<String> = table
        .columns
        .iter()
        .enumerate()
        .map(|(k, c)| format!("{}\"{}\":", if k == 0 { "{" } else { "," }, c.name))
        .collect();
    let mut line = Vec::with_capacity(4096);
    for i in rows {
        line.clear();
        for (column, key) in table.columns.iter().zip(&keys) {
            line.extend_from_slice(key.as_bytes());
            write_cell(table, (column.get)(i), &mut line);
        }
        if table.columns.is_empty() {
            line.push(b'{');
        }
        line.extend_from_slice(b"}\n");
        w.write_all(&line)?;
    }
    Ok(())
}

/// Writes one value as JSON.
fn write_cell<'r>(table: &Table<'r>, cell: Cell<'r>, out: &mut Vec<u8>) {
    match cell {
        Cell::Null => out.extend_from_slice(b"null"),
        Cell::Text(t) => write_str(&table.text(t), out),
        Cell::Int(v) => out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes()),
        Cell::Float(v) if v.is_finite() => {
            // serde_json's float form, so a value reads back as the same f64.
            let _ = serde_json::to_writer(&mut *out, &v);
        }
        Cell::Float(_) => out.extend_from_slice(b"null"),
        Cell::Bool(v) => out.extend_from_slice(if v { b"true" } else { b"false" }),
        Cell::Time(t) => {
            out.push(b'"');
            out.extend_from_slice(crate::run::time::rfc3339(t).as_bytes());
            out.push(b'"');
        }
        Cell::Frames(frames) => {
            out.push(b'[');
            for (k, &id) in frames.iter().enumerate() {
                if k > 0 {
                    out.push(b',');
                }
                let (function, file, line) = table.frame(id);
                out.extend_from_slice(b"{\"function\":");
                write_str(&table.text(Text::Str(function)), out);
                out.extend_from_slice(b",\"file\":");
                write_str(&table.text(Text::Str(file)), out);
                out.extend_from_slice(b",\"line\":");
                out.extend_from_slice(itoa::Buffer::new().format(line).as_bytes());
                out.push(b'}');
            }
            out.push(b']');
        }
    }
}

/// A JSON string, escaped as serde_json escapes it.
fn write_str(s: &str, out: &mut Vec<u8>) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Writing into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}
