//! The fields of a JSON object found by a scan over its text, for the fast RUN.json read.

use serde::Deserialize;

/// The fields of one JSON object, each value as its text, found by a scan that skips over
/// values by their brackets and quotes without parsing them.
pub(super) struct Fields<'a> {
    list: Vec<(&'a [u8], &'a [u8])>,
}

impl<'a> Fields<'a> {
    /// The fields of the object `text` is (nothing but white space around it); `None` when
    /// the scan does not take it (an escaped or repeated key, say: the slow parse decides).
    pub(super) fn of_object(text: &'a [u8]) -> Option<Fields<'a>> {
        let mut scan = Scan { b: text, i: 0 };
        let mut list: Vec<(&'a [u8], &'a [u8])> = Vec::new();
        scan.expect(b'{')?;
        if scan.peek()? == b'}' {
            scan.i += 1;
        } else {
            loop {
                let key = scan.key()?;
                scan.expect(b':')?;
                let value = scan.value()?;
                if list.iter().any(|(k, _)| *k == key) {
                    return None;
                }
                list.push((key, value));
                match scan.peek()? {
                    b',' => scan.i += 1,
                    b'}' => {
                        scan.i += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        scan.skip_space();
        (scan.i == text.len()).then_some(Fields { list })
    }

    /// The text of field `key`.
    pub(super) fn get(&self, key: &str) -> Option<&'a [u8]> {
        self.list
            .iter()
            .find(|(k, _)| *k == key.as_bytes())
            .map(|&(_, v)| v)
    }

    /// Field `key` parsed: `Some(None)` when it is absent, `None` when it does not parse.
    pub(super) fn parse<T: Deserialize<'a>>(&self, key: &str) -> Option<Option<T>> {
        match self.get(key) {
            None => Some(None),
            Some(text) => serde_json::from_slice(text).ok().map(Some),
        }
    }

    /// True when every field not named in `known` is JSON (the one-pass parse checks the
    /// values it skips).
    pub(super) fn others_are_json(&self, known: &[&str]) -> bool {
        self.list
            .iter()
            .filter(|(k, _)| !known.iter().any(|n| n.as_bytes() == *k))
            .all(|(_, v)| serde_json::from_slice::<serde::de::IgnoredAny>(v).is_ok())
    }
}

/// A position in JSON text, for [`Fields`].
struct Scan<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Scan<'a> {
    fn skip_space(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    /// The next byte after white space, not taken.
    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.b.get(self.i).copied()
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.i += 1)
    }

    /// A key without escapes, quotes taken off. Keys are the one part of the text that no
    /// serde_json parse of a value looks at, so a key serde_json would refuse (invalid UTF-8,
    /// a control character) is declined here.
    fn key(&mut self) -> Option<&'a [u8]> {
        self.expect(b'"')?;
        let rest = self.b.get(self.i..)?;
        let end = memchr::memchr2(b'"', b'\\', rest)?;
        if rest.get(end) != Some(&b'"') {
            return None;
        }
        let key = rest.get(..end)?;
        if std::str::from_utf8(key).is_err() || key.iter().any(|&b| b < 0x20) {
            return None;
        }
        self.i += end + 1;
        Some(key)
    }

    /// The text of the value here, skipped.
    fn value(&mut self) -> Option<&'a [u8]> {
        let start = {
            self.peek()?;
            self.i
        };
        match self.b.get(self.i)? {
            b'[' => self.skip_nested(b'[', b']')?,
            b'{' => self.skip_nested(b'{', b'}')?,
            b'"' => self.skip_string()?,
            _ => {
                while let Some(c) = self.b.get(self.i) {
                    if matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                        break;
                    }
                    self.i += 1;
                }
            }
        }
        self.b.get(start..self.i)
    }

    /// Skips the string opening here.
    fn skip_string(&mut self) -> Option<()> {
        self.i += 1;
        loop {
            let at = memchr::memchr2(b'"', b'\\', self.b.get(self.i..)?)?;
            let c = *self.b.get(self.i + at)?;
            self.i += at + if c == b'"' { 1 } else { 2 };
            if c == b'"' {
                return Some(());
            }
        }
    }

    /// Skips the list or object opening here: only its own kind of bracket is counted (the
    /// other kind nests inside it) and brackets in strings are skipped.
    fn skip_nested(&mut self, open: u8, close: u8) -> Option<()> {
        let mut depth = 0usize;
        loop {
            let at = memchr::memchr3(b'"', open, close, self.b.get(self.i..)?)?;
            self.i += at;
            match *self.b.get(self.i)? {
                b'"' => {
                    self.skip_string()?;
                    continue;
                }
                c if c == open => depth += 1,
                _ => depth = depth.checked_sub(1)?,
            }
            self.i += 1;
            if depth == 0 {
                return Some(());
            }
        }
    }
}
