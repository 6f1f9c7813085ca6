//! Reading a regular file through a read-only memory map instead of copying it with `read`.
//!
//! # Why
//! On a log in the page cache, `read` is the kernel copying every byte into our buffers: on the
//! 1.3 GB benchmark log that copy was most of the reader thread's 0.22 CPU s, and both cores are
//! busy while reading. A map hands the parser the page cache's own pages instead.
//!
//! # Memory
//! Mapped file pages count in the resident set while they are mapped, so the whole file is
//! mapped once (address space only) but only the blocks in flight are resident: the reader
//! asks for a window's pages just before sending it ([`Mapping::populate`]) and each window
//! gives its pages back once its block is done ([`Window`]'s drop, `MADV_DONTNEED`, which for a
//! file mapping only drops our page table entries: the data stays in the page cache).
//!
//! # A file that shrinks
//! Touching a mapped page past the file's (new) end raises `SIGBUS`. While any mapping is
//! open, a `SIGBUS` handler is installed: a fault inside a mapping's range writes that
//! mapping's one-line error (prepared in advance: `auditscope: PATH: …`) with `write(2)` and
//! ends the process with `_exit(2)`, the status a read error gets; both are async-signal-safe.
//! A fault anywhere else puts the previous action (Rust's own) back and returns, so the fault
//! happens again and is handled as it would have been without ours. The handler is removed (the
//! previous one restored) when the last mapping closes. Nothing has been written by then: the
//! audit logs are read before any output is opened.
//!
//! Anything that keeps a file from being mapped (not a regular file, empty, `mmap` refused, no
//! free slot for the handler) returns `None`, and the caller reads the file as before.

#[cfg(target_os = "linux")]
mod imp {
    use std::fs::File;
    use std::sync::Arc;

    /// A read-only map of a whole regular file.
    pub(crate) struct Mapping {
        /// The start of the map (page-aligned, as `mmap` returns it).
        ptr: *mut libc::c_void,
        /// The file's size when it was mapped, and the map's length.
        len: usize,
        /// This mapping's entry in the `SIGBUS` handler's table.
        slot: usize,
        /// The error the handler writes, owned here: the handler's table points at it.
        _message: Box<[u8]>,
    }

    // SAFETY: the map is read-only and lives until the `Mapping` is dropped; reading it from several
    // threads is reading shared immutable memory. `ptr` is only an address, never written through.
    unsafe impl Send for Mapping {}
    // SAFETY: as for `Send`: every method reads the map or asks the kernel about its pages.
    unsafe impl Sync for Mapping {}

    /// The size of a page (`sysconf(_SC_PAGESIZE)`, 4096 when it cannot be had).
    fn page_size() -> usize {
        // SAFETY: `sysconf` reads a system constant.
        let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        usize::try_from(size)
            .ok()
            .filter(|s| s.is_power_of_two())
            .unwrap_or(4096)
    }

    impl Mapping {
        /// Maps `file` (opened from `path`, which the error on a shrinking file names). `None`
        /// when it cannot be mapped: not a regular file, empty, or refused.
        pub(crate) fn open(file: &File, path: &str) -> Option<Arc<Mapping>> {
            use std::os::fd::AsRawFd;
            let meta = file.metadata().ok()?;
            if !meta.is_file() || meta.len() == 0 {
                return None;
            }
            let len = usize::try_from(meta.len()).ok()?;
            let message = shrink_message(path).into_bytes().into_boxed_slice();
            // SAFETY: a fresh read-only shared map of `len` bytes of an open file, at an address the
            // kernel picks: it aliases no memory of ours. The file may change under it; reading a
            // page the file no longer covers raises SIGBUS, which the handler (registered below,
            // before any byte is read) turns into an error and exit.
            let ptr = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    len,
                    libc::PROT_READ,
                    libc::MAP_SHARED,
                    file.as_raw_fd(),
                    0,
                )
            };
            if ptr == libc::MAP_FAILED {
                return None;
            }
            let Some(slot) = handler::register(ptr as usize, len, &message) else {
                // SAFETY: the map was made above and nothing refers to it yet.
                unsafe { libc::munmap(ptr, len) };
                return None;
            };
            let mapping = Mapping {
                ptr,
                len,
                slot,
                _message: message,
            };
            // Pages are asked for a window at a time (`populate`); reading ahead in the page
            // cache stays the kernel's business, and sequential advice lets it read further.
            mapping.advise(0, len, libc::MADV_SEQUENTIAL);
            Some(Arc::new(mapping))
        }

        /// The file's bytes (as of when it was mapped).
        pub(crate) fn bytes(&self) -> &[u8] {
            // SAFETY: `ptr` is the start of a readable map of `len` bytes that lives as long as
            // `self`; if the file shrinks, reading raises SIGBUS (module docs). What is appended
            // to the file lies past `len` and is never seen. A file rewritten in place while it
            // is read could change bytes the parser has already checked (that a line is ASCII,
            // say), as under any reader of a shared map: audit logs are only ever appended to,
            // and rotated by renaming, which leaves the mapped file as it was.
            unsafe { std::slice::from_raw_parts(self.ptr as *const u8, self.len) }
        }

        /// The file's size when it was mapped.
        pub(crate) fn len(&self) -> usize {
            self.len
        }

        /// Maps the pages of `start..end` now, on the calling thread (the reader), so the parser
        /// threads do not fault them in one by one.
        pub(crate) fn populate(&self, start: usize, end: usize) {
            self.advise(start, end, libc::MADV_POPULATE_READ);
        }

        /// Gives back the pages wholly inside `start..end` (the end of the file counts as a page
        /// end): they leave the resident set, the page cache keeps them.
        fn release(&self, start: usize, end: usize) {
            let page = page_size();
            let from = start.next_multiple_of(page);
            let to = if end >= self.len {
                self.len.next_multiple_of(page)
            } else {
                end - end % page
            };
            if from < to {
                self.advise(from, to, libc::MADV_DONTNEED);
            }
        }

        /// `madvise` on the pages that hold `start..end`. Advice is only advice: an error (an old
        /// kernel without `MADV_POPULATE_READ`, a file cut short under us) changes nothing here;
        /// reading the pages faults them in, or raises SIGBUS (module docs).
        fn advise(&self, start: usize, end: usize, advice: libc::c_int) {
            let page = page_size();
            let start = start - start % page;
            let end = end.min(self.len);
            if start >= end {
                return;
            }
            // SAFETY: `start..end` lies within the map (`start` rounded down to a page boundary,
            // which `mmap` aligned the map's start to). The advice given here never changes what
            // a read of the map sees: populating maps the file's pages, and dropping a shared
            // file map's pages only means the next read maps them again from the page cache.
            unsafe {
                libc::madvise(
                    (self.ptr as *mut u8).add(start) as *mut libc::c_void,
                    end - start,
                    advice,
                );
            }
        }
    }

    impl Drop for Mapping {
        fn drop(&mut self) {
            // The handler stops looking at this range (and at the message) before it goes away.
            handler::unregister(self.slot);
            // SAFETY: the map made in `open`; nothing borrows it any more (`bytes` borrows `self`,
            // and every `Window` holds an `Arc` of it).
            unsafe { libc::munmap(self.ptr, self.len) };
        }
    }

    /// The error a file that shrank while mapped gets, on one line as the command edge prints
    /// errors.
    fn shrink_message(path: &str) -> String {
        format!(
            "auditscope: {}: the file shrank while it was being read\n",
            crate::text::escape_control(path)
        )
    }

    /// A part of a mapped file (a block's bytes). Dropping it gives its pages back
    /// ([`Mapping::release`]), but for the page it shares with the next part, which that part gives
    /// back: blocks are done in file order.
    pub(crate) struct Window {
        map: Arc<Mapping>,
        start: usize,
        end: usize,
    }

    impl Window {
        /// `start..end` of `map` (clamped to the file).
        pub(crate) fn new(map: Arc<Mapping>, start: usize, end: usize) -> Window {
            let end = end.min(map.len());
            let start = start.min(end);
            Window { map, start, end }
        }

        /// The window's bytes.
        pub(crate) fn bytes(&self) -> &[u8] {
            self.map.bytes().get(self.start..self.end).unwrap_or(&[])
        }

        /// This window followed by `next`, as one window when `next` starts where this one ends
        /// in the same file (a long line sent in parts): no byte is copied. `Err` gives `self`
        /// back otherwise.
        pub(crate) fn joined(self, next: &Window) -> Result<Window, Window> {
            if Arc::ptr_eq(&self.map, &next.map) && self.end == next.start {
                let joined = Window {
                    map: Arc::clone(&self.map),
                    start: self.start,
                    end: next.end,
                };
                // Its pages are the joined window's now: emptied, it gives nothing back.
                let mut this = self;
                this.end = this.start;
                drop(this);
                Ok(joined)
            } else {
                Err(self)
            }
        }
    }

    impl Drop for Window {
        fn drop(&mut self) {
            self.map.release(self.start, self.end);
        }
    }

    /// The `SIGBUS` handler and the table of mapped ranges it knows.
    mod handler {
        use std::cell::UnsafeCell;
        use std::mem::MaybeUninit;
        use std::sync::Mutex;
        use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

        /// How many files may be mapped at once (tests read many in parallel); past that, files
        /// are read.
        const SLOTS: usize = 64;

        /// One mapped range and its message. `start` is 0 when the slot is free; it is set last
        /// and cleared first, so the handler never sees a half-written slot as in use.
        struct Slot {
            start: AtomicUsize,
            end: AtomicUsize,
            message: AtomicPtr<u8>,
            message_len: AtomicUsize,
        }

        #[allow(clippy::declare_interior_mutable_const)]
        const FREE: Slot = Slot {
            start: AtomicUsize::new(0),
            end: AtomicUsize::new(0),
            message: AtomicPtr::new(std::ptr::null_mut()),
            message_len: AtomicUsize::new(0),
        };

        static TABLE: [Slot; SLOTS] = [FREE; SLOTS];

        /// Which slots are taken, and whether our handler is installed (under the lock).
        struct State {
            taken: [bool; SLOTS],
            installed: bool,
        }

        static STATE: Mutex<State> = Mutex::new(State {
            taken: [false; SLOTS],
            installed: false,
        });

        /// The action ours replaced (Rust's own, which tells a stack overflow), put back when
        /// the last mapping closes, and by the handler for a fault that is not ours. Written
        /// only by `install`, under the lock, while our handler is not installed; read while it
        /// is (a plain static: the handler may take no lock).
        struct Previous(UnsafeCell<MaybeUninit<libc::sigaction>>);

        // SAFETY: see the type's documentation: the writes and the reads never overlap.
        unsafe impl Sync for Previous {}

        static PREVIOUS: Previous = Previous(UnsafeCell::new(MaybeUninit::zeroed()));

        /// Enters `start..start + len` and its message in the table, installing the handler if it
        /// is the first; the slot, or `None` when every slot is taken or the handler could not be
        /// installed.
        pub(super) fn register(start: usize, len: usize, message: &[u8]) -> Option<usize> {
            let mut state = STATE.lock().unwrap_or_else(|e| e.into_inner());
            let slot = state.taken.iter().position(|t| !t)?;
            if !state.installed {
                state.installed = install();
                if !state.installed {
                    return None;
                }
            }
            state.taken[slot] = true;
            let entry = &TABLE[slot];
            entry
                .message
                .store(message.as_ptr().cast_mut(), Ordering::SeqCst);
            entry.message_len.store(message.len(), Ordering::SeqCst);
            entry.end.store(start + len, Ordering::SeqCst);
            entry.start.store(start, Ordering::SeqCst);
            Some(slot)
        }

        /// Takes `slot` out of the table, restoring the previous handler after the last one.
        pub(super) fn unregister(slot: usize) {
            let mut state = STATE.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(entry) = TABLE.get(slot) {
                entry.start.store(0, Ordering::SeqCst);
                entry.message.store(std::ptr::null_mut(), Ordering::SeqCst);
            }
            if let Some(taken) = state.taken.get_mut(slot) {
                *taken = false;
            }
            if !state.taken.iter().any(|&t| t) && state.installed {
                state.installed = false;
                // SAFETY: puts back the action `install` replaced, a valid `sigaction` the kernel
                // wrote into `PREVIOUS`.
                unsafe {
                    libc::sigaction(libc::SIGBUS, PREVIOUS.0.get().cast(), std::ptr::null_mut())
                };
            }
        }

        /// Installs [`on_sigbus`], keeping the action it replaces in [`PREVIOUS`]; false when
        /// it could not be installed.
        fn install() -> bool {
            // SAFETY: a zeroed `sigaction` is a valid value to fill in; `on_sigbus` has the
            // three-argument signature `SA_SIGINFO` calls, and only does async-signal-safe things.
            // `SA_ONSTACK`: a fault on a thread whose stack is nearly full still gets handled on
            // the alternate stack Rust gives each thread. `PREVIOUS` is written here under the
            // lock, with our handler not installed (nothing reads it meanwhile).
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_sigbus as *const () as usize;
                action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(libc::SIGBUS, &action, PREVIOUS.0.get().cast()) == 0
            }
        }

        /// The handler: the message of the mapping the faulting address is in, then `_exit(2)`;
        /// for any other address, the action that was there before ours (see the module docs).
        extern "C" fn on_sigbus(
            _signal: libc::c_int,
            info: *mut libc::siginfo_t,
            _context: *mut libc::c_void,
        ) {
            // SAFETY: the kernel passes a valid `siginfo_t` with `SA_SIGINFO`; for SIGBUS `si_addr`
            // is the faulting address.
            let address = unsafe { (*info).si_addr() } as usize;
            for entry in &TABLE {
                let start = entry.start.load(Ordering::SeqCst);
                if start == 0 || address < start || address >= entry.end.load(Ordering::SeqCst) {
                    continue;
                }
                let message = entry.message.load(Ordering::SeqCst);
                let len = entry.message_len.load(Ordering::SeqCst);
                if !message.is_null() {
                    // SAFETY: `message` points at `len` bytes owned by the `Mapping` whose range
                    // faulted: a range is only read from while its `Mapping` is alive, and the
                    // `Mapping` clears its slot before freeing the message. `write` and `_exit`
                    // are async-signal-safe.
                    unsafe { libc::write(2, message as *const libc::c_void, len) };
                }
                // SAFETY: ends the process at once, as the command edge does on an error.
                unsafe { libc::_exit(2) };
            }
            // SAFETY: `PREVIOUS` holds the action ours replaced (written before ours was
            // installed); `sigaction` is async-signal-safe. Returning re-runs the faulting access,
            // which that action now handles as it would have without ours.
            unsafe {
                libc::sigaction(libc::SIGBUS, PREVIOUS.0.get().cast(), std::ptr::null_mut());
            }
        }

        #[cfg(test)]
        pub(super) fn message_of(slot: usize) -> Vec<u8> {
            let entry = &TABLE[slot];
            let ptr = entry.message.load(Ordering::SeqCst);
            let len = entry.message_len.load(Ordering::SeqCst);
            // SAFETY: the test holds the `Mapping` that owns the message.
            unsafe { std::slice::from_raw_parts(ptr, len) }.to_vec()
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use std::io::Write;

        fn file_with(bytes: &[u8]) -> (tempfile::NamedTempFile, File) {
            let mut f = tempfile::NamedTempFile::new().unwrap();
            f.write_all(bytes).unwrap();
            f.flush().unwrap();
            let file = File::open(f.path()).unwrap();
            (f, file)
        }

        #[test]
        fn maps_a_file_and_not_an_empty_one() {
            let data: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
            let (_f, file) = file_with(&data);
            let map = Mapping::open(&file, "x").unwrap();
            assert_eq!(map.bytes(), &data[..]);
            map.populate(5000, 12_000);
            let w = Window::new(Arc::clone(&map), 4097, 9000);
            assert_eq!(w.bytes(), &data[4097..9000]);
            let next = Window::new(Arc::clone(&map), 9000, 30_000);
            let joined = w.joined(&next).ok().unwrap();
            assert_eq!(joined.bytes(), &data[4097..]);
            drop(next);
            // Given back pages read the same again.
            drop(joined);
            assert_eq!(map.bytes(), &data[..]);
            let (_e, empty) = file_with(b"");
            assert!(Mapping::open(&empty, "e").is_none());
        }

        #[test]
        fn the_message_names_the_file_on_one_line() {
            let (_f, file) = file_with(b"{}\n");
            let map = Mapping::open(&file, "logs/a\nb.log").unwrap();
            assert_eq!(
                String::from_utf8(handler::message_of(map.slot)).unwrap(),
                "auditscope: logs/a\\nb.log: the file shrank while it was being read\n"
            );
        }
    }
}

pub(crate) use imp::{Mapping, Window};

/// Elsewhere than Linux nothing is mapped: every file is read.
#[cfg(not(target_os = "linux"))]
mod imp {
    use std::fs::File;
    use std::sync::Arc;

    /// Never made: [`Mapping::open`] always says no.
    pub(crate) struct Mapping(());

    impl Mapping {
        /// `None`: the file is read.
        pub(crate) fn open(_file: &File, _path: &str) -> Option<Arc<Mapping>> {
            None
        }
        /// Nothing.
        pub(crate) fn bytes(&self) -> &[u8] {
            &[]
        }
        /// Nothing.
        pub(crate) fn len(&self) -> usize {
            0
        }
        /// Nothing to do.
        pub(crate) fn populate(&self, _start: usize, _end: usize) {}
    }

    /// Never made (no [`Mapping`] is).
    pub(crate) struct Window(());

    impl Window {
        /// Unreachable without a [`Mapping`].
        pub(crate) fn new(_map: Arc<Mapping>, _start: usize, _end: usize) -> Window {
            Window(())
        }
        /// Nothing.
        pub(crate) fn bytes(&self) -> &[u8] {
            &[]
        }
        /// Never joins.
        pub(crate) fn joined(self, _next: &Window) -> Result<Window, Window> {
            Err(self)
        }
    }
}
