//! The byte plumbing under a layer walk: counting and hashing readers, a seekable window onto a
//! file, and compression detected from magic bytes.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use sha2::{Digest as _, Sha256};

/// How a layer blob is stored, read from its first bytes rather than trusted from a media type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compression::None => "tar",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        })
    }
}

/// Reads the magic bytes at the start of a buffered blob without consuming them.
pub fn detect(reader: &mut impl BufRead) -> io::Result<Compression> {
    // One fill is enough: a BufReader's first read returns far more than a magic number.
    let head = reader.fill_buf()?;
    Ok(match head {
        [0x1f, 0x8b, ..] => Compression::Gzip,
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Compression::Zstd,
        [b'B', b'Z', b'h', ..] => return Err(unsupported("bzip2")),
        [0xfd, b'7', b'z', b'X', b'Z', 0x00, ..] => return Err(unsupported("xz")),
        _ => Compression::None,
    })
}

fn unsupported(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{what}-compressed layers are not supported (only plain tar, gzip and zstd)"),
    )
}

/// Counts the bytes that pass through (the walk's position, and a layer's size).
pub struct Counting<R> {
    inner: R,
    count: u64,
}

impl<R> Counting<R> {
    pub fn new(inner: R) -> Self {
        Counting { inner, count: 0 }
    }

    pub fn count(&self) -> u64 {
        self.count
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

/// A buffered reader that hands every chunk it reads to a SHA-256 thread of its own, so hashing
/// a layer runs beside walking it instead of in series (SHA-256 costs more than the walk).
pub struct BackgroundHash<R> {
    inner: R,
    chunk: Arc<Vec<u8>>,
    pos: usize,
    count: u64,
    /// Chunks handed to the hasher, oldest first, to be reused once it is done with them.
    spare: std::collections::VecDeque<Arc<Vec<u8>>>,
    /// `None` once the input is exhausted and the hasher told so.
    to_hasher: Option<std::sync::mpsc::SyncSender<Arc<Vec<u8>>>>,
    hasher: Option<std::thread::JoinHandle<Sha256>>,
}

/// Chunks below glibc's mmap threshold are reused by malloc instead of mapped each time.
const CHUNK: usize = 64 * 1024;

/// Chunks waiting for the hasher at most.
const QUEUE: usize = 32;

/// What [`Section::visit_in_place`] maps at once: mapped pages count as the process's memory
/// while mapped, and a few MiB keep the cost of mapping small.
const WINDOW: u64 = 4 << 20;

impl<R: Read> BackgroundHash<R> {
    /// Bytes read from the input so far.
    pub fn count(&self) -> u64 {
        self.count - (self.chunk.len() - self.pos) as u64
    }

    pub fn new(inner: R) -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Arc<Vec<u8>>>(QUEUE);
        let hasher = std::thread::spawn(move || {
            let mut h = Sha256::new();
            for chunk in rx {
                h.update(&chunk[..]);
            }
            h
        });
        BackgroundHash {
            inner,
            chunk: Arc::new(Vec::new()),
            spare: std::collections::VecDeque::new(),
            pos: 0,
            count: 0,
            to_hasher: Some(tx),
            hasher: Some(hasher),
        }
    }

    /// Reads the rest of the input, and returns its size, its digest and the inner reader.
    pub fn finish(mut self) -> io::Result<(u64, String)> {
        io::copy(&mut self, &mut io::sink())?;
        self.to_hasher = None;
        let hasher = self.hasher.take().expect("finish is called once");
        let digest = hasher
            .join()
            .map_err(|_| io::Error::other("the hashing thread panicked"))?
            .finalize();
        Ok((self.count, format!("sha256:{}", hex(&digest))))
    }
}

impl<R: Read> BufRead for BackgroundHash<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos == self.chunk.len() {
            if let Some(tx) = &self.to_hasher {
                // A chunk the hasher has finished with is filled again rather than a new one
                // allocated and zeroed: the queue holds at most QUEUE of them.
                let done = std::mem::take(&mut self.chunk);
                self.pos = 0;
                if !done.is_empty() {
                    self.spare.push_back(done);
                }
                let mut chunk = match self.spare.front_mut().and_then(Arc::get_mut) {
                    Some(_) => {
                        let mut reused = self.spare.pop_front().expect("a front element");
                        std::mem::take(Arc::get_mut(&mut reused).expect("no other owner"))
                    }
                    None => {
                        if self.spare.len() > QUEUE + 1 {
                            self.spare.pop_front();
                        }
                        Vec::new()
                    }
                };
                chunk.resize(CHUNK, 0);
                let mut filled = 0;
                while filled < CHUNK {
                    match self.inner.read(&mut chunk[filled..]) {
                        Ok(0) => break,
                        Ok(n) => filled += n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
                chunk.truncate(filled);
                self.count += filled as u64;
                let chunk = Arc::new(chunk);
                if filled == 0 {
                    self.to_hasher = None; // no more input: the hasher may finish
                } else if tx.send(Arc::clone(&chunk)).is_err() {
                    return Err(io::Error::other("the hashing thread stopped"));
                }
                self.chunk = chunk;
                self.pos = 0;
            }
        }
        Ok(&self.chunk[self.pos..])
    }

    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.chunk.len());
    }
}

impl<R: Read> Read for BackgroundHash<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

pub fn hex(bytes: &[u8]) -> String {
    use fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Bytes that can be read at any offset by several threads at once.
#[derive(Clone, Debug)]
pub enum Backing {
    File(Arc<File>),
    /// Bytes built into the binary (the demo image).
    Memory(&'static [u8]),
}

impl Backing {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        match self {
            Backing::File(file) => file.read_at(buf, offset),
            Backing::Memory(bytes) => {
                let start = (offset as usize).min(bytes.len());
                let n = buf.len().min(bytes.len() - start);
                buf[..n].copy_from_slice(&bytes[start..start + n]);
                Ok(n)
            }
        }
    }
}

/// A window `[start, start + len)` onto shared bytes, readable and seekable on its own, so
/// several layers of one tarball can be read at once by different threads.
#[derive(Clone, Debug)]
pub struct Section {
    backing: Backing,
    start: u64,
    len: u64,
    pos: u64,
}

impl Section {
    pub fn new(backing: Backing, start: u64, len: u64) -> Self {
        Section {
            backing,
            start,
            len,
            pos: 0,
        }
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    /// Fills `buf` from an offset of the section, whatever the read position.
    pub fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        if offset.saturating_add(buf.len() as u64) > self.len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "read past the end of a blob",
            ));
        }
        let mut done = 0;
        while done < buf.len() {
            let n = self
                .backing
                .read_at(&mut buf[done..], self.start + offset + done as u64)?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "blob ended early",
                ));
            }
            done += n;
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Hands the section's bytes to `visit`, in order, in windows of at most [`WINDOW`] bytes
    /// (with each window's offset in the section), read where they lie: a file's pages are
    /// mapped, not copied into a buffer, which cost more than hashing them.
    #[allow(unsafe_code)]
    pub fn visit_in_place(&self, mut visit: impl FnMut(u64, &[u8])) -> io::Result<()> {
        let ended_early = || io::Error::new(io::ErrorKind::UnexpectedEof, "blob ended early");
        let mut at = 0;
        match &self.backing {
            Backing::Memory(bytes) => {
                let section = usize::try_from(self.start + self.len)
                    .ok()
                    .and_then(|end| bytes.get(self.start as usize..end))
                    .ok_or_else(ended_early)?;
                for window in section.chunks(WINDOW as usize) {
                    visit(at, window);
                    at += window.len() as u64;
                }
            }
            Backing::File(file) => {
                // Touching a mapping past the end of its file kills the process (SIGBUS): a
                // file shorter than the section is an error before anything is mapped.
                if file.metadata()?.len() < self.start + self.len {
                    return Err(ended_early());
                }
                while at < self.len {
                    let n = WINDOW.min(self.len - at);
                    // SAFETY: the mapping is read-only and private, and lies inside the file
                    // (checked above). pydive never writes image files; another process that
                    // truncated one while pydive reads it would end pydive with SIGBUS, as it
                    // would any program that maps files.
                    let map = unsafe {
                        memmap2::MmapOptions::new()
                            .offset(self.start + at)
                            .len(n as usize)
                            .populate()
                            .map(&**file)?
                    };
                    visit(at, &map);
                    at += n;
                }
            }
        }
        Ok(())
    }

    /// Whether the section starts like an uncompressed tar (no compression magic), without
    /// moving the read position.
    pub fn is_plain_tar(&self) -> io::Result<bool> {
        let mut head = [0u8; 6];
        let n = self
            .backing
            .read_at(&mut head[..(self.len.min(6) as usize)], self.start)?;
        let mut reader = io::BufReader::new(&head[..n]);
        Ok(detect(&mut reader)? == Compression::None)
    }
}

impl Read for Section {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.len.saturating_sub(self.pos);
        let want = (buf.len() as u64).min(left) as usize;
        if want == 0 {
            return Ok(0);
        }
        let n = self
            .backing
            .read_at(&mut buf[..want], self.start + self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Section {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let target = match pos {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
        };
        self.pos = target.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of a blob",
            )
        })?;
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufReader, Cursor, Write};

    #[test]
    fn detects_compression_from_magic() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"hello").unwrap();
        let gz = gz.finish().unwrap();
        let zst = zstd::encode_all(&b"hello"[..], 1).unwrap();
        let check = |bytes: &[u8]| detect(&mut BufReader::new(Cursor::new(bytes.to_vec())));
        assert_eq!(check(&gz).unwrap(), Compression::Gzip);
        assert_eq!(check(&zst).unwrap(), Compression::Zstd);
        assert_eq!(check(&[0u8; 1024]).unwrap(), Compression::None);
        assert!(check(b"BZh91AY&SY").is_err());
    }

    #[test]
    fn background_hash_matches_known_digests() {
        let r = BackgroundHash::new(Cursor::new(b"abc".to_vec()));
        let (n, digest) = r.finish().unwrap();
        assert_eq!(n, 3);
        assert_eq!(
            digest,
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // Several chunks, read in odd sizes.
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let mut r = BackgroundHash::new(Cursor::new(data.clone()));
        let mut out = Vec::new();
        let mut buf = [0u8; 777];
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        assert_eq!(out, data);
        let (n, digest) = r.finish().unwrap();
        assert_eq!(n, data.len() as u64);
        assert_eq!(digest, format!("sha256:{}", hex(&Sha256::digest(&data))));
    }

    #[test]
    fn section_reads_and_seeks_within_its_window() {
        let mut tmp = tempfile::tempfile().unwrap();
        tmp.write_all(b"0123456789").unwrap();
        let mut s = Section::new(Backing::File(Arc::new(tmp)), 2, 5);
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        assert_eq!(out, "23456");
        s.seek(SeekFrom::Start(3)).unwrap();
        out.clear();
        s.read_to_string(&mut out).unwrap();
        assert_eq!(out, "56");
    }
}
