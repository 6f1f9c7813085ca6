//! Reading a plain (not compressed) regular file through a memory map, for the audit reader's
//! blocks (`ingest::audit`): the parser reads the page cache in place instead of a copy of it.
//!
//! Why: `read(2)` copies every byte of the log from the page cache into the reader's buffers;
//! on a 458 MB log that copy was 9% of all of `correlate`'s CPU time (perf), more than any
//! other single function. Mapped, a block costs its page-table entries, which the reader
//! thread fills in ahead of the parser (`MADV_POPULATE_READ`), and the pages are unmapped
//! again as soon as the sink is done with their block (`MADV_DONTNEED`), so the resident memory
//! stays what the read blocks held (a few blocks), never the whole file.
//!
//! The hazard of every memory map: a file *truncated* while it is read (`logrotate
//! copytruncate` at that very moment) makes the pages past its new end fault with `SIGBUS`.
//! The reader narrows that window: it populates a block's pages before handing it on and stops
//! at the end when they are gone (the file is then read as it was up to there). Linux only;
//! elsewhere, and whenever mapping fails, the file is read with `read(2)` as before.

use std::fs::File;
use std::io;
use std::sync::Arc;

/// A whole file mapped read-only.
pub(crate) struct MappedFile {
    /// Start of the mapping; never null (an empty file is not mapped).
    start: *const u8,
    len: usize,
}

// SAFETY: the mapping is read-only and private to this value, which only hands out shared
// slices of it and unmaps it once, in `drop`: it can be shared and sent between threads as
// a `&[u8]` can.
unsafe impl Send for MappedFile {}
// SAFETY: as above; every method takes `&self` and only reads (or advises the kernel).
unsafe impl Sync for MappedFile {}

/// The kernel's page size.
fn page_size() -> usize {
    // SAFETY: `sysconf` reads a constant of the system and touches no memory of ours.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size)
        .ok()
        .filter(|&s| s > 0)
        .unwrap_or(4096)
}

impl MappedFile {
    /// Maps all of `file`; `None` when it is empty or cannot be mapped (then it is read).
    pub(crate) fn map(file: &File) -> Option<MappedFile> {
        use std::os::fd::AsRawFd;
        let len = usize::try_from(file.metadata().ok()?.len()).ok()?;
        if len == 0 {
            return None;
        }
        // SAFETY: a fresh read-only private mapping of `len` bytes of an open file, at an
        // address the kernel chooses: it aliases no memory of ours. The result is checked.
        let start = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        if start == libc::MAP_FAILED || start.is_null() {
            return None;
        }
        let mapped = MappedFile {
            start: start.cast::<u8>(),
            len,
        };
        // Read ahead generously: the file is read once, front to back.
        let _ = mapped.advise(0, len, libc::MADV_SEQUENTIAL);
        Some(mapped)
    }

    /// The whole file.
    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: `start..start + len` is mapped readable for as long as `self` lives (it is
        // unmapped in `drop` only), and nothing writes to a private read-only mapping.
        unsafe { std::slice::from_raw_parts(self.start, self.len) }
    }

    /// Fills in the page-table entries of `start..end`, so the parser does not fault on
    /// them one by one. False when some of them could not be (the file shrank under us).
    pub(crate) fn populate(&self, start: usize, end: usize) -> bool {
        let page = page_size();
        let from = start - start % page;
        match self.advise(from, end.min(self.len) - from, libc::MADV_POPULATE_READ) {
            Ok(()) => true,
            // Kernels before 5.14 do not know the advice: the parser faults the pages in.
            Err(e) => e.raw_os_error() == Some(libc::EINVAL),
        }
    }

    /// Unmaps the pages that lie wholly inside `start..end` (the file's end counts as a
    /// page end): their block is done with, and they leave the resident memory. The page
    /// cache keeps them; a page read again later is simply mapped again.
    pub(crate) fn release(&self, start: usize, end: usize) {
        let page = page_size();
        let from = start.div_ceil(page) * page;
        let to = if end >= self.len {
            self.len
        } else {
            end - end % page
        };
        if to > from {
            let _ = self.advise(from, to - from, libc::MADV_DONTNEED);
        }
    }

    /// `madvise` on `len` bytes from `offset` (page-aligned) of the mapping.
    fn advise(&self, offset: usize, len: usize, advice: libc::c_int) -> io::Result<()> {
        if len == 0 || offset >= self.len {
            return Ok(());
        }
        let len = len.min(self.len - offset);
        // SAFETY: `offset..offset + len` lies inside our mapping and `offset` is a multiple of
        // the page size. The advice given here only reads (`POPULATE_READ`, `SEQUENTIAL`) or
        // drops page-table entries of a read-only file mapping (`DONTNEED`), which a later read
        // maps again with the same bytes: no slice handed out sees its contents change.
        let rc = unsafe { libc::madvise(self.start.add(offset).cast_mut().cast(), len, advice) };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

impl Drop for MappedFile {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `map`, unmapped once; no slice of it outlives `self`
        // (slices borrow `self`, and `Window`s hold it in an `Arc`).
        unsafe {
            libc::munmap(self.start.cast_mut().cast(), self.len);
        }
    }
}

/// A block of a mapped file: `start..end` of it. Its pages are released when it is dropped.
pub(crate) struct Window {
    file: Arc<MappedFile>,
    start: usize,
    end: usize,
}

impl Window {
    /// The block `start..end` of `file` (clamped to the file).
    pub(crate) fn new(file: Arc<MappedFile>, start: usize, end: usize) -> Window {
        let end = end.min(file.len);
        Window {
            start: start.min(end),
            end,
            file,
        }
    }

    /// The block's bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        self.file.bytes().get(self.start..self.end).unwrap_or(&[])
    }
}

impl Drop for Window {
    fn drop(&mut self) {
        // The page this block starts in was begun by the previous block, which released
        // what lay before it; blocks are done with in order, so every page is released once.
        let page = page_size();
        self.file.release(self.start - self.start % page, self.end);
    }
}

/// Opens `path` mapped, when it is a non-empty regular file that can be mapped.
pub(crate) fn map_path(path: &str) -> Option<Arc<MappedFile>> {
    let file = File::open(path).ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    MappedFile::map(&file).map(Arc::new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn windows_read_the_file_and_survive_release() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        let text: Vec<u8> = (0..20_000u32)
            .flat_map(|i| format!("{i}\n").into_bytes())
            .collect();
        f.write_all(&text).unwrap();
        f.flush().unwrap();
        let map = map_path(f.path().to_str().unwrap()).unwrap();
        assert_eq!(map.bytes(), &text[..]);
        let (a, b) = (5000, 70_000);
        let first = Window::new(Arc::clone(&map), 0, a);
        let second = Window::new(Arc::clone(&map), a, b);
        assert!(map.populate(a, b));
        assert_eq!(first.bytes(), &text[..a]);
        drop(first);
        // Released pages read the same bytes again.
        assert_eq!(map.bytes(), &text[..]);
        assert_eq!(second.bytes(), &text[a..b]);
        drop(second);
        let tail = Window::new(Arc::clone(&map), b, usize::MAX);
        assert_eq!(tail.bytes(), &text[b..]);
    }

    #[test]
    fn a_file_that_shrank_is_told_not_faulted() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(&vec![b'x'; 64 * 1024]).unwrap();
        f.flush().unwrap();
        let map = map_path(f.path().to_str().unwrap()).unwrap();
        assert!(map.populate(0, 64 * 1024));
        f.as_file().set_len(4096).unwrap();
        // The pages past the new end are gone: populating them fails instead of the parser
        // taking a SIGBUS on them. (Nothing reads them here.)
        assert!(!map.populate(8192, 64 * 1024));
        assert!(map.populate(0, 4096));
    }

    #[test]
    fn empty_files_and_folders_are_not_mapped() {
        let f = tempfile::NamedTempFile::new().unwrap();
        assert!(map_path(f.path().to_str().unwrap()).is_none());
        let dir = tempfile::tempdir().unwrap();
        assert!(map_path(dir.path().to_str().unwrap()).is_none());
    }
}
