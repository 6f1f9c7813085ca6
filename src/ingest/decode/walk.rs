//! The fast path through wrappers: a wrapper object read key by key in one pass, an event it
//! carries as a string read as it stands, escaped, by the event scanner (or, when the scanner
//! leaves it, unescaped while its end is found and read then), and a list read item by item
//! (an event parsed straight from the list, not first cut out of it).
//!
//! Every function here either gives exactly what the general path of [`super::expand`] would
//! give, or `None` (nothing pushed) when the input is anything it does not handle itself —
//! an event, escapes in keys, a duplicate wrapper key, JSON it would have to judge — and then
//! the general path reads it. That keeps one set of rules (serde_json's) for what is valid.

use serde_json::value::RawValue;

use super::{Carried, Item, MAX_DEPTH, Scratch, Unescaped, WalkedText, scan_string};
use crate::ingest::audit::{AuditEvent, reasons};

/// A wrapper key's value, as [`walk_object`] captured it.
enum Held<'a> {
    /// Any JSON value but a string, to be read by [`super::expand`].
    Raw(&'a RawValue),
    /// A string: its text, already unescaped.
    Text(Carried<'a>),
    /// A string carrying an event, read as it stands ([`super::event::carried_event`]): what
    /// reading its text would give. Boxed, and read in its box: an event is large, and
    /// [`Walked`] holds ten values (moving them unboxed cost a fifth of reading a `{"log"}`
    /// line).
    Event(Result<Box<AuditEvent<'a>>, &'static str>),
    /// An object read as a wrapper on the way (what [`walk_object`] gives for its text).
    Object(Box<Walked<'a>>, &'a str),
    /// A list read on the way, inside a value whose nesting is known: its items.
    Items(Vec<Item<'a>>),
}

/// The wrapper keys of an object (those of [`super::Envelope`] but `protoPayload`).
#[derive(Default)]
struct Walked<'a> {
    items: Option<Held<'a>>,
    records: Option<Held<'a>>,
    properties: Option<Held<'a>>,
    hits: Option<Held<'a>>,
    source: Option<Held<'a>>,
    body_value: Option<Held<'a>>,
    events: Option<Held<'a>>,
    log_events: Option<Held<'a>>,
    log: Option<Held<'a>>,
    message: Option<Held<'a>>,
}

/// The index of the first byte at or after `i` that is not JSON whitespace (runs of spaces,
/// an indented document's, eight bytes at a time).
fn skip_ws(b: &[u8], mut i: usize) -> usize {
    loop {
        match b.get(i) {
            Some(b' ') => i = super::space_run_end(b, i),
            Some(&c) if super::is_json_ws(c) => i += 1,
            _ => return i,
        }
    }
}

/// One JSON value at the start of `s` (no whitespace before it), and the index after it.
fn raw_value(s: &str) -> Option<(&RawValue, usize)> {
    let mut stream = serde_json::Deserializer::from_str(s).into_iter::<&RawValue>();
    let raw = stream.next()?.ok()?;
    Some((raw, stream.byte_offset()))
}

/// How many containers may hold a value the walk reaches inside one text: each level of
/// `depth` (below [`MAX_DEPTH`]) opens at most one (an object, or a list, whose items are
/// read a level deeper), and the text's own outermost one; doubled for a margin.
const ENCLOSING: usize = 2 * (MAX_DEPTH as usize + 1);

/// serde_json's recursion limit: a text nesting this many containers is not read.
const SERDE_LIMIT: usize = 128;

/// How deep a value the walk skips or leaves to serde_json may nest in itself, when the
/// nesting of the text around it is not known: below this, the whole text nests within
/// [`SERDE_LIMIT`] wherever the value sits.
const VALUE_LIMIT: usize = SERDE_LIMIT - ENCLOSING;

// An event read by the event scanner nests at most `MAX_NESTING + 1` containers (its own
// object and its skipped values), so it needs no look at its nesting either.
const _: () = assert!(super::event::MAX_NESTING as usize + 1 + ENCLOSING < SERDE_LIMIT);

/// True when the value `v` (a member's or an item's text) may be left to serde_json or
/// skipped: its nesting is known, it is no container, or it nests below [`VALUE_LIMIT`].
fn value_nesting_ok(v: &[u8], sc: &Scratch<'_>) -> bool {
    sc.nesting_ok || !matches!(v.first(), Some(b'{' | b'[')) || nesting_below(v, VALUE_LIMIT)
}

/// What a key of an object means to the walk.
#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyRole {
    /// A wrapper key (those of [`super::Envelope`] but `protoPayload`): its value may hold
    /// events.
    Wrapper,
    /// A field only an event has (or `protoPayload`), whose value serde_json would judge as
    /// more than a string: an event, or something the general path must weigh.
    EventOnly,
    /// One of the event's string fields, also found in wrappers (`kind`, `apiVersion` of a
    /// batch): see [`event_string_len`].
    EventString,
    /// Any other key: its value is skipped.
    Other,
}

/// What `key` means to the walk (one set of rules for [`walk_object`] and [`carried_line`]).
fn key_role(key: &str) -> KeyRole {
    match key {
        "items" | "records" | "properties" | "hits" | "_source" | "Body.value" | "events"
        | "logEvents" | "log" | "message" => KeyRole::Wrapper,
        "auditID" | "stage" | "verb" | "user" | "impersonatedUser" | "sourceIPs" | "objectRef"
        | "responseStatus" | "annotations" | "protoPayload" => KeyRole::EventOnly,
        "apiVersion"
        | "kind"
        | "level"
        | "requestURI"
        | "userAgent"
        | "requestReceivedTimestamp"
        | "stageTimestamp"
        | "timestamp" => KeyRole::EventString,
        _ => KeyRole::Other,
    }
}

/// The length of the value `rest` starts with, of the event's string field `key` in an object
/// read as a wrapper, when the object stays a non-event with it: a plain string, unless it is
/// `kind: Event`, or a scalar serde_json would call the wrong type. `None` otherwise.
fn event_string_len(key: &str, rest: &str) -> Option<usize> {
    if rest.as_bytes().first() != Some(&b'"') {
        // A number where a string belongs (a CloudWatch item's `timestamp`): serde_json
        // would call it the wrong type, unless it cannot read it.
        return plain_scalar(rest.as_bytes());
    }
    match scan_string(rest, None)? {
        (Unescaped::Verbatim(v), len) if !(key == "kind" && v == "Event") => Some(len),
        _ => None,
    }
}

/// The length of the value `rest` starts with, of a key the walk skips, when its nesting
/// allows it (see [`value_nesting_ok`]).
fn other_value_len(rest: &str, sc: &Scratch<'_>) -> Option<usize> {
    let b = rest.as_bytes();
    if b.first() == Some(&b'"') {
        // A string without escapes (a CloudWatch item's `logStreamName`, `eventId`).
        if let Some(end) = plain_string_end(b, 0) {
            return Some(end);
        }
    } else if let Some(len) = plain_scalar(b) {
        // A plain scalar (a CloudWatch item's `ingestionTime`) without serde_json's set-up:
        // it reads one to the same end, and what follows is judged after it alike.
        return Some(len);
    }
    let len = skip_value(rest)?;
    value_nesting_ok(rest.as_bytes().get(..len)?, sc).then_some(len)
}

/// Reads the object `s` starts with as a wrapper: `Some((wrapper keys, index after the
/// object))`, or `None` when it may be an event or holds anything unusual.
///
/// When the nesting of the text is not known ([`Scratch::nesting_ok`] false), each member
/// that is an object or a list is checked on its own (see [`VALUE_LIMIT`]), not the whole
/// object: a member that is a list of events (an `EventList`'s `items`) is read item by item
/// without looking at its brackets twice.
fn walk_object<'a>(s: &'a str, depth: u32, sc: &mut Scratch<'a>) -> Option<(Walked<'a>, usize)> {
    let b = s.as_bytes();
    if b.first() != Some(&b'{') {
        return None;
    }
    let mut w = Walked::default();
    let mut i = skip_ws(b, 1);
    loop {
        let (key, at) = member_key(s, i)?;
        i = at;
        let rest = s.get(i..)?;
        let slot = match key_role(key) {
            KeyRole::Wrapper => match key {
                "items" => &mut w.items,
                "records" => &mut w.records,
                "properties" => &mut w.properties,
                "hits" => &mut w.hits,
                "_source" => &mut w.source,
                "Body.value" => &mut w.body_value,
                "events" => &mut w.events,
                "logEvents" => &mut w.log_events,
                "log" => &mut w.log,
                _ => &mut w.message,
            },
            KeyRole::EventOnly => return None,
            KeyRole::EventString => {
                i = skip_ws(b, i + event_string_len(key, rest)?);
                if !next_member(b, &mut i)? {
                    break;
                }
                continue;
            }
            KeyRole::Other => {
                i = skip_ws(b, i + other_value_len(rest, sc)?);
                if !next_member(b, &mut i)? {
                    break;
                }
                continue;
            }
        };
        if slot.is_some() {
            // A duplicate: serde_json's error, on the general path.
            return None;
        }
        let carried_event = if b.get(i + 1) == Some(&b'{') && depth + 1 < MAX_DEPTH {
            let mut ev = Box::<AuditEvent<'a>>::default();
            let clean = walked_clean(sc, b);
            super::event::carried_event(rest, clean, sc, &mut ev)
                .map(|(res, len)| (res.map(|()| ev), len))
        } else {
            None
        };
        let (held, len) = if let Some((item, len)) = carried_event {
            (Held::Event(item), len)
        } else if b.get(i) == Some(&b'"') {
            let (unescaped, len) = scan_string(rest, Some(&mut sc.text))?;
            let carried = match unescaped {
                Unescaped::Verbatim(t) if super::opens_json(t) => Carried::Json(t),
                Unescaped::Verbatim(_) => Carried::Other,
                Unescaped::InText => sc.keep_text()?,
            };
            (Held::Text(carried), len)
        } else if let Some((items, len)) = (b.get(i) == Some(&b'[') && depth + 1 < MAX_DEPTH)
            .then(|| {
                // A list (`items`, `records`, `events`): its items read on the way, not
                // cut out first and read again.
                let mut items = Vec::new();
                let len = list_items(rest, &mut items, depth + 1, sc)?;
                Some((items, len))
            })
            .flatten()
        {
            (Held::Items(items), len)
        } else if let Some((inner, len)) = (b.get(i) == Some(&b'{') && depth + 1 < MAX_DEPTH)
            .then(|| walk_object(rest, depth + 1, sc))
            .flatten()
        {
            // A wrapper in a wrapper (`_source`, `properties`): read on the way, not cut out
            // first and read again.
            (Held::Object(Box::new(inner), rest.get(..len)?), len)
        } else {
            let (raw, len) = raw_value(rest)?;
            if !value_nesting_ok(raw.get().as_bytes(), sc) {
                return None;
            }
            (Held::Raw(raw), len)
        };
        *slot = Some(held);
        i = skip_ws(b, i + len);
        if !next_member(b, &mut i)? {
            break;
        }
    }
    Some((w, i))
}

/// Reads the line `s` (exactly one JSON object, whitespace around it allowed) when it is the
/// common wrapper of one event carried as a string — an OpenSearch hit
/// `{"_index":…,"_source":{"Body.value":"<event>"}}`, a shipper's `{"log":"<event>",…}` —
/// straight into `ev` (a default event, in its place among the block's outcomes): what
/// [`wrapper`] would give at depth 0, as its only item. `clean` is [`super::event::classify`]
/// of the line.
///
/// The keys are judged by the rules of [`walk_object`] ([`key_role`]); only a wrapper key is
/// read otherwise: there must be exactly one in each object, and its value is the carried
/// event (read by [`super::event::carried_event`]) or an object of the same shape. `None`
/// (`ev` then holds a part of an event, to be thrown away) for anything else — a second
/// wrapper key, a list, a string the carried-event scanner leaves, any object [`walk_object`]
/// would not take — and the caller reads the line as before. So whatever this reads, the walk
/// (and the general path) would read alike, with no [`Walked`] or boxed event moved on the
/// way.
pub(super) fn carried_line<'a>(
    s: &'a str,
    clean: bool,
    sc: &mut Scratch<'a>,
    ev: &mut AuditEvent<'a>,
) -> Option<Result<(), &'static str>> {
    // As `parse_json_line` calls the walk: the nesting of the line is not known.
    sc.nesting_ok = false;
    carried_whole(s, 0, clean, sc, ev)
}

/// [`carried_object`] of the whole of `s` (whitespace around the object allowed): the event's
/// outcome, `None` when anything else follows the object.
fn carried_whole<'a>(
    s: &'a str,
    depth: u32,
    clean: bool,
    sc: &mut Scratch<'a>,
    ev: &mut AuditEvent<'a>,
) -> Option<Result<(), &'static str>> {
    let b = s.as_bytes();
    let start = skip_ws(b, 0);
    let (res, len) = carried_object(s.get(start..)?, depth, clean, sc, ev)?;
    (skip_ws(b, start + len) == b.len()).then_some(res)
}

/// [`carried_line`] of a document's item at `depth` (a piece [`crate::ingest::document`]
/// cut out): what [`wrapper`] would give there, as its only item. The scan that cut the piece
/// found no control character in the document's strings and checked its nesting, so the
/// item is read as clean, with the nesting the caller set.
pub(super) fn carried_document_item<'a>(
    s: &'a str,
    depth: u32,
    sc: &mut Scratch<'a>,
    ev: &mut AuditEvent<'a>,
) -> Option<Result<(), &'static str>> {
    carried_whole(s, depth, true, sc, ev)
}

/// [`carried_line`] of the object `s` starts with (at its `{`), at `depth`: the event's
/// outcome and the index after the object.
fn carried_object<'a>(
    s: &'a str,
    depth: u32,
    clean: bool,
    sc: &mut Scratch<'a>,
    ev: &mut AuditEvent<'a>,
) -> Option<(Result<(), &'static str>, usize)> {
    let b = s.as_bytes();
    if b.first() != Some(&b'{') || depth + 1 >= MAX_DEPTH {
        return None;
    }
    let mut found = None;
    let mut i = skip_ws(b, 1);
    loop {
        let (key, at) = member_key(s, i)?;
        i = at;
        let rest = s.get(i..)?;
        let len = match key_role(key) {
            // A second wrapper key (or a duplicate): the walk reads both.
            KeyRole::Wrapper if found.is_some() => return None,
            KeyRole::Wrapper => {
                let (res, len) = match b.get(i) {
                    Some(b'"') => super::event::carried_event(rest, clean, sc, ev)?,
                    Some(b'{') => carried_object(rest, depth + 1, clean, sc, ev)?,
                    _ => return None,
                };
                found = Some(res);
                len
            }
            KeyRole::EventOnly => return None,
            KeyRole::EventString => event_string_len(key, rest)?,
            KeyRole::Other => other_value_len(rest, sc)?,
        };
        i = skip_ws(b, i + len);
        if !next_member(b, &mut i)? {
            break;
        }
    }
    Some((found?, i))
}

/// The key of the member of an object's text `s` at `i`, and where its value starts (past the
/// colon and the whitespace around it). `None` for anything else, and for a key with escapes,
/// which is left to serde_json.
fn member_key(s: &str, i: usize) -> Option<(&str, usize)> {
    let b = s.as_bytes();
    let end = plain_string_end(b, i)?;
    let key = s.get(i + 1..end - 1)?;
    let colon = skip_ws(b, end);
    if b.get(colon) != Some(&b':') {
        return None;
    }
    Some((key, skip_ws(b, colon + 1)))
}

/// After a member: `Some(true)` at a comma (and moves past it and the whitespace after),
/// `Some(false)` at the closing brace (moves past it), `None` at anything else.
fn next_member(b: &[u8], i: &mut usize) -> Option<bool> {
    match b.get(*i)? {
        b',' => {
            *i = skip_ws(b, *i + 1);
            Some(true)
        }
        b'}' => {
            *i += 1;
            Some(false)
        }
        _ => None,
    }
}

/// The index after the closing quote of the string at `i` of `b` when its text holds no
/// escape or control byte: it ends at its first quote, backslash or control byte, which must
/// be the quote (what `scan_string` reads as verbatim). `None` for anything else.
fn plain_string_end(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let end = i + 1 + super::find_special(b.get(i + 1..)?)?;
    (b.get(end) == Some(&b'"')).then_some(end + 1)
}

/// The length of the scalar `b` starts with when it is one serde_json reads without fail as
/// any type: `true`, `false`, `null`, or an integer of at most 18 digits.
fn plain_scalar(b: &[u8]) -> Option<usize> {
    if !matches!(b.first(), Some(b'-' | b'0'..=b'9')) {
        for word in [&b"true"[..], b"false", b"null"] {
            if b.starts_with(word) {
                return Some(word.len());
            }
        }
        return None;
    }
    let sign = usize::from(b.first() == Some(&b'-'));
    let digits = b
        .get(sign..)?
        .iter()
        .take_while(|d| d.is_ascii_digit())
        .count();
    // No leading zero (invalid JSON), no fraction or exponent (a float may be out of range).
    let valid = (1..=18).contains(&digits)
        && !(digits > 1 && b.get(sign) == Some(&b'0'))
        && !matches!(b.get(sign + digits), Some(b'.' | b'e' | b'E'));
    valid.then_some(sign + digits)
}

/// The length of the JSON value `s` starts with.
fn skip_value(s: &str) -> Option<usize> {
    if s.as_bytes().first() == Some(&b'"') {
        return Some(scan_string(s, None)?.1);
    }
    Some(raw_value(s)?.1)
}

/// Reads `s` (exactly one JSON object, whitespace around it allowed) as a wrapper at `depth`:
/// true when it was one and its items are in `out`.
pub(super) fn wrapper<'a>(
    s: &'a str,
    out: &mut Vec<Item<'a>>,
    depth: u32,
    sc: &mut Scratch<'a>,
) -> bool {
    // The line `parse_line_into` reads (the only text it marks as known, at depth 0, for as
    // long as it reads the line) keeps what was found of its control characters; so does a
    // document's piece (`expand_document_part`, at the piece's depth).
    let walked = match sc.walked {
        WalkedText::Known(clean) if depth == sc.walked_depth => WalkedText::Known(clean),
        _ => WalkedText::Unknown(s),
    };
    let saved = std::mem::replace(&mut sc.walked, walked);
    let done = wrapper_of(s, out, depth, sc);
    sc.walked = saved;
    done
}

/// [`wrapper`] of the text [`Scratch::walked`] holds.
fn wrapper_of<'a>(s: &'a str, out: &mut Vec<Item<'a>>, depth: u32, sc: &mut Scratch<'a>) -> bool {
    if depth >= MAX_DEPTH {
        return false;
    }
    let b = s.as_bytes();
    let start = skip_ws(b, 0);
    let Some(rest) = s.get(start..) else {
        return false;
    };
    let Some((w, len)) = walk_object(rest, depth, sc) else {
        return false;
    };
    if skip_ws(b, start + len) != b.len() {
        return false;
    }
    let saved = std::mem::replace(&mut sc.nesting_ok, true);
    open(w, out, depth, sc);
    sc.nesting_ok = saved;
    true
}

/// Reads the wrapper keys in the order the wrapper modules do, as [`super::expand_wrappers`].
fn open<'a>(w: Walked<'a>, out: &mut Vec<Item<'a>>, depth: u32, sc: &mut Scratch<'a>) {
    let mut found = false;
    for held in [
        w.items,
        w.records,
        w.properties,
        w.hits,
        w.source,
        w.body_value,
        w.events,
        w.log_events,
        w.log,
        w.message,
    ]
    .into_iter()
    .flatten()
    {
        found = true;
        match held {
            Held::Raw(raw) => super::expand_str(raw.get(), out, depth + 1, sc),
            // What `expand` does with a string at `depth + 1`.
            Held::Text(Carried::Json(t)) if depth + 1 < MAX_DEPTH => {
                super::expand_fresh(t, out, depth + 2, sc);
            }
            Held::Text(_) => out.push(Err(reasons::NOT_AN_EVENT)),
            Held::Event(item) => out.push(item.map(|ev| *ev)),
            // What `expand` does with the object's text at `depth + 1` (its nesting is known
            // here: `open` runs inside a checked value).
            Held::Object(inner, _) if depth + 1 < MAX_DEPTH => open(*inner, out, depth + 1, sc),
            Held::Object(_, text) => super::expand_str(text, out, depth + 1, sc),
            Held::Items(items) if out.is_empty() => *out = items,
            Held::Items(items) => out.extend(items),
        }
    }
    if !found {
        out.push(Err(reasons::NOT_AN_EVENT));
    }
}

/// Reads `s` (exactly one JSON list, whitespace around it allowed) at `depth` item by item:
/// an event straight from the list, a wrapper by [`walk_object`]. False (nothing pushed)
/// when an item is anything else.
pub(super) fn list<'a>(
    s: &'a str,
    out: &mut Vec<Item<'a>>,
    depth: u32,
    sc: &mut Scratch<'a>,
) -> bool {
    if !(sc.nesting_ok || nesting_ok(s.as_bytes())) {
        return false;
    }
    let before = out.len();
    let saved = std::mem::replace(&mut sc.nesting_ok, true);
    let saved_text = std::mem::replace(&mut sc.walked, WalkedText::Unknown(s));
    let b = s.as_bytes();
    let start = skip_ws(b, 0);
    let done = s
        .get(start..)
        .and_then(|rest| list_items(rest, out, depth, sc))
        .is_some_and(|len| skip_ws(b, start + len) == b.len());
    sc.nesting_ok = saved;
    sc.walked = saved_text;
    if !done {
        out.truncate(before);
    }
    done
}

/// The items of the list `s` starts with (at its `[`), read at `depth` into `out`, and the
/// index after the list; `None` (some items may be in `out`) when an item is neither an event
/// nor a wrapper [`walk_object`] reads.
fn list_items<'a>(
    s: &'a str,
    out: &mut Vec<Item<'a>>,
    depth: u32,
    sc: &mut Scratch<'a>,
) -> Option<usize> {
    let b = s.as_bytes();
    if depth >= MAX_DEPTH || b.first() != Some(&b'[') {
        return None;
    }
    let mut i = skip_ws(b, 1);
    if b.get(i) == Some(&b']') {
        return Some(i + 1);
    }
    let clean = walked_clean(sc, b);
    loop {
        let rest = s.get(i..)?;
        if b.get(i) != Some(&b'{') {
            return None;
        }
        // An item is read as `expand` reads it at `depth + 1`: an event when it is one, else
        // a wrapper.
        if let Some((w, len)) = (depth + 1 < MAX_DEPTH)
            .then(|| walk_object(rest, depth + 1, sc))
            .flatten()
        {
            open(w, out, depth + 1, sc);
            i += len;
        } else if let Some((item, len)) = super::event::event_prefix(rest, clean, sc) {
            out.push(item);
            i += len;
        } else {
            let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<AuditEvent<'a>>();
            let mut ev = stream.next()?.ok()?;
            let len = stream.byte_offset();
            if !(ev.looks_like_event() || ev.kind == "Event")
                || !value_nesting_ok(rest.as_bytes().get(..len)?, sc)
            {
                return None;
            }
            out.push(ev.validate().map(|()| ev));
            i += len;
        }
        i = skip_ws(b, i);
        match b.get(i)? {
            b',' => i = skip_ws(b, i + 1),
            b']' => return Some(i + 1),
            _ => return None,
        }
    }
}

/// True when the text walked holds no control character ([`super::event::classify`]); `b` is
/// the part of it being read, looked at alone when no walk is under way. Worked out once for
/// the whole text walked, not once per list, item or carried string.
fn walked_clean(sc: &mut Scratch<'_>, b: &[u8]) -> bool {
    match sc.walked {
        WalkedText::Known(clean) => clean,
        WalkedText::Unknown(text) => {
            let clean = super::event::classify(text.as_bytes());
            sc.walked = WalkedText::Known(clean);
            clean
        }
        WalkedText::None => super::event::classify(b),
    }
}

/// True when the JSON text `b` nests fewer containers than serde_json's recursion limit (128),
/// so that reading its parts one by one accepts what reading it whole would (deeper input is
/// left to the general path, whose whole read fails).
fn nesting_ok(b: &[u8]) -> bool {
    nesting_below(b, SERDE_LIMIT)
}

/// True when the JSON text `b` nests fewer than `limit` containers. Most text has too few
/// brackets to need looking at their nesting.
fn nesting_below(b: &[u8], limit: usize) -> bool {
    if memchr::memchr2_iter(b'{', b'[', b).take(limit).count() < limit {
        return true;
    }
    let mut depth = 0;
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        i += 1;
        match c {
            b'"' => loop {
                // Inside a string: to its closing quote, over escapes.
                let Some(p) = memchr::memchr2(b'"', b'\\', b.get(i..).unwrap_or(&[])) else {
                    return false;
                };
                i += p + 1;
                if b.get(i - 1) == Some(&b'"') {
                    break;
                }
                i += 1;
            },
            b'{' | b'[' => {
                depth += 1;
                if depth >= limit {
                    return false;
                }
            }
            b'}' | b']' => depth -= usize::from(depth > 0),
            _ => {}
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::super::Arena;
    use crate::ingest::audit::AuditEvent;

    use super::super::assert_paths_agree as same;

    /// The common wrappers of one carried event (OpenSearch hits and `_source`s, `{"log"}` and
    /// `{"message"}` records) are read by [`super::carried_line`], not left to the walk, and
    /// give what the general path gives; what it leaves (an event as an object, a log line
    /// that is no event) it leaves whole.
    #[test]
    fn carried_lines_read_directly_as_the_general_path() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut lines = Vec::new();
        for name in [
            "audit-opensearch-hits.jsonl",
            "audit-opensearch-source.jsonl",
            "shipper-log-message.jsonl",
        ] {
            let data = std::fs::read_to_string(dir.join(name)).unwrap();
            lines.extend(data.lines().map(str::to_string));
        }
        lines.extend(super::super::carried_forms(EVENT));
        let mut direct = 0;
        for line in &lines {
            let (text, clean) = super::super::event::line_text(line.as_bytes()).unwrap();
            let arena = Arena::new();
            let mut sc = arena.scratch();
            let mut ev = AuditEvent::default();
            let Some(res) = super::carried_line(text, clean, &mut sc, &mut ev) else {
                continue;
            };
            direct += 1;
            let item = res.map(|()| ev);
            assert_eq!(
                format!("one {item:?}"),
                super::super::parse_line_as_text(line.as_bytes(), false),
                "{line}"
            );
            // And the reader of lines takes the same path.
            same(line.as_bytes());
        }
        // 3 hits, 3 `_source`s, 6 string records of 9, and the 3 forms of `EVENT`.
        assert_eq!(direct, 15, "{lines:#?}");
    }

    /// The text walked is looked at once for control characters: a control character in
    /// any list of it, before or after another list, is still seen by every list.
    #[test]
    fn a_control_character_anywhere_is_seen_by_every_list() {
        let ev = EVENT;
        let bad = EVENT.replace("\"u\"", "\"u\u{1}\"");
        for line in [
            format!(r#"{{"records":[{ev}],"events":[{bad}]}}"#),
            format!(r#"{{"records":[{bad}],"events":[{ev}]}}"#),
            format!(r#"[{{"records":[{ev}]}},{{"records":[{bad}]}}]"#),
            format!(r#"[{{"records":[{bad}]}},{{"records":[{ev}]}}]"#),
        ] {
            same(line.as_bytes());
        }
    }

    const EVENT: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a1","stage":"ResponseComplete","requestURI":"/api/v1/pods?limit=1","verb":"list","user":{"username":"u"},"sourceIPs":["1.2.3.4"],"userAgent":"ua \"x\" é","responseStatus":{"code":200},"requestReceivedTimestamp":"2026-01-01T00:00:00.000000Z","stageTimestamp":"2026-01-01T00:00:01.000000Z"}"#;

    fn quoted(s: &str) -> String {
        serde_json::to_string(s).unwrap()
    }

    /// Every wrapper and its edges read alike by the fast paths and the general path.
    #[test]
    #[allow(clippy::useless_format)] // every case written the same way
    fn fast_paths_read_as_the_general_path() {
        let ev = EVENT;
        let q = quoted(EVENT);
        let deep = format!("{}1{}", "[".repeat(126), "]".repeat(126));
        let deeper = format!("{}1{}", "[".repeat(127), "]".repeat(127));
        let lines = [
            ev.to_string(),
            format!(r#"{{"log":{q},"stream":"stdout","time":"2026-01-01T00:00:00Z"}}"#),
            format!(
                r#"{{"log":{},"stream":"stdout"}}"#,
                quoted(&format!("{ev}\n"))
            ),
            format!(r#"{{"message":{q}}}"#),
            format!(r#"{{"message":"not json at all"}}"#),
            format!(r#"{{"message":{q},"log":{q}}}"#),
            format!(r#"{{"log":{q},"log":{q}}}"#),
            format!(r#"{{"l\u006fg":{q}}}"#),
            format!(r#"{{"log":{q},"auditID":"x"}}"#),
            format!(r#"{{"log":{q},"kind":"Event"}}"#),
            format!(r#"{{"log":{q},"kind":"EventList"}}"#),
            format!(r#"{{"log":{q},"timestamp":1767225600000}}"#),
            format!(r#"{{"log":{ev}}}"#),
            format!(r#"{{"log":{q},}}"#),
            format!(r#"{{"log":{q}}} trailing"#),
            format!(r#"  {{ "log" : {q} , "x" : [1, 2.5e3, true, null, {{}}] }}  "#),
            format!(r#"{{"log":"{{\"a\":\ud83d\ude00}}"}}"#),
            format!(r#"{{"log":"{{\"a\":\"\ud83d\"}}"}}"#),
            format!(
                r#"{{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{{}},"items":[{ev},{ev}]}}"#
            ),
            format!(r#"{{"kind":"EventList","items":[{ev},{{"log":{q}}},"str",3,[{ev}]]}}"#),
            format!(r#"{{"kind":"EventList","items":[{ev},{{"a":1}}]}}"#),
            format!(r#"{{"kind":"EventList","items":[]}}"#),
            format!(r#"{{"kind":"EventList","items":[{ev},]}}"#),
            format!(r#"{{"_index":"i","_id":"x","_source":{{"Body.value":{q}}}}}"#),
            format!(r#"{{"hits":{{"hits":[{{"_source":{{"Body.value":{q}}}}}]}}}}"#),
            format!(r#"{{"records":[{{"category":"kube-audit","properties":{{"log":{q}}}}}]}}"#),
            format!(
                r#"{{"events":[{{"timestamp":1,"message":{q},"eventId":"1"}}],"searchedLogStreams":[]}}"#
            ),
            format!(r#"[{ev},{{"log":{q}}}]"#),
            format!(r#"{{"log":{q},"x":{deep}}}"#),
            format!(r#"{{"log":{q},"x":{deeper}}}"#),
            format!(
                r#"{{"log":{}}}"#,
                quoted(&format!(r#"{{"x":{deep},"auditID":"a"}}"#))
            ),
            format!(
                r#"{{"log":{}}}"#,
                quoted(&format!(
                    r#"{{"log":{}}}"#,
                    quoted(&format!("{{\"log\":{q}}}"))
                ))
            ),
            format!(r#"{{"items":{deeper}}}"#),
            format!(r#"{{"items":[{deep}]}}"#),
            format!("2026-01-01T00:00:00.000Z {{\"log\":{q}}}"),
            format!("2026-01-01T00:00:00.000000000Z stdout F {{\"log\":{q}}}"),
            format!(r#"{{"protoPayload":{{}},"log":{q}}}"#),
            format!(r#"{{}}"#),
            format!(r#"{{"log":{q}"#),
            format!(r#"{{"log":1e999}}"#),
            format!(r#"{{"log":{q},"timestamp":1e999}}"#),
            format!(r#"{{"log":{q},"timestamp":-0}}"#),
            format!(r#"{{"log":{q},"timestamp":01}}"#),
            format!(r#"{{"log":{q},"timestamp":1.5}}"#),
            format!(r#"{{"log":{q},"timestamp":123456789012345678901234567890}}"#),
            format!(r#"{{"log":{q},"kind":true,"level":null,"userAgent":-5}}"#),
            format!(r#"{{"log":{q},"kind":nul}}"#),
            format!(r#"{{"log":{q},"kind":[1]}}"#),
            format!(r#"{{"_source":{{"_source":{{"Body.value":{q}}},"x":[1]}},"log":{q}}}"#),
            format!(r#"{{"_source":{{"_source":{{"_source":{{"Body.value":{q}}}}}}}}}"#),
            format!(r#"{{"_source":{{"kind":"Event","_source":{{"Body.value":{q}}}}}}}"#),
            format!(r#"{{"_source":{{"log":{q},"log":{q}}}}}"#),
            format!(
                r#"{{"records":[{{"properties":{{"log":{q}}}}},{{"properties":{ev}}},{{"properties":{{"log":"x"}}}}]}}"#
            ),
        ];
        // Wrappers nested past MAX_DEPTH, inline and as a list.
        for n in 3..10 {
            same(format!("{}{ev}{}", r#"{"_source":"#.repeat(n), "}".repeat(n)).as_bytes());
            same(format!("{}{q}{}", r#"{"_source":{"log":"#.repeat(n), "}}".repeat(n)).as_bytes());
            same(format!("{}{ev}{}", r#"{"items":["#.repeat(n), "]}".repeat(n)).as_bytes());
        }
        for line in &lines {
            same(line.as_bytes());
        }
        // An event carried as a string, read as it stands: the carried string's own escapes
        // where the event has its structure, in its strings and between its tokens; control
        // characters raw and escaped; the string cut short anywhere.
        let body = &q[1..q.len() - 1];
        let user = r#"\"u\""#;
        for carried in [
            body.replacen(r#"\""#, r#"\u0022"#, 1),
            body.replacen(user, r#"\u0022u\""#, 1),
            body.replacen(user, r#"\"u\u0022"#, 1),
            body.replacen(user, r#"\"\u0075\""#, 1),
            body.replacen(user, r#"\"\\u0075\""#, 1),
            body.replacen(user, r#"\"\\\u0075\""#, 1),
            body.replacen(user, r#"\"\\u00\u0035\""#, 1),
            body.replacen(user, r#"\"\\ud83d\\ude00\""#, 1),
            body.replacen(user, r#"\"\\ud83d\""#, 1),
            body.replacen(user, r#"\"\\ude00\""#, 1),
            body.replacen(user, r#"\"\ud83d\ude00\""#, 1),
            body.replacen(user, r#"\"\\/\/\\\/\""#, 1),
            body.replacen(user, r#"\"\\\\\\\"\\n\\t\\b\\f\\r\""#, 1),
            body.replacen(user, r#"\"\\x\""#, 1),
            body.replacen(user, r#"\"\\\x\""#, 1),
            body.replacen(user, r#"\"u\n\""#, 1),
            body.replacen(user, "\\\"u\t\\\"", 1),
            body.replacen(user, "\\\"\u{1}\\\"", 1),
            body.replacen(',', "\t,", 1),
            body.replacen(',', r#"\n,\r\t "#, 3),
            body.replacen(',', r#"\u0020,"#, 1),
            body.replacen(',', r#"\/,"#, 1),
            body.replacen(r#"\"level\""#, r#"\"l\\u0065vel\""#, 1),
            body.replacen(r#"\"level\""#, r#"\"l\u0065vel\""#, 1),
            format!(r#" {body}"#),
            format!(r#"{body}\n\n "#),
            format!(r#"{body}x"#),
            format!(r#"{body}\"#),
        ] {
            same(format!(r#"{{"log":"{carried}","stream":"stdout"}}"#).as_bytes());
        }
        for cut in 0..body.len() {
            if let Some(part) = body.get(..cut) {
                same(format!(r#"{{"log":"{part}"}}"#).as_bytes());
            }
        }
        // Lists read item by item in text whose nesting is not known: a deep value beside the
        // list, in an item, or in an event's skipped field, on both sides of every limit.
        for n in [
            60, 62, 63, 64, 65, 66, 100, 112, 113, 114, 115, 116, 120, 124, 125, 126, 127,
        ] {
            let deep = format!("{}1{}", "[".repeat(n), "]".repeat(n));
            let deep_obj = format!("{}1{}", r#"{"a":"#.repeat(n), "}".repeat(n));
            let deep_ev = EVENT.replace(
                r#""verb":"list""#,
                &format!(r#""verb":"list","requestObject":{deep}"#),
            );
            for line in [
                format!(r#"{{"kind":"EventList","items":[{ev},{ev}],"metadata":{deep}}}"#),
                format!(r#"{{"kind":"EventList","metadata":{deep_obj},"items":[{ev}]}}"#),
                format!(r#"{{"items":[{ev},{deep_ev}]}}"#),
                format!(r#"{{"items":[{deep_ev},{ev}],"kind":"EventList"}}"#),
                format!(r#"{{"records":[{{"properties":{{"log":{q}}},"x":{deep}}}]}}"#),
                format!(r#"{{"records":[{{"properties":{deep_obj}}}]}}"#),
                format!(r#"{{"_source":{{"items":[{ev}],"x":{deep}}}}}"#),
                format!(r#"{{"items":[{{"items":[{deep_ev}]}}]}}"#),
                format!(r#"[{{"items":[{ev}],"x":{deep}}}]"#),
            ] {
                same(line.as_bytes());
            }
        }
        // Invalid UTF-8 in a carried event, and in the wrapper.
        let mut bad = format!(r#"{{"log":{q},"x":"#).into_bytes();
        bad.extend_from_slice(b"\"\xff\"}");
        same(&bad);
        let mut bad = br#"{"log":"{\"auditID\":\""#.to_vec();
        bad.extend_from_slice(b"\xff\\\"}\"}");
        same(&bad);
    }

    /// A document's value (read whole by serde_json first) read alike both ways.
    fn same_document(doc: &str) {
        let Ok(value) = serde_json::from_str::<&serde_json::value::RawValue>(doc) else {
            return;
        };
        let read = |fast: bool| {
            let arena = Arena::new();
            let mut sc = arena.scratch();
            if !fast {
                sc = sc.general_only();
            }
            let mut out = Vec::new();
            super::super::expand_read(value, &mut out, &mut sc);
            format!("{out:?}")
        };
        assert_eq!(read(true), read(false), "{doc}");
    }

    #[test]
    fn documents_read_as_the_general_path() {
        let ev = EVENT;
        let docs = super::super::wrapper_documents(EVENT);
        for doc in &docs {
            same_document(doc);
        }
        for n in 2..9 {
            same_document(&format!(
                "{}{ev}{}",
                r#"{"records":["#.repeat(n),
                "]}".repeat(n)
            ));
        }
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        for name in [
            "aks-eventhub-kube-audit-records.json",
            "audit-eventlist-v1.json",
            "audit-opensearch-response.json",
            "eks-cloudwatch-filter-log-events.json",
            "gke-khi-entries.json",
        ] {
            same_document(&std::fs::read_to_string(dir.join(name)).unwrap());
        }
    }

    /// Every line of the fixtures of wrapped shapes reads alike both ways.
    #[test]
    fn fixtures_read_as_the_general_path() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut lines = 0;
        for name in [
            "aks-eventhub-kube-audit-records.json",
            "audit-eventlist-lines.jsonl",
            "audit-eventlist-v1.json",
            "audit-opensearch-hits.jsonl",
            "audit-opensearch-response.json",
            "audit-opensearch-source.jsonl",
            "cri-kube-apiserver.log",
            "eks-cloudwatch-filter-log-events.json",
            "eks-cloudwatch-s3-export.log",
            "gke-khi-entries.json",
            "gke-khi-mixed.jsonl",
            "shipper-log-message.jsonl",
            "apisnoop-testdata-audit_event.json",
        ] {
            let data = std::fs::read(dir.join(name)).unwrap();
            // Each line, and the whole file as one value (the documents).
            for line in data.split(|&b| b == b'\n').chain([&data[..]]) {
                same(line);
                lines += 1;
            }
        }
        assert!(lines > 100, "{lines}");
    }
}
