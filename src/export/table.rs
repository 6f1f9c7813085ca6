//! The exported tables as columns: a name, a type and a getter per column, defined once
//! here and written by every [`TableWriter`](super::TableWriter) (Parquet, NDJSON) alike.
//!
//! A getter gives a [`Cell`] for a row. Text is handed out by reference to the run's tables
//! ([`Text::Str`], [`Text::Agent`], …) rather than as a `&str`, so a writer can convert each
//! distinct string once (the Parquet writer keeps one byte buffer per string and shares it
//! among the rows) instead of once per row.
//!
//! The `requests` table's columns are not listed here: each comes with its request field in
//! [`REQUEST_FIELDS`](crate::run::format::REQUEST_FIELDS), the one list RUN.json is written
//! and read by too.

use std::borrow::Cow;

pub use crate::run::format::{Cell, Kind, Text};
use crate::run::format::{opt_str, time};
use crate::run::{Attribution, FrameId, OpId, Run, StrId};

/// Gives the cell of a row.
pub type Getter<'r> = Box<dyn Fn(usize) -> Cell<'r> + Send + Sync + 'r>;

/// One column of a table.
pub struct Column<'r> {
    /// The column's name in every format.
    pub name: &'static str,
    /// The column's type.
    pub kind: Kind,
    /// Whether the column can hold `Null`.
    pub nullable: bool,
    /// Gives the cell of row `i`.
    pub get: Getter<'r>,
}

/// A table of one run, column by column.
pub struct Table<'r> {
    /// The table's name: the folder its partitions are written under.
    pub name: &'static str,
    /// The run its text refers to.
    pub run: &'r Run,
    /// How many rows it has.
    pub rows: usize,
    /// Its columns, in the order every format writes them.
    pub columns: Vec<Column<'r>>,
}

impl<'r> Table<'r> {
    /// The text of a [`Text`] cell.
    pub fn text(&self, t: Text<'r>) -> Cow<'r, str> {
        let run = self.run;
        match t {
            Text::Plain(s) => Cow::Borrowed(s),
            Text::Word(s) => Cow::Borrowed(s),
            Text::Str(id) => Cow::Borrowed(run.str(id)),
            Text::Agent(id) => run
                .agents
                .get(id as usize)
                .map_or(Cow::Borrowed(""), |a| run.agent_text(a)),
            Text::Op(id) => {
                Cow::Borrowed(run.operations.get(id.index()).map_or("", |o| o.id.as_str()))
            }
        }
    }

    /// The frame `id` of the run: function, file, line.
    pub fn frame(&self, id: FrameId) -> (StrId, StrId, u32) {
        self.run
            .frames
            .get(id as usize)
            .map_or((0, 0, 0), |f| (f.function, f.file, f.line))
    }
}

/// Builds a column list tersely: `col!(name, Kind, nullable, |i| cell)`.
macro_rules! col {
    ($name:literal, $kind:ident, $nullable:expr, $get:expr) => {
        Column {
            name: $name,
            kind: Kind::$kind,
            nullable: $nullable,
            get: Box::new($get),
        }
    };
}

/// The `requests` table: one row per request, every field of [`Request`](crate::run::Request)
/// resolved to text; its columns are the export columns of
/// [`REQUEST_FIELDS`](crate::run::format::REQUEST_FIELDS).
pub fn requests(run: &Run) -> Table<'_> {
    let rs = &run.requests[..];
    let columns = crate::run::format::export_columns()
        .into_iter()
        .map(|c| {
            let get = c.get;
            Column {
                name: c.name,
                kind: c.kind,
                nullable: c.nullable,
                get: Box::new(move |i| get(run, &rs[i])),
            }
        })
        .collect();
    Table {
        name: "requests",
        run,
        rows: rs.len(),
        columns,
    }
}

/// The `specs` table: one row per spec (suite nodes such as AfterSuite included, marked).
pub fn specs(run: &Run) -> Table<'_> {
    // Requests per spec by attribution: only `ua` and `window` requests belong to a spec.
    let mut counts = vec![[0i64; 2]; run.specs.len()];
    for r in &run.requests {
        let slot = match r.attribution {
            Attribution::Ua => 0,
            Attribution::Window => 1,
            Attribution::Ambiguous | Attribution::None => continue,
        };
        if let Some(c) = r.spec.and_then(|s| counts.get_mut(s.index())) {
            c[slot] += 1;
        }
    }
    let sp = &run.specs[..];
    let columns = vec![
        col!("name", Text, false, move |i| Cell::Text(Text::Str(
            sp[i].name
        ))),
        col!("status", Text, false, move |i| Cell::Text(Text::Word(
            sp[i].status.as_str()
        ))),
        col!("start", Time, true, move |i| time(sp[i].start)),
        col!("end", Time, true, move |i| time(sp[i].end)),
        col!("duration", Float, true, move |i| sp[i]
            .duration
            .map_or(Cell::Null, Cell::Float)),
        col!("conformance", Bool, false, move |i| Cell::Bool(
            sp[i].conformance
        )),
        col!("suite_node", Bool, false, move |i| Cell::Bool(
            sp[i].suite_node
        )),
        col!("location", Text, true, move |i| opt_str(sp[i].location)),
        col!("requests_ua", Int, false, {
            let c = counts.clone();
            move |i| Cell::Int(c[i][0])
        }),
        col!("requests_window", Int, false, move |i| Cell::Int(
            counts[i][1]
        )),
    ];
    Table {
        name: "specs",
        run,
        rows: sp.len(),
        columns,
    }
}

/// The `operations` table: the run's endpoint table with the coverage flags of
/// `report coverage` (requests attributed by user agent count as tests, as there).
pub fn operations(run: &Run) -> Table<'_> {
    use crate::report::coverage;
    let filter = crate::report::filter::RequestFilter::default();
    // The two counts are independent passes over every request: at once, on two threads.
    let (cov, by_window) = rayon::join(
        || coverage::coverage_report(run, &filter, false),
        || coverage::coverage_report(run, &filter, true),
    );
    let index: std::collections::HashMap<&str, usize> = cov
        .endpoints
        .iter()
        .enumerate()
        .map(|(i, e)| (e.endpoint.as_str(), i))
        .collect();
    // Per operation: (tested, conf_tested, tested with window requests counted, hits).
    let mut flags = vec![(false, false, false, 0i64); run.operations.len()];
    for (op, f) in run.operations.iter().zip(flags.iter_mut()) {
        if let Some(&i) = index.get(op.id.as_str()) {
            f.0 = cov.endpoints[i].tested;
            f.1 = cov.endpoints[i].conf_tested;
            f.2 = by_window.endpoints[i].tested;
        }
    }
    for r in &run.requests {
        if let Some(f) = r.endpoint.and_then(|op| flags.get_mut(op.index())) {
            f.3 += 1;
        }
    }
    // APISnoop's classification of each operation, as `report coverage` counts them.
    let rules = coverage::CoverageRules::embedded();
    let classes: Vec<[bool; 5]> = coverage::release_operations(run, &rules)
        .iter()
        .map(|o| {
            [
                o.listed,
                o.deprecated,
                o.eligible,
                o.pending,
                o.new_in_release,
            ]
        })
        .collect();
    let class = move |i: usize, k: usize| Cell::Bool(classes.get(i).is_some_and(|c| c[k]));
    let class = std::sync::Arc::new(class);
    let ops = &run.operations[..];
    let flags_a = flags.clone();
    let columns = vec![
        col!("operation_id", Text, false, move |i| Cell::Text(Text::Op(
            OpId::from_index(i)
        ))),
        col!("method", Text, false, move |i| Cell::Text(Text::Plain(
            &ops[i].method
        ))),
        col!("path", Text, false, move |i| Cell::Text(Text::Plain(
            &ops[i].path
        ))),
        col!("action", Text, true, move |i| nonempty(&ops[i].action)),
        col!("api_group", Text, false, move |i| Cell::Text(Text::Plain(
            &ops[i].group
        ))),
        col!("api_version", Text, false, move |i| Cell::Text(
            Text::Plain(&ops[i].version)
        )),
        col!("kind", Text, true, move |i| nonempty(&ops[i].kind)),
        col!("level", Text, false, move |i| Cell::Text(Text::Plain(
            &ops[i].level
        ))),
        col!("category", Text, false, move |i| Cell::Text(Text::Plain(
            &ops[i].category
        ))),
        col!("listed", Bool, false, {
            let c = class.clone();
            move |i| c(i, 0)
        }),
        col!("deprecated", Bool, false, {
            let c = class.clone();
            move |i| c(i, 1)
        }),
        col!("conformance_eligible", Bool, false, {
            let c = class.clone();
            move |i| c(i, 2)
        }),
        col!("pending", Bool, false, {
            let c = class.clone();
            move |i| c(i, 3)
        }),
        col!("new_in_release", Bool, false, move |i| class(i, 4)),
        col!("tested", Bool, false, move |i| Cell::Bool(flags_a[i].0)),
        col!("conf_tested", Bool, false, {
            let f = flags.clone();
            move |i| Cell::Bool(f[i].1)
        }),
        col!("tested_with_window", Bool, false, {
            let f = flags.clone();
            move |i| Cell::Bool(f[i].2)
        }),
        col!("hits", Int, false, move |i| Cell::Int(flags[i].3)),
    ];
    Table {
        name: "operations",
        run,
        rows: ops.len(),
        columns,
    }
}

/// Text as a cell, `Null` when empty.
fn nonempty(s: &str) -> Cell<'_> {
    if s.is_empty() {
        Cell::Null
    } else {
        Cell::Text(Text::Plain(s))
    }
}

/// The three tables of a run, in the order they are written.
pub fn tables(run: &Run) -> Vec<Table<'_>> {
    vec![requests(run), specs(run), operations(run)]
}
