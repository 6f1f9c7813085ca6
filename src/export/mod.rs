//! `auditscope export`: correlated runs as tables that DuckDB, Spark, Trino, ClickHouse and
//! BigQuery read as they are (`docs/export.md`).
//!
//! Three tables — `requests`, `specs`, `operations` ([`table`]) — each written under
//! `DIR/<table>/release=<X.Y>/run=<ID>/` (Hive partitioning), as Parquet
//! ([`parquet_writer`]) or NDJSON ([`ndjson`]): two writers behind one interface,
//! [`TableWriter`], over the same column definitions.
//!
//! A run's partitions are replaced whole: every file of every run of the call is written
//! into a staging folder inside `DIR` first; only when all are written are the old
//! partitions moved aside and the new ones renamed into place. An error before that leaves
//! `DIR` as it was.

pub mod ndjson;
pub mod parquet_writer;
pub mod table;

use std::ops::Range;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::run::{NO_TIME, Run};
use table::Table;

/// Rows per file. Big tables are cut into files of this many rows, written at once on
/// rayon's threads; the cut does not depend on the number of threads, so the same run gives
/// the same files on every machine.
pub const FILE_ROWS: usize = 256 * 1024;

/// Why an export failed.
#[derive(Debug, Error)]
pub enum ExportError {
    /// A file or folder could not be written, read or renamed.
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// The Parquet writer refused (a schema or encoding error).
    #[error("{path}: writing Parquet: {source}")]
    Parquet {
        path: String,
        source: parquet::errors::ParquetError,
    },
    /// The request cannot be carried out (a bad partition value, the same run twice).
    #[error("{0}")]
    Usage(String),
}

/// The file format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// Parquet, zstd-compressed, dictionary-encoded text.
    Parquet,
    /// Newline-delimited JSON (`--gzip` compresses it).
    Ndjson,
}

/// How to export.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// Parquet or NDJSON.
    pub format: ExportFormat,
    /// The folder holding the tables (created if missing).
    pub out: PathBuf,
    /// Gzip NDJSON files.
    pub gzip: bool,
}

/// A writer of one file format: the Parquet and NDJSON writers are siblings behind it.
pub trait TableWriter: Sync {
    /// The files' extension, without the dot.
    fn extension(&self) -> &'static str;
    /// Writes rows `rows` of `table` into a new file at `path`.
    fn write_file(
        &self,
        table: &Table<'_>,
        rows: Range<usize>,
        path: &Path,
    ) -> Result<(), ExportError>;
}

/// What was written for one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    /// The `release=` partition value.
    pub release: String,
    /// The `run=` partition value.
    pub id: String,
    /// Per table: its name, the partition folder, and the rows written.
    pub tables: Vec<(String, PathBuf, u64)>,
}

/// The run's ID: when it began and a digest of which requests it holds,
/// `YYYYMMDDTHHMMSSZ-<12 hex digits>` (e.g. `20180605T033403Z-5f0c2a9e41b7`).
///
/// The time is the first request's `received` time in UTC (`00000000T000000Z` when no
/// request has one). The digest is the sum of the 64-bit FNV-1a hashes of every request's
/// `auditID`, so it does not depend on the order requests are stored in, on the version of
/// auditscope that correlated the run, or on the e2e inputs: correlating the same audit log
/// again gives the same ID, and re-exporting it replaces its partition.
pub fn run_id(run: &Run) -> String {
    let first = run
        .requests
        .iter()
        .map(|r| r.received)
        .filter(|&t| t != NO_TIME)
        .min();
    let time = first.and_then(crate::run::time::to_datetime).map_or_else(
        || "00000000T000000Z".to_string(),
        |t| t.format("%Y%m%dT%H%M%SZ").to_string(),
    );
    let digest = run.requests.iter().fold(0u64, |sum, r| {
        sum.wrapping_add(fnv1a(r.audit_id.as_bytes()))
    });
    format!("{time}-{:012x}", digest & 0xffff_ffff_ffff)
}

/// 64-bit FNV-1a: small, fixed and documented, so IDs stay the same across builds.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The run's release as a partition value, `X.Y`; `unknown` for runs written before the
/// run model recorded one.
pub fn release_of(run: &Run) -> String {
    run.release
        .as_ref()
        .map_or_else(|| "unknown".to_string(), |r| r.release.to_string())
}

/// True when `value` can be a partition value: a folder name every engine reads back as it
/// is (letters, digits, `.`, `_`, `-`, not starting with `.` or `_`, which engines skip).
pub fn valid_partition_value(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 128
        && !value.starts_with(['.', '_'])
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// An export under way: runs are staged one at a time ([`Export::add`], so only one run
/// need be in memory), then [`Export::commit`] puts all their partitions in place. Dropped
/// without a commit, it removes what it staged and leaves `DIR` as it was.
pub struct Export {
    opts: ExportOptions,
    staging: PathBuf,
    staged: Vec<Exported>,
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ExportError + use<> {
    let path = path.display().to_string();
    move |source| ExportError::Io { path, source }
}

impl Export {
    /// Creates `opts.out` if needed, and a staging folder inside it.
    pub fn begin(opts: &ExportOptions) -> Result<Export, ExportError> {
        std::fs::create_dir_all(&opts.out).map_err(io_error(&opts.out))?;
        // Inside DIR, so the renames stay on one file system; beside the table folders, so
        // no `DIR/requests/**` glob ever sees a staged file.
        let staging = opts
            .out
            .join(format!(".auditscope-export-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir(&staging).map_err(io_error(&staging))?;
        Ok(Export {
            opts: opts.clone(),
            staging,
            staged: Vec::new(),
        })
    }

    /// Writes every table of `run` into the staging folder, as partition
    /// `release=<release>/run=<id>`.
    pub fn add(&mut self, run: &Run, release: &str, id: &str) -> Result<&Exported, ExportError> {
        for (what, value) in [("release", release), ("run ID", id)] {
            if !valid_partition_value(value) {
                return Err(ExportError::Usage(format!(
                    "{what} {value:?} cannot name a partition: use letters, digits, '.', '_' and '-'"
                )));
            }
        }
        if self
            .staged
            .iter()
            .any(|o| o.release == release && o.id == id)
        {
            return Err(ExportError::Usage(format!(
                "two runs have the same partition release={release}/run={id}: is the same run named twice?"
            )));
        }
        let parquet = parquet_writer::ParquetWriter;
        let ndjson = ndjson::NdjsonWriter {
            gzip: self.opts.gzip,
        };
        let writer: &dyn TableWriter = match self.opts.format {
            ExportFormat::Parquet => &parquet,
            ExportFormat::Ndjson => &ndjson,
        };
        let (staging, out) = (&self.staging, &self.opts.out);
        let write = |table: &Table<'_>| -> Result<(String, PathBuf, u64), ExportError> {
            let part = partition(table.name, release, id);
            let dir = staging.join("new").join(&part);
            std::fs::create_dir_all(&dir).map_err(io_error(&dir))?;
            write_table(writer, table, &dir)?;
            Ok((table.name.to_string(), out.join(&part), table.rows as u64))
        };
        // The requests are written while the other two tables are made (the operations
        // table counts coverage over every request, a pass of its own); then those are
        // written. The order of `tables` is that of `table::tables`.
        let requests = table::requests(run);
        let (first, rest) = rayon::join(
            || write(&requests),
            || [table::specs(run), table::operations(run)],
        );
        let mut tables = vec![first?];
        for table in &rest {
            tables.push(write(table)?);
        }
        self.staged.push(Exported {
            release: release.to_string(),
            id: id.to_string(),
            tables,
        });
        Ok(self.staged.last().expect("just pushed"))
    }

    /// Moves the old partitions of the staged runs aside and renames the new ones into
    /// place; on a failure, puts the old ones back.
    pub fn commit(self) -> Result<Vec<Exported>, ExportError> {
        let out = &self.opts.out;
        let (new, old) = (self.staging.join("new"), self.staging.join("old"));
        let mut moved: Vec<(PathBuf, PathBuf)> = Vec::new();
        let mut placed: Vec<PathBuf> = Vec::new();
        let mut swap = || -> Result<(), ExportError> {
            for e in &self.staged {
                for (name, dest, _) in &e.tables {
                    let part = partition(name, &e.release, &e.id);
                    let parent = dest.parent().unwrap_or(out);
                    std::fs::create_dir_all(parent).map_err(io_error(parent))?;
                    if dest.exists() {
                        let aside = old.join(&part);
                        let aside_parent = aside.parent().unwrap_or(&old);
                        std::fs::create_dir_all(aside_parent).map_err(io_error(aside_parent))?;
                        std::fs::rename(dest, &aside).map_err(io_error(dest))?;
                        moved.push((aside, dest.clone()));
                    }
                    std::fs::rename(new.join(&part), dest).map_err(io_error(dest))?;
                    placed.push(dest.clone());
                }
            }
            Ok(())
        };
        if let Err(e) = swap() {
            for dest in placed {
                let _ = std::fs::remove_dir_all(dest);
            }
            for (aside, dest) in moved {
                let _ = std::fs::rename(aside, dest);
            }
            return Err(e);
        }
        Ok(self.staged.clone())
    }
}

impl Drop for Export {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.staging);
    }
}

/// `<table>/release=<release>/run=<id>`, relative to `DIR`.
fn partition(table: &str, release: &str, id: &str) -> PathBuf {
    Path::new(table)
        .join(format!("release={release}"))
        .join(format!("run={id}"))
}

/// Writes `table` into `dir` as `part-00000.<ext>`, `part-00001.<ext>`, … of [`FILE_ROWS`]
/// rows each (one file for an empty table, so its schema is there), on rayon's threads.
fn write_table(writer: &dyn TableWriter, table: &Table<'_>, dir: &Path) -> Result<(), ExportError> {
    use rayon::prelude::*;
    let files = table.rows.div_ceil(FILE_ROWS).max(1);
    (0..files).into_par_iter().try_for_each(|k| {
        let rows = k * FILE_ROWS..table.rows.min((k + 1) * FILE_ROWS);
        let path = dir.join(format!("part-{k:05}.{}", writer.extension()));
        writer.write_file(table, rows, &path)
    })
}
