//! Decoding one line (or one JSON value) of an audit input into events: the plain event, and
//! every wrapper platforms put around it, one module per wrapper.
//!
//! | module | shape | where it comes from |
//! |---|---|---|
//! | (here) | an `audit.k8s.io` `Event`; a JSON array of anything below | the API server's log backend |
//! | [`eventlist`] | `{"kind":"EventList","items":[…]}` | the webhook backend's batch |
//! | [`eventhubs`] | `{"records":[{"properties":{"log":"<event>"}}]}` | AKS diagnostic settings to Azure Event Hubs |
//! | [`opensearch`] | `{"hits":{"hits":[{"_source":{"Body.value":"<event>"}}]}}`, a hit, a `_source` | OpenSearch/Elasticsearch exports |
//! | [`wrapper`] | `{"log":"<event>",…}`, `{"message":"<event>",…}` (string or object) | fluent-bit, fluentd, docker json-file, CloudWatch items |
//! | [`cloudwatch`] | `{"events":[…]}`, `{"logEvents":[…]}`, `<timestamp> <event>` lines | `aws logs filter-log-events`/`get-log-events`, subscription payloads, S3 exports (EKS) |
//! | [`gke`] | a Cloud Logging `LogEntry` with a `protoPayload` `AuditLog` | GKE's Cloud Audit Logs |
//! | [`cri`] | `<time> <stream> <P\|F> <content>` lines, `P` parts joined up to the `F` line | a node's CRI container log of an API server logging to stdout |
//!
//! A value is read by the fast paths first: a plain event by `event` (its keys in one pass,
//! the kept fields borrowed, every other value skipped and checked; a line's event straight
//! into its place among the block's outcomes, and so is the one event of the common wrapper
//! lines: an OpenSearch hit, a `{"log"}` record, a CRI `F` line), a wrapper object by `walk`
//! key by key in one
//! pass, the string carrying an event read by `event` as it stands, escaped, in the same pass
//! that finds its end (its kept strings borrowed, or unescaped into the block's [`Arena`]; a
//! string it does not handle unescaped whole into the arena and read then), and a list item
//! by item. Whatever they do not handle
//! takes the general path: the value is read as an event by serde_json; when it is not one,
//! its known keys are captured in one pass ([`Envelope`]) and each wrapper module says which
//! of them hold events. Both paths give the same items (checked by tests and the `audit_line`,
//! `audit_event` and `log_wrapper` fuzz targets).
//! Wrappers nest (a CloudWatch item inside a CloudWatch response inside an array …) up to
//! [`MAX_DEPTH`]. Lines that are not JSON but start with a timestamp go to [`cri`] and
//! [`cloudwatch`] (S3 export lines).

pub mod cloudwatch;
pub mod cri;
mod event;
pub mod eventhubs;
pub mod eventlist;
pub mod gke;
pub mod opensearch;
mod scan;
mod walk;
pub mod wrapper;

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::ingest::audit::{AuditEvent, CowStr, reasons};

/// How deep wrappers may nest (hits inside a response inside an array …).
pub const MAX_DEPTH: u32 = 6;

/// What one line (or item) gave: an event or a skip reason.
pub type Item<'a> = Result<AuditEvent<'a>, &'static str>;

/// What one line gave: usually one item, several for a container line; a CRI line also
/// carries its content, so that `P` parts can be joined to it.
// The common case stays inline: boxing it would cost an allocation per event.
#[allow(clippy::large_enum_variant)]
pub enum LineOutcome<'a> {
    /// One event or skip.
    One(Item<'a>),
    /// Several (a container), possibly none.
    Many(Vec<Item<'a>>),
    /// A CRI `P` (partial) line: its content, to be joined with the following parts.
    Part(&'a [u8]),
    /// A CRI `F` (final) line: its content, and what the content alone gave.
    Last(&'a [u8], Vec<Item<'a>>),
}

/// The keys of a JSON object that may hold events, captured in one pass. Each wrapper module
/// looks only at its own keys.
#[derive(Deserialize, Default)]
pub struct Envelope<'a> {
    /// [`eventlist`]: `EventList.items`.
    #[serde(borrow, default)]
    pub items: Option<&'a RawValue>,
    /// [`eventhubs`]: the batch's `records`.
    #[serde(borrow, default)]
    pub records: Option<&'a RawValue>,
    /// [`eventhubs`]: a record's `properties`.
    #[serde(borrow, default)]
    pub properties: Option<&'a RawValue>,
    /// [`opensearch`]: a search response's `hits` (and its `hits.hits`).
    #[serde(borrow, default)]
    pub hits: Option<&'a RawValue>,
    /// [`opensearch`]: a hit's `_source`.
    #[serde(rename = "_source", borrow, default)]
    pub source: Option<&'a RawValue>,
    /// [`opensearch`]: `_source["Body.value"]`, the event as a string.
    #[serde(rename = "Body.value", borrow, default)]
    pub body_value: Option<&'a RawValue>,
    /// [`wrapper`]: `log` (fluent-bit, fluentd, docker; Azure's `properties.log`).
    #[serde(borrow, default)]
    pub log: Option<&'a RawValue>,
    /// [`wrapper`]: `message` (log shippers, CloudWatch items).
    #[serde(borrow, default)]
    pub message: Option<&'a RawValue>,
    /// [`cloudwatch`]: `filter-log-events`/`get-log-events` output.
    #[serde(borrow, default)]
    pub events: Option<&'a RawValue>,
    /// [`cloudwatch`]: a subscription payload.
    #[serde(rename = "logEvents", borrow, default)]
    pub log_events: Option<&'a RawValue>,
    /// [`gke`]: the Cloud Logging entry's `AuditLog`.
    #[serde(rename = "protoPayload", borrow, default)]
    pub proto_payload: Option<&'a RawValue>,
}

/// Arenas given back by the blocks that were done with them, to be used again: their memory
/// is then already mapped (fresh pages cost a fault and a zeroing each).
static SPARE: std::sync::Mutex<Vec<bumpalo_herd::Herd>> = std::sync::Mutex::new(Vec::new());

/// How many arenas [`SPARE`] keeps (the blocks in flight, with room to spare).
const SPARES: usize = 8;

/// Where the events a block carries as JSON strings are unescaped to: they borrow from it as
/// the other events borrow from the block, so an event carried as a string costs one copy of
/// its text and no allocation of its own. It lives (and is dropped) with the block.
pub struct Arena(bumpalo_herd::Herd);

impl Default for Arena {
    fn default() -> Arena {
        let spare = SPARE.lock().ok().and_then(|mut s| s.pop());
        Arena(spare.unwrap_or_default())
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        let mut herd = std::mem::take(&mut self.0);
        if let Ok(mut spare) = SPARE.lock()
            && spare.len() < SPARES
        {
            // Each of its allocators keeps its largest chunk, big enough for a block.
            herd.reset();
            spare.push(herd);
        }
    }
}

impl Arena {
    /// An empty arena (a spare one when there is one).
    pub fn new() -> Arena {
        Arena::default()
    }

    /// A handle for one thread's work (the rayon task parsing a piece of the block).
    pub fn scratch(&self) -> Scratch<'_> {
        Scratch {
            member: self.0.get(),
            text: TextBuf::default(),
            nesting_ok: false,
            fast: true,
            list: Vec::new(),
            walked: WalkedText::None,
            walked_depth: 0,
        }
    }
}

/// One thread's handle on an [`Arena`], with the buffer strings are unescaped into.
pub struct Scratch<'a> {
    member: bumpalo_herd::Member<'a>,
    /// The text of the last string read with escapes (UTF-8, see [`scan_string`]).
    text: TextBuf,
    /// True while the value being read is known to nest within serde_json's recursion limit
    /// (it was read whole by serde_json, or checked by [`walk`]): its parts are then read by
    /// [`walk`] without checking again.
    nesting_ok: bool,
    /// False to read by the general path only (to check the fast paths against it).
    fast: bool,
    /// Where [`event`] gathers a list of strings before keeping it in the arena.
    list: Vec<Cow<'a, str>>,
    /// Whether the text [`walk`] reads holds no control character (see [`WalkedText`]).
    walked: WalkedText<'a>,
    /// The depth of the text [`WalkedText::Known`] is about (0: a line; a document's piece is
    /// read at its own depth).
    walked_depth: u32,
}

/// The text [`walk::wrapper`] or [`walk::list`] was given, and whether it holds no control
/// character ([`event::classify`]), worked out when a list first needs it: once for the whole
/// text, since every list read on the way is a part of it. (Worked out over the rest of the
/// text at each list, reading many lists was quadratic in the text's length.)
#[derive(Clone, Copy, Default)]
enum WalkedText<'a> {
    /// No walk under way: each list looks at itself and what follows it.
    #[default]
    None,
    /// The text, not looked at yet.
    Unknown(&'a str),
    /// Whether it holds no control character.
    Known(bool),
}

/// What a JSON string holds, for a wrapper carrying an event as a string.
enum Carried<'a> {
    /// Text that opens a JSON object or array (the event, or a wrapper), unescaped.
    Json(&'a str),
    /// Any other text: a log line that is not an event.
    Other,
}

/// True when text opens a JSON object or array (and so may be an event or a wrapper).
fn opens_json(s: &str) -> bool {
    matches!(first_byte(s.as_bytes()), Some(b'{' | b'['))
}

impl<'a> Scratch<'a> {
    /// This handle, reading everything by the general path (serde_json reading each value
    /// whole, as before the fast paths): tests and fuzz targets check that both read alike.
    #[doc(hidden)]
    pub fn general_only(mut self) -> Scratch<'a> {
        self.fast = false;
        self
    }

    /// Keeps a copy of `s` in the arena.
    fn keep(&self, s: &str) -> &'a str {
        self.member.alloc_str(s)
    }

    /// Keeps a copy of the list `l` in the arena. Its strings must borrow (from the input or
    /// the arena): the arena never drops what it holds, so an owned string would leak.
    fn keep_list(&self, l: &[Cow<'a, str>]) -> &'a [Cow<'a, str>] {
        self.member.alloc_slice_clone(l)
    }

    /// The text of the last string read with escapes, kept when it can be an event.
    fn keep_text(&self) -> Option<Carried<'a>> {
        let text = std::str::from_utf8(self.text.bytes()).ok()?;
        Some(if opens_json(text) {
            Carried::Json(self.keep(text))
        } else {
            Carried::Other
        })
    }

    /// Reads the JSON string `bytes` (as `serde_json` would: `None` when it would not): its
    /// text borrowed from `bytes` when it has no escapes, else unescaped into the arena. Text
    /// that cannot be an event is not kept.
    fn carried(&mut self, bytes: &'a [u8]) -> Option<Carried<'a>> {
        let fast = if self.fast {
            unescape(bytes, &mut self.text)
        } else {
            None
        };
        match fast {
            Some(Unescaped::Verbatim(s)) => Some(if opens_json(s) {
                Carried::Json(s)
            } else {
                Carried::Other
            }),
            Some(Unescaped::InText) => self.keep_text(),
            // Whitespace around the string, a lone surrogate, invalid UTF-8, a control
            // character: rare, and serde_json decides.
            None => {
                let CowStr(s) = serde_json::from_slice::<CowStr<'a>>(bytes).ok()?;
                Some(match s {
                    _ if !opens_json(&s) => Carried::Other,
                    Cow::Borrowed(b) => Carried::Json(b),
                    Cow::Owned(o) => Carried::Json(self.keep(&o)),
                })
            }
        }
    }
}

/// The text of a JSON string: the string's own bytes, or unescaped into the buffer.
enum Unescaped<'a> {
    Verbatim(&'a str),
    InText,
}

/// Reads `bytes` as exactly one JSON string (quotes included, nothing around them), the fast
/// way; `None` when it is not one, or holds something left to serde_json (a surrogate escape
/// not in a pair, a control character).
fn unescape<'a>(bytes: &'a [u8], text: &mut TextBuf) -> Option<Unescaped<'a>> {
    let all = std::str::from_utf8(bytes).ok()?;
    let (unescaped, end) = scan_string(all, Some(text))?;
    (end == all.len()).then_some(unescaped)
}

/// Reads the JSON string that `s` starts with (at its opening quote): its text, and the index
/// after its closing quote. A string with escapes is unescaped into `text` when it is given
/// (valid UTF-8: escapes are ASCII, and a `\u` escape is written as its character); `None` as
/// [`unescape`] says.
fn scan_string<'a>(s: &'a str, mut text: Option<&mut TextBuf>) -> Option<(Unescaped<'a>, usize)> {
    let body = s.strip_prefix('"')?;
    let b = body.as_bytes();
    let mut i = 0;
    let mut copied = false;
    loop {
        let at = match text.as_deref_mut() {
            Some(t) if copied => copy_to_special(b, i, t)?,
            _ => i + find_special(b.get(i..)?)?,
        };
        match *b.get(at)? {
            b'"' => {
                if !copied {
                    return Some((Unescaped::Verbatim(body.get(..at)?), at + 2));
                }
                return Some((Unescaped::InText, at + 2));
            }
            b'\\' => {
                // The common escapes (`\"`, `\\`) without a call.
                let (ch, len) = match b.get(at + 1) {
                    Some(b'"') => ('"', 1),
                    Some(b'\\') => ('\\', 1),
                    _ => escape(b.get(at + 1..)?)?,
                };
                if let Some(t) = text.as_deref_mut() {
                    if !copied {
                        t.clear();
                        t.push(b.get(..at)?);
                    }
                    if let Some(byte) = u8::try_from(ch).ok().filter(u8::is_ascii) {
                        // The common escapes (`\"`, `\\`, `\n`): one byte, no copy call.
                        t.push_byte(byte);
                    } else {
                        let mut buf = [0u8; 4];
                        t.push(ch.encode_utf8(&mut buf).as_bytes());
                    }
                }
                copied = true;
                i = at + 1 + len;
            }
            // A control character: serde_json says no.
            _ => return None,
        }
    }
}

/// Copies `b[i..]` into `out` up to the next `"`, `\\` or control character, 16 bytes at a
/// time, then eight; returns where that is.
fn copy_to_special(b: &[u8], mut i: usize, out: &mut TextBuf) -> Option<usize> {
    // Sixteen at a time first (in one SSE2 step on x86_64), as below.
    while let Some(chunk) = b.get(i..i + 16).and_then(|c| <&[u8; 16]>::try_from(c).ok()) {
        let flags = scan::special_mask16(chunk);
        out.push16(chunk);
        if flags == 0 {
            i += 16;
            continue;
        }
        let p = flags.trailing_zeros() as usize;
        out.len -= 16 - p;
        return Some(i + p);
    }
    while let Some(chunk) = b.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let flags = special_flags(u64::from_le_bytes(word));
        // All eight bytes are stored (one store), and the length counts those before the
        // special byte.
        out.push8(word);
        if flags == 0 {
            i += 8;
            continue;
        }
        let p = (flags.trailing_zeros() / 8) as usize;
        out.len -= 8 - p;
        return Some(i + p);
    }
    let rest = b.get(i..)?;
    let p = rest.iter().position(|&x| is_special(x))?;
    out.push(rest.get(..p)?);
    Some(i + p)
}

/// The buffer strings are unescaped into: its first `len` bytes. The bytes past them are
/// kept initialized, so that eight bytes can be stored at once without checks on the way.
#[derive(Default)]
struct TextBuf {
    buf: Vec<u8>,
    len: usize,
}

impl TextBuf {
    fn clear(&mut self) {
        self.len = 0;
    }

    /// The text so far.
    fn bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    /// Room for `n` more bytes.
    fn room(&mut self, n: usize) {
        if self.len + n > self.buf.len() {
            let want = (self.len + n).max(self.buf.len() * 2).max(4096);
            self.buf.resize(want, 0);
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        self.room(bytes.len());
        if let Some(dst) = self.buf.get_mut(self.len..self.len + bytes.len()) {
            dst.copy_from_slice(bytes);
            self.len += bytes.len();
        }
    }

    fn push_byte(&mut self, byte: u8) {
        self.room(1);
        if let Some(dst) = self.buf.get_mut(self.len) {
            *dst = byte;
            self.len += 1;
        }
    }

    fn push16(&mut self, chunk: &[u8; 16]) {
        self.room(16);
        if let Some(dst) = self.buf.get_mut(self.len..self.len + 16) {
            dst.copy_from_slice(chunk);
            self.len += 16;
        }
    }

    fn push8(&mut self, word: [u8; 8]) {
        self.room(8);
        if let Some(dst) = self.buf.get_mut(self.len..self.len + 8) {
            dst.copy_from_slice(&word);
            self.len += 8;
        }
    }
}

/// The character of the escape after a backslash and how many bytes it took.
fn escape(b: &[u8]) -> Option<(char, usize)> {
    Some(match *b.first()? {
        b'"' => ('"', 1),
        b'\\' => ('\\', 1),
        b'/' => ('/', 1),
        b'b' => ('\x08', 1),
        b'f' => ('\x0c', 1),
        b'n' => ('\n', 1),
        b'r' => ('\r', 1),
        b't' => ('\t', 1),
        b'u' => {
            let hi = hex4(b.get(1..5)?)?;
            if (0xD800..0xDC00).contains(&hi) {
                // A surrogate pair, `\uD83D\uDE00`; a lone one is left to serde_json.
                if b.get(5..7)? != b"\\u" {
                    return None;
                }
                let lo = hex4(b.get(7..11)?)?;
                if !(0xDC00..0xE000).contains(&lo) {
                    return None;
                }
                let c = 0x1_0000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                (char::from_u32(c)?, 11)
            } else {
                (char::from_u32(hi)?, 5)
            }
        }
        _ => return None,
    })
}

/// Four hex digits.
fn hex4(b: &[u8]) -> Option<u32> {
    b.iter()
        .try_fold(0u32, |v, &d| Some(v * 16 + char::from(d).to_digit(16)?))
}

/// The index after the run of spaces at `i` of `b`, eight bytes at a time: an indented
/// document (the aws CLI's `filter-log-events` output) has a dozen before each member.
pub(crate) fn space_run_end(b: &[u8], mut i: usize) -> usize {
    const SPACES: u64 = u64::from_le_bytes([b' '; 8]);
    while let Some(word) = b.get(i..i + 8).and_then(|w| <[u8; 8]>::try_from(w).ok()) {
        let other = u64::from_le_bytes(word) ^ SPACES;
        if other != 0 {
            return i + (other.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while b.get(i) == Some(&b' ') {
        i += 1;
    }
    i
}

/// JSON whitespace: space, tab, line feed, carriage return (every reader of JSON here asks this
/// one question).
#[inline]
pub(crate) fn is_json_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

/// A byte that ends a run of plain string text: `"`, `\\` or a control character.
fn is_special(x: u8) -> bool {
    x == b'"' || x == b'\\' || x < 0x20
}

/// The bytes of `v` (eight, little-endian) that are [`is_special`], as the high bit of each:
/// the lowest flag is always a true one (the classic "has a zero byte" and "has a byte less
/// than n" tricks, whose false flags can only sit above a true one).
#[inline]
pub(crate) fn special_flags(v: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    zero(v ^ (ONES * u64::from(b'"')))
        | zero(v ^ (ONES * u64::from(b'\\')))
        | (v.wrapping_sub(ONES * 0x20) & !v & HIGHS)
}

/// Where the next [`is_special`] byte is (16 bytes at a time on x86_64, see [`scan`]).
#[inline]
pub(crate) fn find_special(b: &[u8]) -> Option<usize> {
    scan::special(b)
}

/// Documents of nested wrappers around the event `ev` (also carried as a string), for the
/// tests of [`walk`] and of streamed documents.
#[cfg(test)]
pub(crate) fn wrapper_documents(ev: &str) -> Vec<String> {
    let q = serde_json::to_string(ev).unwrap_or_default();
    vec![
        format!(
            r#"{{"records":[{{"category":"kube-audit","properties":{{"log":{q}}}}},{{"properties":{{"log":{q}}}}}]}}"#
        ),
        format!(
            r#"{{"events":[{{"timestamp":1,"message":{q}}},{{"message":"plain"}}],"searchedLogStreams":[]}}"#
        ),
        format!(r#"{{"records":[{ev},{{"log":{q}}},"str"],"events":[{ev}]}}"#),
        format!(r#"{{"events":[{ev}],"records":[{{"items":[{ev},{ev}]}}]}}"#),
        r#"{"records":[]}"#.to_string(),
        format!(r#"{{"records":[{ev}],"records":[{ev}]}}"#),
        format!(r#"[{{"records":[{{"properties":{{"log":{q}}}}}]}},{ev}]"#),
        format!(r#"{{"kind":"EventList","items":[{ev},{{"kind":"EventList","items":[{ev}]}}]}}"#),
    ]
}

/// Asserts that the fast paths and the general path read `line` alike (the tests of
/// [`walk`] and the event scanner).
#[cfg(test)]
pub(crate) fn assert_paths_agree(line: &[u8]) {
    assert_eq!(
        parse_line_as_text(line, true),
        parse_line_as_text(line, false),
        "{}",
        String::from_utf8_lossy(line)
    );
}

/// What [`parse_line`] gives for `line`, as text to compare: by the fast paths (`fast`) or by
/// the general path alone ([`Scratch::general_only`]). Tests and fuzz targets check that both
/// read every line alike.
#[doc(hidden)]
pub fn parse_line_as_text(line: &[u8], fast: bool) -> String {
    let arena = Arena::new();
    let mut scratch = arena.scratch();
    if !fast {
        scratch = scratch.general_only();
    }
    let mut out = Vec::new();
    parse_line_into(line, 0, &mut scratch, &mut out);
    let Some((outcome, _)) = out.pop() else {
        return "nothing".to_string();
    };
    match outcome {
        LineOutcome::One(item) => format!("one {item:?}"),
        LineOutcome::Many(items) => format!("many {items:?}"),
        LineOutcome::Part(content) => format!("part {content:?}"),
        LineOutcome::Last(content, items) => format!("last {content:?} {items:?}"),
    }
}

/// Records carrying `text` as a JSON string, escaped the ways shippers escape it: as
/// serde_json writes it (`{"log":…}`), with every non-ASCII character and every `/` as an
/// escape (`\u00e9`, `\/`; Python's `json.dumps`, some Go writers) and a trailing newline
/// (docker), and inside an OpenSearch `_source`. Tests and fuzz targets read each both ways
/// (the one-pass reader of carried events against unescaping first).
#[doc(hidden)]
pub fn carried_forms(text: &str) -> Vec<String> {
    let quoted = |t: &str| serde_json::to_string(t).unwrap_or_default();
    let mut escaped = String::with_capacity(text.len() + 8);
    for ch in quoted(&format!("{text}\n")).chars() {
        match ch {
            '/' => escaped.push_str("\\/"),
            c if c.is_ascii() => escaped.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    escaped.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    vec![
        format!(r#"{{"log":{}}}"#, quoted(text)),
        format!(r#"{{"log":{escaped},"stream":"stdout"}}"#),
        format!(
            r#"{{"_id":"x","_source":{{"Body.value":{}}}}}"#,
            quoted(text)
        ),
    ]
}

/// Parses one line of a JSON-lines input (numbered `n`) onto the end of `out`. A plain event
/// (most lines), the common wrapper of one event carried as a string (an OpenSearch hit, a
/// `{"log"}` record: [`walk::carried_line`]) and a CRI `F` line of one event are read straight
/// into their place in `out`: the event is large, and moving it from function to function
/// cost more than reading it.
pub fn parse_line_into<'a>(
    line: &'a [u8],
    n: u64,
    sc: &mut Scratch<'a>,
    out: &mut Vec<(LineOutcome<'a>, u64)>,
) {
    if sc.fast && first_byte(line) == Some(b'{') {
        let Some((text, clean)) = event::line_text(line) else {
            // Invalid UTF-8: the general path's byte reading.
            out.push((parse_json_line(line, None, false, sc), n));
            return;
        };
        out.push((LineOutcome::One(Ok(AuditEvent::default())), n));
        if let Some((outcome, _)) = out.last_mut()
            && let LineOutcome::One(Ok(ev)) = outcome
        {
            // A line is an event, or the common wrapper of one carried event (an OpenSearch
            // hit, a `{"log"}` record), or neither: never both, since the event reader gives
            // up at a wrapper key, and the wrapper reader takes only an object with one. So
            // the order of the two tries changes nothing read, only what it costs: the API
            // server writes `kind` first, and a line opening otherwise is tried as a wrapper
            // first.
            let wrapper_first = !line.starts_with(br#"{"kind":"#);
            let mut read = None;
            if wrapper_first {
                read = walk::carried_line(text, clean, sc, ev);
                if read.is_none() {
                    // The event holds a part of what the wrapper reader read.
                    *ev = AuditEvent::default();
                }
            }
            if read.is_none() {
                read = event::read_whole(text, clean, sc, ev);
            }
            if read.is_none() && !wrapper_first {
                *ev = AuditEvent::default();
                read = walk::carried_line(text, clean, sc, ev);
            }
            match read {
                Some(Ok(())) => return,
                Some(Err(reason)) => {
                    *outcome = LineOutcome::One(Err(reason));
                    return;
                }
                None => {}
            }
        }
        out.pop();
        sc.walked = WalkedText::Known(clean);
        out.push((parse_json_line(line, Some(text), false, sc), n));
        sc.walked = WalkedText::None;
        return;
    }
    if sc.fast
        && first_byte(line).is_some_and(|b| b.is_ascii_digit())
        && let Some((false, content)) = cri::split(line)
        && let Some(last) = cri_event_line(content, sc)
    {
        out.push((last, n));
        return;
    }
    out.push((parse_line(line, sc), n));
}

/// The outcome of a CRI `F` line whose content is one plain event (an API server's audit
/// log on stdout): the event read in its place in the line's list of items, its text looked
/// at once for UTF-8 and control characters, as [`parse_content`] reads it. `None` (nothing
/// read) for any other content, which [`parse_line`] reads.
fn cri_event_line<'a>(content: &'a [u8], sc: &mut Scratch<'a>) -> Option<LineOutcome<'a>> {
    if first_byte(content) != Some(b'{') {
        return None;
    }
    let (text, clean) = event::line_text(content)?;
    let mut items = Vec::with_capacity(1);
    items.push(Ok(AuditEvent::default()));
    let Some(Ok(ev)) = items.first_mut() else {
        return None;
    };
    let res = event::read_whole(text, clean, sc, ev)?;
    if let Err(reason) = res {
        items.clear();
        items.push(Err(reason));
    }
    Some(LineOutcome::Last(content, items))
}

/// Parses one line of a JSON-lines input: the fast path is a single event borrowing from the
/// line; lines that start with a timestamp are CRI or S3-export lines.
pub fn parse_line<'a>(line: &'a [u8], sc: &mut Scratch<'a>) -> LineOutcome<'a> {
    if let Some(b) = first_byte(line)
        && b.is_ascii_digit()
    {
        if let Some((partial, content)) = cri::split(line) {
            if partial {
                return LineOutcome::Part(content);
            }
            return LineOutcome::Last(content, parse_content(content, sc));
        }
        if let Some(content) = cloudwatch::split_export_line(line) {
            return parse_json_line(content, std::str::from_utf8(content).ok(), true, sc);
        }
    }
    parse_json_line(line, std::str::from_utf8(line).ok(), true, sc)
}

/// Parses a line that should be JSON: an event, or any wrapper.
/// `text` is the line when it is UTF-8 (validating the whole line once is much cheaper than
/// serde_json validating each string it borrows; lines with invalid UTF-8 take the byte path
/// below, as before); `try_event` is false when [`event`] has read it already.
fn parse_json_line<'a>(
    line: &'a [u8],
    text: Option<&'a str>,
    try_event: bool,
    sc: &mut Scratch<'a>,
) -> LineOutcome<'a> {
    let mut items = Vec::new();
    sc.nesting_ok = false;
    if let Some(t) = text
        && sc.fast
    {
        // Most lines are plain events: read in one pass, the bodies skipped.
        if try_event && let Some(item) = event::event(t, sc) {
            return LineOutcome::One(item);
        }
        // A wrapper is read in one pass too; an event is seen as one at its first keys.
        if walk::wrapper(t, &mut items, 0, sc) {
            return one_or_many(items);
        }
    }
    let parsed = match text {
        Some(text) => serde_json::from_str::<AuditEvent<'_>>(text),
        None => serde_json::from_slice::<AuditEvent<'_>>(line),
    };
    match parsed {
        Ok(mut ev) if ev.looks_like_event() || ev.kind == "Event" => {
            return LineOutcome::One(ev.validate().map(|()| ev));
        }
        // Valid JSON that is not an event: look into its wrappers, not again for an event.
        Ok(_) => expand_wrappers(line, &mut items, 0, sc),
        Err(_) => expand(line, &mut items, 0, sc),
    }
    one_or_many(items)
}

/// One item as [`LineOutcome::One`], else [`LineOutcome::Many`].
fn one_or_many(mut items: Vec<Item<'_>>) -> LineOutcome<'_> {
    if items.len() == 1
        && let Some(one) = items.pop()
    {
        return LineOutcome::One(one);
    }
    LineOutcome::Many(items)
}

/// Every item of a CRI line's content, alone or joined from its parts: a JSON value, or "not
/// an audit event" when it is some other line the API server printed.
pub fn parse_content<'a>(bytes: &'a [u8], sc: &mut Scratch<'a>) -> Vec<Item<'a>> {
    if !matches!(first_byte(bytes), Some(b'{' | b'[')) {
        return vec![Err(reasons::NOT_AN_EVENT)];
    }
    let mut items = Vec::new();
    expand(bytes, &mut items, 0, sc);
    items
}

/// Reads every event in `bytes` (one JSON value, possibly a wrapper) into `out`.
pub fn expand<'a>(bytes: &'a [u8], out: &mut Vec<Item<'a>>, depth: u32, sc: &mut Scratch<'a>) {
    match std::str::from_utf8(bytes) {
        Ok(s) => expand_fresh(s, out, depth, sc),
        Err(_) => expand_general(bytes, None, out, depth, sc),
    }
}

/// [`expand`] of a value serde_json has read whole already (a document's), so whose nesting
/// is within its limit.
pub fn expand_read<'a>(value: &'a RawValue, out: &mut Vec<Item<'a>>, sc: &mut Scratch<'a>) {
    let saved = std::mem::replace(&mut sc.nesting_ok, true);
    expand_str(value.get(), out, 0, sc);
    sc.nesting_ok = saved;
}

/// Reads one piece of a document as [`expand_read`] reads it inside the whole document: a
/// top-level value (`depth` 0), or an item of one of its lists, `depth` containers deep (see
/// `ingest::document`). Invalid UTF-8 is replaced first, as the whole document's text was.
pub fn expand_document_part<'a>(
    bytes: &'a [u8],
    depth: u32,
    out: &mut Vec<Item<'a>>,
    sc: &mut Scratch<'a>,
) {
    let text = match simdutf8::basic::from_utf8(bytes) {
        Ok(t) => t,
        Err(_) => sc.keep(&String::from_utf8_lossy(bytes)),
    };
    let saved = std::mem::replace(&mut sc.nesting_ok, true);
    // The scan that cut the piece out found no control character in any string of the
    // document (it is not JSON otherwise): the piece is walked as a line without one is,
    // whatever whitespace (an indented document's newlines) lies between its tokens.
    let walked = std::mem::replace(&mut sc.walked, WalkedText::Known(true));
    let walked_depth = std::mem::replace(&mut sc.walked_depth, depth);
    if !carried_item(text, depth, out, sc) {
        expand_str(text, out, depth, sc);
    }
    sc.walked = walked;
    sc.walked_depth = walked_depth;
    sc.nesting_ok = saved;
}

/// Reads a document's item that is the common wrapper of one event carried as a string (a
/// CloudWatch `{"timestamp":…,"message":"<event>",…}`, an Event Hubs record
/// `{"category":…,"properties":{"log":"<event>"}}`) straight into its place at the end of
/// `out`, as [`parse_line_into`] reads such a line ([`walk::carried_document_item`]); false,
/// with `out` as it was, for any other item, which [`expand_str`] reads.
///
/// The event reader gives up at a wrapper key, and the wrapper reader takes only an object
/// with one and no event key: trying the wrapper first changes nothing read, only what it
/// costs (before, every item was first tried as an event, over its whole carried string). An
/// item opening like an API server's event (`{"kind":`) is left to [`expand_str`].
fn carried_item<'a>(
    text: &'a str,
    depth: u32,
    out: &mut Vec<Item<'a>>,
    sc: &mut Scratch<'a>,
) -> bool {
    if !sc.fast || text.as_bytes().starts_with(br#"{"kind":"#) {
        return false;
    }
    out.push(Ok(AuditEvent::default()));
    let read = match out.last_mut() {
        Some(Ok(ev)) => walk::carried_document_item(text, depth, sc, ev),
        _ => None,
    };
    match read {
        Some(Ok(())) => true,
        Some(Err(reason)) => {
            if let Some(last) = out.last_mut() {
                *last = Err(reason);
            }
            true
        }
        None => {
            // The event holds a part of what was read: thrown away.
            out.pop();
            false
        }
    }
}

/// [`expand_str`] of text that serde_json would read by itself (a line, an event carried as
/// a string): its nesting is not known yet.
fn expand_fresh<'a>(s: &'a str, out: &mut Vec<Item<'a>>, depth: u32, sc: &mut Scratch<'a>) {
    let saved = std::mem::replace(&mut sc.nesting_ok, false);
    expand_str(s, out, depth, sc);
    sc.nesting_ok = saved;
}

/// [`expand`] of text: wrappers and lists take the fast path of [`walk`].
fn expand_str<'a>(s: &'a str, out: &mut Vec<Item<'a>>, depth: u32, sc: &mut Scratch<'a>) {
    let done = match first_byte(s.as_bytes()) {
        _ if !sc.fast => false,
        Some(b'{') => match event::event(s, sc) {
            Some(item) => {
                out.push(item);
                true
            }
            None => walk::wrapper(s, out, depth, sc),
        },
        Some(b'[') => walk::list(s, out, depth, sc),
        _ => false,
    };
    if !done {
        expand_general(s.as_bytes(), Some(s), out, depth, sc);
    }
}

/// [`expand`] by the general path: serde_json reads the value whole.
/// `text` is `bytes` as text when they are known to be UTF-8 (serde_json then need not check
/// each string it borrows).
fn expand_general<'a>(
    bytes: &'a [u8],
    text: Option<&'a str>,
    out: &mut Vec<Item<'a>>,
    depth: u32,
    sc: &mut Scratch<'a>,
) {
    // Only an object can be an event. Trying a string as one costs serde_json an error
    // message quoting the whole string (an event carried as a string, escaped): that
    // formatting took more time than reading the event itself.
    match first_byte(bytes) {
        Some(b'"') => {
            // Read (and unescaped) once; a string that is not valid JSON takes the path below.
            if let Some(carried) = sc.carried(bytes) {
                match carried {
                    Carried::Json(s) if depth > 0 && depth < MAX_DEPTH => {
                        expand_fresh(s, out, depth + 1, sc);
                    }
                    // A log line that is not JSON (a shipper's other lines): not an event,
                    // and not "invalid JSON" either, since it never claimed to be JSON.
                    _ => out.push(Err(reasons::NOT_AN_EVENT)),
                }
                return;
            }
        }
        Some(b'[') => {
            // Read as a list in one pass; only when that fails is it checked as JSON (a list
            // with invalid UTF-8 in a string is valid JSON, but no list of text).
            match serde_json::from_slice::<Vec<&'a RawValue>>(bytes) {
                Ok(list) => return expand_list(list, out, depth, sc),
                Err(_) if serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok() => {
                    out.push(Err(reasons::NOT_AN_EVENT));
                    return;
                }
                Err(_) => {}
            }
        }
        _ => {}
    }
    let parsed = match text {
        Some(t) => serde_json::from_str::<AuditEvent<'a>>(t),
        None => serde_json::from_slice::<AuditEvent<'a>>(bytes),
    };
    match parsed {
        Ok(mut ev) => {
            if ev.looks_like_event() || ev.kind == "Event" {
                out.push(ev.validate().map(|()| ev));
                return;
            }
        }
        Err(e) if e.classify() == serde_json::error::Category::Data => {}
        Err(_) => {
            // Not JSON as it stands: maybe invalid UTF-8 that a replacement fixes.
            if std::str::from_utf8(bytes).is_err() {
                let fixed = sc.keep(&String::from_utf8_lossy(bytes));
                expand_fresh(fixed, out, depth, sc);
            } else {
                out.push(Err(reasons::INVALID_JSON));
            }
            return;
        }
    }
    expand_wrappers(bytes, out, depth, sc);
}

/// The items of a JSON list, each read by [`expand`].
fn expand_list<'a>(
    list: Vec<&'a RawValue>,
    out: &mut Vec<Item<'a>>,
    depth: u32,
    sc: &mut Scratch<'a>,
) {
    if depth >= MAX_DEPTH {
        out.push(Err(reasons::NOT_AN_EVENT));
        return;
    }
    for raw in list {
        expand_str(raw.get(), out, depth + 1, sc);
    }
}

/// [`expand`] for a JSON value known not to be an event.
fn expand_wrappers<'a>(bytes: &'a [u8], out: &mut Vec<Item<'a>>, depth: u32, sc: &mut Scratch<'a>) {
    if depth >= MAX_DEPTH {
        out.push(Err(reasons::NOT_AN_EVENT));
        return;
    }
    let before = out.len();
    match first_byte(bytes) {
        Some(b'[') => {
            if let Ok(list) = serde_json::from_slice::<Vec<&'a RawValue>>(bytes) {
                return expand_list(list, out, depth, sc);
            }
        }
        Some(b'"') => {
            // An event carried as a JSON string (`Body.value`, `log`, `message`).
            if depth > 0
                && let Some(carried) = sc.carried(bytes)
            {
                match carried {
                    Carried::Json(s) => expand_fresh(s, out, depth + 1, sc),
                    Carried::Other => out.push(Err(reasons::NOT_AN_EVENT)),
                }
                return;
            }
        }
        Some(b'{') => {
            if let Ok(env) = serde_json::from_slice::<Envelope<'a>>(bytes) {
                if env.proto_payload.is_some() {
                    out.push(gke::decode(bytes));
                    return;
                }
                let mut found = false;
                let mut open = |raw: &'a RawValue| {
                    found = true;
                    expand_str(raw.get(), out, depth + 1, sc);
                };
                eventlist::open(&env, &mut open);
                eventhubs::open(&env, &mut open);
                opensearch::open(&env, &mut open);
                cloudwatch::open(&env, &mut open);
                wrapper::open(&env, &mut open);
                if found {
                    return;
                }
            }
        }
        _ => {}
    }
    out.truncate(before);
    out.push(Err(reasons::NOT_AN_EVENT));
}

/// The first byte that is not JSON whitespace.
pub fn first_byte(bytes: &[u8]) -> Option<u8> {
    bytes.iter().copied().find(|b| !b.is_ascii_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The items of the real CloudWatch and Event Hubs documents are read in place
    /// ([`carried_item`]), each giving what the walk and the general path give for it as a
    /// document's piece; an API server's event as an item is left to the walk.
    #[test]
    fn document_items_read_in_place_as_the_walk() {
        use serde_json::value::RawValue;
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let piece = |item: &str, fast: bool, direct: bool| {
            let arena = Arena::new();
            let mut sc = arena.scratch();
            if !fast {
                sc = sc.general_only();
            }
            sc.walked = WalkedText::Known(true);
            sc.walked_depth = 2;
            sc.nesting_ok = true;
            let mut out = Vec::new();
            let took = direct && carried_item(item, 2, &mut out, &mut sc);
            if !direct {
                expand_str(item, &mut out, 2, &mut sc);
            }
            (took, format!("{out:?}"))
        };
        let mut in_place = 0;
        for (name, list) in [
            ("eks-cloudwatch-filter-log-events.json", "events"),
            ("aks-eventhub-kube-audit-records.json", "records"),
        ] {
            let text = std::fs::read_to_string(dir.join(name)).unwrap();
            let doc: std::collections::HashMap<String, &RawValue> =
                serde_json::from_str(&text).unwrap();
            let items: Vec<&RawValue> = serde_json::from_str(doc[list].get()).unwrap();
            for item in items {
                let (took, direct) = piece(item.get(), true, true);
                assert!(took, "{name}: {}", item.get());
                assert_eq!(direct, piece(item.get(), true, false).1, "{name}");
                assert_eq!(direct, piece(item.get(), false, false).1, "{name}");
                in_place += 1;
            }
        }
        assert_eq!(in_place, 8 + 22);
        let event = r#"{"kind":"Event","auditID":"a","stage":"ResponseComplete"}"#;
        assert!(!piece(event, true, true).0);
    }

    /// A CRI `F` line carrying one plain event is read in place ([`cri_event_line`]) and gives
    /// what the general path gives; every other CRI line is left to [`parse_line`].
    #[test]
    fn cri_event_lines_read_as_the_general_path() {
        let ev = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a1","stage":"ResponseComplete","requestURI":"/api/v1/pods","verb":"list","user":{"username":"u"},"sourceIPs":["1.2.3.4"],"userAgent":"ua \"x\" é","responseStatus":{"code":200},"requestReceivedTimestamp":"2026-01-01T00:00:00.000000Z","stageTimestamp":"2026-01-01T00:00:01.000000Z"}"#;
        let no_id = ev.replace(r#""auditID":"a1","#, "");
        let stamp = "2026-01-01T00:00:00.000000000Z";
        let mut read_in_place = 0;
        for content in [
            ev.to_string(),
            format!("  {ev}  "),
            format!("{ev}\r"),
            no_id,
            ev.replace("\"u\"", "\"u\u{1}\""),
            format!("{ev} trailing"),
            format!(r#"{{"log":{}}}"#, serde_json::to_string(ev).unwrap()),
            format!("[{ev}]"),
            "not json".to_string(),
            String::new(),
        ] {
            for stream in ["stdout", "stderr"] {
                for tag in ["F", "P", "F:x"] {
                    let line = format!("{stamp} {stream} {tag} {content}");
                    assert_paths_agree(line.as_bytes());
                    let arena = Arena::new();
                    let mut sc = arena.scratch();
                    if let Some((false, c)) = cri::split(line.as_bytes())
                        && cri_event_line(c, &mut sc).is_some()
                    {
                        read_in_place += 1;
                    }
                }
            }
        }
        // The event alone, with spaces or a CR around it, and without an ID (a skip), on
        // `F` and `F:x` lines of both streams.
        assert_eq!(read_in_place, 4 * 2 * 2);
        let mut bad = format!("{stamp} stdout F ").into_bytes();
        bad.extend_from_slice(&ev.as_bytes()[..40]);
        bad.extend_from_slice(b"\xff\"}");
        assert_paths_agree(&bad);
    }

    /// The fast unescape reads what serde_json reads, and leaves to it what it does not.
    #[test]
    fn unescapes_as_serde_json_does() {
        let cases = [
            r#""""#,
            r#""plain text, no escapes at all""#,
            r#""{\"kind\":\"Event\",\"a\":\"b\\\\c\"}\n""#,
            r#""tab\there \/ \b\f\r and \u00e9 \u4e2d \ud83d\ude00 end""#,
            r#""é 中 😀 multi-byte before \"escapes\" after""#,
            r#""lone \ud83d surrogate""#,
            r#""lone low \ude00 surrogate""#,
            r#""pair broken \ud83d\n""#,
            r#""bad \x escape""#,
            r#""unterminated"#,
            r#""two" "strings""#,
            r#" "spaces around" "#,
            "\"control \u{1} char\"",
            r#""ends in backslash\""#,
            r#""\u12""#,
            r#""0123456789abcdef\"0123456789abcdef\\0123456789abcdef""#,
        ];
        for case in cases {
            let mut text = TextBuf::default();
            let serde = serde_json::from_str::<String>(case).ok();
            match unescape(case.as_bytes(), &mut text) {
                Some(Unescaped::Verbatim(s)) => assert_eq!(Some(s.to_string()), serde, "{case}"),
                Some(Unescaped::InText) => {
                    let s =
                        String::from_utf8(text.bytes().to_vec()).expect("unescaped text is UTF-8");
                    assert_eq!(Some(s), serde, "{case}");
                }
                // Declined: serde_json decides (it may read a lone surrogate only as bytes).
                None => {}
            }
        }
        // What the fast path declines that serde_json reads: only whitespace around.
        let mut text = TextBuf::default();
        assert!(unescape(br#" "x" "#, &mut text).is_none());
        assert!(unescape(br#""a\"b""#, &mut text).is_some());
    }

    /// Eight-byte chunks find the first special byte wherever it is.
    #[test]
    fn finds_special_bytes_in_chunks() {
        for len in 0..40 {
            for at in 0..len {
                for special in [b'"', b'\\', 0x01, 0x1f] {
                    let mut b = vec![b'a'; len];
                    b[at] = special;
                    // A multi-byte character and a 0x7f/0x80 never count.
                    if at > 2 {
                        b[at - 2] = 0x80;
                        b[at - 1] = 0x7f;
                    }
                    assert_eq!(find_special(&b), Some(at), "{len} {at} {special}");
                    let mut out = TextBuf::default();
                    assert_eq!(copy_to_special(&b, 0, &mut out), Some(at));
                    assert_eq!(out.bytes(), &b[..at]);
                }
            }
            assert_eq!(find_special(&vec![b' '; len]), None);
        }
    }
}
