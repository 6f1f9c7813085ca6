//! The fast path for a plain audit event: the object read key by key in one pass, the kept
//! fields taken as slices of the input (unescaped into the arena when they hold escapes), and
//! every other value (`requestObject`, `responseObject`, …) skipped while it is checked.
//!
//! The API server writes compact JSON (Go's encoding/json, keys in a fixed order), but any key
//! order and any JSON whitespace are read. The contract is the one of [`super::walk`]: either
//! exactly the item serde_json reading an [`AuditEvent`] would give (and [`AuditEvent::validate`]
//! after it), or `None` — "don't know" — and the general path reads the value as before. It
//! says "don't know" to anything it is not sure of: a duplicate kept key, a key with escapes, a
//! value of an unexpected type (serde would reject it, or read a list as a struct), a number
//! outside the plain forms, a lone surrogate escape, nesting deeper than [`MAX_NESTING`], and
//! an object that is not an event (it may be a wrapper).

use std::borrow::Cow;

use super::scan::{Pattern, quote_or_backslash};
use super::{Item, Scratch, Unescaped, scan_string};
use crate::ingest::audit::{
    AuditAnnotations, AuditEvent, AuditObjectRef, AuditResponseStatus, AuditUser, Strings,
};

/// How deep skipped values may nest (serde_json's own limit is 128; deeper text is rare
/// enough to leave to it).
pub(super) const MAX_NESTING: u32 = 64;

/// Reads the event object `s` starts with (at its `{`) into `ev` (a default event): the
/// skip reason or `Ok`, and the index after the object; `None` when the general path must
/// decide (`ev` then holds a part of the event, to be thrown away). `clean` says that `s`
/// holds no control character (see [`classify`]).
fn read_prefix<'a>(
    s: &'a str,
    clean: bool,
    sc: &mut Scratch<'a>,
    ev: &mut AuditEvent<'a>,
) -> Option<(Result<(), &'static str>, usize)> {
    let mut r = Reader::<false> {
        s,
        b: s.as_bytes(),
        i: 0,
        clean,
        sc,
    };
    r.event(ev)?;
    if !(ev.looks_like_event() || ev.kind == "Event") {
        // Valid JSON but no event: perhaps a wrapper, which the general path opens.
        return None;
    }
    Some((ev.validate(), r.i))
}

/// Reads `s`, exactly one JSON object with whitespace around it allowed, into `ev` (a default
/// event): as [`read_prefix`].
// Inlined: it is on the path of every plain line (`parse_line_into`), and left a call once
// that function grew, it cost 0.2% more instructions on a log of plain events.
#[inline(always)]
pub(super) fn read_whole<'a>(
    s: &'a str,
    clean: bool,
    sc: &mut Scratch<'a>,
    ev: &mut AuditEvent<'a>,
) -> Option<Result<(), &'static str>> {
    let b = s.as_bytes();
    let start = skip_ws(b, 0);
    let (res, len) = read_prefix(s.get(start..)?, clean, sc, ev)?;
    (skip_ws(b, start + len) == b.len()).then_some(res)
}

/// The line `line` as text when it is UTF-8, and whether it holds no control character (see
/// [`classify`]), in one look at its bytes: for [`read_whole`], and for the wrapper the line
/// may be when it is no event (its text and its control characters not looked at again).
pub(super) fn line_text(line: &[u8]) -> Option<(&str, bool)> {
    let (lowest, highest) = byte_range(line);
    let text = if highest < 0x80 {
        // SAFETY: every byte is below 0x80, so `line` is ASCII, and ASCII is valid UTF-8.
        // (Checking it again with `from_utf8` cost 4% of reading a log of events.)
        unsafe { std::str::from_utf8_unchecked(line) }
    } else {
        std::str::from_utf8(line).ok()?
    };
    Some((text, lowest >= 0x20))
}

/// [`read_whole`] of `s` into a new event: the item, or `None` when the general path must
/// decide.
pub(super) fn event<'a>(s: &'a str, sc: &mut Scratch<'a>) -> Option<Item<'a>> {
    let mut ev = AuditEvent::default();
    let res = read_whole(s, classify(s.as_bytes()), sc, &mut ev)?;
    Some(res.map(|()| ev))
}

/// [`read_prefix`] into a new event: the item and the index after the object. `clean` is
/// [`classify`] of `s` (or of text holding it), which the caller works out once for a whole
/// list: working it out here, over the rest of the list for each item, made reading a list
/// quadratic in its length.
pub(super) fn event_prefix<'a>(
    s: &'a str,
    clean: bool,
    sc: &mut Scratch<'a>,
) -> Option<(Item<'a>, usize)> {
    let mut ev = AuditEvent::default();
    let (res, len) = read_prefix(s, clean, sc, &mut ev)?;
    Some((res.map(|()| ev), len))
}

/// Reads the event carried as the JSON string `s` starts with (at its opening quote) in one
/// pass over the string as it stands, escaped, into `ev` (a default event, read in its place:
/// an event is large, and moving it cost more than reading it): what [`event`] would give for
/// the string's text (`Ok` or the skip reason), and the index after its closing quote. The event's quote is `\"` there, and the
/// escapes of its strings are escaped again (`\\\"`, `\\n`, `\\u00e9`); its kept strings
/// are unescaped both ways into the arena, or borrowed when they hold no escape. `clean` says
/// that `s` holds no control character (a raw one is not JSON, left to the general path).
/// `None` when the general path must decide: anything [`event`] would say "don't know" to,
/// text around the object, and the escapes it leaves out (the carried string's own escapes
/// where the event has its structure, like `\u0022` or `\/` for a quote or a slash of it, a
/// control character inside the event's strings, a `\u` escape of a `\u` escape's digits).
pub(super) fn carried_event<'a>(
    s: &'a str,
    clean: bool,
    sc: &mut Scratch<'a>,
    ev: &mut AuditEvent<'a>,
) -> Option<(Result<(), &'static str>, usize)> {
    let b = s.as_bytes();
    if !clean || b.get(..2)? != b"\"{" {
        return None;
    }
    let mut r = Reader::<true> {
        s,
        b,
        i: 1,
        clean,
        sc,
    };
    r.event(ev)?;
    if !(ev.looks_like_event() || ev.kind == "Event") {
        return None;
    }
    r.ws();
    if b.get(r.i) != Some(&b'"') {
        return None;
    }
    Some((ev.validate(), r.i + 1))
}

/// The index of the first byte at or after `i` of carried text that is not JSON whitespace of
/// the event: a space, or the carried string's `\n`, `\r`, `\t`.
fn skip_carried_ws(b: &[u8], mut i: usize) -> usize {
    loop {
        match b.get(i) {
            Some(b' ') => i += 1,
            Some(b'\\') if matches!(b.get(i + 1), Some(b'n' | b'r' | b't')) => i += 2,
            _ => return i,
        }
    }
}

/// What a backslash inside a string of a carried event stands for.
enum CarriedChar {
    /// `\"`: the end of the event's string.
    End,
    /// A character of the event's string, and how many bytes of carried text it took.
    Char(char, usize),
}

/// Reads the escape `b` starts with (at its backslash) inside a string of a carried event;
/// `None` at a raw quote (the carried string ends inside the event's string) and at what
/// [`carried_event`] leaves to the general path.
fn carried_char(b: &[u8]) -> Option<CarriedChar> {
    if b.first() != Some(&b'\\') {
        return None;
    }
    match *b.get(1)? {
        b'"' => Some(CarriedChar::End),
        b'\\' => {
            // An escape of the event's string: its letter is the next character of the
            // carried text (`\\\"` is the event's `\"`, `\\n` its `\n`).
            let (letter, letter_len) = carried_unit(b.get(2..)?)?;
            let after = 2 + letter_len;
            let ch = match letter {
                '"' => '"',
                '\\' => '\\',
                '/' => '/',
                'b' => '\x08',
                'f' => '\x0c',
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                'u' => return event_unicode(b, after),
                _ => return None,
            };
            Some(CarriedChar::Char(ch, after))
        }
        _ => {
            // An escape of the carried string alone (`\u00e9`, `\/`): a character of the
            // event's string, unless the event's JSON would read it as more than one (a quote,
            // a backslash) or reject it (a control character).
            let (ch, len) = super::escape(b.get(1..)?)?;
            if ch == '"' || ch == '\\' || ch < ' ' {
                return None;
            }
            Some(CarriedChar::Char(ch, 1 + len))
        }
    }
}

/// One character of carried text (`b` at it): a plain ASCII byte, or an escape of the carried
/// string; and how many bytes it took.
fn carried_unit(b: &[u8]) -> Option<(char, usize)> {
    match *b.first()? {
        b'\\' => super::escape(b.get(1..)?).map(|(ch, len)| (ch, len + 1)),
        c if c.is_ascii() && c != b'"' => Some((char::from(c), 1)),
        _ => None,
    }
}

/// The character of the event's `\uXXXX` escape whose four digits are at `at` in `b` (as
/// plain bytes: escaped digits are left to the general path); a surrogate pair's second half
/// is `\\uXXXX` in carried text. A lone surrogate is left to the general path too.
fn event_unicode(b: &[u8], at: usize) -> Option<CarriedChar> {
    let hi = super::hex4(b.get(at..at + 4)?)?;
    let mut len = at + 4;
    let code = if (0xD800..0xDC00).contains(&hi) {
        if b.get(len..len + 3)? != b"\\\\u" {
            return None;
        }
        let lo = super::hex4(b.get(len + 3..len + 7)?)?;
        if !(0xDC00..0xE000).contains(&lo) {
            return None;
        }
        len += 7;
        0x1_0000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
    } else {
        hi
    };
    Some(CarriedChar::Char(char::from_u32(code)?, len))
}

/// True when `b` holds no control character (no byte below 0x20). Strings of lines without
/// control characters (all the API server writes) have their ends found by looking for `"`
/// and `\\` only, not checking every byte for a control character.
pub(super) fn classify(b: &[u8]) -> bool {
    byte_range(b).0 >= 0x20
}

/// The lowest and the highest byte of `b` (`0xff, 0` when empty), in one pass that the
/// compiler vectorizes (no early exit): 32 bytes a step where the machine has AVX2 (the
/// x86_64 baseline, SSE2, takes 16, and this pass over every line was 5% of parsing).
fn byte_range(b: &[u8]) -> (u8, u8) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the function is the portable fold compiled for AVX2, and AVX2 was just
        // detected on this machine (the result is cached by std: one load per call).
        return unsafe { byte_range_avx2(b) };
    }
    byte_range_portable(b)
}

/// [`byte_range`] compiled with AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn byte_range_avx2(b: &[u8]) -> (u8, u8) {
    byte_range_portable(b)
}

/// [`byte_range`] for any machine; inlined into [`byte_range_avx2`] to be compiled again there.
#[inline(always)]
fn byte_range_portable(b: &[u8]) -> (u8, u8) {
    b.iter()
        .fold((0xff, 0), |(lo, hi), &x| (u8::min(lo, x), u8::max(hi, x)))
}

/// The index of the first byte at or after `i` that is not JSON whitespace.
fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(|&c| super::is_json_ws(c)) {
        i += 1;
    }
    i
}

/// The order of an event's keys as the API server writes them (Go's encoding/json writes a
/// struct's fields in declaration order): `audit.k8s.io/v1`, with v1beta1's `metadata` and
/// `timestamp` where v1beta1 has them. The kept ones are named in [`key`].
const EVENT_ORDER: &[&str] = &[
    "kind",
    "apiVersion",
    "metadata",
    "level",
    "timestamp",
    "auditID",
    "stage",
    "requestURI",
    "verb",
    "user",
    "impersonatedUser",
    "sourceIPs",
    "userAgent",
    "objectRef",
    "responseStatus",
    "requestObject",
    "responseObject",
    "requestReceivedTimestamp",
    "stageTimestamp",
    "annotations",
];

/// A key of an object the API server writes, with how it stands in compact text.
struct Key {
    name: &'static str,
    /// `"name":`.
    text: Pattern,
}

/// The keys of `order` (`N` of them) as [`Key`]s.
const fn keys<const N: usize>(order: &[&'static str]) -> [Key; N] {
    const NONE: Key = Key {
        name: "",
        text: Pattern::key(""),
    };
    let mut out = [NONE; N];
    let mut k = 0;
    while k < N {
        out[k] = Key {
            name: order[k],
            text: Pattern::key(order[k]),
        };
        k += 1;
    }
    out
}

/// [`EVENT_ORDER`] and the other orders as [`Key`]s.
static EVENT_KEYS: [Key; EVENT_ORDER.len()] = keys(EVENT_ORDER);
static USER_KEYS: [Key; USER_ORDER.len()] = keys(USER_ORDER);
static OBJECT_REF_KEYS: [Key; OBJECT_REF_ORDER.len()] = keys(OBJECT_REF_ORDER);
static STATUS_KEYS: [Key; STATUS_ORDER.len()] = keys(STATUS_ORDER);
static ANNOTATIONS_KEYS: [Key; ANNOTATIONS_ORDER.len()] = keys(ANNOTATIONS_ORDER);

/// The places of the kept keys in [`EVENT_ORDER`] (a test checks them); `1 << place` marks a
/// key as read, to see duplicates (serde_json rejects them).
mod key {
    pub const KIND: usize = 0;
    pub const API_VERSION: usize = 1;
    pub const LEVEL: usize = 3;
    pub const TIMESTAMP: usize = 4;
    pub const AUDIT_ID: usize = 5;
    pub const STAGE: usize = 6;
    pub const REQUEST_URI: usize = 7;
    pub const VERB: usize = 8;
    pub const USER: usize = 9;
    pub const IMPERSONATED_USER: usize = 10;
    pub const SOURCE_IPS: usize = 11;
    pub const USER_AGENT: usize = 12;
    pub const OBJECT_REF: usize = 13;
    pub const RESPONSE_STATUS: usize = 14;
    pub const RECEIVED: usize = 17;
    pub const STAGE_TIMESTAMP: usize = 18;
    pub const ANNOTATIONS: usize = 19;
}

/// The order of `user`'s keys: `username`, `uid`, `groups`, `extra`.
const USER_ORDER: &[&str] = &["username", "uid", "groups", "extra"];

/// The order of `objectRef`'s keys.
const OBJECT_REF_ORDER: &[&str] = &[
    "resource",
    "namespace",
    "name",
    "uid",
    "apiGroup",
    "apiVersion",
    "resourceVersion",
    "subresource",
];

/// The order of `responseStatus`'s keys (a `metav1.Status`): `code` is the last.
const STATUS_ORDER: &[&str] = &["metadata", "status", "message", "reason", "details", "code"];

/// The two annotations kept, first in Go's order of map keys (sorted).
const ANNOTATIONS_ORDER: &[&str] = &[
    "authorization.k8s.io/decision",
    "authorization.k8s.io/reason",
];

/// A position in the text being read. `CARRIED` is true when the text is an event carried
/// as a JSON string, read as it stands in its wrapper, escaped (see [`carried_event`]).
struct Reader<'a, 's, const CARRIED: bool> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
    /// The text holds no control character (see [`classify`]).
    clean: bool,
    sc: &'s mut Scratch<'a>,
}

impl<'a, const CARRIED: bool> Reader<'a, '_, CARRIED> {
    /// How many bytes a quote of the event takes: `\"` in carried text.
    const QUOTE: usize = if CARRIED { 2 } else { 1 };

    fn ws(&mut self) {
        if CARRIED {
            // Compact text (what the API server writes) has none: the next byte tells, or two
            // at a backslash (`\"` opens the event's next string), without entering the loop.
            match self.b.get(self.i) {
                Some(b' ') => {}
                Some(b'\\') if matches!(self.b.get(self.i + 1), Some(b'n' | b'r' | b't')) => {}
                _ => return,
            }
            self.i = skip_carried_ws(self.b, self.i);
        } else {
            self.i = skip_ws(self.b, self.i);
        }
    }

    /// The byte of the event at the cursor. In carried text a `\"` is the event's quote, a
    /// raw `"` (the end of the carried string) is a NUL, and any other escape a backslash:
    /// nothing the reader expects there, so it says "don't know".
    fn peek(&self) -> Option<u8> {
        let c = *self.b.get(self.i)?;
        if CARRIED {
            return Some(match c {
                b'\\' if self.b.get(self.i + 1) == Some(&b'"') => b'"',
                b'"' => 0,
                _ => c,
            });
        }
        Some(c)
    }

    /// True when a closing quote of the event is at `j`.
    fn quote_at(&self, j: usize) -> bool {
        if CARRIED {
            self.b.get(j..j + 2) == Some(b"\\\"")
        } else {
            self.b.get(j) == Some(&b'"')
        }
    }

    /// Moves past `c` (and the whitespace after it) when it is next.
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            self.ws();
            true
        } else {
            false
        }
    }

    /// Reads the members of the object at the cursor (at its `{`), calling `member` with each
    /// key and its place in `order` (the cursor then at its value, which `member` reads); ends
    /// after the `}`.
    ///
    /// `order` is the order the API server writes the object's keys in: the key expected next
    /// is compared in place, and only a key that is not the expected one is scanned for its
    /// end (an absent optional key costs one miss, and the order picks up after the key read).
    fn object(
        &mut self,
        order: &[Key],
        mut member: impl FnMut(&mut Self, &'a str, Option<usize>) -> Option<()>,
    ) -> Option<()> {
        if !self.eat(b'{') {
            return None;
        }
        if self.eat(b'}') {
            return Some(());
        }
        let mut next = 0;
        loop {
            let expected = order.get(next);
            let (key, at) = match expected {
                // The key expected, and its `:`, in compact text: compared at once.
                Some(k) if !CARRIED && k.text.at(self.b, self.i) => {
                    self.i += k.text.len();
                    self.ws();
                    next += 1;
                    (k.name, Some(next - 1))
                }
                _ => {
                    let (key, at) = match expected {
                        Some(k) if self.at_key(k.name) => {
                            self.i += k.name.len() + 2 * Self::QUOTE;
                            next += 1;
                            (k.name, Some(next - 1))
                        }
                        _ => {
                            let k = self.key()?;
                            let at = order.iter().position(|o| o.name == k);
                            if let Some(p) = at {
                                next = p + 1;
                            }
                            (k, at)
                        }
                    };
                    self.ws();
                    if !self.eat(b':') {
                        return None;
                    }
                    (key, at)
                }
            };
            member(self, key, at)?;
            self.ws();
            if self.eat(b',') {
                continue;
            }
            if self.peek() == Some(b'}') {
                self.i += 1;
                return Some(());
            }
            return None;
        }
    }

    /// True when the key at the cursor is exactly `k` (quoted, no escapes: `k` has none).
    fn at_key(&self, k: &str) -> bool {
        let from = self.i + Self::QUOTE;
        self.peek() == Some(b'"')
            && self.quote_at(from + k.len())
            && self
                .b
                .get(from..from + k.len())
                .is_some_and(|at| same_bytes(at, k.as_bytes()))
    }

    /// A key without escapes (one with escapes is left to serde_json, which unescapes it
    /// before matching it to a field).
    fn key(&mut self) -> Option<&'a str> {
        let Some(k) = self.verbatim() else {
            return if CARRIED { self.carried_key() } else { None };
        };
        self.i += k.len() + 2 * Self::QUOTE;
        Some(k)
    }

    /// A key of carried text holding the carried string's own escapes only (`\/`, `\u00e9`:
    /// the event's key has no escape), unescaped into the arena; `None` when the event's key
    /// itself has escapes (left to serde_json, as [`Self::key`] leaves them).
    fn carried_key(&mut self) -> Option<&'a str> {
        if self.peek() != Some(b'"') {
            return None;
        }
        self.carried_text(false)
    }

    /// The carried string at the cursor (at its `\"`) unescaped into the arena, the cursor
    /// moved past it: the carried string's escapes, and the event's own inside it unless
    /// `event_escapes` is false (then `None` when there is one).
    fn carried_text(&mut self, event_escapes: bool) -> Option<&'a str> {
        let b = self.b;
        let text = &mut self.sc.text;
        text.clear();
        let mut j = self.i + 2;
        loop {
            let at = j + quote_or_backslash(b.get(j..)?)?;
            text.push(b.get(j..at)?);
            if !event_escapes && b.get(at + 1) == Some(&b'\\') {
                return None;
            }
            match carried_char(b.get(at..)?)? {
                CarriedChar::End => {
                    self.i = at + 2;
                    break;
                }
                CarriedChar::Char(ch, len) => {
                    let mut buf = [0u8; 4];
                    text.push(ch.encode_utf8(&mut buf).as_bytes());
                    j = at + len;
                }
            }
        }
        let sc = &*self.sc;
        Some(sc.keep(std::str::from_utf8(sc.text.bytes()).ok()?))
    }

    /// The text of the string at the cursor when it has no escapes; the cursor stays.
    #[inline]
    fn verbatim(&self) -> Option<&'a str> {
        if !CARRIED && self.clean {
            // The common case, with a bounds check less for each slice taken.
            let b = self.b;
            if b.get(self.i) != Some(&b'"') {
                return None;
            }
            let from = self.i + 1;
            let end = from + quote_or_backslash(b.get(from..)?)?;
            if b.get(end) != Some(&b'"') {
                return None;
            }
            // SAFETY: `from <= end < b.len()` (`end` is where `quote_or_backslash` found a
            // byte of `b[from..]`), and both are char boundaries of `s` (whose bytes `b` are):
            // `from` follows the ASCII byte `"` and `end` is at one, and in UTF-8 an ASCII
            // byte is a whole character. (`str::get` checked both again, in a call.)
            return Some(unsafe { self.s.get_unchecked(from..end) });
        }
        let rest = self.s.get(self.i..)?;
        if CARRIED {
            if self.peek() != Some(b'"') {
                return None;
            }
            let body = rest.get(2..)?;
            let end = quote_or_backslash(body.as_bytes())?;
            return match body.as_bytes().get(end..end + 2)? {
                b"\\\"" => body.get(..end),
                _ => None,
            };
        }
        if self.clean {
            if self.peek() != Some(b'"') {
                return None;
            }
            let body = rest.get(1..)?;
            let end = quote_or_backslash(body.as_bytes())?;
            return match body.as_bytes().get(end)? {
                b'"' => body.get(..end),
                _ => None,
            };
        }
        match scan_string(rest, None)? {
            (Unescaped::Verbatim(k), _) => Some(k),
            (Unescaped::InText, _) => None,
        }
    }

    /// A string: borrowed from the input, or unescaped into the arena.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        if let Some(t) = self.verbatim() {
            self.i += t.len() + 2 * Self::QUOTE;
            return Some(Cow::Borrowed(t));
        }
        if CARRIED {
            return self.carried_text(true).map(Cow::Borrowed);
        }
        let sc = &mut *self.sc;
        let (text, len) = scan_string(self.s.get(self.i..)?, Some(&mut sc.text))?;
        self.i += len;
        Some(Cow::Borrowed(match text {
            Unescaped::Verbatim(t) => t,
            Unescaped::InText => sc.keep(std::str::from_utf8(sc.text.bytes()).ok()?),
        }))
    }

    /// True (and moves past it) when `null` is next.
    fn null(&mut self) -> bool {
        if self.b.get(self.i..self.i + 4) == Some(b"null") {
            self.i += 4;
            true
        } else {
            false
        }
    }

    /// A string field: `null` reads as empty.
    fn opt_string(&mut self) -> Option<Cow<'a, str>> {
        if self.null() {
            return Some(Cow::Borrowed(""));
        }
        if self.peek() != Some(b'"') {
            return None;
        }
        self.string()
    }

    /// A list of strings: `null` reads as empty; an item may not be `null`.
    fn strings(&mut self) -> Option<Strings<'a>> {
        if self.null() {
            return Some(Strings::default());
        }
        if !self.eat(b'[') {
            return None;
        }
        if self.peek() == Some(b']') {
            self.i += 1;
            return Some(Strings::default());
        }
        // Gathered in the scratch list, then copied to the arena in one piece.
        let mut list = std::mem::take(&mut self.sc.list);
        list.clear();
        let read = self.string_items(&mut list);
        let kept = read.map(|()| Strings::Borrowed(self.sc.keep_list(&list)));
        list.clear();
        self.sc.list = list;
        kept
    }

    /// The items of a list of strings after its `[`, up to and past its `]`.
    fn string_items(&mut self, list: &mut Vec<Cow<'a, str>>) -> Option<()> {
        loop {
            if self.peek() != Some(b'"') {
                return None;
            }
            list.push(self.string()?);
            self.ws();
            if self.eat(b',') {
                continue;
            }
            if self.peek() == Some(b']') {
                self.i += 1;
                return Some(());
            }
            return None;
        }
    }

    /// Sets a string field once (at `place`): `None` for a duplicate.
    fn field(&mut self, seen: &mut u32, place: usize, slot: &mut Cow<'a, str>) -> Option<()> {
        once(seen, place)?;
        *slot = self.opt_string()?;
        Some(())
    }

    /// The event object at the cursor.
    fn event(&mut self, ev: &mut AuditEvent<'a>) -> Option<()> {
        use key::*;
        let mut seen = 0u32;
        self.object(&EVENT_KEYS, |r, name, place| {
            let Some(place) = place else {
                return match name {
                    // The keys of wrappers: not an event, most likely; the general path opens
                    // it (and reading it whole first would be wasted).
                    "items" | "records" | "properties" | "hits" | "_source" | "Body.value"
                    | "events" | "logEvents" | "log" | "message" | "protoPayload" => None,
                    _ => r.skip(1),
                };
            };
            let s = &mut seen;
            match place {
                KIND => r.field(s, place, &mut ev.kind),
                API_VERSION => r.field(s, place, &mut ev.api_version),
                LEVEL => r.field(s, place, &mut ev.level),
                TIMESTAMP => r.field(s, place, &mut ev.timestamp),
                AUDIT_ID => r.field(s, place, &mut ev.audit_id),
                STAGE => r.field(s, place, &mut ev.stage),
                REQUEST_URI => r.field(s, place, &mut ev.request_uri),
                VERB => r.field(s, place, &mut ev.verb),
                USER_AGENT => r.field(s, place, &mut ev.user_agent),
                RECEIVED => r.field(s, place, &mut ev.request_received_timestamp),
                STAGE_TIMESTAMP => r.field(s, place, &mut ev.stage_timestamp),
                USER => {
                    once(s, place)?;
                    ev.user = r.user()?;
                    Some(())
                }
                IMPERSONATED_USER => {
                    once(s, place)?;
                    ev.impersonated_user = r.user()?;
                    Some(())
                }
                SOURCE_IPS => {
                    once(s, place)?;
                    ev.source_ips = r.strings()?;
                    Some(())
                }
                OBJECT_REF => {
                    once(s, place)?;
                    ev.object_ref = r.object_ref()?;
                    Some(())
                }
                RESPONSE_STATUS => {
                    once(s, place)?;
                    ev.response_status = r.response_status()?;
                    Some(())
                }
                ANNOTATIONS => {
                    once(s, place)?;
                    ev.annotations = r.annotations()?;
                    Some(())
                }
                // `metadata`, `requestObject`, `responseObject`.
                _ => r.skip(1),
            }
        })
    }

    /// `user` or `impersonatedUser`: `null` is none; a list (which serde would read as the
    /// struct's fields in order) is left to the general path.
    fn user(&mut self) -> Option<Option<AuditUser<'a>>> {
        if self.null() {
            return Some(None);
        }
        let mut user = AuditUser::default();
        let mut seen = 0u32;
        self.object(&USER_KEYS, |r, _, place| match place {
            Some(p @ 0) => r.field(&mut seen, p, &mut user.username),
            Some(p @ 2) => {
                once(&mut seen, p)?;
                user.groups = r.strings()?;
                Some(())
            }
            _ => r.skip(2),
        })?;
        Some(Some(user))
    }

    /// `objectRef`: `null` is none.
    fn object_ref(&mut self) -> Option<Option<AuditObjectRef<'a>>> {
        if self.null() {
            return Some(None);
        }
        let mut o = AuditObjectRef::default();
        let mut seen = 0u32;
        self.object(&OBJECT_REF_KEYS, |r, _, place| {
            let slot = match place {
                Some(0) => &mut o.resource,
                Some(1) => &mut o.namespace,
                Some(2) => &mut o.name,
                Some(4) => &mut o.api_group,
                Some(5) => &mut o.api_version,
                Some(7) => &mut o.subresource,
                _ => return r.skip(2),
            };
            r.field(&mut seen, place?, slot)
        })?;
        Some(Some(o))
    }

    /// `responseStatus`, of which only `code` is kept: `null` is none.
    fn response_status(&mut self) -> Option<Option<AuditResponseStatus>> {
        if self.null() {
            return Some(None);
        }
        let mut status = AuditResponseStatus::default();
        let mut seen = 0u32;
        self.object(&STATUS_KEYS, |r, _, place| match place {
            Some(p @ 5) => {
                once(&mut seen, p)?;
                status.code = if r.null() { None } else { Some(r.integer()?) };
                Some(())
            }
            _ => r.skip(2),
        })?;
        Some(Some(status))
    }

    /// `annotations`, of which the two authorization ones are kept: `null` is none.
    fn annotations(&mut self) -> Option<Option<AuditAnnotations<'a>>> {
        if self.null() {
            return Some(None);
        }
        let mut a = AuditAnnotations::default();
        let mut seen = 0u32;
        self.object(&ANNOTATIONS_KEYS, |r, _, place| match place {
            Some(p @ 0) => r.field(&mut seen, p, &mut a.decision),
            Some(p @ 1) => r.field(&mut seen, p, &mut a.reason),
            _ => r.skip(2),
        })?;
        Some(Some(a))
    }

    /// An integer as serde_json reads one into an `i64`, in the plain forms only: an optional
    /// minus, then `0` or up to 18 digits without a leading zero (`-0`, fractions, exponents
    /// and longer numbers are left to serde_json).
    fn integer(&mut self) -> Option<i64> {
        let negative = self.peek() == Some(b'-');
        let from = self.i + usize::from(negative);
        let digits = self
            .b
            .get(from..)?
            .iter()
            .take_while(|d| d.is_ascii_digit())
            .count();
        let text = self.b.get(from..from + digits)?;
        let leading_zero = digits > 1 && text.first() == Some(&b'0');
        let minus_zero = negative && text == b"0";
        let float = matches!(self.b.get(from + digits), Some(b'.' | b'e' | b'E'));
        if !(1..=18).contains(&digits) || leading_zero || minus_zero || float {
            return None;
        }
        let v = text.iter().fold(0i64, |v, &d| v * 10 + i64::from(d - b'0'));
        self.i = from + digits;
        Some(if negative { -v } else { v })
    }

    /// Skips the value at the cursor (nested `depth` deep), checking it as serde_json would.
    fn skip(&mut self, depth: u32) -> Option<()> {
        if !CARRIED && self.clean {
            return self.skip_flat(depth);
        }
        if depth > MAX_NESTING {
            return None;
        }
        match self.peek()? {
            b'"' => self.skip_string(),
            b'{' => {
                // Keys of skipped objects may hold escapes: they are only checked.
                self.i += 1;
                self.ws();
                if self.peek() == Some(b'}') {
                    self.i += 1;
                    return Some(());
                }
                loop {
                    if self.peek() != Some(b'"') {
                        return None;
                    }
                    self.skip(depth)?;
                    self.ws();
                    if !self.eat(b':') {
                        return None;
                    }
                    self.skip(depth + 1)?;
                    self.ws();
                    if self.eat(b',') {
                        continue;
                    }
                    if self.peek() == Some(b'}') {
                        self.i += 1;
                        return Some(());
                    }
                    return None;
                }
            }
            b'[' => {
                self.i += 1;
                self.ws();
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Some(());
                }
                loop {
                    self.skip(depth + 1)?;
                    self.ws();
                    if self.eat(b',') {
                        continue;
                    }
                    if self.peek() == Some(b']') {
                        self.i += 1;
                        return Some(());
                    }
                    return None;
                }
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number(),
        }
    }

    /// [`Self::skip`] of text as it stands (not carried) holding no control character, in one
    /// loop instead of a call for each value: the kinds of the containers it is in are bits of
    /// a word (one more level than [`MAX_NESTING`] allows is never needed), and each byte is
    /// looked at once. It takes what [`Self::skip`] takes, and declines what it declines,
    /// a value nested deeper than [`MAX_NESTING`] included (`depth` is that of the value at
    /// the cursor). A third of the instructions of reading a log went to skipping
    /// (`responseObject`, `requestObject`), most of them to the calls.
    fn skip_flat(&mut self, depth: u32) -> Option<()> {
        // Bit `k` of `objects` set: the container `k + 1` levels out is an object (else a
        // list); `open` containers hold the cursor.
        let mut objects = 0u64;
        let mut open = 0u32;
        let b = self.b;
        let mut i = self.i;
        let ws = |i: usize| compact_ws(b, i);
        let key = |i: usize| key_end(b, i);
        loop {
            // A value at `i`, `open` levels in.
            if depth + open > MAX_NESTING {
                return None;
            }
            match *b.get(i)? {
                b'"' => i = skip_clean_string(b, i)?,
                c @ (b'{' | b'[') => {
                    i = ws(i + 1);
                    let object = c == b'{';
                    if b.get(i) == Some(if object { &b'}' } else { &b']' }) {
                        i += 1;
                    } else {
                        objects = (objects << 1) | u64::from(object);
                        open += 1;
                        if object {
                            i = key(i)?;
                        }
                        continue;
                    }
                }
                b't' => i = literal_end(b, i, b"true")?,
                b'f' => i = literal_end(b, i, b"false")?,
                b'n' => i = literal_end(b, i, b"null")?,
                _ => i = number_end(b, i)?,
            }
            // After a value: the containers it ends.
            loop {
                if open == 0 {
                    self.i = i;
                    return Some(());
                }
                i = ws(i);
                let object = objects & 1 == 1;
                match *b.get(i)? {
                    b',' => {
                        i = ws(i + 1);
                        if object {
                            i = key(i)?;
                        }
                        break;
                    }
                    b'}' if object => {}
                    b']' if !object => {}
                    _ => return None,
                }
                i += 1;
                objects >>= 1;
                open -= 1;
            }
        }
    }

    /// Skips the string at the cursor, checking its escapes.
    fn skip_string(&mut self) -> Option<()> {
        if CARRIED {
            let b = self.b;
            let mut j = self.i + 2;
            loop {
                let at = j + quote_or_backslash(b.get(j..)?)?;
                // The string's end (`\"`), the common case, without the call.
                if b.get(at..at + 2) == Some(b"\\\"") {
                    self.i = at + 2;
                    return Some(());
                }
                match carried_char(b.get(at..)?)? {
                    CarriedChar::End => {
                        self.i = at + 2;
                        return Some(());
                    }
                    CarriedChar::Char(_, len) => j = at + len,
                }
            }
        }
        if !self.clean {
            let (_, len) = scan_string(self.s.get(self.i..)?, None)?;
            self.i += len;
            return Some(());
        }
        self.i = skip_clean_string(self.b, self.i)?;
        Some(())
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.i = literal_end(self.b, self.i, word)?;
        Some(())
    }

    /// Skips a number of JSON's grammar (see [`number_end`]).
    fn number(&mut self) -> Option<()> {
        self.i = number_end(self.b, self.i)?;
        Some(())
    }
}

/// The index after the string at `i` of `b` (at its quote) of text holding no control
/// character (see [`classify`]), its escapes checked. Inlined: most strings skipped are short
/// keys and values, and a call cost a third of skipping one.
#[inline(always)]
fn skip_clean_string(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    loop {
        let at = j + quote_or_backslash(b.get(j..)?)?;
        if b.get(at) == Some(&b'"') {
            return Some(at + 1);
        }
        let (_, len) = super::escape(b.get(at + 1..)?)?;
        j = at + 1 + len;
    }
}

/// The index of the first byte at or after `i` that is not whitespace (compact text has none:
/// one look).
#[inline(always)]
fn compact_ws(b: &[u8], i: usize) -> usize {
    if b.get(i).is_some_and(|&c| super::is_json_ws(c)) {
        skip_ws(b, i)
    } else {
        i
    }
}

/// The index after the key at `i` of `b` (at its quote), of text holding no control character,
/// the `:` and the whitespace around it.
#[inline(always)]
fn key_end(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let i = compact_ws(b, skip_clean_string(b, i)?);
    if b.get(i) != Some(&b':') {
        return None;
    }
    Some(compact_ws(b, i + 1))
}

/// The index after `word` at `i` of `b`, when it is there.
fn literal_end(b: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    if b.get(i..i + word.len())? != word {
        return None;
    }
    Some(i + word.len())
}

/// The index after the number at `i` of `b`, of JSON's grammar:
/// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?` (serde_json checks nothing more of
/// a number it ignores).
fn number_end(b: &[u8], mut i: usize) -> Option<usize> {
    let digits = |i: &mut usize| {
        let from = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - from
    };
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i)? {
        b'0' => i += 1,
        b'1'..=b'9' => {
            digits(&mut i);
        }
        _ => return None,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return None;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return None;
        }
    }
    Some(i)
}

/// `a == b` for short slices of the same length, eight bytes at a time without a call (a
/// `memcmp` call for each key cost more than the comparison).
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let word = |c: &[u8]| <[u8; 8]>::try_from(c).map(u64::from_le_bytes).unwrap_or(0);
    let mut wa = a.chunks_exact(8);
    let mut wb = b.chunks_exact(8);
    for (x, y) in (&mut wa).zip(&mut wb) {
        if word(x) != word(y) {
            return false;
        }
    }
    wa.remainder()
        .iter()
        .zip(wb.remainder())
        .all(|(x, y)| x == y)
}

/// Marks the key at `place` as read: `None` when it was already (a duplicate).
fn once(seen: &mut u32, place: usize) -> Option<()> {
    let bit = 1u32.checked_shl(u32::try_from(place).ok()?)?;
    if *seen & bit != 0 {
        return None;
    }
    *seen |= bit;
    Some(())
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::super::assert_paths_agree;

    proptest::proptest! {
        /// The AVX2 byte range is the portable one, at every length and alignment (when the
        /// machine has AVX2; otherwise `byte_range` is the portable one anyway).
        #[test]
        fn byte_range_is_the_same_with_avx2(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            skip in 0usize..40,
        ) {
            let b = bytes.get(skip.min(bytes.len())..).unwrap_or(&[]);
            let expected = (
                b.iter().copied().min().unwrap_or(0xff),
                b.iter().copied().max().unwrap_or(0),
            );
            proptest::prop_assert_eq!(super::byte_range(b), expected);
            proptest::prop_assert_eq!(super::byte_range_portable(b), expected);
        }
    }

    /// Asserts that `line` reads alike by the fast paths and the general path, alone and
    /// carried as a string by a wrapper (escaped the usual ways, see `carried_forms`). Lines
    /// longer than an event (a fixture that is one whole document) are read alone: reading them
    /// carried by the general path alone took minutes.
    fn same(line: &[u8]) {
        assert_paths_agree(line);
        if line.len() <= 64 << 10
            && let Ok(text) = std::str::from_utf8(line)
        {
            for record in super::super::carried_forms(text) {
                assert_paths_agree(record.as_bytes());
            }
        }
    }

    /// True when the one-pass reader of carried events itself read `line` carried as a string,
    /// escaped each usual way (it did not leave it to the general path).
    fn carried_scanned(line: &str) -> bool {
        let records = super::super::carried_forms(line);
        let arena = super::super::Arena::new();
        let mut sc = arena.scratch();
        records.iter().all(|record| {
            let quoted = &record[record.find(":\"{").unwrap_or(0) + 1..];
            let mut ev = crate::ingest::audit::AuditEvent::default();
            super::carried_event(quoted, true, &mut sc, &mut ev).is_some()
        })
    }

    /// True when the scanner itself read `line` (it did not leave it to the general path).
    fn scanned(line: &str) -> bool {
        let arena = super::super::Arena::new();
        let mut sc = arena.scratch();
        super::event(line, &mut sc).is_some()
    }

    /// A full event as (key, raw JSON value) members, in the API server's order.
    fn members() -> Vec<(&'static str, String)> {
        [
            ("kind", r#""Event""#),
            ("apiVersion", r#""audit.k8s.io/v1""#),
            ("level", r#""RequestResponse""#),
            ("auditID", r#""9ab53851-0b26-435e-620c-9a9a0e62717b""#),
            ("stage", r#""ResponseComplete""#),
            ("requestURI", r#""/api/v1/namespaces/ns/pods?labelSelector=a%3Db\u0026limit=500""#),
            ("verb", r#""list""#),
            ("user", r#"{"username":"kubecfg","uid":"u1","groups":["system:masters","system:authenticated"],"extra":{"k":["v"]}}"#),
            ("impersonatedUser", r#"{"username":"system:serviceaccount:ns:sa","groups":["system:serviceaccounts"]}"#),
            ("sourceIPs", r#"["35.202.114.73","::1"]"#),
            ("userAgent", r#""e2e.test/v1.12.0 (linux/amd64) kubernetes/b143093 -- [sig-storage] \"quoted\" é 中 😀""#),
            ("objectRef", r#"{"resource":"pods","namespace":"ns","name":"web-0","uid":"x","apiGroup":"","apiVersion":"v1","resourceVersion":"12","subresource":"status"}"#),
            ("responseStatus", r#"{"metadata":{},"status":"Failure","message":"x","reason":"Forbidden","details":{"name":"n"},"code":403}"#),
            ("requestObject", r#"{"kind":"Pod","spec":{"containers":[{"name":"c","image":"i","args":["a","b\n"],"resources":{"limits":{"cpu":1.5,"memory":-2e10}}}],"n":null,"t":true,"f":false}}"#),
            ("responseObject", r#"{"kind":"Status","items":[],"x":[[],{},[{}],0,-0,0.5e+3,1E-2]}"#),
            ("requestReceivedTimestamp", r#""2018-06-05T03:31:46.123456Z""#),
            ("stageTimestamp", r#""2018-06-05T03:31:46.234567Z""#),
            ("annotations", r#"{"authorization.k8s.io/decision":"forbid","authorization.k8s.io/reason":"RBAC: allowed by ClusterRoleBinding \"x\" of ClusterRole \"y\"","other":"z"}"#),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect()
    }

    fn join(m: &[(&str, String)]) -> String {
        let inner: Vec<String> = m.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
        format!("{{{}}}", inner.join(","))
    }

    /// Values of every type and form, for every member.
    const VALUES: &[&str] = &[
        "null",
        "true",
        "false",
        "1",
        "-1",
        "0",
        "-0",
        "01",
        "1.5",
        "1e3",
        "1E+3",
        "-1.5e-3",
        "1.",
        ".5",
        "1e",
        "-",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "18446744073709551616",
        "1e999",
        "123456789012345678901234567890",
        "200.0",
        "nul",
        "tru",
        r#""""#,
        r#""s""#,
        r#""a\u0026b\"c\\d\/e\n\t\b\f\r""#,
        r#""\ud83d\ude00 é""#,
        r#""\ud800""#,
        r#""\udc00x""#,
        r#""\x""#,
        r#""\u12""#,
        "\"tab\there\"",
        "\"ctl\u{1}\"",
        "[]",
        "{}",
        r#"["a"]"#,
        r#"["a",null]"#,
        r#"["a",1]"#,
        r#"["a","b\u0041"]"#,
        r#"[,]"#,
        r#"["a",]"#,
        r#"{"username":"u"}"#,
        r#"{"username":null,"groups":null}"#,
        r#"{"username":"u","username":"v"}"#,
        r#"{"groups":["g"],"groups":[]}"#,
        r#"{"code":200}"#,
        r#"{"code":null}"#,
        r#"{"code":"200"}"#,
        r#"{"code":-5}"#,
        r#"{"code":200,"code":201}"#,
        r#"{"code":1e2}"#,
        r#"{"code":99999999999999999999}"#,
        r#"{"resource":"r","namespace":null,"name":1}"#,
        r#"{"resource":"r","resource":"s"}"#,
        r#"{"authorization.k8s.io/decision":"allow"}"#,
        r#"{"authorization.k8s.io/decision":"allow","authorization.k8s.io/decision":"x"}"#,
        r#"["u",["g"]]"#,
        r#"{"a":}"#,
        r#"{"a" 1}"#,
        r#"{1:2}"#,
        r#"{"a":1,}"#,
        "[1 2]",
        r#"{"\u0061":1}"#,
        r#"{"k\"":"v"}"#,
    ];

    /// The kept keys' places name the right keys.
    #[test]
    fn key_places_match_the_order() {
        use super::{EVENT_ORDER, key::*};
        for (place, name) in [
            (KIND, "kind"),
            (API_VERSION, "apiVersion"),
            (LEVEL, "level"),
            (TIMESTAMP, "timestamp"),
            (AUDIT_ID, "auditID"),
            (STAGE, "stage"),
            (REQUEST_URI, "requestURI"),
            (VERB, "verb"),
            (USER, "user"),
            (IMPERSONATED_USER, "impersonatedUser"),
            (SOURCE_IPS, "sourceIPs"),
            (USER_AGENT, "userAgent"),
            (OBJECT_REF, "objectRef"),
            (RESPONSE_STATUS, "responseStatus"),
            (RECEIVED, "requestReceivedTimestamp"),
            (STAGE_TIMESTAMP, "stageTimestamp"),
            (ANNOTATIONS, "annotations"),
        ] {
            assert_eq!(EVENT_ORDER[place], name);
        }
        assert_eq!(super::USER_ORDER[0], "username");
        assert_eq!(super::USER_ORDER[2], "groups");
        assert_eq!(super::OBJECT_REF_ORDER[7], "subresource");
        assert_eq!(super::STATUS_ORDER[5], "code");
        // Every key's `"name":` stands as written.
        for (order, keys) in [
            (EVENT_ORDER, &super::EVENT_KEYS[..]),
            (super::USER_ORDER, &super::USER_KEYS[..]),
            (super::OBJECT_REF_ORDER, &super::OBJECT_REF_KEYS[..]),
            (super::STATUS_ORDER, &super::STATUS_KEYS[..]),
            (super::ANNOTATIONS_ORDER, &super::ANNOTATIONS_KEYS[..]),
        ] {
            assert_eq!(order.len(), keys.len());
            for (name, key) in order.iter().zip(keys) {
                assert_eq!(key.name, *name);
                assert_eq!(key.text.bytes(), format!("\"{name}\":").as_bytes());
            }
        }
    }

    /// Every member replaced by every value, removed, duplicated; the event's other edges.
    #[test]
    fn scanner_reads_as_the_general_path() {
        let base = members();
        same(join(&base).as_bytes());
        assert!(scanned(&join(&base)));
        assert!(carried_scanned(&join(&base)));
        for (n, (key, _)) in base.iter().enumerate() {
            for value in VALUES {
                let mut m = base.clone();
                m[n].1 = value.to_string();
                same(join(&m).as_bytes());
            }
            let mut m = base.clone();
            m.remove(n);
            same(join(&m).as_bytes());
            let mut m = base.clone();
            m.insert(n, (key, r#""dup""#.to_string()));
            same(join(&m).as_bytes());
            // The key escaped: serde_json matches it to its field all the same.
            let mut m = base.clone();
            let escaped = format!("\\u{:04x}{}", key.as_bytes()[0], &key[1..]);
            let line = join(&m).replacen(&format!("\"{key}\""), &format!("\"{escaped}\""), 1);
            same(line.as_bytes());
            m.push(("extra", m[n].1.clone()));
            same(join(&m).as_bytes());
        }
        // Any order, and whitespace everywhere JSON allows it.
        let mut rev = base.clone();
        rev.reverse();
        same(join(&rev).as_bytes());
        assert!(scanned(&join(&rev)));
        assert!(carried_scanned(&join(&rev)));
        let spaced: Vec<String> = base
            .iter()
            .map(|(k, v)| format!("\n\t\"{k}\" \r:  {v} "))
            .collect();
        let spaced = format!(" \t{{ {} }} \r", spaced.join(" ,\n"));
        same(spaced.as_bytes());
        let pretty = serde_json::to_string_pretty(
            &serde_json::from_str::<serde_json::Value>(&join(&base)).unwrap(),
        )
        .unwrap();
        same(pretty.as_bytes());
        // Every prefix of the line, and the line with garbage after it.
        let line = join(&base);
        for cut in 0..line.len() {
            if line.is_char_boundary(cut) {
                same(&line.as_bytes()[..cut]);
            }
        }
        for tail in ["x", ",", "}", " {}", "\u{0}", "[]"] {
            same(format!("{line}{tail}").as_bytes());
        }
        // The skip reasons and the missing fields that decide them.
        for (key, value) in [
            ("apiVersion", r#""audit.k8s.io/v2""#),
            ("apiVersion", r#""audit.k8s.io/v1beta1""#),
            ("apiVersion", r#""""#),
            ("stage", r#""Later""#),
            ("stage", r#""""#),
            ("auditID", r#""""#),
            ("verb", r#""""#),
            ("kind", r#""EventList""#),
            ("requestReceivedTimestamp", r#""2018-06-05""#),
            ("requestReceivedTimestamp", r#""""#),
            ("stageTimestamp", r#""yesterday""#),
            (
                "requestReceivedTimestamp",
                r#""2018-06-05T03:31:46.123456\u005a""#,
            ),
        ] {
            let mut m = base.clone();
            if let Some(slot) = m.iter_mut().find(|(k, _)| *k == key) {
                slot.1 = value.to_string();
            }
            same(join(&m).as_bytes());
        }
        let v1beta1 = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1beta1","metadata":{"creationTimestamp":"2018-06-05T03:31:46Z"},"level":"Metadata","timestamp":"2018-06-05T03:31:46Z","auditID":"a","stage":"ResponseComplete","requestURI":"/x","verb":"get"}"#;
        same(v1beta1.as_bytes());
        assert!(scanned(v1beta1));
        for only in [
            r#"{"auditID":"a"}"#,
            r#"{"verb":"get"}"#,
            r#"{"kind":"Event"}"#,
            r#"{"kind":"Other","level":"x"}"#,
            r#"{}"#,
            r#"{"log":"{}","auditID":"a"}"#,
        ] {
            same(only.as_bytes());
        }
    }

    /// Skipped values nested up to and past the scanner's and serde_json's limits.
    #[test]
    fn deep_values_read_as_the_general_path() {
        let base = members();
        for depth in [1, 10, 60, 62, 63, 64, 65, 66, 100, 126, 127, 128, 129, 200] {
            for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
                let mut m = base.clone();
                m[13].1 = format!("{}1{}", open.repeat(depth), close.repeat(depth));
                same(join(&m).as_bytes());
                // Unbalanced.
                m[13].1 = format!("{}1{}", open.repeat(depth), close.repeat(depth - 1));
                same(join(&m).as_bytes());
            }
        }
    }

    /// Invalid UTF-8 in kept and in skipped strings, and control characters.
    #[test]
    fn bad_bytes_read_as_the_general_path() {
        let line = join(&members());
        for at in [
            "\"9ab5",
            "\"/api",
            "\"e2e.test",
            "\"kubecfg",
            "\"35.202",
            "\"pods",
            "\"Pod",
            "\"c\"",
            "\"RBAC",
            "\"z\"",
        ] {
            let i = line.find(at).unwrap() + 1;
            for bad in [
                &b"\xff"[..],
                b"\xc3",
                b"\xed\xa0\x80",
                b"\x01",
                b"\t",
                b"\n",
                b"\x7f",
            ] {
                let mut bytes = line.as_bytes().to_vec();
                bytes.splice(i..i, bad.iter().copied());
                same(&bytes);
            }
        }
    }

    /// Every line of every audit fixture reads alike both ways.
    #[test]
    fn fixtures_read_as_the_general_path() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut scanned_lines = 0;
        let mut carried_lines = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if !path.is_file() {
                continue;
            }
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let mut data = std::fs::read(&path).unwrap();
            if name.ends_with(".gz") {
                let mut out = Vec::new();
                flate2::read::MultiGzDecoder::new(&data[..])
                    .read_to_end(&mut out)
                    .unwrap();
                data = out;
            }
            // Only files with JSON lines or documents (a few MB at most are read).
            if !matches!(data.first(), Some(b'{' | b'[')) || data.len() > 64 << 20 {
                continue;
            }
            for (n, line) in data.split(|&b| b == b'\n').enumerate() {
                // The first lines of each file also carried as a string (all of them took
                // minutes of a debug build).
                if n < 100 {
                    same(line);
                    if std::str::from_utf8(line).is_ok_and(carried_scanned) {
                        carried_lines += 1;
                    }
                } else {
                    assert_paths_agree(line);
                }
                if std::str::from_utf8(line).is_ok_and(scanned) {
                    scanned_lines += 1;
                }
            }
        }
        assert!(scanned_lines > 700, "{scanned_lines}");
        assert!(carried_lines > 100, "{carried_lines}");
    }
}
