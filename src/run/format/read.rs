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
    let file = parse_run_file_fast(&bytes, &shown, Skip::NONE, &mut Vec::new())?;
    // The text is not needed any more: free it before the tables are built from the parse.
    drop(bytes);
    build_run(file, &shown)
}

/// [`read_run_from_slice_skipping`], taking the bytes: they are freed as soon as they are
/// parsed, before the requests are built, so the allocator can give their memory to the
/// requests rather than fault in fresh pages.
pub fn read_run_from_vec(bytes: Vec<u8>, path: &str, skip: Skip) -> Result<Run, FormatError> {
    let file = parse_run_file_fast(&bytes, path, skip, &mut Vec::new())?;
    drop(bytes);
    build_run(file, path)
}

/// [`read_run_from_slice_skipping`], building the requests into `spare`, the requests of a
/// run read before (cleared first): reading several runs one after another, the later ones
/// reuse that memory instead of faulting in fresh pages, which on the virtual machines these
/// runs happen on costs more than the parse.
pub fn read_run_reusing(
    bytes: &[u8],
    path: &str,
    skip: Skip,
    mut spare: Vec<Request>,
) -> Result<Run, FormatError> {
    let file = parse_run_file_fast(bytes, path, skip, &mut spare)?;
    build_run_into(file, path, spare)
}

/// Parses RUN.json bytes; `path` is only used in error messages.
pub fn read_run_from_slice(bytes: &[u8], path: &str) -> Result<Run, FormatError> {
    build_run(
        parse_run_file_fast(bytes, path, Skip::NONE, &mut Vec::new())?,
        path,
    )
}

/// [`read_run_from_slice`] without the request columns `skip` names, for a command that does
/// not look at them: their requests keep the field's default (an empty audit ID, 0, none).
/// Reading is then faster, most of all without `audit_id` (a string per request).
pub fn read_run_from_slice_skipping(
    bytes: &[u8],
    path: &str,
    skip: Skip,
) -> Result<Run, FormatError> {
    build_run(
        parse_run_file_fast(bytes, path, skip, &mut Vec::new())?,
        path,
    )
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
fn parse_run_file_fast(
    bytes: &[u8],
    path: &str,
    skip: Skip,
    spare: &mut Vec<Request>,
) -> Result<RunFile, FormatError> {
    match parse_tables(bytes, skip, spare) {
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

/// A list of integers as the writer writes them (`[1,22,333]`, or with `null`s when
/// `nullable`), parsed without serde_json, about four times faster. `None` for anything else
/// (white space, a sign on an unsigned column, a leading zero, a number out of `T`'s range),
/// which [`parse_column`] then decides, so the same files are taken with the same values.
fn parse_integers<T: TryFrom<i128>>(text: &[u8]) -> Option<Vec<T>> {
    let inner = text.strip_prefix(b"[")?.strip_suffix(b"]")?;
    let mut out = Vec::with_capacity(memchr::memchr_iter(b',', inner).count() + 1);
    if inner.is_empty() {
        return Some(out);
    }
    for item in inner.split(|&b| b == b',') {
        out.push(T::try_from(integer(item)?).ok()?);
    }
    Some(out)
}

/// A list of integers or `null`s, as [`parse_integers`] parses them.
fn parse_nullable_integers(text: &[u8]) -> Option<Vec<Option<i64>>> {
    let inner = text.strip_prefix(b"[")?.strip_suffix(b"]")?;
    let mut out = Vec::with_capacity(memchr::memchr_iter(b',', inner).count() + 1);
    if inner.is_empty() {
        return Some(out);
    }
    for item in inner.split(|&b| b == b',') {
        out.push(if item == b"null" {
            None
        } else {
            Some(i64::try_from(integer(item)?).ok()?)
        });
    }
    Some(out)
}

/// True when `text` is a compact list of integers and `null`s (as [`parse_integers`] and
/// [`parse_nullable_integers`] take them): checked without building anything.
fn is_integer_list(text: &[u8]) -> bool {
    let Some(inner) = text.strip_prefix(b"[").and_then(|t| t.strip_suffix(b"]")) else {
        return false;
    };
    inner.is_empty()
        || inner
            .split(|&b| b == b',')
            .all(|item| item == b"null" || integer(item).is_some())
}

/// One JSON integer without white space: `0`, or digits not starting with 0, with an optional
/// `-` (but not `-0`, which serde_json reads as a float). At most 20 digits, and at most
/// `u64::MAX`.
#[inline]
fn integer(item: &[u8]) -> Option<i128> {
    let (negative, digits) = match item.split_first()? {
        (b'-', rest) => (true, rest),
        _ => (false, item),
    };
    if digits.is_empty()
        || digits.len() > 20
        || (digits[0] == b'0' && (digits.len() > 1 || negative))
    {
        return None;
    }
    let mut v: u64 = 0;
    for &b in digits {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    Some(if negative {
        -i128::from(v)
    } else {
        i128::from(v)
    })
}

/// One request column from its text, as `stored` says; `None` when it does not parse. A
/// skipped column is only checked to be JSON.
fn read_column(stored: Stored, text: &[u8], skip: bool) -> Option<Column> {
    if skip {
        // A list of integers (and nulls) as the writer writes it is JSON; anything else is
        // checked by serde_json.
        if !is_integer_list(text) {
            serde_json::from_slice::<serde::de::IgnoredAny>(text).ok()?;
        }
        return Some(Column::Skipped);
    }
    fn ints<'a, T: TryFrom<i128> + Deserialize<'a>>(text: &'a [u8]) -> Option<Vec<T>> {
        parse_integers(text).or_else(|| parse_column(text))
    }
    Some(match stored {
        Stored::Text { .. } => Column::Text(parse_column(text)?),
        Stored::Uint { width, .. } => match width {
            Width::U8 => Column::U8(ints(text)?),
            Width::U16 => Column::U16(ints(text)?),
            Width::U32 => Column::U32(ints(text)?),
            Width::U64 => Column::U64(ints(text)?),
        },
        Stored::OptInt { .. } => {
            Column::OptInt(parse_nullable_integers(text).or_else(|| parse_column(text))?)
        }
    })
}

/// A request column's text cut into pieces of [`BUILD_CHUNK`] items (the last one fewer),
/// without the brackets and the commas between pieces; `None` for a skipped column.
type Cut<'a> = Option<Vec<&'a [u8]>>;

/// Cuts a compact list of integers and `null`s. A string in it would be cut wrongly, but then
/// no item of it parses as a number, and the build declines.
fn cut_numbers(text: &[u8]) -> Option<Vec<&[u8]>> {
    let inner = text.strip_prefix(b"[")?.strip_suffix(b"]")?;
    let mut pieces = Vec::new();
    if inner.is_empty() {
        return Some(pieces);
    }
    let (mut start, mut count) = (0, 0);
    for at in memchr::memchr_iter(b',', inner) {
        count += 1;
        if count == BUILD_CHUNK {
            pieces.push(&inner[start..at]);
            start = at + 1;
            count = 0;
        }
    }
    pieces.push(&inner[start..]);
    Some(pieces)
}

/// Walks a compact list of strings (`"a","b\"c"`, no brackets), calling `item` with each
/// string's text, quotes included, and whether it has an escape. `None` when the text is not
/// such a list, or `item` says so.
fn each_string<'a>(
    inner: &'a [u8],
    mut item: impl FnMut(&'a [u8], bool) -> Option<()>,
) -> Option<()> {
    let mut i = 0;
    while i < inner.len() {
        if i > 0 {
            (inner.get(i) == Some(&b',')).then_some(())?;
            i += 1;
        }
        let start = i;
        (inner.get(i) == Some(&b'"')).then_some(())?;
        i += 1;
        let mut escaped = false;
        loop {
            let at = memchr::memchr2(b'"', b'\\', inner.get(i..)?)?;
            if inner[i + at] == b'"' {
                i += at + 1;
                break;
            }
            escaped = true;
            i += at + 2;
        }
        item(inner.get(start..i)?, escaped)?;
    }
    Some(())
}

/// Cuts a compact list of strings.
fn cut_strings(text: &[u8]) -> Option<Vec<&[u8]>> {
    let inner = text.strip_prefix(b"[")?.strip_suffix(b"]")?;
    let mut pieces = Vec::new();
    let (mut start, mut count) = (0, 0);
    each_string(inner, |s, _| {
        count += 1;
        if count == BUILD_CHUNK {
            // `s` is a sub-slice of `inner`: the piece ends where it does.
            let end = s.as_ptr() as usize - inner.as_ptr() as usize + s.len();
            pieces.push(&inner[start..end]);
            start = end + 1;
            count = 0;
        }
        Some(())
    })?;
    if count > 0 {
        pieces.push(&inner[start..]);
    }
    Some(pieces)
}

/// One string of a list as [`each_string`] gives it, as serde_json would read it.
fn string_item(item: &[u8], escaped: bool) -> Option<Box<str>> {
    let body = item.get(1..item.len().checked_sub(1)?)?;
    if escaped || body.iter().any(|&b| b < 0x20) {
        // Escapes (and the control characters serde_json refuses) are left to serde_json.
        return serde_json::from_slice(item).ok();
    }
    std::str::from_utf8(body).ok().map(Box::from)
}

/// How many items the last piece of a cut column holds.
fn last_piece_items(stored: Stored, piece: &[u8]) -> Option<usize> {
    Some(match stored {
        Stored::Text { .. } => {
            let mut n = 0;
            each_string(piece, |_, _| {
                n += 1;
                Some(())
            })?;
            n
        }
        _ => memchr::memchr_iter(b',', piece).count() + 1,
    })
}

/// Builds the requests straight from the text of RUN.json's `requests` object, chunk by chunk
/// on rayon's threads: each chunk of [`BUILD_CHUNK`] requests is filled from its piece of
/// every column while it is in the cache, and no column is held as a vector of its own (which
/// for a 900k-request run is some 100 MB of fresh memory). Only the writer's compact form is
/// taken; `None` for anything else, and the columns are then parsed whole.
fn build_requests(requests: &Fields<'_>, skip: Skip, spare: Vec<Request>) -> Option<Vec<Request>> {
    use rayon::prelude::*;
    let mut cuts: Vec<Cut<'_>> = Vec::with_capacity(REQUEST_FIELDS.len());
    for (i, field) in REQUEST_FIELDS.iter().enumerate() {
        let text = requests.get(field.key)?;
        cuts.push(if skip.skips(i) {
            None
        } else {
            Some(match field.stored {
                Stored::Text { .. } => cut_strings(text)?,
                _ => cut_numbers(text)?,
            })
        });
    }
    // Skipped columns are checked to be JSON, as when the columns are parsed whole.
    let skipped_ok = REQUEST_FIELDS
        .par_iter()
        .enumerate()
        .filter(|&(i, _)| skip.skips(i))
        .all(|(_, f)| read_column(f.stored, requests.get(f.key).unwrap_or(b""), true).is_some());
    if !skipped_ok {
        return None;
    }
    // The number of requests, from the first column read; every other column must have as
    // many (checked piece by piece below).
    let (first, stored) = cuts
        .iter()
        .zip(REQUEST_FIELDS)
        .find_map(|(c, f)| c.as_ref().map(|c| (c, f.stored)))?;
    let chunks = first.len();
    let n = match first.last() {
        None => 0,
        Some(last) => (chunks - 1) * BUILD_CHUNK + last_piece_items(stored, last)?,
    };
    if cuts.iter().flatten().any(|c| c.len() != chunks) {
        return None;
    }
    // Where each chunk of a delta-encoded column starts: the sum of the deltas before it.
    let mut bases: Vec<Option<Vec<i64>>> = vec![None; REQUEST_FIELDS.len()];
    for (i, field) in REQUEST_FIELDS.iter().enumerate() {
        if let (Stored::OptInt { delta: true, .. }, Some(pieces)) = (field.stored, &cuts[i]) {
            let sums: Vec<i64> = pieces
                .par_iter()
                .map(|p| {
                    p.split(|&b| b == b',').try_fold(0i64, |sum, item| {
                        if item == b"null" {
                            return Some(sum);
                        }
                        Some(sum.wrapping_add(i64::try_from(integer(item)?).ok()?))
                    })
                })
                .collect::<Option<_>>()?;
            let mut base = 0i64;
            bases[i] = Some(
                sums.iter()
                    .map(|s| {
                        let b = base;
                        base = base.wrapping_add(*s);
                        b
                    })
                    .collect(),
            );
        }
    }
    let mut out = spare;
    out.clear();
    (0..n)
        .into_par_iter()
        .with_min_len(BUILD_CHUNK)
        .map(|_| Request::default())
        .collect_into_vec(&mut out);
    let ok = out
        .par_chunks_mut(BUILD_CHUNK)
        .enumerate()
        .all(|(k, chunk)| fill_chunk(&cuts, &bases, k, chunk).is_some());
    ok.then_some(out)
}

/// Fills chunk `k` of the requests from piece `k` of every column; `None` when a piece does
/// not parse or holds another number of items than the chunk.
fn fill_chunk(
    cuts: &[Cut<'_>],
    bases: &[Option<Vec<i64>>],
    k: usize,
    chunk: &mut [Request],
) -> Option<()> {
    for (i, field) in REQUEST_FIELDS.iter().enumerate() {
        let Some(pieces) = &cuts[i] else {
            // A skipped column reads as if every value were 0 or null.
            match field.stored {
                Stored::Uint { set, .. } => chunk.iter_mut().for_each(|r| set(r, 0)),
                Stored::OptInt { set, .. } => chunk.iter_mut().for_each(|r| set(r, None)),
                Stored::Text { .. } => {}
            }
            continue;
        };
        let piece = pieces.get(k)?;
        let mut rows = chunk.iter_mut();
        match field.stored {
            Stored::Uint { width, set, .. } => {
                let max = i128::from(width.max());
                for item in piece.split(|&b| b == b',') {
                    let v = integer(item)?;
                    if !(0..=max).contains(&v) {
                        return None;
                    }
                    set(rows.next()?, v as u64);
                }
            }
            Stored::OptInt { delta, set, .. } => {
                let mut previous = bases[i]
                    .as_ref()
                    .and_then(|b| b.get(k).copied())
                    .unwrap_or(0);
                for item in piece.split(|&b| b == b',') {
                    let v = if item == b"null" {
                        None
                    } else {
                        let v = i64::try_from(integer(item)?).ok()?;
                        Some(if delta {
                            previous = previous.wrapping_add(v);
                            previous
                        } else {
                            v
                        })
                    };
                    set(rows.next()?, v);
                }
            }
            Stored::Text { set, .. } => {
                each_string(piece, |item, escaped| {
                    set(rows.next()?, string_item(item, escaped)?);
                    Some(())
                })?;
            }
        }
        if rows.next().is_some() {
            return None;
        }
    }
    Some(())
}

/// The fast parse of [`parse_run_file_fast`]; `None` when anything is amiss (the header too:
/// the slow parse names the problem).
pub(super) fn parse_tables(bytes: &[u8], skip: Skip, spare: &mut Vec<Request>) -> Option<RunFile> {
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
    let keys: Vec<&str> = REQUEST_FIELDS.iter().map(|f| f.key).collect();
    if !requests.others_are_json(&keys) {
        return None;
    }
    fn part<'a, T: Deserialize<'a>>(text: Option<&'a [u8]>, out: &mut Option<T>) {
        *out = text.and_then(|t| serde_json::from_slice(t).ok());
    }
    let (mut strings, mut users, mut agents, mut frames, mut traces, mut operations, mut specs) =
        (None, None, None, None, None, None, None);
    let (mut inputs, mut notes, mut accounting, mut release) = (None, None, None, None);
    let mut built = None;
    rayon::scope(|s| {
        // The biggest parts first: the string table and the requests.
        s.spawn(|_| part(top.get("strings"), &mut strings));
        s.spawn(|_| built = build_requests(&requests, skip, std::mem::take(spare)));
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
    });
    let requests = match built {
        Some(built) => RequestColumns {
            columns: Vec::new(),
            built: Some(built),
        },
        None => {
            // Not in the writer's compact form (or damaged): each column is parsed whole.
            let mut columns: Vec<Option<Column>> = REQUEST_FIELDS.iter().map(|_| None).collect();
            rayon::scope(|s| {
                for ((i, field), slot) in REQUEST_FIELDS.iter().enumerate().zip(columns.iter_mut())
                {
                    let text = requests.get(field.key);
                    s.spawn(move |_| {
                        *slot = text.and_then(|t| read_column(field.stored, t, skip.skips(i)));
                    });
                }
            });
            RequestColumns {
                columns: columns.into_iter().collect::<Option<Vec<Column>>>()?,
                built: None,
            }
        }
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What serde_json makes of a list, for comparing.
    fn serde<'a, T: Deserialize<'a>>(text: &'a str) -> Option<Vec<T>> {
        serde_json::from_str(text).ok()
    }

    #[test]
    fn the_integer_parse_takes_what_serde_json_takes_or_declines() {
        let lists = [
            "[]",
            "[0]",
            "[1,2,3]",
            "[255,256]",
            "[65535,65536]",
            "[4294967295,4294967296]",
            "[18446744073709551615]",
            "[18446744073709551616]",
            "[9223372036854775807,-9223372036854775808]",
            "[9223372036854775808]",
            "[-9223372036854775809]",
            "[-1]",
            "[-0]",
            "[01]",
            "[00]",
            "[1.0]",
            "[1e3]",
            "[ 1]",
            "[1 ]",
            "[1,,2]",
            "[,1]",
            "[1,]",
            "[null]",
            "[1,null,-5]",
            "[nul]",
            "[\"1\"]",
            "[+1]",
            "[-]",
            "[12345678901234567890]",
            "[1]x",
            "1",
        ];
        for text in lists {
            let b = text.as_bytes();
            macro_rules! agree {
                ($t:ty) => {
                    if let Some(fast) = parse_integers::<$t>(b) {
                        assert_eq!(
                            Some(fast),
                            serde::<$t>(text),
                            "{text} as {}",
                            stringify!($t)
                        );
                    }
                };
            }
            agree!(u8);
            agree!(u16);
            agree!(u32);
            agree!(u64);
            // What the check for a skipped column takes is JSON.
            if is_integer_list(b) {
                assert!(serde::<serde::de::IgnoredAny>(text).is_some(), "{text}");
            }
            if let Some(fast) = parse_nullable_integers(b) {
                assert_eq!(
                    Some(fast),
                    serde::<Option<i64>>(text),
                    "{text} as Option<i64>"
                );
            }
        }
        // What the writer writes is taken by the fast parse itself.
        assert_eq!(parse_integers::<u8>(b"[0,1,255]"), Some(vec![0, 1, 255]));
        assert_eq!(parse_integers::<u8>(b"[256]"), None);
        assert_eq!(
            parse_integers::<u64>(b"[18446744073709551615]"),
            Some(vec![u64::MAX])
        );
        assert_eq!(
            parse_nullable_integers(b"[null,-9223372036854775808,7]"),
            Some(vec![None, Some(i64::MIN), Some(7)])
        );
    }
}
