//! Reading RUN.json: the top level split by a scan, the tables parsed at once on rayon's
//! threads, and the one-pass parse as the fallback that names every problem.

use std::path::Path;

use serde::Deserialize;

use super::scan::Fields;
use super::*;

/// Reads a RUN.json written by [`write_run`], checking its version and every index in it.
pub fn read_run(path: &Path) -> Result<Run, FormatError> {
    let shown = path.display().to_string();
    // One allocation of the file's size (no doubling while reading).
    let bytes = std::fs::read(path).map_err(|source| FormatError::Io {
        path: shown.clone(),
        source,
    })?;
    let file = parse_run_file_fast(&bytes, &shown)?;
    // The text is not needed any more: free it before the tables are built from the parse.
    drop(bytes);
    build_run(file, &shown)
}

/// Parses RUN.json bytes; `path` is only used in error messages.
pub fn read_run_from_slice(bytes: &[u8], path: &str) -> Result<Run, FormatError> {
    build_run(parse_run_file_fast(bytes, path)?, path)
}

/// [`read_run_from_slice`] through the one-pass parse alone, which the fast parse falls back
/// to: for differential fuzzing (`fuzz/targets.rs`), which checks both give the same.
#[doc(hidden)]
pub fn read_run_one_pass(bytes: &[u8], path: &str) -> Result<Run, FormatError> {
    build_run(parse_run_file(bytes, path)?, path)
}

/// [`parse_run_file`], with the big tables parsed at once on rayon's threads.
///
/// The top level is parsed first with every big table kept as text (which also checks the
/// whole file is JSON), then the tables are parsed each on its own. Anything that fails on
/// the way is handed to [`parse_run_file`], so the error reported, and the order the checks
/// are made in, are exactly those of one serde_json parse of the whole file.
fn parse_run_file_fast(bytes: &[u8], path: &str) -> Result<RunFile, FormatError> {
    match parse_tables(bytes) {
        Some(file) => Ok(file),
        None => parse_run_file(bytes, path),
    }
}

/// A JSON list parsed into a vector allocated once: its length is at most the number of
/// commas plus one (exactly, for a list of numbers), counted ahead. Growing the vector by
/// doubling instead, two dozen columns at once on two threads, costs time in copies and page
/// faults and raises the peak memory. `None` when the text is not such a list.
fn parse_column<'a, T: Deserialize<'a>>(text: &'a [u8]) -> Option<Vec<T>> {
    use serde::de::{Deserializer as _, SeqAccess, Visitor};
    struct ListVisitor<T>(usize, std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for ListVisitor<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a list")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut out = Vec::with_capacity(self.0);
            while let Some(item) = seq.next_element()? {
                out.push(item);
            }
            Ok(out)
        }
    }
    let capacity = memchr::memchr_iter(b',', text).count() + 1;
    let mut de = serde_json::Deserializer::from_slice(text);
    let list = (&mut de)
        .deserialize_seq(ListVisitor(capacity, std::marker::PhantomData))
        .ok()?;
    de.end().ok()?;
    Some(list)
}

/// The fast parse of [`parse_run_file_fast`]; `None` when anything is amiss (the header too:
/// the slow parse names the problem).
pub(super) fn parse_tables(bytes: &[u8]) -> Option<RunFile> {
    // Every value is parsed (or, for keys not read, checked) by serde_json from its own text
    // below; the scan checks the grammar around them. So the fast parse takes exactly the
    // files the one-pass parse takes.
    let top = Fields::of_object(bytes)?;
    let format: Option<String> = top.parse("format")?.unwrap_or(None);
    let version: Option<u32> = top.parse("version")?.unwrap_or(None);
    if format.as_deref() != Some(FORMAT_NAME) || version.unwrap_or(0) > FORMAT_VERSION {
        return None;
    }
    let requests = Fields::of_object(top.get("requests")?)?;
    const TOP: [&str; 14] = [
        "format",
        "version",
        "inputs",
        "notes",
        "release",
        "accounting",
        "strings",
        "users",
        "agents",
        "frames",
        "traces",
        "operations",
        "specs",
        "requests",
    ];
    if !top.others_are_json(&TOP) {
        return None;
    }
    fn part<'a, T: Deserialize<'a>>(text: Option<&'a [u8]>, out: &mut Option<T>) {
        *out = text.and_then(|t| serde_json::from_slice(t).ok());
    }
    fn column<'a, T: Deserialize<'a>>(text: Option<&'a [u8]>, out: &mut Option<Vec<T>>) {
        *out = text.and_then(parse_column);
    }
    let (mut strings, mut users, mut agents, mut frames, mut traces, mut operations, mut specs) =
        (None, None, None, None, None, None, None);
    let (mut inputs, mut notes, mut accounting, mut release) = (None, None, None, None);
    macro_rules! columns {
        ($($name:ident),*) => {{
            if !requests.others_are_json(&[$(stringify!($name)),*]) {
                return None;
            }
            $(let mut $name = None;)*
            rayon::scope(|s| {
                s.spawn(|_| part(top.get("strings"), &mut strings));
                s.spawn(|_| part(top.get("users"), &mut users));
                s.spawn(|_| part(top.get("agents"), &mut agents));
                s.spawn(|_| part(top.get("frames"), &mut frames));
                s.spawn(|_| part(top.get("traces"), &mut traces));
                s.spawn(|_| part(top.get("operations"), &mut operations));
                s.spawn(|_| part(top.get("specs"), &mut specs));
                s.spawn(|_| {
                    inputs = top.parse("inputs");
                    notes = top.parse("notes");
                    accounting = top.parse("accounting");
                    release = top.parse("release");
                });
                $(s.spawn(|_| column(requests.get(stringify!($name)), &mut $name));)*
            });
            RequestColumns { $($name: $name?,)* }
        }};
    }
    let requests = columns!(
        audit_id,
        verb,
        uri,
        user,
        impersonated,
        source_ips,
        agent,
        resource,
        subresource,
        namespace,
        name,
        api_group,
        api_version,
        code,
        level,
        stage,
        stage_events,
        received,
        latency,
        decision,
        reason,
        spec,
        attribution,
        endpoint,
        input,
        line
    );
    Some(RunFile {
        // Absent lists and counts are empty, as `#[serde(default)]` makes them.
        inputs: inputs?.unwrap_or_default(),
        notes: notes?.unwrap_or_default(),
        release: release?.unwrap_or_default(),
        accounting: accounting?.unwrap_or_default(),
        strings: strings?,
        users: users?,
        agents: agents?,
        frames: frames?,
        traces: traces?,
        operations: operations?,
        specs: specs?,
        requests,
    })
}

/// Checks the header of RUN.json bytes and parses them.
pub(super) fn parse_run_file(bytes: &[u8], path: &str) -> Result<RunFile, FormatError> {
    // Look at the header first, so a newer schema is reported as such rather than as
    // whatever field it fails to parse.
    #[derive(Deserialize)]
    struct Header {
        format: Option<String>,
        version: Option<u32>,
    }
    let json_err = |source| FormatError::Json {
        path: path.to_string(),
        source,
    };
    let header: Header = serde_json::from_slice(bytes).map_err(json_err)?;
    let format = header.format.unwrap_or_default();
    if format != FORMAT_NAME {
        return Err(FormatError::NotARun {
            path: path.to_string(),
            found: format,
        });
    }
    let version = header.version.unwrap_or(0);
    if version > FORMAT_VERSION {
        return Err(FormatError::TooNew {
            path: path.to_string(),
            found: version,
        });
    }
    serde_json::from_slice(bytes).map_err(json_err)
}
