//! Writing RUN.json: the big tables cut into chunks that rayon's threads serialize at once.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use serde::Serialize;
use std::sync::{Arc, Mutex};

use super::*;

/// Writes `run` to `path` atomically: a temporary file beside it, renamed into place, so a
/// failure never leaves a partial RUN.json behind.
pub fn write_run(run: &Run, path: &Path) -> Result<(), FormatError> {
    write_run_file(run, path, None)
}

/// [`write_run`] for a run whose requests are still being matched to operations: `endpoints`
/// gives each request's operation (it runs on a thread of its own while the file is written
/// up to the `endpoint` column, which takes its values instead of the requests'). Gives those
/// endpoints back, for the caller to set. `run.operations` must already hold the table they
/// point into.
pub fn write_run_matching<F>(
    run: &Run,
    path: &Path,
    endpoints: F,
) -> Result<Vec<Option<OpId>>, FormatError>
where
    F: FnOnce() -> Vec<Option<OpId>> + Send,
{
    let pending = Pending {
        values: std::sync::OnceLock::new(),
    };
    std::thread::scope(|scope| {
        let matcher = scope.spawn(endpoints);
        let mut matcher = Some(matcher);
        // Called by the writer before the first piece that needs the endpoints is made.
        let mut wait = || {
            if let Some(handle) = matcher.take() {
                let values = match handle.join() {
                    Ok(values) => values,
                    Err(panic) => std::panic::resume_unwind(panic),
                };
                let _ = pending.values.set(values);
            }
        };
        write_run_file(run, path, Some((&pending, &mut wait)))?;
        wait();
        Ok(())
    })?;
    Ok(pending.values.into_inner().unwrap_or_default())
}

/// The key of the request column [`write_run_matching`] fills in late.
const ENDPOINT_KEY: &str = "endpoint";

/// The endpoint column's values, which come late (see [`write_run_matching`]).
pub(super) struct Pending {
    /// One per request, once they are known.
    pub(super) values: std::sync::OnceLock<Vec<Option<OpId>>>,
}

/// A pending column and what makes its values known.
pub(super) type Late<'p> = (&'p Pending, &'p mut dyn FnMut());

/// [`write_run`], with a column whose values come late.
fn write_run_file(run: &Run, path: &Path, late: Option<Late<'_>>) -> Result<(), FormatError> {
    let shown = path.display().to_string();
    let io_err = |source| FormatError::Io {
        path: shown.clone(),
        source,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "RUN.json".to_string());
    let tmp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let result = (|| {
        let file = File::create(&tmp).map_err(io_err)?;
        // Small next to the chunks, which then go to the file as they are, not copied
        // into the buffer first; only the short texts between them are gathered.
        let mut w = BufWriter::with_capacity(1 << 16, file);
        write_run_chunked(run, &mut w, CHUNK_ITEMS, late).map_err(|source| FormatError::Json {
            path: shown.clone(),
            source,
        })?;
        w.flush().map_err(io_err)?;
        // No `sync_all` before the rename: the rename alone keeps every reader from seeing
        // a partial file (the old one or the whole new one), and waiting for the disk to
        // hold the new one cost 90-125 ms after a 1.3 GB log (5% of `correlate`), on a
        // run the inputs can always make again. The kernel writes it out as it writes any
        // file; a power cut before then can lose it, as it can a file `cp` wrote.
        drop(w.into_inner().map_err(|e| io_err(e.into_error()))?);
        let replaced = open_replaced(path);
        std::fs::rename(&tmp, path).map_err(io_err)?;
        close_aside(replaced);
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The file a new output is about to replace, held open across the `rename`: the kernel frees
/// a file's cached pages and disk blocks when its last name and descriptor are gone, and the
/// rename over an earlier RUN.json of 75 MB spent 20-40 ms in that, on the writer's critical
/// path. Held open, the old file outlives its name until [`close_aside`] lets it go. `None`
/// when nothing is there (or it is not a regular file): the rename then frees nothing.
fn open_replaced(path: &Path) -> Option<File> {
    // Looked at before opening: opening a named pipe would wait for a writer.
    if !std::fs::symlink_metadata(path).ok()?.is_file() {
        return None;
    }
    File::open(path).ok()
}

/// Drops the cached pages of the file at `path`, an earlier output about to be replaced (by
/// [`write_run`] or [`write_run_matching`]), so that replacing it later frees less: a caller
/// calls this on a thread of its own while a core is idle (`correlate` after reading). The
/// file itself is untouched, and stays as it is should the new output never come. Nothing
/// happens to anything but a regular file, nor where the kernel cannot do it.
pub fn uncache_replaced(path: &Path) {
    #[cfg(target_os = "linux")]
    if let Some(file) = open_replaced(path) {
        use std::os::fd::AsRawFd;
        // SAFETY: the descriptor is open (owned by `file`) for the whole call, which touches
        // no memory of ours: it only asks the kernel to drop the file's clean cached pages.
        // An error changes nothing (the pages are freed when the file is replaced).
        unsafe {
            libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = path;
}

/// Closes the replaced output (see [`open_replaced`]) on a thread of its own, so freeing it
/// overlaps what the process does after writing (and its exit, which waits for the thread).
/// The new output is in place already: whatever happens to this thread, nothing is left
/// half-written, and an exit before the thread ran closes the file anyway.
fn close_aside(replaced: Option<File>) {
    if let Some(file) = replaced {
        // When no thread can be started, the closure (and the file) is dropped here.
        let _ = std::thread::Builder::new()
            .name("close-replaced".to_string())
            .spawn(move || drop(file));
    }
}

/// Serializes `run` as RUN.json into any writer.
///
/// The big tables (strings, users, agents, frames, traces and each request column) are cut
/// into chunks that rayon's threads serialize into buffers at once; the buffers are written
/// in order, a group at a time so only a few megabytes are held. The bytes are the same as one
/// serde_json serializer writing the whole run in one go (a test holds the two side by side).
pub fn write_run_to(run: &Run, w: &mut dyn Write) -> Result<(), serde_json::Error> {
    write_run_chunked(run, w, CHUNK_ITEMS, None)
}

/// Items per chunk of a number column serialized on one thread (some tens of kilobytes); the
/// tables of text and of rows take a quarter as many (a few hundred kilobytes).
pub(super) const CHUNK_ITEMS: usize = 1 << 14;
/// Chunks serialized at once: one group is serialized while the one before is written out, so
/// the memory held is two groups' buffers, a few megabytes.
const GROUP_PIECES: usize = 4;

/// [`write_run_to`] with `chunk` items per chunk (small in tests, to cross chunk borders), and
/// a column whose values come late: they are waited for before the first group that needs
/// them is made.
pub(super) fn write_run_chunked(
    run: &Run,
    w: &mut dyn Write,
    chunk: usize,
    late: Option<Late<'_>>,
) -> Result<(), serde_json::Error> {
    let (pending, mut wait) = match late {
        Some((pending, wait)) => (Some(pending), Some(wait)),
        None => (None, None),
    };
    let pieces = run_pieces(run, chunk.max(1), pending)?;
    let groups: Vec<&[Piece<'_>]> = pieces.chunks(GROUP_PIECES).collect();
    let mut ready_for = |group: &[Piece<'_>]| {
        if group.iter().any(|p| matches!(p, Piece::LateJob(_)))
            && let Some(wait) = wait.take()
        {
            wait();
        }
    };
    // Buffers kept from group to group: fresh memory for every chunk would cost more in page
    // faults than the serializing itself. `ready` holds the group being written, `next` the
    // one being serialized meanwhile.
    let mut ready: Vec<ChunkBuf> = vec![ChunkBuf::default(); GROUP_PIECES];
    let mut next: Vec<ChunkBuf> = vec![ChunkBuf::default(); GROUP_PIECES];
    if let Some(first) = groups.first() {
        ready_for(first);
        serialize_group(first, &mut ready)?;
    }
    for (k, group) in groups.iter().enumerate() {
        if let Some(following) = groups.get(k + 1) {
            ready_for(following);
        }
        // Writing is the kernel copying into the page cache, on this thread alone: rayon's
        // threads serialize the following group meanwhile.
        let mut made = Ok(());
        let mut written = Ok(());
        rayon::in_place_scope(|scope| {
            if let Some(following) = groups.get(k + 1) {
                let (made, next) = (&mut made, &mut next);
                scope.spawn(move |_| *made = serialize_group(following, next));
            }
            written = write_group(group, &ready, w);
        });
        written?;
        made?;
        std::mem::swap(&mut ready, &mut next);
    }
    Ok(())
}

/// Serializes the jobs of `group` into `bufs`, one buffer a piece, on rayon's threads.
fn serialize_group(group: &[Piece<'_>], bufs: &mut [ChunkBuf]) -> Result<(), serde_json::Error> {
    use rayon::prelude::*;
    group
        .par_iter()
        .zip(bufs.par_iter_mut())
        .try_for_each(|(piece, buf)| match piece {
            Piece::Text(_) | Piece::Made(..) => {
                buf.len = 0;
                Ok(())
            }
            Piece::Job(job) | Piece::LateJob(job) => job(buf),
        })
}

/// Writes `group` out in order: texts as they are, jobs from their buffers in `bufs`.
fn write_group(
    group: &[Piece<'_>],
    bufs: &[ChunkBuf],
    w: &mut dyn Write,
) -> Result<(), serde_json::Error> {
    for (piece, buf) in group.iter().zip(bufs) {
        let bytes = match piece {
            Piece::Text(text) => text.as_slice(),
            Piece::Job(_) | Piece::LateJob(_) => buf.output(),
            Piece::Made(slot, pool) => {
                // The job that fills the slot is in this group or an earlier one, all of
                // whose jobs ran before this group is written.
                let made = lock(slot).take().ok_or_else(|| {
                    serde_json::Error::io(std::io::Error::other("a column's chunk was not made"))
                })?;
                w.write_all(made.output()).map_err(serde_json::Error::io)?;
                lock(pool).push(made);
                continue;
            }
        };
        w.write_all(bytes).map_err(serde_json::Error::io)?;
    }
    Ok(())
}

/// Locks `mutex`, also when a thread panicked holding it (what it holds is whole anyway: a
/// buffer, or the list of them).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A job's output buffer, kept from group to group. It stays at the largest length a chunk
/// needed, all of it initialized, so it is zeroed once when it grows, not for every chunk;
/// the chunk's bytes are the first `len`.
#[derive(Default, Clone)]
struct ChunkBuf {
    bytes: Vec<u8>,
    len: usize,
}

impl ChunkBuf {
    /// The bytes the last job wrote.
    fn output(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Runs `write` with a cursor at the start of the buffer (what was there is dropped) and
    /// keeps what it wrote.
    #[inline]
    fn fill<R>(&mut self, write: impl FnOnce(&mut Cursor) -> R) -> R {
        self.len = 0;
        self.append(write)
    }

    /// Runs `write` with a cursor after the bytes written so far and keeps what it wrote.
    #[inline]
    fn append<R>(&mut self, write: impl FnOnce(&mut Cursor) -> R) -> R {
        // The cursor is a local value, so the compiler keeps its pointer, length and position
        // in registers across the column getters, which are calls through function pointers
        // it cannot see into. Writing through `Vec::push` stored the length to memory and
        // loaded it back around every byte.
        let mut out = Cursor {
            bytes: std::mem::take(&mut self.bytes),
            at: self.len,
        };
        let result = write(&mut out);
        self.bytes = out.bytes;
        self.len = out.at;
        result
    }
}

/// Where a job writes its chunk: a buffer and the position in it.
struct Cursor {
    /// All of it initialized; what lies past `at` is room, not output.
    bytes: Vec<u8>,
    /// Bytes written.
    at: usize,
}

/// Two decimal digits of each number below 100, one after the other.
const DIGIT_PAIRS: &[u8; 200] = b"\
    0001020304050607080910111213141516171819\
    2021222324252627282930313233343536373839\
    4041424344454647484950515253545556575859\
    6061626364656667686970717273747576777879\
    8081828384858687888990919293949596979899";

impl Cursor {
    /// Makes room for `n` more bytes.
    #[inline(always)]
    fn room(&mut self, n: usize) {
        if self.bytes.len() - self.at < n {
            self.bytes = grown(std::mem::take(&mut self.bytes), self.at + n);
        }
    }

    /// Writes one byte; [`Cursor::room`] was made for it.
    #[inline(always)]
    fn byte(&mut self, b: u8) {
        self.bytes[self.at] = b;
        self.at += 1;
    }

    /// Writes `bytes`; [`Cursor::room`] was made for them.
    #[inline(always)]
    fn put(&mut self, bytes: &[u8]) {
        let end = self.at + bytes.len();
        self.bytes[self.at..end].copy_from_slice(bytes);
        self.at = end;
    }

    /// Writes `v` in decimal, as serde_json (itoa) does, making room for it. A single digit
    /// (most values of most request columns: enums, absent ids) is one byte; anything up to
    /// eight digits is made without a branch on its length ([`eight_digits`]): the lengths
    /// of ids, times and latencies vary from row to row, and a branch per length was
    /// mispredicted often enough to be a fifth of the writer's time. Longer numbers (the
    /// first received time) go out of line.
    #[inline(always)]
    fn uint(&mut self, v: u64) {
        if v < 10 {
            self.room(1);
            self.byte(b'0' + v as u8);
        } else if v < 100_000_000 {
            self.room(8);
            let (digits, len) = eight_digits(v as u32);
            self.bytes[self.at..self.at + 8].copy_from_slice(&digits);
            self.at += len;
        } else {
            self.room(20);
            self.at += write_long_uint(v, &mut self.bytes[self.at..]);
        }
    }

    /// Writes `v` in decimal, as serde_json does, making room for it.
    #[inline(always)]
    fn int(&mut self, v: i64) {
        if v < 0 {
            self.room(1);
            self.byte(b'-');
        }
        self.uint(v.unsigned_abs());
    }
}

/// `bytes` grown to at least `at_least` bytes, by a quarter (at least 16 KB): all of a buffer
/// is zeroed, so all of it is resident (a `Vec`'s spare capacity is not), and doubling left up
/// to half of it unused (growing by a quarter: peak RSS 175 against 177 MiB at 900k events).
/// Out of line: buffers are kept and reused, so it happens a few times per buffer.
#[cold]
#[inline(never)]
fn grown(mut bytes: Vec<u8>, at_least: usize) -> Vec<u8> {
    let len = at_least
        .max(bytes.len() + bytes.len() / 4)
        .max(bytes.len() + (16 << 10));
    bytes.resize(len, 0);
    bytes
}

/// The decimal digits of `v` (1 to 10^8 - 1) in the first bytes of eight, and how many there
/// are (the bytes after them are zeros). All eight digits are made at once in the lanes of
/// one 64-bit word (two halves of four digits, four pairs, eight digits, each split by a
/// multiplication and a shift instead of a division), then the leading zeros are shifted out.
#[inline(always)]
fn eight_digits(v: u32) -> ([u8; 8], usize) {
    // Bytes are in writing order from the low end of the word: the most significant digit in
    // the lowest byte. Four digits per 32-bit lane: the high half of `v` first.
    let halves = u64::from(v / 10_000) | (u64::from(v % 10_000) << 32);
    // x / 100 as x * 10486 >> 20 is exact for x < 10^4 (the error stays below 0.002), and
    // the products stay inside their lanes; the mask drops what shifts in from the next.
    let hundreds = ((halves * 10_486) >> 20) & 0x0000_007f_0000_007f;
    let pairs = hundreds | ((halves - hundreds * 100) << 16);
    // x / 10 as x * 103 >> 10 is exact for x < 100, again lane by lane (16-bit lanes).
    let tens = ((pairs * 103) >> 10) & 0x000f_000f_000f_000f;
    let digits = tens | ((pairs - tens * 10) << 8);
    // v > 0, so some digit is not 0: the leading zeros are the low zero bytes.
    let leading_zeros = digits.trailing_zeros() / 8;
    let ascii = (digits + 0x3030_3030_3030_3030) >> (8 * leading_zeros);
    (ascii.to_le_bytes(), 8 - leading_zeros as usize)
}

/// Writes `v` in decimal at the start of `out`, which has room for it (20 bytes); gives the
/// number of digits. Numbers are cut into parts of up to eight digits and those into parts of
/// four, which are independent divisions (not a chain of one per two digits), and the length
/// comes out of the comparisons that choose the cut.
#[inline(never)]
fn write_long_uint(v: u64, out: &mut [u8]) -> usize {
    const E8: u64 = 100_000_000;
    if v < E8 {
        write_below_e8(v as u32, out)
    } else if v < E8 * E8 {
        let n = write_below_e8((v / E8) as u32, out);
        write_8_digits((v % E8) as u32, &mut out[n..n + 8]);
        n + 8
    } else {
        // At most 1844: four digits.
        let n = write_below_e4((v / (E8 * E8)) as u32, out);
        write_8_digits(((v / E8) % E8) as u32, &mut out[n..n + 8]);
        write_8_digits((v % E8) as u32, &mut out[n + 8..n + 16]);
        n + 16
    }
}

/// Writes `v` (below 10^8) in decimal at the start of `out`; gives the number of digits.
#[inline(always)]
fn write_below_e8(v: u32, out: &mut [u8]) -> usize {
    if v < 10_000 {
        write_below_e4(v, out)
    } else {
        let n = write_below_e4(v / 10_000, out);
        write_4_digits(v % 10_000, &mut out[n..n + 4]);
        n + 4
    }
}

/// Writes `v` (below 10^4) in decimal at the start of `out`; gives the number of digits.
#[inline(always)]
fn write_below_e4(v: u32, out: &mut [u8]) -> usize {
    let v = v as usize;
    if v < 10 {
        out[0] = b'0' + v as u8;
        1
    } else if v < 100 {
        out[..2].copy_from_slice(&DIGIT_PAIRS[v * 2..v * 2 + 2]);
        2
    } else if v < 1_000 {
        let (high, low) = (v / 100, v % 100);
        out[0] = b'0' + high as u8;
        out[1..3].copy_from_slice(&DIGIT_PAIRS[low * 2..low * 2 + 2]);
        3
    } else {
        write_4_digits(v as u32, &mut out[..4]);
        4
    }
}

/// Writes `v` (below 10^8) as exactly eight digits, with leading zeros, into `out`.
#[inline(always)]
fn write_8_digits(v: u32, out: &mut [u8]) {
    write_4_digits(v / 10_000, &mut out[..4]);
    write_4_digits(v % 10_000, &mut out[4..8]);
}

/// Writes `v` (below 10^4) as exactly four digits, with leading zeros, into `out`.
#[inline(always)]
fn write_4_digits(v: u32, out: &mut [u8]) {
    let (high, low) = ((v / 100) as usize, (v % 100) as usize);
    out[..2].copy_from_slice(&DIGIT_PAIRS[high * 2..high * 2 + 2]);
    out[2..4].copy_from_slice(&DIGIT_PAIRS[low * 2..low * 2 + 2]);
}

/// Serializes part of a RUN.json into a buffer.
type Job<'a> = Box<dyn Fn(&mut ChunkBuf) -> Result<(), serde_json::Error> + Send + Sync + 'a>;

/// One part of a RUN.json, in file order.
enum Piece<'a> {
    /// Bytes known up front (keys, brackets, small values).
    Text(Vec<u8>),
    /// Bytes made on a worker thread.
    Job(Job<'a>),
    /// Bytes made on a worker thread from values that come late ([`Pending`]).
    LateJob(Job<'a>),
    /// Bytes the job of an earlier piece made ([`Pieces::columns`]), taken from the slot when
    /// written; the buffer then goes back to the pool.
    Made(Arc<Slot>, Arc<Pool>),
}

/// Where a job leaves the bytes of a later piece ([`Piece::Made`]).
type Slot = Mutex<Option<ChunkBuf>>;

/// Buffers of [`Piece::Made`] pieces already written, for jobs to fill again (fresh memory
/// for each would cost page faults).
type Pool = Mutex<Vec<ChunkBuf>>;

/// Number columns made by one job, chunk by chunk (see [`Pieces::columns`]).
const COLUMNS_TOGETHER: usize = 4;

/// A RUN.json as a list of pieces, in the compact form serde_json writes: `{"key":value,…}`.
struct Pieces<'a> {
    list: Vec<Piece<'a>>,
    /// Buffers for [`Piece::Made`] pieces.
    pool: Arc<Pool>,
    chunk: usize,
    /// Fields written so far in the innermost open object, for the commas.
    fields: Vec<usize>,
    /// Lists are made of [`Piece::LateJob`]s.
    late: bool,
}

impl<'a> Pieces<'a> {
    fn text(&mut self, bytes: &[u8]) {
        if let Some(Piece::Text(last)) = self.list.last_mut() {
            last.extend_from_slice(bytes);
        } else {
            self.list.push(Piece::Text(bytes.to_vec()));
        }
    }

    fn open(&mut self) {
        self.text(b"{");
        self.fields.push(0);
    }

    fn close(&mut self) {
        self.text(b"}");
        self.fields.pop();
    }

    /// `"key":` with the comma before it when needed. Keys are plain ASCII names, so they need
    /// no escaping.
    fn key(&mut self, key: &str) {
        let first = self.fields.last().is_none_or(|&n| n == 0);
        if let Some(n) = self.fields.last_mut() {
            *n += 1;
        }
        let mut bytes = Vec::with_capacity(key.len() + 4);
        if !first {
            bytes.push(b',');
        }
        bytes.push(b'"');
        bytes.extend_from_slice(key.as_bytes());
        bytes.extend_from_slice(b"\":");
        self.text(&bytes);
    }

    /// A small field, serialized here.
    fn field<T: Serialize + ?Sized>(
        &mut self,
        key: &str,
        value: &T,
    ) -> Result<(), serde_json::Error> {
        self.key(key);
        let bytes = serde_json::to_vec(value)?;
        self.text(&bytes);
        Ok(())
    }

    /// A list of `n` items, chunks of which `write` serializes (items `range`, each but the
    /// very first preceded by a comma).
    fn list<F>(&mut self, key: &str, n: usize, write: F)
    where
        F: Fn(std::ops::Range<usize>, &mut Cursor) -> Result<(), serde_json::Error>
            + Send
            + Sync
            + 'a,
    {
        self.key(key);
        self.text(b"[");
        let write = Arc::new(write);
        let mut start = 0;
        while start < n {
            let end = n.min(start + self.chunk);
            let write = Arc::clone(&write);
            let job: Job<'a> = Box::new(move |buf| buf.fill(|out| write(start..end, out)));
            self.list.push(if self.late {
                Piece::LateJob(job)
            } else {
                Piece::Job(job)
            });
            start = end;
        }
        self.text(b"]");
    }

    /// The request columns `fields` (numbers), each a list, made together a chunk of rows at a
    /// time: the job of the first column's chunk also makes the other columns' chunks of the
    /// same rows, while those rows are in the cache, and leaves them for their
    /// [`Piece::Made`] pieces. Column by column, each of the ~25 columns read every request
    /// again from memory (428k requests of 128 bytes, more than the last-level cache); the
    /// price is holding up to `fields.len() - 1` columns' text until it is written.
    fn columns(&mut self, fields: &[RequestColumn], rs: &'a [Request]) {
        let Some((first, later)) = fields.split_first() else {
            return;
        };
        let chunks: Vec<std::ops::Range<usize>> = (0..rs.len())
            .step_by(self.chunk)
            .map(|start| start..rs.len().min(start + self.chunk))
            .collect();
        // slots[c][j]: chunk j of later column c.
        let slots: Vec<Vec<Arc<Slot>>> = later
            .iter()
            .map(|_| chunks.iter().map(|_| Arc::default()).collect())
            .collect();
        self.key(first.field.key);
        self.text(b"[");
        for (j, range) in chunks.iter().enumerate() {
            let first = *first;
            let later: Vec<(RequestColumn, Arc<Slot>)> = later
                .iter()
                .zip(&slots)
                .map(|(column, chunks)| (*column, Arc::clone(&chunks[j])))
                .collect();
            let pool = Arc::clone(&self.pool);
            let range = range.clone();
            let job: Job<'a> = Box::new(move |buf| {
                first.write(rs, range.clone(), buf)?;
                // The rows are in the cache now (16k rows, 2 MB: in the last level, not in a
                // core's own 512 KB; going through them a few hundred kilobytes at a time
                // for every column measured no faster).
                for (column, slot) in &later {
                    let mut made = lock(&pool).pop().unwrap_or_default();
                    column.write(rs, range.clone(), &mut made)?;
                    *lock(slot) = Some(made);
                }
                Ok(())
            });
            self.list.push(Piece::Job(job));
        }
        self.text(b"]");
        for (column, chunks) in later.iter().zip(slots) {
            self.key(column.field.key);
            self.text(b"[");
            for slot in chunks {
                self.list.push(Piece::Made(slot, Arc::clone(&self.pool)));
            }
            self.text(b"]");
        }
    }

    /// A list whose item `i` is written by `write_item(i, out)`, separated by commas.
    fn each<F>(&mut self, key: &str, n: usize, write_item: F)
    where
        F: Fn(usize, &mut Cursor) -> Result<(), serde_json::Error> + Send + Sync + 'a,
    {
        self.list(key, n, move |range, out| {
            for i in range {
                if i > 0 {
                    out.room(1);
                    out.byte(b',');
                }
                write_item(i, out)?;
            }
            Ok(())
        });
    }

    /// A list whose item `i` is the list of numbers `row(i)` (the rows of the users, agents,
    /// frames and traces tables), written without a serializer.
    fn rows<I, F>(&mut self, key: &str, n: usize, row: F)
    where
        I: IntoIterator<Item = u32>,
        F: Fn(usize) -> I + Send + Sync + 'a,
    {
        self.each(key, n, move |i, out| {
            out.room(1);
            out.byte(b'[');
            for (k, v) in row(i).into_iter().enumerate() {
                if k > 0 {
                    out.room(1);
                    out.byte(b',');
                }
                out.uint(u64::from(v));
            }
            out.room(1);
            out.byte(b']');
            Ok(())
        });
    }

    /// [`Pieces::each`] for the scalars of the big tables, written without a serializer.
    fn scalars<T, F>(&mut self, key: &str, n: usize, item: F)
    where
        T: JsonScalar,
        F: Fn(usize) -> T + Send + Sync + 'a,
    {
        self.each(key, n, move |i, out| item(i).write_json(out));
    }
}

/// A value written straight into a chunk, as serde_json writes it (the big request columns
/// and the string table are most of a RUN.json, and a serializer per number costs).
trait JsonScalar {
    fn write_json(&self, out: &mut Cursor) -> Result<(), serde_json::Error>;
}

impl JsonScalar for i64 {
    #[inline(always)]
    fn write_json(&self, out: &mut Cursor) -> Result<(), serde_json::Error> {
        out.int(*self);
        Ok(())
    }
}

impl<T: JsonScalar> JsonScalar for Option<T> {
    #[inline(always)]
    fn write_json(&self, out: &mut Cursor) -> Result<(), serde_json::Error> {
        match self {
            Some(v) => v.write_json(out),
            None => {
                out.room(4);
                out.put(b"null");
                Ok(())
            }
        }
    }
}

impl JsonScalar for &str {
    #[inline(always)]
    fn write_json(&self, out: &mut Cursor) -> Result<(), serde_json::Error> {
        if is_plain_json_text(self.as_bytes()) {
            out.room(self.len() + 2);
            out.byte(b'"');
            out.put(self.as_bytes());
            out.byte(b'"');
        } else {
            let escaped = serde_json::to_vec(self)?;
            out.room(escaped.len());
            out.put(&escaped);
        }
        Ok(())
    }
}

/// Whether serde_json writes `text` between its quotes as it is: it escapes only control
/// characters (below 0x20), '"' and '\\'. Looked at eight bytes at a time (the string table and
/// the audit IDs are 22 MB of a 900k-event RUN.json).
#[inline]
fn is_plain_json_text(text: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH_BITS: u64 = ONES * 0x80;
    // The high bit of a byte of the result is set for (at least) the lowest byte of `word`
    // below `n` (n ≤ 0x80), and the result is 0 when there is none.
    let any_below = |word: u64, n: u8| word.wrapping_sub(ONES * u64::from(n)) & !word & HIGH_BITS;
    let any_equal = |word: u64, b: u8| any_below(word ^ (ONES * u64::from(b)), 1);
    let (words, rest) = text.as_chunks::<8>();
    words.iter().all(|w| {
        let word = u64::from_ne_bytes(*w);
        (any_below(word, 0x20) | any_equal(word, b'"') | any_equal(word, b'\\')) == 0
    }) && rest.iter().all(|&b| b >= 0x20 && b != b'"' && b != b'\\')
}

/// The pieces of `run`'s RUN.json, in the shape of [`RunFile`].
/// With `pending`, the endpoint column takes its values (pieces made late).
fn run_pieces<'a>(
    run: &'a Run,
    chunk: usize,
    pending: Option<&'a Pending>,
) -> Result<Vec<Piece<'a>>, serde_json::Error> {
    let mut p = Pieces {
        list: Vec::new(),
        pool: Arc::default(),
        chunk,
        fields: Vec::new(),
        late: false,
    };
    p.open();
    p.field("format", FORMAT_NAME)?;
    p.field("version", &FORMAT_VERSION)?;
    p.field(
        "generator",
        &format!("auditscope {}", env!("CARGO_PKG_VERSION")),
    )?;
    p.field("inputs", &run.inputs)?;
    p.field("notes", &run.notes)?;
    p.field("release", &run.release)?;
    p.field("accounting", &run.accounting)?;
    // Text and rows are longer than numbers: smaller chunks keep the buffers alike.
    p.chunk = (chunk / 4).max(1);
    p.scalars("strings", run.strings.len(), |i| {
        run.strings.get(i as StrId)
    });
    p.rows("users", run.users.len(), |i| {
        let u = &run.users[i];
        std::iter::once(u.name).chain(u.groups.iter().copied())
    });
    p.rows("agents", run.agents.len(), |i| {
        agent_numbers(&run.agents[i])
    });
    p.rows("frames", run.frames.len(), |i| {
        let f = &run.frames[i];
        [f.function, f.file, f.line]
    });
    p.rows("traces", run.traces.len(), |i| {
        trace_numbers(&run.traces[i])
    });
    p.field("operations", &run.operations)?;
    p.field("specs", &run.specs)?;
    p.key("requests");
    p.open();
    let rs = &run.requests[..];
    // Number columns are made a few at a time (see `Pieces::columns`); the late endpoint
    // column and the audit IDs (text, too long to hold) on their own.
    let mut together: Vec<RequestColumn> = Vec::new();
    for (index, field) in REQUEST_FIELDS.iter().enumerate() {
        let late = field.key == ENDPOINT_KEY && pending.is_some();
        let number = !matches!(field.stored, Stored::Text { .. });
        if number && !late {
            together.push(RequestColumn { index, field });
            if together.len() == COLUMNS_TOGETHER {
                p.chunk = chunk;
                p.columns(&together, rs);
                together.clear();
            }
            continue;
        }
        if !together.is_empty() {
            p.chunk = chunk;
            p.columns(&together, rs);
            together.clear();
        }
        match field.stored {
            Stored::Uint { get, .. } if late => {
                p.chunk = chunk;
                p.late = true;
                p.list(field.key, rs.len(), move |range, out| {
                    let values = pending.and_then(|p| p.values.get()).ok_or_else(|| {
                        serde_json::Error::io(std::io::Error::other(
                            "the requests' endpoints were not matched",
                        ))
                    })?;
                    // The column's own getter, on a request holding the value: the stored
                    // form is defined once, in `REQUEST_FIELDS`.
                    let mut row = Request::default();
                    for i in range {
                        if i > 0 {
                            out.room(1);
                            out.byte(b',');
                        }
                        row.endpoint = values.get(i).copied().flatten();
                        out.uint(get(&row));
                    }
                    Ok(())
                });
                p.late = false;
            }
            stored => {
                // Text and rows are longer than numbers: smaller chunks keep the buffers alike.
                p.chunk = (chunk / 4).max(1);
                p.list(field.key, rs.len(), move |range, out| {
                    write_column(stored, rs, range, out)
                });
            }
        }
    }
    if !together.is_empty() {
        p.chunk = chunk;
        p.columns(&together, rs);
    }
    p.close();
    p.close();
    Ok(p.list)
}

/// A request column: field `index` of [`REQUEST_FIELDS`].
#[derive(Clone, Copy)]
struct RequestColumn {
    index: usize,
    field: &'static RequestField,
}

impl RequestColumn {
    /// Writes the column's values for requests `range` of `rs` into `buf` (what was there is
    /// dropped), each but the column's very first preceded by a comma.
    #[inline]
    fn write(
        self,
        rs: &[Request],
        range: std::ops::Range<usize>,
        buf: &mut ChunkBuf,
    ) -> Result<(), serde_json::Error> {
        match FIELD_WRITERS.get(self.index) {
            Some(write) => write(rs, range, buf),
            None => buf.fill(|out| write_column(self.field.stored, rs, range, out)),
        }
    }
}

/// Writes a chunk of one request column (see [`RequestColumn::write`]).
type ColumnWriter =
    fn(&[Request], std::ops::Range<usize>, &mut ChunkBuf) -> Result<(), serde_json::Error>;

/// [`write_field::<F>`] for the first fields of [`REQUEST_FIELDS`] (a field past these is
/// written through its getter as a function pointer: the same bytes, slower).
const FIELD_WRITERS: [ColumnWriter; 32] = {
    macro_rules! writers {
        ($($f:literal)*) => { [$(write_field::<$f> as ColumnWriter),*] };
    }
    writers!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31)
};

/// [`RequestColumn::write`] for field `F`: its stored form is a constant here, so its getter is
/// a known function the compiler inlines into the loop over the rows, where through a
/// function pointer it was a call per value (10.7M for a 900k-event log) and a loop that had
/// to keep its state across it.
fn write_field<const F: usize>(
    rs: &[Request],
    range: std::ops::Range<usize>,
    buf: &mut ChunkBuf,
) -> Result<(), serde_json::Error> {
    let stored = const {
        if F < REQUEST_FIELDS.len() {
            Some(REQUEST_FIELDS[F].stored)
        } else {
            None
        }
    };
    match stored {
        Some(stored) => buf.fill(|out| write_column(stored, rs, range, out)),
        // No such field: never called (`FIELD_WRITERS` is looked up by field index).
        None => Ok(()),
    }
}

/// Writes the values of column `stored` for requests `range` of `rs`, each but the column's very
/// first preceded by a comma.
#[inline(always)]
fn write_column(
    stored: Stored,
    rs: &[Request],
    range: std::ops::Range<usize>,
    out: &mut Cursor,
) -> Result<(), serde_json::Error> {
    let start = range.start;
    let rows = &rs[range];
    let comma = |k: usize, out: &mut Cursor| {
        if k > 0 || start > 0 {
            out.room(1);
            out.byte(b',');
        }
    };
    match stored {
        Stored::Text { get, .. } => {
            for (k, r) in rows.iter().enumerate() {
                comma(k, out);
                get(r).write_json(out)?;
            }
        }
        Stored::Uint { get, .. } => {
            for (k, r) in rows.iter().enumerate() {
                comma(k, out);
                out.uint(get(r));
            }
        }
        Stored::OptInt {
            delta: false, get, ..
        } => {
            for (k, r) in rows.iter().enumerate() {
                comma(k, out);
                get(r).write_json(out)?;
            }
        }
        Stored::OptInt {
            delta: true, get, ..
        } => {
            // The delta is from the last value before the chunk.
            let mut previous = rs[..start].iter().rev().find_map(get).unwrap_or(0);
            for (k, r) in rows.iter().enumerate() {
                comma(k, out);
                let delta = get(r).map(|v| {
                    let delta = v.wrapping_sub(previous);
                    previous = v;
                    delta
                });
                delta.write_json(out)?;
            }
        }
    }
    Ok(())
}

/// An agent's RUN.json row (see [`RunFile::agents`]).
#[cfg(test)]
fn agent_row(a: &Agent) -> impl Serialize + use<> {
    let row: Vec<u32> = agent_numbers(a).collect();
    Seq(move || row.clone())
}

/// The numbers of an agent's RUN.json row.
fn agent_numbers(a: &Agent) -> impl Iterator<Item = u32> + use<> {
    let (text, order_tail) = match a.text {
        AgentText::Whole(id) => (id, None),
        AgentText::Parts { order, tail } => (0, Some([order as u32, tail])),
    };
    let row = [
        text,
        a.product,
        a.version,
        a.os,
        a.arch,
        a.commit,
        a.suffix,
        a.spec_text,
        opt_to_u32(a.trace),
    ];
    row.into_iter().chain(order_tail.into_iter().flatten())
}

/// A trace's RUN.json row: `[truncated, frame, …]`.
#[cfg(test)]
fn trace_row(t: &Trace) -> impl Serialize + '_ {
    Seq(move || trace_numbers(t))
}

/// The numbers of a trace's RUN.json row.
fn trace_numbers(t: &Trace) -> impl Iterator<Item = u32> + '_ {
    std::iter::once(u32::from(t.truncated)).chain(t.frames.iter().copied())
}

/// A sequence serialized from an iterator made on demand.
#[cfg(test)]
struct Seq<F>(F);

#[cfg(test)]
impl<F, I> Serialize for Seq<F>
where
    F: Fn() -> I,
    I: IntoIterator,
    I::Item: Serialize,
{
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq((self.0)())
    }
}

/// `run` in the shape of [`RunFile`], serialized by reference through one serializer: the
/// reference the parallel writer is tested against.
#[cfg(test)]
pub(super) struct RunRef<'a>(pub(super) &'a Run);

#[cfg(test)]
impl Serialize for RunRef<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let run = self.0;
        let mut st = s.serialize_struct("RunFile", 15)?;
        st.serialize_field("format", FORMAT_NAME)?;
        st.serialize_field("version", &FORMAT_VERSION)?;
        st.serialize_field(
            "generator",
            &format!("auditscope {}", env!("CARGO_PKG_VERSION")),
        )?;
        st.serialize_field("inputs", &run.inputs)?;
        st.serialize_field("notes", &run.notes)?;
        st.serialize_field("release", &run.release)?;
        st.serialize_field("accounting", &run.accounting)?;
        st.serialize_field("strings", &Seq(|| run.strings.iter()))?;
        st.serialize_field(
            "users",
            &Seq(|| {
                run.users
                    .iter()
                    .map(|u| Seq(move || std::iter::once(&u.name).chain(&u.groups)))
            }),
        )?;
        st.serialize_field("agents", &Seq(|| run.agents.iter().map(agent_row)))?;
        st.serialize_field(
            "frames",
            &Seq(|| run.frames.iter().map(|f| [f.function, f.file, f.line])),
        )?;
        st.serialize_field("traces", &Seq(|| run.traces.iter().map(trace_row)))?;
        st.serialize_field("operations", &run.operations)?;
        st.serialize_field("specs", &run.specs)?;
        st.serialize_field("requests", &ColumnsRef(&run.requests))?;
        st.end()
    }
}

/// Requests in the shape of [`RequestColumns`], one column at a time.
#[cfg(test)]
struct ColumnsRef<'a>(&'a [Request]);

#[cfg(test)]
impl Serialize for ColumnsRef<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let rs = self.0;
        let mut st = s.serialize_struct("RequestColumns", REQUEST_FIELDS.len())?;
        for field in REQUEST_FIELDS {
            match field.stored {
                Stored::Text { get, .. } => {
                    st.serialize_field(field.key, &Seq(|| rs.iter().map(get)))?
                }
                Stored::Uint { get, .. } => {
                    st.serialize_field(field.key, &Seq(|| rs.iter().map(get)))?
                }
                Stored::OptInt {
                    delta: false, get, ..
                } => st.serialize_field(field.key, &Seq(|| rs.iter().map(get)))?,
                Stored::OptInt {
                    delta: true, get, ..
                } => st.serialize_field(
                    field.key,
                    &Seq(|| {
                        rs.iter().scan(0i64, move |previous, r| {
                            Some(get(r).map(|v| {
                                let delta = v.wrapping_sub(*previous);
                                *previous = v;
                                delta
                            }))
                        })
                    }),
                )?,
            }
        }
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What a cursor holds after `write` ran on a fresh buffer.
    fn written(write: impl FnOnce(&mut Cursor)) -> String {
        let mut buf = ChunkBuf::default();
        buf.fill(write);
        String::from_utf8(buf.output().to_vec()).unwrap()
    }

    #[test]
    fn numbers_are_written_as_serde_json_writes_them() {
        let mut edges: Vec<u64> = vec![0, 9, 10, 11, 99, 100, 101, 999, u64::MAX, u64::MAX - 1];
        for k in 1..20 {
            let p = 10u64.pow(k);
            edges.extend([p - 1, p, p + 1]);
        }
        for v in edges {
            assert_eq!(
                written(|out| out.uint(v)),
                serde_json::to_string(&v).unwrap()
            );
            let signed = v as i64;
            assert_eq!(
                written(|out| out.int(signed)),
                serde_json::to_string(&signed).unwrap()
            );
        }
        assert_eq!(written(|out| out.int(i64::MIN)), "-9223372036854775808");
        assert_eq!(written(|out| out.int(-1)), "-1");
        // A buffer reused for a shorter chunk gives only the new bytes.
        let mut buf = ChunkBuf::default();
        buf.fill(|out| out.uint(123_456_789));
        buf.fill(|out| out.uint(42));
        assert_eq!(buf.output(), b"42");
    }

    #[test]
    fn text_is_written_as_serde_json_writes_it() {
        for text in [
            "",
            "plain",
            "exactly8",
            "a\"b",
            "back\\slash at the end of sixteen\\",
            "tab\tin the middle of a long line of text",
            "\u{1f}",
            "\u{7f} and é ✓ are left alone",
        ] {
            let out = written(|out| text.write_json(out).unwrap());
            assert_eq!(out, serde_json::to_string(text).unwrap(), "{text:?}");
        }
    }

    proptest! {
        #[test]
        fn the_word_check_agrees_with_the_byte_check(
            // Mostly plain bytes, the odd one anywhere (in a word of eight or in the rest).
            bytes in proptest::collection::vec(
                prop_oneof![
                    8 => Just(b'a'),
                    1 => Just(b'"'),
                    1 => Just(b'\\'),
                    1 => 0u8..0x20,
                    2 => 0x20u8..=0xff,
                ],
                0..40,
            ),
        ) {
            let by_byte = bytes.iter().all(|&b| b >= 0x20 && b != b'"' && b != b'\\');
            prop_assert_eq!(is_plain_json_text(&bytes), by_byte);
        }

        #[test]
        fn numbers_up_to_nine_digits_are_written_as_serde_json_writes_them(
            v in 0u64..1_000_000_000,
            digits in 0u32..10,
        ) {
            // Any number, and numbers of each length (10^digits up to 10^(digits+1) - 1).
            let scaled = 10u64.pow(digits) + v % (9 * 10u64.pow(digits));
            for v in [v, scaled] {
                prop_assert_eq!(written(|out| out.uint(v)), serde_json::to_string(&v).unwrap());
            }
        }

        #[test]
        fn any_number_is_written_as_serde_json_writes_it(v in any::<u64>(), s in any::<i64>()) {
            prop_assert_eq!(written(|out| out.uint(v)), serde_json::to_string(&v).unwrap());
            prop_assert_eq!(written(|out| out.int(s)), serde_json::to_string(&s).unwrap());
        }
    }
}
