//! Reading a whole-document audit input (an Event Hubs batch, a CloudWatch `filter-log-events`
//! response, an `EventList`, an OpenSearch search response, a JSON array, several values one
//! after the other) as a stream, without holding the document in memory.
//!
//! # Two passes over the input
//! Today's rule (kept exactly) is that an input taken for a document is read as one only when it
//! *all* is JSON: a document cut short or with garbage anywhere is read line by line from its
//! start instead. Whether that is so is known only at the end of the input, and an event handed
//! to the sink cannot be taken back, so nothing is delivered before the end has been seen. Of
//! the two ways to have the input again after that (keep it, or read it again) this module reads
//! it again: memory stays a few blocks whatever the size of the document, and it costs less
//! (reading a 181 MB document once into fresh memory cost 0.17-0.24 s of system time in page
//! faults and zeroing; reading it twice into one reused 128 KB buffer, 0.035 s).
//!
//! 1. [`Scanner`] reads the input once: a JSON validator that accepts exactly what
//!    serde_json's `StreamDeserializer<&RawValue>` accepts (strings scanned 64 bytes at a time,
//!    [`string_windows`]), which also cuts each top-level value's item lists (a top-level
//!    array, `records`, `events`, `items`, `hits.hits`: any list whose enclosing containers are
//!    at most two objects) into items, recording only their offsets ([`Piece`]). Whether the
//!    items of a list are what the whole-document reading would read is decided on the value's
//!    *skeleton*: the value with each list's contents replaced by a marker event, read by the
//!    very code that reads a whole document ([`decode::expand_read`]). When that gives exactly
//!    the markers, in document order, the value's items are its lists' items; otherwise the
//!    value is one piece, read whole. A regular file is scanned in reads of [`SCAN_READ`]
//!    bytes ([`scan_file`]), a gzip file as the reader thread hands its blocks over.
//! 2. A regular file's pieces are read again by positioned reads ([`spawn_piece_reads`]): in
//!    groups of about 128 KB, each read and parsed by one rayon task, so that the bytes are
//!    parsed while still in that core's cache. A gzip file is decompressed again
//!    ([`spawn_piece_reader`], blocks cut at piece ends, their pieces parsed in parallel by
//!    [`spawn_piece_parser`]). Either way the caller hands the items to the sink in order,
//!    numbered 1, 2, … in document order, a batch at a time while the next is parsed.
//!
//! A gzip file is decompressed twice (cheaper than holding the document: 0.9 s instead of
//! 1.3 s of CPU for a 164 MB Event Hubs batch). Stdin cannot be read twice: a document from
//! stdin is read whole as before (see `audit::read_audit`).

use std::fs::File;
use std::io::{self, BufRead, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, OnceLock};

use rayon::prelude::*;
use serde_json::value::RawValue;

use crate::ingest::audit::read_full;
use crate::ingest::decode::{self, Arena, Item, find_special, special_flags};

/// One part of a document to read by itself: an item of a list, or a whole top-level value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    /// Offset of its first byte in the input (after a byte order mark).
    pub start: u64,
    /// Offset after its last byte.
    pub end: u64,
    /// How deep the whole-document reading reads it: the number of containers around it in
    /// its top-level value (0 for a whole value).
    pub depth: u8,
}

/// What reading the input once found.
#[derive(Debug)]
pub enum Scanned {
    /// One JSON document (or several values): its pieces, in order, and its length.
    Document { pieces: Vec<Piece>, len: u64 },
    /// Not one JSON document after all: read it line by line.
    Lines,
}

/// A top-level value whose lists may be read item by item.
#[derive(Default)]
struct Value {
    /// Offset of its first byte.
    start: u64,
    /// Its text with each streamed list's contents replaced by [`MARKER`] (while it stays under
    /// [`SKELETON_LIMIT`]).
    skeleton: Vec<u8>,
    /// False once the skeleton outgrew [`SKELETON_LIMIT`]: the value is read whole.
    skeleton_kept: bool,
    /// Whether the bytes being scanned are copied to the skeleton, and from which index of
    /// the current block.
    copying: bool,
    copy_from: usize,
    /// Its streamed lists, in document order.
    lists: Vec<List>,
}

/// A streamed list of the value being scanned.
struct List {
    /// Where its marker's `auditID` value sits in the skeleton.
    marker_id_at: usize,
    /// How deep its items are read.
    depth: u8,
    /// Its items, as pieces (at `depth`).
    items: Vec<Piece>,
}

/// The marker event put in place of a list's contents in a skeleton; its `auditID` (`m`) is
/// recognised by where it lies in the skeleton, so no input can imitate it.
const MARKER: &[u8] = br#"{"kind":"Event","auditID":"m","stage":"ResponseComplete","requestReceivedTimestamp":"2000-01-01T00:00:00Z"}"#;
/// Where the `m` of [`MARKER`] is.
const MARKER_ID_AT: usize = 27;

/// A skeleton longer than this is given up (its value is read whole): it is the value's text
/// outside its lists, usually a few hundred bytes.
const SKELETON_LIMIT: usize = 4 << 20;

/// A list is streamed when at most this many objects enclose it (`{"hits":{"hits":[…]}}`).
const STREAM_DEPTH: usize = 3;

/// What the scanner is in the middle of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lex {
    /// Between tokens.
    Between,
    /// Inside a string (a key when `key`).
    Str { key: bool },
    /// After a backslash in a string.
    Escape { key: bool },
    /// Inside a `\u` escape, `left` hex digits to go.
    Hex { key: bool, left: u8 },
    /// Inside a number.
    Num(Num),
    /// Inside `true`, `false` or `null`: the bytes still to come.
    Lit(&'static [u8]),
}

/// Where a number is, as serde_json reads one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Num {
    Minus,
    Zero,
    Int,
    Dot,
    Frac,
    Exp,
    ExpSign,
    ExpDigits,
}

impl Num {
    /// The state after `c`, `None` when `c` is not part of the number.
    fn next(self, c: u8) -> Option<Num> {
        Some(match (self, c) {
            (Num::Minus, b'0') => Num::Zero,
            (Num::Minus, b'1'..=b'9') => Num::Int,
            (Num::Int, b'0'..=b'9') => Num::Int,
            (Num::Zero | Num::Int, b'.') => Num::Dot,
            (Num::Zero | Num::Int | Num::Frac, b'e' | b'E') => Num::Exp,
            (Num::Dot | Num::Frac, b'0'..=b'9') => Num::Frac,
            (Num::Exp, b'+' | b'-') => Num::ExpSign,
            (Num::Exp | Num::ExpSign | Num::ExpDigits, b'0'..=b'9') => Num::ExpDigits,
            _ => return None,
        })
    }

    /// True when the number may end here.
    fn complete(self) -> bool {
        matches!(self, Num::Zero | Num::Int | Num::Frac | Num::ExpDigits)
    }
}

/// What comes next between tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A value (after `,` in a list, `:` in an object).
    Value,
    /// A value or `]` (after `[`).
    ValueOrClose,
    /// `,` or the container's end.
    CommaOrClose,
    /// A key (after `,` in an object).
    Key,
    /// A key or `}` (after `{`).
    KeyOrClose,
    /// `:`.
    Colon,
    /// At the top level: another value or the end of the input.
    Top,
    /// At the top level right after a number or literal: whitespace or a value that opens
    /// with a bracket or quote (serde_json's "trailing characters" otherwise).
    TopAfterScalar,
}

/// An open container.
#[derive(Debug, Clone, Copy)]
struct Frame {
    object: bool,
    /// This list's items are cut out ([`Value::lists`]).
    streamed: bool,
}

/// Where the first line stands, for an input whose first line is too long to look at whole
/// (see [`Scanner::watching_first_line`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FirstLine {
    /// Not watched.
    Off,
    /// Before the first value.
    Before,
    /// Inside the first value (`newline`: a line ended inside it).
    Inside { newline: bool },
    /// After the first value, on its line.
    After,
    /// The first line is one JSON value by itself.
    Json,
    /// It is not.
    NotJson,
}

/// Pass one: validates the input as a sequence of JSON values and cuts it into [`Piece`]s.
pub struct Scanner {
    /// Offset of the current block's first byte.
    base: u64,
    lex: Lex,
    expect: Expect,
    stack: Vec<Frame>,
    /// The top-level value being scanned.
    value: Value,
    /// Where the list item being scanned began.
    item_start: Option<u64>,
    pieces: Vec<Piece>,
    first_line: FirstLine,
    /// Set at the first error: the input is not a JSON document.
    failed: bool,
    /// Whether the processor has AVX2 (strings are then classified 32 bytes at a time).
    avx2: bool,
}

impl Default for Scanner {
    fn default() -> Scanner {
        Scanner::new()
    }
}

impl Scanner {
    /// A scanner at the start of the input.
    pub fn new() -> Scanner {
        Scanner {
            base: 0,
            lex: Lex::Between,
            expect: Expect::Top,
            stack: Vec::new(),
            value: Value::default(),
            item_start: None,
            pieces: Vec::new(),
            first_line: FirstLine::Off,
            failed: false,
            avx2: has_avx2(),
        }
    }

    /// Also tells whether the input's first line is one JSON value by itself with more
    /// non-blank text after it: then the input is JSON lines, as `audit::is_document` says of
    /// a first line it can see whole (a first line too long to hold is looked at here, as the
    /// input streams by).
    pub fn watching_first_line(mut self) -> Scanner {
        self.first_line = FirstLine::Before;
        self
    }

    /// Scans the next block. `false` once the input is known not to be one document (invalid
    /// JSON, or JSON lines after a long first line): the rest need not be read.
    pub fn feed(&mut self, block: &[u8]) -> bool {
        if !self.failed && self.scan(block).is_none() {
            self.failed = true;
        }
        self.base += block.len() as u64;
        !self.failed
    }

    /// The end of the input: what it was.
    pub fn finish(mut self) -> Scanned {
        if !self.failed
            && let Lex::Num(n) = self.lex
            && n.complete()
        {
            // A number at the very end.
            self.lex = Lex::Between;
            if self.value_end(&[], 0, true).is_none() {
                self.failed = true;
            }
        }
        if self.failed || self.lex != Lex::Between || !self.stack.is_empty() {
            return Scanned::Lines;
        }
        Scanned::Document {
            pieces: self.pieces,
            len: self.base,
        }
    }

    /// Scans `b`; `None` at an error.
    fn scan(&mut self, b: &[u8]) -> Option<()> {
        let mut i = 0;
        if self.value.copying {
            self.value.copy_from = 0;
        }
        while i < b.len() {
            match self.lex {
                Lex::Str { key } => {
                    // To the string's end, over its escapes, without leaving this loop for
                    // the common escapes (an event carried as a string has one every few
                    // bytes).
                    let short = short_string_end(b, i);
                    let end = if short.is_some() {
                        short
                    } else {
                        loop {
                            // Sixty-four bytes at a time while nothing unusual is in them.
                            match string_windows(b, i, self.avx2) {
                                Ok(end) => break Some(end),
                                Err(at) => i = at,
                            }
                            // Eight bytes at a time, in this loop (not a call per escape).
                            if let Some(word) =
                                b.get(i..i + 8).and_then(|w| <[u8; 8]>::try_from(w).ok())
                            {
                                let flags = special_flags(u64::from_le_bytes(word));
                                if flags == 0 {
                                    i += 8;
                                    continue;
                                }
                                // The lowest flag is always a true one.
                                i += (flags.trailing_zeros() / 8) as usize;
                            } else {
                                let Some(p) = find_special(b.get(i..)?) else {
                                    i = b.len();
                                    break None;
                                };
                                i += p;
                            }
                            match *b.get(i)? {
                                b'"' => break Some(i + 1),
                                b'\\' => match b.get(i + 1) {
                                    // (a table, not a jump per escape character: they vary)
                                    Some(&c) if SIMPLE_ESCAPE[usize::from(c)] => i += 2,
                                    Some(b'u')
                                        if b.get(i + 2..i + 6).is_some_and(|h| {
                                            h.iter().all(u8::is_ascii_hexdigit)
                                        }) =>
                                    {
                                        i += 6;
                                    }
                                    // Cut by the block's end, or an error: byte by byte.
                                    _ => break None,
                                },
                                // A control character.
                                _ => return None,
                            }
                        }
                    };
                    match end {
                        Some(after) => {
                            i = after;
                            self.lex = Lex::Between;
                            if key {
                                self.expect = Expect::Colon;
                            } else {
                                self.value_end(b, i, false)?;
                            }
                        }
                        None if i >= b.len() => {}
                        None => {
                            // At a backslash whose escape the loop above did not take.
                            i += 1;
                            self.lex = Lex::Escape { key };
                        }
                    }
                }
                Lex::Escape { key } => {
                    self.lex = match *b.get(i)? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Lex::Str { key },
                        b'u' => Lex::Hex { key, left: 4 },
                        _ => return None,
                    };
                    i += 1;
                }
                Lex::Hex { key, left } => {
                    if !b.get(i)?.is_ascii_hexdigit() {
                        return None;
                    }
                    i += 1;
                    self.lex = if left == 1 {
                        Lex::Str { key }
                    } else {
                        Lex::Hex {
                            key,
                            left: left - 1,
                        }
                    };
                }
                Lex::Num(n) => {
                    if matches!(n, Num::Int | Num::Frac | Num::ExpDigits) {
                        // The digits of a long number (a CloudWatch item's timestamps in
                        // milliseconds) in this loop, not one state step each.
                        while b.get(i).is_some_and(u8::is_ascii_digit) {
                            i += 1;
                        }
                        if i >= b.len() {
                            continue;
                        }
                    }
                    match n.next(*b.get(i)?) {
                        Some(next) => {
                            self.lex = Lex::Num(next);
                            i += 1;
                        }
                        None if n.complete() => {
                            // The byte after the number is read as what follows it.
                            self.lex = Lex::Between;
                            self.value_end(b, i, true)?;
                        }
                        None => return None,
                    }
                }
                Lex::Lit(rest) => {
                    let (&want, more) = rest.split_first()?;
                    if *b.get(i)? != want {
                        return None;
                    }
                    i += 1;
                    self.lex = Lex::Lit(more);
                    if more.is_empty() {
                        self.lex = Lex::Between;
                        self.value_end(b, i, true)?;
                    }
                }
                Lex::Between => {
                    let c = *b.get(i)?;
                    if decode::is_json_ws(c) {
                        self.whitespace(c)?;
                        i += 1;
                        // The rest of an indent in this loop: its spaces eight at a time (an
                        // indented document is mostly indents), a newline told to the watch
                        // of the first line.
                        loop {
                            match b.get(i) {
                                Some(b' ') => i = decode::space_run_end(b, i),
                                Some(b'\t' | b'\r') => i += 1,
                                Some(b'\n') => {
                                    self.whitespace(b'\n')?;
                                    i += 1;
                                }
                                _ => break,
                            }
                        }
                        continue;
                    }
                    if c == b'"'
                        && matches!(self.expect, Expect::Key | Expect::KeyOrClose)
                        && let Some(after) = short_string_end(b, i + 1)
                    {
                        // A short key and the colon after it (at once or after spaces) in one
                        // step, as the steps below would take them: nothing but the
                        // expectation changes on the way.
                        let colon = match b.get(after) {
                            Some(b' ') => decode::space_run_end(b, after),
                            _ => after,
                        };
                        if b.get(colon) == Some(&b':') {
                            self.expect = Expect::Value;
                            i = colon + 1;
                        } else {
                            self.expect = Expect::Colon;
                            i = after;
                        }
                        continue;
                    }
                    self.token(b, i, c)?;
                    i += 1;
                }
            }
        }
        if self.value.copying {
            self.keep(b, b.len());
            self.value.copy_from = 0;
        }
        Some(())
    }

    /// Whitespace between tokens: only the first line's watch cares.
    fn whitespace(&mut self, c: u8) -> Option<()> {
        if c == b'\n' {
            match self.first_line {
                FirstLine::Inside { .. } => self.first_line = FirstLine::Inside { newline: true },
                FirstLine::After => self.first_line = FirstLine::Json,
                _ => {}
            }
        }
        if self.expect == Expect::TopAfterScalar {
            self.expect = Expect::Top;
        }
        Some(())
    }

    /// A byte that is not whitespace, between tokens, at index `i` of `b`.
    fn token(&mut self, b: &[u8], i: usize, c: u8) -> Option<()> {
        match self.expect {
            Expect::Value | Expect::ValueOrClose | Expect::Top | Expect::TopAfterScalar => {
                if c == b']' && self.expect == Expect::ValueOrClose {
                    return self.close(b, i, false);
                }
                if self.expect == Expect::TopAfterScalar && !matches!(c, b'"' | b'[' | b'{') {
                    return None;
                }
                self.value_start(i)?;
                match c {
                    b'"' => self.lex = Lex::Str { key: false },
                    b'{' => {
                        self.stack.push(Frame {
                            object: true,
                            streamed: false,
                        });
                        self.expect = Expect::KeyOrClose;
                    }
                    b'[' => self.open_list(b, i),
                    b'-' => self.lex = Lex::Num(Num::Minus),
                    b'0' => self.lex = Lex::Num(Num::Zero),
                    b'1'..=b'9' => self.lex = Lex::Num(Num::Int),
                    b't' => self.lex = Lex::Lit(b"rue"),
                    b'f' => self.lex = Lex::Lit(b"alse"),
                    b'n' => self.lex = Lex::Lit(b"ull"),
                    _ => return None,
                }
                Some(())
            }
            Expect::CommaOrClose => {
                let object = self.stack.last()?.object;
                match (c, object) {
                    (b',', true) => self.expect = Expect::Key,
                    (b',', false) => self.expect = Expect::Value,
                    (b'}', true) => return self.close(b, i, true),
                    (b']', false) => return self.close(b, i, false),
                    _ => return None,
                }
                Some(())
            }
            Expect::KeyOrClose | Expect::Key => match c {
                b'"' => {
                    self.lex = Lex::Str { key: true };
                    Some(())
                }
                b'}' if self.expect == Expect::KeyOrClose => self.close(b, i, true),
                _ => None,
            },
            Expect::Colon => {
                if c != b':' {
                    return None;
                }
                self.expect = Expect::Value;
                Some(())
            }
        }
    }

    /// A value begins at index `i` of `b`.
    fn value_start(&mut self, i: usize) -> Option<()> {
        match self.first_line {
            FirstLine::Before => self.first_line = FirstLine::Inside { newline: false },
            FirstLine::After => self.first_line = FirstLine::NotJson,
            // A first line that is JSON by itself, then more: JSON lines.
            FirstLine::Json => return None,
            _ => {}
        }
        match self.stack.last() {
            None => {
                self.value = Value {
                    start: self.base + i as u64,
                    skeleton: std::mem::take(&mut self.value.skeleton),
                    skeleton_kept: true,
                    copying: true,
                    copy_from: i,
                    lists: Vec::new(),
                };
                self.value.skeleton.clear();
            }
            Some(f) if f.streamed => self.item_start = Some(self.base + i as u64),
            Some(_) => {}
        }
        Some(())
    }

    /// A `[` at index `i` of `b` (its value already started).
    fn open_list(&mut self, b: &[u8], i: usize) {
        let streamed =
            self.stack.len() < STREAM_DEPTH && self.stack.iter().all(|f| f.object && !f.streamed);
        self.stack.push(Frame {
            object: false,
            streamed,
        });
        self.expect = Expect::ValueOrClose;
        if streamed {
            // The skeleton takes the `[`, then a marker instead of the items.
            self.keep(b, i + 1);
            let at = self.value.skeleton.len();
            if self.value.skeleton_kept {
                self.value.skeleton.extend_from_slice(MARKER);
            }
            self.value.copying = false;
            self.value.lists.push(List {
                marker_id_at: at + MARKER_ID_AT,
                depth: self.stack.len() as u8,
                items: Vec::new(),
            });
        }
    }

    /// The `]` or `}` at index `i` of `b`.
    fn close(&mut self, b: &[u8], i: usize, object: bool) -> Option<()> {
        let frame = self.stack.pop()?;
        if frame.object != object {
            return None;
        }
        if frame.streamed {
            // The skeleton goes on from the `]`.
            self.value.copying = true;
            self.value.copy_from = i;
        }
        self.value_end(b, i + 1, false)
    }

    /// Copies `b[copy_from..to]` to the skeleton.
    fn keep(&mut self, b: &[u8], to: usize) {
        let v = &mut self.value;
        if !v.copying || !v.skeleton_kept {
            return;
        }
        let part = b.get(v.copy_from..to).unwrap_or(&[]);
        if v.skeleton.len() + part.len() > SKELETON_LIMIT {
            v.skeleton_kept = false;
            v.skeleton = Vec::new();
            return;
        }
        v.skeleton.extend_from_slice(part);
        v.copy_from = to;
    }

    /// A value ended before index `end` of `b` (`scalar`: a number or literal, which needs a
    /// delimiter after it at the top level).
    fn value_end(&mut self, b: &[u8], end: usize, scalar: bool) -> Option<()> {
        let at = self.base + end as u64;
        match self.stack.last() {
            None => {
                self.keep(b, end);
                self.value.copying = false;
                self.top_value_end(at);
                if let FirstLine::Inside { newline } = self.first_line {
                    self.first_line = if newline {
                        FirstLine::NotJson
                    } else {
                        FirstLine::After
                    };
                }
                self.expect = if scalar {
                    Expect::TopAfterScalar
                } else {
                    Expect::Top
                };
            }
            Some(f) => {
                if f.streamed
                    && let Some(start) = self.item_start.take()
                    && let Some(list) = self.value.lists.last_mut()
                {
                    list.items.push(Piece {
                        start,
                        end: at,
                        depth: list.depth,
                    });
                }
                self.expect = Expect::CommaOrClose;
            }
        }
        Some(())
    }

    /// A top-level value ended at offset `end`: its pieces.
    fn top_value_end(&mut self, end: u64) {
        let value = std::mem::take(&mut self.value);
        let whole = Piece {
            start: value.start,
            end,
            depth: 0,
        };
        match streamed_order(&value) {
            Some(order) => {
                let mut lists: Vec<Option<List>> = value.lists.into_iter().map(Some).collect();
                for k in order {
                    if let Some(list) = lists.get_mut(k).and_then(Option::take) {
                        if self.pieces.is_empty() {
                            // Moved, not copied: the one list of a batch holds every piece.
                            self.pieces = list.items;
                        } else {
                            self.pieces.extend(list.items);
                        }
                    }
                }
            }
            None => self.pieces.push(whole),
        }
        self.value.skeleton = value.skeleton;
    }
}

/// The lists of `value` whose items the whole-document reading reads, in the order it reads
/// them, when that is all it reads of the value and in document order; `None` when the value
/// must be read whole.
fn streamed_order(value: &Value) -> Option<Vec<usize>> {
    if value.lists.is_empty() || !value.skeleton_kept {
        return None;
    }
    let text = std::str::from_utf8(&value.skeleton).ok()?;
    let raw = serde_json::from_str::<&RawValue>(text).ok()?;
    let arena = Arena::new();
    let mut out = Vec::new();
    decode::expand_read(raw, &mut out, &mut arena.scratch());
    let base = text.as_ptr() as usize;
    let mut order: Vec<usize> = Vec::with_capacity(out.len());
    for item in &out {
        let Ok(ev) = item else { return None };
        let std::borrow::Cow::Borrowed(id) = &ev.audit_id else {
            return None;
        };
        let at = (id.as_ptr() as usize).wrapping_sub(base);
        let k = value
            .lists
            .iter()
            .position(|l| l.marker_id_at == at && id.len() == 1)?;
        if order.last().is_some_and(|&last| last >= k) {
            return None;
        }
        order.push(k);
    }
    Some(order)
}

/// Whether the processor running this has AVX2 (looked up once per scanner).
fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The index after the closing quote of a short string (a key, an ID) whose text from index
/// `i` of `b` is plain up to it, found within its first 24 bytes a word at a time: a key or a
/// short value is read without setting up [`string_windows`]. `None` for anything else (a
/// longer string, an escape, a control byte, the block's end), which the windows read from
/// `i` as before.
#[inline]
fn short_string_end(b: &[u8], i: usize) -> Option<usize> {
    for at in [i, i + 8, i + 16] {
        let word = b
            .get(at..at + 8)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())?;
        let flags = special_flags(u64::from_le_bytes(word));
        if flags != 0 {
            // The lowest flag is always a true one: the first special byte.
            let p = at + (flags.trailing_zeros() / 8) as usize;
            return (b.get(p) == Some(&b'"')).then_some(p + 1);
        }
    }
    None
}

/// Reads a string's text from index `i` of `b` (a byte no backslash escapes) 64 bytes at a
/// time: `Ok` with the index after the string's closing quote, or `Err` with where the
/// windows stopped (fewer than 64 bytes left, or something the byte-by-byte scan must judge:
/// a `\u` escape, an invalid escape, a control character). All the bytes before the stop are
/// valid string text, and the stop is not inside an escape.
fn string_windows(b: &[u8], i: usize, avx2: bool) -> Result<usize, usize> {
    #[cfg(target_arch = "x86_64")]
    if avx2 {
        // SAFETY: `avx2` is true only when the processor has AVX2 ([`has_avx2`]), which is
        // all the function's `target_feature` asks. (Half the comparisons of SSE2 for each
        // window: pass one over a carried-event document is mostly string windows.)
        return unsafe { string_windows_avx2(b, i) };
    }
    let _ = avx2;
    windows_of(b, i, window_classes)
}

/// [`string_windows`] with AVX2 comparisons.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn string_windows_avx2(b: &[u8], i: usize) -> Result<usize, usize> {
    windows_of(b, i, |w| window_classes_avx2(w))
}

/// [`string_windows`], with `classes` telling a window's quotes, backslashes and control
/// bytes. The windows go by whole, each starting where the last ended, with only "the first
/// byte is escaped" carried over (not from where the last one's text stopped being plain):
/// the next window's load then waits on nothing, where working out each start from the last
/// window's bits made every window wait for the one before.
#[inline(always)]
fn windows_of(
    b: &[u8],
    mut i: usize,
    classes: impl Fn(&[u8; 64]) -> (u64, u64, u64),
) -> Result<usize, usize> {
    const EVEN: u64 = 0x5555_5555_5555_5555;
    // 1 when the window's first byte is escaped by a backslash ending the last window.
    let mut carry = 0u64;
    // A stop must not be inside an escape: an escaped first byte backs up to its backslash.
    let stop = |i: usize, carry: u64| i - carry as usize;
    while let Some(window) = b.get(i..i + 64).and_then(|w| <&[u8; 64]>::try_from(w).ok()) {
        let (quote, backslash, control) = classes(window);
        // Which bytes a backslash escapes, from the runs of backslashes: the byte after a run
        // of odd length. Runs are told apart by the parity of their start: adding a run's
        // start bit to it carries past its end, and the end's parity against the start's
        // gives the length's.
        let backslash = backslash & !carry;
        let follows_escape = (backslash << 1) | carry;
        let odd_starts = backslash & !EVEN & !follows_escape;
        let (even_runs, overflow) = odd_starts.overflowing_add(backslash);
        let escaped = (EVEN ^ (even_runs << 1)) & follows_escape;
        let end = (quote & !escaped).trailing_zeros() as usize;
        let inside = if end >= 64 {
            u64::MAX
        } else {
            (1u64 << end) - 1
        };
        if control & inside != 0 {
            return Err(stop(i, carry));
        }
        // Escapes other than `\"` (and the second byte of `\\`): checked one by one (`\u`
        // and invalid ones go to the byte-by-byte scan).
        let mut others = escaped & inside & !quote;
        while others != 0 {
            let at = others.trailing_zeros() as usize;
            match window.get(at) {
                Some(&c) if c != b'u' && SIMPLE_ESCAPE[usize::from(c)] => {}
                _ => return Err(stop(i, carry)),
            }
            others &= others - 1;
        }
        if end < 64 {
            return Ok(i + end + 1);
        }
        i += 64;
        carry = u64::from(overflow);
    }
    Err(stop(i, carry))
}

/// The bits of `window`'s bytes (bit `k` for byte `k`): quotes, backslashes, control bytes.
#[cfg(target_arch = "x86_64")]
fn window_classes(window: &[u8; 64]) -> (u64, u64, u64) {
    // SAFETY: SSE2 is part of the x86_64 baseline: every x86_64 processor has it, so the
    // function enabling it may run anywhere this code is built for. (Sixteen bytes compared
    // at once: pass one over a CloudWatch document took a fifth of its reading time.)
    unsafe { window_classes_sse2(window) }
}

/// [`window_classes`], sixteen bytes at a time.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn window_classes_sse2(window: &[u8; 64]) -> (u64, u64, u64) {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_max_epu8, _mm_movemask_epi8, _mm_set_epi64x, _mm_set1_epi8,
    };
    let (mut quote, mut backslash, mut control) = (0u64, 0u64, 0u64);
    let quote_byte = _mm_set1_epi8(b'"' as i8);
    let backslash_byte = _mm_set1_epi8(b'\\' as i8);
    let low = _mm_set1_epi8(0x1f);
    for (k, part) in window.chunks_exact(16).enumerate() {
        let mut word = [0u8; 16];
        word.copy_from_slice(part);
        let (lo, hi) = word.split_at(8);
        let half = |h: &[u8]| i64::from_le_bytes(<[u8; 8]>::try_from(h).unwrap_or([0; 8]));
        let v = _mm_set_epi64x(half(hi), half(lo));
        let shift = 16 * k;
        quote |= u64::from(_mm_movemask_epi8(_mm_cmpeq_epi8(v, quote_byte)) as u16) << shift;
        backslash |=
            u64::from(_mm_movemask_epi8(_mm_cmpeq_epi8(v, backslash_byte)) as u16) << shift;
        // Below 0x20: unchanged by taking the larger with 0x1f.
        control |=
            u64::from(_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(v, low), low)) as u16) << shift;
    }
    (quote, backslash, control)
}

/// [`window_classes`] thirty-two bytes at a time; the control bytes are looked for one by one
/// only when the window has any (strings rarely do).
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx2")]
fn window_classes_avx2(window: &[u8; 64]) -> (u64, u64, u64) {
    use std::arch::x86_64::{
        __m256i, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_max_epu8, _mm256_min_epu8,
        _mm256_movemask_epi8, _mm256_set1_epi8,
    };
    let halves = window.as_ptr();
    // SAFETY: two unaligned 32-byte loads, at 0 and 32 of the 64-byte window: both inside it.
    let (v0, v1) = unsafe {
        (
            _mm256_loadu_si256(halves.cast::<__m256i>()),
            _mm256_loadu_si256(halves.add(32).cast::<__m256i>()),
        )
    };
    let bits = |v: __m256i| u64::from(_mm256_movemask_epi8(v) as u32);
    let quote_byte = _mm256_set1_epi8(b'"' as i8);
    let backslash_byte = _mm256_set1_epi8(b'\\' as i8);
    let quote =
        bits(_mm256_cmpeq_epi8(v0, quote_byte)) | bits(_mm256_cmpeq_epi8(v1, quote_byte)) << 32;
    let backslash = bits(_mm256_cmpeq_epi8(v0, backslash_byte))
        | bits(_mm256_cmpeq_epi8(v1, backslash_byte)) << 32;
    // Below 0x20: unchanged by taking the larger with 0x1f.
    let low = _mm256_set1_epi8(0x1f);
    let below = |v: __m256i| _mm256_cmpeq_epi8(_mm256_max_epu8(v, low), low);
    let control = if bits(below(_mm256_min_epu8(v0, v1))) == 0 {
        0
    } else {
        bits(below(v0)) | bits(below(v1)) << 32
    };
    (quote, backslash, control)
}

/// [`window_classes`] a byte at a time, where there is no SSE2.
#[cfg(not(target_arch = "x86_64"))]
fn window_classes(window: &[u8; 64]) -> (u64, u64, u64) {
    let (mut quote, mut backslash, mut control) = (0u64, 0u64, 0u64);
    for (k, &c) in window.iter().enumerate() {
        quote |= u64::from(c == b'"') << k;
        backslash |= u64::from(c == b'\\') << k;
        control |= u64::from(c < 0x20) << k;
    }
    (quote, backslash, control)
}

/// The characters that may follow a backslash by themselves (`\\u` takes four hex digits).
static SIMPLE_ESCAPE: [bool; 256] = {
    let mut t = [false; 256];
    let mut k = 0;
    let chars = *b"\"\\/bfnrt";
    while k < chars.len() {
        t[chars[k] as usize] = true;
        k += 1;
    }
    t
};

/// A block of the second pass: whole pieces, and the arena their items' unescaped text goes to.
pub struct PieceBlock {
    buffer: Vec<u8>,
    len: usize,
    /// Offset of the block's first byte.
    start: u64,
    /// The pieces inside it: `plan[first..first + count]`.
    first: usize,
    count: usize,
    arena: Arena,
}

impl PieceBlock {
    fn bytes(&self) -> &[u8] {
        self.buffer.get(..self.len).unwrap_or(&[])
    }

    /// The buffer, to be filled again.
    pub fn into_buffer(self) -> Vec<u8> {
        self.buffer
    }
}

/// The items of a block's pieces, in order, in chunks parsed in parallel.
pub struct PieceItems<'a> {
    /// Each chunk's items.
    pub chunks: Vec<Vec<Item<'a>>>,
}

self_cell::self_cell!(
    /// A block of pieces and the items read from them, which borrow from it.
    pub struct ParsedPieces {
        owner: PieceBlock,
        #[covariant]
        dependent: PieceItems,
    }
);

/// How many pieces a parallel task reads at once.
const CHUNK_PIECES: usize = 64;

/// Reads the input again (`reader`, from its first byte: `skip` bytes of byte order mark are
/// passed over) in blocks of about `block` bytes cut at the ends of `plan`'s pieces. Buffers
/// the caller is done with come back through the returned sender.
pub fn spawn_piece_reader(
    mut reader: Box<dyn BufRead + Send>,
    plan: Arc<Vec<Piece>>,
    skip: u64,
    len: u64,
    block: usize,
) -> (Receiver<io::Result<PieceBlock>>, SyncSender<Vec<u8>>) {
    let (tx, rx) = sync_channel::<io::Result<PieceBlock>>(1);
    let (free_tx, free_rx) = sync_channel::<Vec<u8>>(5);
    std::thread::spawn(move || {
        let changed = changed_while_read;
        let mut skipped = [0u8; 3];
        let n = usize::try_from(skip).unwrap_or(0).min(3);
        if let Err(e) = reader.read_exact(&mut skipped[..n]) {
            let _ = tx.send(Err(e));
            return;
        }
        let mut reader = reader.take(len);
        let mut carry: Vec<u8> = Vec::new();
        let mut start = 0u64;
        let mut next = 0usize;
        while next < plan.len() {
            let mut buffer = free_rx.try_recv().unwrap_or_default();
            let carried = carry.len();
            if buffer.len() < block + carried {
                buffer.resize(block + carried + block / 4, 0);
            }
            buffer[..carried].copy_from_slice(&carry);
            let mut filled = carried;
            // Read until at least one piece ends inside the block.
            let (cut, last) = loop {
                let want = block.saturating_sub(filled).max(block / 2).max(1);
                if buffer.len() < filled + want {
                    buffer.resize(filled + want + block / 4, 0);
                }
                let n = match read_full(&mut reader, &mut buffer[filled..filled + want]) {
                    Ok(n) => n,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                };
                filled += n;
                let end = start + filled as u64;
                let mut last = next;
                while plan.get(last).is_some_and(|p| p.end <= end) {
                    last += 1;
                }
                if last > next {
                    let cut = plan.get(last - 1).map_or(end, |p| p.end);
                    break ((cut - start) as usize, last);
                }
                if n < want {
                    // The input ended before the pieces the first pass found.
                    let _ = tx.send(Err(changed()));
                    return;
                }
            };
            carry.clear();
            carry.extend_from_slice(buffer.get(cut..filled).unwrap_or(&[]));
            let piece_block = PieceBlock {
                buffer,
                len: cut,
                start,
                first: next,
                count: last - next,
                arena: Arena::new(),
            };
            if tx.send(Ok(piece_block)).is_err() {
                return;
            }
            start += cut as u64;
            next = last;
        }
    });
    (rx, free_tx)
}

/// Has each block's pieces read (in parallel, on the rayon pool) while the caller hands the
/// previous block's items to the sink.
pub fn spawn_piece_parser(
    plan: Arc<Vec<Piece>>,
    blocks: Receiver<io::Result<PieceBlock>>,
) -> Receiver<io::Result<ParsedPieces>> {
    let (tx, rx) = sync_channel::<io::Result<ParsedPieces>>(1);
    std::thread::spawn(move || {
        for block in blocks {
            let parsed = block.map(|block| {
                ParsedPieces::new(block, |b| {
                    let pieces = plan.get(b.first..b.first + b.count).unwrap_or(&[]);
                    let data = b.bytes();
                    let chunks = pieces
                        .par_chunks(CHUNK_PIECES)
                        .map(|chunk| {
                            let mut sc = b.arena.scratch();
                            let mut out = Vec::with_capacity(chunk.len());
                            for p in chunk {
                                let from = (p.start - b.start) as usize;
                                let to = (p.end - b.start) as usize;
                                let text = data.get(from..to).unwrap_or(&[]);
                                decode::expand_document_part(
                                    text,
                                    u32::from(p.depth),
                                    &mut out,
                                    &mut sc,
                                );
                            }
                            out
                        })
                        .collect();
                    PieceItems { chunks }
                })
            });
            let failed = parsed.is_err();
            if tx.send(parsed).is_err() || failed {
                return;
            }
        }
    });
    rx
}

/// How much pass one reads of a regular file at once: the buffer stays in the core's cache
/// between the read that fills it and the scan that reads it (reads into 1 MB blocks, as the
/// JSON-lines reader takes them, cost three times the system time; 256 KB ones already twice).
pub const SCAN_READ: usize = 128 << 10;

/// Pass one over the rest of a regular file, from offset `from` to its end, read here in reads
/// of `chunk` bytes (see [`SCAN_READ`]); `read` counts the bytes and `tick` is called after
/// each read. What [`Scanner::feed`] says of the last block: `false` once the input is known
/// not to be one document.
pub fn scan_file(
    scanner: &mut Scanner,
    file: &File,
    from: u64,
    chunk: usize,
    read: &AtomicU64,
    mut tick: impl FnMut(),
) -> io::Result<bool> {
    let mut buffer = vec![0u8; chunk.max(1)];
    let mut at = from;
    loop {
        let n = match read_at(file, &mut buffer, at) {
            Ok(0) => return Ok(true),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        at += n as u64;
        read.fetch_add(n as u64, Ordering::Relaxed);
        if !scanner.feed(buffer.get(..n).unwrap_or(&[])) {
            return Ok(false);
        }
        tick();
    }
}

/// How many bytes of consecutive pieces one task of pass two reads and parses (by positioned
/// reads): small enough to be still in the core's cache when parsed (see [`SCAN_READ`]).
const GROUP_BYTES: u64 = 128 << 10;

/// A batch of pass two read by positioned reads ([`spawn_piece_reads`]): groups of consecutive
/// pieces, each read into its own buffer by the task that parses it.
pub struct PieceBatch {
    file: Arc<File>,
    /// Bytes of byte order mark before offset 0 of the pieces.
    skip: u64,
    plan: Arc<Vec<Piece>>,
    /// Each group's pieces: `plan[from..to]`.
    groups: Vec<(usize, usize)>,
    /// Each group's bytes, once read.
    texts: Vec<OnceLock<Vec<u8>>>,
    /// Buffers to read into, given back by [`PieceBatch::recycle`].
    pool: Arc<Mutex<Vec<Vec<u8>>>>,
    /// Counts the bytes read (the progress line).
    read: Arc<AtomicU64>,
    arena: Arena,
}

/// At most this many buffers wait in the pool of [`PieceBatch`]es.
const POOL_BUFFERS: usize = 64;

impl PieceBatch {
    /// Gives the batch's buffers back, to be read into again.
    pub fn recycle(self) {
        if let Ok(mut pool) = self.pool.lock() {
            for text in self.texts {
                if pool.len() >= POOL_BUFFERS {
                    break;
                }
                if let Some(buffer) = text.into_inner() {
                    pool.push(buffer);
                }
            }
        }
    }

    /// Reads group `k` and parses its pieces; a read error is kept in `error`.
    fn read_group<'a>(&'a self, k: usize, error: &Mutex<Option<io::Error>>) -> Vec<Item<'a>> {
        let mut out = Vec::new();
        let (Some(&(from, to)), Some(slot)) = (self.groups.get(k), self.texts.get(k)) else {
            return out;
        };
        let pieces = self.plan.get(from..to).unwrap_or(&[]);
        // Most pieces are one item each: room made at once, not by doubling (each doubling
        // copied every event read so far, a few percent of reading a document).
        out.reserve(pieces.len());
        let (Some(first), Some(last)) = (pieces.first(), pieces.last()) else {
            return out;
        };
        let len = usize::try_from(last.end - first.start).unwrap_or(usize::MAX);
        let mut buffer = self
            .pool
            .lock()
            .ok()
            .and_then(|mut pool| pool.pop())
            .unwrap_or_default();
        if buffer.len() < len {
            buffer.resize(len, 0);
        }
        let target = buffer.get_mut(..len).unwrap_or(&mut []);
        if let Err(e) = read_exact_at(&self.file, target, self.skip + first.start) {
            let e = if e.kind() == io::ErrorKind::UnexpectedEof {
                changed_while_read()
            } else {
                e
            };
            if let Ok(mut slot) = error.lock() {
                slot.get_or_insert(e);
            }
            return out;
        }
        self.read.fetch_add(len as u64, Ordering::Relaxed);
        let _ = slot.set(buffer);
        let data = slot.get().and_then(|b| b.get(..len)).unwrap_or(&[]);
        let mut sc = self.arena.scratch();
        for p in pieces {
            let from = (p.start - first.start) as usize;
            let to = (p.end - first.start) as usize;
            let text = data.get(from..to).unwrap_or(&[]);
            decode::expand_document_part(text, u32::from(p.depth), &mut out, &mut sc);
        }
        out
    }
}

/// Reads from offset `at` of `file` into `buffer` (without moving a shared file cursor, on
/// Unix): how many bytes, 0 at the end.
fn read_at(file: &File, buffer: &mut [u8], at: u64) -> io::Result<usize> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_at(file, buffer, at)
    }
    #[cfg(windows)]
    {
        std::os::windows::fs::FileExt::seek_read(file, buffer, at)
    }
}

/// Fills `buffer` from offset `at` of `file` ([`read_at`]); `UnexpectedEof` when the file
/// ends first.
fn read_exact_at(file: &File, mut buffer: &mut [u8], mut at: u64) -> io::Result<()> {
    while !buffer.is_empty() {
        match read_at(file, buffer, at) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buffer = buffer.get_mut(n..).unwrap_or(&mut []);
                at += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The error of a file whose second reading does not hold what the first found.
fn changed_while_read() -> io::Error {
    io::Error::other("the file changed while it was read")
}

/// The items of a batch's groups, in order, and the first read error.
pub struct BatchItems<'a> {
    /// Each group's items.
    pub chunks: Vec<Vec<Item<'a>>>,
    error: Option<io::Error>,
}

self_cell::self_cell!(
    /// A batch of groups of pieces and the items read from them, which borrow from it.
    pub struct ParsedBatch {
        owner: PieceBatch,
        #[covariant]
        dependent: BatchItems,
    }
);

/// Pass two over a regular file by positioned reads: `plan`'s pieces in batches of about
/// `block` bytes, each batch's groups (of about [`GROUP_BYTES`]) read and parsed in parallel
/// on the rayon pool, a group by the task that reads it, while the caller hands the previous
/// batch's items to the sink. `skip` bytes of byte order mark come before offset 0. `read`
/// counts the bytes read. Memory: two or three batches, whatever the document's size.
pub fn spawn_piece_reads(
    file: File,
    plan: Arc<Vec<Piece>>,
    skip: u64,
    block: usize,
    read: Arc<AtomicU64>,
) -> Receiver<io::Result<ParsedBatch>> {
    let (tx, rx) = sync_channel::<io::Result<ParsedBatch>>(1);
    std::thread::spawn(move || {
        let file = Arc::new(file);
        let pool = Arc::new(Mutex::new(Vec::new()));
        let block = block.max(1) as u64;
        let group_bytes = GROUP_BYTES.min(block);
        let mut next = 0;
        while let Some(first) = plan.get(next) {
            // Groups of consecutive pieces until the batch holds about `block` bytes.
            let mut groups = Vec::new();
            let mut bytes = 0u64;
            let mut start = first.start;
            while next < plan.len() && (groups.is_empty() || bytes < block) {
                let from = next;
                start = plan.get(from).map_or(start, |p| p.start);
                next += 1;
                while plan
                    .get(next)
                    .is_some_and(|p| p.end.saturating_sub(start) <= group_bytes)
                {
                    next += 1;
                }
                bytes += plan
                    .get(next - 1)
                    .map_or(0, |p| p.end.saturating_sub(start));
                groups.push((from, next));
            }
            let batch = PieceBatch {
                file: Arc::clone(&file),
                skip,
                plan: Arc::clone(&plan),
                texts: groups.iter().map(|_| OnceLock::new()).collect(),
                groups,
                pool: Arc::clone(&pool),
                read: Arc::clone(&read),
                arena: Arena::new(),
            };
            let mut parsed = ParsedBatch::new(batch, |b| {
                let error = Mutex::new(None);
                let chunks = (0..b.groups.len())
                    .into_par_iter()
                    .map(|k| b.read_group(k, &error))
                    .collect();
                BatchItems {
                    chunks,
                    error: error.into_inner().ok().flatten(),
                }
            });
            let sent = match parsed.with_dependent_mut(|_, items| items.error.take()) {
                Some(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
                None => tx.send(Ok(parsed)),
            };
            if sent.is_err() {
                return;
            }
        }
    });
    rx
}

/// Scans `data` whole in blocks of `block` bytes (tests, the fuzz target).
#[doc(hidden)]
pub fn scan_all(data: &[u8], block: usize, watch_first_line: bool) -> Scanned {
    let mut scanner = Scanner::new();
    if watch_first_line {
        scanner = scanner.watching_first_line();
    }
    for part in data.chunks(block.max(1)) {
        if !scanner.feed(part) {
            break;
        }
    }
    scanner.finish()
}

/// The items of a document read by pieces, as text (tests and the fuzz target compare them
/// with the whole-document reading); `None` when the input is not one JSON document.
#[doc(hidden)]
pub fn read_by_pieces_as_text(data: &[u8], block: usize) -> Option<Vec<String>> {
    let Scanned::Document { pieces, .. } = scan_all(data, block, false) else {
        return None;
    };
    let arena = Arena::new();
    let mut sc = arena.scratch();
    let mut out = Vec::new();
    for p in &pieces {
        let text = data.get(p.start as usize..p.end as usize)?;
        decode::expand_document_part(text, u32::from(p.depth), &mut out, &mut sc);
    }
    Some(out.iter().map(|i| format!("{i:?}")).collect())
}

/// The items of a document read whole, as `audit` did before this module: serde_json reads
/// every value, then each is expanded. `None` when serde_json does not read it all.
#[doc(hidden)]
pub fn read_whole_as_text(data: &[u8]) -> Option<Vec<String>> {
    let fixed = String::from_utf8_lossy(data);
    let values: Vec<&RawValue> = serde_json::Deserializer::from_str(&fixed)
        .into_iter::<&RawValue>()
        .collect::<Result<_, _>>()
        .ok()?;
    let arena = Arena::new();
    let mut sc = arena.scratch();
    let mut out = Vec::new();
    for v in values {
        decode::expand_read(v, &mut out, &mut sc);
    }
    Some(out.iter().map(|i| format!("{i:?}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reading by pieces gives what reading whole gives, at every block size.
    fn same(data: &[u8]) {
        let whole = read_whole_as_text(data);
        for block in [1, 2, 3, 7, 64, 1 << 20] {
            assert_eq!(
                read_by_pieces_as_text(data, block),
                whole,
                "block {block}: {}",
                String::from_utf8_lossy(data)
            );
        }
    }

    const EV: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a1","stage":"ResponseComplete","requestURI":"/api/v1/pods","verb":"list","user":{"username":"u","groups":["g"]},"sourceIPs":["1.2.3.4"],"userAgent":"ua","responseStatus":{"code":200},"requestReceivedTimestamp":"2026-01-01T00:00:00.000000Z","stageTimestamp":"2026-01-01T00:00:01.000000Z"}"#;

    #[test]
    #[allow(clippy::useless_format)] // every case written the same way
    fn pieces_read_as_the_whole_document() {
        let ev = EV;
        let q = serde_json::to_string(EV).unwrap();
        let mut docs = decode::wrapper_documents(EV);
        docs.extend([
            format!(r#"{{"kind":"Event","items":[{ev}]}}"#),
            format!(
                r#"{{"hits":{{"total":2,"hits":[{{"_source":{{"Body.value":{q}}}}},{{"_source":{{"Body.value":{q}}}}}]}}}}"#
            ),
            format!("{ev}\n{ev}\n  {ev}"),
            format!("[{ev}, {ev}] [{ev}] 1 2 \"x\" true"),
            format!("[{ev}, 1, -2.5e3, null, [true, false], {{}}]"),
            format!(
                "{{\"items\": [{ev}]}} {{\"records\": [{{\"properties\": {{\"log\": {q}}}}}]}}"
            ),
            format!("{{\"log\":{q}}}"),
            format!("[{ev}"),
            format!("{{\"records\":[{ev}]}} x"),
            format!("1x"),
            format!("[01]"),
            format!("[1.]"),
            format!("[\"a\\x\"]"),
            format!("[\"a\\u12G4\"]"),
            "[\"\u{1}\"]".to_string(),
            format!("{{\"a\" 1}}"),
            format!("{{\"a\":1,}}"),
            format!("[1,]"),
            format!("truefalse"),
            format!("1 -2"),
            format!("1-2"),
        ]);
        // Indented documents (newlines between a piece's tokens), carrying a good event and
        // one whose string holds a raw tab once unescaped (not JSON inside).
        let raw_tab = serde_json::to_string(&EV.replace(r#""ua""#, "\"u\ta\"")).unwrap();
        for carried in [&q, &raw_tab] {
            docs.push(format!(
                "{{\n  \"events\": [\n    {{\n      \"message\": {carried},\n      \"timestamp\": 1\n    }},\n    {{\n\t\"message\": {q}\r\n    }}\n  ]\n}}\n"
            ));
            docs.push(format!(
                "{{\"records\": [\n {{\"properties\":\n  {{\"log\": {carried}}}}},\n {{\"log\": {carried}}}]}}"
            ));
        }
        for doc in &docs {
            same(doc.as_bytes());
        }
        let mut bad =
            format!(r#"{{"records":[{{"properties":{{"log":{q}}}}},{{"x":""#).into_bytes();
        bad.extend_from_slice(b"\xff\xfe\"}]}");
        same(&bad);
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        for name in [
            "aks-eventhub-kube-audit-records.json",
            "audit-eventlist-v1.json",
            "audit-opensearch-response.json",
            "eks-cloudwatch-filter-log-events.json",
            "gke-khi-entries.json",
            "apisnoop-testdata-audit_event.json",
            "audit-eventlist-lines.jsonl",
            "audit-opensearch-hits.jsonl",
        ] {
            let data = std::fs::read(dir.join(name)).unwrap();
            same(&data);
            // Cut short anywhere.
            for cut in (0..data.len()).step_by(97) {
                same(&data[..cut]);
            }
        }
    }

    /// A string's text read byte by byte from its start: the index after its closing quote,
    /// or where the text stops being plain (`Err`: at an escape under way, a `\u`, a control
    /// byte, an invalid escape, or the end of the text).
    fn scalar_end(w: &[u8]) -> Result<usize, usize> {
        let mut i = 0;
        while i < w.len() {
            match w[i] {
                b'"' => return Ok(i + 1),
                b'\\'
                    if i + 1 < w.len()
                        && w[i + 1] != b'u'
                        && SIMPLE_ESCAPE[usize::from(w[i + 1])] =>
                {
                    i += 2;
                }
                c if c < 0x20 || c == b'\\' => return Err(i),
                _ => i += 1,
            }
        }
        Err(w.len())
    }

    /// Every text is read by windows as the byte-by-byte scan reads it: an end found is the
    /// string's end, a stop is not inside an escape and has only plain text before it, and
    /// escape-heavy text (an event carried as a string) is read by windows to its end.
    #[test]
    fn windows_read_as_byte_by_byte() {
        // Texts built of tokens: text, escapes (valid and not), bare quotes, control bytes.
        let tokens: [&[u8]; 16] = [
            b"a",
            b"ab",
            b"\\\"",
            b"\\\\",
            b"\\n",
            b"\\/",
            b"\xc3\xa9",
            b"{[",
            b"]}",
            b"\\\\\\\"",
            b"\\u00e9",
            b"\\",
            b"\\\\\\",
            b"\"",
            b"\x01",
            b"\\x",
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let kinds: &[bool] = if has_avx2() { &[false, true] } else { &[false] };
        let mut far = 0;
        for round in 0..200_000 {
            // Most texts without the tokens that may stop a window (the last six).
            let choices = if round % 4 == 0 { 16 } else { 10 };
            let len = 64 + (next() % 150) as usize;
            let mut text = Vec::new();
            while text.len() < len {
                text.extend_from_slice(tokens[(next() % choices) as usize]);
            }
            let reference = scalar_end(&text);
            for &avx2 in kinds {
                match string_windows(&text, 0, avx2) {
                    Ok(n) => assert_eq!(reference, Ok(n), "{text:?}"),
                    Err(n) => {
                        let stop = match reference {
                            Ok(end) => end - 1,
                            Err(stop) => stop,
                        };
                        assert!(n <= stop, "{n} {reference:?} {text:?}");
                        if n >= 64 {
                            far += 1;
                        }
                        // `n` is not inside an escape: the scan stops at an escape's start only.
                        let mut i = 0;
                        while i < n {
                            i += if text[i] == b'\\' { 2 } else { 1 };
                        }
                        assert_eq!(i, n, "{text:?}");
                    }
                }
            }
        }
        assert!(far > 10_000, "{far}");
        let carried = serde_json::to_string(&serde_json::to_string(EV).unwrap()).unwrap();
        // (More after the string, for its last window.)
        let text = format!("{carried},{}", " ".repeat(64));
        for &avx2 in kinds {
            assert_eq!(
                string_windows(text.as_bytes(), 1, avx2),
                Ok(carried.len()),
                "avx2 {avx2}"
            );
        }
    }

    /// Strings whose escapes, backslash runs, brackets and bad bytes fall at every offset of
    /// a window and of a block read as the whole document.
    #[test]
    fn strings_read_as_the_whole_document_at_every_offset() {
        let ev = EV;
        let q = serde_json::to_string(EV).unwrap();
        let qq = serde_json::to_string(&q).unwrap();
        for pad in 0..70 {
            let p = "x".repeat(pad);
            for tail in [
                r#"\\""#,
                r#"\\\""#,
                r#"\\\\""#,
                r#"\""#,
                r#"]}[{""#,
                r#"\u00e9\n""#,
                r#"\u00g9""#,
                r#"\q""#,
                "\t\"",
                "\u{1}\"",
                r#"\/\b\f\r\t""#,
            ] {
                let doc = format!(
                    r#"{{"records":[{{"properties":{{"log":{q}}},"x":"{p}{tail}}},{{"properties":{{"log":{q}}}}},{ev}],"y":{qq}}}"#
                );
                for block in [1, 7, 64, 65, 1 << 20] {
                    assert_eq!(
                        read_by_pieces_as_text(doc.as_bytes(), block),
                        read_whole_as_text(doc.as_bytes()),
                        "block {block}: {doc}"
                    );
                }
            }
        }
    }

    /// Pass two by positioned reads gives the items reading by pieces gives, at every batch
    /// size, and a file cut short between the passes is an error, not fewer items.
    #[test]
    fn positioned_reads_give_the_pieces_items_and_see_a_file_cut_short() {
        let q = serde_json::to_string(EV).unwrap();
        let items: Vec<String> = (0..40)
            .map(|k| format!(r#"{{"properties":{{"log":{q}}},"n":{k}}}"#))
            .collect();
        let doc = format!("\u{feff}{{\"records\":[{}]}}", items.join(",\n"));
        let body = doc.as_bytes().get(3..).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("doc.json");
        std::fs::write(&path, doc.as_bytes()).unwrap();
        let Scanned::Document { pieces, .. } = scan_all(body, 1 << 20, false) else {
            panic!("not a document");
        };
        assert_eq!(pieces.len(), 40);
        let plan = Arc::new(pieces);
        let expected = read_by_pieces_as_text(body, 1 << 20).unwrap();
        let read_all = |block: usize| {
            let read = Arc::new(AtomicU64::new(0));
            let file = File::open(&path).unwrap();
            let batches = spawn_piece_reads(file, Arc::clone(&plan), 3, block, read);
            let mut out = Vec::new();
            for batch in batches {
                let batch = batch?;
                out.extend(
                    batch
                        .borrow_dependent()
                        .chunks
                        .iter()
                        .flatten()
                        .map(|i| format!("{i:?}")),
                );
                batch.into_owner().recycle();
            }
            Ok::<_, io::Error>(out)
        };
        for block in [1, 700, 5000, 1 << 20] {
            assert_eq!(read_all(block).unwrap(), expected, "block {block}");
        }
        std::fs::write(&path, &doc.as_bytes()[..doc.len() / 2]).unwrap();
        let error = read_all(5000).unwrap_err();
        assert_eq!(error.to_string(), "the file changed while it was read");
    }

    #[test]
    fn a_long_first_line_that_is_json_makes_json_lines() {
        let ev = EV;
        assert!(matches!(
            scan_all(format!("{ev}\n{ev}\n").as_bytes(), 5, true),
            Scanned::Lines
        ));
        assert!(matches!(
            scan_all(format!("{ev} \r\n\n").as_bytes(), 5, true),
            Scanned::Document { .. }
        ));
        assert!(matches!(
            scan_all(format!("[{ev},\n{ev}]\n{ev}").as_bytes(), 5, true),
            Scanned::Document { .. }
        ));
        assert!(matches!(
            scan_all(format!("{ev} {ev}\n").as_bytes(), 5, true),
            Scanned::Document { .. }
        ));
    }
}
