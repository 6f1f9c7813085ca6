//! Showing untrusted text (log lines, user agents, spec names) safely in a terminal.
//!
//! A log line can carry escape sequences that move the cursor, clear the screen, retitle
//! the window or write the clipboard (OSC 52). Everything we print from an input goes
//! through [`escape_control`] first, so such bytes show up as visible `\x1b`-style text.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io;

/// True for the characters [`escape_control`] rewrites: C0 controls (TAB, LF, CR and ESC
/// included), DEL, and the C1 controls U+0080–U+009F (some terminals act on C1 CSI/OSC).
fn is_control(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}')
}

/// Returns `s` with every control character shown visibly: `\t`, `\n`, `\r` for those three,
/// `\xNN` for the other C0 controls and DEL, `\u{NN}` for C1 controls. Borrowed when
/// nothing needs escaping (the common case), so calling it on every line is cheap.
pub fn escape_control(s: &str) -> Cow<'_, str> {
    let Some(first) = s.find(is_control) else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len() + 8);
    out.push_str(&s[..first]);
    for c in s[first..].chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x80 && is_control(c) => {
                // Writing to a String cannot fail.
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_control(c) => {
                let _ = write!(out, "\\u{{{:02x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A JSON formatter that also writes DEL and the C1 controls U+0080–U+009F as `\u00XX`.
/// JSON requires escaping only U+0000–U+001F (serde_json does those), but a C1 CSI or OSC
/// passed raw to a terminal can still act; the escaped text parses back to the same string.
pub struct TerminalSafe<F>(pub F);

/// Delegates a formatter method without a value argument to the wrapped formatter.
macro_rules! delegate {
    ($($name:ident),* $(,)?) => {$(
        fn $name<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
            self.0.$name(w)
        }
    )*};
}

impl<F: serde_json::ser::Formatter> serde_json::ser::Formatter for TerminalSafe<F> {
    delegate!(
        begin_array,
        end_array,
        begin_object,
        end_object,
        end_array_value,
        end_object_key,
        begin_object_value,
        end_object_value,
    );

    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut rest = fragment;
        while let Some(at) = rest.find(is_control) {
            let (plain, tail) = rest.split_at(at);
            self.0.write_string_fragment(w, plain)?;
            let mut chars = tail.chars();
            if let Some(c) = chars.next() {
                write!(w, "\\u{:04x}", c as u32)?;
            }
            rest = chars.as_str();
        }
        self.0.write_string_fragment(w, rest)
    }
}

/// Writes `value` as JSON (indented when `pretty`) with [`TerminalSafe`] escaping.
pub fn write_json<T: serde::Serialize + ?Sized>(
    w: &mut dyn io::Write,
    value: &T,
    pretty: bool,
) -> serde_json::Result<()> {
    if pretty {
        let f = TerminalSafe(serde_json::ser::PrettyFormatter::new());
        value.serialize(&mut serde_json::Serializer::with_formatter(w, f))
    } else {
        let f = TerminalSafe(serde_json::ser::CompactFormatter);
        value.serialize(&mut serde_json::Serializer::with_formatter(w, f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escapes_c1_and_parses_back() {
        let value = serde_json::json!({"k\u{9b}": ["a\u{1b}[2J\u{9b}31m\u{7f}é\"", 1]});
        let mut out = Vec::new();
        write_json(&mut out, &value, false).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, r#"{"k\u009b":["a\u001b[2J\u009b31m\u007fé\"",1]}"#);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).unwrap(),
            value
        );
        let mut pretty = Vec::new();
        write_json(&mut pretty, &value, true).unwrap();
        let pretty = String::from_utf8(pretty).unwrap();
        assert!(pretty.contains("\n  \"k\\u009b\": ["), "{pretty}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&pretty).unwrap(),
            value
        );
    }

    #[test]
    fn plain_text_is_borrowed() {
        let s = "GET /api/v1/pods — ünïcode ok";
        assert!(matches!(escape_control(s), Cow::Borrowed(x) if x == s));
        assert!(matches!(escape_control(""), Cow::Borrowed("")));
    }

    #[test]
    fn c0_and_named_controls() {
        assert_eq!(escape_control("a\tb\nc\rd"), "a\\tb\\nc\\rd");
        assert_eq!(escape_control("\u{0}\u{7}\u{8}"), "\\x00\\x07\\x08");
        assert_eq!(escape_control("x\u{7f}y"), "x\\x7fy");
    }

    #[test]
    fn escape_sequences_are_defused() {
        // Clear screen, then an OSC 52 clipboard write ended by BEL.
        let evil = "\u{1b}[2J\u{1b}]52;c;aGVsbG8=\u{7}done";
        let shown = escape_control(evil);
        assert_eq!(shown, "\\x1b[2J\\x1b]52;c;aGVsbG8=\\x07done");
        assert!(!shown.chars().any(is_control));
    }

    #[test]
    fn c1_controls() {
        // U+009B is the one-character CSI, U+009D the one-character OSC.
        assert_eq!(escape_control("a\u{9b}2Jb\u{9d}"), "a\\u{9b}2Jb\\u{9d}");
        assert_eq!(escape_control("\u{80}\u{9f}\u{a0}"), "\\u{80}\\u{9f}\u{a0}");
    }
}
