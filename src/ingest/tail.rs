//! Following a file that is still being written, like `tail -F`: what is appended is read as
//! whole lines (a line cut in the middle of a write waits for its end), a file renamed away and
//! created again (log rotation) or truncated is read again from its start, and a file that
//! disappears is waited for.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::PathBuf;

/// What one [`Tail::poll`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TailEvent {
    /// Whole lines were added to the output.
    Lines,
    /// Nothing new.
    Idle,
    /// The file is not there (it was never there, or it went away): waiting for it.
    Missing,
    /// A new file is read from its start: the old one was renamed away or deleted and
    /// the path created again. Lines already read stay; the new file is a new input.
    Rotated,
    /// The file became shorter than what was read: it is read again from its start.
    Truncated,
}

/// A followed file.
#[derive(Debug)]
pub struct Tail {
    path: PathBuf,
    file: Option<File>,
    /// Device and inode of the open file, to notice rotation.
    id: Option<(u64, u64)>,
    /// Bytes read from the open file.
    offset: u64,
    /// The bytes after the last newline read: a line still being written.
    partial: Vec<u8>,
    /// True while the path does not exist.
    missing: bool,
}

#[cfg(unix)]
fn file_id(meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn file_id(_meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    None
}

impl Tail {
    /// Follows `path` from its start (nothing is read until [`Tail::poll`]).
    pub fn new(path: impl Into<PathBuf>) -> Tail {
        Tail {
            path: path.into(),
            file: None,
            id: None,
            offset: 0,
            partial: Vec::new(),
            missing: false,
        }
    }

    /// True while the followed path does not exist.
    pub fn is_missing(&self) -> bool {
        self.missing
    }

    /// Device and inode of the file being read, once it is open (on Unix).
    pub fn file_id(&self) -> Option<(u64, u64)> {
        self.id
    }

    /// Bytes read from the current file (whole lines and the line being written).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Reads at most about `max` new bytes and appends the whole lines among them (each with
    /// its newline) to `out`; a line without its newline yet is kept for the next poll.
    /// When the path names a new file, the old file's unfinished last line is added as a
    /// line of its own (it will never be finished) before [`TailEvent::Rotated`] is said.
    pub fn poll(&mut self, max: usize, out: &mut Vec<u8>) -> io::Result<TailEvent> {
        if self.file.is_none() {
            let event = self.open()?;
            if event != TailEvent::Idle || self.file.is_none() {
                // Missing, or back after missing (a new input: the caller polls again).
                return Ok(event);
            }
        }
        let Some(file) = self.file.as_mut() else {
            return Ok(TailEvent::Idle);
        };
        let start = out.len();
        out.extend_from_slice(&self.partial);
        self.partial.clear();
        let before = out.len();
        out.resize(before + max.max(1), 0);
        let n = loop {
            match file.read(&mut out[before..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    out.truncate(before);
                    self.partial = out.split_off(start);
                    return Err(e);
                }
            }
        };
        out.truncate(before + n);
        self.offset += n as u64;
        // Keep what follows the last newline for later.
        match memchr::memrchr(b'\n', &out[start..]) {
            Some(i) => self.partial = out.split_off(start + i + 1),
            None => self.partial = out.split_off(start),
        }
        if out.len() > start {
            return Ok(TailEvent::Lines);
        }
        if n > 0 {
            // Read something, but no line ended yet: more may be there.
            return Ok(TailEvent::Idle);
        }
        // At the end of the open file: has the path moved on?
        match std::fs::metadata(&self.path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(self.went_missing()),
            Err(e) => Err(e),
            Ok(meta) => {
                self.missing = false;
                if self.id.is_some() && file_id(&meta) != self.id {
                    // Rotated: the old file is read to its end; its cut last line ends here.
                    if !self.partial.is_empty() {
                        out.append(&mut self.partial);
                        out.push(b'\n');
                    }
                    self.file = None;
                    self.offset = 0;
                    match self.open()? {
                        TailEvent::Missing => Ok(TailEvent::Missing),
                        _ => Ok(TailEvent::Rotated),
                    }
                } else if meta.len() < self.offset {
                    if let Some(f) = self.file.as_mut() {
                        f.seek(SeekFrom::Start(0))?;
                    }
                    self.offset = 0;
                    self.partial.clear();
                    Ok(TailEvent::Truncated)
                } else {
                    Ok(TailEvent::Idle)
                }
            }
        }
    }

    /// The path is not there: `Missing` the first time (said once), `Idle` while it stays away.
    fn went_missing(&mut self) -> TailEvent {
        let was = std::mem::replace(&mut self.missing, true);
        if was {
            TailEvent::Idle
        } else {
            TailEvent::Missing
        }
    }

    /// Opens the path (from its start), when there is none open.
    fn open(&mut self) -> io::Result<TailEvent> {
        match File::open(&self.path) {
            Ok(f) => {
                self.id = f.metadata().ok().as_ref().and_then(file_id);
                self.file = Some(f);
                self.offset = 0;
                let was_missing = self.missing;
                self.missing = false;
                Ok(if was_missing {
                    TailEvent::Rotated
                } else {
                    TailEvent::Idle
                })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(self.went_missing()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn poll_all(t: &mut Tail) -> (Vec<u8>, Vec<TailEvent>) {
        let mut out = Vec::new();
        let mut events = Vec::new();
        for _ in 0..10 {
            let e = t.poll(4, &mut out).unwrap();
            events.push(e);
        }
        events.retain(|e| *e != TailEvent::Idle && *e != TailEvent::Lines);
        (out, events)
    }

    #[test]
    fn waits_for_cut_lines_and_follows_rotation_and_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        let mut t = Tail::new(&path);
        // Not there yet: said once.
        let (out, events) = poll_all(&mut t);
        assert!(out.is_empty());
        assert_eq!(events, vec![TailEvent::Missing]);
        assert!(t.is_missing());

        let mut f = File::create(&path).unwrap();
        f.write_all(b"one\ntw").unwrap();
        let (out, events) = poll_all(&mut t);
        assert_eq!(out, b"one\n");
        assert_eq!(events, vec![TailEvent::Rotated]);
        f.write_all(b"o\nthree").unwrap();
        let (out, _) = poll_all(&mut t);
        assert_eq!(out, b"two\n");

        // Renamed away and created again: the cut line ends, the new file is read.
        std::fs::rename(&path, dir.path().join("a.log.1")).unwrap();
        f.write_all(b"-late\n").unwrap();
        let mut g = File::create(&path).unwrap();
        g.write_all(b"four\n").unwrap();
        let (out, events) = poll_all(&mut t);
        assert_eq!(out, b"three-late\nfour\n");
        assert_eq!(events, vec![TailEvent::Rotated]);

        // Truncated: read again from the start.
        g.set_len(0).unwrap();
        let mut g = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        let (out, events) = poll_all(&mut t);
        assert!(out.is_empty());
        assert_eq!(events, vec![TailEvent::Truncated]);
        g.write_all(b"five\n").unwrap();
        let (out, _) = poll_all(&mut t);
        assert_eq!(out, b"five\n");

        // A file there from the start is read on the first poll.
        let mut fresh = Tail::new(&path);
        let mut out = Vec::new();
        assert_eq!(fresh.poll(1 << 20, &mut out).unwrap(), TailEvent::Lines);
        assert_eq!(out, b"five\n");

        // Deleted: said once, then picked up when it is back.
        std::fs::remove_file(&path).unwrap();
        let (_, events) = poll_all(&mut t);
        assert_eq!(events, vec![TailEvent::Missing]);
        std::fs::write(&path, b"six\n").unwrap();
        let (out, events) = poll_all(&mut t);
        assert_eq!(out, b"six\n");
        assert_eq!(events, vec![TailEvent::Rotated]);
    }
}
