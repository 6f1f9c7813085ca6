//! The CRI container log format, as the kubelet writes an API server's stdout under
//! `/var/log/pods/…/kube-apiserver/0.log` when its audit log goes to `-` (stdout):
//! `<RFC 3339 time> <stdout|stderr> <P|F> <content>`. A line longer than the runtime's
//! buffer (16 KiB in containerd and CRI-O) is split into `P` (partial) lines, the last
//! part tagged `F` (full); the parts are joined in order by the reader, and the joined record
//! counts as one line, numbered by its first part.

use crate::ingest::audit::parse_timestamp;

/// `Some((partial, content))` when `line` is a CRI log line.
pub fn split(line: &[u8]) -> Option<(bool, &[u8])> {
    let mut rest = line;
    let mut field = || -> Option<&[u8]> {
        let space = memchr::memchr(b' ', rest)?;
        let f = rest.get(..space)?;
        rest = rest.get(space + 1..)?;
        Some(f)
    };
    let stamp = field()?;
    let stream = field()?;
    let tag = field()?;
    if !matches!(stream, b"stdout" | b"stderr") {
        return None;
    }
    // A tag may carry more flags after a colon in future runtimes; the first says P or F.
    let partial = match tag.split(|&b| b == b':').next()? {
        b"P" => true,
        b"F" => false,
        _ => return None,
    };
    parse_timestamp(std::str::from_utf8(stamp).ok()?)?;
    // The last part of a line ends where the line does (a `\r` of CRLF files dropped).
    let content = rest.strip_suffix(b"\r").unwrap_or(rest);
    Some((partial, content))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_cri_lines() {
        assert_eq!(
            split(b"2016-10-06T00:17:09.669794202Z stdout F {\"a\":1}"),
            Some((false, &b"{\"a\":1}"[..]))
        );
        assert_eq!(
            split(b"2016-10-06T00:17:09.669794202Z stderr P part"),
            Some((true, &b"part"[..]))
        );
        assert_eq!(split(b"2016-10-06T00:17:09Z stdout X y"), None);
        assert_eq!(split(b"2016-10-06 stdout F y"), None);
        assert_eq!(split(b"2016-10-06T00:17:09Z other F y"), None);
    }
}
