//! Opening inputs: files or stdin (`-`), gzip detected by its magic bytes, not by name.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::bufread::MultiGzDecoder;
use thiserror::Error;

/// Why an input could not be read. Each names the file, so the command edge can print
/// it as one line and exit with status 2.
#[derive(Debug, Error)]
pub enum IngestError {
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("{path}: gzip stream is damaged or truncated: {source}")]
    Gzip { path: String, source: io::Error },
    /// `why` says what the lines were instead (empty for an empty input).
    #[error("{path}: holds no audit events{why}")]
    NoEvents { path: String, why: String },
    #[error("{path}:{line}: {reason}")]
    Strict {
        path: String,
        line: u64,
        reason: String,
    },
    #[error("{path}: {message}")]
    Format { path: String, message: String },
}

/// An opened input: a buffered reader over the (decompressed) bytes.
pub struct Opened {
    /// The decompressed byte stream.
    pub reader: Box<dyn BufRead + Send>,
    /// True when the input was gzip.
    pub gzip: bool,
    /// Size on disk, when known (not for stdin).
    pub size_on_disk: Option<u64>,
}

/// The two bytes every gzip member starts with.
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Opens `path` (`-` for stdin), transparently decompressing gzip (several members allowed).
pub fn open_input(path: &str) -> Result<Opened, IngestError> {
    open_input_counted(path, None)
}

/// Like [`open_input`], and when `counter` is given, adds to it every byte read from the file
/// itself (compressed bytes for gzip), so a progress display can compare it with
/// [`Opened::size_on_disk`].
pub fn open_input_counted(
    path: &str,
    counter: Option<Arc<AtomicU64>>,
) -> Result<Opened, IngestError> {
    let io_err = |source| IngestError::Io {
        path: path.to_string(),
        source,
    };
    let (raw, size_on_disk): (Box<dyn Read + Send>, Option<u64>) = if path == "-" {
        (Box::new(io::stdin()), None)
    } else {
        let file = File::open(Path::new(path)).map_err(io_err)?;
        let size = file.metadata().ok().map(|m| m.len());
        (Box::new(file), size)
    };
    let raw: Box<dyn Read + Send> = match counter {
        Some(count) => Box::new(CountingReader { inner: raw, count }),
        None => raw,
    };
    // Small enough that the reader's blocks (1 MB) are read straight into their buffers,
    // not copied through this one; big enough to see the gzip magic and feed the inflater.
    let mut buffered = BufReader::with_capacity(64 << 10, raw);
    let head = buffered.fill_buf().map_err(io_err)?;
    let gzip = head.starts_with(&GZIP_MAGIC);
    let reader: Box<dyn BufRead + Send> = if gzip {
        Box::new(BufReader::with_capacity(
            1 << 20,
            GzipReader {
                inner: MultiGzDecoder::new(buffered),
            },
        ))
    } else {
        Box::new(buffered)
    };
    Ok(Opened {
        reader,
        gzip,
        size_on_disk,
    })
}

/// Reads a whole input into memory (decompressed). For the small inputs (e2e logs, JUnit).
pub fn read_to_vec(path: &str) -> Result<Vec<u8>, IngestError> {
    let mut opened = open_input(path)?;
    let mut bytes = Vec::new();
    opened
        .reader
        .read_to_end(&mut bytes)
        .map_err(|source| classify_read_error(path, opened.gzip, source))?;
    Ok(bytes)
}

/// Turns a read error into the right [`IngestError`]: a damaged gzip stream is named as such.
pub fn classify_read_error(path: &str, gzip: bool, source: io::Error) -> IngestError {
    if gzip
        && matches!(
            source.kind(),
            io::ErrorKind::UnexpectedEof | io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData
        )
    {
        IngestError::Gzip {
            path: path.to_string(),
            source,
        }
    } else {
        IngestError::Io {
            path: path.to_string(),
            source,
        }
    }
}

/// A gzip decoder that reports a stream cut short as an error instead of a clean end.
/// The message names no file: [`IngestError::Gzip`] around it already does.
struct GzipReader<R: BufRead> {
    inner: MultiGzDecoder<R>,
}

impl<R: BufRead> Read for GzipReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "unexpected end of gzip stream",
                )
            } else {
                e
            }
        })
    }
}

/// Counts the bytes that pass through it (for progress on the raw, possibly compressed, file).
struct CountingReader<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}
