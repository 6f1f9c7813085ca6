//! Tables as Parquet files, through the `parquet` crate's column writers (no Arrow: see
//! `docs/export.md` for why).
//!
//! Text columns are dictionary-encoded (the crate's default; `audit_id`, unique per row, is
//! not), pages are compressed with zstd, and a file holds row groups of [`ROW_GROUP_ROWS`]
//! rows. Each distinct string of the run is turned into a Parquet byte array once and shared
//! by every row that holds it.

use std::fs::File;
use std::io::BufWriter;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use parquet::basic::{Compression, LogicalType, Repetition, TimeUnit, Type as Physical, ZstdLevel};
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DataType, DoubleType, Int64Type};
use parquet::errors::ParquetError;
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::file::writer::{
    SerializedColumnWriter, SerializedFileWriter, SerializedRowGroupWriter,
};
use parquet::schema::types::{ColumnPath, Type, TypePtr};

use super::table::{Cell, Column, Kind, Table, Text};
use super::{ExportError, TableWriter};

/// Rows per row group: large enough for scans to read long runs of pages, small enough that
/// an engine reading one file still has several groups to share among its threads (DuckDB's
/// own row groups hold 122,880 rows).
pub const ROW_GROUP_ROWS: usize = 128 * 1024;

/// zstd level: 1 writes several times faster than the default 3, and the pages of
/// dictionary indexes it compresses differ little in size between the two.
const ZSTD_LEVEL: i32 = 1;

/// Writes Parquet files.
pub struct ParquetWriter;

impl TableWriter for ParquetWriter {
    fn extension(&self) -> &'static str {
        "parquet"
    }

    fn write_file(
        &self,
        table: &Table<'_>,
        rows: Range<usize>,
        path: &Path,
    ) -> Result<(), ExportError> {
        let shown = || path.display().to_string();
        let pq = |source: ParquetError| ExportError::Parquet {
            path: shown(),
            source,
        };
        let file = File::create(path).map_err(|source| ExportError::Io {
            path: shown(),
            source,
        })?;
        let schema = schema(table).map_err(pq)?;
        let mut writer = SerializedFileWriter::new(
            BufWriter::with_capacity(1 << 20, file),
            schema,
            properties(table),
        )
        .map_err(pq)?;
        let mut texts = TextCache::new(table);
        let mut start = rows.start;
        while start < rows.end {
            let end = rows.end.min(start + ROW_GROUP_ROWS);
            let mut group = writer.next_row_group().map_err(pq)?;
            for column in &table.columns {
                write_column(column, start..end, &mut texts, &mut group).map_err(pq)?;
            }
            group.close().map_err(pq)?;
            start = end;
        }
        let inner = writer.into_inner().map_err(pq)?;
        inner
            .into_inner()
            .map_err(|e| ExportError::Io {
                path: shown(),
                source: e.into_error(),
            })?
            .sync_all()
            .map_err(|source| ExportError::Io {
                path: shown(),
                source,
            })
    }
}

/// The writer's settings for `table`.
fn properties(table: &Table<'_>) -> Arc<WriterProperties> {
    let mut b = WriterProperties::builder()
        .set_writer_version(WriterVersion::PARQUET_1_0)
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(ZSTD_LEVEL).unwrap_or_default(),
        ))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_created_by(format!("auditscope {}", env!("CARGO_PKG_VERSION")));
    // Minimum and maximum of long unique text prune nothing, and cost a comparison per value.
    for name in [
        "audit_id",
        "user_agent",
        "request_uri",
        "reason",
        "frames.list.element.function",
        "frames.list.element.file",
    ] {
        let path = ColumnPath::new(name.split('.').map(String::from).collect());
        b = b.set_column_statistics_enabled(path, EnabledStatistics::None);
    }
    for c in &table.columns {
        match c.name {
            // Unique per row: a dictionary would only be given up after its first megabyte.
            "audit_id" => {
                b = b.set_column_dictionary_enabled(ColumnPath::from(c.name), false);
            }
            // A few thousand distinct agents of a kilobyte or two each, repeated over many
            // rows: worth a dictionary larger than the default megabyte.
            "user_agent" | "request_uri" => {
                b = b.set_column_dictionary_page_size_limit(ColumnPath::from(c.name), 64 << 20);
            }
            _ => {}
        }
    }
    Arc::new(b.build())
}

/// The Parquet schema of `table` (see `docs/export.md`).
pub fn schema(table: &Table<'_>) -> Result<TypePtr, ParquetError> {
    let mut fields = Vec::with_capacity(table.columns.len());
    for c in &table.columns {
        let repetition = if c.nullable {
            Repetition::OPTIONAL
        } else {
            Repetition::REQUIRED
        };
        let leaf = |physical, logical: Option<LogicalType>| {
            Type::primitive_type_builder(c.name, physical)
                .with_repetition(repetition)
                .with_logical_type(logical)
                .build()
        };
        let field = match c.kind {
            Kind::Text => leaf(Physical::BYTE_ARRAY, Some(LogicalType::String))?,
            Kind::Int => leaf(Physical::INT64, None)?,
            Kind::Float => leaf(Physical::DOUBLE, None)?,
            Kind::Bool => leaf(Physical::BOOLEAN, None)?,
            Kind::Time => leaf(
                Physical::INT64,
                Some(LogicalType::timestamp(true, TimeUnit::MICROS)),
            )?,
            Kind::Frames => frames_type(c.name)?,
        };
        fields.push(Arc::new(field));
    }
    Ok(Arc::new(
        Type::group_type_builder(table.name)
            .with_fields(fields)
            .build()?,
    ))
}

/// `frames`: the standard three-level list of `{function, file, line}`.
fn frames_type(name: &str) -> Result<Type, ParquetError> {
    let text = |n| {
        Type::primitive_type_builder(n, Physical::BYTE_ARRAY)
            .with_repetition(Repetition::REQUIRED)
            .with_logical_type(Some(LogicalType::String))
            .build()
            .map(Arc::new)
    };
    let line = Type::primitive_type_builder("line", Physical::INT64)
        .with_repetition(Repetition::REQUIRED)
        .build()?;
    let element = Type::group_type_builder("element")
        .with_repetition(Repetition::REQUIRED)
        .with_fields(vec![text("function")?, text("file")?, Arc::new(line)])
        .build()?;
    let list = Type::group_type_builder("list")
        .with_repetition(Repetition::REPEATED)
        .with_fields(vec![Arc::new(element)])
        .build()?;
    Type::group_type_builder(name)
        .with_repetition(Repetition::REQUIRED)
        .with_logical_type(Some(LogicalType::List))
        .with_fields(vec![Arc::new(list)])
        .build()
}

/// Each distinct string of the run as a Parquet byte array, made on first use.
struct TextCache<'t, 'r> {
    table: &'t Table<'r>,
    strings: Vec<Option<ByteArray>>,
    agents: Vec<Option<ByteArray>>,
    ops: Vec<Option<ByteArray>>,
    words: Vec<(&'static str, ByteArray)>,
}

impl<'t, 'r> TextCache<'t, 'r> {
    fn new(table: &'t Table<'r>) -> Self {
        TextCache {
            table,
            strings: Vec::new(),
            agents: Vec::new(),
            ops: Vec::new(),
            words: Vec::new(),
        }
    }

    fn bytes(text: &str) -> ByteArray {
        ByteArray::from(Bytes::copy_from_slice(text.as_bytes()))
    }

    /// The byte array of `id` in `cache`, made from `text` the first time.
    fn cached(
        cache: &mut Vec<Option<ByteArray>>,
        id: u32,
        text: impl FnOnce() -> ByteArray,
    ) -> ByteArray {
        let i = id as usize;
        if cache.len() <= i {
            cache.resize(i + 1, None);
        }
        cache[i].get_or_insert_with(text).clone()
    }

    fn get(&mut self, t: Text<'r>) -> ByteArray {
        let table = self.table;
        match t {
            Text::Plain(s) => Self::bytes(s),
            Text::Word(w) => {
                if let Some((_, b)) = self.words.iter().find(|(x, _)| *x == w) {
                    return b.clone();
                }
                let b = Self::bytes(w);
                self.words.push((w, b.clone()));
                b
            }
            Text::Str(id) => Self::cached(&mut self.strings, id, || Self::bytes(table.run.str(id))),
            Text::Agent(id) => Self::cached(&mut self.agents, id, || Self::bytes(&table.text(t))),
            Text::Op(id) => Self::cached(&mut self.ops, id.0, || Self::bytes(&table.text(t))),
        }
    }
}

/// Writes rows `rows` of one table column into the row group's next leaf columns.
fn write_column<'r, W: std::io::Write + Send>(
    column: &Column<'r>,
    rows: Range<usize>,
    texts: &mut TextCache<'_, 'r>,
    group: &mut SerializedRowGroupWriter<'_, W>,
) -> Result<(), ParquetError> {
    let n = rows.len();
    let mut defs: Vec<i16> = Vec::with_capacity(n);
    match column.kind {
        Kind::Text => {
            let mut values = Vec::with_capacity(n);
            for i in rows {
                match (column.get)(i) {
                    Cell::Text(t) => {
                        values.push(texts.get(t));
                        defs.push(1);
                    }
                    _ => defs.push(0),
                }
            }
            leaf::<ByteArrayType>(
                next_leaf(group)?,
                &values,
                column.nullable.then_some(&defs[..]),
                None,
            )
        }
        Kind::Int | Kind::Time => {
            let mut values = Vec::with_capacity(n);
            for i in rows {
                match (column.get)(i) {
                    Cell::Int(v) | Cell::Time(v) => {
                        values.push(v);
                        defs.push(1);
                    }
                    _ => defs.push(0),
                }
            }
            leaf::<Int64Type>(
                next_leaf(group)?,
                &values,
                column.nullable.then_some(&defs[..]),
                None,
            )
        }
        Kind::Float => {
            let mut values = Vec::with_capacity(n);
            for i in rows {
                match (column.get)(i) {
                    Cell::Float(v) => {
                        values.push(v);
                        defs.push(1);
                    }
                    _ => defs.push(0),
                }
            }
            leaf::<DoubleType>(
                next_leaf(group)?,
                &values,
                column.nullable.then_some(&defs[..]),
                None,
            )
        }
        Kind::Bool => {
            let mut values = Vec::with_capacity(n);
            for i in rows {
                match (column.get)(i) {
                    Cell::Bool(v) => {
                        values.push(v);
                        defs.push(1);
                    }
                    _ => defs.push(0),
                }
            }
            leaf::<BoolType>(
                next_leaf(group)?,
                &values,
                column.nullable.then_some(&defs[..]),
                None,
            )
        }
        Kind::Frames => {
            // One level each for "an element is present" (def) and "another element of the
            // same row" (rep); an empty list is def 0, rep 0 and no value.
            let mut reps: Vec<i16> = Vec::with_capacity(n);
            let mut functions = Vec::with_capacity(n);
            let mut files = Vec::with_capacity(n);
            let mut lines = Vec::with_capacity(n);
            for i in rows {
                let frames = match (column.get)(i) {
                    Cell::Frames(f) => f,
                    _ => &[],
                };
                if frames.is_empty() {
                    defs.push(0);
                    reps.push(0);
                    continue;
                }
                for (k, &id) in frames.iter().enumerate() {
                    let (function, file, line) = texts.table.frame(id);
                    functions.push(texts.get(Text::Str(function)));
                    files.push(texts.get(Text::Str(file)));
                    lines.push(i64::from(line));
                    defs.push(1);
                    reps.push(i16::from(k > 0));
                }
            }
            leaf::<ByteArrayType>(next_leaf(group)?, &functions, Some(&defs), Some(&reps))?;
            leaf::<ByteArrayType>(next_leaf(group)?, &files, Some(&defs), Some(&reps))?;
            leaf::<Int64Type>(next_leaf(group)?, &lines, Some(&defs), Some(&reps))
        }
    }
}

/// The row group's next leaf column.
fn next_leaf<'a, W: std::io::Write + Send>(
    group: &'a mut SerializedRowGroupWriter<'_, W>,
) -> Result<SerializedColumnWriter<'a>, ParquetError> {
    group
        .next_column()?
        .ok_or_else(|| ParquetError::General("schema has fewer columns than the table".into()))
}

/// Writes one leaf column chunk.
fn leaf<T: DataType>(
    mut writer: SerializedColumnWriter<'_>,
    values: &[T::T],
    defs: Option<&[i16]>,
    reps: Option<&[i16]>,
) -> Result<(), ParquetError> {
    writer.typed::<T>().write_batch(values, defs, reps)?;
    writer.close()
}
