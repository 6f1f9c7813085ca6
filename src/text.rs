//! Untrusted text, shown safely: every control character made visible.

use std::borrow::Cow;

/// Shows every control character (C0 including ESC, DEL, and C1) as a visible escape such as
/// `\x1b`, so text from a log can never move the cursor, clear the screen or write the
/// clipboard through a terminal escape sequence. Borrowed when nothing needs escaping.
pub fn escape_control(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c.is_control()) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x100 && c.is_control() => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}
