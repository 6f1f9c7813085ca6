//! Writing RUN.json: the big tables cut into chunks that rayon's threads serialize at once.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use serde::Serialize;

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
        let file = EarlyWriteback::new(File::create(&tmp).map_err(io_err)?);
        // Small next to the chunks, which then go to the file as they are, not copied
        // into the buffer first; only the short texts between them are gathered.
        let mut w = BufWriter::with_capacity(1 << 16, file);
        write_run_chunked(run, &mut w, CHUNK_ITEMS, late).map_err(|source| FormatError::Json {
            path: shown.clone(),
            source,
        })?;
        w.flush().map_err(io_err)?;
        w.into_inner()
            .map_err(|e| io_err(e.into_error()))?
            .file
            .sync_all()
            .map_err(io_err)?;
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

/// A file that has the kernel start writing each few megabytes to disk as soon as they are
/// written, so the `sync_all` at the end waits for the last few only (it was a tenth of the
/// time after reading, the disk idle until then).
struct EarlyWriteback {
    file: File,
    written: u64,
    /// Bytes whose writing to disk has been started.
    started: u64,
}

/// Bytes written between two starts of writeback.
const WRITEBACK_WINDOW: u64 = 4 << 20;

impl EarlyWriteback {
    fn new(file: File) -> EarlyWriteback {
        EarlyWriteback {
            file,
            written: 0,
            started: 0,
        }
    }

    /// Starts writing out what was written since the last start.
    #[cfg(target_os = "linux")]
    fn start_writeback(&mut self) {
        use std::os::fd::AsRawFd;
        let (Ok(offset), Ok(len)) = (
            i64::try_from(self.started),
            i64::try_from(self.written - self.started),
        ) else {
            return;
        };
        // SAFETY: the descriptor is open (owned by `self.file`) for the whole call, which
        // touches no memory of ours: it only queues the range's dirty pages for writing. An
        // error (a file system without it) changes nothing: `sync_all` writes them anyway.
        unsafe {
            libc::sync_file_range(
                self.file.as_raw_fd(),
                offset,
                len,
                libc::SYNC_FILE_RANGE_WRITE,
            );
        }
        self.started = self.written;
    }

    #[cfg(not(target_os = "linux"))]
    fn start_writeback(&mut self) {}
}

impl Write for EarlyWriteback {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        if self.written - self.started >= WRITEBACK_WINDOW {
            self.start_writeback();
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
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
    let mut ready: Vec<Vec<u8>> = vec![Vec::new(); GROUP_PIECES];
    let mut next: Vec<Vec<u8>> = vec![Vec::new(); GROUP_PIECES];
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
fn serialize_group(group: &[Piece<'_>], bufs: &mut [Vec<u8>]) -> Result<(), serde_json::Error> {
    use rayon::prelude::*;
    group
        .par_iter()
        .zip(bufs.par_iter_mut())
        .try_for_each(|(piece, buf)| {
            buf.clear();
            match piece {
                Piece::Text(_) => Ok(()),
                Piece::Job(job) | Piece::LateJob(job) => job(buf),
            }
        })
}

/// Writes `group` out in order: texts as they are, jobs from their buffers in `bufs`.
fn write_group(
    group: &[Piece<'_>],
    bufs: &[Vec<u8>],
    w: &mut dyn Write,
) -> Result<(), serde_json::Error> {
    for (piece, buf) in group.iter().zip(bufs) {
        let bytes = match piece {
            Piece::Text(text) => text.as_slice(),
            Piece::Job(_) | Piece::LateJob(_) => buf.as_slice(),
        };
        w.write_all(bytes).map_err(serde_json::Error::io)?;
    }
    Ok(())
}

/// Serializes part of a RUN.json into a buffer.
type Job<'a> = Box<dyn Fn(&mut Vec<u8>) -> Result<(), serde_json::Error> + Send + Sync + 'a>;

/// One part of a RUN.json, in file order.
enum Piece<'a> {
    /// Bytes known up front (keys, brackets, small values).
    Text(Vec<u8>),
    /// Bytes made on a worker thread.
    Job(Job<'a>),
    /// Bytes made on a worker thread from values that come late ([`Pending`]).
    LateJob(Job<'a>),
}

/// A RUN.json as a list of pieces, in the compact form serde_json writes: `{"key":value,…}`.
struct Pieces<'a> {
    list: Vec<Piece<'a>>,
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
        F: Fn(std::ops::Range<usize>, &mut Vec<u8>) -> Result<(), serde_json::Error>
            + Send
            + Sync
            + 'a,
    {
        self.key(key);
        self.text(b"[");
        let write = std::sync::Arc::new(write);
        let mut start = 0;
        while start < n {
            let end = n.min(start + self.chunk);
            let write = std::sync::Arc::clone(&write);
            let job: Job<'a> = Box::new(move |buf| write(start..end, buf));
            self.list.push(if self.late {
                Piece::LateJob(job)
            } else {
                Piece::Job(job)
            });
            start = end;
        }
        self.text(b"]");
    }

    /// A list whose item `i` is written by `write_item(i, buf)`, separated by commas.
    fn each<F>(&mut self, key: &str, n: usize, write_item: F)
    where
        F: Fn(usize, &mut Vec<u8>) -> Result<(), serde_json::Error> + Send + Sync + 'a,
    {
        self.list(key, n, move |range, buf| {
            // Room for short items at once, so the loop does not stop to grow the buffer.
            buf.reserve(range.len() * 4);
            for i in range {
                if i > 0 {
                    buf.push(b',');
                }
                write_item(i, buf)?;
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
        self.each(key, n, move |i, buf| {
            buf.push(b'[');
            for (k, v) in row(i).into_iter().enumerate() {
                if k > 0 {
                    buf.push(b',');
                }
                write_uint(u64::from(v), buf);
            }
            buf.push(b']');
            Ok(())
        });
    }

    /// [`Pieces::items`] for the scalars of the big tables, written without a serializer.
    fn scalars<T, F>(&mut self, key: &str, n: usize, item: F)
    where
        T: JsonScalar,
        F: Fn(usize) -> T + Send + Sync + 'a,
    {
        self.each(key, n, move |i, buf| item(i).write_json(buf));
    }
}

/// A value written straight into a buffer, as serde_json writes it (the big request columns
/// and the string table are most of a RUN.json, and a serializer per number costs).
trait JsonScalar {
    fn write_json(&self, buf: &mut Vec<u8>) -> Result<(), serde_json::Error>;
}

/// Writes `v` in decimal. Most values of the request columns are single digits (enums, small
/// counts, ids + 1 of absent things): those skip the formatter.
#[inline]
fn write_uint(v: u64, buf: &mut Vec<u8>) {
    if v < 10 {
        buf.push(b'0' + v as u8);
    } else {
        buf.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
    }
}

macro_rules! json_unsigned {
    ($($t:ty),*) => {$(
        impl JsonScalar for $t {
            #[inline]
            fn write_json(&self, buf: &mut Vec<u8>) -> Result<(), serde_json::Error> {
                write_uint(u64::from(*self), buf);
                Ok(())
            }
        }
    )*};
}
json_unsigned!(u8, u16, u32, u64);

impl JsonScalar for i64 {
    #[inline]
    fn write_json(&self, buf: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        match u64::try_from(*self) {
            Ok(v) => write_uint(v, buf),
            Err(_) => buf.extend_from_slice(itoa::Buffer::new().format(*self).as_bytes()),
        }
        Ok(())
    }
}

impl<T: JsonScalar> JsonScalar for Option<T> {
    #[inline]
    fn write_json(&self, buf: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        match self {
            Some(v) => v.write_json(buf),
            None => {
                buf.extend_from_slice(b"null");
                Ok(())
            }
        }
    }
}

impl JsonScalar for &str {
    #[inline]
    fn write_json(&self, buf: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        // serde_json escapes only control characters, '"' and '\\': text without them is
        // written as it is.
        if self.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
            buf.reserve(self.len() + 2);
            buf.push(b'"');
            buf.extend_from_slice(self.as_bytes());
            buf.push(b'"');
            Ok(())
        } else {
            serde_json::to_writer(buf, self)
        }
    }
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
    for field in REQUEST_FIELDS {
        let key = field.key;
        match field.stored {
            Stored::Uint { get, .. } if key == ENDPOINT_KEY && pending.is_some() => {
                p.chunk = chunk;
                p.late = true;
                p.list(key, rs.len(), move |range, buf| {
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
                            buf.push(b',');
                        }
                        row.endpoint = values.get(i).copied().flatten();
                        write_uint(get(&row), buf);
                    }
                    Ok(())
                });
                p.late = false;
            }
            Stored::Text { get, .. } => {
                p.chunk = (chunk / 4).max(1);
                p.scalars(key, rs.len(), move |i| get(&rs[i]));
            }
            Stored::Uint { get, .. } => {
                p.chunk = chunk;
                p.scalars(key, rs.len(), move |i| get(&rs[i]));
            }
            Stored::OptInt {
                delta: false, get, ..
            } => {
                p.chunk = chunk;
                p.scalars(key, rs.len(), move |i| get(&rs[i]));
            }
            Stored::OptInt {
                delta: true, get, ..
            } => {
                p.chunk = chunk;
                p.list(key, rs.len(), move |range, buf| {
                    // The delta is from the last value before the chunk.
                    let mut previous = rs[..range.start].iter().rev().find_map(get).unwrap_or(0);
                    for i in range {
                        if i > 0 {
                            buf.push(b',');
                        }
                        let delta = get(&rs[i]).map(|v| {
                            let delta = v.wrapping_sub(previous);
                            previous = v;
                            delta
                        });
                        delta.write_json(buf)?;
                    }
                    Ok(())
                });
            }
        }
    }
    p.close();
    p.close();
    Ok(p.list)
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
